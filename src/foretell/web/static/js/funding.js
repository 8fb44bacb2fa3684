/* Deposit and Withdraw pages: the deposit address with its QR code and the deposits with
   their confirmations; the withdrawal form (a fresh request id per submission, so a double
   click never withdraws twice) and every withdrawal's state. Polls every 3 s. */
(function () {
  "use strict";
  const { html } = FT;

  function table(rows, head, row) {
    return html`<table class="data"><thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
      <tbody>${rows.map(row)}</tbody></table>`.text;
  }

  async function depositPage() {
    try {
      const a = await FT.api.get("/funding/deposit-address");
      document.getElementById("deposit-address").textContent = a.address;
      document.getElementById("deposit-qr").src = "/api/v1/funding/deposit-address.svg";
      document.getElementById("deposit-help").textContent =
        `Send USDC (token ${a.token}, chain id ${a.chain_id}) to this address. ` +
        `It is credited after ${a.confirmations_required} confirmations.`;
      document.getElementById("deposit-box").hidden = false;
    } catch (err) {
      const box = document.getElementById("funding-off");
      box.textContent = err.message;
      box.hidden = false;
      return;
    }
    const refresh = async () => {
      const d = (await FT.api.get("/funding/deposits")).deposits;
      if (!d.length) return;
      document.getElementById("deposits").innerHTML = table(d,
        ["Amount", "Status", "Confirmations", "Transaction"],
        (x) => html`<tr data-deposit="${x.id}"><td>${x.amount}</td><td data-status>${x.status}</td>
          <td>${x.confirmations} / ${x.confirmations_required}</td><td><code>${x.tx_hash.slice(0, 18)}…</code></td></tr>`);
    };
    await refresh();
    setInterval(refresh, 3000);
  }

  async function withdrawPage() {
    const refresh = async () => {
      const w = (await FT.api.get("/funding/withdrawals")).withdrawals;
      if (!w.length) return;
      document.getElementById("withdrawals").innerHTML = table(w,
        ["Amount", "To", "Status", "Transaction"],
        (x) => html`<tr data-withdrawal="${x.id}"><td>${x.amount}</td><td><code>${x.address}</code></td>
          <td data-status>${x.status}${x.note ? " — " + x.note : ""}</td><td>${x.tx_hash ? html`<code>${x.tx_hash.slice(0, 18)}…</code>` : "—"}</td></tr>`);
    };
    const form = document.getElementById("withdraw-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("wd-error");
      error.hidden = true;
      // The API takes ASCII digits only (strict, as everywhere): say so here, in plain words.
      if (!/^[0-9]{1,12}(\.[0-9]{1,6})?$/.test(form.amount.value.trim())) {
        error.textContent = "Give the amount in USDC as digits, with at most 6 decimals: 25.5";
        error.hidden = false;
        return;
      }
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        await FT.api.post("/funding/withdrawals", {
          amount: form.amount.value.trim(), address: form.address.value.trim(),
          request_id: crypto.randomUUID() });
        form.reset();
        await refresh();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    await refresh().catch(() => {});
    setInterval(() => refresh().catch(() => {}), 3000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "deposit") depositPage();
    if (page === "withdraw") withdrawPage();
  });
})();
