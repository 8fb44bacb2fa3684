/* Account: profile and API keys (create with scopes, the secret shown once, revoke). */
(function () {
  "use strict";
  const { html } = FT;

  FT.renderers.apiKeys = (data) => {
    const keys = (data && data.api_keys) || [];
    if (!keys.length) return html`<p class="muted">No API keys yet.</p>`;
    return html`<table class="data" id="keys-table">
      <caption class="visually-hidden">API keys</caption>
      <thead><tr><th scope="col">Key id</th><th scope="col">Label</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${keys.map((k) => html`<tr data-key="${k.key_id}"><td><code>${k.key_id}</code></td><td>${k.label || "—"}</td>
        <td>${(k.scopes || []).join(", ")}</td><td>${FT.timeTag(k.created_ms)}</td><td>${FT.timeTag(k.last_used_ms)}</td>
        <td>${k.revoked_ms ? html`Revoked ${FT.timeTag(k.revoked_ms)}` : "Active"}</td>
        <td>${k.revoked_ms ? "" : html`<button type="button" class="btn danger small" hx-delete="/api/v1/account/api-keys/${k.key_id}" hx-swap="none"
          hx-confirm="Revoke ${k.key_id}? Programs using it stop working at once." data-on-success="event:ft:keys">Revoke<span class="visually-hidden"> ${k.key_id}</span></button>`}</td></tr>`)}</tbody></table>`;
  };

  FT.hooks.keyCreated = (key) => {
    document.getElementById("new-key-id").textContent = key.key_id;
    document.getElementById("new-key-secret").textContent = key.secret;
    document.getElementById("new-key-scopes").textContent = (key.scopes || []).join(", ");
    const box = document.getElementById("new-key");
    box.hidden = false;
    box.focus();
    document.body.dispatchEvent(new CustomEvent("ft:keys"));
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("hide-secret").addEventListener("click", () => {
      document.getElementById("new-key-secret").textContent = "";
      document.getElementById("new-key").hidden = true;
    });
    document.getElementById("copy-secret").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(document.getElementById("new-key-secret").textContent);
        FT.toast("Secret copied.", "ok");
      } catch (err) {
        FT.toast("Copy failed: select the secret and copy it by hand.", "error");
      }
    });
  });

  FT.session.then(async (account) => {
    if (!account) return;
    FT.setHTML(document.getElementById("profile"), html`
      <div><dt>Username</dt><dd>${account.username}</dd></div>
      <div><dt>Display name</dt><dd>${account.display_name}</dd></div>
      <div><dt>Role</dt><dd>${account.role}</dd></div>
      <div><dt>Account id</dt><dd>${account.id}</dd></div>
      <div><dt>Member since</dt><dd>${FT.timeTag(account.created_ms)}</dd></div>
      <div><dt>Session rights</dt><dd>${(account.scopes || []).join(", ")}</dd></div>`);
    await FT.domReady;
    document.body.dispatchEvent(new CustomEvent("ft:ready"));
  });
})();
