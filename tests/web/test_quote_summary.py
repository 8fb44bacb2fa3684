"""FT.quoteSummary (static/js/ft.js): a quote from POST /api/v1/orders/quote as one short
sentence for the order ticket, for every `status` the quote can have; checked in Chromium on
made-up quotes and on real quotes from the server."""

from __future__ import annotations

from typing import Any

import httpx

BUY = {"fills": [], "fee": "0", "fee_rate_ppm": 1000, "notional": "0", "cost_now": "0",
       "max_cost": "0", "potential_payout": "0", "payout_if_all_filled": "0"}
CASES: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = [
    ({**BUY, "status": "filled", "reason": "filled", "filled": 20, "unfilled": 0,
      "avg_price": "0.57", "cost_now": "11.4114"}, None,
     "Would fill all 20 shares at 57¢ on average ($11.41 with fees)."),
    ({**BUY, "status": "partially_filled", "reason": "ioc_remainder", "filled": 10,
      "unfilled": 10, "avg_price": "0.55", "cost_now": "5.5055"}, {"type": "market"},
     "Would fill 10 of 20 shares at 55¢ on average ($5.51 with fees); the rest is cancelled "
     "(protection price)."),
    ({**BUY, "status": "partially_filled", "reason": "ioc_remainder", "filled": 10,
      "unfilled": 10, "avg_price": "0.55", "cost_now": "5.5055"},
     {"type": "limit", "tif": "ioc"},
     "Would fill 10 of 20 shares at 55¢ on average ($5.51 with fees); the rest is cancelled "
     "(immediate-or-cancel)."),
    ({**BUY, "status": "not_filled", "reason": "self_trade", "filled": 0, "unfilled": 5,
      "avg_price": None}, None,
     "Would fill nothing: the order is cancelled (it would trade with your own order)."),
    ({**BUY, "status": "resting", "reason": "", "filled": 4, "unfilled": 6, "avg_price": "0.4",
      "cost_now": "1.6016"}, None,
     "Would fill 4 of 10 shares at 40¢ on average ($1.60 with fees) now; the other 6 rest on "
     "the book at your limit."),
    ({**BUY, "status": "resting", "reason": "", "filled": 0, "unfilled": 10,
      "avg_price": None}, None, "Would fill nothing now: all 10 shares rest on the book at "
     "your limit."),
    ({**BUY, "status": "killed", "reason": "fok_not_filled", "filled": 0, "unfilled": 30,
      "avg_price": None, "max_cost": None}, None,
     "Would not trade: fill-or-kill cannot fill all 30 shares now."),
    ({**BUY, "status": "refused", "reason": "insufficient_funds", "filled": 0,
      "unfilled": 30, "avg_price": None, "max_cost": None}, None,
     "Would be refused: not enough free cash."),
    ({"status": "filled", "reason": "filled", "filled": 12, "unfilled": 0, "fills": [],
      "avg_price": "0.625", "proceeds_now": "7.4925", "fee": "0.0075", "notional": "7.5"},
     None, "Would fill all 12 shares at 62.5¢ on average (you get $7.49 after fees)."),
    ({**BUY, "status": "filled", "reason": "ioc_remainder", "filled": 9, "unfilled": None,
      "avg_price": "0.45", "cost_now": "4.054"}, {"type": "market"},
     "Would buy 9 shares at 45¢ on average ($4.05 with fees)."),
    ({"status": "something_new"}, None, ""),
]


def _summaries(page: Any, cases: list[tuple[Any, Any]]) -> list[str]:
    return list(page.evaluate(
        "cases => cases.map(([q, o]) => FT.quoteSummary(q, o || undefined))", cases))


def test_quote_summary_for_every_status(ui: Any) -> None:
    page = ui.new_page()
    page.goto("/markets")
    page.wait_for_function("window.FT && typeof FT.quoteSummary === 'function'")
    got = _summaries(page, [(q, o) for q, o, _ in CASES])
    assert got == [want for _, _, want in CASES]
    assert page.js_errors == []
    page.context.close()


def test_quote_summary_of_real_quotes(ui: Any, trader_factory: Any) -> None:
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as ops:
        r = ops.post("/auth/login", json={"username": "ops", "password": ui.demo_password})
        ops.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        slug = ui.unique("quote-summary")
        r = ops.post("/admin/markets", json={"slug": slug, "question": "Will this quote read well?"})
        assert r.status_code == 201, r.text
        market = r.json()["id"]
    maker, taker = trader_factory("maker"), trader_factory("taker")
    maker.order(market, "buy", "no", 10, "0.40")  # offers 10 Yes at 60¢

    def quote(**body: Any) -> dict[str, Any]:
        r = taker.client.post("/orders/quote", json={"market_id": market, "outcome": "yes",
                                                     "side": "buy", **body})
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    market_order = {"type": "market"}
    partial = quote(type="market", size=20)
    filled = quote(type="limit", price="0.60", size=5)
    resting = quote(type="limit", price="0.60", size=15)
    killed = quote(type="limit", price="0.60", size=15, tif="fok")
    assert [q["status"] for q in (partial, filled, resting, killed)] == [
        "partially_filled", "filled", "resting", "killed"]
    page = ui.new_page()
    page.goto("/markets")
    page.wait_for_function("window.FT && typeof FT.quoteSummary === 'function'")
    got = _summaries(page, [(partial, market_order), (filled, None), (resting, None),
                            (killed, {"type": "limit", "tif": "fok"})])
    assert got[0].startswith("Would fill 10 of 20 shares at 60¢ on average ($6.")
    assert got[0].endswith("; the rest is cancelled (protection price).")
    assert got[1].startswith("Would fill all 5 shares at 60¢ on average ($3.")
    assert got[2].endswith("now; the other 5 rest on the book at your limit.")
    assert got[3] == "Would not trade: fill-or-kill cannot fill all 15 shares now."
    page.context.close()
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as ops:
        r = ops.post("/auth/login", json={"username": "ops", "password": ui.demo_password})
        ops.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = ops.post(f"/admin/markets/{market}/void", json={"reason": "test done"})
        assert r.status_code == 200, r.text  # off the home page, which other tests read
