/* Portfolio: balance with what is reserved and why, positions with P&L, open orders, order
 * history, fills, settlements and cash movements. htmx fetches each table from the API and the
 * renderers below draw it; private WebSocket events ask every table to refresh. */
(function () {
  "use strict";
  const { html, fmt } = FT;
  let cat = { markets: new Map(), contracts: new Map() };

  function marketCell(contractId, marketId) {
    const entry = cat.contracts.get(contractId);
    const m = entry ? entry.market : cat.markets.get(marketId);
    if (!m) return html`<span class="muted">Contract ${contractId}</span>`;
    const outcome = entry && m.kind === "categorical" ? html` <span class="muted">· ${entry.contract.name}</span>` : "";
    return html`<a href="/markets/${m.slug || m.id}">${m.question}</a>${outcome}`;
  }
  const empty = (cols, text) => html`<p class="muted">${text}</p>`;
  const side = (o) => html`<span class="${FT.sideClass(o.side)}">${o.side === "buy" ? "Buy" : "Sell"} ${String(o.outcome || "").toUpperCase()}</span>`;
  const pnlClass = (text) => { const v = FT.units.microBig(text); return v === null ? "" : v > 0n ? "up" : v < 0n ? "down" : ""; };
  const list = (data, key) => {
    const v = data && data[key];
    if (Array.isArray(v) && v.length === 2 && Array.isArray(v[0])) return v[0];  // a (rows, cursor) pair
    return Array.isArray(v) ? v : [];
  };

  /** The API's reason text ("buy 5 YES at 0.30 plus worst-case fee") with the price in cents. */
  function why(text) {
    const m = /^(buy|sell) (\d+) (YES|NO) at (\d+\.\d+)(.*)$/.exec(String(text || ""));
    if (!m) return text;
    return `${m[1] === "buy" ? "Buy" : "Sell"} ${fmt.shares(m[2])} ${m[3]} at ${fmt.price(m[4])}${m[5]}`;
  }

  /** Average fill price of a stored order: notional / filled, both from the API. */
  function avgPrice(o) {
    if (o.avg_price) return fmt.price(o.avg_price);
    const notional = FT.units.microBig(o.notional);
    if (!o.filled || notional === null) return "—";
    return fmt.priceMicro(Number(notional / BigInt(o.filled)));
  }

  FT.renderers.balance = (b) => html`
    <dl class="stat-grid">
      <div><dt>Free</dt><dd class="num big" id="bal-free">${fmt.amount(b.free)}</dd></div>
      <div><dt>Reserved</dt><dd class="num big" id="bal-reserved">${fmt.amount(b.reserved)}</dd></div>
      <div><dt>Total cash</dt><dd class="num big">${fmt.amount(b.total)}</dd></div>
    </dl>
    ${(b.reserved_for || []).length ? html`<h3>Why cash is reserved</h3><table class="data compact">
      <thead><tr><th scope="col">Order</th><th scope="col">Market</th><th scope="col" class="num">Reserved</th><th scope="col">For</th></tr></thead>
      <tbody>${b.reserved_for.map((r) => html`<tr><td class="num">${r.order_id}</td><td>${marketCell(r.contract_id, r.market_id)}</td><td class="num">${fmt.amount(r.amount)}</td><td>${why(r.why)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">Nothing is reserved: no open buy orders.</p>`}`;

  FT.renderers.positions = (data) => {
    const rows = list(data, "positions").filter((p) => p.yes_shares || p.no_shares || (FT.units.microBig(p.realized_pnl) || 0n) !== 0n);
    if (!rows.length) return empty(9, "No positions yet.");
    return html`<table class="data" id="positions-table">
      <caption class="visually-hidden">Positions with average cost, mark value at the last trade, and profit and loss</caption>
      <thead><tr><th scope="col">Market</th><th scope="col" class="num">YES</th><th scope="col" class="num">NO</th><th scope="col" class="num">Avg cost</th><th scope="col" class="num">Last</th><th scope="col" class="num">Cost</th><th scope="col" class="num">Value</th><th scope="col" class="num">Unrealized</th><th scope="col" class="num">Realized</th></tr></thead>
      <tbody>${rows.map((p) => html`<tr>
        <td>${marketCell(p.contract_id, p.market_id)} ${p.market_status && p.market_status !== "open" ? FT.market.statusBadge(p.market_status) : ""}</td>
        <td class="num">${fmt.shares(p.yes_shares)}</td><td class="num">${fmt.shares(p.no_shares)}</td>
        <td class="num">${p.avg_yes_cost ? html`Y ${fmt.price(p.avg_yes_cost)}` : ""}${p.avg_yes_cost && p.avg_no_cost ? " " : ""}${p.avg_no_cost ? html`N ${fmt.price(p.avg_no_cost)}` : ""}${!p.avg_yes_cost && !p.avg_no_cost ? "—" : ""}</td>
        <td class="num">${fmt.price(p.last_price)}</td>
        <td class="num">${fmt.amount(p.cost)}</td><td class="num">${fmt.amount(p.mark_value)}</td>
        <td class="num ${pnlClass(p.unrealized_pnl)}">${fmt.pnl(p.unrealized_pnl)}</td>
        <td class="num ${pnlClass(p.realized_pnl)}">${fmt.pnl(p.realized_pnl)}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.openOrders = (data) => {
    const rows = list(data, "orders").map(FT.market.normalizeOrder);
    if (!rows.length) return empty(7, "No open orders.");
    return html`<table class="data" id="open-orders-table">
      <thead><tr><th scope="col">Market</th><th scope="col">Order</th><th scope="col" class="num">Price</th><th scope="col" class="num">Filled / size</th><th scope="col" class="num">Reserved</th><th scope="col">Placed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${rows.map((o) => html`<tr data-order="${o.id}"><td>${marketCell(o.contract_id, o.market_id)}</td><td>${side(o)} <span class="muted small">${String(o.tif || "").toUpperCase()}</span></td>
        <td class="num">${fmt.price(o.price)}</td><td class="num">${fmt.shares(o.filled)} / ${fmt.shares(o.size)}</td>
        <td class="num">${o.reserved ? fmt.amount(o.reserved) : "—"}</td><td>${FT.timeTag(o.created_at_ms)}</td>
        <td><button type="button" class="btn danger small" hx-delete="/api/v1/orders/${o.id}" hx-swap="none" data-on-success="event:ft:refresh">Cancel<span class="visually-hidden"> order ${o.id}</span></button></td></tr>`)}</tbody></table>`;
  };

  FT.renderers.orderHistory = (data) => {
    const rows = list(data, "orders").map(FT.market.normalizeOrder);
    if (!rows.length) return empty(7, "No orders yet.");
    return html`<table class="data">
      <thead><tr><th scope="col">Market</th><th scope="col">Order</th><th scope="col">Type</th><th scope="col" class="num">Limit</th><th scope="col" class="num">Avg fill</th><th scope="col" class="num">Filled / size</th><th scope="col">Status</th><th scope="col">Updated</th></tr></thead>
      <tbody>${rows.map((o) => html`<tr><td>${marketCell(o.contract_id, o.market_id)}</td><td>${side(o)}</td><td>${o.type || ""}</td>
        <td class="num">${o.type === "market" ? html`<span title="Worst price accepted">≤ ${fmt.price(o.price)}</span>` : fmt.price(o.price)}</td><td class="num">${avgPrice(o)}</td><td class="num">${fmt.shares(o.filled)} / ${fmt.shares(o.size)}</td>
        <td>${fmt.label(o.status)}${o.reason && o.reason !== o.status ? html` <span class="muted small">(${fmt.label(o.reason)})</span>` : ""}</td>
        <td>${FT.timeTag(o.updated_ms || o.created_at_ms)}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.fills = (data) => {
    const rows = list(data, "fills").map(FT.market.normalizeOrder);
    if (!rows.length) return empty(7, "No fills yet.");
    return html`<table class="data" id="fills-table">
      <thead><tr><th scope="col">Time</th><th scope="col">Market</th><th scope="col">Fill</th><th scope="col" class="num">Price</th><th scope="col" class="num">Shares</th><th scope="col" class="num">Fee</th><th scope="col">Liquidity</th></tr></thead>
      <tbody>${rows.map((f) => html`<tr><td>${FT.timeTag(f.ts_ms)}</td><td>${marketCell(f.contract_id)}</td><td>${side(f)}</td>
        <td class="num">${fmt.price(f.price)}</td><td class="num">${fmt.shares(f.size)}</td><td class="num">${fmt.amount(f.fee)}</td><td>${f.liquidity}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.settlements = (data) => {
    const rows = list(data, "settlements");
    if (!rows.length) return empty(5, "No settlements yet.");
    return html`<table class="data">
      <thead><tr><th scope="col">Time</th><th scope="col">Market</th><th scope="col" class="num">YES</th><th scope="col" class="num">NO</th><th scope="col" class="num">Paid</th></tr></thead>
      <tbody>${rows.map((s) => html`<tr><td>${FT.timeTag(s.ts_ms)}</td><td>${marketCell(s.contract_id, s.market_id)}</td>
        <td class="num">${fmt.shares(s.yes_shares)}</td><td class="num">${fmt.shares(s.no_shares)}</td><td class="num">${fmt.amount(s.amount)}</td></tr>`)}</tbody></table>`;
  };

  FT.renderers.cash = (data) => {
    const rows = list(data, "movements");
    if (!rows.length) return empty(3, "No deposits or withdrawals yet.");
    return html`<table class="data">
      <thead><tr><th scope="col">Time</th><th scope="col" class="num">Amount</th><th scope="col">Reason</th></tr></thead>
      <tbody>${rows.map((c) => html`<tr><td>${FT.timeTag(c.ts_ms)}</td><td class="num ${pnlClass(c.amount)}">${fmt.pnl(c.amount)}</td><td>${c.reason}</td></tr>`)}</tbody></table>`;
  };

  const refresh = FT.debounce(() => document.body.dispatchEvent(new CustomEvent("ft:refresh")), 300);

  FT.session.then(async (account) => {
    if (!account) return;
    try {
      cat = await FT.market.loadCatalog();
    } catch (err) {
      FT.toast(FT.errorText(err), "error");
    }
    await FT.domReady;
    document.body.dispatchEvent(new CustomEvent("ft:catalog"));
    for (const channel of ["orders", "fills", "positions", "balance"]) FT.ws.subscribe(channel, refresh);
  });
})();
