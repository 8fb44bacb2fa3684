"""The creator program and the supervised market lifecycle through the SDK: apply, approve,
draft with settlement rules, submit, review, clarify, close, propose, dispute, decide."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from foretell.client import ForetellError, to_micro

RULES = {
    "resolution_sources": ["https://example.org/filings"],
    "resolution_criteria": "Resolves YES if the filing shows a close above the target.",
    "ambiguity": "If the filing is unclear the supervisor decides from the press release.",
    "postponement": "A postponed close moves the close time by the same delay, once.",
    "cancellation": "If the round is cancelled the market is voided at 0.50 per share.",
}


def refused(call: Any, status: int, code: str) -> ForetellError:
    with pytest.raises(ForetellError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


def draft_fields(now_ms: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "slug": f"c-{uuid.uuid4().hex[:12]}",
        "question": "Will the round close above the target valuation this quarter?",
        "category": "Funding", "tags": ["funding"], "rules": RULES,
        "close_ms": now_ms + 3_600_000, "resolution_deadline_ms": now_ms + 7_200_000,
        "dispute_window_ms": 60_000}
    fields.update(changes)
    return fields


def make_creator(ex: Any, trader: Any) -> Any:
    application = trader.session.creator_apply("I follow venture funding rounds for a living.",
                                               "venture funding")
    assert application["status"] == "pending"
    refused(lambda: trader.session.creator_apply("Applying twice in a row is refused.",
                                                 "venture funding"), 409, "application_pending")
    pending = ex.admin.admin_creator_applications(status="pending")["applications"]
    assert application["id"] in [a["id"] for a in pending]
    decided = ex.admin.admin_decide_application(application["id"], True, "good track record")
    assert decided["status"] == "approved"
    refused(lambda: ex.admin.admin_decide_application(application["id"], False, "changed mind"),
            409, "already_decided")
    return application


def test_creator_market_from_draft_to_disputed_settlement(ex: Any, pool: Any,
                                                          until: Any) -> None:
    creator, a, b, outsider = pool[3], pool[0], pool[1], pool[2]
    now = ex.admin.server_time()["server_time_ms"]
    refused(lambda: outsider.session.creator_create_market(**draft_fields(now)), 403,
            "forbidden")
    make_creator(ex, creator)
    me = creator.session
    assert me.creator_me()["role"] == "creator"

    draft = me.creator_create_market(**draft_fields(now, rules={}))
    m, c = draft["id"], draft["contract_ids"][0]
    assert draft["status"] == "draft"
    incomplete = refused(lambda: me.creator_submit_market(m), 422, "incomplete_rules")
    assert "rules.resolution_criteria" in incomplete.details
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.5",
                                      size=1), 409, "market_not_open")
    me.creator_update_market(m, **draft_fields(now))
    assert me.creator_submit_market(m)["status"] == "in_review"
    assert m in [q["id"] for q in ex.admin.admin_review_queue()["markets"]]
    assert ex.admin.admin_review_market(m, True, "rules are clear")["status"] == "open"
    refused(lambda: me.creator_update_market(m, **draft_fields(now)), 409, "rules_frozen")
    assert me.creator_clarify(m, "The target is the post-money valuation.")["id"] == m

    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.60", size=5)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=5)
    ex.admin.admin_set_market_status(m, "closed", "the round closed")
    proposed = me.creator_propose_resolution(m, 0, "The filing shows a close above target.")
    assert proposed["status"] == "resolution_proposed" and proposed["winner_index"] == 0
    refused(lambda: outsider.api.dispute(m, "I hold nothing but I disagree anyway."), 409,
            "no_position")
    b_free = to_micro(b.api.balance()["free"])
    disputed = b.api.dispute(m, "The filing shows the pre-money valuation, not post-money.")
    assert disputed["status"] == "disputed"
    assert m in [q["id"] for q in ex.admin.admin_dispute_queue()["markets"]]
    decided = ex.admin.admin_decide_dispute(m, True, 1, "the disputer is right")
    assert decided == {"id": m, "status": "settled", "winner_index": 1, "upheld": True}
    # the bond comes back, and the 5 NO shares win 1 USDC each
    assert to_micro(b.api.balance()["free"]) - b_free >= 5_000_000
    until(lambda: ex.admin.market(m)["status"] == "settled")
    ex.audit()


def test_an_approval_reaches_api_keys_used_before_it(ex: Any, pool: Any) -> None:
    t = pool[2]
    t.api.balance()  # the key is now known to the server with the trader role
    application = t.session.creator_apply("Long-time analyst of technology listings.",
                                          "listings")
    ex.admin.admin_decide_application(application["id"], True, "approved")
    now = ex.admin.server_time()["server_time_ms"]
    assert t.api.creator_create_market(**draft_fields(now))["status"] == "draft"


def test_a_revoked_creator_cannot_draft_with_an_api_key(ex: Any) -> None:
    t = ex.trader(usdc=None)
    application = t.session.creator_apply("Covers policy and regulation every single day.",
                                          "policy")
    ex.admin.admin_decide_application(application["id"], True, "approved")
    key = t.session.create_api_key("creator bot", ["read", "trade"])
    bot = ex.client(key["key_id"], key["secret"])
    now = ex.admin.server_time()["server_time_ms"]
    assert bot.creator_create_market(**draft_fields(now))["status"] == "draft"
    ex.admin.admin_revoke_creator(t.id, "conflict of interest")
    time.sleep(0.1)
    refused(lambda: bot.creator_create_market(**draft_fields(now)), 403, "forbidden")
