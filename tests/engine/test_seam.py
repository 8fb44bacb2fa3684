"""The ledger/matcher seam (engine/seam.py): each side alone, and the rule that keeps them apart.

The matcher is run on a book whose orders' owners hold no money at all, against an engine that
records the messages instead of settling them: it must produce the trades and departures of
price-time priority and leave every account untouched. The ledger is run on accounts and orders
that are in no book, fed trades written by hand: it must move exactly the money of those trades.
An ast check keeps each side's module off the other's fields.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import (
    BUY,
    DONE_FILLED,
    DONE_SELF_TRADE,
    FILL_MERGE,
    FILL_MINT,
    FILL_TRANSFER,
    GTC,
    LIMIT,
    NO,
    SELL,
    STP_CANCEL_MAKER,
    YES,
)
from foretell.domain.units import MICRO
from foretell.engine import ledger
from foretell.engine.book import link
from foretell.engine.engine import Engine
from foretell.engine.matching import match, plan
from foretell.engine.seam import Done, Trade
from foretell.engine.state import Account, Contract, Order

ENGINE_SRC = Path(__file__).resolve().parents[2] / "src" / "foretell" / "engine"
TICK = 10_000  # one cent


class Recording(Engine):
    """An engine whose ledger side only writes down what the matcher hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[Any, ...]] = []

    def settle(self, t: Trade) -> None:  # (a copy: the matcher refills one message)
        assert t.taker is not None and t.maker is not None
        self.messages.append(("trade", t.taker.id, t.maker.id, t.i, t.q, t.kind))

    def done(self, d: Done) -> None:
        assert d.order is not None
        self.messages.append(("done", d.order.id, d.reason))


def _market(e: Engine) -> Contract:
    e.apply(cmd.CreateMarket(1_000, 1, maker_fee_ppm=0, taker_fee_ppm=0))
    return e.contracts[1]


def _order(e: Engine, account: int, c: Contract, outcome: int, action: int, size: int,
           cents: int, stp: int = 0) -> Order:
    """An order made by hand (no funding): side and level as the engine computes them."""
    a = e.accounts.setdefault(account, Account(account))
    price = cents * TICK
    price_i = (price if outcome == YES else MICRO - price) // TICK
    side = 0 if outcome == action else 1
    o = Order(e.next_id, a, c, side, outcome, action, price_i, size, LIMIT, GTC, 0, 0, stp, "",
              e.now_ms)
    e.next_id += 1
    return o


def _rest(e: Engine, o: Order) -> Order:
    link(o.contract, o)
    e.orders[o.id] = o
    return o


def test_matcher_alone_makes_trades_in_price_time_order_and_moves_no_money() -> None:
    e = Recording()
    c = _market(e)
    # Asks in YES terms: a NO buy at 45 is a YES ask at 55; a YES sell at 55 likewise.
    m1 = _rest(e, _order(e, 1, c, NO, BUY, 10, 45))  # ask 55, first in time
    m2 = _rest(e, _order(e, 2, c, YES, SELL, 5, 55))  # ask 55, second
    m3 = _rest(e, _order(e, 3, c, NO, BUY, 20, 44))  # ask 56
    taker = _order(e, 4, c, YES, BUY, 30, 56)
    money = [(a.id, a.free, a.reserved, dict(a.positions)) for a in e.accounts.values()]
    stop = match(e, taker, plan(c, taker))
    assert stop == ""
    assert e.messages == [
        ("trade", taker.id, m1.id, 55, 10, FILL_MINT),  # both buy: a pair is minted
        ("done", m1.id, DONE_FILLED),
        ("trade", taker.id, m2.id, 55, 5, FILL_TRANSFER),  # the maker sells its YES
        ("done", m2.id, DONE_FILLED),
        ("trade", taker.id, m3.id, 56, 15, FILL_MINT),  # the rest at the next level
    ]
    assert (taker.remaining, taker.filled) == (0, 30)
    assert (m3.remaining, m3.filled) == (5, 15)
    assert c.ask_qty[55] == 0 and c.ask_qty[56] == 5 and c.ask_head[56] is m3
    assert (c.volume, c.last_i) == (30, 56)
    # The ledger's side of every account and order is as it was: the matcher moved no money.
    assert [(a.id, a.free, a.reserved, dict(a.positions)) for a in e.accounts.values()] == money
    assert all(o.reserved == o.fee_basis == o.notional == 0 for o in (taker, m1, m2, m3))
    assert c.collateral == c.yes_out == c.no_out == 0


def test_matcher_alone_sends_a_self_trade_as_a_departure_not_a_trade() -> None:
    e = Recording()
    c = _market(e)
    own = _rest(e, _order(e, 7, c, NO, BUY, 4, 40))  # ask 60, the taker's own
    other = _rest(e, _order(e, 8, c, NO, BUY, 4, 40))  # ask 60, behind it
    taker = _order(e, 7, c, YES, BUY, 4, 60, stp=STP_CANCEL_MAKER)
    match(e, taker, plan(c, taker))
    assert e.messages == [
        ("done", own.id, DONE_SELF_TRADE),
        ("trade", taker.id, other.id, 60, 4, FILL_MINT),
        ("done", other.id, DONE_FILLED),
    ]
    assert c.ask_head[60] is None  # both left the level: one cancelled, one filled


def test_ledger_alone_settles_hand_written_trades() -> None:
    """No book: two accounts, orders funded by the ledger, trades the matcher would send."""
    e = Engine()
    c = _market(e)  # no fees: the fee arithmetic has tests of its own (test_fees.py)
    for account in (1, 2, 3):
        e.apply(cmd.Deposit(1_000, account, 100 * MICRO))
    buyer_no = _order(e, 1, c, NO, BUY, 10, 40)  # will rest (maker)
    buyer_yes = _order(e, 2, c, YES, BUY, 10, 60)  # will take
    for o in (buyer_no, buyer_yes):
        o.reserved = ledger.buy_reservation(o.out_price * o.size, 0, 0, c.market.fee_max_ppm)
        ledger.fund(o)
    assert e.accounts[1].reserved == 4 * MICRO and e.accounts[2].reserved == 6 * MICRO
    # A mint of 10 at YES 0.60: the matcher has taken both sizes already.
    for o in (buyer_no, buyer_yes):
        o.remaining -= 10
        o.filled += 10
    t = Trade()
    t.taker, t.maker, t.i, t.q, t.kind = buyer_yes, buyer_no, 60, 10, FILL_MINT
    e.take_events()  # the market's and the deposits'
    ledger.settle(e, t)
    (fill,) = e.take_events()
    assert isinstance(fill, ev.Fill)
    assert (fill.yes_price_micro, fill.size, fill.kind) == (600_000, 10, FILL_MINT)
    assert (fill.taker_order, fill.maker_order) == (buyer_yes.id, buyer_no.id)
    a1, a2 = e.accounts[1], e.accounts[2]
    assert (a1.free, a1.reserved, a1.positions[c.id]) == (96 * MICRO, 0, [0, 10, 0, 0])
    assert (a2.free, a2.reserved, a2.positions[c.id]) == (94 * MICRO, 0, [10, 0, 0, 0])
    assert c.collateral == c.yes_out == c.no_out == 10
    # Account 1 sells its NO to account 3's NO buy at 0.30 (a transfer), then the sell leaves.
    seller = _order(e, 1, c, NO, SELL, 10, 30)
    ledger.fund(seller)
    assert a1.positions[c.id] == [0, 10, 0, 10]  # ten NO held for the sell
    buyer = _order(e, 3, c, NO, BUY, 4, 30)
    buyer.reserved = 4 * 300_000
    ledger.fund(buyer)
    seller.remaining -= 4
    buyer.remaining -= 4
    t.taker, t.maker, t.i, t.q, t.kind = buyer, seller, 70, 4, FILL_TRANSFER
    ledger.settle(e, t)
    assert (a1.free, a1.positions[c.id]) == (96 * MICRO + 1_200_000, [0, 6, 0, 6])
    assert e.accounts[3].positions[c.id] == [0, 4, 0, 0]
    assert ledger.release(seller) == 0  # what the sell still held comes free
    assert a1.positions[c.id] == [0, 6, 0, 0]
    # Conservation by hand: cash + collateral == deposits.
    cash = sum(a.free + a.reserved for a in e.accounts.values())
    assert cash + c.collateral * MICRO == e.deposits_micro


def test_a_merge_trade_returns_collateral() -> None:
    e = Engine()
    c = _market(e)
    for account in (1, 2):
        e.apply(cmd.Deposit(1_000, account, 100 * MICRO))
    a1, a2 = e.accounts[1], e.accounts[2]
    # Each already holds shares of a pair minted earlier (collateral 5 locked).
    a1.positions[c.id] = c.positions[1] = [5, 0, 0, 0]
    a2.positions[c.id] = c.positions[2] = [0, 5, 0, 0]
    c.collateral = c.yes_out = c.no_out = 5
    a1.free -= 5 * 600_000
    a2.free -= 5 * 400_000
    e.deposits_micro = 200 * MICRO
    sell_yes = _order(e, 1, c, YES, SELL, 5, 60)
    sell_no = _order(e, 2, c, NO, SELL, 5, 40)
    for o in (sell_yes, sell_no):
        ledger.fund(o)
        o.remaining -= 5
    t = Trade()
    t.taker, t.maker, t.i, t.q, t.kind = sell_no, sell_yes, 60, 5, FILL_MERGE
    ledger.settle(e, t)
    assert c.collateral == c.yes_out == c.no_out == 0
    assert (a1.free, a2.free) == (100 * MICRO, 100 * MICRO)
    assert a1.positions[c.id] == a2.positions[c.id] == [0, 0, 0, 0]
    assert a1.free + a2.free + c.collateral * MICRO == e.deposits_micro


# The fields each side owns. The matcher may read an order's sizes and place, never money; the
# ledger may read an order's sizes (they decide what it must still hold), never a book.
LEDGER_FIELDS = {"account", "free", "reserved", "positions", "fee_basis", "fee_charged",
                 "notional", "collateral", "yes_out", "no_out", "fees_micro",
                 "creator_fees_micro"}
BOOK_FIELDS = {"bid_head", "bid_tail", "bid_qty", "ask_head", "ask_tail", "ask_qty", "best_bid",
               "best_ask", "prev", "next", "volume", "last_i"}


def _attributes_and_imports(module: str) -> tuple[set[str], set[str]]:
    tree = ast.parse((ENGINE_SRC / f"{module}.py").read_text())
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imports = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imports |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    return attrs, imports | names


def test_the_matcher_never_touches_money() -> None:
    for module in ("matching", "book"):
        attrs, imports = _attributes_and_imports(module)
        assert not attrs & LEDGER_FIELDS, (module, attrs & LEDGER_FIELDS)
        assert "foretell.engine.ledger" not in imports and "ledger" not in imports, module


def test_the_ledger_never_touches_a_book() -> None:
    attrs, imports = _attributes_and_imports("ledger")
    assert not attrs & BOOK_FIELDS, attrs & BOOK_FIELDS
    assert not {"foretell.engine.book", "foretell.engine.matching", "book",
                "matching"} & imports
