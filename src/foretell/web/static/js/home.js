/* The market lists of the home page (a few trending markets) and of /markets (every filter):
 * htmx renders GET /api/v1/markets, which carries each contract's last price, best bid and ask
 * and 24 h change, so one request draws every card. Filters the API has (category, status,
 * search) go to it; closing time, volume and the sort are applied here to that answer.
 * The home page also shows the latest few news items. */
(function () {
  "use strict";
  const { html, fmt, units } = FT;
  const DAY_MS = 86400000;

  function changeTag(change) {
    if (change === null || change === undefined) return html`<span class="muted" title="No trade before the last 24 hours">—</span>`;
    const cls = change > 0 ? "up" : change < 0 ? "down" : "flat";
    return html`<span class="${cls}" title="Change over 24 hours, in percentage points">${fmt.points(change)}</span>`;
  }

  /** The YES price that stands for the chance: the middle of a tight book, else the last. */
  function chanceOf(c) {
    const bid = units.priceMicro(c.best_bid);
    const ask = units.priceMicro(c.best_ask);
    if (bid !== null && ask !== null && ask - bid <= 100000) return Math.round((bid + ask) / 2);
    const last = units.priceMicro(c.last_price);
    return last !== null ? last : null;
  }

  function volumeTag(m) {
    if (m.volume === undefined || m.volume === null) return html`${fmt.shares(m.volume_shares)} shares`;
    return html`<span title="${fmt.amount(m.volume)} traded">${fmt.volume(m.volume)}</span>`;
  }

  function pricesHtml(m) {
    if (!m.contracts.length) return html`<p class="muted small">No contracts.</p>`;
    if (m.kind === "binary") {
      const c = m.contracts[0];
      const chance = chanceOf(c);
      const yesAsk = units.priceMicro(c.best_ask);
      const yesBid = units.priceMicro(c.best_bid);
      return html`<div class="card-chance"><span class="num big" data-chance>${fmt.chance(chance)}</span> <span class="muted">chance</span> ${changeTag(c.change_micro)}</div>
        <div class="card-buy" aria-hidden="true">
          <span class="pill yes">Yes ${fmt.priceMicro(yesAsk)}</span>
          <span class="pill no">No ${fmt.priceMicro(yesBid === null ? null : 1000000 - yesBid)}</span>
        </div>`;
    }
    const top = m.contracts.slice().sort((a, b) => (chanceOf(b) || 0) - (chanceOf(a) || 0));
    return html`<ul class="card-outcomes" aria-label="Outcomes">${top.slice(0, 3).map((c) => html`<li>
      <span class="outcome-name">${c.name}</span><span class="num">${fmt.chance(chanceOf(c))}</span>${changeTag(c.change_micro)}</li>`)}</ul>
      ${top.length > 3 ? html`<p class="muted small">and ${top.length - 3} more</p>` : ""}`;
  }

  function marketCard(m) {
    const settled = m.status === "settled";
    return html`<article class="market-card" data-market-id="${m.id}">
      <div class="card-head">
        <span class="chip">${m.category || "General"}</span>
        ${m.status !== "open" ? FT.market.statusBadge(m.status) : ""}
      </div>
      <h2 class="card-title"><a href="/markets/${m.slug || m.id}">${m.question}</a></h2>
      <div class="card-prices">${pricesHtml(m)}</div>
      <p class="card-foot muted">${volumeTag(m)} vol · ${settled ? "Settled" : "Closes"} ${FT.timeTag(settled ? m.updated_ms : m.close_ms)}</p>
    </article>`;
  }

  const volumeMicro = (m) => (m.volume ? units.microBig(m.volume) : 0n) || 0n;
  const SORTS = {
    volume: (a, b) => (volumeMicro(b) > volumeMicro(a) ? 1 : volumeMicro(b) < volumeMicro(a) ? -1 : 0),
    newest: (a, b) => (b.created_ms || b.id) - (a.created_ms || a.id),
    closing: (a, b) => (a.close_ms || Infinity) - (b.close_ms || Infinity),
    chance: (a, b) => (chanceOf(b.contracts[0] || {}) || 0) - (chanceOf(a.contracts[0] || {}) || 0),
    movers: (a, b) => Math.abs((b.contracts[0] || {}).change_micro || 0) - Math.abs((a.contracts[0] || {}).change_micro || 0),
  };

  FT.renderers.markets = function (data, form) {
    let markets = ((data && data.markets) || []).map(FT.market.normalize);
    const value = (name) => (form && form.elements[name] ? form.elements[name].value : "");
    const closing = Number(value("_closing") || 0);
    if (closing) {
      const until = Date.now() + closing * DAY_MS;
      markets = markets.filter((m) => m.close_ms && m.close_ms <= until);
    }
    const minVolume = Number(value("_min_volume") || 0);
    if (minVolume) markets = markets.filter((m) => volumeMicro(m) >= BigInt(minVolume) * 1000000n);
    markets.sort(SORTS[value("_sort")] || SORTS.volume);
    const featured = form && form.dataset.featured ? Number(form.dataset.featured) : 0;
    const total = markets.length;
    if (featured) markets = markets.slice(0, featured);
    const count = document.getElementById("market-count");
    if (count) count.textContent = featured ? "" : `${total} market${total === 1 ? "" : "s"}`;
    if (!markets.length) return html`<p class="muted">No market matches these filters.</p>`;
    return html`${markets.map(marketCard)}`;
  };

  async function loadCategories() {
    const tabs = document.getElementById("category-tabs");
    try {
      const data = await FT.api.get("/markets?limit=500");
      const categories = Array.from(new Set((data.markets || []).map((m) => m.category).filter(Boolean))).sort();
      tabs.insertAdjacentHTML("beforeend", String(html`${categories.map((c) => html`<label class="tab"><input type="radio" name="category" value="${c}"><span>${c}</span></label>`)}`));
    } catch (err) {
      FT.showError(document.getElementById("market-filter"), err);
    }
    await FT.domReady;
    document.body.dispatchEvent(new CustomEvent("ft:filters-ready"));
  }

  async function loadNews() {
    const list = document.getElementById("news-list");
    if (!list) return;
    try {
      const data = await FT.api.get("/news?limit=5");
      const items = (data && data.news) || [];
      FT.setHTML(list, items.length ? html`${items.map(FT.newsItem)}<p class="more-link"><a href="/news">All news</a></p>`
        : html`<p class="muted">No news yet.</p>`);
    } catch (err) {
      FT.setHTML(list, html`<p class="muted">${FT.errorText(err)}</p>`);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    loadCategories();
    loadNews();
  });
})();
