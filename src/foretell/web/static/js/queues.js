/* Supervisor queues in the console: creator applications, markets in review, disputes.
 * Every decision carries a reason on record; the lists reload after each one. */
(function () {
  "use strict";
  const { html, api } = FT;
  const STATUS = ["draft", "open", "halted", "closed", "settled", "voided", "in_review",
    "changes_requested", "resolution_proposed", "disputed"];
  const statusName = (s) => (typeof s === "number" ? STATUS[s] : s);
  const $ = (id) => document.getElementById(id);

  function reasonField(prefix, id) {
    return html`<div class="field"><label for="${prefix}-why-${id}">Reason</label>
      <input id="${prefix}-why-${id}" name="reason" required minlength="3" maxlength="500" autocomplete="off"></div>`;
  }

  function renderApplications(list) {
    const pending = list.filter((a) => a.status === "pending");
    if (!pending.length) return html`<p class="muted">No pending applications.</p>`;
    return html`${pending.map((a) => html`<article class="queue-item" data-application="${a.id}">
      <h3>${a.username} <span class="muted small">· application ${a.id}</span></h3>
      <p><strong>Expertise:</strong> ${a.expertise}</p><p>${a.profile}</p>
      <form class="queue-form" data-kind="application" data-id="${a.id}" novalidate>
        ${reasonField("app", a.id)}
        <button class="btn primary small" type="submit" name="decision" value="approve">Approve</button>
        <button class="btn small" type="submit" name="decision" value="reject">Reject</button>
        <p class="form-error" data-error role="alert" hidden></p>
      </form></article>`)}`;
  }

  function rulesList(m) {
    const r = FT.market.pick(m, "rules") || {};
    const rules = typeof r === "string" ? (FT.market.parseObject(r) || {}) : r;
    const sources = Array.isArray(rules.resolution_sources) ? rules.resolution_sources.join("; ") : rules.resolution_sources;
    return html`<dl class="rules-list small">
      <div><dt>Sources</dt><dd>${sources || "—"}</dd></div>
      <div><dt>Criteria</dt><dd>${rules.resolution_criteria || "—"}</dd></div>
      <div><dt>If ambiguous</dt><dd>${rules.ambiguity || "—"}</dd></div>
      <div><dt>If postponed</dt><dd>${rules.postponement || "—"}</dd></div>
      <div><dt>If cancelled</dt><dd>${rules.cancellation || "—"}</dd></div></dl>`;
  }

  function renderReview(list) {
    if (!list.length) return html`<p class="muted">No markets waiting for review.</p>`;
    return html`${list.map((raw) => {
      const m = FT.market.normalize(raw);
      return html`<article class="queue-item" data-market="${m.id}">
        <h3>${m.question || m.slug} <span class="muted small">· market ${m.id}</span></h3>
        <p class="muted small">Outcomes: ${(m.outcomes.length ? m.outcomes : ["Yes", "No"]).join(" · ")} · closes ${FT.timeTag(m.close_ms)}</p>
        ${rulesList(raw)}
        <form class="queue-form" data-kind="review" data-id="${m.id}" novalidate>
          ${reasonField("rev", m.id)}
          <button class="btn primary small" type="submit" name="decision" value="approve">Approve and open</button>
          <button class="btn small" type="submit" name="decision" value="reject">Request changes</button>
          <p class="form-error" data-error role="alert" hidden></p>
        </form></article>`;
    })}`;
  }

  function renderDisputes(list) {
    if (!list.length) return html`<p class="muted">No disputed markets.</p>`;
    return html`${list.map((raw) => {
      const m = FT.market.normalize(raw);
      const outcomes = m.outcomes.length ? m.outcomes : ["Yes", "No"];
      return html`<article class="queue-item" data-market="${m.id}">
        <h3><a href="/markets/${m.slug || m.id}">${m.question || m.slug}</a> <span class="muted small">· ${statusName(raw.status)}</span></h3>
        <form class="queue-form" data-kind="dispute" data-id="${m.id}" novalidate>
          <div class="field"><label for="dis-win-${m.id}">Winning outcome</label>
            <select id="dis-win-${m.id}" name="winner_index">${outcomes.map((o, i) => html`<option value="${i}">${o}</option>`)}</select></div>
          ${reasonField("dis", m.id)}
          <button class="btn primary small" type="submit" name="decision" value="approve">Uphold dispute</button>
          <button class="btn small" type="submit" name="decision" value="reject">Reject dispute</button>
          <p class="form-error" data-error role="alert" hidden></p>
        </form></article>`;
    })}`;
  }

  async function load(id, path, key, render) {
    const el = $(id);
    if (!el) return;
    try {
      const data = await api.get(path);
      FT.setHTML(el, render((data && data[key]) || []));
    } catch (err) {
      FT.setHTML(el, html`<p class="form-error" role="alert">${FT.errorText(err)}</p>`);
    }
  }

  function loadAll() {
    load("applications-list", "/admin/creator-applications?status=pending", "applications", renderApplications);
    load("review-list", "/admin/review-queue", "markets", renderReview);
    load("dispute-list", "/admin/dispute-queue", "markets", renderDisputes);
  }

  async function decide(form, approve) {
    FT.clearError(form);
    const id = form.dataset.id;
    const reason = form.elements.reason.value.trim();
    if (reason.length < 3) {
      FT.showError(form, "Give a reason of at least 3 characters.");
      form.elements.reason.focus();
      return;
    }
    try {
      if (form.dataset.kind === "application") {
        await api.post(`/admin/creator-applications/${id}/decision`, { approve, reason });
        FT.toast(`Application ${id} ${approve ? "approved" : "rejected"}.`, "ok");
      } else if (form.dataset.kind === "review") {
        await api.post(`/admin/markets/${id}/review`, { approve, reason });
        FT.toast(`Market ${id}: ${approve ? "approved and open" : "changes requested"}.`, "ok");
        document.body.dispatchEvent(new CustomEvent("ft:markets"));
      } else {
        const winner = Number(form.elements.winner_index.value);
        await api.post(`/admin/markets/${id}/dispute-decision`, { uphold: approve, winner_index: winner, reason });
        FT.toast(`Market ${id}: dispute ${approve ? "upheld" : "rejected"}.`, "ok");
        document.body.dispatchEvent(new CustomEvent("ft:markets"));
      }
      loadAll();
    } catch (err) {
      FT.showError(form, err);
    }
  }

  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form.queue-form");
    if (!form) return;
    e.preventDefault();
    decide(form, !e.submitter || e.submitter.value === "approve");
  });
  document.body.addEventListener("ft:console", loadAll);
  document.body.addEventListener("ft:queues", loadAll);
})();
