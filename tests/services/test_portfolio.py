"""Portfolio and its projection in process: cash free and reserved with what each reservation
is for, and the store's positions, fills, settlements and order history read back right after
the command that changed them (read-your-writes), through categorical settlement."""

from __future__ import annotations

from tests.services.conftest import World, run, trader

from foretell.services import present
from foretell.store import queries

FUNDS = 1_000_000_000


def test_balance_names_every_reservation(w: World) -> None:
    svc = w.svc
    assert svc.portfolio.balance(12) == {"account_id": 12, "free": "0.000000",
                                         "reserved": "0.000000", "total": "0.000000",
                                         "reserved_for": []}
    ada, bob = w.user("ada"), w.user("bob")
    c = w.market(maker_fee_ppm=0, taker_fee_ppm=2_000)["contract_ids"][0]
    no = w.place(ada, contract_id=c, outcome="no", side="buy", price="0.70", size=5)
    # the worst-case fee is the larger of the two rates: 0.2 % of 3.50
    assert svc.portfolio.balance(ada) == {
        "account_id": ada, "free": "996.493000", "reserved": "3.507000", "total": "1000.000000",
        "reserved_for": [{"order_id": no["id"], "contract_id": c, "market_id": 1,
                          "amount": "3.507000",
                          "why": "buy 5 NO at 0.70 plus worst-case fee"}]}
    w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.30", size=5)
    w.place(bob, contract_id=c, outcome="yes", side="sell", price="0.90", size=5)  # no cash
    assert svc.portfolio.balance(bob)["reserved_for"] == []
    assert svc.portfolio.balance(ada)["reserved"] == "0.000000"  # filled as maker, no fee
    assert svc.portfolio.balance(ada)["free"] == "996.500000"


def test_projection_follows_each_command_of_the_caller(w: World) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    made = w.market("who-wins", outcomes=["Low", "Mid", "High"])
    c0, c1, c2 = made["contract_ids"]
    w.place(ada, market_id=1, outcome_index=1, outcome="yes", side="buy", price="0.30", size=3)
    w.place(bob, market_id=1, outcome_index=1, outcome="no", side="buy", price="0.70", size=3)
    w.place(ada, contract_id=c2, outcome="yes", side="buy", price="0.50", size=2)
    w.place(bob, contract_id=c2, outcome="no", side="buy", price="0.50", size=2)
    resting = w.place(ada, contract_id=c0, outcome="yes", side="buy", price="0.10", size=4)

    run(svc.read_your_writes(ada))  # ada's last command is projected: her resting order is
    stored = queries.get_order(svc.db, ada, resting["id"])
    assert stored is not None and present.order_row(stored)["status"] == "open"
    assert present.order_row(stored)["price"] == "0.10"
    run(svc.read_your_writes(bob))  # ... and bob's: both sides of his fills
    held = {p["contract_id"]: (p["yes_shares"], p["no_shares"])
            for p in queries.positions(svc.db, ada)}
    assert held == {c1: (3, 0), c2: (2, 0)}
    fills, _ = queries.fills(svc.db, ada)
    assert sorted((f["contract_id"], f["size"], f["fee_micro"]) for f in fills) == [
        (c1, 3, 900), (c2, 2, 1_000)]  # maker fee 0.1 % of 0.90 and of 1.00

    paid = run(svc.markets.settle(1, 1, w.sam))["payouts"]
    by_account: dict[int, int] = {}
    for p in paid:
        by_account[p["account_id"]] = by_account.get(p["account_id"], 0) + int(
            p["amount"].replace(".", ""))
    assert by_account == {ada: 3_000_000, bob: 2_000_000}  # Mid YES, and High NO
    assert w.free_reserved(ada) == (FUNDS - 900_000 - 900 - 1_000_000 - 1_000 + 3_000_000, 0)
    assert w.free_reserved(bob) == (FUNDS - 2_100_000 - 2_100 - 1_000_000 - 1_000
                                    + 2_000_000, 0)

    run(svc.read_your_writes(w.sam))
    settled, _ = queries.settlements(svc.db, ada)
    assert sorted((s["contract_id"], s["amount_micro"]) for s in settled if
                  s["amount_micro"]) == [(c1, 3_000_000)]
    cancelled = queries.get_order(svc.db, ada, resting["id"])
    assert cancelled is not None and (cancelled["status"], cancelled["reason"]) == (
        "cancelled", "market_settled")
    assert all(p["yes_shares"] == p["no_shares"] == 0 for p in queries.positions(svc.db, ada))
    assert svc.trading.open_orders(trader(ada), None) == []


def test_halting_cancels_resting_orders_and_says_why(w: World) -> None:
    svc = w.svc
    ada = w.user("ada")
    c = w.market()["contract_ids"][0]
    first = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=1)
    run(svc.markets.set_market_status(1, "halted", "news pending", w.sam))
    assert w.free_reserved(ada) == (FUNDS, 0)
    run(svc.read_your_writes(w.sam))
    row = queries.get_order(svc.db, ada, first["id"])
    assert row is not None and (row["status"], row["reason"]) == ("cancelled", "market_halted")
    run(svc.markets.set_market_status(1, "open", "news is out", w.sam))
    second = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=1)
    run(svc.markets.set_market_status(1, "closed", "event started", w.sam))
    run(svc.markets.settle(1, 1, w.sam))
    run(svc.read_your_writes(w.sam))
    row = queries.get_order(svc.db, ada, second["id"])
    assert row is not None and (row["status"], row["reason"]) == ("cancelled", "market_closed")
    timeline = queries.get_market(svc.db, 1)["timeline"]
    assert [(e["status"], e["reason"]) for e in timeline][:4] == [
        ("open", "created"), ("halted", "news pending"), ("open", "news is out"),
        ("closed", "event started")]
    assert [e["status"] for e in timeline][4:] == ["settled"]
