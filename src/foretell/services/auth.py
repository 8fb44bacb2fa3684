"""Credentials the application keeps: who a principal is, password hashes (Argon2), and API-key
secrets derived from the server's master key (so the database holds only their SHA-256).

The transport's checks (cookies and CSRF, signed-request headers, rate limits, replays) are the
API's (`foretell.api.auth`); this module knows nothing of HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SCOPES = ("read", "trade", "admin")
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: str
    scopes: frozenset[str]
    via: str  # "session" | "key"
    key_id: str = ""

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_master_key(data_dir: Path) -> bytes:
    """The server's secret, created once per data directory (0600)."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def derive_secret(master_key: bytes, key_id: str) -> str:
    raw = hmac.new(master_key, b"api-key:" + key_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign(secret: str, ts_ms: int, method: str, path_with_query: str, body: bytes) -> str:
    message = f"{ts_ms}{method.upper()}{path_with_query}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
