"""Order vocabulary as plain ints (the hot path compares ints, never enums or strings)."""

from typing import Final

YES: Final = 0
NO: Final = 1
BUY: Final = 0
SELL: Final = 1
BID: Final = 0
ASK: Final = 1

LIMIT: Final = 0
MARKET: Final = 1
GTC: Final = 0
GTD: Final = 1
IOC: Final = 2
FOK: Final = 3

STP_CANCEL_MAKER: Final = 0
STP_CANCEL_TAKER: Final = 1
STP_CANCEL_BOTH: Final = 2

FLAG_POST_ONLY: Final = 1
FLAG_REDUCE_ONLY: Final = 2

TRIGGER_TAKE_PROFIT: Final = 0
TRIGGER_STOP_LOSS: Final = 1
TRIGGER_TRAILING: Final = 2

# Why an order left the book: every ORDER_DONE event carries one of these.
DONE_FILLED: Final = "filled"
DONE_CANCELLED: Final = "cancelled"
DONE_IOC: Final = "ioc_remainder"
DONE_EXPIRED: Final = "expired"
DONE_SELF_TRADE: Final = "self_trade"
DONE_HALTED: Final = "market_halted"
DONE_CLOSED: Final = "market_closed"
DONE_SETTLED: Final = "market_settled"
DONE_FILL_LIMIT: Final = "fill_limit"
DONE_DISCONNECT: Final = "disconnect"
DONE_NO_POSITION: Final = "no_position"
DONE_SUSPENDED: Final = "account_suspended"  # the exchange suspended the account

# Fill kinds, by the pair of orders that met.
FILL_TRANSFER: Final = 0
FILL_MINT: Final = 1
FILL_MERGE: Final = 2

OUTCOME_NAMES = ("yes", "no")
ACTION_NAMES = ("buy", "sell")
TIF_NAMES = ("gtc", "gtd", "ioc", "fok")
STP_NAMES = ("cancel_maker", "cancel_taker", "cancel_both")
TRIGGER_NAMES = ("take_profit", "stop_loss", "trailing_stop")
FILL_KIND_NAMES = ("transfer", "mint", "merge")


def book_side(outcome: int, action: int) -> int:
    """Side in the unified YES book: buy YES and sell NO bid; sell YES and buy NO ask."""
    return BID if outcome == action else ASK
