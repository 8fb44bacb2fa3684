"""Input findings of the outside test (issue 11), each on a real server.

- JSON nested past the parser's depth is a 4xx `invalid_request` on every JSON route, never a
  500 with a traceback (the order fast path included).
- Numbers are read strictly: decimal strings take ASCII digits only, path and query integers
  are ASCII digits only ("1.0", "+1", "١" are refused), booleans are JSON true/false only.
  Orders are sent through both parsers: the fast path, and FastAPI (a body padded past the
  fast path's size bound goes on to it), plus the batch and quote routes.
- Free text loses control characters, terminal escapes and bidi overrides.
- A request body that never completes is answered 408 within the server's body timeout.
- Logins are limited per username (also for the right password once locked), and
  X-Forwarded-For from a client does not choose the address its rate limit is counted under.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from foretell.api import fastpath
from foretell.api.errors import ApiError
from foretell.client import ForetellError

DEEP = b'{"a":' * 1_000 + b"1" + b"}" * 1_000  # 6 KB, 1,000 levels
PAD = b" " * (fastpath.body_bytes_max + 1)  # past the fast path's bound: FastAPI parses it


def order(contract_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"contract_id": contract_id, "outcome": "yes", "side": "buy",
                            "price": "0.50", "size": 1}
    body.update(changes)
    return body


def log_since(server: Any, start: int) -> str:
    with server.log_path.open("rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace")


def test_deeply_nested_json_is_invalid_request_on_every_json_route(ex: Any, pool: Any,
                                                                    raw: Any) -> None:
    a = pool[0]
    start = ex.server.log_path.stat().st_size
    got = []
    for method, path in (("POST", "/orders"), ("POST", "/orders/batch"),
                         ("POST", "/orders/quote"), ("PATCH", "/orders/1"),
                         ("POST", "/orders/cancel"), ("POST", "/triggers"),
                         ("POST", "/order-groups"), ("POST", "/dead-man-switch"),
                         ("POST", "/auth/login"), ("POST", "/auth/signup"),
                         ("POST", "/creators/apply"), ("POST", "/news")):
        response = raw.signed(ex.base_url, a.key["key_id"], a.key["secret"], method, path,
                              DEEP)
        got.append((path, response.status_code,
                    response.json().get("error", {}).get("code")))
    assert all(status in (400, 422) and code == "invalid_request"
               for _, status, code in got), got
    log = log_since(ex.server, start)
    assert "Traceback" not in log and "RecursionError" not in log, log[-2_000:]


def strict_order_cases(c: int) -> list[dict[str, Any]]:
    return [order(c, price="٠.٥"),  # Arabic-Indic digits for 0.5
            order(c, price="0.٥"),
            order(c, price="０.５"),  # fullwidth
            order(c, type="market", price="0.99", spend="٥", size=None),
            order(c, post_only="yes"),
            order(c, post_only=1),
            order(c, reduce_only="true"),
            order(c, tif="gtd", expire_at_ms=str(2**40)),
            order(c, tif="gtd", expire_at_ms=float(2**40))]


def test_orders_are_parsed_strictly_by_both_parsers(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    base, key_id, secret = ex.base_url, a.key["key_id"], a.key["secret"]
    fine = json.dumps(order(c, price="0.05")).encode()
    for content in (fine, fine + PAD):  # both parsers take a good order
        assert raw.signed(base, key_id, secret, "POST", "/orders", content).status_code == 201
    before = ex.audit(), a.api.orders(status="open")
    failures = []
    for body in strict_order_cases(c):
        body = {k: v for k, v in body.items() if v is not None}
        content = json.dumps(body).encode()
        for route, sent in (("fast path", ("/orders", content)),
                            ("FastAPI", ("/orders", content + PAD)),
                            ("batch", ("/orders/batch", json.dumps({"orders": [body]}).encode())),
                            ("quote", ("/orders/quote", content))):
            response = raw.signed(base, key_id, secret, "POST", *sent)
            got = (response.status_code, response.json().get("error", {}).get("code"))
            if got != (422, "invalid_request"):
                failures.append((route, body, got))
    assert not failures, "\n".join(map(str, failures))
    assert (ex.audit(), a.api.orders(status="open")) == before


def test_other_decimal_strings_take_ascii_digits_only(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    base, key_id, secret = ex.base_url, a.key["key_id"], a.key["secret"]
    placed = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.05", size=1)
    order_id = placed["id"]
    trigger = {"contract_id": c, "outcome": "yes", "size": 1, "stop_loss": "٠.١"}
    for method, path, body in (("PATCH", f"/orders/{order_id}", {"price": "٠.٠٦"}),
                               ("POST", "/triggers", trigger)):
        response = raw.signed(base, key_id, secret, method, path, json.dumps(body).encode())
        raw.assert_error(response, 422, "invalid_request")
    credit = {"account_id": a.id, "amount": "١٠", "reason": "unicode digits"}
    with pytest.raises(ForetellError) as info:
        ex.admin.request("POST", "/admin/credit", body=credit)
    assert (info.value.status, info.value.code) == (422, "invalid_request")


def test_signature_timestamps_are_ascii_digits(ex: Any, pool: Any, raw: Any) -> None:
    from foretell.client import sign

    a = pool[1]
    now = time.time_ns() // 1_000_000
    path = "/api/v1/portfolio/balance"
    arabic = str(now).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for ts in (arabic, f"+{now}", f"{now:_}"):
        headers = {"FT-Key": a.key["key_id"], "FT-Timestamp": ts.encode(),
                   "FT-Signature": sign(a.key["secret"], now, "GET", path, b"")}
        response = raw.http().get(ex.base_url + path, headers=headers)
        raw.assert_error(response, 401, "unauthenticated")


def test_path_and_query_integers_are_ascii_digits(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    placed = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.05", size=1)
    n = placed["id"]
    base, key_id, secret = ex.base_url, a.key["key_id"], a.key["secret"]
    assert raw.signed(base, key_id, secret, "GET", f"/orders/{n}").status_code == 200
    failures = []
    signed = (("GET", f"/orders/{n}.0"), ("GET", f"/orders/+{n}"), ("GET", f"/orders/0{n}.00"),
              ("GET", f"/orders/{n}_0"), ("GET", f"/orders/{n}/queue-position.0"),
              ("DELETE", f"/orders/{n}.0"), ("GET", "/orders?limit=5.0"),
              ("GET", "/orders?limit=%2B5"), ("GET", "/orders?limit=1_0"),
              ("GET", "/portfolio/fills?limit=10.0"))
    for method, path in signed:  # percent-escapes aside: the server signs the decoded path
        response = raw.signed(base, key_id, secret, method, path)
        got = (response.status_code, response.json().get("error", {}).get("code"))
        if got not in ((422, "invalid_request"), (404, "not_found")):
            failures.append((method, path, got))
    public = (f"/contracts/{c}.0/book", f"/contracts/+{c}/book", f"/contracts/%20{c}/book",
              "/contracts/%D9%A1/book", f"/contracts/{c}/book?depth=1.0",
              f"/contracts/{c}/book?depth=%D9%A1", f"/contracts/{c}/trades?cursor=1e3",
              f"/contracts/{c}/candles?start_ms=0.0", "/markets?limit=5.0",
              "/news?limit=5.0", "/news?market_id=%D9%A1")
    for path in public:
        response = raw.http().get(base + "/api/v1" + path)
        got = (response.status_code, response.json().get("error", {}).get("code"))
        if got not in ((422, "invalid_request"), (404, "not_found")):
            failures.append(("GET", path, got))
    assert not failures, failures
    assert a.api.order(n)["status"] == "open"


def test_free_text_loses_control_characters(ex: Any, raw: Any) -> None:
    dirty = "\x1b[31mEve\x00\u202e lyn\x07\x1b]0;pwned\x07"
    name = f"t{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=ex.base_url + "/api/v1", timeout=30) as client:
        response = client.post("/auth/signup", json={"username": name,
                                                     "password": raw.password,
                                                     "display_name": dirty})
        assert response.status_code == 201, response.text
        assert response.json()["user"]["display_name"] == "Eve lyn"
        csrf = response.json()["csrf_token"]
        key = client.post("/account/api-keys", json={"label": "bot\x1b[2J\u2066one"},
                          headers={"X-CSRF-Token": csrf})
        assert key.status_code == 201, key.text
        assert key.json()["label"] == "botone"
    slug = f"m-{uuid.uuid4().hex[:12]}"
    created = ex.admin.admin_create_market(
        slug=slug, question="Will \u202eit rain\x00 on\x1b[1m Monday?",
        description="Line one\x1b[0m\r\nline\ttwo\x0bthree\x7f", rules={"source\x00": "The \u202ebank"})
    market = ex.admin.market(created["id"])
    assert market["question"] == "Will it rain on Monday?"
    assert market["description"] == "Line one\nline\ttwo three"
    rules = market["rules"] if isinstance(market["rules"], dict) else json.loads(market["rules"])
    assert rules == {"source": "The bank"}


def test_an_incomplete_body_is_answered_408_in_time(limited_server: Any) -> None:
    """The limited server allows 1 s to send a body; Content-Length promises more than comes."""
    url = urlsplit(limited_server.base_url)
    for path in ("/api/v1/orders", "/api/v1/auth/login"):
        with socket.create_connection((url.hostname, url.port), timeout=10) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\n\r\n".encode() + b'{"contract_id": 1,')
            start = time.monotonic()
            answer = b""
            try:
                while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            except TimeoutError:
                raise AssertionError(f"{path}: no answer in 10 s") from None
            elapsed = time.monotonic() - start
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b'"request_timeout"' in answer and elapsed < 5, (answer, elapsed)
            s.settimeout(5)
            rest = b""
            while chunk := s.recv(4096):  # the server closes the connection
                rest += chunk
            assert rest == b""
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:  # slow is fine
        body = json.dumps({"username": "nobody-here", "password": "not it"}).encode()
        s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.4)
        s.sendall(body[10:])
        assert s.recv(4096).startswith(b"HTTP/1.1 401")


def test_login_is_limited_per_username_even_with_the_right_password(ex: Any, raw: Any) -> None:
    t = ex.trader(usdc=None)
    statuses = []
    with httpx.Client(base_url=ex.base_url + "/api/v1", timeout=30) as client:
        for _ in range(200):
            response = client.post("/auth/login", json={"username": t.name,
                                                        "password": "wrong password"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[:10] == [401] * 10 and statuses[-1] == 429, statuses
        body = raw.assert_error(response, 429, "rate_limited")
        assert 1 <= body["error"]["details"]["retry_after_s"] <= 300
        assert 1 <= int(response.headers["retry-after"]) <= 300
        right = client.post("/auth/login", json={"username": t.name, "password": raw.password})
        raw.assert_error(right, 429, "rate_limited")
        other = ex.trader(usdc=None)  # another username is not locked out
        ok = client.post("/auth/login", json={"username": other.name, "password": raw.password})
        assert ok.status_code == 200, ok.text


def test_forwarded_for_does_not_escape_the_anonymous_limit(limited_server: Any) -> None:
    """10 requests at once, 5 a second, per address: rotating X-Forwarded-For from loopback
    used to give every request a fresh bucket."""
    statuses = []
    with httpx.Client(base_url=limited_server.base_url + "/api/v1", timeout=30) as client:
        for i in range(40):
            response = client.get("/markets", headers={"X-Forwarded-For": f"10.9.{i}.1"})
            statuses.append(response.status_code)
    assert 429 in statuses, statuses
    time.sleep(2.5)  # leave the loopback bucket refilled for the next test


# -- the login limiter on its own, with a hand-driven clock ---------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def refused(limiter: Any, username: str, address: str) -> int | None:
    """retry_after_s if the attempt is refused, else None (the attempt is then counted)."""
    try:
        limiter.attempt(username, address)
    except ApiError as exc:
        assert (exc.status, exc.code) == (429, "rate_limited")
        assert exc.headers == {"Retry-After": str(exc.details["retry_after_s"])}
        return int(exc.details["retry_after_s"])
    return None


def test_login_limiter_per_username_then_per_address() -> None:
    from foretell.api.auth import LoginLimiter

    clock = Clock()
    limits = LoginLimiter(per_user=10, user_window_s=300, per_ip=30, ip_window_s=60,
                          clock=clock)
    assert [refused(limits, "alice", "1.1.1.1") for _ in range(10)] == [None] * 10
    assert refused(limits, "ALICE", "2.2.2.2") == 300  # from any address, in any case
    for i in range(20):  # 10 + 20 failures from one address on other names
        assert refused(limits, f"user{i}", "1.1.1.1") is None
    assert refused(limits, "bob", "1.1.1.1") == 60
    assert refused(limits, "bob", "3.3.3.3") is None
    clock.now += 60
    assert refused(limits, "bob", "1.1.1.1") is None  # the address window slid
    assert refused(limits, "alice", "4.4.4.4") == 240
    clock.now += 240
    assert refused(limits, "alice", "4.4.4.4") is None


def test_login_limiter_does_not_count_successes() -> None:
    from foretell.api.auth import LoginLimiter

    limits = LoginLimiter(per_user=3, per_ip=3, clock=Clock())
    for _ in range(50):
        limits.succeeded(limits.attempt("carol", "5.5.5.5"))
    assert len(limits) == 0
    for _ in range(3):
        limits.attempt("carol", "5.5.5.5")
    with pytest.raises(ApiError):
        limits.attempt("carol", "5.5.5.5")


def test_login_limiter_memory_is_bounded() -> None:
    from foretell.api.auth import LoginLimiter

    clock = Clock()
    limits = LoginLimiter(per_ip=10**9, keys_max=1_000, clock=clock)
    for i in range(20_000):
        limits.attempt(f"name{i}", f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.001
    assert len(limits) <= 2 * 1_000
    assert refused(limits, "name19999", "10.0.78.31") is None  # the latest are kept
