"""The messages between the matcher and the ledger: the only way the two sides talk.

The matcher (matching.py, book.py; books, the walk, triggers) never reads or moves money, and
the ledger (ledger.py; cash, reservations, positions, collateral, fees) never touches a book.
One command runs them in sequence, as exchange-core runs its risk and matching processors:

    ledger.fund(order)              a funded order in: its reservation taken from free cash
    matcher: walk, trade            for each maker met, in price-time priority:
      -> Trade(taker, maker, ...)   ledger.settle: both sides' cash, positions, fees, netting,
                                    the contract's collateral; the Fill event
      -> Done(order, reason)        a maker filled whole or cancelled by self-trade prevention,
                                    or the taker itself at the end: ledger.release gives back
                                    what the order still holds; the engine forgets it

In one process a message names its orders by reference; between processes (market and
account shards) it would name them by id. Each side is tested alone: the matcher against a
recording engine that settles nothing (tests/engine/test_seam.py), the ledger with trades made
by hand on accounts that have no book.
"""

from __future__ import annotations

from typing import final

from foretell.engine.state import Order


@final
class Trade:
    """The taker met `maker` (None: the market's liquidity pool) for `q` shares at YES-terms
    level `i`. `kind` is how the shares came to be (FILL_TRANSFER, FILL_MINT, FILL_MERGE; the
    pool's settlement finds its own). Both orders' sizes are already reduced by the matcher,
    except in a pool's trade: the pool fills it in up to two parts (from its holdings, then by
    minting or merging), and the taker's reservation is checked after each, so its size is
    taken part by part there (pool.fill).

    As exchange-core reuses its trade events, the engine keeps one Trade and one Done and the
    matcher refills them for each message: a message is read during the call that hands it
    over and never kept, so the hot loop allocates nothing for them."""

    __slots__ = ("taker", "maker", "i", "q", "kind")

    def __init__(self) -> None:
        self.taker: Order | None = None
        self.maker: Order | None = None
        self.i = 0
        self.q = 0
        self.kind = 0


@final
class Done:
    """`order` has left the book (or never joined it) for `reason` (domain/orders.py DONE_*).
    Refilled like Trade."""

    __slots__ = ("order", "reason")

    def __init__(self) -> None:
        self.order: Order | None = None
        self.reason = ""
