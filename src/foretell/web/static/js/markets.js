/* Market helpers shared by the home page, the market page, the portfolio and the console:
 * one reading of the API's market, contract, candle, trade and position shapes. */
(function () {
  "use strict";
  const { html, units } = FT;

  /** The first of `keys` that `obj` has (not null/undefined). */
  function pick(obj, ...keys) {
    if (!obj) return undefined;
    for (const key of keys) if (obj[key] !== undefined && obj[key] !== null) return obj[key];
    return undefined;
  }

  function parseList(value) {
    if (Array.isArray(value)) return value;
    if (typeof value === "string") {
      try { const v = JSON.parse(value); return Array.isArray(v) ? v : []; } catch (err) { return []; }
    }
    return [];
  }

  function parseObject(value) {
    if (value && typeof value === "object") return value;
    if (typeof value === "string" && value) {
      try { const v = JSON.parse(value); return v && typeof v === "object" ? v : { text: value }; } catch (err) { return { text: value }; }
    }
    return {};
  }

  /** A price field that may come as a decimal string or as micro-USDC. */
  function priceField(obj, textKeys, microKeys) {
    const text = pick(obj, ...textKeys);
    if (text !== undefined) return String(text);
    const micro = pick(obj, ...microKeys);
    return micro !== undefined ? units.priceText(Number(micro)) : null;
  }

  function normalizeContract(c, i, outcomes) {
    const last = priceField(c, ["last_price", "last", "price"], ["last_price_micro"]);
    const prev = priceField(c, ["prev_price_24h", "price_24h_ago", "open_24h", "prev_day_price", "reference_price"],
      ["prev_day_price_micro"]);
    let change = pick(c, "change_24h_micro");
    if (change === undefined) {
      const changeText = pick(c, "change_24h", "change");
      if (changeText !== undefined) change = units.priceMicro(String(changeText).replace(/^\+/, ""));
      else if (last !== null && prev !== null) change = units.priceMicro(last) - units.priceMicro(prev);
      else change = null;
    }
    const index = pick(c, "index", "idx", "outcome_index") ?? i;
    return {
      id: pick(c, "id", "contract_id"),
      index,
      name: pick(c, "name", "outcome") || (outcomes && outcomes[index]) || `Outcome ${index + 1}`,
      last_price: last,
      change_micro: change,
      best_bid: pick(c, "best_bid"),
      best_ask: pick(c, "best_ask"),
      volume: pick(c, "volume"),  // USDC traded, a decimal string (the list and detail endpoints)
      volume_shares: pick(c, "volume_shares"),
    };
  }

  /** One shape for a market from the list or the detail endpoint. */
  function normalize(m) {
    const outcomes = parseList(pick(m, "outcomes"));
    const rawContracts = pick(m, "contracts") || [];
    let contracts = rawContracts.map((c, i) => normalizeContract(typeof c === "object" ? c : { id: c }, i, outcomes));
    if (!contracts.length && Array.isArray(m.contract_ids)) {
      contracts = m.contract_ids.map((id, i) => normalizeContract({ id }, i, outcomes));
    }
    const kind = pick(m, "kind") || (outcomes.length > 2 ? "categorical" : "binary");
    if (kind === "binary" && contracts.length === 1) contracts[0].name = "Yes";
    return {
      raw: m,
      id: pick(m, "id", "market_id"),
      slug: pick(m, "slug"),
      question: pick(m, "question") || "",
      description: pick(m, "description") || "",
      category: pick(m, "category") || "",
      tags: parseList(pick(m, "tags")),
      kind,
      outcomes,
      status: pick(m, "status") || "",
      close_ms: pick(m, "close_ms", "close_at_ms"),
      resolution_deadline_ms: pick(m, "resolution_deadline_ms"),
      created_ms: pick(m, "created_ms"),
      updated_ms: pick(m, "updated_ms", "settled_ms"),
      volume: pick(m, "volume"),  // USDC traded (decimal string), when the API sends it
      volume_shares: pick(m, "volume_shares") ?? contracts.reduce((s, c) => s + (Number(c.volume_shares) || 0), 0),
      tick: priceField(m, ["tick"], ["tick_micro"]),
      maker_fee_ppm: pick(m, "maker_fee_ppm"),
      taker_fee_ppm: pick(m, "taker_fee_ppm"),
      size_max: pick(m, "size_max"),
      winner: pick(m, "winner", "winner_index", "winning_outcome"),
      rules: parseObject(pick(m, "rules")),
      clarifications: parseList(pick(m, "clarifications")),
      timeline: parseList(pick(m, "timeline", "history", "events")),
      contracts,
    };
  }

  function statusBadge(status) {
    const s = String(status || "");
    return html`<span class="badge status-${s}">${FT.fmt.label(s) || "unknown"}</span>`;
  }

  /** A candle with prices as micro-USDC Numbers, YES terms. */
  function normalizeCandle(c) {
    if (Array.isArray(c)) {
      return { start_ms: Number(c[0]), open: units.priceMicro(c[1]), high: units.priceMicro(c[2]),
        low: units.priceMicro(c[3]), close: units.priceMicro(c[4]), volume: Number(c[5] || 0) };
    }
    const p = (textKey, microKey) => {
      const t = pick(c, textKey);
      return t !== undefined ? units.priceMicro(String(t)) : Number(pick(c, microKey));
    };
    return {
      start_ms: Number(pick(c, "start_ms", "ts_ms", "time_ms", "t")),
      open: p("open", "open_micro"), high: p("high", "high_micro"),
      low: p("low", "low_micro"), close: p("close", "close_micro"),
      volume: Number(pick(c, "volume", "volume_shares", "v") || 0),
    };
  }

  /** A trade with its YES price in micro-USDC. */
  function normalizeTrade(t) {
    const text = pick(t, "price", "yes_price");
    return {
      id: pick(t, "id", "seq"),
      ts_ms: Number(pick(t, "ts_ms", "time_ms")),
      price: text !== undefined ? units.priceMicro(String(text)) : Number(pick(t, "yes_price_micro")),
      size: Number(pick(t, "size")),
      taker_side: pick(t, "taker_side") || "",
    };
  }

  const OUTCOMES = ["yes", "no"];
  const ACTIONS = ["buy", "sell"];
  const TIFS = ["gtc", "gtd", "ioc", "fok"];
  const TYPES = ["limit", "market"];
  const byIndex = (names, v) => (typeof v === "number" ? names[v] : v);

  /** An order or a fill from the live engine view or from the store (ints for vocabularies). */
  function normalizeOrder(o) {
    const flags = Number(pick(o, "flags") || 0);
    return Object.assign({}, o, {
      outcome: byIndex(OUTCOMES, pick(o, "outcome")),
      side: byIndex(ACTIONS, pick(o, "side", "action")),
      tif: byIndex(TIFS, pick(o, "tif")),
      type: byIndex(TYPES, pick(o, "type", "order_type")),
      created_at_ms: pick(o, "created_at_ms", "created_ms", "ts_ms"),
      expire_at_ms: pick(o, "expire_at_ms", "expire_ms"),
      post_only: pick(o, "post_only") ?? !!(flags & 1),
      reduce_only: pick(o, "reduce_only") ?? !!(flags & 2),
    });
  }

  let catalog = null;
  /** Every market with its contracts, for naming contracts in portfolio tables. */
  function loadCatalog(fresh) {
    if (catalog && !fresh) return catalog;
    catalog = (async () => {
      // The list carries every market's contracts: one request names every contract.
      const list = await FT.api.get("/markets?limit=500");
      const details = list.markets || [];
      const markets = new Map();
      const contracts = new Map();
      for (const raw of details) {
        const m = normalize(raw);
        markets.set(m.id, m);
        for (const c of m.contracts) contracts.set(c.id, { market: m, contract: c });
      }
      return { markets, contracts };
    })();
    return catalog;
  }

  /** A news item for a list: its in-app page, the source as text, the markets it is about. */
  function newsItem(n, opts) {
    const o = opts || {};
    const markets = (n.markets || []).slice(0, 2);
    return html`<article class="news-item" data-news-id="${n.id}">
      <h3><a href="/news/${n.id}">${n.title}</a></h3>
      ${o.summary && n.summary ? html`<p class="news-summary">${n.summary}</p>` : ""}
      <p class="muted small">${n.kind && n.kind !== "news" ? html`<span class="chip">${FT.fmt.label(n.kind)}</span> ` : ""}${n.source || n.author || "Foretell"} · ${FT.timeTag(n.published_ms)}</p>
      ${o.markets && markets.length ? html`<p class="small news-markets">${markets.map((m) => html`<a class="chip link-chip" href="/markets/${m.slug || m.market_id}">${m.slug ? m.slug.replace(/-/g, " ") : "Market " + m.market_id}</a> `)}</p>` : ""}
    </article>`;
  }
  FT.newsItem = (n) => newsItem(n, {});
  FT.newsItemFull = (n) => newsItem(n, { summary: true, markets: true });

  FT.market = { normalizeOrder, loadCatalog, pick, normalize, normalizeContract, normalizeCandle, normalizeTrade, statusBadge, parseList, parseObject };
})();
