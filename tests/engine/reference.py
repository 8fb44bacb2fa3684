"""A reference exchange: a slow, plain, obviously correct model of the engine's rules.

Written from DESIGN.md and the command conventions, independently of `foretell.engine`: no linked
lists, no price-level arrays, no cached best prices, no incremental totals that could drift. Live
orders are one plain list; the book is whatever that list holds, sorted on demand; an account's
reserved cash and reserved shares are sums over its live orders, computed when asked.

It handles Deposit, Withdraw, CreateMarket (binary and categorical), SetMarketStatus, SettleMarket,
VoidMarket, PlaceOrder (limit GTC/GTD/IOC/FOK, market by size or by spend, post-only,
reduce-only, the three self-trade modes), CancelOrder, CancelAll, AmendOrder and Timer. Trigger
commands are out of scope: keep them out of a stream compared against this model (ids then line up,
since triggers draw from the same id counter as orders).

`apply(command)` returns `(code, value)` like the engine, and leaves what happened in `fills`
(one `Fill` per trade) and `done` (order id -> (reason, filled)) for the last command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain.limits import fills_per_command_max
from foretell.domain.markets import CLOSED, HALTED, OPEN, PENDING, SETTLED, TRANSITIONS, VOIDED
from foretell.domain.orders import (
    ASK,
    BID,
    BUY,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
    YES,
)

MICRO = 1_000_000  # micro-USDC per USDC, and the payout of a winning share
BAND_MICRO = 100_000  # default market-order protection: best opposite price +/- 0.10
AMOUNT_MAX = 10**15
FEE_PPM_MAX = 100_000
SIZE_MAX_LIMIT = 100_000_000
CLIENT_ID_MAX = 64
OUTCOMES_MAX = 64
TICKS = (10_000, 1_000)


class Fill(NamedTuple):
    contract: int
    yes_price_micro: int
    size: int
    taker_order: int
    maker_order: int
    taker_fee_micro: int
    maker_fee_micro: int


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def out_price(outcome: int, yes_price: int) -> int:
    """Price of one share of `outcome` when YES trades at `yes_price`."""
    return yes_price if outcome == YES else MICRO - yes_price


@dataclass
class Market:
    id: int
    status: int
    tick: int
    size_max: int
    maker_ppm: int
    taker_ppm: int
    creator: int
    creator_share_ppm: int
    close_ms: int
    void_yes_micro: int
    contracts: list[int]


@dataclass
class Order:
    id: int
    account: int
    contract: int
    outcome: int
    action: int
    yes_price: int  # limit (or market protection), in YES terms
    remaining: int
    order_type: int
    tif: int
    expire_ms: int
    flags: int
    stp: int
    spend_rem: int | None = None  # market buy by spend: notional still allowed
    reserved: int = 0  # cash held for a buy
    fee_basis: int = 0  # sum of notional * rate over this order's fills
    filled: int = 0
    resting: bool = False
    seq: int = 0  # time priority among resting orders

    @property
    def side(self) -> int:
        return BID if self.outcome == self.action else ASK

    @property
    def fee_paid(self) -> int:
        return ceil_div(self.fee_basis, MICRO)


@dataclass
class Reference:
    free: dict[int, int] = field(default_factory=dict)  # account -> free cash
    held: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (acct, contract) -> [yes, no]
    markets: dict[int, Market] = field(default_factory=dict)
    market_of: dict[int, int] = field(default_factory=dict)  # contract -> market
    index_of: dict[int, int] = field(default_factory=dict)  # contract -> outcome index
    collateral: dict[int, int] = field(default_factory=dict)  # contract -> locked USDC
    orders: list[Order] = field(default_factory=list)  # every live order, resting or in flight
    used_client_ids: set[tuple[int, str]] = field(default_factory=set)
    fees_micro: int = 0  # the exchange's fee account
    deposits_micro: int = 0
    next_id: int = 1
    next_contract: int = 1
    next_seq: int = 1
    now_ms: int = 0
    fills: list[Fill] = field(default_factory=list)
    done: dict[int, tuple[str, int]] = field(default_factory=dict)

    # -- entry --------------------------------------------------------------------------------

    def apply(self, c: cmd.Command) -> tuple[str, Any]:
        self.fills = []
        self.done = {}
        self.now_ms = max(self.now_ms, c.ts_ms)
        handler = {
            cmd.Deposit: self._deposit,
            cmd.Withdraw: self._withdraw,
            cmd.CreateMarket: self._create_market,
            cmd.SetMarketStatus: self._set_status,
            cmd.SettleMarket: self._settle,
            cmd.VoidMarket: self._void,
            cmd.PlaceOrder: self._place,
            cmd.CancelOrder: self._cancel,
            cmd.CancelAll: self._cancel_all,
            cmd.AmendOrder: self._amend,
            cmd.Timer: self._timer,
        }.get(type(c))
        if handler is None:
            raise NotImplementedError(f"the reference model does not handle {type(c).__name__}")
        try:
            return codes.OK, handler(c)
        except Refused as refusal:
            return refusal.code, None

    # -- views --------------------------------------------------------------------------------

    def reserved_cash(self, account: int) -> int:
        return sum(o.reserved for o in self.orders if o.account == account)

    def offered(self, account: int, contract: int, outcome: int) -> int:
        return sum(o.remaining for o in self.orders
                   if o.account == account and o.contract == contract and o.outcome == outcome
                   and o.action == SELL)

    def free_shares(self, account: int, contract: int, outcome: int) -> int:
        held = self.held.get((account, contract), [0, 0])[outcome]
        return held - self.offered(account, contract, outcome)

    def balances(self) -> dict[int, tuple[int, int]]:
        return {a: (self.free[a], self.reserved_cash(a)) for a in self.free}

    def positions(self) -> dict[tuple[int, int], tuple[int, int, int, int]]:
        """(account, contract) -> (yes held, no held, yes offered, no offered), non-empty only."""
        out = {}
        for (a, k), (yes, no) in self.held.items():
            row = (yes, no, self.offered(a, k, YES), self.offered(a, k, NO))
            if any(row):
                out[(a, k)] = row
        return out

    def resting(self) -> dict[int, list[tuple[int, int, int, int]]]:
        """contract -> resting orders as (side, yes price, order id, remaining), best first."""
        out: dict[int, list[tuple[int, int, int, int]]] = {}
        for k in sorted(self.market_of):
            book = [o for o in self.orders if o.resting and o.contract == k]
            book.sort(key=lambda o: (o.side, -o.yes_price if o.side == BID else o.yes_price, o.seq))
            if book:
                out[k] = [(o.side, o.yes_price, o.id, o.remaining) for o in book]
        return out

    # -- accounts -----------------------------------------------------------------------------

    def _deposit(self, c: cmd.Deposit) -> int:
        if not 0 < c.amount_micro <= AMOUNT_MAX:
            raise Refused(codes.INVALID_AMOUNT)
        if c.account not in self.free:
            if c.account <= 0:
                raise Refused(codes.UNKNOWN_ACCOUNT)
            self.free[c.account] = 0
        self.free[c.account] += c.amount_micro
        self.deposits_micro += c.amount_micro
        return self.free[c.account]

    def _withdraw(self, c: cmd.Withdraw) -> int:
        if not 0 < c.amount_micro <= AMOUNT_MAX:
            raise Refused(codes.INVALID_AMOUNT)
        if c.account not in self.free:
            raise Refused(codes.UNKNOWN_ACCOUNT)
        if self.free[c.account] < c.amount_micro:
            raise Refused(codes.INSUFFICIENT_FUNDS)
        self.free[c.account] -= c.amount_micro
        self.deposits_micro -= c.amount_micro
        return self.free[c.account]

    # -- markets ------------------------------------------------------------------------------

    def _create_market(self, c: cmd.CreateMarket) -> list[int]:
        if c.market in self.markets:
            raise Refused(codes.DUPLICATE_MARKET)
        if not (c.market > 0 and 2 <= c.outcomes <= OUTCOMES_MAX and c.tick_micro in TICKS
                and 1 <= c.size_max <= SIZE_MAX_LIMIT
                and 0 <= c.maker_fee_ppm <= FEE_PPM_MAX and 0 <= c.taker_fee_ppm <= FEE_PPM_MAX
                and 0 <= c.creator_share_ppm <= MICRO and 0 <= c.void_yes_micro <= MICRO
                and c.close_ms >= 0):
            raise Refused(codes.INVALID_MARKET)
        count = 1 if c.outcomes == 2 else c.outcomes
        ids = list(range(self.next_contract, self.next_contract + count))
        self.next_contract += count
        self.markets[c.market] = Market(
            c.market, OPEN if c.open_now else PENDING, c.tick_micro, c.size_max, c.maker_fee_ppm,
            c.taker_fee_ppm, c.creator, c.creator_share_ppm, c.close_ms, c.void_yes_micro, ids)
        for index, k in enumerate(ids):
            self.market_of[k] = c.market
            self.index_of[k] = index
            self.collateral[k] = 0
        return ids

    def _market(self, market_id: int) -> Market:
        if market_id not in self.markets:
            raise Refused(codes.UNKNOWN_MARKET)
        return self.markets[market_id]

    def _set_status(self, c: cmd.SetMarketStatus) -> int:
        m = self._market(c.market)
        if c.status not in (OPEN, HALTED, CLOSED):
            raise Refused(codes.INVALID_TRANSITION)
        self._move(m, c.status)
        return m.status

    def _move(self, m: Market, status: int) -> None:
        if status not in TRANSITIONS[m.status]:
            raise Refused(codes.INVALID_TRANSITION)
        m.status = status
        reason = {HALTED: "market_halted", CLOSED: "market_closed"}.get(status, "market_settled")
        if status != OPEN:
            for o in [o for o in self.orders if o.resting and o.contract in m.contracts]:
                self._finish(o, reason)

    def _settle(self, c: cmd.SettleMarket) -> int:
        m = self._market(c.market)
        outcomes = 2 if len(m.contracts) == 1 else len(m.contracts)
        if not 0 <= c.winner < outcomes:
            raise Refused(codes.INVALID_OUTCOME)
        self._move(m, SETTLED)
        for k in m.contracts:
            if len(m.contracts) == 1:
                yes_wins = c.winner == 0
            else:
                yes_wins = self.index_of[k] == c.winner
            self._pay(k, MICRO if yes_wins else 0)
        return c.winner

    def _void(self, c: cmd.VoidMarket) -> int:
        m = self._market(c.market)
        self._move(m, VOIDED)
        for k in m.contracts:
            self._pay(k, m.void_yes_micro)
        return m.void_yes_micro

    def _pay(self, contract: int, yes_micro: int) -> None:
        for (a, k), held in self.held.items():
            if k == contract:
                self.free[a] += held[YES] * yes_micro + held[NO] * (MICRO - yes_micro)
                held[YES] = held[NO] = 0
        self.collateral[contract] = 0

    # -- placing ------------------------------------------------------------------------------

    def _place(self, c: cmd.PlaceOrder) -> int:
        if c.account not in self.free:
            raise Refused(codes.UNKNOWN_ACCOUNT)
        if c.contract not in self.market_of:
            raise Refused(codes.UNKNOWN_CONTRACT)
        m = self.markets[self.market_of[c.contract]]
        if m.status != OPEN:
            raise Refused(codes.MARKET_NOT_OPEN)
        if c.client_id:
            if len(c.client_id) > CLIENT_ID_MAX:
                raise Refused(codes.CLIENT_ID_TOO_LONG)
            if (c.account, c.client_id) in self.used_client_ids:
                raise Refused(codes.DUPLICATE_CLIENT_ORDER_ID)
        size, tif = self._shape(c, m)
        outcome, action = c.outcome, c.action
        side = BID if outcome == action else ASK
        if c.order_type == LIMIT or c.price_micro:
            yes_price = self._yes_limit(m, outcome, c.price_micro)
        else:
            yes_price = self._protection(m, c.contract, side)
        if c.flags & FLAG_REDUCE_ONLY:
            if action == BUY:  # buying X to reduce a holding of not-X is selling not-X
                outcome, action = 1 - outcome, SELL
            size = min(size, self.free_shares(c.account, c.contract, outcome))
            if size <= 0:
                raise Refused(codes.NO_POSITION)
        o = Order(self.next_id, c.account, c.contract, outcome, action, yes_price, size,
                  c.order_type, tif, c.expire_ms, c.flags, c.stp,
                  c.spend_micro if c.spend_micro else None)
        if action == BUY:
            reserve = self._buy_need(o)
            if self.free[c.account] < reserve:
                raise Refused(codes.INSUFFICIENT_FUNDS)
        elif self.free_shares(c.account, c.contract, outcome) < size:
            raise Refused(codes.INSUFFICIENT_SHARES)
        if c.flags & FLAG_POST_ONLY and self._crossing(o):
            raise Refused(codes.POST_ONLY_WOULD_TAKE)
        if tif == FOK and not self._fok_fillable(o):
            raise Refused(codes.FOK_NOT_FILLED)
        # Accepted: from here on the order exists.
        self.next_id += 1
        if c.client_id:
            self.used_client_ids.add((c.account, c.client_id))
        if action == BUY:
            o.reserved = reserve
            self.free[c.account] -= reserve
        self.orders.append(o)
        self._take_and_finish(o)
        return o.id

    def _shape(self, c: cmd.PlaceOrder, m: Market) -> tuple[int, int]:
        """Check the order's fields against each other; returns its size and time in force."""
        if (c.outcome not in (YES, NO) or c.action not in (BUY, SELL) or c.tif not in range(4)
                or c.stp not in range(3) or c.flags not in range(4)
                or c.order_type not in (LIMIT, MARKET)):
            raise Refused(codes.INVALID_ORDER)
        post_only = bool(c.flags & FLAG_POST_ONLY)
        size, tif = c.size, c.tif
        if c.spend_micro:
            if c.order_type != MARKET or c.action != BUY or c.size or c.flags & FLAG_REDUCE_ONLY:
                raise Refused(codes.INVALID_ORDER)
            if not 0 < c.spend_micro <= AMOUNT_MAX:
                raise Refused(codes.INVALID_AMOUNT)
            size = m.size_max
        elif not 1 <= size <= m.size_max:
            raise Refused(codes.SIZE_OUT_OF_RANGE)
        if c.order_type == MARKET:  # the unfilled rest of a market order never rests
            if post_only:
                raise Refused(codes.INVALID_ORDER)
            tif = FOK if tif == FOK else IOC
        elif post_only and tif in (IOC, FOK):
            raise Refused(codes.INVALID_ORDER)
        if tif == GTD and c.expire_ms <= self.now_ms:
            raise Refused(codes.INVALID_EXPIRY)
        return size, tif

    def _yes_limit(self, m: Market, outcome: int, price_micro: int) -> int:
        if not m.tick <= price_micro <= MICRO - m.tick:
            raise Refused(codes.INVALID_PRICE)
        if price_micro % m.tick:
            raise Refused(codes.INVALID_TICK)
        return out_price(outcome, price_micro)  # the map is its own inverse

    def _protection(self, m: Market, contract: int, side: int) -> int:
        opposite = [o.yes_price for o in self.orders
                    if o.resting and o.contract == contract and o.side != side]
        if not opposite:
            raise Refused(codes.NO_LIQUIDITY)
        if side == BID:
            return min(MICRO - m.tick, min(opposite) + BAND_MICRO)
        return max(m.tick, max(opposite) - BAND_MICRO)

    def _buy_need(self, o: Order) -> int:
        """Cash a buy must hold: what its remaining part could still cost, fee at the top rate."""
        m = self.markets[self.market_of[o.contract]]
        rate = max(m.maker_ppm, m.taker_ppm)
        cap = o.spend_rem if o.spend_rem is not None else out_price(o.outcome, o.yes_price) * o.remaining
        return cap + ceil_div(o.fee_basis + cap * rate, MICRO) - o.fee_paid

    # -- matching -----------------------------------------------------------------------------

    def _makers(self, taker: Order) -> list[Order]:
        """Resting orders the taker's limit reaches, in price-time priority."""
        found = [o for o in self.orders
                 if o.resting and o.contract == taker.contract and o.side != taker.side
                 and (o.yes_price <= taker.yes_price if taker.side == BID
                      else o.yes_price >= taker.yes_price)]
        found.sort(key=lambda o: (o.yes_price if taker.side == BID else -o.yes_price, o.seq))
        return found

    def _crossing(self, o: Order) -> bool:
        return bool(self._makers(o))

    def _fok_fillable(self, o: Order) -> bool:
        """All or none: by size, every share; by spend (its size is the market's maximum order
        size), at least one share and until what is left of the spend is less than the price of
        one more share: the next share offered within the protection, or, when the book within
        the protection runs out, one more at the last price paid (a deeper book would have sold
        it). In no more fills than one command may make."""
        need, spend, bought, fills, last_price = o.remaining, o.spend_rem, 0, 0, 0
        for maker in self._makers(o):
            # As matching does: a spent order stops before it meets its own resting order.
            price = out_price(o.outcome, maker.yes_price)
            if spend is not None and spend < price:
                return bought > 0
            if maker.account == o.account:
                if o.stp != STP_CANCEL_MAKER:
                    return False
                continue
            q = min(maker.remaining, need)
            if spend is not None:
                q = min(q, spend // price)
                spend -= q * price
            need -= q
            bought += q
            last_price = price
            if need <= 0:
                return True
            fills += 1
            if fills >= fills_per_command_max:
                return False
        # The book within the protection ran out.
        return spend is not None and bought > 0 and spend < last_price

    def _take_and_finish(self, o: Order) -> None:
        """Match an order that just arrived (or lost its place by an amend), then rest or end it."""
        stop = self._match(o)
        if o.remaining == 0:
            self._finish(o, "filled")
        elif stop:
            self._finish(o, "ioc_remainder" if stop == "spent" else stop)
        elif o.tif in (IOC, FOK) or o.order_type == MARKET:
            self._finish(o, "ioc_remainder")
        else:
            o.resting = True
            o.seq = self.next_seq
            self.next_seq += 1

    def _match(self, taker: Order) -> str:
        while taker.remaining > 0:
            makers = self._makers(taker)
            if not makers:
                return ""
            maker = makers[0]
            price = maker.yes_price
            q = taker.remaining
            if taker.spend_rem is not None:
                q = min(q, taker.spend_rem // out_price(taker.outcome, price))
                if q == 0:
                    return "spent"
            if maker.account == taker.account:
                if taker.stp in (STP_CANCEL_MAKER, STP_CANCEL_BOTH):
                    self._finish(maker, "self_trade")
                if taker.stp in (STP_CANCEL_TAKER, STP_CANCEL_BOTH):
                    return "self_trade"
                continue
            self._trade(taker, maker, price, min(q, maker.remaining))
        return ""

    def _trade(self, taker: Order, maker: Order, price: int, q: int) -> None:
        m = self.markets[self.market_of[taker.contract]]
        k = taker.contract
        taker_fee = self._fill_side(taker, price, q, m.taker_ppm)
        maker_fee = self._fill_side(maker, price, q, m.maker_ppm)
        bid, ask = (taker, maker) if taker.side == BID else (maker, taker)
        if bid.action == BUY and ask.action == BUY:  # buy YES + buy NO: a new pair
            self.collateral[k] += q
        elif bid.action == SELL and ask.action == SELL:  # sell NO + sell YES: a pair retired
            self.collateral[k] -= q
        fee = taker_fee + maker_fee
        cut = 0
        if m.creator and m.creator_share_ppm and m.creator in self.free:
            cut = fee * m.creator_share_ppm // MICRO
            self.free[m.creator] += cut
        self.fees_micro += fee - cut
        self.fills.append(Fill(k, price, q, taker.id, maker.id, taker_fee, maker_fee))
        if maker.remaining == 0:
            self._finish(maker, "filled")
        self._net(taker.account, k)
        self._net(maker.account, k)

    def _fill_side(self, o: Order, price: int, q: int, rate_ppm: int) -> int:
        """One side of a trade: shares and cash move, the fee is rounded up per order."""
        notional = out_price(o.outcome, price) * q
        before = o.fee_paid
        o.fee_basis += notional * rate_ppm
        fee = o.fee_paid - before
        o.remaining -= q
        o.filled += q
        held = self.held.setdefault((o.account, o.contract), [0, 0])
        if o.action == BUY:
            held[o.outcome] += q
            o.reserved -= notional + fee
            if o.spend_rem is not None:
                o.spend_rem -= notional
            need = self._buy_need(o)
            assert o.reserved >= need >= 0, f"order {o.id}: reservation {o.reserved} < {need}"
            self.free[o.account] += o.reserved - need
            o.reserved = need
        else:
            held[o.outcome] -= q
            self.free[o.account] += notional - fee
        return fee

    def _net(self, account: int, contract: int) -> None:
        """Merge unreserved YES/NO pairs of one contract back into cash."""
        pairs = min(self.free_shares(account, contract, YES),
                    self.free_shares(account, contract, NO))
        if pairs > 0:
            held = self.held[(account, contract)]
            held[YES] -= pairs
            held[NO] -= pairs
            self.free[account] += pairs * MICRO
            self.collateral[contract] -= pairs

    def _finish(self, o: Order, reason: str) -> None:
        """The order leaves: whatever it still holds goes back to its account."""
        self.orders.remove(o)
        o.resting = False
        self.free[o.account] += o.reserved
        o.reserved = 0
        self.done[o.id] = (reason, o.filled)
        self._net(o.account, o.contract)

    # -- managing -----------------------------------------------------------------------------

    def _owned(self, account: int, order_id: int) -> Order:
        for o in self.orders:
            if o.id == order_id and o.resting:
                if o.account != account:
                    raise Refused(codes.NOT_OWNER)
                return o
        raise Refused(codes.UNKNOWN_ORDER)

    def _cancel(self, c: cmd.CancelOrder) -> int:
        o = self._owned(c.account, c.order)
        self._finish(o, "cancelled")
        return o.remaining

    def _cancel_all(self, c: cmd.CancelAll) -> int:
        if c.account not in self.free:
            raise Refused(codes.UNKNOWN_ACCOUNT)
        doomed = [o for o in self.orders if o.account == c.account and o.resting
                  and (not c.market or self.market_of[o.contract] == c.market)]
        for o in doomed:
            self._finish(o, c.reason or "cancelled")
        return len(doomed)

    def _amend(self, c: cmd.AmendOrder) -> int:
        o = self._owned(c.account, c.order)
        m = self.markets[self.market_of[o.contract]]
        if m.status != OPEN:
            raise Refused(codes.MARKET_NOT_OPEN)
        yes_price = self._yes_limit(m, o.outcome, c.price_micro) if c.price_micro else o.yes_price
        size = c.size or o.remaining
        if not 1 <= size <= m.size_max:
            raise Refused(codes.SIZE_OUT_OF_RANGE)
        if yes_price == o.yes_price and size <= o.remaining:
            # A size decrease keeps the order's place in the queue.
            o.remaining = size
            if o.action == BUY:
                need = self._buy_need(o)
                self.free[o.account] += o.reserved - need
                o.reserved = need
            self._net(o.account, o.contract)
            return o.id
        # Anything else: a new price and/or size, back of the queue, may trade at once.
        moved = Order(**{**o.__dict__, "yes_price": yes_price, "remaining": size})
        if o.flags & FLAG_POST_ONLY and self._crossing(moved):
            raise Refused(codes.POST_ONLY_WOULD_TAKE)
        if o.action == BUY:
            need = self._buy_need(moved)
            if need - o.reserved > self.free[o.account]:
                raise Refused(codes.INSUFFICIENT_FUNDS)
        elif size - o.remaining > self.free_shares(o.account, o.contract, o.outcome):
            raise Refused(codes.INSUFFICIENT_SHARES)
        o.resting = False
        o.yes_price, o.remaining = yes_price, size
        if o.action == BUY:
            self.free[o.account] -= need - o.reserved
            o.reserved = need
        self._net(o.account, o.contract)
        self._take_and_finish(o)
        return o.id

    # -- time ---------------------------------------------------------------------------------

    def _timer(self, c: cmd.Timer) -> int:
        """Scheduled closes first (an open or halted market past its close time), then expiries."""
        count = 0
        for m in sorted(self.markets.values(), key=lambda m: (m.close_ms, m.id)):
            if m.close_ms and m.close_ms <= self.now_ms and m.status in (OPEN, HALTED):
                self._move(m, CLOSED)
                count += 1
        for o in [o for o in self.orders if o.resting and o.tif == GTD]:
            if o.expire_ms <= self.now_ms:
                self._finish(o, "expired")
                count += 1
        return count
