"""Stable, machine-readable result codes. Retired codes keep their names; new ones are appended.

Expected failures (a trader without funds) are codes, returned with nothing changed. Broken
invariants are not codes: they raise `InvariantBroken` and stop the engine.
"""

from __future__ import annotations

from typing import Final

OK: Final = "ok"

# Accounts and funds
UNKNOWN_ACCOUNT: Final = "unknown_account"
INSUFFICIENT_FUNDS: Final = "insufficient_funds"
INSUFFICIENT_SHARES: Final = "insufficient_shares"
INVALID_AMOUNT: Final = "invalid_amount"
DUPLICATE_ACCOUNT: Final = "duplicate_account"

# Order validation
INVALID_PRICE: Final = "invalid_price"
INVALID_TICK: Final = "invalid_tick"
SIZE_OUT_OF_RANGE: Final = "size_out_of_range"
INVALID_ORDER: Final = "invalid_order"
INVALID_EXPIRY: Final = "invalid_expiry"
CLIENT_ID_TOO_LONG: Final = "client_id_too_long"
DUPLICATE_CLIENT_ORDER_ID: Final = "duplicate_client_order_id"
TOO_MANY_ORDERS: Final = "too_many_orders"
TOO_MANY_TRIGGERS: Final = "too_many_triggers"

# Matching
POST_ONLY_WOULD_TAKE: Final = "post_only_would_take"
FOK_NOT_FILLED: Final = "fok_not_filled"
NO_LIQUIDITY: Final = "no_liquidity"
NO_POSITION: Final = "no_position"
SELF_TRADE: Final = "self_trade"

# Order management
UNKNOWN_ORDER: Final = "unknown_order"
UNKNOWN_TRIGGER: Final = "unknown_trigger"
NOT_OWNER: Final = "not_owner"

# Markets
UNKNOWN_MARKET: Final = "unknown_market"
UNKNOWN_CONTRACT: Final = "unknown_contract"
DUPLICATE_MARKET: Final = "duplicate_market"
MARKET_NOT_OPEN: Final = "market_not_open"
INVALID_MARKET: Final = "invalid_market"
INVALID_TRANSITION: Final = "invalid_transition"
INVALID_OUTCOME: Final = "invalid_outcome"

# Liquidity pools and conversion
POOL_EXISTS: Final = "pool_exists"
INVALID_POOL: Final = "invalid_pool"
CONVERSION_NOT_ALLOWED: Final = "conversion_not_allowed"

# Risk controls (order groups, dead-man's switch)
UNKNOWN_ORDER_GROUP: Final = "unknown_order_group"
ORDER_GROUP_TRIGGERED: Final = "order_group_triggered"
INVALID_RISK_CONTROL: Final = "invalid_risk_control"
ACCOUNT_SUSPENDED: Final = "account_suspended"
TOO_MANY_ORDER_GROUPS: Final = "too_many_order_groups"

DESCRIPTIONS: dict[str, str] = {
    OK: "The command was applied.",
    UNKNOWN_ACCOUNT: "No such account.",
    INSUFFICIENT_FUNDS: "Free cash does not cover the worst-case cost plus fee.",
    INSUFFICIENT_SHARES: "Not enough shares held and not already offered.",
    INVALID_AMOUNT: "Amount must be a positive integer of micro-USDC within limits.",
    DUPLICATE_ACCOUNT: "That account already exists.",
    INVALID_PRICE: "Price must lie between one tick and one USDC minus one tick.",
    INVALID_TICK: "Price is not a multiple of the market's tick size.",
    SIZE_OUT_OF_RANGE: "Size must be a whole number of shares between 1 and the market maximum.",
    INVALID_ORDER: "The combination of order fields is not valid.",
    INVALID_EXPIRY: "A GTD order needs an expiry time after the command time.",
    CLIENT_ID_TOO_LONG: "Client order id is too long.",
    DUPLICATE_CLIENT_ORDER_ID: "This client order id was already used by this account.",
    TOO_MANY_ORDERS: "The account has the maximum number of resting orders.",
    TOO_MANY_TRIGGERS: "The account has the maximum number of trigger orders.",
    POST_ONLY_WOULD_TAKE: "A post-only order would have taken liquidity.",
    FOK_NOT_FILLED: "A fill-or-kill order could not be filled in full.",
    NO_LIQUIDITY: "A market order found nothing to trade against.",
    NO_POSITION: "There is no position to reduce.",
    SELF_TRADE: "The order would only have traded with the same account.",
    UNKNOWN_ORDER: "No such live order.",
    UNKNOWN_TRIGGER: "No such live trigger order.",
    NOT_OWNER: "The order belongs to another account.",
    UNKNOWN_MARKET: "No such market.",
    UNKNOWN_CONTRACT: "No such contract.",
    DUPLICATE_MARKET: "A market with this id already exists.",
    MARKET_NOT_OPEN: "The market is not open for trading.",
    INVALID_MARKET: "The market definition is not valid.",
    INVALID_TRANSITION: "The market cannot move to that state from its current state.",
    INVALID_OUTCOME: "No such outcome in this market.",
    POOL_EXISTS: "This market already has a liquidity pool.",
    INVALID_POOL: "The pool's subsidy or fee share is out of range, or the market is past opening.",
    CONVERSION_NOT_ALLOWED: "Conversion needs a categorical market whose void payout per YES "
                            "share is at most 1/n, and for the reverse, sets held by the market.",
    UNKNOWN_ORDER_GROUP: "No such order group.",
    ORDER_GROUP_TRIGGERED: "The group hit its contract limit; reset it before adding orders.",
    INVALID_RISK_CONTROL: "The limit, window or timeout is out of range.",
    ACCOUNT_SUSPENDED: "The account is suspended by the exchange: it cannot place orders.",
    TOO_MANY_ORDER_GROUPS: "The account has the maximum number of order groups.",
}


class Reject(Exception):
    """An expected refusal: the command changes nothing and is answered with `code`."""

    def __init__(self, code: str, detail: object = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class Refused(Exception):
    """A verb of the application refused a request: nothing changed. Carries a stable code
    (engine codes above, or the application's own such as `slug_taken`); the edges map it to
    their terms (the API to an HTTP status), the application never speaks HTTP."""

    def __init__(self, code: str, message: str = "", details: object = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or DESCRIPTIONS.get(code, "")
        self.details = details


def refused(code: str, details: object = None) -> Refused:
    """An engine refusal as raised by the application; another account's order is reported
    as unknown, never confirmed to exist."""
    return Refused(UNKNOWN_ORDER if code == NOT_OWNER else code, details=details)


class InvariantBroken(AssertionError):
    """A state the engine must never reach; the engine stops rather than continue from it."""
