"""The creator program and the supervised market lifecycle through the SDK: apply, approve,
draft with settlement rules, submit, review, clarify, close, propose, dispute, decide; the
status of each answer and refusal, and the public timeline. The bonds, payouts and every
refusal's rule are tests/services/test_creators.py (in process) and tests/engine/."""

from __future__ import annotations

import json
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


def created(raw: Any, ex: Any, trader: Any, path: str, body: dict[str, Any]) -> Any:
    """POST signed with the trader's key; the answer must be 201 Created."""
    response = raw.signed(ex.base_url, trader.key["key_id"], trader.key["secret"], "POST", path,
                          json.dumps(body).encode())
    assert response.status_code == 201, response.text
    return response.json()


def make_creator(ex: Any, trader: Any, raw: Any) -> Any:
    application = created(raw, ex, trader, "/creators/apply", {
        "profile": "I follow venture funding rounds for a living.",
        "expertise": "venture funding"})
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


def test_creator_market_from_draft_to_disputed_settlement(ex: Any, pool: Any, until: Any,
                                                          raw: Any) -> None:
    creator, a, b, outsider = pool[3], pool[0], pool[1], pool[2]
    now = ex.admin.server_time()["server_time_ms"]
    refused(lambda: outsider.session.creator_create_market(**draft_fields(now)), 403,
            "forbidden")
    make_creator(ex, creator, raw)
    me = creator.session
    assert me.creator_me()["role"] == "creator"

    draft = created(raw, ex, creator, "/creator/markets", draft_fields(now, rules={}))
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
    refused(lambda: ex.admin.admin_review_market(m, True, "approve twice"), 409,
            "invalid_transition")
    said = created(raw, ex, creator, f"/creator/markets/{m}/clarifications",
                   {"text": "The target is the post-money valuation."})
    assert said["id"] == m
    # The public timeline (no credentials) shows each step and the clarification's text.
    anonymous = ex.client()
    timeline = until(lambda: (t := anonymous.market(m)["timeline"]) and any(
        e.get("action") == "clarify" for e in t) and t)
    assert [e.get("action") or e.get("status") for e in timeline] == [
        "draft", "update_draft", "submit", "in_review", "approve", "open", "clarify"]
    assert timeline[-1]["text"] == "The target is the post-money valuation."

    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.60", size=5)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=5)
    ex.admin.admin_set_market_status(m, "closed", "the round closed")
    refused(lambda: a.api.creator_propose_resolution(m, 0, "Not my market to resolve at all."), 404,
            "unknown_market")
    refused(lambda: me.creator_propose_resolution(m, 2, "There is no third outcome here."),
            400, "invalid_outcome")
    proposed = me.creator_propose_resolution(m, 0, "The filing shows a close above target.")
    assert proposed["status"] == "resolution_proposed" and proposed["winner_index"] == 0
    refused(lambda: outsider.api.dispute(m, "I hold nothing but I disagree anyway."), 409,
            "no_position")
    b_free = to_micro(b.api.balance()["free"])
    disputed = created(raw, ex, b, f"/markets/{m}/disputes",
                       {"reason": "The filing shows the pre-money valuation, not post-money."})
    assert disputed["status"] == "disputed"
    assert m in [q["id"] for q in ex.admin.admin_dispute_queue()["markets"]]
    refused(lambda: ex.admin.admin_decide_dispute(m, False, 1, "reject but change"), 400,
            "invalid_outcome")
    decided = ex.admin.admin_decide_dispute(m, True, 1, "the disputer is right")
    assert decided == {"id": m, "status": "settled", "winner_index": 1, "upheld": True}
    # the bond comes back, and the 5 NO shares win 1 USDC each
    assert to_micro(b.api.balance()["free"]) - b_free >= 5_000_000
    refused(lambda: ex.admin.admin_settle(m, 0), 409, "invalid_transition")
    until(lambda: ex.admin.market(m)["status"] == "settled")
    ex.audit()


def test_program_refusals_have_their_status(ex: Any, pool: Any) -> None:
    refused(lambda: ex.admin.admin_decide_application(10**9, True, "no such one"), 404,
            "unknown_application")
    trader = pool[0]  # never a creator (pool[2] and pool[3] become creators here)
    refused(lambda: ex.admin.admin_revoke_creator(trader.id, "not a creator"), 404,
            "unknown_creator")
    refused(lambda: ex.admin.creator_apply("A supervisor already creates markets.", "all"),
            409, "already_creator")


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
    drafted = bot.creator_create_market(**draft_fields(now))
    assert drafted["status"] == "draft"
    revoked = ex.admin.admin_revoke_creator(t.id, "conflict of interest")
    assert (revoked["role"], revoked["markets"]) == ("trader", [drafted["id"]])
    time.sleep(0.1)
    refused(lambda: bot.creator_create_market(**draft_fields(now)), 403, "forbidden")
