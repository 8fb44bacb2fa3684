"""The creator's list of markets follows every write at once (no reload) and offers only the
actions valid in each market's state: a draft can be edited and submitted (never voided), a
market in review waits, an open market takes clarifications and a resolution proposal. The
supervisor's market table does not offer Void on a draft either."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _creator(ui: Any) -> tuple[str, str]:
    """A new account made creator through the API: sign up, apply, a supervisor approves."""
    name, password = ui.unique("maker"), "password-1234"
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as me, \
            httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as ops:
        r = me.post("/auth/signup", json={"username": name, "password": password})
        assert r.status_code in (200, 201), r.text
        me.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = me.post("/creators/apply", json={
            "profile": "Twenty years of covering elections for a daily paper.",
            "expertise": "Elections"})
        assert r.status_code == 201, r.text
        application = r.json()["id"]
        r = ops.post("/auth/login", json={"username": "ops", "password": ui.demo_password})
        assert r.status_code == 200, r.text
        ops.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = ops.post(f"/admin/creator-applications/{application}/decision",
                     json={"approve": True, "reason": "good track record"})
        assert r.status_code == 200, r.text
    return name, password


def _fill_draft(form: Any, slug: str, question: str) -> None:
    form.locator("[name=question]").fill(question)
    form.locator("[name=slug]").fill(slug)
    form.locator("[name=tags]").fill("elections")
    form.locator("[name=close_ms]").fill("2030-06-01T12:00")
    form.locator("[name=resolution_deadline_ms]").fill("2030-07-01T12:00")
    form.locator("[name='rules.resolution_sources']").fill("https://www.bundeswahlleiterin.de")
    form.locator("[name='rules.resolution_criteria']").fill(
        "Yes if the official final result shows a turnout above 80 percent.")
    form.locator("[name='rules.ambiguity']").fill("The supervisor decides from the official text.")
    form.locator("[name='rules.postponement']").fill("A postponed election counts when it is held.")
    form.locator("[name='rules.cancellation']").fill("If no election is held by 2030, it voids.")


def test_new_draft_is_listed_at_once_with_only_valid_actions(ui: Any) -> None:
    name, password = _creator(ui)
    page = ui.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    ui.log_in(page, name, password)
    page.goto("/console")
    form = page.locator("#draft-form")
    expect(form).to_be_visible()
    expect(page.locator("#my-markets")).to_contain_text("No markets yet")

    slug = name.lower() + "-turnout"
    _fill_draft(form, slug, "Will turnout exceed 80% in the next federal election?")
    form.locator("button[value=save]").click()

    # Listed at once, as a draft, with edit and submit and nothing else.
    row = page.locator("#my-markets-table tbody tr", has_text="turnout exceed 80%")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("draft")
    expect(row.get_by_role("button", name=re.compile("^Edit"))).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Submit for review"))).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("Void|Clarify|Propose"))).to_have_count(0)
    market_id = row.get_attribute("data-market")
    page.set_viewport_size({"width": 375, "height": 900})
    page.locator("#my-markets").screenshot(path=str(SHOTS / "console-creator-draft-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # An edit shows in the list at once too.
    row.get_by_role("button", name=re.compile("^Edit")).click()
    expect(form.locator("[name=question]")).to_have_value(
        "Will turnout exceed 80% in the next federal election?")
    form.locator("[name=question]").fill("Will turnout top 80% in the next federal election?")
    form.locator("button[value=save]").click()
    row = page.locator(f"#my-markets-table tr[data-market='{market_id}']")
    expect(row).to_contain_text("turnout top 80%")
    expect(row.locator(".badge")).to_have_text("draft")

    # Submitted from the list: in review, nothing left to do but wait.
    row.get_by_role("button", name=re.compile("^Submit for review")).click()
    expect(row.locator(".badge")).to_have_text("in review")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(row).to_contain_text("Waiting for a supervisor")
    for width in ui.widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        page.locator("#creator").scroll_into_view_if_needed()
        ui.screenshot(page, "console-creator-list")
        assert ui.axe_violations(page) == [], width
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the console scrolls sideways at {width}px by {overflow}px"
        listed = page.locator("#my-markets")
        assert listed.evaluate("e => e.scrollWidth - e.clientWidth") <= 1, width
        listed.screenshot(path=str(SHOTS / f"console-creator-rows-{width}.png"))

    # A supervisor approves it: open, so clarify and propose are offered; no edit any more.
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as ops:
        r = ops.post("/auth/login", json={"username": "ops", "password": ui.demo_password})
        ops.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = ops.post(f"/admin/markets/{market_id}/review",
                     json={"approve": True, "reason": "rules are clear"})
        assert r.status_code == 200, r.text
    page.reload()
    row = page.locator(f"#my-markets-table tr[data-market='{market_id}']")
    expect(row.locator(".badge")).to_have_text("open")
    expect(row.get_by_role("button", name=re.compile("^(Edit|Submit|Void)"))).to_have_count(0)
    row.get_by_role("button", name=re.compile("^Clarify")).click()
    expect(page.locator("#cl-market")).to_have_value(market_id)
    expect(page.locator("#cl-text")).to_be_focused()
    row.get_by_role("button", name=re.compile("^Propose resolution")).click()
    expect(page.locator("#pr-market")).to_have_value(market_id)

    assert failed == [], failed
    assert console_errors == [], console_errors
    assert page.js_errors == [], page.js_errors
    page.context.close()
    _void(ui, int(market_id))  # off the home page, which other tests read


def _void(ui: Any, market_id: int) -> None:
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as ops:
        r = ops.post("/auth/login", json={"username": "ops", "password": ui.demo_password})
        ops.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = ops.post(f"/admin/markets/{market_id}/void", json={"reason": "test done"})
        assert r.status_code == 200, r.text


def test_supervisor_is_not_offered_void_on_a_draft(ui: Any) -> None:
    name, password = _creator(ui)
    with httpx.Client(base_url=ui.base_url + "/api/v1", timeout=10) as me:
        r = me.post("/auth/login", json={"username": name, "password": password})
        me.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = me.post("/creator/markets", json={"slug": name.lower() + "-draft",
                                              "question": "A draft nobody should void?"})
        assert r.status_code == 201, r.text
        draft = r.json()["id"]
    sup = ui.new_page()
    ui.log_in(sup, "ops", ui.demo_password)
    sup.goto("/console")
    row = sup.locator(f"#console-markets-table tr[data-market='{draft}']")
    expect(row.locator(".badge")).to_have_text("draft")
    expect(row.locator("option[value=void]")).to_have_count(0)
    # An open market still offers it.
    open_row = sup.locator("#console-markets-table tbody tr",
                           has=sup.locator(".badge.status-open")).first
    expect(open_row.locator("option[value=void]")).to_have_count(1)
    assert sup.js_errors == [], sup.js_errors
    sup.context.close()
