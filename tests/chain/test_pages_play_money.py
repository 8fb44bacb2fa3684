"""The Deposit and Withdraw pages in Chromium on a play-money exchange (real USDC off): no nav
links to them, and each says "Real USDC is off on this exchange" without asking the API anything
about funding (whose endpoints answer 404 funding_disabled): no failed request, no console
error, nothing wider than the viewport, no serious axe violation. No chain node is needed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, Server, launch, stop

CHROMIUM = "/usr/bin/chromium"
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
playwright_sync = pytest.importorskip("playwright.sync_api",
                                      reason="playwright is not installed (pip install playwright)")


@pytest.fixture(scope="module")
def play_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if os.environ.get("FORETELL_CHAIN_RPC_URL"):
        pytest.skip("FORETELL_CHAIN_RPC_URL is set in the environment: real USDC would be on")
    srv = launch(tmp_path_factory.mktemp("play") / "data", {})
    yield srv
    stop(srv)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _axe(page: Any) -> list[dict[str, Any]]:
    if not AXE_JS.is_file():
        return []
    page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1280, 375])
def test_deposit_and_withdraw_pages_say_real_usdc_is_off(play_server: Server, browser: Any,
                                                         width: int) -> None:
    base = play_server.base_url
    context = browser.new_context(viewport={"width": width, "height": 850}, base_url=base,
                                  bypass_csp=True)  # only so that axe-core can be injected
    page = context.new_page()
    page.set_default_timeout(10_000)
    failed: list[str] = []
    errors: list[str] = []
    funding: list[str] = []

    def response(r: Any) -> None:
        if r.status >= 400:
            failed.append(f"{r.status} {r.request.method} {r.url}")
        if "/funding/" in r.url:
            funding.append(r.url)

    page.on("response", response)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    expect = playwright_sync.expect

    def check(path: str) -> None:
        page.goto(path)
        off = page.locator("#funding-off")
        expect(off).to_be_visible()
        expect(off).to_contain_text("Real USDC is off on this exchange")
        expect(page.locator("#deposit-box, #withdraw-form")).to_have_count(0)
        expect(page.locator('nav a[href="/deposit"], nav a[href="/withdraw"]')).to_have_count(0)
        page.wait_for_timeout(300)  # any late request or error would show by now
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
        assert _axe(page) == [], path

    # Logged out, then logged in (the nav's links for members appear: not these two).
    for path in ("/deposit", "/withdraw"):
        check(path)
    page.goto("/signup")
    page.fill("#username", f"p{uuid.uuid4().hex[:10]}")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("html[data-auth=in]", state="attached")
    expect(page.locator('nav a[href="/portfolio"]')).to_have_count(1)
    for path in ("/deposit", "/withdraw"):
        check(path)
        expect(page.locator("html[data-auth=in]")).to_have_count(1)
    assert failed == [] and errors == [] and funding == [], (failed, errors, funding)
    context.close()
