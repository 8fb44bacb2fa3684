"""Engine events: plain tuples, first element the event code, then fields in the order below.

Tuples because the engine emits one per fill on the hot path. The projector and publishers turn
them into rows and messages; `FIELDS` names every position so nobody indexes by guesswork.
"""

from typing import Any, Final

ORDER_ACCEPTED: Final = 1
ORDER_DONE: Final = 2
ORDER_AMENDED: Final = 3
FILL: Final = 4
NETTED: Final = 5
TRIGGER_PLACED: Final = 6
TRIGGER_FIRED: Final = 7
TRIGGER_DONE: Final = 8
CASH: Final = 9
MARKET_STATUS: Final = 10
PAYOUT: Final = 11
MARKET_CREATED: Final = 12
ORDER_REJECTED: Final = 13
# Added by the pipeline after each command (not by the engine's hot loop): the state of every
# account and position the command touched, so read models never recompute ledger rules.
BALANCE: Final = 14
POSITION: Final = 15
# Added by the pipeline: absolute sizes at every book level a command changed, with the
# contract's book sequence number (shared by WebSocket deltas and the REST book).
BOOK_LEVEL: Final = 16
MARKET_ACTION: Final = 17
BOND: Final = 18
RESOLUTION: Final = 19
POOL_FUNDED: Final = 20
POOL_CLOSED: Final = 21
CONVERTED: Final = 22

FIELDS: dict[int, tuple[str, ...]] = {
    ORDER_ACCEPTED: (
        "ts_ms", "order", "account", "contract", "outcome", "action", "order_type",
        "price_micro", "size", "tif", "flags", "client_id",
    ),
    ORDER_DONE: ("ts_ms", "order", "account", "contract", "reason", "filled", "remaining",
                 "yes_price_micro"),
    ORDER_AMENDED: ("ts_ms", "order", "account", "contract", "price_micro", "remaining",
                    "kept_priority", "yes_price_micro", "old_yes_price_micro"),
    FILL: (
        "ts_ms", "contract", "yes_price_micro", "size", "kind",
        "taker_order", "taker_account", "taker_outcome", "taker_action", "taker_fee_micro",
        "maker_order", "maker_account", "maker_outcome", "maker_action", "maker_fee_micro",
    ),
    NETTED: ("ts_ms", "account", "contract", "pairs"),
    TRIGGER_PLACED: (
        "ts_ms", "trigger", "account", "contract", "outcome", "kind", "trigger_micro",
        "size", "limit_micro", "oco", "client_id",
    ),
    TRIGGER_FIRED: ("ts_ms", "trigger", "account", "contract", "order", "size", "last_yes_micro"),
    TRIGGER_DONE: ("ts_ms", "trigger", "account", "contract", "reason"),
    CASH: ("ts_ms", "account", "amount_micro", "reason"),
    MARKET_STATUS: ("ts_ms", "market", "status", "reason", "actor"),
    PAYOUT: ("ts_ms", "market", "contract", "account", "yes_shares", "no_shares", "amount_micro"),
    MARKET_CREATED: ("ts_ms", "market", "contracts"),
    ORDER_REJECTED: ("ts_ms", "account", "contract", "client_id", "code"),
    BALANCE: ("ts_ms", "account", "free_micro", "reserved_micro"),
    POSITION: ("ts_ms", "account", "contract", "yes_shares", "no_shares", "yes_reserved",
               "no_reserved"),
    BOOK_LEVEL: ("ts_ms", "contract", "book_seq", "levels"),  # levels: ((yes_price, bid, ask), ...)
    MARKET_ACTION: ("ts_ms", "market", "action", "actor", "reason", "text"),
    # amount > 0 locks cash of `account` in the market's bond pool; < 0 pays it out to `account`
    # (account 0 = the exchange's fee account, where forfeited bonds go).
    BOND: ("ts_ms", "market", "account", "amount_micro", "kind"),
    RESOLUTION: ("ts_ms", "market", "winner", "actor", "evidence", "dispute_deadline_ms"),
    # A liquidity pool funded from `funder`'s free cash; its own account is `pool_account`.
    # Pool fills are FILL events whose maker_order is 0 and maker_account the pool's account.
    POOL_FUNDED: ("ts_ms", "market", "funder", "subsidy_micro", "liquidity_micro",
                  "fee_share_ppm", "pool_account"),
    # At settlement or void: what the pool had left (fees earned included) back to its funder.
    POOL_CLOSED: ("ts_ms", "market", "funder", "amount_micro", "subsidy_micro", "fees_micro"),
    # k NO of `outcome` became k YES of every other outcome (to_no: the reverse); outcome -1:
    # the pool merged k complete NO sets into (n - 1) k USDC; -2: k complete YES sets into k
    # USDC (against the converter's NO sets). `contracts` in outcome order.
    CONVERTED: ("ts_ms", "market", "account", "outcome", "size", "to_no", "contracts"),
}


def as_dict(event: tuple[Any, ...]) -> dict[str, Any]:
    """Name the fields of an event tuple (for tests, logs and the projector)."""
    code = event[0]
    assert isinstance(code, int)
    return {"event": code, **dict(zip(FIELDS[code], event[1:], strict=True))}


# -- risk controls (engine/risk.py): order groups and dead-man's switches ---------------------
# One block, in the tuple style above, so that the conversion to typed events can take it whole.
GROUP_CREATED: Final = 23
GROUP_RESET: Final = 24
GROUP_TRIGGERED: Final = 25
DEAD_MAN_ARMED: Final = 26
DEAD_MAN_DISARMED: Final = 27
DEAD_MAN_FIRED: Final = 28

FIELDS.update({
    GROUP_CREATED: ("ts_ms", "group", "account", "contracts_limit", "window_ms"),
    GROUP_RESET: ("ts_ms", "group", "account"),
    # `filled` contracts within the window reached the limit; `cancelled` resting orders of the
    # group were cancelled in the same command (their ORDER_DONE events follow).
    GROUP_TRIGGERED: ("ts_ms", "group", "account", "filled", "cancelled"),
    DEAD_MAN_ARMED: ("ts_ms", "account", "due_ms", "timeout_ms"),
    DEAD_MAN_DISARMED: ("ts_ms", "account"),
    # The switch fell due and was not renewed: `cancelled` resting orders were cancelled.
    DEAD_MAN_FIRED: ("ts_ms", "account", "due_ms", "cancelled"),
})
