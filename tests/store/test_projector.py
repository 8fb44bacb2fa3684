"""Projector scenarios: each drives the real engine, projects its outcomes, checks the rows.

Every scenario ends with the store's balances and positions equal to the engine's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain.markets import ACTIONS, CLOSED, HALTED
from foretell.domain.orders import (
    BUY,
    FILL_MERGE,
    FILL_MINT,
    FILL_TRANSFER,
    GTD,
    IOC,
    NO,
    SELL,
    TRIGGER_STOP_LOSS,
    TRIGGER_TAKE_PROFIT,
    YES,
)
from foretell.store import schema as t
from foretell.store.projector import ProjectionGap

if TYPE_CHECKING:
    from conftest import Store, Stream

M = 1_000_000  # one USDC in micro


def _check_ledger(store: Store, stream: Stream) -> None:
    assert store.balances() == stream.balances()
    assert store.positions() == stream.positions()


def test_market_created_from_meta(store: Store, stream: Stream) -> None:
    meta = {"slug": "acme-round", "question": "Will Acme close its round above $1B?",
            "description": "Series C.", "category": "funding", "tags": ["acme", "series-c"],
            "outcomes": ["Above", "Below"], "rules": {"source": "press release"},
            "resolution_deadline_ms": 9_000_000}
    stream.ok(cmd.CreateMarket(stream.ts, 7, tick_micro=1_000, creator=5,
                               creator_share_ppm=200_000, close_ms=5_000_000,
                               meta=json.dumps(meta)))
    stream.ok(cmd.CreateMarket(stream.ts, 8, outcomes=3,
                               meta=json.dumps({"slug": "acme-round",
                                                "outcomes": ["A", "B", "C"]})))
    stream.ok(cmd.CreateMarket(stream.ts, 9, meta="not json"))
    stream.ts += 10
    stream.ok(cmd.SetMarketStatus(stream.ts, 7, HALTED, "news pending"))
    store.project(stream.outcomes)

    m = store.row(t.markets, id=7)
    assert (m["slug"], m["question"], m["category"], m["kind"], m["status"]) == (
        "acme-round", meta["question"], "funding", "binary", "halted")
    assert json.loads(m["tags"]) == ["acme", "series-c"]
    assert json.loads(m["rules"]) == {"source": "press release"}
    assert (m["tick_micro"], m["creator_id"], m["creator_share_ppm"], m["close_ms"],
            m["resolution_deadline_ms"], m["created_ms"], m["updated_ms"]) == (
        1_000, 5, 200_000, 5_000_000, 9_000_000, 1_000, 1_010)
    assert [c["name"] for c in store.rows(t.contracts, market_id=7)] == ["Above"]
    timeline = [(e["status"], e["reason"]) for e in store.rows(t.market_events, market_id=7)]
    assert timeline == [("open", "created"), ("halted", "news pending")]

    categorical = store.row(t.markets, id=8)
    assert categorical["slug"] == "acme-round-8"  # taken slugs get the market id
    assert categorical["kind"] == "categorical"
    contracts = store.rows(t.contracts, market_id=8)
    assert [(c["idx"], c["name"]) for c in contracts] == [(0, "A"), (1, "B"), (2, "C")]

    plain = store.row(t.markets, id=9)
    assert (plain["slug"], plain["question"], json.loads(plain["outcomes"]),
            plain["creator_id"], plain["close_ms"]) == (
        "market-9", "Market 9", ["Yes", "No"], None, None)


def test_order_lifecycle(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    resting = stream.limit(1, "buy_yes", 10, 40, client_id="a1").value
    partial = stream.limit(1, "buy_yes", 10, 41).value
    stream.ts += 5
    # NO at 0.60 is YES 0.40: it takes the 0.41 bid (10) and then 4 of the 0.40 bid.
    taker = stream.limit(2, "buy_no", 14, 60, tif=IOC).value
    stream.ts += 5
    stream.ok(cmd.AmendOrder(stream.ts, 1, resting, price_micro=390_000))
    gtd = stream.limit(1, "buy_yes", 3, 30, tif=GTD, expire_ms=stream.ts + 100).value
    stream.ok(cmd.CancelOrder(stream.ts, 1, gtd))
    rejected = stream.limit(2, "buy_yes", 1_000_000, 99, client_id="big")
    assert rejected.code == codes.INSUFFICIENT_FUNDS
    store.project(stream.outcomes)

    rows = {r["id"]: r for r in store.rows(t.orders)}
    assert (rows[partial]["status"], rows[partial]["filled"], rows[partial]["remaining"]) == (
        "filled", 10, 0)
    r = rows[resting]
    assert (r["status"], r["reason"], r["filled"], r["remaining"], r["price_micro"],
            r["client_id"]) == ("open", "amended", 4, 6, 390_000, "a1")
    assert r["notional_micro"] == 4 * 400_000
    tk = rows[taker]
    assert (tk["status"], tk["filled"], tk["outcome"], tk["action"], tk["price_micro"]) == (
        "filled", 14, NO, BUY, 600_000)
    assert tk["notional_micro"] == 10 * 590_000 + 4 * 600_000
    assert tk["fees_micro"] == -(-tk["notional_micro"] * 1_000 // M)
    assert (rows[gtd]["status"], rows[gtd]["reason"], rows[gtd]["expire_ms"]) == (
        "cancelled", "cancelled", stream.ts + 100)
    assert rows[partial]["market_id"] == 1 and rows[partial]["created_seq"] > 0
    rej = store.row(t.order_rejections)
    assert (rej["account_id"], rej["client_id"], rej["code"]) == (2, "big",
                                                                  codes.INSUFFICIENT_FUNDS)
    _check_ledger(store, stream)


def test_partial_fill_stays_open_and_ioc_remainder_cancels(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    assert stream.limit(1, "sell_yes", 5, 60).code == codes.INSUFFICIENT_SHARES
    bid = stream.limit(1, "buy_yes", 10, 50).value
    taker = stream.limit(2, "buy_no", 4, 50, tif=IOC).value
    rest = stream.limit(2, "buy_no", 10, 50, tif=IOC).value
    store.project(stream.outcomes)
    rows = {r["id"]: r for r in store.rows(t.orders)}
    assert (rows[bid]["status"], rows[bid]["reason"], rows[bid]["filled"],
            rows[bid]["remaining"]) == ("filled", "filled", 10, 0)
    assert rows[taker]["status"] == "filled"
    assert (rows[rest]["status"], rows[rest]["reason"], rows[rest]["filled"],
            rows[rest]["remaining"]) == ("cancelled", "ioc_remainder", 6, 4)
    assert [r["code"] for r in store.rows(t.order_rejections)] == [codes.INSUFFICIENT_SHARES]
    _check_ledger(store, stream)


def test_partially_filled_order_is_open(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    bid = stream.limit(1, "buy_yes", 10, 50).value
    stream.limit(2, "buy_no", 4, 50)
    store.project(stream.outcomes)
    r = store.row(t.orders, id=bid)
    assert (r["status"], r["reason"], r["filled"], r["remaining"]) == (
        "open", "partially_filled", 4, 6)


def test_fill_kinds_and_tape(store: Store, stream: Stream) -> None:
    stream.fund(1, 2, 3)
    stream.market(taker_fee_ppm=2_000, maker_fee_ppm=1_000)
    stream.limit(1, "buy_yes", 10, 30)
    mint = stream.limit(2, "buy_no", 10, 70)  # mint at YES 0.30
    stream.limit(1, "sell_yes", 4, 35)
    transfer = stream.limit(3, "buy_yes", 4, 35)  # YES moves 1 -> 3
    stream.limit(3, "sell_yes", 4, 45)
    merge = stream.limit(2, "sell_no", 4, 55)  # merge at YES 0.45
    assert all(o.ok for o in (mint, transfer, merge))
    store.project(stream.outcomes)

    trades = store.rows(t.trades)
    assert [(x["kind"], x["yes_price_micro"], x["size"], x["taker_side"]) for x in trades] == [
        (FILL_MINT, 300_000, 10, "buy_no"),
        (FILL_TRANSFER, 350_000, 4, "buy_yes"),
        (FILL_MERGE, 450_000, 4, "sell_no"),
    ]
    fills = store.rows(t.fills)
    assert len(fills) == 6
    assert {f["trade_id"] for f in fills} == {x["id"] for x in trades}
    by = {(f["trade_id"], f["liquidity"]): f for f in fills}
    merge_taker = by[(trades[2]["id"], "taker")]
    assert (merge_taker["account_id"], merge_taker["outcome"], merge_taker["action"],
            merge_taker["price_micro"], merge_taker["fee_micro"]) == (
        2, NO, SELL, 550_000, 4 * 550_000 * 2_000 // M)
    mint_maker = by[(trades[0]["id"], "maker")]
    assert (mint_maker["account_id"], mint_maker["outcome"], mint_maker["price_micro"]) == (
        1, YES, 300_000)
    contract = store.row(t.contracts, id=1)
    assert (contract["last_price_micro"], contract["volume_shares"]) == (450_000, 18)
    market = store.row(t.markets, id=1)
    assert market["volume_shares"] == 18
    assert market["fees_micro"] == sum(f["fee_micro"] for f in fills)
    _check_ledger(store, stream)


def test_candles_at_three_intervals(store: Store, stream: Stream) -> None:
    """Trades either side of minute, hour and day boundaries, projected in two batches."""
    stream.fund(1, 2, usdc=100_000)
    stream.market()
    day, hour, minute = 86_400_000, 3_600_000, 60_000
    base = 10 * day  # midnight
    plan = [  # (ts, YES cents, size)
        (base + 5 * hour + 10_000, 40, 5),
        (base + 5 * hour + 50_000, 45, 2),
        (base + 5 * hour + 59_999, 38, 1),
        (base + 5 * hour + minute, 50, 3),  # next minute, same hour
        (base + 6 * hour, 55, 4),  # next hour
        (base + day + 1, 60, 6),  # next day
    ]
    split = 0
    for i, (ts, cents, size) in enumerate(plan):
        stream.ts = ts
        stream.limit(1, "buy_yes", size, cents)
        stream.limit(2, "buy_no", size, 100 - cents)
        if i == 1:
            split = len(stream.outcomes)
    store.project(stream.outcomes[:split])
    store.project(stream.outcomes[split:])

    def bars(interval_s: int) -> list[tuple[int, ...]]:
        return [(r["start_ms"], r["open_micro"], r["high_micro"], r["low_micro"],
                 r["close_micro"], r["volume_shares"], r["trades"])
                for r in store.rows(t.candles, order_by="start_ms", interval_s=interval_s)]

    c = 10_000  # one cent
    assert bars(60) == [
        (base + 5 * hour, 40 * c, 45 * c, 38 * c, 38 * c, 8, 3),
        (base + 5 * hour + minute, 50 * c, 50 * c, 50 * c, 50 * c, 3, 1),
        (base + 6 * hour, 55 * c, 55 * c, 55 * c, 55 * c, 4, 1),
        (base + day, 60 * c, 60 * c, 60 * c, 60 * c, 6, 1),
    ]
    assert bars(3_600) == [
        (base + 5 * hour, 40 * c, 50 * c, 38 * c, 50 * c, 11, 4),
        (base + 6 * hour, 55 * c, 55 * c, 55 * c, 55 * c, 4, 1),
        (base + day, 60 * c, 60 * c, 60 * c, 60 * c, 6, 1),
    ]
    assert bars(86_400) == [
        (base, 40 * c, 55 * c, 38 * c, 55 * c, 15, 5),
        (base + day, 60 * c, 60 * c, 60 * c, 60 * c, 6, 1),
    ]


def test_average_cost_and_realized_pnl(store: Store, stream: Stream) -> None:
    """A hand-computed scenario: taker fee 1 %, maker fee 0; A=1, B=2, C=3; market settles YES.

    1. A bids YES 100 @ .40; B buys NO 100 @ .60 -> mint. A: 100 YES cost 40.00.
       B: 100 NO cost 60 + fee 0.60 = 60.60.
    2. A offers YES 50 @ .55; C buys -> A realizes 27.50 - 20.00 = 7.50 (50 YES, cost 20.00).
       C: 50 YES cost 27.50 + 0.275 = 27.775.
    3. A offers YES 30 @ .50; B buys (fee 0.15) and nets 30 pairs: B realizes
       30 - 15.15 - 60.60 * 30/100 (18.18) = -3.33, keeps 70 NO cost 42.42.
       A realizes 15 - 20 * 30/50 (12) = 3.00: 10.50 in all, 20 YES cost 8.00.
    4. C offers YES 10 @ .60; B sells NO 10 @ .40 -> merge. B realizes 4 - 0.04 - 42.42 *
       10/70 (6.06) = -2.10: -5.43 in all, 60 NO cost 36.36. C realizes 6 - 5.555 = 0.445,
       40 YES cost 22.22.
    5. YES wins: A +20 - 8 = 22.50 in all; B 0 - 36.36 = -41.79; C +40 - 22.22 = 18.225.
    The three sum to -1.065 USDC, exactly the fees paid.
    """
    stream.fund(1, 2, 3)
    stream.market(maker_fee_ppm=0, taker_fee_ppm=10_000)
    steps = [
        [(1, "buy_yes", 100, 40), (2, "buy_no", 100, 60)],
        [(1, "sell_yes", 50, 55), (3, "buy_yes", 50, 55)],
        [(1, "sell_yes", 30, 50), (2, "buy_yes", 30, 50)],
        [(3, "sell_yes", 10, 60), (2, "sell_no", 10, 40)],
    ]
    for step in steps:
        for account, side, size, cents in step:
            assert stream.limit(account, side, size, cents).ok
    store.project(stream.outcomes)

    def state() -> dict[int, tuple[int, int, int, int, int]]:
        return {r["account_id"]: (r["yes_shares"], r["no_shares"], r["yes_cost_micro"],
                                  r["no_cost_micro"], r["realized_pnl_micro"])
                for r in store.rows(t.positions)}

    assert state() == {
        1: (20, 0, 8_000_000, 0, 10_500_000),
        2: (0, 60, 0, 36_360_000, -5_430_000),
        3: (40, 0, 22_220_000, 0, 445_000),
    }
    _check_ledger(store, stream)
    before = len(stream.outcomes)
    stream.ok(cmd.SettleMarket(stream.ts, 1, 0))
    store.project(stream.outcomes[before:])
    assert state() == {
        1: (0, 0, 0, 0, 22_500_000),
        2: (0, 0, 0, 0, -41_790_000),
        3: (0, 0, 0, 0, 18_225_000),
    }
    fees = sum(f["fee_micro"] for f in store.rows(t.fills))
    assert fees == 1_065_000
    assert sum(v[4] for v in state().values()) == -fees
    _check_ledger(store, stream)


def test_settlement_and_void_rows(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market(1)
    stream.market(2, outcomes=3)  # contracts 2, 3, 4
    stream.limit(1, "buy_yes", 10, 30)
    stream.limit(2, "buy_no", 10, 70)
    stream.limit(1, "buy_yes", 5, 20, contract=3)
    stream.limit(2, "buy_no", 5, 80, contract=3)
    resting = stream.limit(1, "buy_yes", 7, 10, contract=3).value
    stream.ok(cmd.SetMarketStatus(stream.ts, 1, CLOSED))
    stream.ok(cmd.SettleMarket(stream.ts, 1, 1))  # NO wins
    stream.ok(cmd.VoidMarket(stream.ts, 2, "source withdrawn"))
    store.project(stream.outcomes)

    rows = [(r["market_id"], r["contract_id"], r["account_id"], r["yes_shares"],
             r["no_shares"], r["amount_micro"]) for r in store.rows(t.settlements)]
    assert rows == [
        (1, 1, 1, 10, 0, 0),
        (1, 1, 2, 0, 10, 10 * M),
        (2, 3, 1, 5, 0, 5 * 500_000),
        (2, 3, 2, 0, 5, 5 * 500_000),
    ]
    m1, m2 = store.row(t.markets, id=1), store.row(t.markets, id=2)
    assert (m1["status"], m1["winner"]) == ("settled", 1)
    assert (m2["status"], m2["winner"]) == ("voided", None)
    assert [e["status"] for e in store.rows(t.market_events, market_id=1)] == [
        "open", "closed", "settled"]
    order = store.row(t.orders, id=resting)
    assert (order["status"], order["reason"]) == ("cancelled", "market_settled")
    assert store.positions() == {}
    _check_ledger(store, stream)


def test_triggers(store: Store, stream: Stream) -> None:
    stream.fund(1, 2, 3)
    stream.market()
    stream.limit(1, "buy_yes", 10, 50)
    stream.limit(2, "buy_no", 10, 50)
    tp, sl = stream.ok(cmd.PlaceTrigger(stream.ts, 1, 1, YES, 10, take_profit_micro=600_000,
                                        stop_loss_micro=400_000, client_id="tpsl"))
    trail = stream.ok(cmd.PlaceTrigger(stream.ts, 2, 1, NO, 5, trail_micro=50_000))[0]
    stream.ok(cmd.CancelTrigger(stream.ts, 2, trail))
    stream.limit(3, "buy_yes", 20, 60)  # rests: gives the take-profit sell a buyer
    stream.limit(2, "buy_no", 1, 40)  # trades at YES .60: fires the take-profit
    store.project(stream.outcomes)

    rows = {r["id"]: r for r in store.rows(t.triggers)}
    assert (rows[tp]["status"], rows[tp]["kind"], rows[tp]["trigger_micro"], rows[tp]["oco"],
            rows[tp]["client_id"]) == ("fired", TRIGGER_TAKE_PROFIT, 600_000, sl, "tpsl")
    assert (rows[sl]["status"], rows[sl]["reason"], rows[sl]["kind"]) == (
        "cancelled", "oco", TRIGGER_STOP_LOSS)
    assert (rows[trail]["status"], rows[trail]["reason"]) == ("cancelled", "cancelled")
    order = store.row(t.orders, id=rows[tp]["order_id"])
    assert (order["trigger_id"], order["action"], order["account_id"]) == (tp, SELL, 1)
    _check_ledger(store, stream)


def test_exactly_once(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    for cents in (40, 41, 42):
        stream.limit(1, "buy_yes", 5, cents)
        stream.limit(2, "buy_no", 3, 100 - cents)
    outcomes = stream.outcomes
    assert store.projector.apply(outcomes[:5]) == 5
    assert store.projector.last_seq() == 5
    once = store.dump()
    assert store.projector.apply(outcomes[:5]) == 0  # the same batch again: nothing
    assert store.dump() == once
    assert store.projector.apply(outcomes[3:]) == len(outcomes) - 5  # overlap is skipped
    full = store.dump()
    assert store.projector.apply(outcomes) == 0
    assert store.dump() == full
    assert store.projector.last_seq() == len(outcomes)
    with pytest.raises(ProjectionGap):
        store.projector.apply([replace(outcomes[0], seq=len(outcomes) + 2)])
    assert store.dump() == full
    _check_ledger(store, stream)


def test_market_lifecycle_and_disputes(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.ok(cmd.CreateMarket(stream.ts, 1, open_now=False, actor=9,
                               meta=json.dumps({"slug": "filing", "question": "Draft?"})))
    draft = {"question": "Will Acme file by June?", "rules": {"source": "SEC"},
             "outcomes": ["Files", "Does not"], "tags": ["acme"]}
    stream.ok(cmd.MarketAction(stream.ts, 1, "update_draft", 9, text=json.dumps(draft)))
    stream.ok(cmd.MarketAction(stream.ts, 1, "submit", 9))
    stream.ok(cmd.MarketAction(stream.ts, 1, "approve", 100, reason="clear rules"))
    stream.limit(1, "buy_yes", 10, 50)
    stream.limit(2, "buy_no", 10, 50)
    stream.ok(cmd.MarketAction(stream.ts, 1, "clarify", 9, text="Only EDGAR filings count."))
    store.project(stream.outcomes)  # the dispute path below runs in a second batch
    first = len(stream.outcomes)
    stream.ok(cmd.ProposeResolution(stream.ts, 1, 0, 9, evidence="EDGAR 10-K"))
    stream.ok(cmd.Dispute(stream.ts, 1, 2, 100 * M, "the filing was withdrawn"))
    stream.ok(cmd.DecideDispute(stream.ts, 1, True, 1, 100, "withdrawn on day two"))
    store.project(stream.outcomes[first:])

    m = store.row(t.markets, id=1)
    assert (m["question"], json.loads(m["rules"]), json.loads(m["tags"]), m["status"],
            m["proposed_winner"], m["winner"], m["created_by"]) == (
        draft["question"], {"source": "SEC"}, ["acme"], "settled", 0, 1, 9)
    assert store.row(t.contracts, id=1)["name"] == "Files"
    timeline = [(e["kind"], e["status"], e["action"], e["actor"], e["text"])
                for e in store.rows(t.market_events, market_id=1)]
    assert timeline == [
        ("status", "draft", None, 9, None),
        ("action", None, "update_draft", 9, json.dumps(draft)),
        ("action", None, "submit", 9, None),
        ("status", "in_review", None, 9, None),
        ("action", None, "approve", 100, None),
        ("status", "open", None, 100, None),
        ("action", None, "clarify", 9, "Only EDGAR filings count."),
        ("status", "closed", None, 9, None),
        ("resolution", None, "propose", 9, "EDGAR 10-K"),
        ("status", "resolution_proposed", None, 9, None),
        ("status", "disputed", None, 2, None),
        ("action", None, "uphold", 100, None),
        ("status", "settled", None, 100, None),
    ]
    bonds = [(r["amount_micro"], r["reason"]) for r in store.rows(t.cash_movements, account_id=2)
             if r["reason"].startswith("bond_")]
    assert bonds == [(-100 * M, "bond_dispute"), (100 * M, "bond_dispute_returned")]
    assert [(s["account_id"], s["amount_micro"]) for s in store.rows(t.settlements)] == [
        (1, 0), (2, 10 * M)]
    _check_ledger(store, stream)


def test_proposal_that_stands_settles_on_a_timer(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market(dispute_window_ms=1_000)
    stream.limit(1, "buy_yes", 10, 50)
    stream.limit(2, "buy_no", 10, 50)
    stream.ok(cmd.ProposeResolution(stream.ts, 1, 1, 7, evidence="report"))
    store.project(stream.outcomes)
    first = len(stream.outcomes)
    stream.ts += 1_000
    stream.ok(cmd.Timer(stream.ts))
    store.project(stream.outcomes[first:])
    m = store.row(t.markets, id=1)
    assert (m["status"], m["proposed_winner"], m["winner"], m["dispute_deadline_ms"]) == (
        "settled", 1, 1, 2_000)
    _check_ledger(store, stream)


@pytest.mark.skipif("reassign_creator" not in ACTIONS, reason="engine without reassign_creator")
def test_reassigned_creator(store: Store, stream: Stream) -> None:
    stream.market(creator=4, creator_share_ppm=100_000)
    stream.ok(cmd.MarketAction(stream.ts, 1, "reassign_creator", 100, "left", "6"))
    store.project(stream.outcomes)
    assert store.row(t.markets, id=1)["creator_id"] == 6


def test_bond_lock_updates_the_balance(store: Store, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    stream.limit(1, "buy_yes", 10, 50)
    stream.limit(2, "buy_no", 10, 50)
    stream.ok(cmd.ProposeResolution(stream.ts, 1, 0, 1, bond_micro=50 * M))
    store.project(stream.outcomes)
    _check_ledger(store, stream)


def test_creator_fee_share_updates_the_balance(store: Store, stream: Stream) -> None:
    stream.fund(1, 2, 3)
    stream.market(creator=3, creator_share_ppm=500_000)
    stream.limit(1, "buy_yes", 100, 50)
    stream.limit(2, "buy_no", 100, 50)
    store.project(stream.outcomes)
    _check_ledger(store, stream)


def test_text_is_stored_exactly(store: Store, stream: Stream) -> None:
    """Quotes, backslashes, braces, commas, NUL-free unicode and the word NULL round-trip."""
    tricky = 'He said "yes", {maybe}\\no; NULL \u00e9\u4e2d\U0001f600 \'quoted\''
    stream.fund(1)
    stream.ok(cmd.CreateMarket(stream.ts, 1, meta=json.dumps(
        {"question": tricky, "tags": [tricky, ""], "category": "NULL"})))
    stream.limit(1, "buy_yes", 1, 10, client_id='c,"{}\\')
    store.project(stream.outcomes)
    m = store.row(t.markets, id=1)
    assert (m["question"], json.loads(m["tags"]), m["category"]) == (tricky, [tricky, ""], "NULL")
    assert store.row(t.orders)["client_id"] == 'c,"{}\\'
