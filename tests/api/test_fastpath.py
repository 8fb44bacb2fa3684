"""POST /orders is answered by an ASGI fast path (foretell.api.fastpath) in front of FastAPI.

It must be indistinguishable from the declared route: same answer, headers and errors for a good
order; and everything it does not take (other content types, bad JSON, invalid or oversized
bodies) must reach FastAPI with the body intact.
"""

from __future__ import annotations

import json
from typing import Any


def _order(contract: int, **kw: Any) -> dict[str, Any]:
    return {"contract_id": contract, "outcome": "yes", "side": "buy", "price": "0.10",
            "size": 1} | kw


def test_a_good_order_is_answered_like_the_route(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    r = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                   json.dumps(_order(c, client_order_id="fp-1")).encode())
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["x-ratelimit-limit"]) > 0 and "x-ratelimit-remaining" in r.headers
    placed = r.json()
    assert placed["client_order_id"] == "fp-1" and placed["status"] == "open"
    assert a.api.order(placed["id"])["client_order_id"] == "fp-1"
    again = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                       json.dumps(_order(c, client_order_id="fp-1")).encode())
    raw.assert_error(again, 409, "duplicate_client_order_id")


def test_refusals_keep_the_error_shape(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    anonymous = raw.http().post(ex.base_url + "/api/v1/orders", json=_order(c))
    raw.assert_error(anonymous, 401, "unauthenticated")
    r = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                   json.dumps(_order(c, size=10**6, price="0.99")).encode())
    raw.assert_error(r, 409, "insufficient_funds")
    unknown = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], "POST", "/orders",
                         json.dumps(_order(10**9)).encode())
    raw.assert_error(unknown, 404, "unknown_contract")


def test_what_it_does_not_take_reaches_fastapi_intact(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[0]
    key_id, secret = a.key["key_id"], a.key["secret"]
    c = ex.market()["contract_ids"][0]
    bad_json = raw.signed(ex.base_url, key_id, secret, "POST", "/orders", b"{not json")
    raw.assert_error(bad_json, 422, "invalid_request")
    invalid = raw.signed(ex.base_url, key_id, secret, "POST", "/orders",
                         json.dumps(_order(c, size="ten")).encode())
    body = raw.assert_error(invalid, 422, "invalid_request")
    assert any(d["loc"][:2] == ["body", "size"] for d in body["error"]["details"])
    # Another content type: FastAPI's own answer, the body still readable for the signature.
    content = json.dumps(_order(c)).encode()
    plain = raw.signed(ex.base_url, key_id, secret, "POST", "/orders", content,
                       headers={"Content-Type": "text/plain"})
    assert plain.status_code in (201, 422), plain.text
    # Over the fast path's size bound: FastAPI reads the whole body (signature checks it).
    padded = json.dumps(_order(c) | {"client_order_id": "fp-big"}).encode()
    padded = padded[:-1] + b"," + b" " * 70_000 + b'"x": 1}'
    big = raw.signed(ex.base_url, key_id, secret, "POST", "/orders", padded)
    assert big.status_code in (201, 413, 422), big.text
    if big.status_code == 201:
        assert big.json()["client_order_id"] == "fp-big"


def test_session_orders_need_the_csrf_header(ex: Any, raw: Any) -> None:
    c = ex.market()["contract_ids"][0]
    trader = ex.trader()
    cookie = trader.session.session_token
    assert cookie
    url = ex.base_url + "/api/v1/orders"
    no_csrf = raw.http().post(url, json=_order(c), headers={
        "Cookie": f"foretell_session={cookie}"})
    raw.assert_error(no_csrf, 403, "csrf_failed")
