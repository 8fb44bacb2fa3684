/* Portfolio: a summary (cash, positions valued at the middle of the book, total, P&L, the 24 h
 * change), open positions (a table on a desktop, cards on a phone), open orders, and the
 * history (closed positions, settlements, orders, fills, cash). The summary and the positions
 * come from GET /portfolio/balance, /portfolio/positions and the market list (one request for
 * every contract's bid, ask and 24 h change); htmx draws the other tables. Private WebSocket
 * events refresh everything. */
(function () {
  "use strict";
  const { html, fmt, units } = FT;
  const MICRO = 1000000n;
  let cat = { markets: new Map(), contracts: new Map() };

  function marketCell(contractId, marketId) {
    const entry = cat.contracts.get(contractId);
    const m = entry ? entry.market : cat.markets.get(marketId);
    if (!m) return html`<span class="muted">Contract ${contractId}</span>`;
    const outcome = entry && m.kind === "categorical" ? html` <span class="muted">· ${entry.contract.name}</span>` : "";
    return html`<a href="/markets/${m.slug || m.id}">${m.question}</a>${outcome}`;
  }
  const empty = (text) => html`<p class="muted">${text}</p>`;
  const side = (o) => html`<span class="${FT.sideClass(o.side)}">${o.side === "buy" ? "Buy" : "Sell"} ${o.outcome === "no" ? "No" : "Yes"}</span>`;
  const pnlClass = (v) => (v === null ? "" : v > 0n ? "up" : v < 0n ? "down" : "");
  const big = (text) => units.microBig(text) ?? 0n;
  const list = (data, key) => {
    const v = data && data[key];
    if (Array.isArray(v) && v.length === 2 && Array.isArray(v[0])) return v[0];  // a (rows, cursor) pair
    return Array.isArray(v) ? v : [];
  };

  /** The API's reason text ("buy 5 YES at 0.30 plus worst-case fee") with the price in cents. */
  function why(text) {
    const m = /^(buy|sell) (\d+) (YES|NO) at (\d+\.\d+)(.*)$/.exec(String(text || ""));
    if (!m) return text;
    return `${m[1] === "buy" ? "Buy" : "Sell"} ${fmt.shares(m[2])} ${m[3] === "YES" ? "Yes" : "No"} at ${fmt.price(m[4])}${m[5]}`;
  }

  function avgPrice(o) {
    if (o.avg_price) return FT.priceTag(o.avg_price);
    const notional = units.microBig(o.notional);
    if (!o.filled || notional === null) return "—";
    return fmt.priceMicro(Number(notional / BigInt(o.filled)));
  }

  // -- summary and positions -------------------------------------------------------------------

  /** YES mid (micro BigInt) of a contract from the market list: the middle of the book, else
   * the best price there is, else the last trade. */
  function yesMid(contractId, position) {
    const entry = cat.contracts.get(contractId);
    const c = entry ? entry.contract : {};
    const bid = units.priceMicro(c.best_bid);
    const ask = units.priceMicro(c.best_ask);
    if (bid !== null && ask !== null) return BigInt(Math.round((bid + ask) / 2));
    const last = units.priceMicro(c.last_price || position.last_price);
    if (last !== null) return BigInt(last);
    if (bid !== null) return BigInt(bid);
    if (ask !== null) return BigInt(ask);
    return null;
  }

  function positionView(p) {
    const mid = yesMid(p.contract_id, p);
    const yes = BigInt(p.yes_shares || 0);
    const no = BigInt(p.no_shares || 0);
    const entry = cat.contracts.get(p.contract_id);
    const change = entry ? entry.contract.change_micro : null;
    const value = mid === null ? null : yes * mid + no * (MICRO - mid);
    const cost = big(p.cost);
    return {
      p, yes, no, mid, value, cost,
      held: yes ? "yes" : no ? "no" : null,
      shares: yes || no,
      avg: yes ? p.avg_yes_cost : p.avg_no_cost,
      unrealized: value === null ? null : value - cost,
      realized: big(p.realized_pnl),
      day: change === null || change === undefined ? null : (yes - no) * BigInt(change),
      settled: p.market_status && !["open", "halted", "closed"].includes(p.market_status),
    };
  }

  function summaryHtml(balance, views) {
    const cash = big(balance.total);
    const open = views.filter((v) => v.held);
    const value = open.reduce((s, v) => s + (v.value ?? 0n), 0n);
    const unreal = open.reduce((s, v) => s + (v.unrealized ?? 0n), 0n);
    const realized = views.reduce((s, v) => s + v.realized, 0n);
    const days = open.filter((v) => v.day !== null);
    const day = days.reduce((s, v) => s + v.day, 0n);
    const cell = (id, label, amount, signed, extra) => html`<div class="${extra || ""}"><dt>${label}</dt><dd class="num ${signed ? pnlClass(amount) : ""}" id="${id}">${FT.money(amount, signed)}</dd></div>`;
    return html`<dl class="summary-grid">
      ${cell("sum-total", "Portfolio value", cash + value, false, "total")}
      ${cell("sum-cash", "Cash", cash)}
      ${cell("sum-positions", "Positions (at the mid)", value)}
      ${cell("sum-unrealized", "Unrealized P&L", unreal, true)}
      ${cell("sum-realized", "Realized P&L", realized, true)}
      ${cell("sum-free", "Free to trade", big(balance.free))}
      ${cell("sum-reserved", "Held for open orders", big(balance.reserved))}
      ${days.length ? cell("sum-day", "24h change", day, true) : ""}
    </dl>`;
  }

  function positionsHtml(views) {
    const open = views.filter((v) => v.held);
    if (!open.length) return empty("No open positions. Pick a market and buy Yes or No to open one.");
    return html`<table class="data cards" id="positions-table">
      <caption class="visually-hidden">Open positions with average price, value at the middle of the book, and profit and loss</caption>
      <thead><tr><th scope="col">Market</th><th scope="col" class="num">Shares</th><th scope="col" class="num">Avg price</th><th scope="col" class="num">Now</th><th scope="col" class="num">Cost</th><th scope="col" class="num">Value</th><th scope="col" class="num">P&amp;L</th></tr></thead>
      <tbody>${open.map((v) => {
        const pct = v.unrealized !== null && v.cost > 0n ? Number((v.unrealized * 1000n) / v.cost) / 10 : null;
        const now = v.mid === null ? null : Number(v.held === "yes" ? v.mid : MICRO - v.mid);
        return html`<tr data-contract="${v.p.contract_id}">
        <td class="card-main">${marketCell(v.p.contract_id, v.p.market_id)} ${v.p.market_status && v.p.market_status !== "open" ? FT.market.statusBadge(v.p.market_status) : ""}</td>
        <td class="num" data-label="Shares"><span class="${v.held === "yes" ? "up" : "down"}">${fmt.shares(Number(v.shares))} ${v.held === "yes" ? "Yes" : "No"}</span></td>
        <td class="num" data-label="Avg price">${v.avg ? FT.priceTag(v.avg) : "—"}</td>
        <td class="num" data-label="Now">${fmt.priceMicro(now)}</td>
        <td class="num" data-label="Cost">${FT.money(v.cost)}</td>
        <td class="num" data-label="Value">${v.value === null ? "—" : FT.money(v.value)}</td>
        <td class="num ${pnlClass(v.unrealized)}" data-label="P&amp;L" data-pnl>${v.unrealized === null ? "—" : html`${FT.money(v.unrealized, true)}${pct !== null ? html` <span class="small">(${pct > 0 ? "+" : ""}${pct.toFixed(1)}%)</span>` : ""}`}</td>
      </tr>`;
      })}</tbody></table>`;
  }

  function closedHtml(views) {
    const closed = views.filter((v) => !v.held && v.realized !== 0n);
    if (!closed.length) return empty("No closed positions yet.");
    return html`<table class="data cards" id="closed-table">
      <caption class="visually-hidden">Closed positions and their realized profit and loss</caption>
      <thead><tr><th scope="col">Market</th><th scope="col" class="num">Realized P&amp;L</th><th scope="col">Closed</th></tr></thead>
      <tbody>${closed.map((v) => html`<tr><td class="card-main">${marketCell(v.p.contract_id, v.p.market_id)}</td>
        <td class="num ${pnlClass(v.realized)}" data-label="Realized P&amp;L">${FT.money(v.realized, true)}</td>
        <td data-label="Closed">${FT.timeTag(v.p.updated_ms)}</td></tr>`)}</tbody></table>`;
  }

  async function loadSummary() {
    try {
      const [balance, positions] = await Promise.all([FT.api.get("/portfolio/balance"), FT.api.get("/portfolio/positions")]);
      const views = list(positions, "positions").map(positionView);
      FT.setHTML(document.getElementById("summary"), summaryHtml(balance, views));
      FT.setHTML(document.getElementById("positions"), positionsHtml(views));
      FT.setHTML(document.getElementById("closed"), closedHtml(views));
      document.getElementById("summary").dataset.ready = "true";
    } catch (err) {
      FT.showError(document.getElementById("summary"), err);
    }
  }

  // -- htmx tables -----------------------------------------------------------------------------

  FT.renderers.openOrders = (data) => {
    const rows = list(data, "orders").map(FT.market.normalizeOrder);
    if (!rows.length) return empty("No open orders.");
    return html`<table class="data cards" id="open-orders-table">
      <thead><tr><th scope="col">Market</th><th scope="col">Order</th><th scope="col" class="num">Price</th><th scope="col" class="num">Filled / size</th><th scope="col" class="num">Held</th><th scope="col">Placed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${rows.map((o) => html`<tr data-order="${o.id}"><td class="card-main">${marketCell(o.contract_id, o.market_id)}</td><td data-label="Order">${side(o)} <span class="muted small">${String(o.tif || "").toUpperCase()}</span></td>
        <td class="num" data-label="Price">${FT.priceTag(o.price)}</td><td class="num" data-label="Filled / size">${fmt.shares(o.filled)} / ${fmt.shares(o.size)}</td>
        <td class="num" data-label="Held">${o.reserved ? FT.money(o.reserved) : "—"}</td><td data-label="Placed">${FT.timeTag(o.created_at_ms)}</td>
        <td class="actions"><button type="button" class="btn danger small" hx-delete="/api/v1/orders/${o.id}" hx-swap="none" data-on-success="event:ft:refresh">Cancel<span class="visually-hidden"> order ${o.id}</span></button></td></tr>`)}</tbody></table>`;
  };

  FT.renderers.orderHistory = (data) => {
    const rows = list(data, "orders").map(FT.market.normalizeOrder);
    if (!rows.length) return empty("No orders yet.");
    return html`<table class="data cards">
      <thead><tr><th scope="col">Market</th><th scope="col">Order</th><th scope="col" class="num">Limit</th><th scope="col" class="num">Avg fill</th><th scope="col" class="num">Filled / size</th><th scope="col">Status</th><th scope="col">Updated</th></tr></thead>
      <tbody>${rows.map((o) => html`<tr><td class="card-main">${marketCell(o.contract_id, o.market_id)}</td><td data-label="Order">${side(o)} <span class="muted small">${o.type || ""}</span></td>
        <td class="num" data-label="Limit">${o.type === "market" ? html`<span title="Worst price accepted">≤ ${fmt.price(o.price)}</span>` : fmt.price(o.price)}</td><td class="num" data-label="Avg fill">${avgPrice(o)}</td><td class="num" data-label="Filled / size">${fmt.shares(o.filled)} / ${fmt.shares(o.size)}</td>
        <td data-label="Status">${fmt.label(o.status)}${o.reason && o.reason !== o.status ? html` <span class="muted small">(${fmt.label(o.reason)})</span>` : ""}</td>
        <td data-label="Updated">${FT.timeTag(o.updated_ms || o.created_at_ms)}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.fills = (data) => {
    const rows = list(data, "fills").map(FT.market.normalizeOrder);
    if (!rows.length) return empty("No fills yet.");
    return html`<table class="data cards" id="fills-table">
      <thead><tr><th scope="col">Market</th><th scope="col">Time</th><th scope="col">Fill</th><th scope="col" class="num">Price</th><th scope="col" class="num">Shares</th><th scope="col" class="num">Fee</th><th scope="col">Liquidity</th></tr></thead>
      <tbody>${rows.map((f) => html`<tr><td class="card-main">${marketCell(f.contract_id)}</td><td data-label="Time">${FT.timeTag(f.ts_ms)}</td><td data-label="Fill">${side(f)}</td>
        <td class="num" data-label="Price">${FT.priceTag(f.price)}</td><td class="num" data-label="Shares">${fmt.shares(f.size)}</td><td class="num" data-label="Fee">${FT.money(f.fee)}</td><td data-label="Liquidity">${f.liquidity}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.settlements = (data) => {
    const rows = list(data, "settlements");
    if (!rows.length) return empty("No settlements yet.");
    return html`<table class="data cards">
      <thead><tr><th scope="col">Market</th><th scope="col">Time</th><th scope="col" class="num">Yes</th><th scope="col" class="num">No</th><th scope="col" class="num">Paid</th></tr></thead>
      <tbody>${rows.map((s) => html`<tr><td class="card-main">${marketCell(s.contract_id, s.market_id)}</td><td data-label="Time">${FT.timeTag(s.ts_ms)}</td>
        <td class="num" data-label="Yes">${fmt.shares(s.yes_shares)}</td><td class="num" data-label="No">${fmt.shares(s.no_shares)}</td><td class="num" data-label="Paid">${FT.money(s.amount)}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.cash = (data) => {
    const rows = list(data, "movements");
    if (!rows.length) return empty("No deposits or withdrawals yet.");
    return html`<table class="data cards">
      <thead><tr><th scope="col">Reason</th><th scope="col">Time</th><th scope="col" class="num">Amount</th></tr></thead>
      <tbody>${rows.map((c) => html`<tr><td class="card-main">${c.reason}</td><td data-label="Time">${FT.timeTag(c.ts_ms)}</td><td class="num ${pnlClass(units.microBig(c.amount))}" data-label="Amount">${FT.money(c.amount, true)}</td></tr>`)}</tbody></table>`;
  };

  async function refreshAll() {
    try {
      cat = await FT.market.loadCatalog(true);
    } catch (err) {
      FT.toast(FT.errorText(err), "error");
    }
    await loadSummary();
    document.body.dispatchEvent(new CustomEvent("ft:refresh"));
  }
  const refresh = FT.debounce(refreshAll, 400);

  FT.session.then(async (account) => {
    if (!account) return;
    try {
      cat = await FT.market.loadCatalog();
    } catch (err) {
      FT.toast(FT.errorText(err), "error");
    }
    await FT.domReady;
    await loadSummary();
    document.body.dispatchEvent(new CustomEvent("ft:catalog"));
    for (const channel of ["orders", "fills", "positions", "balance"]) FT.ws.subscribe(channel, refresh);
  });
})();
