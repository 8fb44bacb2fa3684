"""Engine commands: immutable, journaled, each with a fixed tag number.

A command carries its own timestamp (`ts_ms`); the engine never reads a clock, so replaying the
journal rebuilds exactly the same state. Prices in commands are in the terms of the outcome being
traded (buy NO at 0.40 is `price_micro=400_000`); the engine converts to YES terms for the book.
"""

from __future__ import annotations

import msgspec


class Command(msgspec.Struct, frozen=True, array_like=True, tag_field="k"):
    ts_ms: int


class Deposit(Command, tag=1, frozen=True):
    account: int
    amount_micro: int
    reason: str = "deposit"


class Withdraw(Command, tag=2, frozen=True):
    account: int
    amount_micro: int
    reason: str = "withdrawal"


class CreateMarket(Command, tag=10, frozen=True):
    market: int
    outcomes: int = 2  # 2 = binary (one contract); n > 2 = categorical (n contracts)
    tick_micro: int = 10_000
    size_max: int = 1_000_000
    maker_fee_ppm: int = 1_000
    taker_fee_ppm: int = 1_000
    creator: int = 0  # account that receives the creator share of fees; 0 = none
    creator_share_ppm: int = 0
    close_ms: int = 0  # 0 = closes only by command
    void_yes_micro: int = 500_000
    open_now: bool = True
    meta: str = ""  # JSON: question, outcomes, rules... stored by the projector, unused by the engine
    actor: int = 0
    dispute_window_ms: int = 86_400_000
    dispute_bond_micro: int = 100_000_000
    dispute_reward_ppm: int = 500_000  # share of the proposer's bond paid to upheld disputers


class SetMarketStatus(Command, tag=11, frozen=True):
    market: int
    status: int
    reason: str = ""


class SettleMarket(Command, tag=12, frozen=True):
    market: int
    winner: int  # outcome index; for a binary market 0 = YES wins, 1 = NO wins


class VoidMarket(Command, tag=13, frozen=True):
    market: int
    reason: str = ""


class MarketAction(Command, tag=14, frozen=True):
    """A non-money lifecycle step (submit, request_changes, approve, halt, resume, close,
    update_draft, clarify), journaled with who did it and why; `text` carries new draft meta
    JSON or a clarification."""

    market: int
    action: str
    actor: int
    reason: str = ""
    text: str = ""


class ProposeResolution(Command, tag=15, frozen=True):
    market: int
    winner: int
    actor: int
    bond_micro: int = 0  # the proposer's stake, from the actor's free cash
    evidence: str = ""


class Dispute(Command, tag=16, frozen=True):
    market: int
    account: int
    bond_micro: int
    reason: str


class DecideDispute(Command, tag=17, frozen=True):
    market: int
    uphold: bool
    winner: int  # the outcome that settles the market (the proposed one when rejecting)
    actor: int
    reason: str


class PlaceOrder(Command, tag=20, frozen=True):
    account: int
    contract: int
    outcome: int
    action: int
    size: int = 0
    price_micro: int = 0  # limit price, or worst-price protection for a market order (0 = default)
    order_type: int = 0
    tif: int = 0
    expire_ms: int = 0
    flags: int = 0
    stp: int = 0
    spend_micro: int = 0  # market buy by maximum spend (fees on top); size must be 0
    client_id: str = ""
    group: int = 0  # order group of the account (CreateOrderGroup); 0 = none


class CancelOrder(Command, tag=21, frozen=True):
    account: int
    order: int


class CancelAll(Command, tag=22, frozen=True):
    account: int
    market: int = 0  # 0 = every market
    reason: str = "cancelled"


class AmendOrder(Command, tag=23, frozen=True):
    account: int
    order: int
    price_micro: int = 0  # 0 = keep
    size: int = 0  # new remaining size; 0 = keep


class PlaceTrigger(Command, tag=30, frozen=True):
    """Take-profit and/or stop-loss (one-cancels-other when both), or a trailing stop."""

    account: int
    contract: int
    outcome: int
    size: int
    take_profit_micro: int = 0
    stop_loss_micro: int = 0
    trail_micro: int = 0
    limit_micro: int = 0  # 0 = fire a market sell with protection; else a resting limit sell
    client_id: str = ""


class CancelTrigger(Command, tag=31, frozen=True):
    account: int
    trigger: int


class Timer(Command, tag=40, frozen=True):
    """Advances engine time: GTD expiry and scheduled market close happen here."""


class FundPool(Command, tag=50, frozen=True):
    """Commit a liquidity subsidy to a market's pool (before or after it opens), from the
    funder's free cash. The pool's loss is bounded by the subsidy; what is left of it, with the
    pool's share of fees, returns to the funder at settlement or void."""

    market: int
    funder: int
    subsidy_micro: int
    fee_share_ppm: int = 500_000  # share of the taker fee of pool fills that the pool keeps
    # Starting prices, one positive weight per outcome (pro rata; empty = all equal). The loss
    # bound is b ln(sum / smallest weight), so b is set from the subsidy and the smallest one.
    weights: tuple[int, ...] = ()


class Convert(Command, tag=51, frozen=True):
    """Categorical markets: k NO of `outcome` become k YES of every other outcome, or
    (to_no) k YES of every other outcome become k NO of `outcome`."""

    account: int
    market: int
    outcome: int
    size: int
    to_no: bool = False


class CreateOrderGroup(Command, tag=60, frozen=True):
    """An order group: once the contracts its orders filled within the rolling `window_ms`
    reach `contracts_limit`, its resting orders are cancelled and it refuses new ones until
    reset. The engine assigns the id (the next in sequence)."""

    account: int
    contracts_limit: int
    window_ms: int


class ResetOrderGroup(Command, tag=61, frozen=True):
    """Forget a group's fills in the window and take orders again (after it triggered)."""

    account: int
    group: int


class ArmDeadMan(Command, tag=62, frozen=True):
    """Arm or renew the account's dead-man's switch: unless renewed within `timeout_ms`, a
    Timer cancels all its resting orders. 0 disarms it."""

    account: int
    timeout_ms: int


class SuspendAccount(Command, tag=63, frozen=True):
    """The exchange suspends an account (or lifts it: suspended False). While suspended, its
    orders and trigger orders are refused; suspending cancels the ones it has. Its cash and
    positions are untouched."""

    account: int
    suspended: bool


AnyCommand = (
    Deposit
    | Withdraw
    | CreateMarket
    | SetMarketStatus
    | SettleMarket
    | VoidMarket
    | MarketAction
    | ProposeResolution
    | Dispute
    | DecideDispute
    | PlaceOrder
    | CancelOrder
    | CancelAll
    | AmendOrder
    | PlaceTrigger
    | CancelTrigger
    | Timer
    | FundPool
    | Convert
    | CreateOrderGroup
    | ResetOrderGroup
    | ArmDeadMan
    | SuspendAccount
)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AnyCommand)


def encode(command: Command) -> bytes:
    return _encoder.encode(command)


def decode(payload: bytes) -> Command:
    result: Command = _decoder.decode(payload)
    return result
