"""The console's suspend / reinstate control: a supervisor chooses a trader, gives a reason,
confirms, and the accounts table shows the state; the trader's session is refused at once and
works again (after a new login) once reinstated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.mark.parametrize("width", [1280, 375])
def test_supervisor_suspends_and_reinstates_a_trader(ui: Any, width: int) -> None:
    name = ui.unique("suspendee")
    trader = httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10)
    signed = trader.post("/auth/signup", json={"username": name, "password": "password-1234"})
    assert signed.status_code in (200, 201), signed.text
    trader_id = signed.json()["user"]["id"]
    assert trader.get("/account").status_code == 200

    page = ui.new_page(width)
    dialogs: list[str] = []

    def accept(d: Any) -> None:
        dialogs.append(d.message)
        d.accept()

    page.on("dialog", accept)
    ui.log_in(page, "ops", ui.demo_password)
    page.goto("/console")
    row = page.locator(f'#accounts-table tr[data-account="{trader_id}"]')
    expect(row).to_contain_text("Active")
    form = page.locator("#suspend-form")
    # A supervisor is never offered: the verb would refuse it.
    assert "supervisor" not in form.locator("#suspend-account").inner_text()
    form.locator("#suspend-account").select_option(str(trader_id))
    expect(form.locator("#suspend-state")).to_contain_text(f"{name} is active")
    expect(form.locator("#reinstate-button")).to_be_disabled()
    form.locator("#suspend-button").click()
    expect(form.locator("[data-error]")).to_contain_text("reason")
    assert dialogs == []  # nothing asked before the reason is there
    form.locator("#suspend-reason").fill("Account takeover suspected")
    form.locator("#suspend-button").click()
    expect(row).to_contain_text("Suspended")
    assert len(dialogs) == 1 and f"Suspend {name}" in dialogs[0]
    expect(form.locator("#suspend-state")).to_contain_text(f"{name} is suspended")
    assert trader.get("/account").status_code == 401  # the session ended at once
    page.wait_for_timeout(300)
    section = page.locator("section#accounts")  # (the table box inside has the same id)
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(SHOTS / f"console-suspend-{width}.png"))
    assert ui.axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0

    form.locator("#suspend-reason").fill("Owner verified")
    form.locator("#reinstate-button").click()
    expect(row).to_contain_text("Active")
    assert len(dialogs) == 2 and f"Reinstate {name}" in dialogs[1]
    again = trader.post("/auth/login", json={"username": name, "password": "password-1234"})
    assert again.status_code == 200, again.text
    assert page.js_errors == [], page.js_errors
    page.context.close()
    trader.close()
