"""Who is calling: browser sessions (cookie + CSRF) and API keys (HMAC-signed requests).

API keys are a public `key_id` and a secret shown once. The secret is derived from the server's
master key (HMAC of the key id), so the database holds only its SHA-256 and no secret can be
read back from it; the server recomputes it to check signatures. A signed request carries
FT-Key, FT-Timestamp (ms) and FT-Signature = hex HMAC-SHA256(secret, timestamp + method +
path_with_query + body); it is refused when the timestamp is more than 30 s off or the same
signature was already seen. Every principal has a token bucket; exceeding it is a 429.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from foretell.api.errors import ApiError

SESSION_COOKIE = "foretell_session"
CSRF_HEADER = "x-csrf-token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class TokenBucket:
    """Per-principal rate limit: `rate_per_s` refill, `burst` capacity."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now_s: float | None = None) -> tuple[bool, int, float]:
        """(allowed, remaining tokens, seconds until one token is back)."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now_s))
            tokens = min(float(self.burst), tokens + (now_s - last) * self.rate_per_s)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now_s)
                return False, 0, (1.0 - tokens) / self.rate_per_s
            self._buckets[key] = (tokens - 1.0, now_s)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return True, int(tokens - 1.0), 0.0

    def headers(self, remaining: int, retry_s: float = 0.0) -> dict[str, str]:
        out = {"X-RateLimit-Limit": str(self.burst), "X-RateLimit-Remaining": str(remaining)}
        if retry_s:
            out["Retry-After"] = str(max(1, int(retry_s + 0.999)))
        return out


class LoginLimiter:
    """Failed logins, counted per username and per client address in sliding windows.

    An attempt is counted as a failure when it starts (so concurrent attempts cannot all slip
    under the limit while their passwords are checked) and forgiven when it succeeds. Once a
    username has `per_user` failures in `user_window_s`, or an address `per_ip` in
    `ip_window_s`, further attempts are refused before the password is checked, the right
    password included, until the oldest failure leaves the window. Memory is bounded: at most
    `keys_max` usernames and as many addresses are remembered, the least recently failed
    dropped first.
    """

    def __init__(self, per_user: int = 10, user_window_s: float = 300.0, per_ip: int = 30,
                 ip_window_s: float = 60.0, keys_max: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = ((per_user, user_window_s), (per_ip, ip_window_s))
        self._failures: tuple[dict[str, deque[float]], dict[str, deque[float]]] = ({}, {})
        self.keys_max = keys_max
        self.clock = clock
        self._lock = threading.Lock()

    def attempt(self, username: str, address: str) -> tuple[str, str, float]:
        """Count an attempt (a ticket for `succeeded`), or raise a 429 if one is limited."""
        keys = (username.lower(), address)
        now = self.clock()
        with self._lock:
            retry_s = 0.0
            for key, table, (limit, window_s) in zip(keys, self._failures, self._limits,
                                                     strict=True):
                times = table.get(key)
                if times is None:
                    continue
                while times and times[0] <= now - window_s:
                    times.popleft()
                if len(times) >= limit:
                    retry_s = max(retry_s, times[0] + window_s - now)
            if retry_s > 0:
                seconds = max(1, math.ceil(retry_s))
                raise ApiError(429, "rate_limited", "Too many failed logins; retry later.",
                               details={"retry_after_s": seconds},
                               headers={"Retry-After": str(seconds)})
            for key, table in zip(keys, self._failures, strict=True):
                times = table.pop(key, None) or deque()
                times.append(now)
                table[key] = times  # re-inserted: the dict's order is least recently failed
                if len(table) > self.keys_max:
                    self._evict(table, now)
        return keys[0], keys[1], now

    def succeeded(self, ticket: tuple[str, str, float]) -> None:
        """The attempt was a successful login: it does not count."""
        with self._lock:
            for key, table in zip(ticket[:2], self._failures, strict=True):
                times = table.get(key)
                if times is not None and ticket[2] in times:
                    times.remove(ticket[2])
                    if not times:
                        del table[key]

    def _evict(self, table: dict[str, deque[float]], now: float) -> None:
        window_s = max(w for _, w in self._limits)
        for key in [k for k, times in table.items() if not times or times[-1] <= now - window_s]:
            del table[key]
        while len(table) > self.keys_max * 9 // 10:  # room for a while before the next scan
            del table[next(iter(table))]

    def __len__(self) -> int:
        return sum(len(table) for table in self._failures)


class ReplayGuard:
    """Remembers signatures inside the validity window so each can be used once.

    The memory dies with the process, so a signature made before this process started is
    refused outright (`signed_before_start`): a request captured before a restart cannot be
    replayed after it. A client whose request is refused that way signs it again."""

    def __init__(self, window_ms: int, started_ms: int = 0) -> None:
        self.window_ms = window_ms
        self.started_ms = started_ms
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def first_use(self, signature: str, now_ms: int) -> bool:
        with self._lock:
            if len(self._seen) > 10_000:
                cutoff = now_ms - 2 * self.window_ms
                self._seen = {s: t for s, t in self._seen.items() if t > cutoff}
            if signature in self._seen:
                return False
            self._seen[signature] = now_ms
            return True


def check_signature_time(ts_header: str | int, now_ms: int, window_ms: int,
                         started_ms: int = 0) -> int:
    """The signed timestamp, if it is inside the window and not older than this process."""
    if isinstance(ts_header, int):
        ts_ms = ts_header
    elif ts_header.isascii() and ts_header.isdigit() and len(ts_header) <= 16:
        ts_ms = int(ts_header)
    else:
        raise ApiError(401, "unauthenticated", "FT-Timestamp must be integer milliseconds")
    if abs(now_ms - ts_ms) > window_ms:
        raise ApiError(401, "stale_timestamp", details={"server_time_ms": now_ms})
    if ts_ms < started_ms:
        # Answered like a stale timestamp, so clients re-sync and sign again.
        raise ApiError(401, "stale_timestamp", "Signed before the server started; sign again.",
                       details={"server_time_ms": now_ms, "signed_before_start": True})
    return ts_ms


def path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def require_csrf(request: Request, csrf_token: str) -> None:
    if request.method in _UNSAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, csrf_token):
            raise ApiError(403, "csrf_failed")
