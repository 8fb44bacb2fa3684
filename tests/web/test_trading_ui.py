"""Browser tests of the trading flows: sign up, live book and chart, orders, fills, exits.

Each test signs up its own account and uses its own seed market, so they do not depend on one
another's order. Other traders act through the public API (httpx); the browser sees their
trades only through the WebSocket, which is what these tests check.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from playwright.sync_api import expect

CLARITY = (9, "clarity-act-law-by-2026")
OPENAI = (8, "openai-valuation-1t-by-jun-2027")
MARGIN = (7, "anthropic-gross-margin-50pct-2027")
IPO_WINDOW = (3, "anthropic-ipo-pricing-window")


def _open_market(page: Any, slug: str) -> None:
    page.goto(f"/markets/{slug}")
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#book")).to_have_attribute("data-synced", "true")


def _advanced(page: Any) -> None:
    """Switch the trade panel to the professional ticket (limit/market, TIF, exits)."""
    page.click("label.switch")
    expect(page.locator("#ticket")).to_be_visible()


def test_signup_login_logout_with_inline_errors(ui: Any) -> None:
    page = ui.new_page()
    name = ui.unique("ada")
    page.goto("/signup")
    page.fill("#username", name)
    page.fill("#password", "short")
    page.click("#auth-form button[type=submit]")
    error = page.locator("#auth-form [data-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("password")

    ui.sign_up(page, name)
    expect(page.locator("#nav-balance [data-free]")).to_have_text("$10,000.00")
    page.click("#logout")
    expect(page.locator("a[href='/login']").first).to_be_visible()

    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", "wrong-password")
    page.click("#auth-form button[type=submit]")
    expect(page.locator("#auth-form [data-error]")).to_have_text("Wrong username or password.")
    ui.log_in(page, name, "password-1234")
    expect(page.locator("#nav-user")).to_have_text(name)
    assert page.js_errors == []
    page.context.close()


def test_book_chart_and_tape_update_live(ui: Any, trader_factory: Any) -> None:
    market_id, slug = CLARITY
    maker, taker = trader_factory("maker"), trader_factory("taker")
    page = ui.new_page()
    ui.sign_up(page, ui.unique("watcher"))
    _open_market(page, slug)
    expect(page.locator("#book")).to_contain_text("No asks")

    maker.order(market_id, "buy", "no", 10, "0.38")  # a YES ask at 62¢
    expect(page.locator("#book tr.ask[data-price='620000']")).to_have_attribute("data-size", "10")
    taker.order(market_id, "buy", "yes", 4)
    expect(page.locator("#book tr.ask[data-price='620000']")).to_have_attribute("data-size", "6")
    expect(page.locator("#trades tr").first).to_contain_text("62¢")
    expect(page.locator("#trades tr").first).to_contain_text("Buy YES")
    expect(page.locator("#chart")).to_have_attribute("data-candles", "1")
    expect(page.locator("#m-last")).to_have_text("62¢")

    # The NO view: NO price = 1 - YES price, sides swapped (the YES ask is a NO bid).
    page.click("#book-view label:has-text('NO')")
    expect(page.locator("#book tr.bid[data-price='380000']")).to_have_attribute("data-size", "6")
    expect(page.locator("#m-last")).to_have_text("38¢")
    assert page.js_errors == []
    page.context.close()


def test_limit_order_rests_in_book_then_amend_and_cancel(ui: Any) -> None:
    _, slug = OPENAI
    page = ui.new_page()
    ui.sign_up(page, ui.unique("limit"))
    _open_market(page, slug)
    _advanced(page)
    page.fill("#t-price", "40")
    page.fill("#t-amount", "7")
    expect(page.locator("#quote")).to_contain_text("7 would rest")
    page.click("#ticket-submit")
    expect(page.locator("#ticket-status")).to_contain_text("7 resting at 40¢")
    bid = page.locator("#book tr.bid[data-price='400000']")
    expect(bid).to_have_attribute("data-size", "7")
    expect(bid).to_have_class(re.compile(r"\bmine\b"))
    row = page.locator("#open-orders-table tbody tr[data-order]")
    expect(row).to_have_count(1)

    row.locator("[data-amend]").click()
    page.locator(".amend-form input[name=size]").fill("5")
    page.locator(".amend-form button[type=submit]").click()
    expect(bid).to_have_attribute("data-size", "5")

    page.locator("#open-orders-table [data-cancel]").click()
    expect(page.locator("#book")).to_contain_text("No bids")
    expect(page.locator("#open-orders")).to_contain_text("No open orders in this market.")
    assert page.js_errors == []
    page.context.close()


def test_market_order_fills_then_take_profit_fires(ui: Any, trader_factory: Any) -> None:
    market_id, slug = MARGIN
    maker, other = trader_factory("mm"), trader_factory("other")
    maker.order(market_id, "buy", "no", 10, "0.50")  # a YES ask at 50¢
    page = ui.new_page()
    ui.sign_up(page, ui.unique("taker"))
    _open_market(page, slug)
    _advanced(page)
    expect(page.locator("#book tr.ask[data-price='500000']")).to_have_attribute("data-size", "10")

    page.click("#ticket label:has-text('Market')")
    page.fill("#t-amount", "10")
    page.click("#exits summary")
    page.fill("#t-tp", "70")
    page.fill("#t-sl", "30")
    expect(page.locator("#quote")).to_contain_text("50¢")
    page.click("#ticket-submit")
    expect(page.locator("#ticket-status")).to_contain_text("filled 10 at 50¢")
    expect(page.locator("[data-pos-yes]")).to_have_text("10")
    exits = page.locator("#triggers-table tbody tr")
    expect(exits).to_have_count(2)
    expect(page.locator("#triggers-table")).to_contain_text("Take-profit")
    expect(page.locator("#triggers-table")).to_contain_text("Stop-loss")

    # The price moves up through 70¢; the take-profit sells into the 72¢ bid, the stop-loss
    # (its one-cancels-other partner) goes away.
    maker.order(market_id, "buy", "yes", 10, "0.72")
    maker.order(market_id, "buy", "no", 1, "0.25")  # a YES ask at 75¢
    other.order(market_id, "buy", "yes", 1)
    expect(page.locator("[data-pos-yes]")).to_have_text("0")
    expect(page.locator("#triggers")).to_contain_text("No exit orders in this market.")
    expect(page.locator("#trades tr").first).to_contain_text("72¢")
    expect(page.locator("#trades tr").first).to_contain_text("Sell YES")
    assert page.js_errors == []
    page.context.close()


def test_categorical_market_has_one_book_per_outcome(ui: Any, trader_factory: Any) -> None:
    market_id, slug = IPO_WINDOW
    maker = trader_factory("cat")
    maker.order(market_id, "buy", "no", 12, "0.67", outcome_index=1)  # ask 33¢
    page = ui.new_page()
    _open_market(page, slug)
    rows = page.locator("#outcome-rows tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#book")).to_contain_text("No asks")
    page.click("#outcome-rows button:has-text('H1 2027')")
    expect(page.locator("#chart-contract")).to_contain_text("H1 2027")
    expect(page.locator("#book tr.ask[data-price='330000']")).to_have_attribute("data-size", "12")
    expect(rows.nth(1)).to_contain_text("33¢")
    assert page.js_errors == []
    page.context.close()


def test_book_checksum_matches_the_server(ui: Any) -> None:
    page = ui.new_page()
    page.goto("/markets/" + CLARITY[1])
    page.wait_for_function("window.FT && FT.book")
    for text in ("|", "620000:6|", "440000:108,430000:174|460000:108"):
        assert page.evaluate("t => FT.book.crc32(t)", text) == zlib.crc32(text.encode())
    page.context.close()
