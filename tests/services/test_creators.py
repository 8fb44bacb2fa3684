"""The creator program in process: application and decision, draft -> review -> approve ->
trade -> clarify -> propose -> dispute -> decide, the dispute window, revocation; every
refusal the verbs raise, and the bonds and payouts to the micro-USDC."""

from __future__ import annotations

from typing import Any

import pytest
from tests.services.conftest import DAY_MS, World, refused, run, trader

from foretell.domain import markets as mk
from foretell.domain.codes import Refused
from foretell.services import creators
from foretell.services.auth import Principal
from foretell.store import queries

FUNDS = 1_000_000_000
BOND = 100_000_000  # the default dispute bond, 100 USDC
RULES = {"resolution_sources": ["Official announcement"],
         "resolution_criteria": "Yes if the announcement is published in time.",
         "ambiguity": "The supervisor decides on the named source only.",
         "postponement": "A postponed event resolves No at the deadline.",
         "cancellation": "A cancelled event resolves No, or void if undecidable."}


def draft(w: World, **changes: Any) -> dict[str, Any]:
    close = w.clock.now_ms + DAY_MS
    body = {"slug": "will-it-happen", "question": "Will the event happen by the deadline?",
            "category": "Test", "tags": ["test"], "rules": RULES, "close_ms": close,
            "resolution_deadline_ms": close + DAY_MS, "dispute_window_ms": 3_600_000}
    return body | changes


def stored(w: World, p: Principal, market_id: int) -> dict[str, Any]:
    """The market as the store holds it once the actor's last command is projected."""
    run(w.svc.read_your_writes(p.user_id))
    row = queries.get_market(w.svc.db, market_id)
    assert row is not None
    return row


def make_creator(w: World, name: str = "cora") -> Principal:
    svc = w.svc
    user_id = w.user(name)
    me = trader(user_id)
    app = creators.apply(svc, me, "Ten years covering AI funding rounds.", "AI")
    assert (app["status"], app["username"], app["user_id"]) == ("pending", name, user_id)
    decided = creators.decide_application(svc, w.boss, app["id"], True, "Good sourcing")
    assert (decided["status"], decided["decided_by"]) == ("approved", w.sam)
    assert svc.accounts.user(user_id)["role"] == "creator"
    return trader(user_id, "creator")


def open_market(w: World, p: Principal, **changes: Any) -> int:
    svc = w.svc
    made = run(creators.create_draft(svc, p, draft(w, **changes)))
    run(creators.submit(svc, p, made["id"], stored(w, p, made["id"])))
    assert run(creators.review(svc, w.boss, made["id"], True, "Clear rules"))["status"] == "open"
    return int(made["id"])


def test_applications_are_decided_once(w: World) -> None:
    svc = w.svc
    tom = trader(w.user("tom"))
    app = creators.apply(svc, tom, "A profile long enough to read.", "sports")
    with refused("application_pending"):
        creators.apply(svc, tom, "Applying twice in a row.", "sports")
    assert [a["id"] for a in creators.applications(svc, "pending")] == [app["id"]]
    rejected = creators.decide_application(svc, w.boss, app["id"], False, "Too thin")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "Too thin")
    assert svc.accounts.user(tom.user_id)["role"] == "trader"
    with refused("already_decided"):
        creators.decide_application(svc, w.boss, app["id"], True, "changed my mind")
    with refused("unknown_application"):
        creators.decide_application(svc, w.boss, app["id"] + 1, True, "no such")
    assert creators.applications(svc, "pending") == []
    again = creators.apply(svc, tom, "A second try after a rejection.", "sports")
    assert again["status"] == "pending"
    with refused("already_creator"):
        creators.apply(svc, w.boss, "A supervisor already creates.", "all")


def test_only_creators_draft_and_only_their_own_markets(w: World) -> None:
    svc = w.svc
    tom = trader(w.user("tom"))
    with refused("forbidden"):
        run(creators.create_draft(svc, tom, draft(w)))
    cora = make_creator(w)
    with refused("invalid_request"):
        run(creators.create_draft(svc, cora, draft(w, outcomes=["A", "A"])))
    made = run(creators.create_draft(svc, cora, draft(w)))
    assert made == {"id": 1, "status": "draft", "contract_ids": [1]}
    assert svc.engine.markets[1].status == mk.DRAFT and svc.engine.markets[1].creator == \
        cora.user_id
    with refused("slug_taken"):
        run(creators.create_draft(svc, cora, draft(w)))
    with refused("unknown_market"):  # tom's view: not a market of his
        run(creators.update_draft(svc, tom, 1, draft(w)))
    with refused("unknown_market"):
        run(creators.update_draft(svc, cora, 9, draft(w)))
    with refused("market_not_open"):
        w.place(tom.user_id, contract_id=1, outcome="yes", side="buy", price="0.50", size=1)


def test_submission_needs_every_rule_field(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    rules = RULES | {"ambiguity": ""}
    made = run(creators.create_draft(svc, cora, draft(w, rules=rules, tags=[])))
    with pytest.raises(Refused) as info:
        run(creators.submit(svc, cora, made["id"], stored(w, cora, made["id"])))
    assert info.value.code == "incomplete_rules"
    assert info.value.details == {"rules.ambiguity": "required, in full sentences",
                                  "tags": "at least one tag"}
    late = draft(w, close_ms=w.clock.now_ms, resolution_deadline_ms=w.clock.now_ms)
    assert creators.missing_rules(late, late["close_ms"], w.clock.now_ms) == {
        "close_ms": "the close time must be in the future",
        "resolution_deadline_ms": "the resolution deadline must follow the close"}
    assert svc.engine.markets[made["id"]].status == mk.DRAFT


def test_review_loop_edit_after_open_and_clarifications(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    m = run(creators.create_draft(svc, cora, draft(w)))["id"]
    with refused("invalid_transition"):  # clarifications are for opened markets
        run(creators.clarify(svc, cora, m, "Too early for a clarification."))
    olga = make_creator(w, "olga")
    with refused("unknown_market"):  # not olga's draft
        run(creators.submit(svc, olga, m, stored(w, cora, m)))
    assert run(creators.submit(svc, cora, m, stored(w, cora, m))) == {"id": m,
                                                                       "status": "in_review"}
    assert [r["id"] for r in creators.queue(svc, (mk.IN_REVIEW,))] == [m]
    with refused("rules_frozen"):
        run(creators.update_draft(svc, cora, m, draft(w)))
    back = run(creators.review(svc, w.boss, m, False, "Name a second source"))
    assert back == {"id": m, "status": "changes_requested"}
    edited = draft(w, question="Will the event happen by the stated deadline?")
    assert run(creators.update_draft(svc, cora, m, edited))["status"] == "changes_requested"
    run(creators.submit(svc, cora, m, stored(w, cora, m)))
    assert run(creators.review(svc, w.boss, m, True, "Looks good"))["status"] == "open"
    with refused("invalid_transition"):
        run(creators.review(svc, w.boss, m, True, "approve twice"))
    with refused("rules_frozen"):
        run(creators.update_draft(svc, cora, m, draft(w)))
    said = run(creators.clarify(svc, cora, m, "The deadline is in UTC."))
    assert said == {"id": m, "clarification": "The deadline is in UTC.",
                    "at_ms": w.clock.now_ms}

    row = stored(w, cora, m)
    assert (row["question"], row["status"]) == ("Will the event happen by the stated deadline?",
                                                "open")
    steps = [e.get("action") or e.get("status") for e in row["timeline"]]
    assert steps == ["draft", "submit", "in_review", "request_changes", "changes_requested",
                     "update_draft", "submit", "in_review", "approve", "open", "clarify"]


def test_propose_dispute_and_an_upheld_dispute_pays_the_disputer(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    m = open_market(w, cora)
    tom, una, vic = w.user("tom"), w.user("una"), w.user("vic")
    c = svc.engine.markets[m].contracts[0].id
    w.place(tom, contract_id=c, outcome="yes", side="buy", price="0.60", size=10)
    w.place(una, contract_id=c, outcome="no", side="buy", price="0.40", size=10)
    # maker 0.05 % of 6 USDC, taker 0.1 % of 4 USDC; the creator's share is 20 % of both
    assert w.free_reserved(tom) == (FUNDS - 6_000_000 - 3_000, 0)
    assert w.free_reserved(una) == (FUNDS - 4_000_000 - 4_000, 0)
    fees = creators.creator_fees(svc, cora)
    assert fees == {"total_micro": 1_400, "markets": [
        {"market_id": m, "creator_fees_micro": 1_400, "status": "open"}]}

    with refused("unknown_market"):  # only the market's creator (or a supervisor) proposes
        run(creators.propose(svc, trader(tom), m, 0, "https://example.com/x"))
    with refused("invalid_outcome"):
        run(creators.propose(svc, cora, m, 2, "https://example.com/x"))
    proposed = run(creators.propose(svc, cora, m, 0, "https://example.com/announcement"))
    assert proposed == {"id": m, "status": "resolution_proposed", "winner_index": 0,
                        "dispute_deadline_ms": w.clock.now_ms + 3_600_000}
    with refused("invalid_transition"):
        run(creators.propose(svc, cora, m, 1, "changed my mind"))

    with refused("no_position"):  # vic is funded but holds nothing here
        run(creators.dispute(svc, trader(vic), m, "I hold nothing at all here."))
    with refused("no_position"):  # the supervisor's account is unknown to the engine
        run(creators.dispute(svc, w.boss, m, "I hold nothing at all here."))
    with refused("unknown_market"):
        run(creators.dispute(svc, trader(una), 99, "No such market to dispute."))
    assert run(creators.dispute(svc, trader(una), m, "The announcement came late.")) == {
        "id": m, "status": "disputed", "bond": "100.000000"}
    assert w.free_reserved(una) == (FUNDS - 4_004_000 - BOND, 0)
    with refused("invalid_transition"):  # one dispute per account
        run(creators.dispute(svc, trader(una), m, "And once more with feeling."))
    assert [r["id"] for r in creators.queue(svc, (mk.DISPUTED,))] == [m]

    with refused("invalid_outcome"):  # rejecting keeps the proposed outcome
        run(creators.decide_dispute(svc, w.boss, m, False, 1, "reject but change"))
    decided = run(creators.decide_dispute(svc, w.boss, m, True, 1, "the disputer is right"))
    assert decided == {"id": m, "status": "settled", "winner_index": 1, "upheld": True}
    # una's bond comes back and her 10 NO win 1 USDC each; tom's YES are worth nothing
    assert w.free_reserved(una) == (FUNDS - 4_004_000 + 10_000_000, 0)
    assert w.free_reserved(tom) == (FUNDS - 6_003_000, 0)
    with refused("invalid_transition"):
        run(creators.decide_dispute(svc, w.boss, m, True, 1, "decide twice"))
    with refused("invalid_transition"):
        run(w.svc.markets.settle(m, 0, w.sam))
    assert stored(w, w.boss, m)["status"] == "settled"


def test_a_rejected_dispute_forfeits_the_bond(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    m = open_market(w, cora)
    tom, una = w.user("tom"), w.user("una")
    c = svc.engine.markets[m].contracts[0].id
    w.place(tom, contract_id=c, outcome="yes", side="buy", price="0.60", size=10)
    w.place(una, contract_id=c, outcome="no", side="buy", price="0.40", size=10)
    run(creators.propose(svc, cora, m, 0, "https://example.com/announcement"))
    run(creators.dispute(svc, trader(una), m, "The announcement came after the deadline."))
    fees_before = svc.engine.fees_micro
    run(creators.decide_dispute(svc, w.boss, m, False, 0, "Published in time (UTC)."))
    assert w.free_reserved(tom) == (FUNDS - 6_003_000 + 10_000_000, 0)
    assert w.free_reserved(una) == (FUNDS - 4_004_000 - BOND, 0)
    assert svc.engine.fees_micro == fees_before + BOND


def test_an_undisputed_proposal_settles_when_the_window_passes(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    m = open_market(w, cora)
    tom, una = w.user("tom"), w.user("una")
    c = svc.engine.markets[m].contracts[0].id
    w.place(tom, contract_id=c, outcome="yes", side="buy", price="0.60", size=10)
    w.place(una, contract_id=c, outcome="no", side="buy", price="0.40", size=10)
    bond = 5_000_000
    run(creators.propose(svc, cora, m, 0, "https://example.com/announcement", bond))
    assert w.free_reserved(cora.user_id) == (FUNDS + 1_400 - bond, 0)  # fee share paid as earned
    w.clock.now_ms += 3_600_000
    with refused("invalid_transition"):  # the window has closed
        run(creators.dispute(svc, trader(una), m, "Too late to say anything now."))
    run(svc.tick())
    assert svc.engine.markets[m].status == mk.SETTLED
    assert w.free_reserved(cora.user_id)[0] == FUNDS + 1_400  # bond back, fee share kept
    assert w.free_reserved(tom) == (FUNDS - 6_003_000 + 10_000_000, 0)


def test_a_proposal_bond_needs_free_cash(w: World) -> None:
    cora = make_creator(w)
    m = open_market(w, cora)
    with refused("insufficient_funds"):
        run(creators.propose(w.svc, cora, m, 0, "https://example.com/x", FUNDS + 1))
    assert w.svc.engine.markets[m].status == mk.OPEN


def test_revoked_creator_markets_pass_to_the_supervisor(w: World) -> None:
    svc = w.svc
    cora = make_creator(w)
    m = open_market(w, cora)
    run(creators.create_draft(svc, cora, draft(w, slug="a-second-draft")))
    tom = w.user("tom")
    with refused("unknown_creator"):
        run(creators.revoke_creator(svc, w.boss, tom, "not a creator"))
    out = run(creators.revoke_creator(svc, w.boss, cora.user_id, "Left the program"))
    assert out == {"user_id": cora.user_id, "role": "trader", "markets_passed_to": w.sam,
                   "markets": [m, m + 1]}
    assert svc.accounts.user(cora.user_id)["role"] == "trader"
    assert [svc.engine.markets[i].creator for i in (m, m + 1)] == [w.sam, w.sam]
    assert svc.engine.markets[m].status == mk.OPEN
    with refused("forbidden"):
        run(creators.create_draft(svc, trader(cora.user_id), draft(w, slug="a-third-one")))
    with refused("unknown_creator"):
        run(creators.revoke_creator(svc, w.boss, cora.user_id, "twice"))
    assert stored(w, w.boss, m)["creator_id"] == w.sam
