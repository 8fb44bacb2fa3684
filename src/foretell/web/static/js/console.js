/* Supervisor console: accounts with USDC credit/debit and suspend/reinstate, real USDC (reserves, alerts, withdrawals
 * to approve), markets with lifecycle actions, create market, audit. Sections come from
 * pages.CONSOLE_SECTIONS; a later section (creator review, news posting) adds its partial, its
 * renderers here or in its own script, and nothing else. */
(function () {
  "use strict";
  const { html, fmt, api } = FT;
  let accounts = [];

  FT.renderers.accounts = (data) => {
    accounts = (data && data.accounts) || [];
    return html`<table class="data" id="accounts-table">
      <caption class="visually-hidden">Accounts with their cash</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Username</th><th scope="col">Role</th><th scope="col">State</th><th scope="col" class="num">Free</th><th scope="col" class="num">Reserved</th><th scope="col" class="hide-narrow">Created</th></tr></thead>
      <tbody>${accounts.map((a) => html`<tr data-account="${a.id}"><td class="num">${a.id}</td><td>${a.username}</td><td>${a.role}</td>
        <td>${a.suspended ? html`<span class="badge status-suspended" title="${a.suspension.reason}">Suspended</span>`
          : a.login_disabled ? html`<span class="badge" title="A system account: no login">No login</span>`
          : html`<span class="badge status-active">Active</span>`}</td>
        <td class="num">${fmt.amount(a.free)}</td><td class="num">${fmt.amount(a.reserved)}</td><td class="hide-narrow">${FT.timeTag(a.created_ms)}</td></tr>`)}</tbody></table>`;
  };

  function fillAccountSelect() {
    const select = document.getElementById("credit-account");
    const chosen = select.value;
    FT.setHTML(select, html`<option value="">Choose…</option>${accounts.map((a) => html`<option value="${a.id}">${a.id} · ${a.username} (${a.role})</option>`)}`);
    select.value = chosen;
    fillSuspendSelect();
  }

  // -- suspend / reinstate: supervisors cannot be suspended, so they are not offered ---------

  function fillSuspendSelect() {
    const select = document.getElementById("suspend-account");
    if (!select) return;
    const chosen = select.value;
    const offered = accounts.filter((a) => a.role !== "supervisor" && !a.login_disabled);
    FT.setHTML(select, html`<option value="">Choose…</option>${offered.map((a) => html`<option value="${a.id}">${a.id} · ${a.username} (${a.role})${a.suspended ? " · suspended" : ""}</option>`)}`);
    select.value = chosen;
    showSuspendState();
  }

  function showSuspendState() {
    const form = document.getElementById("suspend-form");
    const a = accounts.find((x) => String(x.id) === form.elements.account_id.value);
    form.querySelector("#suspend-button").disabled = Boolean(a && a.suspended);
    form.querySelector("#reinstate-button").disabled = Boolean(a && !a.suspended);
    const state = document.getElementById("suspend-state");
    state.textContent = !a ? "Suspending ends the account's sessions, refuses its API keys and cancels its resting and trigger orders; its cash and positions stay."
      : a.suspended ? `${a.username} is suspended since ${fmt.time(a.suspension.ts_ms)}: “${a.suspension.reason}”. No login, API keys refused, no trading.`
      : `${a.username} is active.`;
  }

  async function suspendOrReinstate(form, action) {
    FT.clearError(form);
    const id = form.elements.account_id.value;
    const reason = form.elements.reason.value.trim();
    const a = accounts.find((x) => String(x.id) === id);
    if (!a) { FT.showError(form, "Choose an account."); return; }
    if (reason.length < 3) { FT.showError(form, "Give a reason (3 characters or more); it is kept on record."); form.elements.reason.focus(); return; }
    const question = action === "suspend"
      ? `Suspend ${a.username} (account ${a.id})? Their sessions end, their API keys are refused and their resting and trigger orders are cancelled. Their cash and positions stay.`
      : `Reinstate ${a.username} (account ${a.id})? They can log in and use their API keys again.`;
    if (!window.confirm(question)) return;
    try {
      const done = await api.post(`/admin/users/${id}/${action}`, { reason });
      FT.toast(action === "suspend"
        ? `${a.username} suspended: ${done.orders_cancelled} order${done.orders_cancelled === 1 ? "" : "s"} and ${done.triggers_cancelled} trigger${done.triggers_cancelled === 1 ? "" : "s"} cancelled.`
        : `${a.username} reinstated.`, "ok");
      form.elements.reason.value = "";
      document.body.dispatchEvent(new CustomEvent("ft:accounts"));
    } catch (err) {
      FT.showError(form, err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("suspend-form");
    if (!form) return;
    form.addEventListener("change", (e) => { if (e.target.name === "account_id") showSuspendState(); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      suspendOrReinstate(form, e.submitter ? e.submitter.value : "suspend");
    });
  });

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

  // -- real USDC: reserves, alerts, withdrawals waiting for approval -----------------------
  // Only when the server rendered the section "on" (real USDC configured): on play money the
  // section says so and this asks the API nothing, so nothing answers 404.

  const funding = () => document.querySelector("#funding-console[data-funding=on]");
  const $id = (id) => document.getElementById(id);

  /** "1.002500" (held / owed) -> "100.2%", rounded down so a shortfall never shows as 100%;
   * null (nothing owed) -> "—". */
  const ratioText = (ratio) => (ratio === null || ratio === undefined ? "—"
    : (Math.floor(Number(ratio) * 1000) / 10).toFixed(1) + "%");

  function renderReserves(r) {
    const short = Boolean(r.shortfall);
    const state = short ? "Shortfall: the ledger owes more than the chain holds; withdrawals are halted."
      : r.withdrawals_halted ? "Reserves cover the ledger, but withdrawals are halted: resolve the alert below."
        : "Fully backed: the chain holds at least what the ledger owes.";
    const surplus = FT.units.microBig(r.surplus);
    return html`<p class="audit-state ${short || r.withdrawals_halted ? "down" : "up"}" id="reserves-state" data-shortfall="${short ? "yes" : "no"}"><strong>${state}</strong>
        <span class="muted small">Block ${fmt.shares(r.block)} · checked ${fmt.time(Date.now())}</span></p>
      <dl class="stat-grid" id="reserves-figures">
        <div><dt>Held on chain</dt><dd class="num big" data-held>${FT.money(r.held)}</dd></div>
        <div><dt>Owed by the ledger</dt><dd class="num big" data-owed>${FT.money(r.owed)}</dd></div>
        <div><dt>Reserve ratio</dt><dd class="num big" data-ratio>${ratioText(r.ratio)}</dd></div>
        <div><dt>${surplus !== null && surplus < 0n ? "Shortfall" : "Surplus"}</dt><dd class="num ${surplus !== null && surplus < 0n ? "down" : ""}" data-surplus>${FT.money(surplus !== null && surplus < 0n ? -surplus : r.surplus)}</dd></div>
        <div><dt>Hot wallet</dt><dd class="num">${FT.money(r.hot_wallet)}</dd></div>
        <div><dt>Deposit addresses</dt><dd class="num">${FT.money(r.deposit_addresses)}</dd></div>
        <div><dt>Withdrawals not yet on chain</dt><dd class="num">${FT.money(r.pending_withdrawals)}</dd></div>
        <div><dt>Withdrawals</dt><dd>${r.withdrawals_halted ? html`<span class="down">Halted</span>` : "Running"}</dd></div>
      </dl>`;
  }

  function renderAlerts(data) {
    const open = ((data && data.alerts) || []).filter((a) => !a.resolved_ms);
    if (!open.length) return html`<p class="muted" id="no-alerts">No open alerts.</p>`;
    return html`<table class="data cards" id="alerts-table">
      <caption class="visually-hidden">Open alerts from the chain watcher</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Alert</th><th scope="col">Account</th><th scope="col">Raised</th><th scope="col">Action</th></tr></thead>
      <tbody>${open.map((a) => html`<tr data-alert="${a.id}"><td class="num" data-label="Id">${a.id}</td>
        <td class="card-main"><strong>${fmt.label(a.kind)}</strong><span class="cell-sub">${a.message}</span></td>
        <td data-label="Account">${a.account_id === null || a.account_id === undefined ? "—" : a.account_id}</td>
        <td data-label="Raised">${FT.timeTag(a.created_ms)}</td>
        <td class="actions"><button type="button" class="btn small" data-resolve="${a.id}">Resolve<span class="visually-hidden"> alert ${a.id}</span></button></td></tr>`)}</tbody></table>`;
  }

  function renderPending(data) {
    const waiting = ((data && data.withdrawals) || []).filter((w) => w.status === "requested" && w.needs_approval);
    if (!waiting.length) return html`<p class="muted" id="no-pending-withdrawals">No withdrawal is waiting for approval.</p>`;
    return html`<table class="data cards" id="pending-withdrawals-table">
      <caption class="visually-hidden">Withdrawals above the approval limit, waiting for a supervisor</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Account</th><th scope="col" class="num">Amount</th><th scope="col">To</th><th scope="col">Requested</th><th scope="col">Decision</th></tr></thead>
      <tbody>${waiting.map((w) => html`<tr data-withdrawal="${w.id}"><td class="num" data-label="Id">${w.id}</td>
        <td data-label="Account">${w.account_id}</td><td class="num" data-label="Amount">${FT.money(w.amount)}</td>
        <td data-label="To"><code title="${w.address}">${String(w.address).slice(0, 10)}…${String(w.address).slice(-6)}</code></td>
        <td data-label="Requested">${FT.timeTag(w.created_ms)}</td>
        <td class="actions"><form class="market-action inline withdrawal-decision" data-withdrawal="${w.id}" novalidate>
          <button class="btn primary small" type="submit" name="decision" value="approve">Approve<span class="visually-hidden"> withdrawal ${w.id}</span></button>
          <label class="visually-hidden" for="wd-why-${w.id}">Reason to reject withdrawal ${w.id}</label>
          <input id="wd-why-${w.id}" name="reason" placeholder="Reason to reject" maxlength="200" autocomplete="off">
          <button class="btn small" type="submit" name="decision" value="reject">Reject<span class="visually-hidden"> withdrawal ${w.id}</span></button>
          <p class="form-error" data-error role="alert" hidden></p>
        </form></td></tr>`)}</tbody></table>`;
  }

  async function loadFunding() {
    const root = funding();
    if (!root) return;
    const boxes = { reserves: $id("reserves"), alerts: $id("funding-alerts"), pending: $id("pending-withdrawals") };
    // Alerts after the reserves: checking the reserves is what raises a shortfall alert.
    const [reserves, pending] = await Promise.allSettled([
      api.get("/reserves"), api.get("/admin/funding/withdrawals?status=requested")]);
    const [alerts] = await Promise.allSettled([api.get("/admin/funding/alerts")]);
    const show = (box, result, render) => FT.setHTML(box, result.status === "fulfilled" ? render(result.value)
      : html`<p class="form-error">${FT.errorText(result.reason)}</p>`);
    show(boxes.reserves, reserves, renderReserves);
    show(boxes.alerts, alerts, renderAlerts);
    show(boxes.pending, pending, renderPending);
  }
  async function resolveAlert(button) {
    const id = button.dataset.resolve;
    FT.clearError(funding());
    button.disabled = true;
    try {
      const done = await api.post(`/admin/funding/alerts/${id}/resolve`);
      FT.toast(`Alert ${id} resolved${done.withdrawals_halted ? "; withdrawals are still halted" : ""}.`, "ok");
    } catch (err) {
      FT.showError($id("funding-error"), err);
    }
    loadFunding();
  }

  async function decideWithdrawal(form, decision) {
    const id = form.dataset.withdrawal;
    FT.clearError(form);
    const reason = form.elements.reason.value.trim();
    try {
      if (decision === "approve") {
        if (!window.confirm(`Approve withdrawal ${id}? The USDC is sent on chain and cannot be called back.`)) return;
        await api.post(`/admin/funding/withdrawals/${id}/approve`);
        FT.toast(`Withdrawal ${id} approved: it is sent next.`, "ok");
      } else {
        if (!reason) { FT.showError(form, "Give a reason to reject it (the trader sees it)."); form.elements.reason.focus(); return; }
        await api.post(`/admin/funding/withdrawals/${id}/reject`, { reason });
        FT.toast(`Withdrawal ${id} rejected and refunded.`, "ok");
      }
    } catch (err) {
      FT.showError(form, err);
      return;
    }
    loadFunding();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = funding();
    if (!root) return;
    root.addEventListener("click", (e) => {
      const resolve = e.target.closest("[data-resolve]");
      if (resolve) resolveAlert(resolve);
      if (e.target.id === "funding-refresh") loadFunding();
    });
    root.addEventListener("submit", (e) => {
      const form = e.target.closest("form.withdrawal-decision");
      if (!form) return;
      e.preventDefault();
      decideWithdrawal(form, e.submitter ? e.submitter.value : "approve");
    });
  });
  document.body.addEventListener("ft:console", () => loadFunding());

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
