"""Liquidity pools and conversion in process: who may fund a pool and with what, the pool's
view, its depth beside the book, implied prices, trading against the curve, and conversion of
NO of one outcome into YES of every other (and back); every amount to the micro-USDC."""

from __future__ import annotations

from typing import Any

import pytest
from tests.services.conftest import World, order, refused, run, trader

from foretell.domain.units import parse_micro
from foretell.engine.audit import audit
from foretell.services import creators, pools

FUNDS = 1_000_000_000


@pytest.fixture
def funded_sam(w: World) -> int:
    run(w.svc.accounts.credit(w.sam, 500_000_000, "pool subsidy for a test", w.sam))
    return w.sam


def test_who_may_fund_a_pool_and_with_what(w: World, funded_sam: int) -> None:
    svc = w.svc
    node = svc.node
    w.market()
    tom = trader(w.user("tom"))
    with refused("forbidden"):
        run(pools.fund_pool(node, tom, 1, "10"))
    with refused("unknown_market"):
        run(pools.fund_pool(node, w.boss, 9, "10"))
    with refused("invalid_request"):
        run(pools.fund_pool(node, w.boss, 1, "ten"))
    with refused("invalid_pool"):  # below the 1 USDC minimum
        run(pools.fund_pool(node, w.boss, 1, "0.999999"))
    with refused("invalid_pool"):
        run(pools.fund_pool(node, w.boss, 1, "10", fee_share_ppm=1_000_001))
    with refused("insufficient_funds"):
        run(pools.fund_pool(node, w.boss, 1, "500.000001"))
    assert pools.pool_view(node, 1) == {"market_id": 1, "pool": False, "conversion": False}

    view = run(pools.fund_pool(node, w.boss, 1, "200", fee_share_ppm=250_000))
    assert (view["pool"], view["funder_id"], view["subsidy"], view["fee_share_ppm"],
            view["cash"], view["fees_earned"]) == (True, w.sam, "200.000000", 250_000,
                                                   "200.000000", "0.000000")
    assert view["pnl_by_outcome"] == ["0.000000", "0.000000"]
    assert parse_micro(view["max_loss"]) <= 200_000_000
    assert view["contracts"][0]["price"] == "0.50"
    assert view["contracts"][0]["asks"][0][0] == "0.51"
    assert view["contracts"][0]["bids"][0][0] == "0.49"
    assert w.free_reserved(w.sam) == (300_000_000, 0)
    with refused("pool_exists"):
        run(pools.fund_pool(node, w.boss, 1, "10"))
    run(svc.markets.settle(1, 0, w.sam))
    w.market("another-one")
    run(svc.markets.set_market_status(2, "closed", "closed early", w.sam))
    with refused("invalid_pool"):  # a closed market takes no pool
        run(pools.fund_pool(node, w.boss, 2, "10"))


def test_a_creator_funds_the_pool_of_their_own_draft(w: World) -> None:
    svc = w.svc
    cora_id = w.user("cora")
    app = creators.apply(svc, trader(cora_id), "Covers the weather for a living.", "weather")
    creators.decide_application(svc, w.boss, app["id"], True, "ok")
    cora, other = trader(cora_id, "creator"), trader(w.user("olga"), "creator")
    close = w.clock.now_ms + 86_400_000
    m = run(creators.create_draft(svc, cora, {"slug": "draft-pool", "close_ms": close}))["id"]
    with refused("forbidden"):  # another creator's draft
        run(pools.fund_pool(svc.node, other, m, "20"))
    view = run(pools.fund_pool(svc.node, cora, m, "20"))
    assert view["subsidy"] == "20.000000" and view["fee_share_ppm"] == 500_000
    assert view["contracts"][0]["bids"] == [] and view["contracts"][0]["asks"] == []  # a draft
    assert w.free_reserved(cora_id) == (FUNDS - 20_000_000, 0)


def test_a_market_with_only_a_pool_trades_both_ways(w: World, funded_sam: int) -> None:
    svc = w.svc
    c = w.market(subsidy="200")["contract_ids"][0]
    ada = w.user("ada")
    book = pools.book_with_pool(svc.node, {"bids": [], "asks": []}, c, 3)
    assert [row[0] for row in book["pool"]["asks"]] == ["0.51", "0.52", "0.53"]
    assert [row[0] for row in book["pool"]["bids"]] == ["0.49", "0.48", "0.47"]
    assert (book["combined_best_bid"], book["combined_best_ask"]) == ("0.49", "0.51")
    implied = pools.implied(svc.node, 1)
    assert [(o["best_bid"], o["best_ask"], o["mid"]) for o in implied["outcomes"]] == [
        ("0.49", "0.51", "0.50")]

    buy = order(contract_id=c, outcome="yes", side="buy", type="market", size=15)
    q = svc.trading.quote(trader(ada), buy)
    bought = w.place(ada, contract_id=c, outcome="yes", side="buy", type="market", size=15)
    assert bought["filled"] == q["filled"] == 15 and bought["avg_price"] == q["avg_price"]
    assert bought["fills"][0]["price"] == "0.51"
    paid = sum(parse_micro(f["price"]) * f["size"] for f in bought["fills"]) \
        + parse_micro(bought["fees"])
    assert w.free_reserved(ada) == (FUNDS - paid, 0) and w.shares(ada, c) == (15, 0)
    assert pools.pool_view(svc.node, 1)["contracts"][0]["price"] > "0.50"

    sold = w.place(ada, contract_id=c, outcome="yes", side="sell", type="market", size=15)
    assert sold["filled"] == 15 and w.shares(ada, c) == (0, 0)
    no = w.place(ada, contract_id=c, outcome="no", side="buy", price="0.60", size=5, tif="ioc")
    back = w.place(ada, contract_id=c, outcome="no", side="sell", type="market", size=5)
    assert no["filled"] == back["filled"] == 5
    after = pools.pool_view(svc.node, 1)
    lost = FUNDS - w.free_reserved(ada)[0]
    assert lost > 0  # round trips leave the spread and the fees behind
    assert parse_micro(after["fees_earned"]) > 0 and parse_micro(after["pnl_worst"]) > 0
    report = audit(svc.engine)
    assert report.ok, report.violations
    # a closed market shows no pool depth beside its book
    run(svc.markets.set_market_status(1, "closed", "closed", w.sam))
    assert pools.book_with_pool(svc.node, {"bids": [], "asks": []}, c, 3) == {"bids": [],
                                                                              "asks": []}


def _categorical(w: World, **fields: Any) -> list[int]:
    made = w.market("who-wins", outcomes=["A", "B", "C"], subsidy="150", **fields)
    return list(made["contract_ids"])


def test_conversion_no_to_yes_and_back(w: World, funded_sam: int) -> None:
    svc = w.svc
    ids = _categorical(w, void_yes="0.333333")
    assert pools.pool_view(svc.node, 1)["conversion"] is True
    assert parse_micro(pools.implied(svc.node, 1)["ask_sum"]) <= 1_030_000
    ada = w.user("ada")
    p = trader(ada)
    w.place(ada, contract_id=ids[0], outcome="no", side="buy", type="market", size=6)
    cash = w.free_reserved(ada)
    assert w.shares(ada, ids[0]) == (0, 6)

    with refused("insufficient_shares"):
        run(pools.convert(svc.node, p, 1, 0, 7))
    with refused("invalid_outcome"):
        run(pools.convert(svc.node, p, 1, 3, 1))
    with refused("size_out_of_range"):
        run(pools.convert(svc.node, p, 1, 0, 0))
    assert run(pools.convert(svc.node, p, 1, 0, 6)) == {
        "market_id": 1, "outcome_index": 0, "size": 6, "direction": "no_to_yes"}
    assert [w.shares(ada, i) for i in ids] == [(0, 0), (6, 0), (6, 0)]
    assert w.free_reserved(ada) == cash  # no cash moves, only shares

    back = run(pools.convert(svc.node, p, 1, 0, 2, to_no=True))
    assert back["direction"] == "yes_to_no"
    assert [w.shares(ada, i) for i in ids] == [(0, 2), (4, 0), (4, 0)]
    with refused("insufficient_shares"):
        run(pools.convert(svc.node, p, 1, 0, 5, to_no=True))
    bob = w.user("bob")  # 5 YES of B and C bought from the pool, not converted
    for contract_id in ids[1:]:
        w.place(bob, contract_id=contract_id, outcome="yes", side="buy", type="market", size=5)
    with refused("conversion_not_allowed"):  # the market holds only 4 sets
        run(pools.convert(svc.node, trader(bob), 1, 0, 5, to_no=True))
    run(pools.convert(svc.node, trader(bob), 1, 0, 4, to_no=True))
    assert [w.shares(bob, i) for i in ids] == [(0, 4), (1, 0), (1, 0)]
    report = audit(svc.engine)
    assert report.ok, report.violations


def test_conversion_needs_a_categorical_market_that_voids_at_most_one_nth(
        w: World, funded_sam: int) -> None:
    svc = w.svc
    ada = w.user("ada")
    _categorical(w)  # void pays 0.5 per YES: three outcomes would pay 1.5 per set
    w.market("binary-one")
    for market_id in (1, 2):
        assert pools.pool_view(svc.node, market_id)["conversion"] is False
        with refused("conversion_not_allowed"):
            run(pools.convert(svc.node, trader(ada), market_id, 0, 1))
    run(svc.markets.set_market_status(2, "halted", "halted", w.sam))
    with refused("market_not_open"):
        run(pools.convert(svc.node, trader(ada), 2, 0, 1))
    with refused("unknown_market"):
        run(pools.convert(svc.node, trader(ada), 9, 0, 1))
    with refused("unknown_market"):
        pools.implied(svc.node, 9)
