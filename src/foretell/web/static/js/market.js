/* The market page: header, outcomes, live chart, live book, trade tape, order ticket with the
 * dry-run quote, my orders / exits / position, and the settlement rules.
 *
 * Data flow: REST for the first picture (market, candles, trades, orders, position), then the
 * WebSocket keeps it live: book:<c> (snapshot + deltas), trades:<c>, ticker:<c>, market:<m>,
 * and the private orders / fills / positions channels, which trigger a refetch of my data.
 */
(function () {
  "use strict";
  const { html, fmt, units, api } = FT;
  const MICRO = units.MICRO;
  const INTERVAL_S = { "1m": 60, "1h": 3600, "1d": 86400 };
  const CANDLES_MAX = 500;
  const TRADES_MAX = 50;
  const BOOK_LEVELS = 10;

  const S = {
    market: null,
    contract: null,  // the selected contract (normalized)
    view: "yes",
    interval: "1m",
    chartKind: "line",  // "line" (chance over time) or "candles"
    line: null,
    markers: null,
    book: null,
    candles: [],  // YES terms, micro
    trades: [],  // YES terms, micro
    tickers: new Map(),  // contract id -> {last, change, bid, ask}
    account: null,
    openOrders: [],
    triggers: [],
    positions: [],
    pendingExits: new Map(),  // order id -> {exits, covered}
    unsubscribe: [],
    chart: null,
    series: null,
    volume: null,
    clientOrderId: null,
    quickOutcome: "yes",
    quickClientOrderId: null,
    pool: null,  // GET /markets/{id}/pool: the liquidity pool (price, depth, subsidy, P&L)
    implied: null,  // GET /markets/{id}/implied: best bid/ask of every outcome and their sums
  };
  FT.marketState = S;  // for debugging and tests

  const $ = (id) => document.getElementById(id);
  const own = (yesMicro) => (S.view === "no" ? MICRO - yesMicro : yesMicro);
  const tickMicro = () => units.priceMicro(S.market.tick || "0.01") || 10000;

  // -- header and outcomes -------------------------------------------------------------------

  function renderHeader() {
    const m = S.market;
    document.title = m.question + " · Foretell";
    $("m-question").textContent = m.question;
    $("m-category").textContent = m.category || "General";
    renderStatus();
    FT.setHTML($("m-close"), FT.timeTag(m.close_ms));
    renderVolume();
    renderTicker();
  }

  function winnerName() {
    const w = S.market.winner;
    if (w === null || w === undefined) return null;
    return typeof w === "number" ? (S.market.outcomes[w] || `Outcome ${w + 1}`) : String(w);
  }

  function renderStatus() {
    const m = S.market;
    const winner = m.status === "settled" ? winnerName() : null;
    FT.setHTML($("m-status"), html`${FT.market.statusBadge(m.status)}${winner ? html` <span class="resolution">Resolved: ${winner}</span>` : ""}`);
  }

  function renderTicker() {
    const c = S.contract;
    if (!c) return;
    const t = S.tickers.get(c.id) || {};
    const last = t.last !== undefined ? t.last : c.last_price;
    const lastMicro = units.priceMicro(last);
    const label = S.market.kind === "binary" ? (S.view === "no" ? "Last NO" : "Last YES") : `Last ${c.name} ${S.view.toUpperCase()}`;
    $("m-last-label").textContent = label;
    $("m-last").textContent = lastMicro === null ? "—" : fmt.priceMicro(own(lastMicro));
    const change = t.change !== undefined ? t.change : c.change_micro;
    const el = $("m-change");
    if (change === null || change === undefined) {
      el.textContent = "—";
      el.className = "num";
    } else {
      const signed = S.view === "no" ? -change : change;
      el.textContent = fmt.change(signed);
      el.className = "num " + (signed > 0 ? "up" : signed < 0 ? "down" : "flat");
    }
    renderBestPrices();
  }

  function bestPrices() {
    let bid = null;
    let ask = null;
    if (S.book && S.book.seq !== null) {
      const v = S.book.view(S.view);
      bid = v.bids.length ? v.bids[0][0] : null;
      ask = v.asks.length ? v.asks[0][0] : null;
    }
    return { bid, ask };
  }

  function renderVolume() {
    const m = S.market;
    const el = $("m-volume");
    if (m.volume !== undefined && m.volume !== null) {
      el.textContent = fmt.volume(m.volume);
      el.title = `${fmt.amount(m.volume)} traded (${fmt.shares(m.volume_shares)} shares)`;
    } else {
      el.textContent = fmt.shares(m.volume_shares) + " shares";
    }
  }

  /** The YES price that stands for the chance: the middle of a tight book, else the last. */
  function chanceMicro() {
    const c = S.contract;
    const t = S.tickers.get(c.id) || {};
    const last = units.priceMicro(t.last !== undefined ? t.last : c.last_price);
    if (S.book && S.book.seq !== null) {
      const v = S.book.view("yes");
      const bid = v.bids.length ? v.bids[0][0] : null;
      const ask = v.asks.length ? v.asks[0][0] : null;
      if (bid !== null && ask !== null && ask - bid <= 100000) return Math.round((bid + ask) / 2);
      if (last === null && bid !== null && ask !== null) return Math.round((bid + ask) / 2);
    }
    return last;
  }

  function renderChance() {
    const c = S.contract;
    if (!c) return;
    const yes = chanceMicro();
    const mine = yes === null ? null : own(yes);
    $("m-chance").textContent = fmt.chance(mine);
    const who = S.market.kind === "categorical" ? c.name + (S.view === "no" ? " (No)" : "") : S.view === "no" ? "No" : "";
    $("m-chance-label").textContent = who ? `chance · ${who}` : "chance";
    const t = S.tickers.get(c.id) || {};
    const change = t.change !== undefined ? t.change : c.change_micro;
    const el = $("m-chance-change");
    if (change === null || change === undefined) {
      el.textContent = "";
    } else {
      const signed = S.view === "no" ? -change : change;
      el.textContent = `${fmt.points(signed)} 24h`;
      el.className = "num chance-change " + (signed > 0 ? "up" : signed < 0 ? "down" : "flat");
    }
  }

  function renderBestPrices() {
    const { bid, ask } = bestPrices();
    $("m-bid").textContent = fmt.priceMicro(bid);
    $("m-ask").textContent = fmt.priceMicro(ask);
    renderChance();
    renderQuickPrices();
  }

  function renderOutcomes() {
    const m = S.market;
    if (m.kind !== "categorical") return;
    $("outcomes").hidden = false;
    FT.setHTML($("outcome-rows"), html`${m.contracts.map((c) => {
      const t = S.tickers.get(c.id) || {};
      const last = t.last !== undefined ? t.last : c.last_price;
      const change = t.change !== undefined ? t.change : c.change_micro;
      const selected = S.contract && S.contract.id === c.id;
      return html`<tr class="${selected ? "selected" : ""}">
        <th scope="row"><button type="button" class="outcome-pick" data-contract="${c.id}" aria-pressed="${selected}">${c.name}</button></th>
        <td class="num">${fmt.price(last)}</td>
        <td class="num ${change > 0 ? "up" : change < 0 ? "down" : ""}">${fmt.change(change)}</td>
        <td class="num">${fmt.price(t.bid)}</td>
        <td class="num">${fmt.price(t.ask)}</td>
      </tr>`;
    })}`);
  }

  async function loadTicker(c) {
    try {
      const t = await api.get(`/contracts/${c.id}/ticker`);
      S.tickers.set(c.id, tickerFromApi(t, S.tickers.get(c.id)));
    } catch (err) {
      console.warn("ticker", err);
    }
  }

  function tickerFromApi(t, previous) {
    const pick = FT.market.pick;
    const c = FT.market.normalizeContract(t, 0);
    const out = Object.assign({}, previous || {});
    if (c.last_price !== null) out.last = c.last_price;
    if (c.change_micro !== null) out.change = c.change_micro;
    out.bid = pick(t, "best_bid") ?? null;
    out.ask = pick(t, "best_ask") ?? null;
    return out;
  }

  // -- chart ---------------------------------------------------------------------------------

  function chartColors() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return { text: v("--muted"), grid: v("--grid"), up: v("--up"), down: v("--down"), bg: v("--surface"), link: v("--link") };
  }

  function initChart() {
    const LC = window.LightweightCharts;
    const el = $("chart");
    if (!LC) {
      FT.setHTML(el, html`<p class="muted">The chart library is missing (run scripts/build-web.sh).</p>`);
      return;
    }
    const colors = chartColors();
    const timeFmt = (t) => fmt.time(Number(t) * 1000);
    S.chart = LC.createChart(el, {
      autoSize: true,
      layout: { background: { type: "solid", color: colors.bg }, textColor: colors.text, attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: colors.grid } },
      // Room above the line for the news markers, so they never sit on the price axis labels.
      rightPriceScale: { borderColor: colors.grid, scaleMargins: { top: 0.2, bottom: 0.08 } },
      timeScale: {
        borderColor: colors.grid, timeVisible: true, secondsVisible: false, rightOffset: 4,
        tickMarkFormatter: (t, type) => {
          const d = new Date(Number(t) * 1000);
          if (type <= 1) return String(d.getFullYear());
          if (type === 2) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
          return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
        },
      },
      localization: { timeFormatter: timeFmt },
    });
    S.line = S.chart.addSeries(LC.AreaSeries, {
      lineColor: colors.link, topColor: "rgba(140, 196, 255, 0.28)", bottomColor: "rgba(140, 196, 255, 0.02)",
      lineWidth: 2, lineType: 1,  // steps: the price holds until the next trade
      priceFormat: { type: "custom", minMove: 0.1, formatter: (p) => `${Math.round(p * 10) / 10}%` },
      // At least 10 points of range, so a quiet market is a flat line, not repeated labels.
      autoscaleInfoProvider: (original) => {
        const r = original();
        if (!r || !r.priceRange) return r;
        const { minValue, maxValue } = r.priceRange;
        if (maxValue - minValue >= 10) return r;
        const mid = (minValue + maxValue) / 2;
        return Object.assign({}, r, { priceRange: { minValue: Math.max(0, mid - 5), maxValue: Math.min(100, mid + 5) } });
      },
    });
    S.series = S.chart.addSeries(LC.CandlestickSeries, {
      upColor: colors.up, downColor: colors.down, borderUpColor: colors.up, borderDownColor: colors.down,
      wickUpColor: colors.up, wickDownColor: colors.down, visible: false,
      priceFormat: { type: "custom", minMove: 0.1, formatter: (p) => `${Math.round(p * 10) / 10}¢` },
    });
    S.volume = S.chart.addSeries(LC.HistogramSeries, {
      priceScaleId: "vol", color: colors.grid, lastValueVisible: false, priceLineVisible: false, visible: false,
      priceFormat: { type: "custom", minMove: 1, formatter: (v) => `${fmt.shares(Math.round(v))} sh` },
    });
    S.chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.85, bottom: 0 } });
  }

  function barOf(c) {
    const cents = (micro) => own(micro) / 10000;  // display only
    const high = S.view === "no" ? cents(c.low) : cents(c.high);
    const low = S.view === "no" ? cents(c.high) : cents(c.low);
    return { time: Math.floor(c.start_ms / 1000), open: cents(c.open), high, low, close: cents(c.close) };
  }

  /** The line: each bar's close, held to now at the last price. */
  function linePoints() {
    const pts = S.candles.map((c) => ({ time: Math.floor(c.start_ms / 1000), value: own(c.close) / 10000 }));
    if (pts.length) {
      const step = INTERVAL_S[S.interval];
      const now = Math.floor(Date.now() / 1000 / step) * step;
      const last = S.candles[S.candles.length - 1];
      if (now > pts[pts.length - 1].time) pts.push({ time: now, value: own(last.close) / 10000 });
    }
    return pts;
  }

  /** One marker per bar that has news, on the series on show. */
  function renderMarkers() {
    const LC = window.LightweightCharts;
    if (!LC || !LC.createSeriesMarkers) return;
    const series = S.chartKind === "line" ? S.line : S.series;
    const markers = S.candles.filter((c) => c.news && c.news.length).map((c) => ({
      time: Math.floor(c.start_ms / 1000), position: "aboveBar", shape: "circle", color: "#ffd166", size: 0.8,
      id: String(c.news[0].id),
    }));
    if (S.markers && S.markers.series !== series) { S.markers.plugin.detach(); S.markers = null; }
    if (!S.markers) S.markers = { series, plugin: LC.createSeriesMarkers(series, markers) };
    else S.markers.plugin.setMarkers(markers);
    $("chart-legend").hidden = !markers.length;
  }

  function renderChart() {
    $("chart-empty").hidden = S.candles.length > 0;
    if (!S.series) return;
    const line = S.chartKind === "line";
    S.line.applyOptions({ visible: line });
    S.series.applyOptions({ visible: !line });
    S.volume.applyOptions({ visible: !line });
    S.line.setData(linePoints());
    S.series.setData(S.candles.map(barOf));
    S.volume.setData(S.candles.map((c) => ({ time: Math.floor(c.start_ms / 1000), value: c.volume })));
    renderMarkers();
    $("chart").dataset.candles = String(S.candles.length);
    $("chart").dataset.kind = S.chartKind;
    $("chart").dataset.interval = S.interval;
    if (S.candles.length) S.chart.timeScale().fitContent();
  }

  /** The interval that shows this contract's history best: minutes for a young market,
   * hours for weeks of trading, days beyond. */
  async function autoInterval(c) {
    const now = Date.now();
    try {
      const h = await api.get(`/contracts/${c.id}/candles?interval=1h&start_ms=${now - 3600000 * CANDLES_MAX}`);
      const hours = h.candles || [];
      if (hours.length) {
        const first = Number(FT.market.normalizeCandle(hours[0]).start_ms);
        if (first > now - 8 * 3600000) return "1m";
        if (first > now - (CANDLES_MAX - 20) * 3600000) return "1h";
        return "1d";
      }
      const d = await api.get(`/contracts/${c.id}/candles?interval=1d&start_ms=0`);
      return (d.candles || []).length ? "1d" : "1m";
    } catch (err) {
      return "1h";
    }
  }

  async function loadCandles() {
    const c = S.contract;
    const step = INTERVAL_S[S.interval] * 1000;
    const start = Math.max(0, Date.now() - step * CANDLES_MAX);
    try {
      const data = await api.get(`/contracts/${c.id}/candles?interval=${S.interval}&start_ms=${start}`);
      if (c !== S.contract) return;
      S.candles = (data.candles || []).map((raw) => Object.assign(FT.market.normalizeCandle(raw), { news: raw.news || [] }))
        .filter((x) => !Number.isNaN(x.start_ms))
        .sort((a, b) => a.start_ms - b.start_ms);
      renderChart();
    } catch (err) {
      FT.showError($("m-error"), err);
    }
  }

  /** A trade from the WebSocket extends or opens the current candle. */
  function candleFromTrade(t) {
    const step = INTERVAL_S[S.interval] * 1000;
    const start = Math.floor(t.ts_ms / step) * step;
    const last = S.candles[S.candles.length - 1];
    let bar;
    if (last && last.start_ms === start) {
      last.high = Math.max(last.high, t.price);
      last.low = Math.min(last.low, t.price);
      last.close = t.price;
      last.volume += t.size;
      bar = last;
    } else if (!last || start > last.start_ms) {
      bar = { start_ms: start, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size, news: [] };
      S.candles.push(bar);
    } else {
      return;  // older than what the chart shows: the REST candles already hold it
    }
    $("chart-empty").hidden = true;
    $("chart").dataset.candles = String(S.candles.length);
    if (S.series) {
      S.series.update(barOf(bar));
      S.volume.update({ time: Math.floor(bar.start_ms / 1000), value: bar.volume });
      S.line.setData(linePoints());
    }
  }

  // -- book ----------------------------------------------------------------------------------

  function myPrices() {
    const mine = new Set();
    for (const o of S.openOrders) {
      if (o.contract_id !== S.contract.id) continue;
      const p = units.priceMicro(o.price);
      if (p === null) continue;
      const yes = o.outcome === "no" ? MICRO - p : p;
      mine.add(own(yes));
    }
    return mine;
  }

  function levelRow(side, price, size, total, maxTotal, mine) {
    const width = maxTotal ? Math.max(2, Math.round((total / maxTotal) * 100)) : 0;
    const label = `${side === "ask" ? "Ask" : "Bid"} ${fmt.priceMicro(price)}, ${fmt.shares(size)} shares`;
    return html`<tr class="${side}${mine.has(price) ? " mine" : ""}" data-price="${price}" data-size="${size}">
      <td class="num"><button type="button" class="level" data-price="${price}" aria-label="${label}${mine.has(price) ? ", includes your order" : ""}">${fmt.priceMicro(price)}</button>${mine.has(price) ? html`<span class="mine-dot" aria-hidden="true">●</span>` : ""}</td>
      <td class="num">${fmt.shares(size)}</td>
      <td class="num depth"><span class="bar" style="width:${width}%"></span><span class="depth-num">${fmt.shares(total)}</span></td>
    </tr>`;
  }

  function renderBook() {
    const el = $("book");
    const b = S.book;
    if (!b || b.seq === null) {
      el.dataset.synced = "false";
      return;
    }
    const v = b.view(S.view);
    const asks = v.asks.slice(0, BOOK_LEVELS);
    const bids = v.bids.slice(0, BOOK_LEVELS);
    const cum = (levels) => { let t = 0; return levels.map(([p, s]) => [p, s, (t += s)]); };
    const asksCum = cum(asks);
    const bidsCum = cum(bids);
    const maxTotal = Math.max(asksCum.length ? asksCum[asksCum.length - 1][2] : 0, bidsCum.length ? bidsCum[bidsCum.length - 1][2] : 0);
    const mine = myPrices();
    const spread = asks.length && bids.length ? asks[0][0] - bids[0][0] : null;
    const outcome = S.view.toUpperCase();
    FT.setHTML(el, html`<table class="data ladder">
      <caption class="visually-hidden">Order book in ${outcome} prices: asks above, bids below</caption>
      <thead><tr><th scope="col" class="num">Price (${outcome})</th><th scope="col" class="num">Shares</th><th scope="col" class="num">Total</th></tr></thead>
      <tbody class="asks">${asksCum.slice().reverse().map(([p, s, t]) => levelRow("ask", p, s, t, maxTotal, mine))}
        ${asks.length ? "" : html`<tr><td colspan="3" class="muted empty">No asks</td></tr>`}</tbody>
      <tbody class="spread"><tr><td colspan="3">${spread === null ? "Spread —" : "Spread " + fmt.priceMicro(spread)}</td></tr></tbody>
      <tbody class="bids">${bidsCum.map(([p, s, t]) => levelRow("bid", p, s, t, maxTotal, mine))}
        ${bids.length ? "" : html`<tr><td colspan="3" class="muted empty">No bids</td></tr>`}</tbody>
    </table>`);
    el.dataset.seq = String(b.seq);
    const first = el.dataset.synced !== "true";
    el.dataset.synced = "true";
    if (first) quickQuoteSoon();
    renderBestPrices();
    renderPoolBook();
  }
  const renderBookSoon = (() => {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; renderBook(); });
    };
  })();

  // -- liquidity pool ------------------------------------------------------------------------

  async function loadPool() {
    try {
      S.pool = await api.get(`/markets/${S.market.id}/pool`);
      S.implied = S.market.contracts.length > 1 ? await api.get(`/markets/${S.market.id}/implied`) : null;
    } catch (err) {
      console.warn("pool", err);
      return;
    }
    renderPool();
  }
  const loadPoolSoon = (() => {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; loadPool(); }, 800);
    };
  })();

  function renderPool() {
    const p = S.pool;
    const panel = $("pool");
    if (!p || !p.pool) { panel.hidden = true; $("pool-book").hidden = true; return; }
    panel.hidden = false;
    const stat = (label, value, cls) => html`<div><dt>${label}</dt><dd class="num ${cls || ""}">${value}</dd></div>`;
    const pnlCls = p.pnl_worst && p.pnl_worst.startsWith("-") ? "down" : "up";
    FT.setHTML($("pool-stats"), html`
      ${stat("Subsidy", FT.money(p.subsidy))}
      ${stat("Max loss", FT.money(p.max_loss))}
      ${stat("Fees earned", FT.money(p.fees_earned))}
      ${stat("P&L (worst outcome)", FT.money(p.pnl_worst, true), pnlCls)}
      ${S.market.contracts.length > 1 ? stat("Sum of pool prices", p.price_sum || "—") : stat("Pool price (YES)", p.contracts[0] ? p.contracts[0].price : "—")}
      ${p.closed ? stat("Returned", FT.money(p.returned)) : ""}`);
    const imp = S.implied;
    if (imp) {
      $("pool-implied-wrap").hidden = false;
      const names = new Map(S.market.contracts.map((c) => [c.id, c.name]));
      const price = new Map(p.contracts.map((c) => [c.contract_id, c.price]));
      FT.setHTML($("pool-implied"), html`${imp.outcomes.map((o) => html`<tr>
          <th scope="row">${names.get(o.contract_id) || o.index}</th>
          <td class="num">${price.get(o.contract_id) || "—"}</td>
          <td class="num">${o.best_bid}</td><td class="num">${o.best_ask}</td></tr>`)}
        <tr class="sum"><th scope="row">Sum</th><td class="num">${p.price_sum || "—"}</td>
          <td class="num">${imp.bid_sum}</td><td class="num">${imp.ask_sum}</td></tr>`);
    }
    renderPoolBook();
  }

  function renderPoolBook() {
    const el = $("pool-book");
    const p = S.pool;
    const c = p && p.pool && S.contract ? p.contracts.find((x) => x.contract_id === S.contract.id) : null;
    if (!c || (!c.asks.length && !c.bids.length)) { el.hidden = true; return; }
    el.hidden = false;
    const toView = (levels) => levels.map(([price, size]) => [own(units.priceMicro(price)), size]);
    let asks = toView(c.asks).slice(0, BOOK_LEVELS);
    let bids = toView(c.bids).slice(0, BOOK_LEVELS);
    if (S.view === "no") { const t = asks; asks = bids; bids = t; }
    const row = (side, price, size) => html`<tr class="${side} pool-level" data-price="${price}" data-size="${size}">
      <td class="num"><button type="button" class="level" data-price="${price}" aria-label="Pool ${side} ${fmt.priceMicro(price)}, ${fmt.shares(size)} shares">${fmt.priceMicro(price)}</button></td>
      <td class="num">${fmt.shares(size)}</td><td class="muted small">pool</td></tr>`;
    FT.setHTML(el, html`<table class="data ladder">
      <caption>Pool depth (${S.view.toUpperCase()} prices, curve price ${c.price})</caption>
      <thead><tr><th scope="col" class="num">Price</th><th scope="col" class="num">Shares</th><th scope="col">Source</th></tr></thead>
      <tbody class="asks">${asks.slice().reverse().map(([pr, s]) => row("ask", pr, s))}</tbody>
      <tbody class="bids">${bids.map(([pr, s]) => row("bid", pr, s))}</tbody>
    </table>`);
  }

  // -- trades --------------------------------------------------------------------------------

  function sideText(takerSide) {
    const [action, outcome] = String(takerSide).split("_");
    if (!action) return "—";
    return `${action === "buy" ? "Buy" : "Sell"} ${String(outcome || "").toUpperCase()}`;
  }

  function renderTrades() {
    const body = $("trades");
    if (!S.trades.length) {
      FT.setHTML(body, html`<tr><td colspan="4" class="muted">No trades yet.</td></tr>`);
      return;
    }
    FT.setHTML(body, html`${S.trades.map((t) => {
      const up = t.taker_side.startsWith("buy_yes") || t.taker_side.startsWith("sell_no");
      const cls = (S.view === "no" ? !up : up) ? "up" : "down";
      return html`<tr><td><time datetime="${fmt.isoTime(t.ts_ms)}">${fmt.clock(t.ts_ms)}</time></td>
        <td class="num ${cls}">${fmt.priceMicro(own(t.price))}</td><td class="num">${fmt.shares(t.size)}</td>
        <td>${sideText(t.taker_side)}</td></tr>`;
    })}`);
  }

  async function loadTrades() {
    const c = S.contract;
    try {
      const data = await api.get(`/contracts/${c.id}/trades?limit=${TRADES_MAX}`);
      if (c !== S.contract) return;
      const seen = new Set(S.trades.map((t) => t.ts_ms + ":" + t.price + ":" + t.size));
      const rest = (data.trades || []).map(FT.market.normalizeTrade).filter((t) => !seen.has(t.ts_ms + ":" + t.price + ":" + t.size));
      S.trades = S.trades.concat(rest).sort((a, b) => b.ts_ms - a.ts_ms).slice(0, TRADES_MAX);
      renderTrades();
    } catch (err) {
      FT.showError($("m-error"), err);
    }
  }

  function onTrade(msg) {
    if (S.pool && S.pool.pool) loadPoolSoon();
    if (msg.contract_id !== S.contract.id) return;
    const t = FT.market.normalizeTrade(msg);
    S.trades.unshift(t);
    S.trades.length = Math.min(S.trades.length, TRADES_MAX);
    renderTrades();
    candleFromTrade(t);
  }

  function onTicker(msg) {
    const t = Object.assign({}, S.tickers.get(msg.contract_id) || {});
    t.last = msg.last;
    S.tickers.set(msg.contract_id, t);
    // The 24 h change needs the reference price: ask the API again, at most every few seconds.
    refreshTicker(msg.contract_id);
    if (S.contract && msg.contract_id === S.contract.id) renderTicker();
    renderOutcomes();
  }
  const tickerTimers = new Map();
  function refreshTicker(contractId) {
    if (tickerTimers.has(contractId)) return;
    tickerTimers.set(contractId, setTimeout(async () => {
      tickerTimers.delete(contractId);
      const c = S.market.contracts.find((x) => x.id === contractId);
      if (!c) return;
      await loadTicker(c);
      if (S.contract && S.contract.id === contractId) renderTicker();
      renderOutcomes();
    }, 2000));
  }

  // -- selecting a contract ------------------------------------------------------------------

  function selectContract(c) {
    S.unsubscribe.forEach((fn) => fn());
    S.unsubscribe = [];
    S.contract = c;
    S.trades = [];
    S.candles = [];
    const name = S.market.kind === "categorical" ? c.name : "";
    $("chart-contract").textContent = name ? "· " + name : "";
    $("ticket-contract").textContent = name ? "· " + name : "";
    $("ticket-yes").textContent = name ? `YES · ${name}` : "YES";
    $("ticket-no").textContent = "NO";
    S.book = new FT.book.LiveBook(c.id, renderBookSoon, (b) => {
      renderBook();
      FT.ws.resync(`book:${c.id}`);
    });
    FT.setHTML($("book"), html`<p class="muted">Connecting to the book…</p>`);
    S.unsubscribe.push(FT.ws.subscribe(`book:${c.id}`, (msg) => S.book.handle(msg)));
    S.unsubscribe.push(FT.ws.subscribe(`trades:${c.id}`, onTrade));
    renderOutcomes();
    renderTicker();
    if (S.intervalChosen) {
      loadCandles();
    } else {
      autoInterval(c).then((interval) => {
        if (c !== S.contract) return;
        S.interval = interval;
        const radio = document.querySelector(`#chart-interval input[value="${interval}"]`);
        if (radio) radio.checked = true;
        loadCandles();
      });
    }
    loadTrades();
    updateTicket();
    updateQuick();
    renderMine();
  }

  // -- the order ticket ----------------------------------------------------------------------

  function ticketValues() {
    const f = $("ticket");
    const get = (name) => { const el = f.elements[name]; return el ? (el.value !== undefined ? el.value : "") : ""; };
    return {
      outcome: get("outcome"), side: get("side"), type: get("type"), amountMode: get("amount_mode"),
      price: get("price").trim(), protect: get("protect").trim(), amount: get("amount").trim(),
      tif: get("tif"), expire: get("expire"),
      postOnly: f.elements.post_only.checked, reduceOnly: f.elements.reduce_only.checked,
      tp: get("take_profit").trim(), sl: get("stop_loss").trim(), trail: get("trail").trim(),
    };
  }

  /** The POST /orders body of the ticket, or an error text. */
  function ticketBody(v) {
    const body = { contract_id: S.contract.id, outcome: v.outcome, side: v.side, type: v.type };
    if (v.type === "limit") {
      if (!v.price) return { error: "Enter a limit price in cents." };
      const price = units.centsToPrice(v.price);
      if (!price) return { error: "The limit price must be in cents, between 0 and 100 (for example 57 or 57.5)." };
      body.price = price;
      body.tif = v.tif;
      if (v.tif === "gtd") {
        if (!v.expire) return { error: "Choose when a good-till-date order expires." };
        body.expire_at_ms = new Date(v.expire).getTime();
      }
      if (v.postOnly) body.post_only = true;
    } else if (v.protect) {
      const protect = units.centsToPrice(v.protect);
      if (!protect) return { error: "The worst price must be in cents, between 0 and 100." };
      body.price = protect;
    }
    if (!v.amount) return { error: v.amountMode === "spend" ? "Enter how many dollars to spend." : "Enter a number of shares." };
    if (v.type === "market" && v.side === "buy" && v.amountMode === "spend") {
      const spend = units.dollarsToAmount(v.amount);
      if (!spend) return { error: "Enter the dollars to spend, for example 25 or 25.50." };
      body.spend = spend;
    } else {
      if (!/^\d{1,9}$/.test(v.amount.replace(/,/g, "")) || Number(v.amount.replace(/,/g, "")) < 1) return { error: "Shares are whole numbers, at least 1." };
      body.size = Number(v.amount.replace(/,/g, ""));
    }
    if (v.reduceOnly) body.reduce_only = true;
    return { body };
  }

  function exitsOf(v) {
    const exits = {};
    for (const [key, text] of [["take_profit", v.tp], ["stop_loss", v.sl]]) {
      if (!text) continue;
      const price = units.centsToPrice(text);
      if (!price) return { error: "Take-profit and stop-loss are prices in cents between 0 and 100." };
      exits[key] = price;
    }
    if (v.trail) {
      const trail = units.centsToPrice(v.trail);
      if (!trail) return { error: "The trailing distance is in cents, for example 5." };
      exits.trail = trail;
    }
    return { exits: Object.keys(exits).length ? exits : null };
  }

  function updateTicket() {
    const f = $("ticket");
    if (!f || !S.contract) return;
    const v = ticketValues();
    FT.$$("[data-for=limit]", f).forEach((el) => { el.hidden = v.type !== "limit"; });
    FT.$$("[data-for=market]", f).forEach((el) => { el.hidden = v.type !== "market"; });
    const spendable = v.type === "market" && v.side === "buy";
    $("amount-mode").hidden = !spendable;
    if (!spendable && v.amountMode === "spend") f.querySelector("input[name=amount_mode][value=size]").checked = true;
    $("t-amount-label").textContent = spendable && ticketValues().amountMode === "spend" ? "Dollars to spend" : "Shares";
    $("gtd-field").hidden = !(v.type === "limit" && v.tif === "gtd");
    const outcomeName = S.market.kind === "categorical" ? `${v.outcome.toUpperCase()} · ${S.contract.name}` : v.outcome.toUpperCase();
    $("ticket-submit").textContent = `${v.side === "buy" ? "Buy" : "Sell"} ${outcomeName}`;
    $("ticket-submit").className = "btn wide " + (v.side === "buy" ? "primary" : "danger");
    const tick = tickMicro();
    FT.$$("[data-tick]", f).forEach((el) => { el.textContent = fmt.priceMicro(tick); });
    FT.$$("[data-tick-min]", f).forEach((el) => { el.textContent = fmt.priceMicro(tick); });
    FT.$$("[data-tick-max]", f).forEach((el) => { el.textContent = fmt.priceMicro(MICRO - tick); });
    const open = S.market.status === "open";
    const over = !["open", "halted"].includes(S.market.status);
    $("ticket-submit").disabled = !open;
    FT.$$(":scope > :not(#ticket-status)", f).forEach((el) => { if (over) el.hidden = true; });
    const winner = winnerName();
    const status = $("ticket-status").textContent;
    $("ticket-status").textContent = open ? (status.startsWith("Trading") ? "" : status)
      : over ? `Trading has ended: this market is ${fmt.label(S.market.status)}${winner ? ` (${winner} won)` : ""}.`
        : "Trading is halted; orders can be cancelled but not placed until it resumes.";
    if (open) quoteSoon();
  }

  let quoteTimer = null;
  let quoteSerial = 0;
  function quoteSoon() {
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(runQuote, 250);
  }

  async function runQuote() {
    const box = $("quote");
    if (!S.account || !S.contract) return;
    const v = ticketValues();
    const built = ticketBody(v);
    if (built.error) {
      FT.setHTML(box, html`<p class="muted">${v.amount ? built.error : "Enter an amount to see the quote."}</p>`);
      return;
    }
    const serial = ++quoteSerial;
    try {
      const q = await api.post("/orders/quote", built.body);
      if (serial !== quoteSerial) return;
      FT.setHTML(box, quoteHtml(q, v));
    } catch (err) {
      if (serial !== quoteSerial) return;
      FT.setHTML(box, html`<p class="muted">Quote unavailable: ${FT.errorText(err)}</p>`);
    }
  }

  function quoteHtml(q, v) {
    const rows = [
      ["Fills now", `${fmt.shares(q.filled)} sh` + (q.unfilled ? ` (${fmt.shares(q.unfilled)} ${v.type === "limit" ? "would rest" : "unfilled"})` : "")],
      ["Average price", FT.priceTag(q.avg_price)],
      ["Fee", html`${FT.money(q.fee)} (${fmt.ppm(q.fee_rate_ppm)})`],
    ];
    if (v.side === "buy") {
      rows.push(["Cost now", FT.money(q.cost_now)]);
      rows.push(["Max cost", FT.money(q.max_cost)]);
      rows.push(["Payout if it wins", html`${FT.money(q.potential_payout)}${q.payout_if_all_filled && q.payout_if_all_filled !== q.potential_payout ? html` now, ${FT.money(q.payout_if_all_filled)} if all fill` : ""}`]);
    } else {
      rows.push(["Proceeds now", FT.money(q.proceeds_now)]);
    }
    const summary = FT.quoteSummary(q, { type: v.type, tif: v.tif });
    return html`${summary ? html`<p class="quote-summary">${summary}</p>` : ""}<dl class="quote-list">${rows.map(([k, val]) => html`<div><dt>${k}</dt><dd class="num">${val}</dd></div>`)}</dl>`;
  }

  function newClientOrderId() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function orderSummary(o) {
    const what = `${o.side === "buy" ? "Buy" : "Sell"} ${String(o.outcome).toUpperCase()}`;
    if (o.status === "filled") return `${what}: filled ${fmt.shares(o.filled)} at ${fmt.price(o.avg_price)} average, fee ${fmt.amount(o.fees)}.`;
    if (o.status === "open") {
      return `${what}: ${o.filled ? `filled ${fmt.shares(o.filled)} at ${fmt.price(o.avg_price)}, ` : ""}${fmt.shares(o.remaining)} resting at ${fmt.price(o.price)}.`;
    }
    return `${what}: ${o.filled ? `filled ${fmt.shares(o.filled)} at ${fmt.price(o.avg_price)}; ` : ""}rest cancelled (${fmt.label(o.reason || "cancelled")}).`;
  }

  async function submitTicket(event) {
    event.preventDefault();
    const form = $("ticket");
    FT.clearError(form);
    const v = ticketValues();
    const built = ticketBody(v);
    if (built.error) return FT.showError(form, built.error);
    const exits = exitsOf(v);
    if (exits.error) return FT.showError(form, exits.error);
    S.clientOrderId = S.clientOrderId || newClientOrderId();
    built.body.client_order_id = S.clientOrderId;
    const button = $("ticket-submit");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const order = await api.post("/orders", built.body);
      S.clientOrderId = null;
      $("ticket-status").textContent = orderSummary(order);
      FT.toast(orderSummary(order), "ok");
      if (exits.exits) {
        S.pendingExits.set(order.id, { exits: exits.exits, outcome: order.outcome, covered: 0 });
        if (order.filled) await coverExits(order.id, order.filled);
        if (order.status !== "open") S.pendingExits.delete(order.id);
      }
      refreshMine();
    } catch (err) {
      if (!(err instanceof FT.ApiError) || err.status !== 0) S.clientOrderId = null;  // keep the id to retry a lost answer safely
      FT.showError(form, err);
    } finally {
      button.disabled = S.market.status !== "open";
      form.removeAttribute("aria-busy");
      quoteSoon();
    }
  }

  /** Place the exits of an order for its filled shares not yet covered. */
  async function coverExits(orderId, filled) {
    const pending = S.pendingExits.get(orderId);
    if (!pending || filled <= pending.covered) return;
    const size = filled - pending.covered;
    pending.covered = filled;
    try {
      const body = Object.assign({ contract_id: S.contract.id, outcome: pending.outcome, size }, pending.exits);
      await api.post("/triggers", body);
      FT.toast(`Exit orders placed for ${fmt.shares(size)} shares.`, "ok");
    } catch (err) {
      pending.covered -= size;
      FT.showError($("ticket"), err);
    }
    refreshMine();
  }

  async function onMyFill(msg) {
    const pending = S.pendingExits.get(msg.order_id);
    if (!pending) return;
    try {
      const o = await api.get(`/orders/${msg.order_id}`);
      await coverExits(msg.order_id, o.filled || 0);
      if (o.status !== "open") S.pendingExits.delete(msg.order_id);
    } catch (err) {
      console.warn("exit cover", err);
    }
  }

  // -- the quick ticket: Buy Yes / Buy No for a dollar amount -------------------------------

  /** The price to buy an outcome now: its best ask in its own terms. */
  function askOf(outcome) {
    if (!S.book || S.book.seq === null) return null;
    const v = S.book.view(outcome);
    return v.asks.length ? v.asks[0][0] : null;
  }

  function renderQuickPrices() {
    for (const o of ["yes", "no"]) {
      const el = document.querySelector(`[data-quick-price="${o}"]`);
      if (el) el.textContent = fmt.priceMicro(askOf(o));
    }
  }

  function quickName(outcome) {
    return outcome === "yes" ? "Yes" : "No";
  }

  function updateQuick() {
    if (!S.contract) return;
    const o = S.quickOutcome;
    for (const b of FT.$$("#quick [data-outcome]")) b.setAttribute("aria-pressed", String(b.dataset.outcome === o));
    const name = S.market.kind === "categorical" ? ` · ${S.contract.name}` : "";
    $("quick-submit").textContent = `Buy ${quickName(o)}${name}`;
    $("quick-submit").className = "btn wide big-btn " + (o === "yes" ? "primary" : "no-btn");
    const open = S.market.status === "open";
    const over = !["open", "halted"].includes(S.market.status);
    $("quick-submit").disabled = !open;
    FT.$$("#quick > :not(#quick-status)").forEach((el) => { if (over) el.classList.add("gone"); });
    if (!open) {
      const winner = winnerName();
      $("quick-status").textContent = over
        ? `Trading has ended: this market is ${fmt.label(S.market.status)}${winner ? ` (${winner} won)` : ""}.`
        : "Trading is halted; orders can be placed again when it resumes.";
    } else if ($("quick-status").textContent.startsWith("Trading")) {
      $("quick-status").textContent = "";
    }
    renderQuickPrices();
    quickQuoteSoon();
  }

  let quickTimer = null;
  let quickSerial = 0;
  function quickQuoteSoon() {
    clearTimeout(quickTimer);
    quickTimer = setTimeout(runQuickQuote, 200);
  }

  function quickSpend() {
    const spend = units.dollarsToAmount($("quick-amount").value);
    const micro = spend === null ? null : units.microBig(spend);
    return micro !== null && micro > 0n ? spend : null;
  }

  /** Without an account there is no quote from the server: walk the live book instead. */
  function estimate(outcome, spendMicro) {
    if (!S.book || S.book.seq === null) return null;
    let left = spendMicro;
    let shares = 0n;
    let cost = 0n;
    for (const [price, size] of S.book.view(outcome).asks) {
      const p = BigInt(price);
      const can = left / p;
      const take = can < BigInt(size) ? can : BigInt(size);
      shares += take;
      cost += take * p;
      left -= take * p;
      if (take < BigInt(size)) break;
    }
    return { shares, cost };
  }

  function quickRows(rows) {
    return html`<dl class="quote-list">${rows.map(([k, val, cls]) => html`<div><dt>${k}</dt><dd class="num ${cls || ""}">${val}</dd></div>`)}</dl>`;
  }

  async function runQuickQuote() {
    const box = $("quick-quote");
    if (!S.contract || S.market.status !== "open") return;
    const spend = quickSpend();
    const o = S.quickOutcome;
    if (!spend) {
      FT.setHTML(box, html`<p class="muted">Enter the dollars to spend, for example 10.</p>`);
      return;
    }
    const serial = ++quickSerial;
    if (!S.account) {
      const e = estimate(o, units.microBig(spend));
      if (!e || e.shares === 0n) {
        FT.setHTML(box, html`<p class="muted">No ${quickName(o)} shares are offered right now.</p>`);
        return;
      }
      FT.setHTML(box, html`${quickRows([
        ["Shares (about)", fmt.shares(Number(e.shares))],
        ["Average price", fmt.priceMicro(Number(e.cost / e.shares))],
        [`Payout if ${quickName(o)}`, FT.money(e.shares * 1000000n)],
      ])}<p class="help">An estimate from the order book, before fees. Sign up or log in for an exact quote.</p>`);
      return;
    }
    try {
      const q = await api.post("/orders/quote", { contract_id: S.contract.id, outcome: o, side: "buy", type: "market", spend });
      if (serial !== quickSerial) return;
      if (!q.filled) {
        FT.setHTML(box, html`<p class="muted">No ${quickName(o)} shares are offered within the price protection right now.</p>`);
        return;
      }
      const cost = units.microBig(q.cost_now);
      const payout = units.microBig(q.potential_payout);
      const profit = payout - cost;
      const pct = cost > 0n ? Number((profit * 1000n) / cost) / 10 : 0;
      FT.setHTML(box, quickRows([
        ["Shares", fmt.shares(q.filled)],
        ["Average price", FT.priceTag(q.avg_price)],
        ["Fee", FT.money(q.fee)],
        ["Total cost", FT.money(q.cost_now)],
        [`Payout if ${quickName(o)}`, FT.money(q.potential_payout)],
        ["Max profit", html`${FT.money(profit, true)} <span class="muted">(${pct > 0 ? "+" : ""}${pct.toFixed(0)}%)</span>`, profit > 0n ? "up" : "down"],
      ]));
      box.dataset.shares = String(q.filled);
    } catch (err) {
      if (serial !== quickSerial) return;
      FT.setHTML(box, html`<p class="muted">Quote unavailable: ${FT.errorText(err)}</p>`);
    }
  }

  async function submitQuick(event) {
    event.preventDefault();
    const form = $("quick");
    FT.clearError(form);
    if (!S.account) return;
    const spend = quickSpend();
    if (!spend) return FT.showError(form, "Enter the dollars to spend, for example 10 or 25.50.");
    S.quickClientOrderId = S.quickClientOrderId || newClientOrderId();
    const body = { contract_id: S.contract.id, outcome: S.quickOutcome, side: "buy", type: "market", spend, client_order_id: S.quickClientOrderId };
    const button = $("quick-submit");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const order = await api.post("/orders", body);
      S.quickClientOrderId = null;
      const text = order.filled
        ? `Bought ${fmt.shares(order.filled)} ${quickName(order.outcome)} shares at ${fmt.price(order.avg_price)} average.`
        : `Nothing bought: no ${quickName(order.outcome)} shares were offered within the price protection.`;
      $("quick-status").textContent = text;
      FT.toast(text, order.filled ? "ok" : "error");
      refreshMine();
    } catch (err) {
      if (!(err instanceof FT.ApiError) || err.status !== 0) S.quickClientOrderId = null;
      FT.showError(form, err);
    } finally {
      button.disabled = S.market.status !== "open";
      form.removeAttribute("aria-busy");
      quickQuoteSoon();
    }
  }

  /** Sell a whole position back at the market (with the API's default price protection). */
  async function sellBack(contractId, outcome, size) {
    try {
      const order = await api.post("/orders", { contract_id: contractId, outcome, side: "sell", type: "market", size, client_order_id: newClientOrderId() });
      const proceeds = units.microBig(order.avg_price || "0") * BigInt(order.filled || 0);
      const text = order.filled
        ? `Sold ${fmt.shares(order.filled)} ${quickName(outcome)} shares at ${fmt.price(order.avg_price)} average (${fmt.amount(proceeds)} before fees).`
        : `Nothing sold: no buyer within the price protection right now.`;
      FT.toast(text, order.filled ? "ok" : "error");
      $("quick-status").textContent = text;
    } catch (err) {
      FT.toast(FT.errorText(err), "error");
    }
    refreshMine();
  }

  const ADVANCED_KEY = "foretell.ticket.advanced";
  function setAdvanced(on, remember) {
    const panel = document.querySelector(".ticket");
    panel.dataset.advanced = String(on);
    $("advanced-toggle").checked = on;
    if (remember) {
      try { localStorage.setItem(ADVANCED_KEY, on ? "1" : "0"); } catch (err) { /* private mode */ }
    }
    if (on) updateTicket(); else updateQuick();
  }
  function rememberedAdvanced() {
    try { return localStorage.getItem(ADVANCED_KEY) === "1"; } catch (err) { return false; }
  }

  // -- my orders, exits and position -------------------------------------------------------

  function marketContractIds() {
    return new Set(S.market.contracts.map((c) => c.id));
  }

  function contractName(id) {
    const c = S.market.contracts.find((x) => x.id === id);
    return c && S.market.kind === "categorical" ? c.name : "";
  }

  function renderOpenOrders() {
    const el = $("open-orders");
    const ids = marketContractIds();
    const orders = S.openOrders.filter((o) => ids.has(o.contract_id));
    $("cancel-all").hidden = !orders.length;
    if (!orders.length) {
      FT.setHTML(el, html`<p class="muted">No open orders in this market.</p>`);
      return;
    }
    FT.setHTML(el, html`<table class="data compact cards" id="open-orders-table">
      <caption class="visually-hidden">My open orders in this market</caption>
      <thead><tr><th scope="col">Order</th><th scope="col" class="num">Price</th><th scope="col" class="num">Filled / size</th><th scope="col">TIF</th><th scope="col">Placed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${orders.map((o) => html`<tr data-order="${o.id}">
        <td class="card-main"><span class="${FT.sideClass(o.side)}">${o.side === "buy" ? "Buy" : "Sell"} ${String(o.outcome).toUpperCase()}</span> ${contractName(o.contract_id)}${o.post_only ? html` <span class="chip">post-only</span>` : ""}${o.reduce_only ? html` <span class="chip">reduce-only</span>` : ""}</td>
        <td class="num" data-label="Price">${FT.priceTag(o.price)}</td>
        <td class="num" data-label="Filled / size">${fmt.shares(o.filled)} / ${fmt.shares(o.size)}</td>
        <td data-label="Time in force">${String(o.tif || "").toUpperCase()}${o.expire_at_ms ? html` <span class="muted small">until ${FT.timeTag(o.expire_at_ms)}</span>` : ""}</td>
        <td data-label="Placed">${FT.timeTag(o.created_at_ms)}</td>
        <td class="actions"><button type="button" class="btn ghost small" data-amend="${o.id}">Amend<span class="visually-hidden"> order ${o.id}</span></button>
          <button type="button" class="btn danger small" data-cancel="${o.id}">Cancel<span class="visually-hidden"> order ${o.id}</span></button></td>
      </tr>`)}</tbody></table>`);
  }

  function amendRow(orderId) {
    const o = S.openOrders.find((x) => x.id === orderId);
    const row = document.querySelector(`tr[data-order="${orderId}"]`);
    if (!o || !row || row.nextElementSibling?.classList.contains("amend-row")) return;
    const cents = (units.priceMicro(o.price) / 10000).toString();
    row.insertAdjacentHTML("afterend", String(html`<tr class="amend-row"><td colspan="6">
      <form class="amend-form inline" data-order="${o.id}" novalidate>
        <div class="field"><label for="amend-price-${o.id}">New price (¢)</label><input id="amend-price-${o.id}" name="price" value="${cents}" inputmode="decimal"></div>
        <div class="field"><label for="amend-size-${o.id}">New remaining shares</label><input id="amend-size-${o.id}" name="size" value="${o.remaining}" inputmode="numeric"></div>
        <button class="btn primary small" type="submit">Save</button>
        <button class="btn ghost small" type="button" data-close-amend>Close</button>
        <p class="help">A size decrease alone keeps your place in the queue; any other change loses it.</p>
        <p class="form-error" data-error role="alert" hidden></p>
      </form></td></tr>`));
    row.nextElementSibling.querySelector("input").focus();
  }

  async function submitAmend(form) {
    const id = Number(form.dataset.order);
    const o = S.openOrders.find((x) => x.id === id);
    const body = {};
    const price = form.elements.price.value.trim();
    const size = form.elements.size.value.trim();
    if (price) {
      const p = units.centsToPrice(price);
      if (!p) return FT.showError(form, "The price must be in cents between 0 and 100.");
      if (!o || p !== o.price) body.price = p;
    }
    if (size) {
      if (!/^\d+$/.test(size) || Number(size) < 1) return FT.showError(form, "Shares are whole numbers, at least 1.");
      if (!o || Number(size) !== o.remaining) body.size = Number(size);
    }
    if (!Object.keys(body).length) return FT.showError(form, "Change the price or the size first.");
    try {
      await api.patch(`/orders/${id}`, body);
      FT.toast(`Order ${id} amended.`, "ok");
      refreshMine();
    } catch (err) {
      FT.showError(form, err);
    }
  }

  async function cancelOrder(id) {
    try {
      await api.del(`/orders/${id}`);
      FT.toast(`Order ${id} cancelled.`, "ok");
    } catch (err) {
      FT.toast(FT.errorText(err), "error");
    }
    refreshMine();
  }

  function triggerText(t) {
    const kind = { take_profit: "Take-profit", stop_loss: "Stop-loss", trailing_stop: "Trailing stop", trailing: "Trailing stop" }[t.kind] || fmt.label(t.kind);
    return kind;
  }

  function renderTriggers() {
    const el = $("triggers");
    const ids = marketContractIds();
    const list = S.triggers.filter((t) => ids.has(t.contract_id));
    if (!list.length) {
      FT.setHTML(el, html`<p class="muted">No exit orders in this market.</p>`);
      return;
    }
    FT.setHTML(el, html`<table class="data compact cards" id="triggers-table">
      <caption class="visually-hidden">My take-profit, stop-loss and trailing-stop orders in this market</caption>
      <thead><tr><th scope="col">Exit</th><th scope="col" class="num">Trigger</th><th scope="col" class="num">Shares</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${list.map((t) => html`<tr data-trigger="${t.id}">
        <td class="card-main">${triggerText(t)} · sell ${String(t.outcome).toUpperCase()} ${contractName(t.contract_id)}${t.oco_with ? html` <span class="chip" title="One cancels the other">OCO</span>` : ""}</td>
        <td class="num" data-label="Trigger">${t.trail ? "trail " + fmt.price(t.trail) : fmt.price(t.trigger_price)}${t.limit_price ? html` <span class="muted small">limit ${fmt.price(t.limit_price)}</span>` : ""}</td>
        <td class="num" data-label="Shares">${fmt.shares(t.size)}</td>
        <td data-label="Status">${fmt.label(t.status)}</td>
        <td class="actions"><button type="button" class="btn danger small" data-cancel-trigger="${t.id}">Cancel<span class="visually-hidden"> exit ${t.id}</span></button></td>
      </tr>`)}</tbody></table>`);
  }

  function positionRows() {
    const ids = marketContractIds();
    const pick = FT.market.pick;
    return S.positions.filter((p) => ids.has(pick(p, "contract_id"))).map((p) => ({
      raw: p,
      contract_id: pick(p, "contract_id"),
      yes: Number(pick(p, "yes", "yes_shares") || 0),
      no: Number(pick(p, "no", "no_shares") || 0),
      cost: pick(p, "cost"),
      avg_yes: pick(p, "avg_yes_cost", "avg_yes_price"),
      avg_no: pick(p, "avg_no_cost", "avg_no_price"),
      realized: pick(p, "realized_pnl"),
      unrealized: pick(p, "unrealized_pnl"),
      value: pick(p, "mark_value", "value"),
    }));
  }

  function renderPosition() {
    const el = $("position");
    const rows = positionRows().filter((r) => r.yes || r.no || (units.microBig(r.realized) || 0n) !== 0n);
    if (!rows.length) {
      FT.setHTML(el, html`<p class="muted" id="position-none">No position in this market.</p>`);
      return;
    }
    const open = S.market.status === "open";
    FT.setHTML(el, html`${rows.map((r) => {
      const name = contractName(r.contract_id);
      const held = r.yes ? "yes" : r.no ? "no" : null;
      const size = r.yes || r.no;
      const avg = held === "yes" ? r.avg_yes : r.avg_no;
      const cost = units.microBig(r.cost);
      const unreal = units.microBig(r.unrealized);
      const pct = cost && unreal !== null && cost > 0n ? Number((unreal * 1000n) / cost) / 10 : null;
      return html`<div class="position-card" data-contract="${r.contract_id}">
        <p class="position-title">${held ? html`<strong class="${held === "yes" ? "up" : "down"}">${fmt.shares(size)} ${quickName(held)}</strong> shares` : html`<strong>Closed</strong>`}${name ? html` · ${name}` : ""}${avg ? html` <span class="muted">at ${FT.priceTag(avg)} average</span>` : ""}</p>
        <dl class="position-list">
          <div><dt>Yes shares</dt><dd class="num" data-pos-yes>${fmt.shares(r.yes)}</dd></div>
          <div><dt>No shares</dt><dd class="num" data-pos-no>${fmt.shares(r.no)}</dd></div>
          ${r.cost !== undefined ? html`<div><dt>Cost</dt><dd class="num">${FT.money(r.cost)}</dd></div>` : ""}
          ${r.value !== undefined ? html`<div><dt>Value now</dt><dd class="num" title="At the last trade price">${FT.money(r.value)}</dd></div>` : ""}
          ${r.unrealized !== undefined ? html`<div><dt>Unrealized P&amp;L</dt><dd class="num ${pnlClass(r.unrealized)}" data-pos-pnl>${FT.money(r.unrealized, true)}${pct !== null ? html` <span class="small">(${pct > 0 ? "+" : ""}${pct.toFixed(1)}%)</span>` : ""}</dd></div>` : ""}
          ${r.realized !== undefined ? html`<div><dt>Realized P&amp;L</dt><dd class="num ${pnlClass(r.realized)}">${FT.money(r.realized, true)}</dd></div>` : ""}
        </dl>
        ${held && open ? html`<button type="button" class="btn danger wide" data-sell-back="${held}" data-contract="${r.contract_id}" data-size="${size}">Sell ${fmt.shares(size)} ${quickName(held)} now</button>` : ""}
      </div>`;
    })}`);
    const first = rows.find((r) => r.contract_id === S.contract.id);
    const sizeInput = $("p-size");
    if (first && sizeInput && !sizeInput.value) sizeInput.value = String(first.yes || first.no || "");
  }

  function pnlClass(text) {
    const v = units.microBig(text);
    return v === null ? "" : v > 0n ? "up" : v < 0n ? "down" : "";
  }

  function renderMine() {
    if (!S.account || !S.market) return;
    renderOpenOrders();
    renderTriggers();
    renderPosition();
    renderBookSoon();
  }

  async function loadMine() {
    if (!S.account) return;
    const [orders, triggers, positions] = await Promise.allSettled([
      api.get(`/orders?status=open&market_id=${S.market.id}`),
      api.get("/triggers"),
      api.get("/portfolio/positions"),
    ]);
    if (orders.status === "fulfilled") S.openOrders = orders.value.orders || [];
    if (triggers.status === "fulfilled") S.triggers = triggers.value.triggers || [];
    if (positions.status === "fulfilled") S.positions = positions.value.positions || [];
    for (const r of [orders, triggers, positions]) if (r.status === "rejected") FT.showError($("m-error"), r.reason);
    renderMine();
  }
  const refreshMine = FT.debounce(loadMine, 150);

  async function submitProtect(event) {
    event.preventDefault();
    const form = $("protect-form");
    FT.clearError(form);
    const size = form.elements.size.value.trim();
    if (!/^\d+$/.test(size) || Number(size) < 1) return FT.showError(form, "Enter how many shares to protect (a whole number).");
    const exits = exitsOf({ tp: form.elements.take_profit.value.trim(), sl: form.elements.stop_loss.value.trim(), trail: form.elements.trail.value.trim() });
    if (exits.error) return FT.showError(form, exits.error);
    if (!exits.exits) return FT.showError(form, "Enter a take-profit, a stop-loss or a trailing distance.");
    const body = Object.assign({ contract_id: S.contract.id, outcome: form.elements.outcome.value, size: Number(size) }, exits.exits);
    try {
      const r = await api.post("/triggers", body);
      FT.toast(`${r.triggers.length} exit order${r.triggers.length === 1 ? "" : "s"} placed.`, "ok");
      form.elements.take_profit.value = "";
      form.elements.stop_loss.value = "";
      form.elements.trail.value = "";
      refreshMine();
    } catch (err) {
      FT.showError(form, err);
    }
  }

  // -- rules, clarifications, lifecycle, news ------------------------------------------------

  const RULES = [
    ["resolution_criteria", "Resolution criteria"],
    ["resolution_sources", "Resolution sources"],
    ["ambiguity", "If the outcome is ambiguous"],
    ["postponement", "If the event is postponed"],
    ["cancellation", "If the event is cancelled"],
  ];

  function renderRules() {
    const m = S.market;
    const r = m.rules || {};
    const known = new Set(RULES.map(([k]) => k));
    const extra = Object.keys(r).filter((k) => !known.has(k));
    const value = (v) => (Array.isArray(v) ? html`<ul>${v.map((x) => html`<li>${x}</li>`)}</ul>` : html`<p>${v}</p>`);
    FT.setHTML($("rules"), html`
      ${m.description ? html`<p class="lead">${m.description}</p>` : ""}
      <dl class="rules-list">
        ${RULES.filter(([k]) => r[k] !== undefined && r[k] !== "").map(([k, label]) => html`<div><dt>${label}</dt><dd>${value(r[k])}</dd></div>`)}
        ${extra.map((k) => html`<div><dt>${fmt.label(k)}</dt><dd>${value(r[k])}</dd></div>`)}
        <div><dt>Outcomes</dt><dd>${(m.outcomes.length ? m.outcomes : ["Yes", "No"]).join(" · ")}</dd></div>
        <div><dt>Trading closes</dt><dd>${FT.timeTag(m.close_ms)}</dd></div>
        <div><dt>Resolution deadline</dt><dd>${FT.timeTag(m.resolution_deadline_ms)}</dd></div>
        <div><dt>Tick size, maximum order</dt><dd>${fmt.price(m.tick)} · ${fmt.shares(m.size_max)} shares</dd></div>
        <div><dt>Fees (maker / taker)</dt><dd>${fmt.ppm(m.maker_fee_ppm)} / ${fmt.ppm(m.taker_fee_ppm)} of notional</dd></div>
        ${m.winner !== undefined && m.winner !== null ? html`<div><dt>Winning outcome</dt><dd>${typeof m.winner === "number" ? (m.outcomes[m.winner] || m.winner) : m.winner}</dd></div>` : ""}
      </dl>`);
    const clar = m.clarifications;
    const hasClarifications = FT.market.pick(m.raw, "clarifications") !== undefined;
    $("clarifications").hidden = !hasClarifications;
    $("clarifications-title").hidden = !hasClarifications;
    FT.setHTML($("clarifications"), clar.length ? html`<ol class="timeline">${clar.map((c) => html`<li>
        <p class="muted small">${FT.timeTag(c.at_ms || c.ts_ms)}${c.author ? " · " + c.author : ""}</p><p>${c.text}</p></li>`)}</ol>`
      : html`<p class="muted">No clarifications have been added.</p>`);
    const tl = m.timeline;
    FT.setHTML($("timeline"), tl.length ? html`<ol class="timeline">${tl.map((e) => html`<li>
        <p><strong>${fmt.label(e.action || e.status || e.event || "")}</strong> <span class="muted small">${FT.timeTag(e.at_ms || e.ts_ms)}${e.actor ? " · " + e.actor : ""}</span></p>
        ${e.note || e.reason ? html`<p>${e.note || e.reason}</p>` : ""}</li>`)}</ol>`
      : html`<p class="muted">No lifecycle events recorded.</p>`);
  }

  async function loadNews() {
    try {
      const data = await api.get(`/news?market_id=${S.market.id}&limit=10`);
      const items = (data && (data.news || data.items)) || [];
      if (!items.length) return;
      FT.setHTML($("market-news-list"), html`${items.map(FT.newsItem)}`);
      $("market-news").hidden = false;
    } catch (err) {
      console.warn("news", err);
    }
  }

  // -- wiring --------------------------------------------------------------------------------

  function bindEvents() {
    $("chart-interval").addEventListener("change", (e) => {
      S.interval = e.target.value;
      S.intervalChosen = true;
      S.candles = [];
      loadCandles();
    });
    $("book-view").addEventListener("change", (e) => {
      S.view = e.target.value;
      renderBook();
      renderChart();
      renderTrades();
      renderTicker();
    });
    $("outcome-rows").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-contract]");
      if (!button) return;
      const c = S.market.contracts.find((x) => String(x.id) === button.dataset.contract);
      if (c && c !== S.contract) selectContract(c);
    });
    const copyPrice = (e) => {
      const button = e.target.closest("button.level");
      if (!button) return;
      const f = $("ticket");
      if (!f) return;
      f.querySelector(`input[name=outcome][value=${S.view}]`).checked = true;
      f.querySelector("input[name=type][value=limit]").checked = true;
      f.elements.price.value = (Number(button.dataset.price) / 10000).toString();
      updateTicket();
      f.elements.price.focus();
    };
    $("book").addEventListener("click", copyPrice);
    $("pool-book").addEventListener("click", copyPrice);
    $("chart-kind").addEventListener("change", (e) => {
      S.chartKind = e.target.value;
      renderChart();
    });
    const quick = $("quick");
    quick.addEventListener("click", (e) => {
      const pick = e.target.closest("[data-outcome]");
      if (pick) {
        S.quickOutcome = pick.dataset.outcome;
        updateQuick();
        return;
      }
      const add = e.target.closest("[data-add]");
      if (add) {
        const now = units.microBig(units.dollarsToAmount($("quick-amount").value) || "0") || 0n;
        const next = (now < 0n ? 0n : now) + BigInt(add.dataset.add) * 1000000n;
        $("quick-amount").value = fmt.amount(next).replace(/[$,]/g, "").replace(/\.00$/, "");
        quickQuoteSoon();
      }
    });
    quick.addEventListener("input", quickQuoteSoon);
    quick.addEventListener("submit", submitQuick);
    $("advanced-toggle").addEventListener("change", (e) => setAdvanced(e.target.checked, true));
    $("position").addEventListener("click", (e) => {
      const b = e.target.closest("[data-sell-back]");
      if (!b) return;
      b.disabled = true;
      sellBack(Number(b.dataset.contract), b.dataset.sellBack, Number(b.dataset.size));
    });
    const ticket = $("ticket");
    ticket.addEventListener("input", updateTicket);
    ticket.addEventListener("change", updateTicket);
    ticket.addEventListener("submit", submitTicket);
    $("protect-form").addEventListener("submit", submitProtect);
    $("open-orders").addEventListener("click", (e) => {
      const cancel = e.target.closest("[data-cancel]");
      if (cancel) return cancelOrder(Number(cancel.dataset.cancel));
      const amend = e.target.closest("[data-amend]");
      if (amend) return amendRow(Number(amend.dataset.amend));
      const close = e.target.closest("[data-close-amend]");
      if (close) close.closest("tr").remove();
    });
    $("open-orders").addEventListener("submit", (e) => {
      e.preventDefault();
      submitAmend(e.target);
    });
    $("triggers").addEventListener("click", async (e) => {
      const button = e.target.closest("[data-cancel-trigger]");
      if (!button) return;
      try {
        await api.del(`/triggers/${button.dataset.cancelTrigger}`);
        FT.toast("Exit order cancelled.", "ok");
      } catch (err) {
        FT.toast(FT.errorText(err), "error");
      }
      refreshMine();
    });
    $("cancel-all").addEventListener("click", async () => {
      try {
        const r = await api.del(`/orders?market_id=${S.market.id}`);
        FT.toast(`${r.cancelled} order${r.cancelled === 1 ? "" : "s"} cancelled.`, "ok");
      } catch (err) {
        FT.toast(FT.errorText(err), "error");
      }
      refreshMine();
    });
  }

  function subscribeMarket() {
    FT.ws.subscribe(`market:${S.market.id}`, (msg) => {
      if (msg.type === "news") {
        // A news item linked to this market: redraw the list (it is read newest first).
        loadNews();
        loadCandles();
        if (msg.item && msg.item.title) FT.toast(`News: ${msg.item.title}`, "info");
        return;
      }
      if (msg.type !== "market" || !msg.status) return;
      S.market.status = msg.status;
      renderStatus();
      FT.toast(`Market ${fmt.label(msg.status)}${msg.reason ? ": " + msg.reason : ""}`, "info");
      updateTicket();
      updateQuick();
    });
    for (const c of S.market.contracts) FT.ws.subscribe(`ticker:${c.id}`, onTicker);
    // After a reconnect, fetch what may have been missed (the book resyncs by itself).
    FT.ws.onOpen(() => { if (S.contract) { loadTrades(); loadCandles(); refreshMine(); } });
  }

  function subscribePrivate() {
    FT.ws.subscribe("orders", refreshMine);
    FT.ws.subscribe("positions", refreshMine);
    FT.ws.subscribe("fills", (msg) => { refreshMine(); onMyFill(msg); });
  }

  async function init() {
    const root = $("market");
    const ref = root.dataset.marketRef;
    let raw;
    try {
      raw = await api.get(`/markets/${encodeURIComponent(ref)}`);
    } catch (err) {
      $("m-question").textContent = err.status === 404 ? "No such market" : "The market could not be loaded";
      FT.showError($("m-error"), err);
      return;
    }
    S.market = FT.market.normalize(raw);
    root.dataset.marketId = String(S.market.id);
    S.account = await FT.session;
    await Promise.all(S.market.contracts.map(loadTicker));
    renderHeader();
    renderRules();
    initChart();
    bindEvents();
    subscribeMarket();
    if (S.account) subscribePrivate();
    document.querySelector(".ticket").dataset.advanced = String(!!S.account && rememberedAdvanced());
    $("advanced-toggle").checked = !!S.account && rememberedAdvanced();
    selectContract(S.market.contracts[0]);
    loadPool();
    await loadMine();
    loadNews();
    root.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", init);
})();
