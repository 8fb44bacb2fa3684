"""Engine events: typed, immutable msgspec structs, one class per kind, each with a fixed tag.

The engine emits one per fill on the hot path, so they are `array_like` (encoded as a compact
array whose first element is the tag) and `gc=False` (they hold only ints, strings and tuples of
those, so they can never be part of a reference cycle and the collector need not track them).
Consumers dispatch on the class (`type(e) is Fill`, a `match`, or a dict keyed by class) and read
fields by name; nothing reads an event by position. The tags are the event codes of the old
tuple format and never change: they appear in the wire format of `domain.outcome`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Base(msgspec.Struct, frozen=True, array_like=True, gc=False, tag_field="event"):
    ts_ms: int


class OrderAccepted(Base, tag=1, frozen=True, gc=False):
    order: int
    account: int
    contract: int
    outcome: int
    action: int
    order_type: int
    price_micro: int  # in the terms of `outcome`
    size: int
    tif: int
    flags: int
    client_id: str


class OrderDone(Base, tag=2, frozen=True, gc=False):
    order: int
    account: int
    contract: int
    reason: str
    filled: int
    remaining: int
    yes_price_micro: int


class OrderAmended(Base, tag=3, frozen=True, gc=False):
    order: int
    account: int
    contract: int
    price_micro: int
    remaining: int
    kept_priority: bool
    yes_price_micro: int
    old_yes_price_micro: int


class Fill(Base, tag=4, frozen=True, gc=False):
    """A trade at the maker's price. Pool fills have maker_order 0 and the pool's account."""

    contract: int
    yes_price_micro: int
    size: int
    kind: int
    taker_order: int
    taker_account: int
    taker_outcome: int
    taker_action: int
    taker_fee_micro: int
    maker_order: int
    maker_account: int
    maker_outcome: int
    maker_action: int
    maker_fee_micro: int


class Netted(Base, tag=5, frozen=True, gc=False):
    account: int
    contract: int
    pairs: int


class TriggerPlaced(Base, tag=6, frozen=True, gc=False):
    trigger: int
    account: int
    contract: int
    outcome: int
    kind: int
    trigger_micro: int
    size: int
    limit_micro: int
    oco: int
    client_id: str


class TriggerFired(Base, tag=7, frozen=True, gc=False):
    trigger: int
    account: int
    contract: int
    order: int
    size: int
    last_yes_micro: int


class TriggerDone(Base, tag=8, frozen=True, gc=False):
    trigger: int
    account: int
    contract: int
    reason: str


class Cash(Base, tag=9, frozen=True, gc=False):
    account: int
    amount_micro: int
    reason: str


class MarketStatus(Base, tag=10, frozen=True, gc=False):
    market: int
    status: int
    reason: str
    actor: int


class Payout(Base, tag=11, frozen=True, gc=False):
    market: int
    contract: int
    account: int
    yes_shares: int
    no_shares: int
    amount_micro: int


class MarketCreated(Base, tag=12, frozen=True, gc=False):
    market: int
    contracts: tuple[int, ...]


class OrderRejected(Base, tag=13, frozen=True, gc=False):
    account: int
    contract: int
    client_id: str
    code: str


# Added by the pipeline after each command (not by the engine's hot loop): the state of every
# account and position the command touched, so read models never recompute ledger rules.
class Balance(Base, tag=14, frozen=True, gc=False):
    account: int
    free_micro: int
    reserved_micro: int


class Position(Base, tag=15, frozen=True, gc=False):
    account: int
    contract: int
    yes_shares: int
    no_shares: int
    yes_reserved: int
    no_reserved: int


# Added by the pipeline: absolute sizes at every book level a command changed, with the
# contract's book sequence number (shared by WebSocket deltas and the REST book).
class BookLevel(Base, tag=16, frozen=True, gc=False):
    contract: int
    book_seq: int
    levels: tuple[tuple[int, int, int], ...]  # (yes_price_micro, bid size, ask size)


class MarketAction(Base, tag=17, frozen=True, gc=False):
    market: int
    action: str
    actor: int
    reason: str
    text: str


class Bond(Base, tag=18, frozen=True, gc=False):
    """amount > 0 locks cash of `account` in the market's bond pool; < 0 pays it out to
    `account` (account 0 = the exchange's fee account, where forfeited bonds go)."""

    market: int
    account: int
    amount_micro: int
    kind: str


class Resolution(Base, tag=19, frozen=True, gc=False):
    market: int
    winner: int
    actor: int
    evidence: str
    dispute_deadline_ms: int


class PoolFunded(Base, tag=20, frozen=True, gc=False):
    """A liquidity pool funded from `funder`'s free cash; its own account is `pool_account`.
    Pool fills are Fill events whose maker_order is 0 and maker_account the pool's account."""

    market: int
    funder: int
    subsidy_micro: int
    liquidity_micro: int
    fee_share_ppm: int
    pool_account: int


class PoolClosed(Base, tag=21, frozen=True, gc=False):
    """At settlement or void: what the pool had left (fees earned included) back to its funder."""

    market: int
    funder: int
    amount_micro: int
    subsidy_micro: int
    fees_micro: int


class Converted(Base, tag=22, frozen=True, gc=False):
    """k NO of `outcome` became k YES of every other outcome (to_no: the reverse); outcome -1:
    the pool merged k complete NO sets into (n - 1) k USDC; -2: k complete YES sets into k USDC
    (against the converter's NO sets). `contracts` in outcome order."""

    market: int
    account: int
    outcome: int
    size: int
    to_no: bool
    contracts: tuple[int, ...]



# -- risk controls (engine/risk.py): order groups and dead-man's switches ---------------------


class GroupCreated(Base, tag=23, frozen=True, gc=False):
    group: int
    account: int
    contracts_limit: int
    window_ms: int


class GroupReset(Base, tag=24, frozen=True, gc=False):
    group: int
    account: int


class GroupTriggered(Base, tag=25, frozen=True, gc=False):
    """`filled` contracts within the window reached the limit; `cancelled` resting orders of
    the group were cancelled in the same command (their OrderDone events follow)."""

    group: int
    account: int
    filled: int
    cancelled: int


class DeadManArmed(Base, tag=26, frozen=True, gc=False):
    account: int
    due_ms: int
    timeout_ms: int


class DeadManDisarmed(Base, tag=27, frozen=True, gc=False):
    account: int


class DeadManFired(Base, tag=28, frozen=True, gc=False):
    """The switch fell due and was not renewed: `cancelled` resting orders were cancelled."""

    account: int
    due_ms: int
    cancelled: int


class AccountSuspended(Base, tag=29, frozen=True, gc=False):
    """The account was suspended (its `orders` resting orders and `triggers` trigger orders
    cancelled, in the events before this one) or reinstated (suspended False)."""

    account: int
    suspended: bool
    orders: int
    triggers: int


Event = (
    OrderAccepted
    | OrderDone
    | OrderAmended
    | Fill
    | Netted
    | TriggerPlaced
    | TriggerFired
    | TriggerDone
    | Cash
    | MarketStatus
    | Payout
    | MarketCreated
    | OrderRejected
    | Balance
    | Position
    | BookLevel
    | MarketAction
    | Bond
    | Resolution
    | PoolFunded
    | PoolClosed
    | Converted
    | GroupCreated
    | GroupReset
    | GroupTriggered
    | DeadManArmed
    | DeadManDisarmed
    | DeadManFired
    | AccountSuspended
)

# Events that name the account (and contract) whose order or trigger they concern.
ORDER_EVENTS = (OrderAccepted, OrderDone, OrderAmended)


def name(event: Base) -> str:
    """The event's kind as a word: "OrderAccepted" -> "order_accepted"."""
    cls = type(event).__name__
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in cls).lstrip("_")


def as_dict(event: Base) -> dict[str, Any]:
    """An event's fields by name plus its kind under "event" (for tests and logs)."""
    return {"event": name(event), **msgspec.structs.asdict(event)}
