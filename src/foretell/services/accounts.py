"""Accounts: users, passwords, browser sessions, API keys, and operator credits.

Sessions and keys are cached (a signed request must not cost a query); logout, revocation and
a role change drop them from the caches and tell `credential_listeners` / `account_listeners`
(the WebSocket hub downgrades live sockets at once). A cached credential is trusted for at most
`credential_recheck_ms`, then read again: a change no verb here made (a user disabled in the
database by an operator, a cluster's other gateway) reaches it within that. Refusals are
`Refused`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

import sqlalchemy as sa

from foretell.domain import commands as cmd
from foretell.domain.codes import Refused, refused
from foretell.exchange.node import Node
from foretell.services.auth import (
    check_password,
    derive_secret,
    hash_password,
    load_master_key,
    sha256_hex,
)
from foretell.services.portfolio import Portfolio
from foretell.store import schema as t

credential_recheck_ms = 5_000  # a cached session or key is read again after this long


class Accounts:
    def __init__(self, node: Node, portfolio: Portfolio) -> None:
        self.node = node
        self.portfolio = portfolio
        self.master_key = load_master_key(node.settings.data)
        # key id -> ((user id, role, scopes) or None for no live key, when it was read)
        self.key_cache: dict[str, tuple[tuple[int, str, frozenset[str]] | None, int]] = {}
        # session hash -> (user id, role, csrf token, expires_ms, when it was read)
        self.session_cache: dict[str, tuple[int, str, str, int, int]] = {}
        # (credential, reason): "s:<session hash>" or "k:<key id>" is gone; (account id): its
        # role or state changed. Called on the loop.
        self.credential_listeners: list[Callable[[str, str], None]] = []
        self.account_listeners: list[Callable[[int], None]] = []

    def _tell_credential(self, credential: str, reason: str) -> None:
        for listener in self.credential_listeners:
            self.node.on_loop(partial(listener, credential, reason))

    def _tell_account(self, user_id: int) -> None:
        for listener in self.account_listeners:
            self.node.on_loop(partial(listener, user_id))

    def create_user(self, username: str, password: str, role: str = "trader",
                    display_name: str | None = None) -> int:
        with self.node.db.begin() as conn:
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first():
                raise Refused("username_taken", "That username is taken.")
            result = conn.execute(t.users.insert().values(
                username=username, display_name=display_name or username, email=None,
                password_hash=hash_password(password), role=role, created_ms=self.node.clock(),
                disabled=False))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    async def credit(self, account_id: int, amount_micro: int, reason: str,
                     actor: int) -> dict[str, Any]:
        if amount_micro >= 0:
            command: cmd.Command = cmd.Deposit(0, account_id, amount_micro, reason)
        else:
            command = cmd.Withdraw(0, account_id, -amount_micro, reason)
        outcome = await self.node.execute(command, actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return self.portfolio.balance(account_id)

    def user(self, user_id: int) -> dict[str, Any] | None:
        with self.node.db.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).mappings().first()
        return None if row is None else {k: row[k] for k in (
            "id", "username", "display_name", "role", "created_ms")}

    def login(self, username: str, password: str) -> tuple[str, str, int]:
        """(session token, csrf token, user id), or `Refused` (unauthenticated)."""
        with self.node.db.connect() as conn:
            row = conn.execute(sa.select(t.users).where(
                t.users.c.username == username)).mappings().first()
        if row is None or row["disabled"] or not check_password(row["password_hash"], password):
            raise Refused("unauthenticated", "Wrong username or password.")
        return (*self.new_session(int(row["id"])), int(row["id"]))

    def new_session(self, user_id: int) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.node.clock()
        with self.node.db.begin() as conn:
            conn.execute(t.sessions.insert().values(
                id=sha256_hex(token), user_id=user_id, csrf_token=csrf, created_ms=now,
                expires_ms=now + self.node.settings.session_ttl_ms))
        return token, csrf

    def session(self, token: str) -> tuple[int, str, str] | None:
        """(user id, role, csrf token) of a live session; cached, dropped on logout."""
        key = sha256_hex(token)
        now = self.node.clock()
        cached = self.session_cache.get(key)
        if cached is not None and cached[3] >= now and now - cached[4] < credential_recheck_ms:
            return cached[0], cached[1], cached[2]
        with self.node.db.connect() as conn:
            row = conn.execute(
                sa.select(t.sessions.c.user_id, t.sessions.c.csrf_token,
                          t.sessions.c.expires_ms, t.users.c.role, t.users.c.disabled)
                .join(t.users, t.users.c.id == t.sessions.c.user_id)
                .where(t.sessions.c.id == key)).mappings().first()
        if row is None or row["expires_ms"] < now or row["disabled"]:
            self.session_cache.pop(key, None)
            return None
        if len(self.session_cache) > 10_000:
            self.session_cache.clear()
        self.session_cache[key] = (int(row["user_id"]), str(row["role"]),
                                   str(row["csrf_token"]), int(row["expires_ms"]), now)
        return int(row["user_id"]), str(row["role"]), str(row["csrf_token"])

    def forget_user(self, user_id: int) -> None:
        """Drop cached sessions and keys of a user whose role changed; the user's live
        WebSockets check their credential again."""
        self.session_cache = {k: v for k, v in self.session_cache.items() if v[0] != user_id}
        self.key_cache = {k: v for k, v in self.key_cache.items()
                          if v[0] is None or v[0][0] != user_id}
        self._tell_account(user_id)

    def logout(self, token: str) -> None:
        self.session_cache.pop(sha256_hex(token), None)
        with self.node.db.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.id == sha256_hex(token)))
        self._tell_credential("s:" + sha256_hex(token), "logged_out")

    def create_key(self, user_id: int, label: str, scopes: list[str]) -> dict[str, Any]:
        key_id = "ft_" + secrets.token_hex(8)
        secret = derive_secret(self.master_key, key_id)
        with self.node.db.begin() as conn:
            conn.execute(t.api_keys.insert().values(
                key_id=key_id, user_id=user_id, secret_hash=sha256_hex(secret),
                scopes=",".join(sorted(set(scopes))), label=label, created_ms=self.node.clock()))
        return {"key_id": key_id, "secret": secret, "scopes": sorted(set(scopes)),
                "label": label, "note": "The secret is shown once; store it now."}

    def keys(self, user_id: int) -> list[dict[str, Any]]:
        with self.node.db.connect() as conn:
            rows = conn.execute(sa.select(t.api_keys).where(
                t.api_keys.c.user_id == user_id).order_by(t.api_keys.c.id)).mappings().all()
        return [{"key_id": r["key_id"], "label": r["label"], "scopes": r["scopes"].split(","),
                 "created_ms": r["created_ms"], "revoked_ms": r["revoked_ms"],
                 "last_used_ms": r["last_used_ms"]} for r in rows]

    def revoke_key(self, user_id: int, key_id: str) -> bool:
        with self.node.db.begin() as conn:
            result = conn.execute(t.api_keys.update().where(
                (t.api_keys.c.key_id == key_id) & (t.api_keys.c.user_id == user_id)
                & t.api_keys.c.revoked_ms.is_(None)).values(revoked_ms=self.node.clock()))
        self.key_cache.pop(key_id, None)
        if result.rowcount:
            self._tell_credential("k:" + key_id, "api_key_revoked")
        return bool(result.rowcount)

    def key(self, key_id: str) -> tuple[int, str, frozenset[str]] | None:
        """(user id, role, scopes) of a live API key; cached, dropped on revoke."""
        now = self.node.clock()
        cached = self.key_cache.get(key_id)
        if cached is not None and now - cached[1] < credential_recheck_ms:
            return cached[0]
        with self.node.db.connect() as conn:
            row = conn.execute(
                sa.select(t.api_keys.c.user_id, t.api_keys.c.scopes, t.api_keys.c.revoked_ms,
                          t.api_keys.c.secret_hash, t.users.c.role, t.users.c.disabled)
                .join(t.users, t.users.c.id == t.api_keys.c.user_id)
                .where(t.api_keys.c.key_id == key_id)).mappings().first()
        found = None
        if (row is not None and row["revoked_ms"] is None and not row["disabled"]
                and row["secret_hash"] == sha256_hex(derive_secret(self.master_key, key_id))):
            found = (int(row["user_id"]), str(row["role"]), frozenset(row["scopes"].split(",")))
        if len(self.key_cache) > 10_000:
            self.key_cache.clear()
        self.key_cache[key_id] = (found, now)
        return found
