"""The one exception the SDK raises for a refusal, a failed request or a broken connection.

A server refusal keeps the server's error shape: `status` (HTTP), `code` (stable string such as
`insufficient_funds`), `message` and `details`. A request that never got an answer has status 0
and code `connection_error`; a malformed answer has code `bad_response`.
"""

from __future__ import annotations

from typing import Any


class ForetellError(Exception):
    def __init__(self, status: int, code: str, message: str = "", details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def __repr__(self) -> str:
        return (f"ForetellError(status={self.status}, code={self.code!r}, "
                f"message={self.message!r}, details={self.details!r})")

    @classmethod
    def from_response(cls, status: int, payload: Any, headers: dict[str, str]) -> ForetellError:
        """Build from an error answer; tolerate answers that are not in the documented shape."""
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return cls(status, error["code"], str(error.get("message") or ""),
                       error.get("details"), headers)
        return cls(status, f"http_{status}", str(payload)[:200], None, headers)


class ConnectionFailed(ForetellError):
    """No answer: the server could not be reached or the connection broke mid-request."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "connection_error", message)
