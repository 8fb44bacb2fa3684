"""The web UI moves to another gateway by itself when its own dies (issue 15's "Done when").

A real cluster (the shared NATS server at 127.0.0.1:4222 with names of this run's own, a fresh
PostgreSQL database, two engine replicas, a projector, gateways g1 and g2) and Debian's
Chromium: a trader's market page on g1, then g1 gets SIGKILL. The page shows its notice, moves
to the same address on g2, is still logged in there, its WebSocket is live and its book takes
an order placed afterwards. While the notice is up the test holds g2's answer back (so the
notice can be photographed at 1280 and 375 px and the "no other server answers yet" path
runs), then lets it through. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cluster import checks

from foretell.bench.cluster_run import (
    ROOT,
    SHARED_NATS_HINT,
    SUPERVISOR,
    Run,
    health,
    shared_nats_up,
)
from foretell.client import Client

pytestmark = checks.NEEDS_CLUSTER
playwright_sync = pytest.importorskip("playwright.sync_api",
                                      reason="playwright is not installed (pip install playwright)")
expect = playwright_sync.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VENDOR = ROOT / "src" / "foretell" / "web" / "static" / "vendor" / "htmx.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "trader-password-1"
NOTICE = "Connection lost, moving to another server"


@pytest.fixture()
def run(tmp_path: Path) -> Iterator[Run]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if not VENDOR.is_file():
        pytest.skip("the web vendor files are missing: run scripts/build-web.sh")
    if not shared_nats_up():
        pytest.skip(SHARED_NATS_HINT)
    r = Run(tmp_path, replicas=1)
    try:
        r.start_all()
        yield r
    finally:
        r.close()


def _shot(page: Any, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=full_page)


def test_page_moves_to_a_live_gateway_logged_in_and_live(run: Run) -> None:
    try:
        _moves(run)
    except BaseException:
        print(run.logs())
        raise


def _moves(run: Run) -> None:
    g1, g2 = run.procs["g1"].base_url, run.procs["g2"].base_url
    admin = Client([g1, g2])
    admin.login(*SUPERVISOR)
    slug = f"m-{uuid.uuid4().hex[:10]}"
    market = admin.admin_create_market(slug=slug, question="Will the page find another gateway?")
    username = f"web-{uuid.uuid4().hex[:6]}"
    trader = Client([g1, g2])
    trader.signup(username, PASSWORD)
    maker = Client([g2])
    maker_id = maker.signup(f"mk-{uuid.uuid4().hex[:6]}", PASSWORD)["user"]["id"]
    admin.admin_credit(maker_id, "1000", "test funding")
    for client in (admin, trader):
        client.close()
    # Each gateway knows both (announced in the cluster's gateway bucket).
    for base in (g1, g2):
        assert httpx.get(base + "/api/v1/gateways").json() == {"self": base,
                                                                "gateways": sorted([g1, g2])}
    assert health(run.procs["g2"])["cluster"]["gateways"] == sorted([g1, g2])

    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          timezone_id="Europe/Berlin", locale="en-US")
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: print(f"[browser {m.type}] {m.text}"))

            # Logged in on g1, on the market's page, its book live.
            page.goto(g1 + "/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("#auth-form button[type=submit]")
            page.wait_for_selector("html[data-auth=in]", state="attached")
            path = f"/markets/{slug}"
            page.goto(g1 + path)
            _live(page, username)
            listed = (page.get_attribute("html", "data-gateways") or "").split()
            assert sorted(listed) == sorted([g1, g2])

            # g2 does not answer the page for now; g1 dies.
            held = g2 + "/api/v1/time"
            context.route(held, lambda route: route.abort())
            run.procs["g1"].kill()
            notice = page.locator("#failover-notice")
            expect(notice).to_contain_text(NOTICE)
            assert page.url == g1 + path
            # The notice speaks alone: the page's own network-error boxes are hidden meanwhile.
            assert page.locator("[data-error]:visible").count() == 0
            _shot(page, "cluster-failover-notice")
            page.set_viewport_size({"width": 375, "height": 800})
            expect(notice).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
            _shot(page, "cluster-failover-notice")
            # g2 answers again: the page moves there, same address, still logged in, live.
            context.unroute(held)
            page.wait_for_url(g2 + path, timeout=20_000)
            _live(page, username)
            expect(page.locator("#failover-notice")).to_have_count(0)
            # The book takes an order placed after the move, through the WebSocket.
            maker.place_order(market_id=market["id"], outcome="yes", side="buy", price="0.37",
                              size=3)
            expect(page.locator('#book tr.bid[data-price="370000"]')).to_be_visible()
            _shot(page, "cluster-failover-moved", full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.wait_for_timeout(150)  # one layout pass and the chart's resize
            _shot(page, "cluster-failover-moved", full_page=True)
            assert errors == [], errors
        finally:
            maker.close()
            browser.close()


def _live(page: Any, username: str) -> None:
    """Logged in as `username`, the market drawn, the book synced, the WebSocket live."""
    expect(page.locator("html")).to_have_attribute("data-auth", "in")
    expect(page.locator("#nav-user")).to_have_text(username)
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#book")).to_have_attribute("data-synced", "true")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
