"""Access control on a real server: no credentials, read-only keys, other accounts' ids, stale
and replayed signatures, bad signatures, CSRF, logout, key revocation, admin-only endpoints,
and the rate limit (with the SDK honouring Retry-After)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from foretell.client import AsyncClient, Client, ForetellError, sign

SUPERVISOR = ("root", "root-password-1")  # created by the test server (conftest)

ORDER = {"contract_id": 1, "outcome": "yes", "side": "buy", "price": "0.10", "size": 1}
PRIVATE = [  # every endpoint that needs credentials, with a well-formed body
    ("POST", "/orders", ORDER),
    ("POST", "/orders/batch", {"orders": [ORDER]}),
    ("POST", "/orders/quote", ORDER),
    ("GET", "/orders", None),
    ("GET", "/orders/client/abc", None),
    ("GET", "/orders/1", None),
    ("GET", "/orders/1/queue", None),
    ("PATCH", "/orders/1", {"size": 1}),
    ("DELETE", "/orders/1", None),
    ("POST", "/orders/cancel", {"order_ids": [1]}),
    ("DELETE", "/orders", None),
    ("POST", "/triggers", {"contract_id": 1, "outcome": "yes", "size": 1, "stop_loss": "0.1"}),
    ("GET", "/triggers", None),
    ("DELETE", "/triggers/1", None),
    ("POST", "/order-groups", {"contracts_limit": 5}),
    ("GET", "/order-groups/1", None),
    ("POST", "/order-groups/1/reset", None),
    ("POST", "/dead-man-switch", {"timeout_s": 5}),
    ("POST", "/auth/logout", None),
    ("GET", "/account", None),
    ("GET", "/account/api-keys", None),
    ("POST", "/account/api-keys", {"label": "x", "scopes": ["read"]}),
    ("DELETE", "/account/api-keys/ft_0", None),
    ("GET", "/portfolio/balance", None),
    ("GET", "/portfolio/positions", None),
    ("GET", "/portfolio/fills", None),
    ("GET", "/portfolio/settlements", None),
    ("GET", "/portfolio/cash", None),
    ("GET", "/portfolio/export.csv", None),
    ("GET", "/admin/accounts", None),
    ("POST", "/admin/credit", {"account_id": 1, "amount": "1", "reason": "because"}),
    ("POST", "/admin/markets", {"slug": "abc-def", "question": "Is this a question?"}),
    ("POST", "/admin/markets/1/status", {"status": "halted", "reason": "why not"}),
    ("POST", "/admin/markets/1/settle", {"winner_index": 0}),
    ("POST", "/admin/markets/1/void", {"reason": "why not"}),
    ("GET", "/admin/audit", None),
    ("POST", "/creators/apply", {"profile": "p" * 25, "expertise": "expertise"}),
    ("GET", "/creators/me", None),
    ("POST", "/creator/markets", {"slug": "abc-def"}),
    ("PUT", "/creator/markets/1", {"slug": "abc-def"}),
    ("POST", "/creator/markets/1/submit", None),
    ("POST", "/creator/markets/1/clarifications", {"text": "clarified"}),
    ("POST", "/creator/markets/1/resolution", {"winner_index": 0, "evidence": "evidence"}),
    ("POST", "/markets/1/disputes", {"reason": "disputing the outcome"}),
    ("GET", "/admin/creator-applications", None),
    ("POST", "/admin/creator-applications/1/decision", {"approve": True, "reason": "fine"}),
    ("POST", "/admin/creators/1/revoke", {"reason": "because"}),
    ("GET", "/admin/review-queue", None),
    ("POST", "/admin/markets/1/review", {"approve": True, "reason": "fine"}),
    ("GET", "/admin/dispute-queue", None),
    ("POST", "/admin/markets/1/dispute-decision", {"uphold": True, "winner_index": 0,
                                                   "reason": "fine"}),
]
TRADE_ONLY = [(m, p, b) for m, p, b in PRIVATE if (m, p) in {
    ("POST", "/orders"), ("POST", "/orders/batch"), ("PATCH", "/orders/1"),
    ("DELETE", "/orders/1"), ("POST", "/orders/cancel"), ("DELETE", "/orders"),
    ("POST", "/triggers"), ("DELETE", "/triggers/1"), ("POST", "/order-groups"),
    ("POST", "/order-groups/1/reset"), ("POST", "/dead-man-switch"),
    ("POST", "/creators/apply"), ("POST", "/creator/markets"), ("PUT", "/creator/markets/1"),
    ("POST", "/creator/markets/1/submit"), ("POST", "/creator/markets/1/clarifications"),
    ("POST", "/creator/markets/1/resolution"), ("POST", "/markets/1/disputes")}]
ADMIN_ONLY = [(m, p, b) for m, p, b in PRIVATE if p.startswith("/admin/")]


def code_of(trader_client: Client, method: str, path: str, body: Any) -> tuple[int, str]:
    try:
        trader_client.request(method, path, body=body)
    except ForetellError as exc:
        return exc.status, exc.code
    return 200, "ok"


def test_every_private_endpoint_refuses_anonymous_callers(ex: Any, raw: Any) -> None:
    with httpx.Client(base_url=ex.base_url + "/api/v1", timeout=10) as http:
        for method, path, body in PRIVATE:
            response = http.request(method, path, json=body)
            raw.assert_error(response, 401, "unauthenticated")
    anonymous = ex.client()
    for method, path, body in PRIVATE:
        assert code_of(anonymous, method, path, body) == (401, "unauthenticated"), path


def test_a_read_only_key_reads_but_cannot_trade(ex: Any, pool: Any) -> None:
    a = pool[0]
    key = a.session.create_api_key("read only", ["read"])
    assert key["scopes"] == ["read"]
    reader = ex.client(key["key_id"], key["secret"])
    assert reader.account()["scopes"] == ["read"]
    reader.balance()
    reader.orders(status="open")
    for method, path, body in TRADE_ONLY:
        assert code_of(reader, method, path, body) == (403, "forbidden"), path
    c = ex.market()["contract_ids"][0]
    assert reader.quote(contract_id=c, outcome="yes", side="buy", type="market",
                        size=1)["filled"] == 0
    assert code_of(reader, "POST", "/account/api-keys", {"scopes": ["trade"]}) == (
        403, "forbidden")  # keys are managed from a logged-in session only


def test_admin_endpoints_refuse_traders(ex: Any, pool: Any) -> None:
    a = pool[0]
    for client in (a.session, a.api):
        for method, path, body in ADMIN_ONLY:
            assert code_of(client, method, path, body) == (403, "forbidden"), path
    with pytest.raises(ForetellError) as info:
        a.session.create_api_key("escalate", ["read", "trade", "admin"])
    assert (info.value.status, info.value.code) == (403, "forbidden")

    read_key = ex.admin.create_api_key("ops read", ["read"])
    admin_reader = ex.client(read_key["key_id"], read_key["secret"])
    assert code_of(admin_reader, "GET", "/admin/audit", None) == (403, "forbidden")
    admin_key = ex.admin.create_api_key("ops", ["read", "admin"])
    admin_bot = ex.client(admin_key["key_id"], admin_key["secret"])
    assert admin_bot.admin_audit()["ok"] is True
    assert any(row["id"] == a.id for row in admin_bot.admin_accounts()["accounts"])


def test_another_accounts_ids_are_unknown_and_nothing_changes(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    mine = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30", size=2,
                             client_order_id=f"secret-{time.time_ns()}")
    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=3)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    trigger = a.api.place_trigger(contract_id=c, outcome="yes", size=3,
                                  stop_loss="0.10")["triggers"][0]
    group = a.api.create_order_group(10)
    before = (a.api.order(mine["id"]), a.api.queue_position(mine["id"]), a.api.book(c))

    oid = mine["id"]
    for call, code in [
        (lambda: b.api.order(oid), "unknown_order"),
        (lambda: b.api.queue_position(oid), "unknown_order"),
        (lambda: b.api.amend_order(oid, size=1), "unknown_order"),
        (lambda: b.api.amend_order(oid, price="0.31"), "unknown_order"),
        (lambda: b.api.cancel_order(oid), "unknown_order"),
        (lambda: b.api.order_by_client_id(mine["client_order_id"]), "unknown_order"),
        (lambda: b.api.cancel_trigger(trigger["id"]), "unknown_trigger"),
        (lambda: b.api.order_group(group["id"]), "unknown_order_group"),
        (lambda: b.session.revoke_api_key(a.key["key_id"]), "unknown_api_key"),
    ]:
        with pytest.raises(ForetellError) as info:
            call()
        assert (info.value.status, info.value.code) == (404, code)
    batch = b.api.cancel_orders([oid])["results"][0]
    assert batch["ok"] is False and batch["error"]["code"] == "unknown_order"
    assert b.api.cancel_all(market_id=m["id"])["cancelled"] == 0

    assert (a.api.order(mine["id"]), a.api.queue_position(mine["id"]), a.api.book(c)) == before
    assert trigger["id"] in {t["id"] for t in a.api.triggers()["triggers"]}
    a.api.balance()  # a's key still works
    a.api.cancel_trigger(trigger["id"])


def test_stale_timestamps_are_refused_and_the_sdk_resyncs(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    key_id, secret = a.key["key_id"], a.key["secret"]
    now = time.time_ns() // 1_000_000
    for skew in (-60_000, 60_000):
        body = raw.assert_error(raw.signed(ex.base_url, key_id, secret, "GET", "/portfolio/balance",
                                   ts_ms=now + skew), 401, "stale_timestamp")
        assert abs(body["error"]["details"]["server_time_ms"] - now) < 10_000
    raw.assert_error(raw.signed(ex.base_url, key_id, secret, "GET", "/portfolio/balance",
                        headers={"FT-Timestamp": "soon"}), 401, "unauthenticated")
    for skew in (-120_000, 120_000):
        skewed = ex.client(key_id, secret, clock=lambda s=skew: time.time_ns() // 1_000_000 + s)
        assert skewed.balance()["account_id"] == a.id
        assert abs(skewed.clock_offset_ms + skew) < 10_000


def test_a_replayed_signature_is_refused(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    key_id, secret = a.key["key_id"], a.key["secret"]
    ts = time.time_ns() // 1_000_000
    for method, path, content in (
            ("GET", "/api/v1/portfolio/balance", b""),
            ("POST", "/api/v1/orders", json.dumps(ORDER | {"contract_id": c}).encode())):
        headers = {"FT-Key": key_id, "FT-Timestamp": str(ts), "Content-Type": "application/json",
                   "FT-Signature": sign(secret, ts, method, path, content)}
        first = httpx.request(method, ex.base_url + path, content=content, headers=headers)
        assert first.status_code in (200, 201), first.text
        again = httpx.request(method, ex.base_url + path, content=content, headers=headers)
        raw.assert_error(again, 401, "replayed_signature")
    assert a.api.book(c)["bids"] == [["0.10", 1]]  # the replayed order was not placed twice


def test_bad_signatures_and_unknown_keys(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    key_id, secret = a.key["key_id"], a.key["secret"]
    wrong = raw.signed(ex.base_url, key_id, secret + "x", "GET", "/portfolio/balance")
    raw.assert_error(wrong, 401, "bad_signature")
    unknown = raw.signed(ex.base_url, "ft_doesnotexist00", secret, "GET", "/portfolio/balance")
    raw.assert_error(unknown, 401, "unauthenticated")
    ts = time.time_ns() // 1_000_000
    good = json.dumps({"timeout_s": 0}).encode()
    headers = {"FT-Key": key_id, "FT-Timestamp": str(ts), "Content-Type": "application/json",
               "FT-Signature": sign(secret, ts, "POST", "/api/v1/dead-man-switch", good)}
    tampered = httpx.post(ex.base_url + "/api/v1/dead-man-switch",
                          content=json.dumps({"timeout_s": 60}).encode(), headers=headers)
    raw.assert_error(tampered, 401, "bad_signature")
    other_query = httpx.get(ex.base_url + "/api/v1/orders?status=open", headers={
        "FT-Key": key_id, "FT-Timestamp": str(ts + 1),
        "FT-Signature": sign(secret, ts + 1, "GET", "/api/v1/orders", b"")})
    raw.assert_error(other_query, 401, "bad_signature")  # the query string is signed too


def test_cookie_sessions_need_the_csrf_token_for_changes(ex: Any, pool: Any) -> None:
    a = pool[0]
    token = a.session._core.csrf_token
    try:
        for bad in (None, "wrong-token"):
            a.session._core.csrf_token = bad
            assert a.session.balance()["account_id"] == a.id  # reads need no token
            assert code_of(a.session, "POST", "/dead-man-switch", {"timeout_s": 0}) == (
                403, "csrf_failed")
    finally:
        a.session._core.csrf_token = token
    assert a.session.dead_man_switch(0) == {"armed": False}
    assert a.session.account()["via"] == "session"


def test_logout_ends_the_session(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    other = ex.client()
    assert other.login(a.name, raw.password)["user"]["id"] == a.id
    token = other.session_token
    assert token and other.account()["csrf_token"] == other.csrf_token
    assert other.logout() == {"logged_out": True}
    stale = httpx.get(ex.base_url + "/api/v1/portfolio/balance",
                      cookies={"foretell_session": token})
    assert stale.status_code == 401
    with pytest.raises(ForetellError) as info:
        other.login(a.name, "wrong password")
    assert (info.value.status, info.value.code) == (401, "unauthenticated")
    assert a.session.balance()["account_id"] == a.id  # other sessions live on


def test_api_keys_list_and_revoke(ex: Any, pool: Any) -> None:
    b = pool[1]
    key = b.session.create_api_key("short lived", ["read", "trade"])
    listed = {k["key_id"]: k for k in b.session.api_keys()["api_keys"]}
    assert listed[key["key_id"]]["scopes"] == ["read", "trade"]
    assert "secret" not in listed[key["key_id"]]
    bot = ex.client(key["key_id"], key["secret"])
    assert bot.balance()["account_id"] == b.id
    assert code_of(bot, "DELETE", f"/account/api-keys/{key['key_id']}", None) == (
        403, "forbidden")
    assert b.session.revoke_api_key(key["key_id"]) == {"key_id": key["key_id"],
                                                        "revoked": True}
    assert code_of(bot, "GET", "/portfolio/balance", None) == (401, "unauthenticated")
    assert code_of(b.session, "DELETE", f"/account/api-keys/{key['key_id']}", None) == (
        404, "unknown_api_key")
    revoked = {k["key_id"]: k for k in b.session.api_keys()["api_keys"]}[key["key_id"]]
    assert revoked["revoked_ms"] is not None


def test_rate_limit_answers_429_and_the_sdk_waits_it_out(limited_server: Any) -> None:
    """On a server allowing 10 requests at once, refilled at 5 per second, per principal."""
    base = limited_server.base_url
    waits: list[float] = []
    with Client(base) as session:
        session.login(*SUPERVISOR)
        key = session.create_api_key("burst", ["read"])

    async def burst(client: AsyncClient, n: int) -> list[int]:
        async def one() -> int:
            try:
                await client.balance()
            except ForetellError as exc:
                assert exc.code == "rate_limited" and int(exc.headers["retry-after"]) >= 1
                assert exc.headers["x-ratelimit-remaining"] == "0"
                return exc.status
            return 200

        return list(await asyncio.gather(*(one() for _ in range(n))))

    async def main() -> tuple[list[int], list[int]]:
        async with AsyncClient(base, key["key_id"], key["secret"], retries=0) as eager, \
                AsyncClient(base, key["key_id"], key["secret"], retries=5) as patient:
            async def sleep(seconds: float) -> None:
                waits.append(seconds)
                await asyncio.sleep(seconds)

            patient._sleep = sleep
            return await burst(eager, 30), await burst(patient, 6)

    refused, waited = asyncio.run(main())
    assert refused.count(429) >= 10 and refused.count(200) >= 10
    assert waited == [200] * 6 and waits and min(waits) >= 1.0
    anonymous = httpx.get(base + "/api/v1/markets")
    assert "x-ratelimit-limit" in anonymous.headers
