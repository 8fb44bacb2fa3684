"""Trading in process: place (limit, market by size and spend, IOC, FOK, post-only,
reduce-only), batches, amend, cancel, cancel-all, the dry-run quote and trigger orders; fees
and reservations to the micro-USDC; every refusal the verbs raise before the engine."""

from __future__ import annotations

import pytest
from tests.services.conftest import World, order, refused, run, trader

from foretell.domain.codes import Refused
from foretell.services.auth import Principal
from foretell.services.requests import TriggerIn
from foretell.store import queries

FUNDS = 1_000_000_000  # 1,000 USDC each


@pytest.fixture
def c(w: World) -> int:
    """A binary market with 0.1 % maker and taker fees, and its YES contract."""
    return int(w.market()["contract_ids"][0])


def test_a_limit_order_rests_then_a_cross_mints_and_charges_both_fees(w: World, c: int) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    bid = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    assert (bid["status"], bid["remaining"], bid["filled"], bid["price"], bid["market_id"]) == (
        "open", 10, 0, "0.40", 1)
    assert w.free_reserved(ada) == (FUNDS - 4_004_000, 4_004_000)  # 10 x 0.40 + 0.1 % fee
    reserved = svc.portfolio.balance(ada)["reserved_for"]
    assert reserved == [{"order_id": bid["id"], "contract_id": c, "market_id": 1,
                         "amount": "4.004000",
                         "why": "buy 10 YES at 0.40 plus worst-case fee"}]

    taker = w.place(bob, contract_id=c, outcome="no", side="buy", price="0.60", size=4)
    assert (taker["status"], taker["filled"], taker["avg_price"], taker["fees"]) == (
        "filled", 4, "0.60", "0.002400")
    assert taker["fills"] == [{"price": "0.60", "size": 4, "fee": "0.002400",
                               "liquidity": "taker", "kind": "mint"}]
    assert sum(w.free_reserved(ada)) == FUNDS - 4 * 400_000 - 1_600
    assert w.free_reserved(ada)[1] == 6 * 400_000 + 2_400
    assert w.free_reserved(bob) == (FUNDS - 4 * 600_000 - 2_400, 0)
    assert (w.shares(ada, c), w.shares(bob, c)) == ((4, 0), (0, 4))
    live = svc.trading.live_order(trader(ada), bid["id"])
    assert live is not None and (live["filled"], live["remaining"], live["fees"]) == (
        4, 6, "0.001600")
    assert live["queue_position"] == {"orders_ahead": 0, "shares_ahead": 0}
    assert svc.trading.live_order(trader(bob), bid["id"]) is None  # not bob's

    # Read your writes: once bob's command is projected, the store holds both sides.
    run(svc.read_your_writes(bob))
    rows = {r["account_id"]: r for r in (queries.positions(svc.db, ada)
                                         + queries.positions(svc.db, bob))}
    assert (rows[ada]["yes_shares"], rows[bob]["no_shares"]) == (4, 4)
    assert queries.balance(svc.db, bob)["free_micro"] == FUNDS - 2_402_400
    fills, _ = queries.fills(svc.db, bob)
    assert [(f["size"], f["fee_micro"]) for f in fills] == [(4, 2_400)]


def test_market_orders_by_size_and_by_spend_never_rest(w: World, c: int) -> None:
    ada, bob = w.user("ada"), w.user("bob")
    with refused("no_liquidity"):
        w.place(bob, contract_id=c, outcome="yes", side="buy", type="market", size=1)
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.45", size=5)  # ask 0.55
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.40", size=5)  # ask 0.60
    by_size = w.place(bob, contract_id=c, outcome="yes", side="buy", type="market", size=7)
    assert [(f["price"], f["size"]) for f in by_size["fills"]] == [("0.55", 5), ("0.60", 2)]
    assert by_size["avg_price"] == "0.564285"  # 3.95 / 7, rounded down
    assert by_size["fees"] == "0.003950"
    by_spend = w.place(bob, contract_id=c, outcome="yes", side="buy", type="market",
                       spend="1.20")
    assert (by_spend["filled"], by_spend["status"]) == (2, "cancelled")  # 1.20 spent on 2
    rest = w.place(bob, contract_id=c, outcome="yes", side="buy", type="market", size=5)
    assert (rest["filled"], rest["status"], rest["reason"], rest["remaining"]) == (
        1, "cancelled", "ioc_remainder", 4)
    assert w.svc.trading.open_orders(trader(bob), None) == []
    assert w.shares(bob, c) == (10, 0)
    assert sum(w.free_reserved(bob)) == FUNDS - 5 * 550_000 - 5 * 600_000 - 5_750
    # A market sell takes the bids there are (YES to a YES buyer: a transfer), never rests.
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.30", size=2)
    sold = w.place(bob, contract_id=c, outcome="yes", side="sell", type="market", size=3)
    assert (sold["filled"], sold["status"], sold["reason"]) == (2, "cancelled", "ioc_remainder")
    assert [(f["price"], f["size"], f["kind"]) for f in sold["fills"]] == [("0.30", 2, "transfer")]
    assert w.shares(bob, c) == (8, 0)
    assert w.svc.trading.open_orders(trader(bob), None) == []


def test_ioc_fok_and_post_only(w: World, c: int) -> None:
    ada, bob = w.user("ada"), w.user("bob")
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    ioc = w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.50", size=5, tif="ioc")
    assert (ioc["filled"], ioc["status"], ioc["reason"]) == (3, "cancelled", "ioc_remainder")

    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    before = w.free_reserved(bob)
    with refused("fok_not_filled"):
        w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.50", size=5, tif="fok")
    assert w.free_reserved(bob) == before and w.shares(bob, c) == (3, 0)
    fok = w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.50", size=3, tif="fok")
    assert (fok["status"], fok["filled"]) == ("filled", 3)

    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=1)
    with refused("post_only_would_take"):
        w.place(bob, contract_id=c, outcome="no", side="buy", price="0.60", size=1,
                post_only=True)
    maker = w.place(bob, contract_id=c, outcome="no", side="buy", price="0.55", size=1,
                    post_only=True)
    assert (maker["status"], maker["post_only"]) == ("open", True)


def test_reduce_only_and_selling_what_is_not_held(w: World, c: int) -> None:
    ada, cy = w.user("ada"), w.user("cy")
    with refused("no_position"):
        w.place(cy, contract_id=c, outcome="yes", side="sell", price="0.70", size=1,
                reduce_only=True)
    with refused("insufficient_shares"):
        w.place(cy, contract_id=c, outcome="no", side="sell", price="0.50", size=1)
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.50", size=4)
    w.place(cy, contract_id=c, outcome="yes", side="buy", price="0.50", size=4)
    reduce = w.place(cy, contract_id=c, outcome="yes", side="sell", price="0.70", size=10,
                     reduce_only=True)
    assert (reduce["status"], reduce["size"], reduce["reduce_only"]) == ("open", 4, True)
    with refused("no_position"):  # all 4 are already offered
        w.place(cy, contract_id=c, outcome="yes", side="sell", price="0.70", size=1,
                reduce_only=True)
    with refused("insufficient_shares"):
        w.place(cy, contract_id=c, outcome="yes", side="sell", price="0.70", size=1)


def test_refusals_before_the_engine_and_orders_that_cannot_be_paid(w: World, c: int) -> None:
    svc = w.svc
    ada = w.user("ada")
    poor = w.user("poor", usdc=0)
    with refused("invalid_price"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", size=1)  # a limit needs a price
    with refused("size_out_of_range"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40")
    with refused("invalid_tick"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.405", size=1)
    with refused("invalid_price"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="1.00", size=1)
    with refused("unknown_market"):
        w.place(ada, market_id=9, outcome="yes", side="buy", price="0.40", size=1)
    with refused("unknown_contract"):
        w.place(ada, contract_id=9, outcome="yes", side="buy", price="0.40", size=1)
    with refused("invalid_outcome"):
        w.place(ada, market_id=1, outcome_index=1, outcome="yes", side="buy", price="0.4",
                size=1)
    with refused("insufficient_funds"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.99", size=1_000_000)
    with refused("unknown_account"):
        w.place(poor, contract_id=c, outcome="yes", side="buy", price="0.50", size=1)
    with refused("invalid_expiry"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=1, tif="gtd",
                expire_at_ms=w.clock.now_ms - 1)
    assert w.free_reserved(ada) == (FUNDS, 0) and svc.engine.orders == {}


def test_client_order_ids_are_unique_per_account(w: World, c: int) -> None:
    ada, bob = w.user("ada"), w.user("bob")
    first = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                    client_order_id="mine-1")
    assert first["client_order_id"] == "mine-1"
    with pytest.raises(Refused) as info:
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                client_order_id="mine-1")
    assert info.value.code == "duplicate_client_order_id"
    assert info.value.details == {"order_id": first["id"]}
    run(w.svc.trading.cancel(trader(ada), first["id"]))
    with refused("duplicate_client_order_id"):  # a finished order's id still blocks it
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                client_order_id="mine-1")
    w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
            client_order_id="mine-1")  # another account may use it


def test_place_many_answers_each_order(w: World, c: int) -> None:
    ada = w.user("ada")
    out = run(w.svc.trading.place_many(trader(ada), [
        order(contract_id=c, outcome="yes", side="buy", price="0.30", size=1),
        order(contract_id=c, outcome="yes", side="buy", price="0.305", size=1),
        order(market_id=1, outcome="no", side="buy", price="0.20", size=2),
        order(market_id=99, outcome="yes", side="buy", price="0.30", size=1)]))
    assert [r["ok"] for r in out] == [True, False, True, False]
    assert [r["error"]["code"] for r in out if not r["ok"]] == ["invalid_tick", "unknown_market"]
    assert [r["order"]["price"] for r in out if r["ok"]] == ["0.30", "0.20"]
    assert w.free_reserved(ada)[1] == 300_300 + 2 * 200_200


def test_amend_keeps_priority_only_on_a_size_decrease(w: World, c: int) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    o1 = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=5)["id"]
    o2 = w.place(bob, contract_id=c, outcome="yes", side="buy", price="0.40", size=3)["id"]
    a, b = trader(ada), trader(bob)

    def ahead(p: Principal, order_id: int) -> tuple[int, int]:
        live = svc.trading.live_order(p, order_id)
        assert live is not None
        return live["queue_position"]["orders_ahead"], live["queue_position"]["shares_ahead"]

    smaller = run(svc.trading.amend(a, o1, None, 2))
    assert (smaller["remaining"], smaller["price"]) == (2, "0.40")
    assert (ahead(a, o1), ahead(b, o2)) == ((0, 0), (1, 2))
    assert w.free_reserved(ada)[1] == 2 * 400_400
    run(svc.trading.amend(a, o1, None, 4))  # an increase goes to the back
    assert (ahead(b, o2), ahead(a, o1)) == ((0, 0), (1, 3))
    moved = run(svc.trading.amend(a, o1, "0.42", None))
    assert moved["price"] == "0.42" and ahead(a, o1) == (0, 0)
    assert w.free_reserved(ada)[1] == 4 * 420_420
    with refused("invalid_tick"):
        run(svc.trading.amend(a, o1, "0.425", None))
    with refused("unknown_order"):  # bob's order is unknown to ada, never "not yours"
        run(svc.trading.amend(a, o2, "0.41", None))


def test_cancel_and_cancel_all_release_every_reservation(w: World) -> None:
    svc = w.svc
    ada = w.user("ada")
    w.market("first-market")
    w.market("second-market")
    a = trader(ada)
    ids = [w.place(ada, market_id=m, outcome="yes", side="buy", price=p, size=1)["id"]
           for m, p in ((1, "0.10"), (1, "0.11"), (2, "0.12"))]
    done = run(svc.trading.cancel(a, ids[0]))
    assert (done["id"], done["status"], done["reason"]) == (ids[0], "cancelled", "cancelled")
    with refused("unknown_order"):
        run(svc.trading.cancel(a, ids[0]))
    with refused("unknown_order"):
        run(svc.trading.cancel(trader(w.sam), ids[1]))
    assert run(svc.trading.cancel_all(a, 1)) == {"cancelled": 1, "order_ids": [ids[1]]}
    assert [o["market_id"] for o in svc.trading.open_orders(a, None)] == [2]
    assert svc.trading.open_orders(a, 1) == []
    assert run(svc.trading.cancel_all(a, None)) == {"cancelled": 1, "order_ids": [ids[2]]}
    assert run(svc.trading.cancel_all(a, None)) == {"cancelled": 0, "order_ids": []}
    assert w.free_reserved(ada) == (FUNDS, 0)


def test_self_trade_prevention_cancels_the_resting_order(w: World, c: int) -> None:
    ada = w.user("ada")
    resting = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=2)
    taker = w.place(ada, contract_id=c, outcome="no", side="buy", price="0.60", size=1)
    assert (taker["filled"], taker["status"]) == (0, "open")
    assert w.svc.trading.live_order(trader(ada), resting["id"]) is None
    assert w.free_reserved(ada) == (FUNDS - 600_600, 600_600)
    run(w.svc.read_your_writes(ada))
    row = queries.get_order(w.svc.db, ada, resting["id"])
    assert row is not None and (row["status"], row["reason"]) == ("cancelled", "self_trade")


def test_quote_is_a_dry_run(w: World, c: int) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.45", size=5)
    w.place(ada, contract_id=c, outcome="no", side="buy", price="0.40", size=5)
    seq = svc.pipeline.seq
    q = svc.trading.quote(trader(bob), order(contract_id=c, outcome="yes", side="buy",
                                             price="0.60", size=8))
    assert q["fills"] == [{"price": "0.55", "size": 5}, {"price": "0.60", "size": 3}]
    assert (q["filled"], q["unfilled"], q["avg_price"]) == (8, 0, "0.56875")
    assert (q["notional"], q["fee"], q["max_cost"]) == ("4.550000", "0.004550", "4.804800")
    short = svc.trading.quote(trader(bob), order(contract_id=c, outcome="yes", side="buy",
                                                 price="0.55", size=8))
    assert (short["filled"], short["unfilled"]) == (5, 3)  # the limit stops at 0.55
    unheld = svc.trading.quote(trader(ada), order(contract_id=c, outcome="no", side="sell",
                                                  type="market", size=1))
    assert unheld["filled"] == 0  # ada holds no NO yet: nothing would sell
    spend = svc.trading.quote(trader(bob), order(contract_id=c, outcome="yes", side="buy",
                                                 type="market", spend="1.10"))
    assert spend["filled"] == 2
    with refused("invalid_tick"):
        svc.trading.quote(trader(bob), order(contract_id=c, outcome="yes", side="buy",
                                             price="0.505", size=1))
    assert svc.pipeline.seq == seq and w.free_reserved(bob) == (FUNDS, 0)


def test_trigger_orders_are_placed_listed_and_cancelled_by_their_owner(w: World, c: int) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    w.place(bob, contract_id=c, outcome="no", side="buy", price="0.50", size=4)
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.50", size=4)
    a = trader(ada)
    placed = run(svc.trading.place_trigger(a, _trigger(c, take_profit="0.80",
                                                       stop_loss="0.30")))
    assert [(t["kind"], t["trigger_price"], t["size"], t["outcome"]) for t in placed] == [
        ("take_profit", "0.80", 4, "yes"), ("stop_loss", "0.30", 4, "yes")]
    assert placed[0]["oco_with"] == placed[1]["id"]
    assert [t["id"] for t in svc.trading.triggers(a)] == [t["id"] for t in placed]
    assert svc.trading.triggers(trader(bob)) == []
    with refused("unknown_trigger"):
        run(svc.trading.cancel_trigger(trader(bob), placed[0]["id"]))
    assert run(svc.trading.cancel_trigger(a, placed[0]["id"])) == {"id": placed[0]["id"],
                                                                   "status": "cancelled"}
    with refused("unknown_trigger"):
        run(svc.trading.cancel_trigger(a, placed[0]["id"]))
    with refused("unknown_contract"):
        run(svc.trading.place_trigger(a, _trigger(99, stop_loss="0.30")))


def _trigger(contract_id: int, **prices: str) -> TriggerIn:
    return TriggerIn.model_validate({"contract_id": contract_id, "outcome": "yes", "size": 4,
                                     **prices})


def test_a_gtd_order_expires_on_the_first_tick_after_its_time(w: World, c: int) -> None:
    svc = w.svc
    ada = w.user("ada")
    gtd = w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=1,
                  tif="gtd", expire_at_ms=w.clock.now_ms + 400)
    assert (gtd["status"], gtd["tif"]) == ("open", "gtd")
    # The answer to the order has what a GET of it has: its expiry and its market.
    assert gtd["expire_at_ms"] == w.clock.now_ms + 400
    assert gtd["market_id"] == svc.trading.live_order(trader(ada), gtd["id"])["market_id"]
    w.clock.now_ms += 399
    run(svc.tick())
    assert svc.trading.live_order(trader(ada), gtd["id"]) is not None
    w.clock.now_ms += 1
    run(svc.tick())
    assert svc.trading.live_order(trader(ada), gtd["id"]) is None
    assert w.free_reserved(ada) == (FUNDS, 0)
    svc.node.wait_projected()  # the Timer is nobody's command: wait for the store itself
    row = queries.get_order(svc.db, ada, gtd["id"])
    assert row is not None and (row["status"], row["reason"]) == ("cancelled", "expired")
