"""Order vocabulary as plain ints (the hot path compares ints, never enums or strings)."""

YES, NO = 0, 1
BUY, SELL = 0, 1
BID, ASK = 0, 1

LIMIT, MARKET = 0, 1
GTC, GTD, IOC, FOK = 0, 1, 2, 3

STP_CANCEL_MAKER, STP_CANCEL_TAKER, STP_CANCEL_BOTH = 0, 1, 2

FLAG_POST_ONLY = 1
FLAG_REDUCE_ONLY = 2

TRIGGER_TAKE_PROFIT, TRIGGER_STOP_LOSS, TRIGGER_TRAILING = 0, 1, 2

# Why an order left the book: every ORDER_DONE event carries one of these.
DONE_FILLED = "filled"
DONE_CANCELLED = "cancelled"
DONE_IOC = "ioc_remainder"
DONE_EXPIRED = "expired"
DONE_SELF_TRADE = "self_trade"
DONE_HALTED = "market_halted"
DONE_CLOSED = "market_closed"
DONE_SETTLED = "market_settled"
DONE_FILL_LIMIT = "fill_limit"
DONE_DISCONNECT = "disconnect"
DONE_NO_POSITION = "no_position"

# Fill kinds, by the pair of orders that met.
FILL_TRANSFER, FILL_MINT, FILL_MERGE = 0, 1, 2

OUTCOME_NAMES = ("yes", "no")
ACTION_NAMES = ("buy", "sell")
TIF_NAMES = ("gtc", "gtd", "ioc", "fok")
STP_NAMES = ("cancel_maker", "cancel_taker", "cancel_both")
TRIGGER_NAMES = ("take_profit", "stop_loss", "trailing_stop")
FILL_KIND_NAMES = ("transfer", "mint", "merge")


def book_side(outcome: int, action: int) -> int:
    """Side in the unified YES book: buy YES and sell NO bid; sell YES and buy NO ask."""
    return BID if outcome == action else ASK
