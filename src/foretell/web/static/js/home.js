/* Home: the market list (htmx renders GET /api/v1/markets with the filters) and the news
 * column (shown only when GET /api/v1/news answers). */
(function () {
  "use strict";
  const { html, fmt } = FT;

  function changeCell(change) {
    if (change === null || change === undefined) return html`<span class="muted" title="No trade before the last 24 hours">—</span>`;
    const cls = change > 0 ? "up" : change < 0 ? "down" : "flat";
    return html`<span class="${cls}">${fmt.change(change)}</span>`;
  }

  function outcomeLine(c) {
    return html`<li><span class="outcome-name">${c.name}</span>
      <span class="num">${fmt.price(c.last_price)}</span> ${changeCell(c.change_micro)}</li>`;
  }

  /** The price part of a card: needs the market's contracts and their tickers. */
  function pricesHtml(m) {
    if (!m.contracts.length) return html`<p class="muted small loading">Loading prices…</p>`;
    if (m.kind === "binary") {
      const c = m.contracts[0];
      return html`<dl class="card-stats">
        <div><dt>Yes</dt><dd class="num big" data-last>${fmt.price(c.last_price)}</dd></div>
        <div><dt>24h</dt><dd class="num">${changeCell(c.change_micro)}</dd></div>
        <div><dt>Volume</dt><dd class="num">${fmt.shares(m.volume)}<span class="unit"> sh</span></dd></div>
      </dl>`;
    }
    const top = m.contracts.slice().sort((a, b) => (FT.units.priceMicro(b.last_price) || 0) - (FT.units.priceMicro(a.last_price) || 0));
    return html`<ul class="card-outcomes" aria-label="Outcomes">${top.slice(0, 4).map(outcomeLine)}</ul>
      <dl class="card-stats"><div><dt>Volume</dt><dd class="num">${fmt.shares(m.volume)}<span class="unit"> sh</span></dd></div></dl>`;
  }

  function marketCard(raw) {
    const m = FT.market.normalize(raw);
    return html`<article class="market-card" data-market-id="${m.id}">
      <div class="card-head">
        <span class="chip">${m.category || "General"}</span>
        ${FT.market.statusBadge(m.status)}
      </div>
      <h2 class="card-title"><a href="/markets/${m.slug || m.id}">${m.question}</a></h2>
      <div class="card-prices">${pricesHtml(m)}</div>
      <p class="card-foot muted">${m.status === "settled" ? "Settled" : "Closes"} ${FT.timeTag(m.status === "settled" ? m.updated_ms : m.close_ms)}</p>
    </article>`;
  }

  FT.renderers.markets = function (data) {
    const markets = (data && data.markets) || [];
    if (!markets.length) return html`<p class="muted">No market matches these filters.</p>`;
    return html`${markets.map(marketCard)}`;
  };

  // The list endpoint has no prices: each card fetches its contracts and their tickers.
  const detailCache = new Map();
  async function marketWithPrices(id) {
    if (detailCache.has(id)) return detailCache.get(id);
    const promise = (async () => {
      const raw = await FT.api.get(`/markets/${id}`);
      const tickers = await Promise.all((raw.contracts || []).map((c) =>
        FT.api.get(`/contracts/${c.id}/ticker`).catch(() => null)));
      raw.contracts = (raw.contracts || []).map((c, i) => Object.assign({}, c, tickers[i] || {}, { id: c.id, name: c.name, idx: c.idx }));
      return FT.market.normalize(raw);
    })();
    detailCache.set(id, promise);
    setTimeout(() => detailCache.delete(id), 15000);
    return promise;
  }

  function enrichCards() {
    FT.$$("#market-list .market-card").forEach(async (card) => {
      try {
        const m = await marketWithPrices(card.dataset.marketId);
        FT.setHTML(card.querySelector(".card-prices"), pricesHtml(m));
      } catch (err) {
        FT.setHTML(card.querySelector(".card-prices"), html`<p class="muted small">${FT.errorText(err)}</p>`);
      }
    });
  }
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "market-list") enrichCards();
  });

  async function loadCategories() {
    const tabs = document.getElementById("category-tabs");
    try {
      const data = await FT.api.get("/markets?limit=500");
      const categories = Array.from(new Set((data.markets || []).map((m) => m.category).filter(Boolean))).sort();
      tabs.insertAdjacentHTML("beforeend", String(html`${categories.map((c) => html`<label class="tab"><input type="radio" name="category" value="${c}"><span>${c}</span></label>`)}`));
    } catch (err) {
      FT.showError(document.getElementById("market-filter"), err);
    }
    document.body.dispatchEvent(new CustomEvent("ft:filters-ready"));
  }

  function newsItem(n) {
    return html`<article class="news-item">
      <h3>${FT.extLink(n.link, n.title)}</h3>
      ${n.summary ? html`<p>${n.summary}</p>` : ""}
      <p class="muted small">${n.source || n.author || ""} · ${FT.timeTag(n.published_ms)}</p>
    </article>`;
  }

  async function loadNews() {
    let data;
    try {
      data = await FT.api.get("/news?limit=20");
    } catch (err) {
      return;  // no news API (yet): the column stays hidden
    }
    const items = (data && (data.news || data.items)) || [];
    if (!items.length) return;
    FT.setHTML(document.getElementById("news-list"), html`${items.map(newsItem)}`);
    document.getElementById("news-col").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    loadCategories();
    loadNews();
  });
})();
