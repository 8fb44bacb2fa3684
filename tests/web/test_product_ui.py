"""The product as a new user meets it, at 1280x800 and 375x812: probability first, dollars and
cents, one-tap buying, the portfolio summary, the market and news pages, the 404 page.

Every page checked here must: fit the viewport (nothing wider than it, no table cell or button
cut off), log no console error, make no failed (4xx/5xx) request, and pass axe. Screenshots go to
test-artifacts/screenshots/ (not committed).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

VIEWPORTS = ((1280, 800), (375, 812))
PROFITABLE = (5, "anthropic-profitable-fy2028")
RUN_RATE = (6, "anthropic-run-rate-50b-by-jun-2027")
FIRST_CLOSE = (4, "anthropic-first-close-above-500b")

_LAYOUT = """() => {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ' "' + (el.innerText || el.value || '').trim().slice(0, 30) + '"';
  if (document.documentElement.scrollWidth > vw) {
    problems.push('page is ' + document.documentElement.scrollWidth + 'px wide in a ' + vw + 'px viewport');
  }
  const els = document.querySelectorAll('main td, main th, main button, main a.btn, main .table-wrap, main input:not([type=radio]):not([type=checkbox]), main select, header button, header a');
  for (const el of els) {
    if (el.closest('#chart, .visually-hidden, [hidden]')) continue;
    const head = el.closest('thead');  // a table shown as cards keeps its header for screen readers only
    if (head && head.getBoundingClientRect().width <= 1) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (r.left < -1 || r.right > vw + 1) problems.push(name(el) + ' sticks out of the viewport');
    if (el.matches('.table-wrap') && el.scrollWidth > el.clientWidth + 1) problems.push(name(el) + ' scrolls sideways');
    if (el.matches('td, th, button, a.btn') && el.scrollWidth > el.clientWidth + 1) problems.push(name(el) + ' is cut off');
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (r.right > ar.right + 1 || r.left < ar.left - 1) { problems.push(name(el) + ' is clipped by ' + name(a)); break; }
    }
  }
  return problems.slice(0, 15);
}"""


class Watch:
    """A page that records console errors, script errors and failed requests."""

    def __init__(self, ui: Any, width: int, height: int) -> None:
        self.page = ui.new_page(width)
        self.page.set_viewport_size({"width": width, "height": height})
        self.ui = ui
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.allowed_status: dict[str, int] = {}
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("response", self._response)

    def _response(self, r: Any) -> None:
        if r.status >= 400 and self.allowed_status.get(r.url) != r.status:
            self.failed.append(f"{r.status} {r.request.method} {r.url}")

    @property
    def width(self) -> int:
        return int(self.page.viewport_size["width"])

    def check(self, name: str) -> None:
        """Layout, console, requests and axe on the page as it is now; and a screenshot."""
        page = self.page
        page.wait_for_function("!document.querySelector('main').innerText.includes('Loading')")
        page.wait_for_timeout(200)
        self.ui.screenshot(page, name)
        problems = page.evaluate(_LAYOUT)
        assert problems == [], f"{name} at {self.width}px: {problems}"
        assert self.errors == [], f"{name} at {self.width}px: console errors {self.errors}"
        assert self.failed == [], f"{name} at {self.width}px: failed requests {self.failed}"
        assert page.js_errors == [], f"{name} at {self.width}px: {page.js_errors}"
        violations = self.ui.axe_violations(page)
        assert violations == [], f"{name} at {self.width}px: {violations}"

    def in_first_viewport(self, selector: str) -> None:
        box = self.page.locator(selector).bounding_box()
        assert box is not None, selector
        height = self.page.viewport_size["height"]
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, \
            f"{selector} is at y={box['y']:.0f}..{box['y'] + box['height']:.0f}, not inside {height}px"

    def close(self) -> None:
        self.page.context.close()


def _open_market(w: Watch, slug: str) -> None:
    w.page.goto(f"/markets/{slug}")
    expect(w.page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(w.page.locator("#book")).to_have_attribute("data-synced", "true")


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_new_trader_buys_in_one_tap_sees_pnl_and_sells_back(ui: Any, trader_factory: Any,
                                                             width: int, height: int) -> None:
    market_id, slug = PROFITABLE if width > 400 else RUN_RATE
    maker = trader_factory("liq")
    maker.order(market_id, "buy", "no", 400, "0.73")   # YES offered at 27¢
    maker.order(market_id, "buy", "yes", 400, "0.25")  # YES bid at 25¢ (No offered at 75¢)
    w = Watch(ui, width, height)
    page = w.page
    ui.sign_up(page, ui.unique("newbie"))

    # Home: markets with their chance, one request for the whole list.
    list_requests: list[str] = []
    page.on("request", lambda r: list_requests.append(r.url) if "/api/v1/" in r.url else None)
    page.goto("/")
    card = page.locator(f".market-card[data-market-id='{market_id}']")
    expect(card.locator("[data-chance]")).to_have_text("26%")
    expect(card).to_contain_text("Yes 27¢")
    expect(card).to_contain_text("No 75¢")
    assert not [u for u in list_requests if "/ticker" in u or re.search(r"/markets/\d+$", u)]
    assert [u for u in list_requests if "/news" in u], "the home page shows the latest news"
    w.check("flow-home")

    # Market page: the chance first, a line chart, the quick ticket above the fold.
    card.locator("a").first.click()
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#book")).to_have_attribute("data-synced", "true")
    expect(page.locator("#m-chance")).to_have_text("26%")
    expect(page.locator("#chart")).to_have_attribute("data-kind", "line")
    expect(page.locator("[data-quick-price=yes]")).to_have_text("27¢")
    expect(page.locator("[data-quick-price=no]")).to_have_text("75¢")
    page.fill("#quick-amount", "")
    page.fill("#quick-amount", "27")
    quote = page.locator("#quick-quote")
    expect(quote).to_contain_text("Shares")
    expect(quote).to_contain_text("100")        # $27 at 27¢ (and a small fee): 99 or 100 shares
    expect(quote).to_contain_text("27¢")
    expect(quote).to_contain_text("Max profit")
    text = quote.inner_text()
    amounts = re.findall(r"[−+]?\$[\d,]+(?:\.\d+)?", text)
    assert amounts and all(re.fullmatch(r"[−+]?\$[\d,]+\.\d\d", a) for a in amounts), text
    w.in_first_viewport("#quick-submit")
    w.in_first_viewport("#m-chance")
    w.check(f"flow-market-{slug}")

    page.click("#quick-submit")
    expect(page.locator("#quick-status")).to_contain_text("Bought")
    expect(page.locator("#quick-status")).to_contain_text("Yes shares at 27¢ average")
    position = page.locator("#position .position-card")
    expect(position).to_be_visible()
    shares = int(page.locator("[data-pos-yes]").inner_text().replace(",", ""))
    assert 95 <= shares <= 100
    expect(page.locator("[data-pos-pnl]")).to_contain_text("−$")   # valued at 25¢ after buying at 27¢
    expect(page.locator("#nav-balance [data-free]")).to_have_text(re.compile(r"^\$9,97\d\.\d\d$"))
    w.check(f"flow-market-position-{slug}")

    # Portfolio: the summary, the open position.
    page.goto("/portfolio")
    expect(page.locator("#summary")).to_have_attribute("data-ready", "true")
    expect(page.locator("#positions-table tbody tr")).to_have_count(1)
    expect(page.locator("#positions-table")).to_contain_text(f"{shares} Yes")
    expect(page.locator("#sum-total")).to_have_text(re.compile(r"^\$9,99\d\.\d\d$"))
    expect(page.locator("#sum-unrealized")).to_have_text(re.compile(r"^−\$\d\.\d\d$"))
    w.check("flow-portfolio-open")

    # Sell it back from the market page.
    _open_market(w, slug)
    page.click("[data-sell-back=yes]")
    expect(page.locator("[data-pos-yes]")).to_have_text("0")
    expect(page.locator("#quick-status")).to_contain_text("Sold")

    page.goto("/portfolio")
    expect(page.locator("#summary")).to_have_attribute("data-ready", "true")
    expect(page.locator("#positions")).to_contain_text("No open positions")
    expect(page.locator("#closed-table tbody tr")).to_have_count(1)
    expect(page.locator("#sum-realized")).to_have_text(re.compile(r"^−\$\d\.\d\d$"))
    page.click(".history-tabs label:has-text('Fills')")
    expect(page.locator("#fills-table tbody tr")).to_have_count(2)
    w.check("flow-portfolio-closed")
    height_px = page.evaluate("document.documentElement.scrollHeight")
    assert height_px < 4000, f"the portfolio is {height_px}px tall"
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_advanced_ticket_with_take_profit_and_stop_loss_is_remembered(
        ui: Any, trader_factory: Any, width: int, height: int) -> None:
    market_id, slug = FIRST_CLOSE
    maker = trader_factory("adv")
    maker.order(market_id, "buy", "no", 50, "0.60")  # YES offered at 40¢
    w = Watch(ui, width, height)
    page = w.page
    ui.sign_up(page, ui.unique("pro"))
    _open_market(w, slug)
    expect(page.locator("#ticket")).to_be_hidden()
    page.click("label.switch")
    expect(page.locator("#ticket")).to_be_visible()
    expect(page.locator("#quick")).to_be_hidden()
    page.click("#ticket label:has-text('Market')")
    page.fill("#t-amount", "5")
    page.click("#exits summary")
    page.fill("#t-tp", "60")
    page.fill("#t-sl", "20")
    expect(page.locator("#quote")).to_contain_text("40¢")
    w.check(f"advanced-ticket-{slug}")
    page.click("#ticket-submit")
    expect(page.locator("#ticket-status")).to_contain_text("filled 5 at 40¢")
    expect(page.locator("#triggers-table tbody tr")).to_have_count(2)
    expect(page.locator("#triggers-table")).to_contain_text("Take-profit")
    expect(page.locator("#triggers-table")).to_contain_text("Stop-loss")
    w.check(f"advanced-exits-{slug}")

    page.reload()
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#ticket")).to_be_visible()  # remembered (localStorage)
    page.click("label.switch")
    page.reload()
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#quick")).to_be_visible()
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_open_orders_and_trades_are_never_cut_off(ui: Any, trader_factory: Any, width: int,
                                                  height: int) -> None:
    market_id, slug = FIRST_CLOSE
    a, b = trader_factory("tape-a"), trader_factory("tape-b")
    a.order(market_id, "buy", "no", 3, "0.55")
    b.order(market_id, "buy", "yes", 3)
    w = Watch(ui, width, height)
    page = w.page
    ui.sign_up(page, ui.unique("orders"))
    _open_market(w, slug)
    page.click("label.switch")
    page.fill("#t-price", "12")
    page.fill("#t-amount", "4")
    page.click("#ticket-submit")
    expect(page.locator("#open-orders-table [data-cancel]")).to_be_visible()
    expect(page.locator("#trades tr").first).to_contain_text("Buy")
    w.check(f"orders-and-trades-{slug}")
    page.click("#open-orders-table [data-cancel]")
    expect(page.locator("#open-orders")).to_contain_text("No open orders")
    page.evaluate("localStorage.clear()")
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_anonymous_pages_make_no_failed_request(ui: Any, width: int, height: int) -> None:
    w = Watch(ui, width, height)
    page = w.page
    for path, ready in (("/", "#market-list .market-card"), ("/markets", "#market-list .market-card"),
                        ("/news", "#news-results .news-item"),
                        ("/markets/" + PROFITABLE[1], "#market[data-ready=true]")):
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        expect(page.locator("html")).to_have_attribute("data-auth", "out")
        w.check("guest-" + (path.strip("/").replace("/", "-") or "home"))
    # A guest sees an estimate and a way in, not a 401.
    page.goto("/markets/" + PROFITABLE[1])
    expect(page.locator("#market")).to_have_attribute("data-ready", "true")
    expect(page.locator("#quick a.btn:has-text('Sign up to trade')")).to_be_visible()
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_markets_page_filters_and_sorts(ui: Any, width: int, height: int) -> None:
    w = Watch(ui, width, height)
    page = w.page
    page.goto("/markets")
    cards = page.locator("#market-list .market-card")
    expect(cards.first).to_be_visible()
    total = cards.count()
    assert total >= 6
    page.check("#category-tabs input[value='Capital Markets']", force=True)
    page.wait_for_function("""() => {
        const chips = [...document.querySelectorAll('#market-list .card-head .chip')];
        return chips.length > 0 && chips.every(c => c.textContent === 'Capital Markets');
    }""")
    page.check("#category-tabs input[value='']", force=True)
    expect(cards).to_have_count(total)
    page.select_option("#market-status", "settled")
    page.wait_for_function("""() => {
        const feet = [...document.querySelectorAll('#market-list .card-foot')];
        return feet.length > 0 && feet.every(f => f.textContent.includes('Settled'));
    }""")
    page.select_option("#market-status", "open")
    expect(cards).to_have_count(total)
    page.select_option("#market-closing", "365")
    expect(page.locator("#market-count")).not_to_have_text(f"{total} markets")
    page.select_option("#market-closing", "")
    page.select_option("#market-sort", "closing")
    expect(cards).to_have_count(total)
    page.wait_for_function("""() => {
        const t = [...document.querySelectorAll('#market-list .card-foot time')]
            .map(e => Date.parse(e.getAttribute('datetime')));
        return t.length > 1 && t.every((v, i) => i === 0 || t[i - 1] <= v);
    }""")
    page.select_option("#market-volume", "10000")  # no demo market has traded $10,000
    expect(page.locator("#market-list")).to_contain_text("No market matches these filters.")
    page.select_option("#market-volume", "")
    expect(cards).to_have_count(total)
    w.check("markets")
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_news_search_item_page_and_no_dead_links(ui: Any, width: int, height: int) -> None:
    w = Watch(ui, width, height)
    page = w.page
    page.goto("/news")
    items = page.locator("#news-results .news-item")
    expect(items.first).to_be_visible()
    everything = items.count()
    page.fill("#news-q", "CLARITY")
    expect(page.locator("#news-count")).not_to_have_text(re.compile(rf"^{everything}\+? items$"))
    for title in items.locator("h3").all_inner_texts()[:3]:
        assert title
    expect(items.first).to_be_visible()
    page.fill("#news-q", "zzzz-no-such-words")
    expect(page.locator("#news-none")).to_be_visible()
    page.fill("#news-q", "")
    expect(items.first).to_be_visible()
    page.select_option("#news-market", "9")
    expect(items.first).to_be_visible()
    w.check("news")
    hrefs = page.locator("main a[href]").evaluate_all("els => els.map(e => e.href)")
    assert all(h.startswith(ui.base_url) for h in hrefs), [h for h in hrefs if not h.startswith(ui.base_url)]

    items.first.locator("h3 a").click()
    expect(page).to_have_url(re.compile(r"/news/\d+$"))
    expect(page.locator("#news-headline")).not_to_have_text("Loading…")
    expect(page.locator("#news-markets .market-card").first).to_be_visible()
    hrefs = page.locator("main a[href]").evaluate_all("els => els.map(e => e.href)")
    assert not [h for h in hrefs if ".local/" in h or "example." in h], hrefs
    w.check("news-item")
    w.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_unknown_page_is_an_html_404(ui: Any, width: int, height: int) -> None:
    w = Watch(ui, width, height)
    page = w.page
    url = ui.base_url + "/no-such-page/here"
    w.allowed_status[url] = 404
    response = page.goto("/no-such-page/here")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("main a[href='/markets']")).to_be_visible()
    w.errors.clear()  # the browser logs the 404 of the document itself
    w.check("not-found")
    api = page.request.get("/api/v1/no-such-thing")
    assert api.status == 404 and api.headers["content-type"].startswith("application/json")
    w.close()


def test_market_list_carries_prices_bid_ask_and_change(base_url: str,
                                                       trader_factory: Any) -> None:
    """GET /api/v1/markets: every contract with its last price, best bid and ask and 24 h
    change, and the dollar volume, so a list page needs one request (fields only added)."""
    import httpx

    market_id = 2
    maker, taker = trader_factory("list-mk"), trader_factory("list-tk")
    maker.order(market_id, "buy", "no", 10, "0.58")   # YES ask 42¢
    maker.order(market_id, "buy", "yes", 10, "0.38")  # YES bid 38¢
    taker.order(market_id, "buy", "yes", 2)           # trades 2 at 42¢
    import time

    deadline = time.monotonic() + 10
    while True:  # the list is read from the projected tables: wait for the trade to land
        data = httpx.get(base_url + "/api/v1/markets?limit=200", timeout=10).json()
        market = next(m for m in data["markets"] if m["id"] == market_id)
        # (an earlier test may have traded this market: wait for this test's own trade)
        if market["contracts"][0]["last_price"] == "0.42" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {"id", "slug", "question", "status", "volume_shares"} <= set(market)  # as before
    (contract,) = market["contracts"]
    assert contract["best_bid"] == "0.38" and contract["last_price"] == "0.42"
    assert contract["best_ask"] is not None
    assert "change" in contract and "prev_day_price" in contract
    assert contract["volume_shares"] >= 2
    assert float(market["volume"]) >= 0.84  # the taker paid 2 x 42¢
    detail = httpx.get(base_url + f"/api/v1/markets/{market_id}", timeout=10).json()
    assert detail["volume"] == market["volume"]
    assert "change" in detail["contracts"][0]
