"""Bad input on a real server: malformed JSON, wrong types, prices off tick or out of range,
huge or negative sizes, unknown markets, over-long strings. Every one is a 4xx in the error
shape with a code, and the exchange's audit totals are exactly unchanged afterwards."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from foretell.client import ForetellError

HUGE = 10**23  # beyond 64 bits


def order(contract_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"contract_id": contract_id, "outcome": "yes", "side": "buy",
                            "price": "0.50", "size": 1}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def trader_cases(c: int, market_id: int) -> list[tuple[str, str, Any, int, str]]:
    """(method, path, body: bytes or JSON-able, status, code) sent with a signed trade key."""
    o = order
    return [
        ("POST", "/orders", b'{"contract_id": 1,', 422, "invalid_request"),
        ("POST", "/orders", b"", 422, "invalid_request"),
        ("POST", "/orders", b"\xff\xfe", 422, "invalid_request"),
        ("POST", "/orders", [], 422, "invalid_request"),
        ("POST", "/orders", "an order", 422, "invalid_request"),
        ("POST", "/orders", o(c, price=0.5), 422, "invalid_request"),
        ("POST", "/orders", o(c, size="ten"), 422, "invalid_request"),
        ("POST", "/orders", o(c, size=1.5), 422, "invalid_request"),
        ("POST", "/orders", o(c, outcome="maybe"), 422, "invalid_request"),
        ("POST", "/orders", o(c, side="hold"), 422, "invalid_request"),
        ("POST", "/orders", o(c, tif="day"), 422, "invalid_request"),
        ("POST", "/orders", o(c, colour="red"), 422, "invalid_request"),
        ("POST", "/orders", o(c, price="0.555"), 400, "invalid_tick"),
        ("POST", "/orders", o(c, price="0"), 400, "invalid_price"),
        ("POST", "/orders", o(c, price="1"), 400, "invalid_price"),
        ("POST", "/orders", o(c, price="1.50"), 400, "invalid_price"),
        ("POST", "/orders", o(c, price="-0.5"), 422, "invalid_request"),
        ("POST", "/orders", o(c, price="5e-1"), 422, "invalid_request"),
        ("POST", "/orders", o(c, price=" 0.5"), 422, "invalid_request"),
        ("POST", "/orders", o(c, price="0.5.5"), 422, "invalid_request"),
        ("POST", "/orders", o(c, price="1" * 30), 422, "invalid_request"),
        ("POST", "/orders", o(c, price=None), 400, "invalid_price"),
        ("POST", "/orders", o(c, size=0), 422, "invalid_request"),
        ("POST", "/orders", o(c, size=-1), 422, "invalid_request"),
        ("POST", "/orders", o(c, size=10**12), 422, "invalid_request"),
        ("POST", "/orders", o(c, size=HUGE), 422, "invalid_request"),
        ("POST", "/orders", o(c, size=101), 400, "size_out_of_range"),
        ("POST", "/orders", o(c, size=None), 400, "size_out_of_range"),
        ("POST", "/orders", o(None, market_id=999_999), 404, "unknown_market"),
        ("POST", "/orders", o(999_999), 404, "unknown_contract"),
        ("POST", "/orders", o(None, market_id=2**40), 422, "invalid_request"),
        ("POST", "/orders", o(None), 422, "invalid_request"),
        ("POST", "/orders", o(None, market_id=market_id, outcome_index=5), 400,
         "invalid_outcome"),
        ("POST", "/orders", o(c, client_order_id="x" * 65), 422, "invalid_request"),
        ("POST", "/orders", o(c, client_order_id="has spaces"), 422, "invalid_request"),
        ("POST", "/orders", o(c, client_order_id="é"), 422, "invalid_request"),
        ("POST", "/orders", o(c, client_order_id="a" * 200_000), 422, "invalid_request"),
        ("POST", "/orders", o(c, type="market", spend="5", size=1), 400, "invalid_order"),
        ("POST", "/orders", o(c, type="market", post_only=True), 400, "invalid_order"),
        ("POST", "/orders", o(c, tif="ioc", post_only=True), 400, "invalid_order"),
        ("POST", "/orders", o(c, tif="gtd"), 400, "invalid_expiry"),
        ("POST", "/orders", o(c, tif="gtd", expire_at_ms=-1), 422, "invalid_request"),
        ("POST", "/orders", o(c, order_group_id=999_999), 404, "unknown_order_group"),
        ("POST", "/orders/batch", {"orders": []}, 422, "invalid_request"),
        ("POST", "/orders/batch", {"orders": [o(c, price="0.01")] * 101}, 422,
         "invalid_request"),
        ("POST", "/orders/quote", o(c, outcome="both"), 422, "invalid_request"),
        ("PATCH", "/orders/1", {}, 422, "invalid_request"),
        ("PATCH", "/orders/1", {"price": "abc"}, 422, "invalid_request"),
        ("PATCH", "/orders/1", {"size": 0}, 422, "invalid_request"),
        ("GET", "/orders/abc", None, 422, "invalid_request"),
        ("GET", "/orders?status=weird", None, 422, "invalid_request"),
        ("GET", "/orders?limit=0", None, 422, "invalid_request"),
        ("GET", "/orders/client/" + "c" * 65, None, 404, "unknown_order"),
        ("POST", "/orders/cancel", {"order_ids": []}, 422, "invalid_request"),
        ("POST", "/orders/cancel", {"order_ids": ["one"]}, 422, "invalid_request"),
        ("POST", "/orders/cancel", {"order_ids": list(range(1, 102))}, 422,
         "invalid_request"),
        ("DELETE", "/orders?market_id=0", None, 422, "invalid_request"),
        ("POST", "/triggers", {"contract_id": c, "outcome": "yes", "size": 0,
                               "stop_loss": "0.1"}, 422, "invalid_request"),
        ("POST", "/triggers", {"contract_id": c, "outcome": "yes", "size": 1,
                               "stop_loss": "abc"}, 422, "invalid_request"),
        ("POST", "/order-groups", {"contracts_limit": 0}, 422, "invalid_request"),
        ("POST", "/order-groups", {"contracts_limit": 5, "window_s": 100_000}, 422,
         "invalid_request"),
        ("POST", "/dead-man-switch", {"timeout_s": -1}, 422, "invalid_request"),
        ("POST", "/account/api-keys", {"scopes": ["superuser"]}, 422, "invalid_request"),
        ("GET", "/portfolio/fills?limit=0", None, 422, "invalid_request"),
        ("GET", "/portfolio/fills?cursor=abc", None, 422, "invalid_request"),
        ("GET", "/portfolio/fills?cursor=-1", None, 422, "invalid_request"),
        ("GET", "/markets?limit=0", None, 422, "invalid_request"),
        ("GET", "/markets?q=" + "q" * 101, None, 422, "invalid_request"),
        ("GET", f"/contracts/{c}/candles?interval=5m", None, 422, "invalid_request"),
        ("GET", f"/contracts/{c}/book?depth=0", None, 422, "invalid_request"),
        ("GET", f"/contracts/{c}/trades?limit=501", None, 422, "invalid_request"),
        ("GET", "/nowhere", None, 404, "not_found"),
    ]


def admin_cases(account_id: int, market_id: int) -> list[tuple[str, str, Any, int, str]]:
    """Sent by the supervisor's cookie session (with its CSRF token)."""
    q = "Will this market ever be created at all?"
    credit = {"account_id": account_id, "amount": "1", "reason": "testing"}
    return [
        ("POST", "/admin/credit", credit | {"amount": "1e6"}, 422, "invalid_request"),
        ("POST", "/admin/credit", credit | {"amount": 1}, 422, "invalid_request"),
        ("POST", "/admin/credit", credit | {"amount": "0"}, 400, "invalid_amount"),
        ("POST", "/admin/credit", credit | {"amount": "-0"}, 400, "invalid_amount"),
        ("POST", "/admin/credit", credit | {"amount": "999999999999.999999"}, 400,
         "invalid_amount"),
        ("POST", "/admin/credit", credit | {"amount": "-999999999"}, 409, "insufficient_funds"),
        ("POST", "/admin/credit", credit | {"reason": ""}, 422, "invalid_request"),
        ("POST", "/admin/credit", credit | {"reason": "r" * 201}, 422, "invalid_request"),
        ("POST", "/admin/credit", credit | {"account_id": 999_999}, 404, "unknown_account"),
        ("POST", "/admin/markets", {"slug": "Bad Slug", "question": q}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "a" * 81, "question": q}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": "Short?"}, 422,
         "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": "Q" * 301}, 422,
         "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q, "outcomes": ["A"]},
         422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q,
                                    "outcomes": ["A", "A"]}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q,
                                    "outcomes": [str(i) for i in range(65)]}, 422,
         "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q, "tick": "0.05"}, 422,
         "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q, "size_max": 0}, 422,
         "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q,
                                    "taker_fee_ppm": 100_001}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q,
                                    "tags": ["t"] * 21}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q,
                                    "description": "d" * 4_001}, 422, "invalid_request"),
        ("POST", "/admin/markets", {"slug": "fine-slug", "question": q, "owner": 1}, 422,
         "invalid_request"),
        ("POST", f"/admin/markets/{market_id}/status", {"status": "reopened",
                                                        "reason": "why not"}, 422,
         "invalid_request"),
        ("POST", f"/admin/markets/{market_id}/status", {"status": "open", "reason": ""}, 422,
         "invalid_request"),
        ("POST", f"/admin/markets/{market_id}/settle", {"winner_index": 64}, 422,
         "invalid_request"),
        ("POST", f"/admin/markets/{market_id}/settle", {"winner_index": 2}, 400,
         "invalid_outcome"),
        ("POST", "/admin/markets/999999/settle", {"winner_index": 0}, 404, "unknown_market"),
        ("POST", "/admin/markets/999999/void", {"reason": "no such"}, 404, "unknown_market"),
        ("POST", "/auth/signup", {"username": "AB", "password": "long enough"}, 422,
         "invalid_request"),
        ("POST", "/auth/signup", {"username": "u" * 33, "password": "long enough"}, 422,
         "invalid_request"),
        ("POST", "/auth/signup", {"username": "shorty", "password": "short"}, 422,
         "invalid_request"),
        ("POST", "/auth/signup", {"username": "longpw", "password": "p" * 129}, 422,
         "invalid_request"),
        ("POST", "/auth/signup", {"username": "root", "password": "long enough"}, 409,
         "username_taken"),
        ("POST", "/auth/login", {"username": "u" * 65, "password": "x"}, 422,
         "invalid_request"),
        ("POST", "/account/api-keys", {"scopes": []}, 422, "invalid_request"),
        ("POST", "/account/api-keys", {"label": "l" * 65}, 422, "invalid_request"),
        ("POST", "/account/api-keys", {"scopes": ["read"] * 4}, 422, "invalid_request"),
    ]


def snapshot(ex: Any, contract_id: int) -> Any:
    return (ex.audit(), len(ex.admin.admin_accounts()["accounts"]), ex.admin.book(contract_id))


def test_bad_input_is_refused_with_a_code_and_changes_nothing(ex: Any, pool: Any,
                                                              raw: Any) -> None:
    a = pool[0]
    m = ex.market(size_max=100)
    c = m["contract_ids"][0]
    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=5)
    before = snapshot(ex, c)
    failures = []
    for method, path, body, status, code in trader_cases(c, m["id"]):
        content = body if isinstance(body, bytes) else (
            b"" if body is None else json.dumps(body).encode())
        response = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], method, path,
                              content)
        got = (response.status_code, response.json().get("error", {}).get("code"))
        if got != (status, code):
            failures.append((method, path, str(body)[:80], got))
        else:
            raw.assert_error(response, status, code)
    for method, path, body, status, code in admin_cases(a.id, m["id"]):
        try:
            ex.admin.request(method, path, body=body)
            got: tuple[int, Any] = (200, None)
        except ForetellError as exc:
            got = (exc.status, exc.code)
        if got != (status, code):
            failures.append((method, path, str(body)[:80], got))
    assert not failures, "\n".join(map(str, failures))
    assert snapshot(ex, c) == before


def test_deeply_nested_json_is_a_client_error(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    response = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                          b"[" * 100_000 + b"]" * 100_000)
    assert 400 <= response.status_code < 500
    raw.assert_error(response, response.status_code)


def test_ids_beyond_64_bits_are_client_errors(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    results = []
    for method, path, body in (("GET", f"/orders/{HUGE}", b""),
                               ("DELETE", f"/orders/{HUGE}", b""),
                               ("PATCH", f"/orders/{HUGE}", b'{"size": 1}'),
                               ("DELETE", f"/triggers/{HUGE}", b""),
                               ("POST", "/orders/cancel", b'{"order_ids": [%d]}' % HUGE),
                               ("GET", f"/markets/{HUGE}", b"")):
        try:
            response = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], method, path,
                                  body)
            results.append((method, path, response.status_code))
        except httpx.TransportError:  # the server drops the connection after its 500
            raw.http().close()
            results.append((method, path, 0))
    assert all(400 <= status < 500 for _, _, status in results), results


def test_market_refs_with_unicode_digits(ex: Any) -> None:
    ex.market()
    superscript = httpx.get(ex.base_url + "/api/v1/markets/%C2%B2")
    arabic_one = httpx.get(ex.base_url + "/api/v1/markets/%D9%A1")
    assert (superscript.status_code, arabic_one.status_code) == (404, 404)


def test_a_boolean_is_not_a_size(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    response = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                          json.dumps(order(c, size=True)).encode())
    assert response.status_code == 422, response.text


def test_quote_refuses_what_placing_refuses(ex: Any, pool: Any) -> None:
    a = pool[0]
    c = ex.market(size_max=100)["contract_ids"][0]
    codes = []
    for changes in ({"price": "0.555"}, {"price": "1.50"}, {"size": 101}):
        fields = order(c, **changes)
        try:
            a.api.quote(**fields)
            codes.append(200)
        except ForetellError as exc:
            codes.append(exc.status)
    assert codes == [400, 400, 400]


def test_market_slugs_are_unique(ex: Any) -> None:
    first = ex.market()
    with pytest.raises(ForetellError) as info:
        ex.admin.admin_create_market(slug=first["slug"],
                                     question="Is this the same market a second time?")
    assert info.value.status == 409
