/* Creator section of the console: apply to the program, my markets and fees, drafts with
 * every settlement rule (errors shown next to each field), submission for review,
 * clarifications, resolution proposals, and news notes linked to one of my markets. */
(function () {
  "use strict";
  const { html, fmt, api } = FT;
  const $ = (id) => document.getElementById(id);
  let markets = [];  // my markets, normalized, with the live status and fees
  // What this page just wrote (id -> {fields, until}): GET /creators/me reads market rows from
  // the store, which follows the engine a moment later, so a draft created or edited a moment
  // ago may be missing or stale there. Shown from here until the listing catches up.
  const written = new Map();
  let catchUp = null;

  // What a creator may do with a market in each state (see domain/markets.py): edit and submit
  // drafts (and markets sent back for changes); nothing while a supervisor reviews it;
  // clarify and propose a resolution once it trades; clarify while a resolution is pending.
  const EDITABLE = ["draft", "changes_requested"];
  const CLARIFIABLE = ["open", "halted", "closed", "resolution_proposed", "disputed"];
  const PROPOSABLE = ["open", "halted", "closed"];
  const WAITING = {
    in_review: "Waiting for a supervisor’s review",
    resolution_proposed: "Dispute window open",
    disputed: "A supervisor decides the dispute",
  };

  const SHOWN = ["question", "slug", "description", "category"];  // compared with the listing

  function remember(id, fields) {
    const key = String(id);
    const before = written.get(key);
    written.set(key, { fields: { ...(before ? before.fields : {}), ...fields }, until: Date.now() + 15000 });
  }

  /** The listing with what this page wrote laid over it, until the listing agrees. */
  function overlay(list, liveStatus) {
    const now = Date.now();
    let behind = false;
    written.forEach((w, key) => {
      const shown = list.find((m) => String(m.id) === key);
      const f = w.fields;
      const agrees = shown && SHOWN.every((k) => f[k] === undefined || (shown.raw[k] ?? "") === f[k]);
      if (agrees || now > w.until) { written.delete(key); return; }
      behind = true;
      if (shown) {
        SHOWN.forEach((k) => { if (f[k] !== undefined) shown.raw[k] = f[k]; });
        Object.assign(shown, { question: f.question || shown.question, slug: f.slug || shown.slug });
      }
      else list.push({ id: Number(key), question: f.question, slug: f.slug, outcomes: f.outcomes || [], rules: f.rules || {}, raw: { ...f }, status: liveStatus.get(Number(key)) || f.status || "draft", fees: null });
    });
    list.sort((a, b) => a.id - b.id);
    return behind;
  }

  function renderStatus(me) {
    const last = me.applications[me.applications.length - 1];
    let text;
    if (me.role === "creator") text = html`<p>You are a <strong>creator</strong>: draft markets, send them for review, and earn a share of their fees.</p>`;
    else if (last && last.status === "pending") text = html`<p>Your application (${last.expertise}) is <strong>pending</strong> review by a supervisor.</p>`;
    else if (last && last.status === "rejected") text = html`<p>Your last application was <strong>rejected</strong>${last.reason ? html`: ${last.reason}` : ""}. You may apply again.</p>`;
    else text = html`<p>Creators draft markets, write their settlement rules and earn a share of their trading fees. Apply below.</p>`;
    FT.setHTML($("creator-status"), text);
    $("apply-form").hidden = me.role === "creator" || Boolean(last && last.status === "pending");
    $("creator-tools").hidden = me.role !== "creator";
  }

  function rowActions(m) {
    const label = html`<span class="visually-hidden"> market ${m.id}</span>`;
    const buttons = [];
    if (EDITABLE.includes(m.status)) {
      buttons.push(html`<button type="button" class="btn small" data-edit="${m.id}">Edit${label}</button>`);
      buttons.push(html`<button type="button" class="btn small primary" data-submit="${m.id}">Submit for review${label}</button>`);
    }
    if (CLARIFIABLE.includes(m.status)) buttons.push(html`<button type="button" class="btn small" data-goto="clarify-form" data-market="${m.id}">Clarify${label}</button>`);
    if (PROPOSABLE.includes(m.status)) buttons.push(html`<button type="button" class="btn small" data-goto="propose-form" data-market="${m.id}">Propose resolution${label}</button>`);
    if (buttons.length) return html`<div class="button-row">${buttons}</div>`;
    return WAITING[m.status] ? html`<span class="muted small">${WAITING[m.status]}</span>` : html`<span class="muted">—</span>`;
  }

  function renderMarkets(me) {
    const fees = new Map((me.fees_by_market || []).map((f) => [f.market_id, f]));
    markets = (me.markets || []).map((raw) => {
      const m = FT.market.normalize(raw);
      const f = fees.get(m.id);
      return { ...m, raw, status: (f && f.status) || m.status, fees: f ? f.creator_fees : null };
    });
    const behind = overlay(markets, new Map([...fees].map(([id, f]) => [Number(id), f.status])));
    clearTimeout(catchUp);
    if (behind) catchUp = setTimeout(refresh, 500);
    $("fees-earned").textContent = fmt.amount(me.fees_earned);
    FT.setHTML($("my-markets"), markets.length ? html`<table class="data cards" id="my-markets-table">
      <caption class="visually-hidden">My markets, their status, the fees they earned me and what I can do with them</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Market</th><th scope="col">Status</th><th scope="col" class="num">Fees earned</th><th scope="col">Actions</th></tr></thead>
      <tbody>${markets.map((m) => html`<tr data-market="${m.id}" data-status="${m.status}"><td class="num" data-label="Id">${m.id}</td>
        <td class="card-main">${["draft", "in_review", "changes_requested"].includes(m.status) ? (m.question || m.slug) : html`<a href="/markets/${m.slug || m.id}">${m.question || m.slug}</a>`}</td>
        <td data-label="Status">${FT.market.statusBadge(m.status)}</td><td class="num" data-label="Fees earned">${fmt.amount(m.fees)}</td>
        <td class="actions">${rowActions(m)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No markets yet: start with a draft below.</p>`);
    FT.$$(".my-market-select").forEach((select) => {
      const statuses = select.dataset.statuses.split(" ");
      const chosen = select.value;
      const usable = markets.filter((m) => statuses.includes(m.status));
      FT.setHTML(select, usable.length ? html`${usable.map((m) => html`<option value="${m.id}">${m.id} · ${m.question || m.slug}</option>`)}`
        : html`<option value="">No market in a suitable state</option>`);
      if (usable.some((m) => String(m.id) === chosen)) select.value = chosen;
    });
    fillWinners();
  }

  function fillWinners() {
    const m = markets.find((x) => String(x.id) === $("pr-market").value);
    const outcomes = m && m.outcomes.length ? m.outcomes : ["Yes", "No"];
    FT.setHTML($("pr-winner"), html`${outcomes.map((o, i) => html`<option value="${i}">${o}</option>`)}`);
  }

  async function refresh() {
    try {
      const me = await api.get("/creators/me");
      renderStatus(me);
      if (me.role === "creator") renderMarkets(me);
    } catch (err) {
      FT.showError($("creator-status"), err);
    }
  }

  // -- per-field errors ---------------------------------------------------------------------

  function clearFieldErrors(form) {
    FT.clearError(form);
    FT.$$(".field-error", form).forEach((p) => { p.textContent = ""; p.hidden = true; });
    FT.$$("[aria-invalid]", form).forEach((el) => el.removeAttribute("aria-invalid"));
  }

  /** Details of a 422: {field: message} (incomplete rules) or [{loc, msg}] (validation). */
  function fieldErrors(form, err) {
    const pairs = [];
    if (Array.isArray(err.details)) {
      err.details.forEach((d) => pairs.push([(d.loc || []).filter((x) => x !== "body").join("."), d.msg]));
    } else if (err.details && typeof err.details === "object") {
      Object.entries(err.details).forEach(([k, v]) => pairs.push([k, String(v)]));
    }
    let first = null;
    const unplaced = [];
    pairs.forEach(([key, msg]) => {
      const input = key && form.querySelector(`[name="${CSS.escape(key)}"]`);
      const box = input && FT.$$(".field-error", input.closest(".field"))[0];
      if (!box) { unplaced.push(`${fmt.label(key)}: ${msg}`); return; }
      box.textContent = msg.charAt(0).toUpperCase() + msg.slice(1) + ".";
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    });
    const summary = (err.message || "The request was refused.") + (pairs.length ? (first ? " Fix the marked fields." : "") : "");
    FT.showError(form, [summary, ...unplaced].join(" "));
    if (first) first.focus();
  }

  // -- the draft form -----------------------------------------------------------------------

  async function saveDraft(form, andSubmit) {
    clearFieldErrors(form);
    const body = FT.formJSON(form);
    // The subsidy is not part of the draft's rules: it is committed to the market's pool when
    // the draft goes for review (POST /markets/{id}/pool), from the creator's balance.
    const subsidy = String(body.subsidy || "0").trim();
    delete body.subsidy;
    let id = $("df-id").value;
    try {
      if (id) {
        const saved = await api.put(`/creator/markets/${id}`, body);
        remember(id, { ...body, status: saved.status });
      } else {
        const created = await api.post("/creator/markets", body);
        id = String(created.id);
        remember(id, { ...body, status: created.status || "draft" });
        $("df-id").value = id;
        $("draft-title").textContent = `Draft of market ${id}`;
      }
      if (andSubmit) {
        if (subsidy && Number(subsidy) > 0) {
          try {
            await api.post(`/markets/${id}/pool`, { subsidy });
          } catch (err) {
            if (!err || err.code !== "pool_exists") throw err;  // funded by an earlier submit
          }
        }
        const sent = await api.post(`/creator/markets/${id}/submit`);
        remember(id, { status: sent.status || "in_review" });
        FT.toast(`Market ${id} sent for review.`, "ok");
        resetDraft();
      } else {
        FT.toast(`Draft ${id} saved.`, "ok");
      }
    } catch (err) {
      if (err.status === 422) fieldErrors(form, err);
      else FT.showError(form, err);
    }
    refresh();
  }

  /** Submit a listed draft as it was saved; missing rules open it in the form, per field. */
  async function submitListed(id) {
    try {
      const sent = await api.post(`/creator/markets/${id}/submit`);
      remember(id, { status: sent.status || "in_review" });
      FT.toast(`Market ${id} sent for review.`, "ok");
      if ($("df-id").value === String(id)) resetDraft();
    } catch (err) {
      if (err.status === 422) {
        editDraft(id);
        fieldErrors($("draft-form"), err);
      } else {
        FT.toast(FT.errorText(err), "error");
      }
    }
    refresh();
  }

  /** Jump to one of the forms below with this market chosen. */
  function goTo(formId, id) {
    const form = $(formId);
    const select = form.elements.market;
    if (FT.$$("option", select).some((o) => o.value === String(id))) select.value = String(id);
    if (formId === "propose-form") fillWinners();
    form.scrollIntoView({ block: "start" });
    const first = FT.$$("textarea, input:not([type=hidden])", form)[0];
    if (first) first.focus({ preventScroll: true });
  }

  function resetDraft() {
    const form = $("draft-form");
    form.reset();
    clearFieldErrors(form);
    $("df-id").value = "";
    $("draft-title").textContent = "New market draft";
  }

  const localTime = (ms) => {
    if (!ms) return "";
    const d = new Date(Number(ms) - new Date(Number(ms)).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  };

  function editDraft(id) {
    const m = markets.find((x) => String(x.id) === String(id));
    if (!m) return;
    resetDraft();
    const form = $("draft-form");
    const r = m.rules || {};
    const set = (name, value) => { form.elements[name].value = value === undefined || value === null ? "" : value; };
    set("question", m.question); set("slug", m.slug); set("category", m.raw.category);
    set("description", m.raw.description); set("outcomes", (m.outcomes || []).join("\n"));
    set("tags", FT.market.parseList(m.raw.tags).join(", "));
    set("rules.resolution_sources", Array.isArray(r.resolution_sources) ? r.resolution_sources.join("\n") : r.resolution_sources);
    ["resolution_criteria", "ambiguity", "postponement", "cancellation"].forEach((k) => set(`rules.${k}`, r[k]));
    set("close_ms", localTime(m.raw.close_ms)); set("resolution_deadline_ms", localTime(m.raw.resolution_deadline_ms));
    set("maker_fee_ppm", m.raw.maker_fee_ppm); set("taker_fee_ppm", m.raw.taker_fee_ppm);
    set("creator_share_ppm", m.raw.creator_share_ppm);
    $("df-id").value = String(m.id);
    $("draft-title").textContent = `Draft of market ${m.id}`;
    form.elements.question.focus();
  }

  // -- the other forms ----------------------------------------------------------------------

  async function post(form, send, done) {
    FT.clearError(form);
    if (!form.elements.market.value) { FT.showError(form, "Choose a market first."); return; }
    try {
      await send(form.elements.market.value);
      FT.toast(done, "ok");
      form.reset();
      refresh();
    } catch (err) {
      FT.showError(form, err);
    }
  }

  const HANDLERS = {
    "apply-form": async (form) => {
      FT.clearError(form);
      try {
        await api.post("/creators/apply", { profile: form.elements.profile.value.trim(), expertise: form.elements.expertise.value.trim() });
        FT.toast("Application sent.", "ok");
        form.reset();
        refresh();
      } catch (err) {
        FT.showError(form, err);
      }
    },
    "draft-form": (form, submitter) => saveDraft(form, Boolean(submitter && submitter.value === "submit")),
    "clarify-form": (form) => post(form, (id) => api.post(`/creator/markets/${id}/clarifications`, { text: form.elements.text.value.trim() }), "Clarification added."),
    "propose-form": (form) => post(form, (id) => api.post(`/creator/markets/${id}/resolution`, { winner_index: Number(form.elements.winner_index.value), evidence: form.elements.evidence.value.trim() }), "Resolution proposed: the dispute window is open."),
    "news-form": (form) => post(form, (id) => api.post("/news", {
      title: form.elements.title.value.trim(), summary: form.elements.summary.value.trim(), kind: form.elements.kind.value,
      tags: form.elements.tags.value.split(",").map((s) => s.trim()).filter(Boolean), market_ids: [Number(id)],
    }), "News note posted."),
  };

  document.addEventListener("DOMContentLoaded", () => {
    const root = $("creator");
    if (!root) return;
    root.addEventListener("submit", (e) => {
      const handler = HANDLERS[e.target.id];
      if (!handler) return;
      e.preventDefault();
      handler(e.target, e.submitter);
    });
    root.addEventListener("click", (e) => {
      const edit = e.target.closest("[data-edit]");
      if (edit) editDraft(edit.dataset.edit);
      const submit = e.target.closest("[data-submit]");
      if (submit) {
        submit.disabled = true;
        submitListed(submit.dataset.submit);
      }
      const jump = e.target.closest("[data-goto]");
      if (jump) goTo(jump.dataset.goto, jump.dataset.market);
      if (e.target.id === "draft-new") resetDraft();
    });
    $("pr-market").addEventListener("change", fillWinners);
  });

  document.body.addEventListener("ft:console-ready", () => { if ($("creator")) refresh(); });
})();
