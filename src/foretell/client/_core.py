"""What the sync and async clients share: building a request, signing it, and judging the answer.

The clients differ only in how they wait (blocking or `await`). Everything that decides what to
send and what an answer means lives here, as plain functions of the answer, so both clients
behave the same by construction:

- a request is a `Call` (method, path under /api/v1, query, JSON body, whether it may be resent);
- `Core.prepare` turns it into bytes and headers: the JSON body is encoded once, and exactly
  those bytes are signed and sent; a cookie session sends its CSRF token on unsafe methods;
- `Core.judge` reads an answer and says: done, retry after a delay, resync the clock, or fail.

Retry rules. A rate-limit 429 is always retried (the server refused it before doing anything),
after Retry-After when given; a 429 for a hard limit (too many resting orders) is not. A
connection that never opened is retried. Anything ambiguous (no answer after sending, a 5xx)
is retried only for calls marked `retry_safe`: reads, cancels, and orders, which always carry
a client order id so a resend can never make a second order. A stale
timestamp makes the client read the server clock once and send again; a replay refusal (which
also changed nothing) is sent again with a fresh signature.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from foretell.client.errors import ConnectionFailed, ForetellError
from foretell.client.signing import Signer, wall_clock_ms

Json = dict[str, Any]
API_PREFIX = "/api/v1"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "foretell_session"
retry_after_max_s = 30.0
backoff_max_s = 5.0
replays_resent_max = 2


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str  # under /api/v1, percent-encoded
    params: Mapping[str, Any] | None = None
    body: Any = None
    retry_safe: bool = False  # may be sent again after an ambiguous failure
    text: bool = False  # the answer is text (CSV), not JSON
    signed: bool = True  # False only for the server clock itself


@dataclass(frozen=True, slots=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # "done" | "retry" | "sync_time" | "fail"
    value: Any = None
    delay_s: float = 0.0
    error: ForetellError | None = None


@dataclass(slots=True)
class Attempts:
    """Counters for one call across its attempts."""

    retries: int = 0
    replays: int = 0
    synced: bool = False


def normalize_base_url(base_url: str) -> str:
    url = base_url.rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be http(s)://host[:port], not {base_url!r}")
    return url


def ws_url(base_url: str) -> str:
    return "ws" + base_url[4:] + API_PREFIX + "/ws"


def encode_query(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((key, str(value)))
    return urlencode(pairs)


def encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class Core:
    """Connection-independent state of a client: base URL, credentials, retry policy."""

    def __init__(self, base_url: str | Sequence[str], key_id: str | None, secret: str | None,
                 retries: int, backoff_s: float, clock: Any = None) -> None:
        if (key_id is None) != (secret is None):
            raise ValueError("give both key_id and secret, or neither")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        # Several base URLs (the gateways of a cluster): requests go to the first until it
        # stops answering, then to the next.
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("give at least one base_url")
        self.base_urls = [normalize_base_url(url) for url in urls]
        self.base_url = self.base_urls[0]
        self.signer = Signer(key_id, secret, clock or wall_clock_ms) if key_id and secret else None
        self.clock = clock or wall_clock_ms
        self.retries = retries
        self.backoff_s = backoff_s
        self.csrf_token: str | None = None

    def prepare(self, call: Call) -> Prepared:
        path = API_PREFIX + call.path
        query = encode_query(call.params)
        content = encode_body(call.body)
        headers = {"Accept": "text/csv" if call.text else "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if self.signer is not None and call.signed:
            headers.update(self.signer.headers(call.method, path, query, content or b""))
        elif self.csrf_token and call.method.upper() in UNSAFE_METHODS:
            headers["X-CSRF-Token"] = self.csrf_token
        url = self.base_url + path + ("?" + query if query else "")
        return Prepared(call.method.upper(), url, headers, content)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter (half to full of the nominal delay)."""
        nominal = min(backoff_max_s, self.backoff_s * (1 << min(attempt, 16)))
        return nominal * (0.5 + random.random() / 2)

    def judge(self, call: Call, status: int, headers: Mapping[str, str], body: bytes,
              tries: Attempts) -> Verdict:
        """What to do with one answer. Updates `tries` when it asks for another attempt."""
        if 200 <= status < 300:
            return Verdict("done", value=_decode_ok(call, status, headers, body))
        error = ForetellError.from_response(status, _json_or_text(body), dict(headers))
        if self.signer is not None and call.signed and status == 401:
            if error.code == "stale_timestamp" and not tries.synced:
                tries.synced = True
                return Verdict("sync_time")
            if error.code == "replayed_signature" and tries.replays < replays_resent_max:
                tries.replays += 1
                return Verdict("retry")
        if tries.retries < self.retries:
            if status == 429 and (error.code == "rate_limited" or _retry_after(headers)):
                tries.retries += 1
                return Verdict("retry", delay_s=_retry_after(headers)
                               or self.backoff(tries.retries - 1))
            if status >= 500 and call.retry_safe:
                tries.retries += 1
                self.next_base_url()
                delay = (_retry_after(headers) if status == 503 else None)
                return Verdict("retry", delay_s=delay or self.backoff(tries.retries - 1))
        return Verdict("fail", error=error)

    def judge_no_answer(self, call: Call, exc: Exception, sent: bool,
                        tries: Attempts) -> Verdict:
        """A request that got no answer: resend if it never left, or if resending is safe
        (to the next base URL when there are several: this one may be gone)."""
        self.next_base_url()
        if tries.retries < self.retries and (call.retry_safe or not sent):
            tries.retries += 1
            return Verdict("retry", delay_s=self.backoff(tries.retries - 1))
        return Verdict("fail", error=ConnectionFailed(f"{type(exc).__name__}: {exc}"))

    def next_base_url(self) -> None:
        if len(self.base_urls) > 1:
            i = self.base_urls.index(self.base_url)
            self.base_url = self.base_urls[(i + 1) % len(self.base_urls)]

    def time_call(self) -> Call:
        return Call("GET", "/time", signed=False, retry_safe=True)

    def adjust_clock(self, answer: Any, sent_ms: int, received_ms: int) -> None:
        if self.signer is None:
            return
        if not isinstance(answer, dict) or not isinstance(answer.get("server_time_ms"), int):
            raise ForetellError(200, "bad_response", "GET /time has no server_time_ms")
        self.signer.adjust(answer["server_time_ms"], sent_ms, received_ms)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(int(value.strip()))
    except ValueError:
        return None
    return max(0.0, min(retry_after_max_s, seconds))


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def _decode_ok(call: Call, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    if call.text:
        return body.decode("utf-8")
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ForetellError(status, "bad_response", "the answer is not JSON",
                            headers=dict(headers)) from exc
