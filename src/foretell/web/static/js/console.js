/* Supervisor console: accounts with USDC credit/debit, markets with lifecycle actions, create
 * market, audit. Sections come from pages.CONSOLE_SECTIONS; a later section (creator review,
 * news posting) adds its partial, its renderers here or in its own script, and nothing else. */
(function () {
  "use strict";
  const { html, fmt, api } = FT;
  let accounts = [];

  FT.renderers.accounts = (data) => {
    accounts = (data && data.accounts) || [];
    return html`<table class="data" id="accounts-table">
      <caption class="visually-hidden">Accounts with their cash</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Username</th><th scope="col">Role</th><th scope="col" class="num">Free</th><th scope="col" class="num">Reserved</th><th scope="col" class="hide-narrow">Created</th></tr></thead>
      <tbody>${accounts.map((a) => html`<tr data-account="${a.id}"><td class="num">${a.id}</td><td>${a.username}</td><td>${a.role}</td>
        <td class="num">${fmt.amount(a.free)}</td><td class="num">${fmt.amount(a.reserved)}</td><td class="hide-narrow">${FT.timeTag(a.created_ms)}</td></tr>`)}</tbody></table>`;
  };

  function fillAccountSelect() {
    const select = document.getElementById("credit-account");
    const chosen = select.value;
    FT.setHTML(select, html`<option value="">Choose…</option>${accounts.map((a) => html`<option value="${a.id}">${a.id} · ${a.username} (${a.role})</option>`)}`);
    select.value = chosen;
  }

  FT.hooks.credited = (balance, form) => {
    FT.toast(`Account ${balance.account_id}: free cash now ${fmt.amount(balance.free)}.`, "ok");
    form.elements.amount.value = "";
    form.elements.reason.value = "";
  };

  const ACTIONS = {
    halted: ["Halt trading", (m) => m.status === "open"],
    open: ["Resume trading", (m) => m.status === "halted"],
    closed: ["Close trading", (m) => m.status === "open" || m.status === "halted"],
    settle: ["Settle", (m) => ["open", "halted", "closed", "resolution_proposed", "disputed"].includes(m.status)],
    // Not a draft: it is the creator's work in progress, not yet anything to void.
    void: ["Void", (m) => !["draft", "settled", "voided"].includes(m.status)],
  };

  FT.renderers.consoleMarkets = (data) => {
    const markets = ((data && data.markets) || []).map(FT.market.normalize);
    if (!markets.length) return html`<p class="muted">No markets yet.</p>`;
    return html`<table class="data" id="console-markets-table">
      <caption class="visually-hidden">Markets and their lifecycle actions</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Market</th><th scope="col">Status</th><th scope="col" class="num">Volume</th><th scope="col">Action</th></tr></thead>
      <tbody>${markets.map((m) => {
        const actions = Object.entries(ACTIONS).filter(([, [, ok]]) => ok(m));
        return html`<tr data-market="${m.id}"><td class="num">${m.id}</td><td><a href="/markets/${m.slug || m.id}">${m.question}</a></td>
          <td>${FT.market.statusBadge(m.status)}</td><td class="num">${fmt.shares(m.volume)}</td>
          <td>${actions.length ? html`<form class="market-action inline" data-market="${m.id}" novalidate>
            <label class="visually-hidden" for="act-${m.id}">Action for market ${m.id}</label>
            <select id="act-${m.id}" name="action">${actions.map(([key, [label]]) => html`<option value="${key}">${label}</option>`)}</select>
            <label class="visually-hidden" for="win-${m.id}">Winning outcome for market ${m.id}</label>
            <select id="win-${m.id}" name="winner" data-for="settle" hidden>${(m.outcomes.length ? m.outcomes : ["Yes", "No"]).map((o, i) => html`<option value="${i}">${o}</option>`)}</select>
            <label class="visually-hidden" for="why-${m.id}">Reason for market ${m.id}</label>
            <input id="why-${m.id}" name="reason" placeholder="Reason" maxlength="200" autocomplete="off">
            <button class="btn small" type="submit">Apply</button>
            <p class="form-error" data-error role="alert" hidden></p>
          </form>` : html`<span class="muted">—</span>`}</td></tr>`;
      })}</tbody></table>`;
  };

  async function applyAction(form) {
    FT.clearError(form);
    const id = form.dataset.market;
    const action = form.elements.action.value;
    const reason = form.elements.reason.value.trim();
    try {
      if (action === "settle") {
        const winner = Number(form.elements.winner.value);
        const label = form.elements.winner.selectedOptions[0].textContent;
        if (!window.confirm(`Settle market ${id} with “${label}” winning? This pays out and cannot be undone.`)) return;
        await api.post(`/admin/markets/${id}/settle`, { winner_index: winner });
      } else if (action === "void") {
        if (!window.confirm(`Void market ${id}? Every share pays the void fraction; this cannot be undone.`)) return;
        await api.post(`/admin/markets/${id}/void`, { reason });
      } else {
        await api.post(`/admin/markets/${id}/status`, { status: action, reason });
      }
      FT.toast(`Market ${id}: ${ACTIONS[action][0].toLowerCase()} done.`, "ok");
      // The list is read from the store, which follows the engine a moment later.
      document.body.dispatchEvent(new CustomEvent("ft:markets"));
      setTimeout(() => document.body.dispatchEvent(new CustomEvent("ft:markets")), 800);
    } catch (err) {
      FT.showError(form, err);
    }
  }

  FT.hooks.marketCreated = (created, form) => {
    FT.toast(`Market ${created.id} created and open.`, "ok");
    form.reset();
  };

  FT.renderers.audit = (r) => html`
    <p class="audit-state ${r.ok ? "up" : "down"}"><strong>${r.ok ? "All invariants hold." : `${r.violations.length} violation${r.violations.length === 1 ? "" : "s"} found.`}</strong>
      <span class="muted small">Checked ${fmt.time(Date.now())}</span></p>
    <dl class="stat-grid">
      <div><dt>Accounts</dt><dd class="num">${fmt.shares(r.accounts)}</dd></div>
      <div><dt>Resting orders</dt><dd class="num">${fmt.shares(r.resting_orders)}</dd></div>
      <div><dt>Cash free</dt><dd class="num">${fmt.amount(r.cash_free)}</dd></div>
      <div><dt>Cash reserved</dt><dd class="num">${fmt.amount(r.cash_reserved)}</dd></div>
      <div><dt>Locked collateral</dt><dd class="num">${fmt.amount(r.collateral)}</dd></div>
      <div><dt>Fees collected</dt><dd class="num">${fmt.amount(r.fees)}</dd></div>
      <div><dt>Net deposits</dt><dd class="num">${fmt.amount(r.net_deposits)}</dd></div>
    </dl>
    ${r.violations.length ? html`<ul class="violations">${r.violations.map((v) => html`<li>${typeof v === "string" ? v : JSON.stringify(v)}</li>`)}</ul>` : ""}`;

  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "accounts") fillAccountSelect();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const markets = document.getElementById("console-markets");
    if (!markets) return;
    markets.addEventListener("change", (e) => {
      const form = e.target.closest("form.market-action");
      if (!form || e.target.name !== "action") return;
      form.elements.winner.hidden = e.target.value !== "settle";
      form.elements.reason.hidden = e.target.value === "settle";
    });
    markets.addEventListener("submit", (e) => {
      e.preventDefault();
      applyAction(e.target);
    });
  });

  FT.session.then(async (account) => {
    await FT.domReady;
    if (!account) return;
    // Each section (and its link) says which roles see it; the others leave the page, so
    // none of them asks the API for what this account may not read.
    const parts = FT.$$(".console-section, .console-nav li");
    const mine = (el) => (el.dataset.roles || "").split(" ").includes(account.role);
    if (!parts.some(mine)) {
      document.getElementById("console-denied").hidden = false;
      return;
    }
    parts.filter((el) => !mine(el)).forEach((el) => el.remove());
    document.getElementById("console").hidden = false;
    if (account.role === "supervisor") document.body.dispatchEvent(new CustomEvent("ft:console"));
    document.body.dispatchEvent(new CustomEvent("ft:console-ready", { detail: account }));
  });
})();
