"""Browser test of the creator program end to end: a trader applies, a supervisor approves,
the creator drafts a market (inline errors for missing rules) and submits it, the supervisor
approves it from the review queue, a news note linked to it appears live on the market page,
the creator proposes a resolution and the supervisor settles the market."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect


def _check(ui: Any, page: Any, name: str) -> None:
    """Screenshots and axe at 1280 px and 375 px; no sideways scroll on the phone."""
    found = {}
    for width in ui.widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        ui.screenshot(page, name)
        violations = ui.axe_violations(page)
        if violations:
            found[width] = violations
        if width < 400:
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways at {width}px by {overflow}px"
    page.set_viewport_size({"width": ui.widths[0], "height": 900})
    assert not found, found


def test_creator_program_from_application_to_settlement(ui: Any) -> None:
    name = ui.unique("creator")
    creator = ui.new_page()
    ui.sign_up(creator, name)
    creator.goto("/console")
    apply = creator.locator("#apply-form")
    expect(apply).to_be_visible()
    expect(creator.locator("#accounts")).to_have_count(0)  # supervisor sections are gone
    apply.locator("[name=profile]").fill("Ten years covering central banks and rates markets.")
    apply.locator("[name=expertise]").fill("Monetary policy")
    apply.locator("button[type=submit]").click()
    expect(creator.locator("#creator-status")).to_contain_text("pending")
    expect(apply).to_be_hidden()

    sup = ui.new_page()
    sup.on("dialog", lambda d: d.accept())
    ui.log_in(sup, "ops", ui.demo_password)
    sup.goto("/console")
    item = sup.locator("#applications-list article", has_text=name)
    expect(item).to_be_visible()
    item.locator("[name=reason]").fill("solid track record")
    item.locator("button[value=approve]").click()
    expect(item).to_have_count(0)

    creator.reload()
    form = creator.locator("#draft-form")
    expect(form).to_be_visible()
    slug = name.lower() + "-rates"
    form.locator("[name=question]").fill("Will the ECB cut its deposit rate before 2031?")
    form.locator("[name=slug]").fill(slug)
    form.locator("[name=close_ms]").fill("2030-06-01T12:00")
    form.locator("[name=resolution_deadline_ms]").fill("2030-07-01T12:00")
    form.locator("button[value=submit]").click()
    expect(creator.locator("#df-ambiguity-err")).to_be_visible()  # rules missing, per field
    expect(creator.locator("#df-ambiguity")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".form-error")).to_contain_text("settlement rules")
    expect(creator.locator("#df-tags-err")).to_be_visible()
    form.locator("[name=tags]").fill("ecb, rates")
    form.locator("[name='rules.resolution_sources']").fill("https://www.ecb.europa.eu/press/pr")
    form.locator("[name='rules.resolution_criteria']").fill(
        "Yes if the ECB announces a lower deposit facility rate before the close.")
    form.locator("[name='rules.ambiguity']").fill("The supervisor decides using the ECB's text.")
    form.locator("[name='rules.postponement']").fill("A postponed meeting counts when it is held.")
    form.locator("[name='rules.cancellation']").fill("If the ECB ceases to exist, the market voids.")
    form.locator("button[value=submit]").click()
    row = creator.locator("#my-markets-table tr", has_text="ECB cut")
    expect(row.locator(".badge")).to_have_text("in review")
    expect(creator.locator("#df-ambiguity-err")).to_be_hidden()
    market_id = row.get_attribute("data-market")
    _check(ui, creator, "console-creator")

    sup.reload()
    review = sup.locator(f"#review-list article[data-market='{market_id}']")
    expect(review).to_be_visible()
    _check(ui, sup, "console-queues-supervisor")
    review.locator("[name=reason]").fill("rules are clear")
    review.locator("button[value=approve]").click()
    expect(review).to_have_count(0)

    viewer = ui.new_page()
    viewer.goto(f"/markets/{slug}")
    expect(viewer.locator("#market")).to_have_attribute("data-ready", "true")
    expect(viewer.locator("#market-news")).to_be_hidden()

    creator.reload()
    expect(row.locator(".badge")).to_have_text("open")
    news = creator.locator("#news-form")
    news.locator("[name=market]").select_option(market_id)
    news.locator("[name=title]").fill("ECB minutes point to an early cut")
    news.locator("[name=summary]").fill("Several members favoured easing at the next meeting.")
    news.locator("button[type=submit]").click()
    expect(viewer.locator("#market-news-list")).to_contain_text("ECB minutes point to an early cut")

    propose = creator.locator("#propose-form")
    propose.locator("[name=market]").select_option(market_id)
    propose.locator("[name=winner_index]").select_option("0")
    propose.locator("[name=evidence]").fill("The ECB cut the deposit rate by 25 bp.")
    propose.locator("button[type=submit]").click()
    expect(row.locator(".badge")).to_have_text("resolution proposed")

    sup.reload()
    action = sup.locator(f"form.market-action[data-market='{market_id}']")
    action.locator("select[name=action]").select_option("settle")
    action.locator("select[name=winner]").select_option("0")
    action.locator("button[type=submit]").click()
    expect(sup.locator(f"#console-markets-table tr[data-market='{market_id}'] .badge")).to_have_text("settled")

    for page in (creator, sup, viewer):
        assert page.js_errors == [], page.js_errors
        page.context.close()
