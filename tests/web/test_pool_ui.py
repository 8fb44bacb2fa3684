"""The market page shows a market's liquidity pool (issue 16): its subsidy, prices, the implied
probabilities of every outcome with their sum, and the pool's depth beside the book."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from tests.web.conftest import DEMO_PASSWORD, Trader, unique


def test_pool_panel_and_depth_on_a_categorical_market(ui: Any, base_url: str) -> None:
    ops = Trader(base_url, "ops", DEMO_PASSWORD, signup=False)
    try:
        r = ops.client.post("/admin/credit", json={"account_id": ops.id, "amount": "500",
                                                   "reason": "pool subsidy"})
        assert r.status_code in (200, 201), r.text
        slug = unique("pooled")
        r = ops.client.post("/admin/markets", json={
            "slug": slug, "question": "Which of three outcomes will happen first?",
            "outcomes": ["Alpha", "Beta", "Gamma"], "subsidy": "300", "void_yes": "0.333333"})
        assert r.status_code in (200, 201), r.text
        market_id = r.json()["id"]
    finally:
        ops.close()
    try:
        _check_the_page(ui, slug)
    finally:  # off the home page's featured markets, which other tests read
        ops = Trader(base_url, "ops", DEMO_PASSWORD, signup=False)
        try:
            ops.client.post(f"/admin/markets/{market_id}/void", json={"reason": "test done"})
        finally:
            ops.close()


def _check_the_page(ui: Any, slug: str) -> None:
    page = ui.new_page()
    page.goto(f"/markets/{slug}")
    expect(page.locator("#pool")).to_be_visible()
    expect(page.locator("#pool-stats")).to_contain_text("$300.00")  # dollars and cents
    expect(page.locator("#pool-implied tr")).to_have_count(4)  # three outcomes and their sum
    # Pool prices are each rounded down to the micro-USDC: they sum to 1 within n micro.
    expect(page.locator("#pool-implied tr.sum")).to_contain_text(re.compile(r"Sum\s*(0\.9999|1\.0)"))
    expect(page.locator("#pool-book")).to_be_visible()
    expect(page.locator("#pool-book tr.ask").first).to_contain_text("pool")
    assert page.js_errors == []
    page.context.close()
