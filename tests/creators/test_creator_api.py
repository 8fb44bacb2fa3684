"""Creator program and market lifecycle through the HTTP API, with real roles and refusals.

In-process (TestClient) against a real data directory: journal, SQLite store and engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from foretell.app import create_app
from foretell.config import Settings
from foretell.services import Services

DAY_MS = 86_400_000


class User:
    def __init__(self, client: TestClient, name: str) -> None:
        self.c = client
        self.name = name
        r = client.post("/api/v1/auth/login", json={"username": name, "password": "password-1"})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf_token"]
        self.cookie = r.cookies.get("foretell_session")
        client.cookies.clear()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.c.cookies.clear()
        return self.c.request(method, "/api/v1" + path, json=body, headers={
            "X-CSRF-Token": self.csrf, "Cookie": f"foretell_session={self.cookie}"})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    boot = Services(settings)
    ids = {name: boot.accounts.create_user(name, "password-1", role) for name, role in (
        ("sam", "supervisor"), ("cora", "trader"), ("tom", "trader"), ("una", "trader"))}
    boot.close()
    with TestClient(create_app(settings)) as client:
        users = {name: User(client, name) for name in ids}
        for name in ("cora", "tom", "una"):
            r = users["sam"].call("POST", "/admin/credit", {"account_id": ids[name],
                                  "amount": "1000", "reason": "test funding"})
            assert r.status_code == 200, r.text
        yield {"users": users, "ids": ids, "client": client}


def eventually(client: TestClient, path: str, ready: Any, timeout_s: float = 3.0) -> Any:
    """Public reads follow the journal within milliseconds; wait for that projection."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(path).json()
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def draft_body(close_ms: int, **extra: Any) -> dict[str, Any]:
    return {"slug": "will-it-happen", "question": "Will the event happen by the deadline?",
            "category": "Test", "tags": ["test"], "close_ms": close_ms,
            "resolution_deadline_ms": close_ms + DAY_MS,
            "rules": {"resolution_sources": ["Official announcement"],
                      "resolution_criteria": "Yes if the announcement is published in time.",
                      "ambiguity": "The supervisor decides on the named source only.",
                      "postponement": "A postponed event resolves No at the deadline.",
                      "cancellation": "A cancelled event resolves No, or void if undecidable."},
            **extra}


def become_creator(w: dict[str, Any], name: str = "cora") -> None:
    u, sam = w["users"][name], w["users"]["sam"]
    r = u.call("POST", "/creators/apply", {"profile": "Ten years covering AI funding rounds.",
                                           "expertise": "AI and capital markets"})
    assert r.status_code == 201, r.text
    assert u.call("POST", "/creators/apply", {"profile": "x" * 30, "expertise": "again"}
                  ).json()["error"]["code"] == "application_pending"
    pending = sam.call("GET", "/admin/creator-applications?status=pending").json()
    (app,) = pending["applications"]
    r = sam.call("POST", f"/admin/creator-applications/{app['id']}/decision",
                 {"approve": True, "reason": "Good sourcing"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    # the role comes from the user row, so log in again
    w["users"][name] = User(w["client"], name)


def open_market(w: dict[str, Any]) -> int:
    cora, sam = w["users"]["cora"], w["users"]["sam"]
    close = int(time.time() * 1000) + DAY_MS
    market_id = cora.call("POST", "/creator/markets", draft_body(close)).json()["id"]
    assert cora.call("POST", f"/creator/markets/{market_id}/submit").status_code == 200
    r = sam.call("POST", f"/admin/markets/{market_id}/review", {"approve": True,
                                                                 "reason": "Clear rules"})
    assert r.json()["status"] == "open", r.text
    return int(market_id)


def test_traders_cannot_draft_and_only_supervisors_decide(world: dict[str, Any]) -> None:
    tom = world["users"]["tom"]
    r = tom.call("POST", "/creator/markets", draft_body(int(time.time() * 1000) + DAY_MS))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert tom.call("GET", "/admin/creator-applications").status_code == 403
    assert tom.call("GET", "/admin/review-queue").status_code == 403


def test_submission_needs_every_rule_field(world: dict[str, Any]) -> None:
    become_creator(world)
    cora = world["users"]["cora"]
    body = draft_body(int(time.time() * 1000) + DAY_MS)
    body["rules"]["ambiguity"] = ""
    body["tags"] = []
    market_id = cora.call("POST", "/creator/markets", body).json()["id"]
    r = cora.call("POST", f"/creator/markets/{market_id}/submit")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "incomplete_rules"
    assert set(r.json()["error"]["details"]) == {"rules.ambiguity", "tags"}


def test_review_loop_edit_after_open_and_clarifications(world: dict[str, Any]) -> None:
    become_creator(world)
    cora, sam = world["users"]["cora"], world["users"]["sam"]
    close = int(time.time() * 1000) + DAY_MS
    market_id = cora.call("POST", "/creator/markets", draft_body(close)).json()["id"]
    cora.call("POST", f"/creator/markets/{market_id}/submit")
    queue = sam.call("GET", "/admin/review-queue").json()["markets"]
    assert [m["id"] for m in queue] == [market_id]
    r = sam.call("POST", f"/admin/markets/{market_id}/review",
                 {"approve": False, "reason": "Name a second source"})
    assert r.json()["status"] == "changes_requested"
    r = cora.call("PUT", f"/creator/markets/{market_id}", draft_body(
        close, question="Will the event happen by the stated deadline?"))
    assert r.status_code == 200, r.text
    r = cora.call("POST", f"/creator/markets/{market_id}/submit")
    assert r.status_code == 200, r.text
    r = sam.call("POST", f"/admin/markets/{market_id}/review", {"approve": True, "reason": "Looks good"})
    assert r.json()["status"] == "open", r.text
    r = cora.call("PUT", f"/creator/markets/{market_id}", draft_body(close))
    assert r.status_code == 409 and r.json()["error"]["code"] == "rules_frozen"
    r = cora.call("POST", f"/creator/markets/{market_id}/clarifications",
                  {"text": "The deadline is in UTC."})
    assert r.status_code == 201
    detail = eventually(world["client"], f"/api/v1/markets/{market_id}",
                        lambda d: any(e.get("action") == "clarify" for e in d["timeline"]))
    assert detail["question"] == "Will the event happen by the stated deadline?"
    assert detail["status"] == "open"
    steps = [(e.get("action") or e.get("status")) for e in detail["timeline"]]
    assert steps == ["draft", "submit", "in_review", "request_changes", "changes_requested",
                     "update_draft", "submit", "in_review", "approve", "open", "clarify"]
    clarification = [e for e in detail["timeline"] if e.get("action") == "clarify"][0]
    assert clarification["text"] == "The deadline is in UTC."


def test_resolution_dispute_and_settlement(world: dict[str, Any]) -> None:
    become_creator(world)
    cora, tom, una, sam = (world["users"][n] for n in ("cora", "tom", "una", "sam"))
    market_id = open_market(world)
    detail = world["client"].get(f"/api/v1/markets/{market_id}").json()
    contract = detail["contracts"][0]["id"]
    assert tom.call("POST", "/orders", {"contract_id": contract, "outcome": "yes", "side": "buy",
                                        "price": "0.60", "size": 10}).status_code == 201
    assert una.call("POST", "/orders", {"contract_id": contract, "outcome": "no", "side": "buy",
                                        "price": "0.40", "size": 10}).status_code == 201
    r = tom.call("POST", f"/creator/markets/{market_id}/resolution",
                 {"winner_index": 0, "evidence": "https://example.com/x"})
    assert r.status_code == 404  # not tom's market
    r = cora.call("POST", f"/creator/markets/{market_id}/resolution",
                  {"winner_index": 0, "evidence": "https://example.com/announcement"})
    assert r.status_code == 200 and r.json()["status"] == "resolution_proposed", r.text
    sam_cash = sam.call("GET", "/portfolio/balance").json()
    r = sam.call("POST", f"/markets/{market_id}/disputes", {"reason": "I hold nothing at all"})
    assert r.json()["error"]["code"] == "no_position"
    r = una.call("POST", f"/markets/{market_id}/disputes",
                 {"reason": "The announcement came after the deadline."})
    assert r.status_code == 201, r.text
    assert [m["id"] for m in sam.call("GET", "/admin/dispute-queue").json()["markets"]] == [
        market_id]
    r = sam.call("POST", f"/admin/markets/{market_id}/dispute-decision",
                 {"uphold": False, "winner_index": 0, "reason": "Published in time (UTC)."})
    assert r.status_code == 200, r.text
    # tom rested first: maker fee 0.05 % of 6 USDC; his 10 YES paid 10 USDC
    assert tom.call("GET", "/portfolio/balance").json()["free"] == "1003.997000"
    # una paid 4 USDC + fee and forfeited the 100 USDC bond
    assert una.call("GET", "/portfolio/balance").json()["free"] == "895.996000"
    r = sam.call("POST", f"/admin/markets/{market_id}/settle", {"winner_index": 0})
    assert r.json()["error"]["code"] == "invalid_transition"
    audit = sam.call("GET", "/admin/audit").json()
    assert audit["ok"], audit["violations"]
    assert sam_cash["free"] == sam.call("GET", "/portfolio/balance").json()["free"]


def test_revoked_creator_markets_pass_to_the_supervisor(world: dict[str, Any]) -> None:
    become_creator(world)
    market_id = open_market(world)
    sam = world["users"]["sam"]
    r = sam.call("POST", f"/admin/creators/{world['ids']['cora']}/revoke",
                 {"reason": "Left the program"})
    assert r.status_code == 200 and r.json()["markets"] == [market_id]
    detail = eventually(world["client"], f"/api/v1/markets/{market_id}",
                        lambda d: d["creator_id"] == world["ids"]["sam"])
    assert detail["status"] == "open"
    assert detail["creator_id"] == world["ids"]["sam"]
