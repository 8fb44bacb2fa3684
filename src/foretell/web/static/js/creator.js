/* Creator section of the console: apply to the program, my markets and fees, drafts with
 * every settlement rule (errors shown next to each field), submission for review,
 * clarifications, resolution proposals, and news notes linked to one of my markets. */
(function () {
  "use strict";
  const { html, fmt, api } = FT;
  const $ = (id) => document.getElementById(id);
  let markets = [];  // my markets, normalized, with the live status and fees

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

  function renderMarkets(me) {
    const fees = new Map((me.fees_by_market || []).map((f) => [f.market_id, f]));
    markets = (me.markets || []).map((raw) => {
      const m = FT.market.normalize(raw);
      const f = fees.get(m.id);
      return { ...m, raw, status: (f && f.status) || m.status, fees: f ? f.creator_fees : null };
    });
    $("fees-earned").textContent = fmt.amount(me.fees_earned);
    FT.setHTML($("my-markets"), markets.length ? html`<table class="data" id="my-markets-table">
      <caption class="visually-hidden">My markets, their status and the fees they earned me</caption>
      <thead><tr><th scope="col" class="num">Id</th><th scope="col">Market</th><th scope="col">Status</th><th scope="col" class="num">Fees earned</th><th scope="col">Action</th></tr></thead>
      <tbody>${markets.map((m) => html`<tr data-market="${m.id}"><td class="num">${m.id}</td>
        <td>${["draft", "in_review", "changes_requested"].includes(m.status) ? (m.question || m.slug) : html`<a href="/markets/${m.slug || m.id}">${m.question || m.slug}</a>`}</td>
        <td>${FT.market.statusBadge(m.status)}</td><td class="num">${fmt.amount(m.fees)}</td>
        <td>${["draft", "changes_requested"].includes(m.status) ? html`<button type="button" class="btn small" data-edit="${m.id}">Edit<span class="visually-hidden"> market ${m.id}</span></button>` : html`<span class="muted">—</span>`}</td></tr>`)}</tbody></table>`
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
      if (id) await api.put(`/creator/markets/${id}`, body);
      else {
        id = String((await api.post("/creator/markets", body)).id);
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
        await api.post(`/creator/markets/${id}/submit`);
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
      if (e.target.id === "draft-new") resetDraft();
    });
    $("pr-market").addEventListener("change", fillWinners);
  });

  document.body.addEventListener("ft:console-ready", () => { if ($("creator")) refresh(); });
})();
