"""Fixtures for the browser tests: a real server, Debian's Chromium, API clients, helpers.

The server is a separate uvicorn process on a free loopback port with its own temporary data
directory, the demo loaded and the market maker and the demo's liquidity pools off (so every
book starts empty and the tests decide every trade). It is built with `create_app` and wired
with `foretell.web.pages` exactly as the app factory wires it. Other traders are driven with
httpx against the public API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "foretell" / "web" / "static" / "vendor"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DEMO_PASSWORD = "foretell-demo"
WIDTHS = (1280, 375)

playwright_sync = pytest.importorskip("playwright.sync_api",
                                      reason="playwright is not installed (pip install playwright)")

_SERVER = """
import sys
from pathlib import Path

import uvicorn

from foretell.app import create_app
from foretell.config import Settings
from foretell.web import pages

app = create_app(Settings(data=Path(sys.argv[1]), port=int(sys.argv[2]), demo=True,
                          market_maker=False, demo_pools=False))
app.include_router(pages.router)
pages.mount_static(app)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _build_web() -> None:
    """Vendor files and axe-core come from the npm registry through scripts/build-web.sh."""
    if (VENDOR / "htmx.min.js").is_file() and AXE_JS.is_file():
        return
    if shutil.which("npm") is None:
        pytest.skip("npm is missing: cannot build the web vendor files")
    subprocess.run(["bash", str(ROOT / "scripts" / "build-web.sh")], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, timeout=300)


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    _build_web()
    data = tmp_path_factory.mktemp("foretell-web")
    port = free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(data / "var"), str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/api/v1/markets?limit=1", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.close()
            raise RuntimeError("server did not start:\n" + (data / "server.log").read_text())
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(base_url: str) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Trader:
    """Another account, driven through the public REST API with a session cookie."""

    def __init__(self, base_url: str, username: str, password: str = "password-1234",
                 signup: bool = True) -> None:
        self.client = httpx.Client(base_url=base_url + "/api/v1", timeout=10)
        path = "/auth/signup" if signup else "/auth/login"
        r = self.client.post(path, json={"username": username, "password": password})
        assert r.status_code in (200, 201), r.text
        self.id = r.json()["user"]["id"]
        self.client.headers["X-CSRF-Token"] = r.json()["csrf_token"]

    def order(self, market_id: int, side: str, outcome: str, size: int,
              price: str | None = None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"market_id": market_id, "side": side, "outcome": outcome,
                                "size": size, "type": "limit" if price else "market", **extra}
        if price:
            body["price"] = price
        r = self.client.post("/orders", json=body)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def close(self) -> None:
        self.client.close()


_counter = iter(range(1, 10_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid() % 10_000}-{next(_counter)}"


@pytest.fixture()
def trader_factory(base_url: str) -> Iterator[Any]:
    made: list[Trader] = []

    def make(prefix: str = "bot") -> Trader:
        t = Trader(base_url, unique(prefix))
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


def new_page(browser: Any, base_url: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=base_url,
                                  timezone_id="Europe/Berlin", locale="en-US",
                                  bypass_csp=True)  # only so that axe-core can be injected
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors  # checked by the tests: no uncaught script error on any page
    page.console_log = []  # printed by pytest when a test fails
    page.on("console", lambda m: (page.console_log.append(f"{m.type}: {m.text}"),
                                  print(f"[browser {m.type}] {m.text}")))
    return page


def sign_up(page: Any, username: str, password: str = "password-1234") -> None:
    page.goto("/signup")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#auth-form button[type=submit]")
    page.wait_for_url("**/")
    page.wait_for_selector("html[data-auth=in]", state="attached")


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#auth-form button[type=submit]")
    page.wait_for_url("**/")
    page.wait_for_selector("html[data-auth=in]", state="attached")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations (WCAG 2 A/AA rules) on the current page."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="session")
def ui(browser: Any, base_url: str) -> Any:
    """The page helpers, as one fixture (test modules cannot import conftest)."""
    import types

    return types.SimpleNamespace(
        new_page=lambda width=1280: new_page(browser, base_url, width),
        sign_up=sign_up, log_in=log_in, screenshot=screenshot, axe_violations=axe_violations,
        unique=unique, base_url=base_url, widths=WIDTHS, demo_password=DEMO_PASSWORD)
