"""The Deposit and Withdraw pages in Chromium against the local node: the address and its QR
code, a deposit pending then credited, a withdrawal refused with a clear message, then sent and
followed to confirmed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import CONFIRMATIONS, PASSWORD, USDC, Chain, Server

CHROMIUM = "/usr/bin/chromium"
playwright_sync = pytest.importorskip("playwright.sync_api",
                                      reason="playwright is not installed (pip install playwright)")


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        pg = browser.new_page()
        yield pg
        browser.close()


def test_deposit_and_withdraw_pages(chain: Chain, server: Server, page: Any) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    page.goto(server.base_url + "/signup")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/signup" not in url)
    page.goto(server.base_url + "/deposit")
    playwright_sync.expect(page.locator("#deposit-box")).to_be_visible(timeout=10_000)
    # Real USDC is on: the nav links to both pages.
    playwright_sync.expect(page.locator('nav a[href="/deposit"], nav a[href="/withdraw"]')
                           ).to_have_count(2)
    address = page.locator("#deposit-address").inner_text()
    assert address.startswith("0x") and len(address) == 42
    qr = page.locator("#deposit-qr")
    playwright_sync.expect(qr).to_have_attribute("src", "/api/v1/funding/deposit-address.svg")
    # Loaded and decoded (waiting for it: the src is set just before the image arrives).
    page.wait_for_function("(() => { const i = document.getElementById('deposit-qr'); "
                           "return i.complete && i.naturalWidth > 0; })()", timeout=10_000)
    chain.pay(0, address, 12 * USDC)
    status = page.locator("#deposits [data-status]").first
    playwright_sync.expect(status).to_have_text("pending", timeout=10_000)
    chain.net.mine(CONFIRMATIONS)
    playwright_sync.expect(status).to_have_text("credited", timeout=10_000)

    page.goto(server.base_url + "/withdraw")
    to = chain.address(chain.users[1])
    page.fill("#wd-amount", "1,5")  # said on the page, before asking the (strict) API
    page.fill("#wd-address", to)
    page.click("#withdraw-form button[type=submit]")
    playwright_sync.expect(page.locator("#wd-error")).to_contain_text("as digits")
    page.fill("#wd-amount", "50")
    page.fill("#wd-address", to)
    page.click("#withdraw-form button[type=submit]")
    playwright_sync.expect(page.locator("#wd-error")).to_contain_text("Free cash")
    page.fill("#wd-amount", "5")
    page.fill("#wd-address", to)
    page.click("#withdraw-form button[type=submit]")
    w = page.locator("#withdrawals [data-status]").first
    playwright_sync.expect(w).to_have_text("broadcast", timeout=10_000)
    chain.net.mine(CONFIRMATIONS)
    playwright_sync.expect(w).to_have_text("confirmed", timeout=10_000)
