"""Every page at 1280 px and 375 px: screenshots into test-artifacts/screenshots/, no serious
or critical axe-core violation, no script error; plus the account and console forms."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

LOGGED_OUT = ("/login", "/signup", "/markets", "/news")
TRADER = ("/", "/markets/anthropic-ipo-by-jun-2027", "/markets/anthropic-ipo-pricing-window",
          "/markets/anthropic-round-900b-by-may-2026", "/portfolio", "/account")
SUPERVISOR = ("/console",)


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


def _settle(page: Any, path: str) -> None:
    """Wait until the page has drawn what the API sent (no "Loading…" left)."""
    if path.startswith("/markets/"):
        expect(page.locator("#market")).to_have_attribute("data-ready", "true")
        expect(page.locator("#book")).to_have_attribute("data-synced", "true")
    elif path == "/":
        expect(page.locator("#market-list .market-card").first).to_be_visible()
        expect(page.locator("#market-list .card-prices .loading")).to_have_count(0)
    elif path == "/console":
        expect(page.locator("#accounts-table")).to_be_visible()
    page.wait_for_function("!document.body.innerText.includes('Loading')")


def _check(ui: Any, page: Any, path: str, role: str, found: dict[str, list[Any]]) -> None:
    width = page.viewport_size["width"]
    ui.screenshot(page, f"{_name(path)}-{role}")
    violations = ui.axe_violations(page)
    if violations:
        found[f"{path} at {width}px"] = violations
    assert page.js_errors == [], (path, page.js_errors)
    if width < 400:
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at {width}px by {overflow}px"


def _visit_all(ui: Any, pages: tuple[str, ...], role: str, login: tuple[str, str] | None,
               found: dict[str, list[Any]]) -> None:
    wide, narrow = ui.widths
    page = ui.new_page(wide)
    if login:
        ui.log_in(page, *login)
    for path in pages:
        page.set_viewport_size({"width": wide, "height": 900})
        page.goto(path)
        _settle(page, path)
        _check(ui, page, path, role, found)
        page.set_viewport_size({"width": narrow, "height": 800})
        page.wait_for_timeout(150)  # one layout pass and the chart's resize
        _check(ui, page, path, role, found)
    page.context.close()


def test_every_page_screenshot_and_accessibility(ui: Any, trader_factory: Any) -> None:
    # A trader with a position, an open order and a fill, so the portfolio has rows.
    maker = trader_factory("pf-maker")
    maker.order(2, "buy", "no", 30, "0.55")  # a YES ask at 45¢
    trader = trader_factory("pf")
    trader.order(2, "buy", "yes", 12)
    trader.order(2, "buy", "yes", 5, "0.30")
    username = trader.client.get("/account").json()["username"]

    found: dict[str, list[Any]] = {}
    _visit_all(ui, ("/",) + LOGGED_OUT, "guest", None, found)
    _visit_all(ui, TRADER, "trader", (username, "password-1234"), found)
    _visit_all(ui, SUPERVISOR, "supervisor", ("ops", ui.demo_password), found)
    assert not found, "serious/critical axe violations: " + repr(found)


def test_api_key_created_shown_once_and_revoked(ui: Any) -> None:
    page = ui.new_page()
    ui.sign_up(page, ui.unique("keys"))
    page.goto("/account")
    page.fill("#key-label", "my bot")
    page.check("#key-form input[value=trade]")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#new-key")).to_be_visible()
    secret = page.locator("#new-key-secret").inner_text()
    assert len(secret) > 20
    row = page.locator("#keys-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("read, trade")
    page.click("#hide-secret")
    expect(page.locator("#new-key")).to_be_hidden()
    assert secret not in page.content()

    page.once("dialog", lambda d: d.accept())
    row.locator("button:has-text('Revoke')").click()
    expect(row).to_contain_text("Revoked")
    assert page.js_errors == []
    page.context.close()


def test_console_credits_an_account_and_halts_a_market(ui: Any, trader_factory: Any) -> None:
    target = trader_factory("credited")
    page = ui.new_page()
    ui.log_in(page, "ops", ui.demo_password)
    page.goto("/console")
    expect(page.locator(f"#accounts-table tr[data-account='{target.id}']")).to_be_visible()
    page.select_option("#credit-account", str(target.id))
    page.fill("#credit-amount", "250")
    page.fill("#credit-reason", "")
    page.click("#credit-form button[type=submit]")
    expect(page.locator("#credit-form [data-error]")).to_be_visible()  # the API refuses no reason
    page.fill("#credit-reason", "conference prize")
    page.click("#credit-form button[type=submit]")
    expect(page.locator(f"#accounts-table tr[data-account='{target.id}']")).to_contain_text("$10,250.00")

    form = page.locator("form.market-action[data-market='4']")
    form.locator("select[name=action]").select_option("halted")
    form.locator("input[name=reason]").fill("news pending")
    form.locator("button[type=submit]").click()
    row = page.locator("#console-markets-table tr[data-market='4']")
    expect(row).to_contain_text("halted")
    row.locator("select[name=action]").select_option("open")
    row.locator("input[name=reason]").fill("news out")
    row.locator("button[type=submit]").click()
    expect(row.locator(".badge")).to_have_text("open")
    assert page.js_errors == []
    page.context.close()


def test_api_docs_render_from_this_server_only(browser: Any, ui: Any, base_url: str) -> None:
    """/docs is Swagger UI from our own static files, under the pages' Content-Security-Policy
    (enforced here, unlike in `ui.new_page`): nothing from another host, nothing refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url)
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    response = page.goto("/docs")
    assert response is not None and "script-src 'self'" in response.headers[
        "content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Foretell", timeout=15_000)
    expect(page.locator(".opblock-summary-path[data-path='/api/v1/orders']").first) \
        .to_be_visible(timeout=15_000)
    assert problems == []
    foreign = [u for u in requested if not u.startswith(base_url) and not u.startswith("data:")]
    assert foreign == []
    assert any(u.endswith("/static/vendor/swagger-ui-bundle.js") for u in requested)
    ui.screenshot(page, "api-docs")
    context.close()
