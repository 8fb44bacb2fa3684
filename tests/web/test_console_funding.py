"""The console's Real USDC section. On a play-money exchange it says "Real USDC is off" and asks
the API nothing (no 404 in the console). With real USDC on (a local Ganache node, as in
tests/chain): the reserves with their ratio and shortfall flag, open alerts with a Resolve
button, and withdrawals above the approval limit with Approve and Reject."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _watch(page: Any) -> tuple[list[str], list[str], list[str]]:
    failed: list[str] = []
    errors: list[str] = []
    asked: list[str] = []

    def response(r: Any) -> None:
        if "/funding/" in r.url or r.url.endswith("/reserves"):
            asked.append(r.url)
        if r.status >= 400:
            failed.append(f"{r.status} {r.request.method} {r.url}")

    page.on("response", response)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return failed, errors, asked


@pytest.mark.parametrize("width", [1280, 375])
def test_play_money_console_says_real_usdc_is_off_without_asking(ui: Any, width: int) -> None:
    page = ui.new_page(width)
    failed, errors, asked = _watch(page)
    ui.log_in(page, "ops", ui.demo_password)
    page.goto("/console")
    section = page.locator("#funding")
    expect(section).to_be_visible()
    expect(section.locator("#funding-off")).to_contain_text("Real USDC is off")
    expect(page.locator("#accounts-table")).to_be_visible()  # the console has loaded
    expect(page.locator("#console-markets-table")).to_be_visible()
    page.wait_for_timeout(300)
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(SHOTS / f"console-funding-off-{width}.png"))
    assert asked == [] and failed == [] and errors == [], (asked, failed, errors)
    assert ui.axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    assert page.js_errors == [], page.js_errors
    page.context.close()


# -- with real USDC on a local node -------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    from foretell.chain.devnet import compile_contracts, missing_tools

    why = missing_tools()
    if why is not None:
        pytest.skip(f"no local EVM chain: {why}")
    from tests.chain.conftest import launch, make_chain, stop

    chain = make_chain(compile_contracts(), tmp_path_factory.mktemp("chain"))
    try:
        server = launch(tmp_path_factory.mktemp("exchange") / "data", chain.env())
        try:
            yield chain, server
        finally:
            stop(server)
    finally:
        chain.close()


def test_reserves_alerts_and_withdrawal_approval_with_real_usdc(
        chain_server: tuple[Any, Any], browser: Any) -> None:
    from tests.chain.conftest import CONFIRMATIONS, SUPERVISOR, USDC, wait_for

    chain, server = chain_server
    trader, _ = server.trader()
    address = trader.request("GET", "/funding/deposit-address")["address"]
    chain.pay(0, address, 12_000 * USDC)
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: trader.balance()["free"] == "12000.000000", what="deposit credited")
    wait_for(lambda: chain.balance(chain.hot_address) == 12_000 * USDC, what="swept")
    to = chain.address(chain.users[1])

    def withdraw(amount: str) -> int:
        return int(trader.request("POST", "/funding/withdrawals", body={
            "amount": amount, "address": to, "request_id": uuid.uuid4().hex})["id"])

    big, bigger = withdraw("5500"), withdraw("6000")  # both above the 5,000 approval limit

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=server.base_url, timezone_id="Europe/Berlin",
                                  locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda d: d.accept())
    failed, errors, _ = _watch(page)
    page.goto("/login")
    page.fill("#username", SUPERVISOR[0])
    page.fill("#password", SUPERVISOR[1])
    page.click("#auth-form button[type=submit]")
    page.wait_for_url("**/")
    page.goto("/console")
    section = page.locator("#funding")
    expect(section.locator("#reserves-state")).to_have_attribute("data-shortfall", "no")
    expect(section.locator("[data-held]")).to_have_text("$12,000.00")
    expect(section.locator("[data-owed]")).to_have_text("$12,000.00")
    expect(section.locator("[data-ratio]")).to_have_text("100.0%")
    expect(section.locator("#no-alerts")).to_be_visible()
    rows = section.locator("#pending-withdrawals-table tbody tr")
    expect(rows).to_have_count(2)
    expect(section.locator(f"tr[data-withdrawal='{big}']")).to_contain_text("$5,500.00")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        section.screenshot(path=str(SHOTS / f"console-funding-on-{width}.png"))
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0, width
    page.set_viewport_size({"width": 1280, "height": 900})

    # Reject one (a reason is required), approve the other: it is sent on chain.
    row = section.locator(f"tr[data-withdrawal='{bigger}']")
    row.locator("[name=reason]").fill("address not on file")
    row.locator("button[value=reject]").click()
    expect(row).to_have_count(0)
    section.locator(f"tr[data-withdrawal='{big}'] button[value=approve]").click()
    expect(section.locator("#no-pending-withdrawals")).to_be_visible()
    assert trader.request("GET", f"/funding/withdrawals/{bigger}")["status"] in (
        "rejected", "refunded")
    # Sent, not just signed: blocks mined before the broadcast would not confirm it (the
    # race a loaded machine lost: the transaction went into a block after the test's).
    wait_for(lambda: trader.request("GET", f"/funding/withdrawals/{big}")["status"]
             == "broadcast", what="approved withdrawal sent")
    chain.net.mine(CONFIRMATIONS)
    wait_for(lambda: trader.request("GET", f"/funding/withdrawals/{big}")["status"]
             == "confirmed", what="confirmed")

    # Someone with the hot key takes USDC out: a shortfall, an alert that cannot be resolved
    # while short, then resolved once topped up.
    chain.token(chain.hot, "transfer", chain.address(chain.users[2]), 100 * USDC)
    page.locator("#funding-refresh").click()
    expect(section.locator("#reserves-state")).to_have_attribute("data-shortfall", "yes")
    expect(section.locator("#reserves-state")).to_contain_text("halted")
    alert = section.locator("#alerts-table tbody tr", has_text="reserves shortfall")
    expect(alert).to_have_count(1)
    section.screenshot(path=str(SHOTS / "console-funding-shortfall-1280.png"))
    alert.locator("button[data-resolve]").click()
    expect(section.locator("#funding-error")).to_contain_text("still short")
    chain.token(chain.users[2], "transfer", chain.hot_address, 100 * USDC)
    alert.locator("button[data-resolve]").click()
    expect(section.locator("#reserves-state")).to_have_attribute("data-shortfall", "no")
    expect(section.locator("#alerts-table tbody tr", has_text="reserves shortfall")).to_have_count(0)

    assert errors == [] or all("409" in e for e in errors), errors
    assert [f for f in failed if "/resolve" not in f] == [], failed
    context.close()
