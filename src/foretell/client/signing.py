"""Request signing for API keys, exactly as the server checks it (foretell.api.auth).

FT-Signature = hex HMAC-SHA256(secret, str(ts_ms) + METHOD + path_with_query + body bytes).
The path is the decoded path under the server root (what the server's router sees) and the
query string is the exact one sent. The server refuses a timestamp more than 30 s from its own
clock and any signature it has already seen, so the `Signer` keeps an offset to the server's
clock and never hands out the same timestamp twice (two identical requests in one millisecond
would otherwise carry the same signature, and the second would be refused as a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote

WS_PATH = "/api/v1/ws"


def sign(secret: str, ts_ms: int, method: str, path_with_query: str, body: bytes) -> str:
    message = f"{ts_ms}{method.upper()}{path_with_query}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_path(path: str, query: str) -> str:
    """What the server signs for a request sent to `path?query` (path percent-encoded)."""
    decoded = unquote(path).replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return decoded + ("?" + query if query else "")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Signer:
    """An API key's signing state: its secret, the server clock offset, the last timestamp."""

    def __init__(self, key_id: str, secret: str,
                 clock: Callable[[], int] = wall_clock_ms) -> None:
        self.key_id = key_id
        self._secret = secret
        self.clock = clock
        self.offset_ms = 0
        self._last_ts = 0
        self._lock = threading.Lock()

    def timestamp(self) -> int:
        """Server-time estimate in ms, strictly increasing across calls."""
        with self._lock:
            ts = max(self.clock() + self.offset_ms, self._last_ts + 1)
            self._last_ts = ts
            return ts

    def headers(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        ts = self.timestamp()
        signature = sign(self._secret, ts, method, signed_path(path, query), body)
        return {"FT-Key": self.key_id, "FT-Timestamp": str(ts), "FT-Signature": signature}

    def ws_auth(self) -> dict[str, object]:
        """The WebSocket `auth` op: the signature of ts + "GET/api/v1/ws"."""
        ts = self.timestamp()
        return {"op": "auth", "key": self.key_id, "ts": ts,
                "signature": sign(self._secret, ts, "GET", WS_PATH, b"")}

    def adjust(self, server_ms: int, sent_local_ms: int, received_local_ms: int) -> None:
        """Set the offset from one server time reading, assuming it was taken mid-flight."""
        midpoint = (sent_local_ms + received_local_ms) // 2
        with self._lock:
            self.offset_ms = server_ms - midpoint
            # A clock that ran ahead must be allowed back; a reused timestamp can only meet a
            # replay refusal, which the clients answer with a fresh signature.
            self._last_ts = min(self._last_ts, self.clock() + self.offset_ms)
