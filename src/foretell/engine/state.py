"""Live engine state: accounts, markets, contracts with their books, orders and triggers.

Only live things are here. A filled, cancelled or expired order is unlinked and dropped at once
(its history lives in the store), so memory grows with resting orders and open positions, never
with traffic. All fields are plain ints (micro-USDC, shares, tick indexes) in `__slots__` objects.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from foretell.domain.units import MICRO

# Boxed ints, made once: event fields are Python objects, and boxing an int above 256 allocates
# one (freed again with the event). Ids and the prices of a tick's levels are boxed once and
# shared by every event that carries them (`key` of an account or order, `yes_keys`/`no_keys`
# of a contract: index i -> the YES / NO price of level i, in micro-USDC).
_price_keys: dict[int, tuple[list[Any], list[Any]]] = {}


def price_keys(tick: int) -> tuple[list[Any], list[Any]]:
    """The boxed YES and NO prices of every level of a tick size, shared by its contracts."""
    keys = _price_keys.get(tick)
    if keys is None:
        levels = range(MICRO // tick)
        keys = _price_keys[tick] = ([i * tick for i in levels], [MICRO - i * tick for i in levels])
    return keys


class Account:
    """Ledger side, keyed by account: cash, positions, live orders and triggers."""

    __slots__ = ("id", "key", "free", "reserved", "positions", "orders", "triggers", "client_ids",
                 "recent_client_ids", "suspended")

    def __init__(self, account_id: int) -> None:
        self.id = account_id
        self.key: Any = account_id  # the id boxed once (events, dict keys)
        self.free = 0
        self.reserved = 0
        # contract id -> [yes_held, no_held, yes_reserved, no_reserved]; the same list object is
        # also in Contract.positions, so either side sees every change.
        self.positions: dict[int, list[int]] = {}
        self.orders: dict[int, Order] = {}
        self.triggers: dict[int, Trigger] = {}
        self.client_ids: dict[str, int] = {}  # live orders and triggers
        self.recent_client_ids: dict[str, int] = {}  # finished ones, oldest first, bounded
        # Suspended by the exchange: mirrors Engine.suspended (the record, which also holds
        # accounts not made yet), so that placing an order checks one native flag.
        self.suspended = False


class Market:
    __slots__ = ("id", "status", "contracts", "tick", "size_max", "maker_ppm", "taker_ppm",
                 "fee_max_ppm", "creator", "creator_share_ppm", "close_ms", "void_yes_micro",
                 "fees_micro", "creator_fees_micro", "dispute_window_ms", "dispute_bond_micro",
                 "dispute_reward_ppm", "proposer", "proposed_winner", "proposal_bond_micro",
                 "dispute_deadline_ms", "disputes", "bonds_micro", "pool", "converter",
                 "conv_sets")

    def __init__(self, market_id: int, status: int, tick: int, size_max: int, maker_ppm: int,
                 taker_ppm: int, creator: int, creator_share_ppm: int, close_ms: int,
                 void_yes_micro: int) -> None:
        self.id = market_id
        self.status = status
        self.contracts: list[Contract] = []
        self.tick = tick
        self.size_max = size_max
        self.maker_ppm = maker_ppm
        self.taker_ppm = taker_ppm
        self.fee_max_ppm = max(maker_ppm, taker_ppm)
        self.creator = creator
        self.creator_share_ppm = creator_share_ppm
        self.close_ms = close_ms
        self.void_yes_micro = void_yes_micro
        self.fees_micro = 0
        self.creator_fees_micro = 0
        self.dispute_window_ms = 86_400_000
        self.dispute_bond_micro = 100 * MICRO
        self.dispute_reward_ppm = 500_000
        self.proposer = 0
        self.proposed_winner = -1
        self.proposal_bond_micro = 0
        self.dispute_deadline_ms = 0
        self.disputes: list[list[int]] = []  # [account, bond_micro], in the order posted
        self.bonds_micro = 0  # proposal + dispute bonds held by the market
        self.pool: Pool | None = None  # the market's liquidity pool (engine/pool.py)
        # Conversion (engine/convert.py): the market's converter account holds `conv_sets`
        # NO shares of every outcome and owes (n - 1) * conv_sets USDC of collateral it advanced.
        self.converter: Account | None = None
        self.conv_sets = 0


class Pool:
    """A market's liquidity pool: its account (cash and shares), who funded it and the curve's
    parameters. The rules are in engine/pool.py."""

    __slots__ = ("market", "account", "funder", "subsidy_micro", "b_micro", "fee_share_ppm",
                 "fees_micro", "closed", "returned_micro", "weights", "bound_fp", "weight_sum")

    def __init__(self, market: Market, account: Account, funder: int, subsidy_micro: int,
                 b_micro: int, fee_share_ppm: int, weights: list[int]) -> None:
        self.market = market
        self.account = account
        self.funder = funder
        self.subsidy_micro = subsidy_micro
        self.b_micro = b_micro  # LMSR liquidity, micro-USDC: loss <= b ln n <= subsidy
        self.fee_share_ppm = fee_share_ppm  # share of the taker fee of pool fills it keeps
        self.fees_micro = 0  # fees earned so far (already in its cash)
        self.closed = False
        self.returned_micro = 0  # what went back to the funder at settlement or void
        self.weights = weights  # the curve's prior per world: its starting prices, pro rata
        self.weight_sum = sum(weights)
        self.bound_fp = 0  # ln(sum / min weight) in fixed point, computed on first use


class Contract:
    """Matching side, keyed by contract: one unified book in YES-price terms.

    Price levels are arrays indexed by tick (index i is a YES price of i * tick). Each level is an
    intrusive FIFO list of orders (head, tail) with its total size. `best_bid` is 0 when there are
    no bids and `best_ask` is `levels` when there are no asks, so comparisons need no None checks.
    """

    __slots__ = ("id", "market", "index", "tick", "levels", "bid_head", "bid_tail", "bid_qty",
                 "ask_head", "ask_tail", "ask_qty", "best_bid", "best_ask", "collateral",
                 "yes_out", "no_out", "last_i", "positions", "up", "down", "trailing",
                 "dead_triggers", "volume", "yes_keys", "no_keys")

    def __init__(self, contract_id: int, market: Market, index: int) -> None:
        self.id = contract_id
        self.market = market
        self.index = index
        self.tick = market.tick
        levels = MICRO // market.tick
        self.levels = levels
        self.bid_head: list[Order | None] = [None] * levels
        self.bid_tail: list[Order | None] = [None] * levels
        self.bid_qty = [0] * levels
        self.ask_head: list[Order | None] = [None] * levels
        self.ask_tail: list[Order | None] = [None] * levels
        self.ask_qty = [0] * levels
        self.best_bid = 0
        self.best_ask = levels
        self.collateral = 0  # whole USDC locked, one per YES/NO pair outstanding
        self.yes_out = 0
        self.no_out = 0
        self.last_i = 0  # last trade price index; 0 = no trade yet
        self.positions: dict[int, list[int]] = {}
        # Trigger heaps of (level, trigger id, Trigger): `up` fires when the price reaches the
        # level from below, `down` (level negated) from above. Cancelled ones are skipped lazily.
        self.up: list[tuple[int, int, Trigger]] = []
        self.down: list[tuple[int, int, Trigger]] = []
        self.trailing: list[Trigger] = []
        self.dead_triggers = 0
        self.volume = 0
        self.yes_keys, self.no_keys = price_keys(market.tick)  # boxed level prices (above)


class Order:
    """A live order. Its fields belong to one side of the seam (engine/seam.py) each: the
    matcher's are where it stands and how much is left (`side`, `price_i`, `remaining`,
    `filled`, `spend_rem`, `prev`/`next`, `owner` for self-trade prevention); the ledger's are
    what it holds and has paid (`account`, `reserved`, `fee_basis`, `fee_charged`,
    `notional`). The rest is fixed when it is placed."""

    __slots__ = ("id", "key", "account", "owner", "contract", "side", "outcome", "action",
                 "price_i", "out_price", "size", "remaining", "filled", "reserved", "fee_basis",
                 "fee_charged", "notional", "spend_rem", "order_type", "tif", "expire_ms",
                 "flags", "stp", "client_id", "ts_ms", "prev", "next")

    def __init__(self, order_id: int, account: Account, contract: Contract, side: int,
                 outcome: int, action: int, price_i: int, size: int, order_type: int, tif: int,
                 expire_ms: int, flags: int, stp: int, client_id: str, ts_ms: int) -> None:
        self.id = order_id
        self.key: Any = order_id  # the id boxed once (events, dict keys)
        self.account = account
        self.owner = account.id  # the matcher's view of the account: an id, for self-trades
        self.contract = contract
        self.side = side
        self.outcome = outcome
        self.action = action
        self.price_i = price_i  # YES-terms tick index of the limit (or market protection)
        yes_price = price_i * contract.tick
        self.out_price = yes_price if outcome == 0 else MICRO - yes_price
        self.size = size
        self.remaining = size
        self.filled = 0
        self.reserved = 0  # cash still held for this buy (sells hold shares: `remaining`)
        self.fee_basis = 0  # sum of notional_micro * rate_ppm over fills; fees round up on it
        self.fee_charged = 0
        self.notional = 0
        self.spend_rem = -1  # market buy by spend: notional still allowed; -1 = by size
        self.order_type = order_type
        self.tif = tif
        self.expire_ms = expire_ms
        self.flags = flags
        self.stp = stp
        self.client_id = client_id
        self.ts_ms = ts_ms
        self.prev: Order | None = None
        self.next: Order | None = None

    def take(self, q: int, own_price: int) -> None:
        """The matcher's side of a fill of q shares at the order's own-outcome price (the
        ledger's side is `ledger.fill_side`)."""
        self.remaining -= q
        self.filled += q
        if self.spend_rem >= 0:
            self.spend_rem -= q * own_price


class Trigger:
    __slots__ = ("id", "account", "contract", "outcome", "kind", "level_i", "trail_i", "best_i",
                 "size", "limit_i", "oco", "client_id", "live")

    def __init__(self, trigger_id: int, account: Account, contract: Contract, outcome: int,
                 kind: int, level_i: int, trail_i: int, size: int, limit_i: int,
                 client_id: str) -> None:
        self.id = trigger_id
        self.account = account
        self.contract = contract
        self.outcome = outcome
        self.kind = kind
        self.level_i = level_i  # YES-terms index at which it fires (trailing: moves)
        self.trail_i = trail_i
        self.best_i = 0  # trailing: best YES-terms index seen for the holder's outcome
        self.size = size
        self.limit_i = limit_i  # YES-terms index of the limit sell; 0 = market sell
        self.oco: Trigger | None = None
        self.client_id = client_id
        self.live = True


class OrderGroup:
    """An account's order group (engine/risk.py): a cap on contracts filled within a rolling
    window. `fills` holds (ts_ms, size) of the fills still inside the window, oldest first, and
    `window_filled` their sum; `orders` the ids of its live orders."""

    __slots__ = ("id", "account_id", "contracts_limit", "window_ms", "triggered", "orders",
                 "fills", "window_filled")

    def __init__(self, group_id: int, account_id: int, contracts_limit: int,
                 window_ms: int) -> None:
        self.id = group_id
        self.account_id = account_id
        self.contracts_limit = contracts_limit
        self.window_ms = window_ms
        self.triggered = False
        self.orders: set[int] = set()
        self.fills: deque[tuple[int, int]] = deque()
        self.window_filled = 0
