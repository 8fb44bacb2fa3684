/* News: the searchable list (/news, GET /api/v1/news with q and market_id, newest first, more
 * by cursor) and one item's own page (/news/<id>). Items link to their page here, never to an
 * outside host the demo made up: the source is shown as text. */
(function () {
  "use strict";
  const { html, fmt } = FT;
  // Reserved names (RFC 2606, RFC 6761) never resolve: such a link would lead nowhere.
  const FAKE_HOST = /(^|\.)(local|localhost|test|example|invalid)$|(^|\.)example\.(com|org|net)$/i;

  /** An outside link only when it is http(s) on a host that can exist. */
  function realLink(url) {
    try {
      const u = new URL(String(url || ""));
      return /^https?:$/.test(u.protocol) && !FAKE_HOST.test(u.hostname) ? u.href : null;
    } catch (err) {
      return null;
    }
  }

  // -- the list ----------------------------------------------------------------------------

  let cursor = null;
  let serial = 0;

  function query() {
    const form = document.getElementById("news-filter");
    const params = new URLSearchParams({ limit: "20" });
    const q = form.elements.q.value.trim();
    if (q) params.set("q", q);
    if (form.elements.market_id.value) params.set("market_id", form.elements.market_id.value);
    return params;
  }

  async function search(more) {
    const box = document.getElementById("news-results");
    const params = query();
    if (more && cursor) params.set("cursor", cursor);
    const mine = ++serial;
    box.setAttribute("aria-busy", "true");
    try {
      const data = await FT.api.get("/news?" + params.toString());
      if (mine !== serial) return;
      const items = data.news || [];
      cursor = data.next_cursor || null;
      const rendered = html`${items.map(FT.newsItemFull)}`;
      if (more) box.insertAdjacentHTML("beforeend", String(rendered));
      else FT.setHTML(box, items.length ? rendered : html`<p class="muted" id="news-none">No news matches.</p>`);
      document.getElementById("news-more").hidden = !cursor;
      const shown = box.querySelectorAll(".news-item").length;
      document.getElementById("news-count").textContent = `${shown}${cursor ? "+" : ""} item${shown === 1 ? "" : "s"}`;
    } catch (err) {
      if (mine === serial) FT.setHTML(box, html`<p class="form-error" role="alert">${FT.errorText(err)}</p>`);
    } finally {
      box.removeAttribute("aria-busy");
    }
  }

  async function initList() {
    const form = document.getElementById("news-filter");
    const params = new URLSearchParams(location.search);
    if (params.get("q")) form.elements.q.value = params.get("q");
    try {
      const data = await FT.api.get("/markets?limit=500");
      const select = form.elements.market_id;
      select.insertAdjacentHTML("beforeend", String(html`${(data.markets || []).map((m) => html`<option value="${m.id}">${m.question}</option>`)}`));
      if (params.get("market_id")) select.value = params.get("market_id");
    } catch (err) {
      console.warn("markets", err);
    }
    let timer = null;
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => search(false), 300); });
    form.addEventListener("change", () => search(false));
    form.addEventListener("submit", (e) => { e.preventDefault(); search(false); });
    document.getElementById("news-more").addEventListener("click", () => search(true));
    search(false);
  }

  // -- one item ----------------------------------------------------------------------------

  async function initItem(root) {
    const id = root.dataset.newsId;
    let n;
    try {
      n = await FT.api.get(`/news/${id}`);
    } catch (err) {
      document.getElementById("news-headline").textContent = err.status === 404 ? "No such news item" : "The news item could not be loaded";
      FT.setHTML(document.getElementById("news-body"), html`<p><a href="/news">Back to the news</a></p>`);
      return;
    }
    document.title = n.title + " · Foretell";
    document.getElementById("news-headline").textContent = n.title;
    const link = realLink(n.link);
    FT.setHTML(document.getElementById("news-meta"), html`${n.kind && n.kind !== "news" ? html`<span class="chip">${fmt.label(n.kind)}</span> ` : ""}${n.source || "Foretell"}${n.author ? " · " + n.author : ""} · ${FT.timeTag(n.published_ms)}`);
    FT.setHTML(document.getElementById("news-body"), html`
      ${n.summary ? html`<p class="lead">${n.summary}</p>` : ""}
      ${(n.tags || []).length ? html`<p>${n.tags.map((t) => html`<a class="chip link-chip" href="/news?q=${encodeURIComponent(t)}">${t}</a> `)}</p>` : ""}
      ${link ? html`<p><a href="${link}" rel="noopener noreferrer" target="_blank">Read the full story at ${n.source || new URL(link).hostname}</a></p>` : ""}`);
    const markets = n.markets || [];
    if (!markets.length) return;
    document.getElementById("news-markets-box").hidden = false;
    FT.setHTML(document.getElementById("news-markets"), html`${markets.map((m) => html`<article class="market-card">
      <h3 class="card-title"><a href="/markets/${m.slug || m.market_id}">${m.question || (m.slug || "").replace(/-/g, " ")}</a></h3>
      ${m.reason ? html`<p class="muted small">Linked: ${m.reason}</p>` : ""}</article>`)}`);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const item = document.getElementById("news-item");
    if (item) initItem(item);
    else if (document.getElementById("news-filter")) initList();
  });
})();
