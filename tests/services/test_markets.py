"""Markets in process: create under a unique slug, open/halt/close, settle and void, with the
money each holder is paid to the micro-USDC."""

from __future__ import annotations

from tests.services.conftest import World, refused, run

from foretell.domain import markets as mk
from foretell.services.requests import MarketIn
from foretell.store import queries


def test_create_market_gives_ids_and_is_read_back_from_the_store(w: World) -> None:
    svc = w.svc
    made = w.market("rain-lisbon", outcomes=["Yes", "No"], tags=["weather"])
    assert made == {"id": 1, "contract_ids": [1], "slug": "rain-lisbon"}
    cat = w.market("who-wins", outcomes=["Ann", "Ben", "Cy"])
    assert cat == {"id": 2, "contract_ids": [2, 3, 4], "slug": "who-wins"}
    m = svc.engine.markets[1]
    assert (m.status, m.contracts[0].tick) == (mk.OPEN, 10_000)

    run(svc.read_your_writes(w.sam))
    row = queries.get_market(svc.db, "rain-lisbon")
    assert row is not None and (row["id"], row["status"], row["tags"]) == (1, "open",
                                                                            ["weather"])
    assert [c["id"] for c in queries.get_market(svc.db, 2)["contracts"]] == [2, 3, 4]


def test_slug_and_outcome_refusals_change_nothing(w: World) -> None:
    svc = w.svc
    w.market("rain-lisbon")
    with refused("slug_taken"):
        w.market("rain-lisbon")
    with refused("invalid_request"):
        w.market("two-yes", outcomes=["Yes", "Yes"])
    assert list(svc.engine.markets) == [1]
    assert "two-yes" not in svc.markets.claimed_slugs  # a refused slug is free again
    w.market("two-yes")


def test_contract_for_names_the_contract_or_refuses(w: World) -> None:
    svc = w.svc
    w.market("who-wins", outcomes=["Ann", "Ben", "Cy"])
    assert svc.markets.contract_for(1, None, 2) == 3
    assert svc.markets.contract_for(None, 2, 0) == 2
    with refused("unknown_contract"):
        svc.markets.contract_for(None, 9, 0)
    with refused("invalid_request"):
        svc.markets.contract_for(None, None, 0)
    with refused("unknown_market"):
        svc.markets.contract_for(7, None, 0)
    with refused("invalid_outcome"):
        svc.markets.contract_for(1, None, 3)


def test_halt_stops_trading_reopen_resumes_close_then_settle_pays_winners(w: World) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    c = w.market()["contract_ids"][0]
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    w.place(bob, contract_id=c, outcome="no", side="buy", price="0.60", size=10)
    # ada rested 10 YES at 0.40 (maker fee 0.1 %: 4,000), bob took 10 NO at 0.60 (6,000)
    assert w.free_reserved(ada) == (1_000_000_000 - 4_000_000 - 4_000, 0)
    assert w.free_reserved(bob) == (1_000_000_000 - 6_000_000 - 6_000, 0)
    assert (w.shares(ada, c), w.shares(bob, c)) == ((10, 0), (0, 10))

    assert run(svc.markets.set_market_status(1, "halted", "news pending", w.sam)) == {
        "id": 1, "status": "halted"}
    with refused("market_not_open"):
        w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=1)
    run(svc.markets.set_market_status(1, "open", "resumed", w.sam))
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.30", size=1)  # rests
    run(svc.markets.set_market_status(1, "closed", "event over", w.sam))
    with refused("invalid_transition"):
        run(svc.markets.set_market_status(1, "open", "reopen a closed market", w.sam))

    with refused("invalid_outcome"):
        run(svc.markets.settle(1, 2, w.sam))
    settled = run(svc.markets.settle(1, 0, w.sam))
    assert (settled["status"], settled["winner_index"]) == ("settled", 0)
    paid = {p["account_id"]: p["amount"] for p in settled["payouts"]}
    assert paid[ada] == "10.000000" and paid.get(bob, "0.000000") == "0.000000"
    # the resting bid was cancelled and its reservation released
    assert w.free_reserved(ada) == (1_000_000_000 - 4_000_000 - 4_000 + 10_000_000, 0)
    assert w.free_reserved(bob) == (1_000_000_000 - 6_000_000 - 6_000, 0)
    with refused("invalid_transition"):
        run(svc.markets.settle(1, 1, w.sam))
    with refused("invalid_transition"):
        run(svc.markets.void(1, "too late", w.sam))
    with refused("unknown_market"):
        run(svc.markets.settle(5, 0, w.sam))


def test_void_pays_the_fixed_fraction_to_both_sides(w: World) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    c = w.market(void_yes="0.3", maker_fee_ppm=0, taker_fee_ppm=0)["contract_ids"][0]
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    w.place(bob, contract_id=c, outcome="no", side="buy", price="0.60", size=10)
    assert run(svc.markets.void(1, "the event was cancelled", w.sam)) == {"id": 1,
                                                                          "status": "voided"}
    assert w.free_reserved(ada) == (1_000_000_000 - 4_000_000 + 3_000_000, 0)
    assert w.free_reserved(bob) == (1_000_000_000 - 6_000_000 + 7_000_000, 0)
    assert svc.engine.markets[1].status == mk.VOIDED
    with refused("invalid_transition"):
        run(svc.markets.settle(1, 0, w.sam))


def test_create_market_with_a_subsidy_funds_its_pool_from_the_supervisor(w: World) -> None:
    svc = w.svc
    run(svc.accounts.credit(w.sam, 500_000_000, "subsidy money", w.sam))
    w.market(subsidy="200")
    assert w.free_reserved(w.sam) == (300_000_000, 0)
    assert svc.engine.markets[1].pool.subsidy_micro == 200_000_000
    seq = svc.pipeline.seq
    with refused("insufficient_funds"):
        w.market("second-one", subsidy="300.000001")
    with refused("invalid_request"):
        run(svc.markets.create_market(MarketIn(slug="bad-subsidy", question="Will it rain?",
                                               subsidy="lots"), w.sam))
    with refused("invalid_pool"):
        w.market("tiny-pool", subsidy="0.50")
    # A refused subsidy refuses the market: nothing created, nothing journaled, slugs free.
    assert list(svc.engine.markets) == [1] and svc.pipeline.seq == seq
    assert w.free_reserved(w.sam) == (300_000_000, 0)
    assert svc.markets.claimed_slugs.isdisjoint({"second-one", "bad-subsidy", "tiny-pool"})
    w.market("second-one", subsidy="300")  # the same slug, with a subsidy that is covered
    assert svc.engine.markets[2].pool.subsidy_micro == 300_000_000
    assert w.free_reserved(w.sam) == (0, 0)
