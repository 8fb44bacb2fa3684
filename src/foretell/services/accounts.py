"""Accounts: users, passwords, browser sessions, API keys, and operator credits.

Sessions and keys are cached (a signed request must not cost a query); logout, revocation and
a role change drop them from the caches and tell `credential_listeners` / `account_listeners`
(the WebSocket hub downgrades live sockets at once). A cached credential is trusted for at most
`credential_recheck_ms`, then read again: a change no verb here made (a user disabled in the
database by an operator, a cluster's other gateway) reaches it within that. Refusals are
`Refused`.

Suspension (`suspend` / `reinstate`, a supervisor's verb): a suspended account cannot log in
(`account_suspended`), its sessions are ended, its API keys are kept but refused while it is
suspended (a real exchange does not make a reinstated bot re-provision its keys; a key the
operator wants gone is revoked as any other), the engine suspends it (`SuspendAccount`, a
journaled command: its resting orders and trigger orders are cancelled in it, and anything of
the account sequenced after it is refused, so an order in flight cannot rest), its live WebSockets
lose their private channels and trading at once, and its money is not touched: cash,
positions and pending withdrawals stay as they are. Supervisors (and so oneself) cannot be
suspended: a supervisor's role is taken away first, outside this verb. Every suspension and
reinstatement is kept in `user_events` with who and why.
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
suspend_reason_chars_max = 200


class Accounts:
    def __init__(self, node: Node, portfolio: Portfolio) -> None:
        self.node = node
        self.portfolio = portfolio
        self.master_key = load_master_key(node.settings.data)
        # key id -> ((user id, role, scopes) or None for no live key, when it was read)
        self.key_cache: dict[str, tuple[tuple[int, str, frozenset[str]] | None, int]] = {}
        # session hash -> (user id, role, csrf token, expires_ms, when it was read)
        self.session_cache: dict[str, tuple[int, str, str, int, int]] = {}
        # (credential, reason): "s:<session hash>" or "k:<key id>" is gone; (account id,
        # reason): its role or standing changed ("account_changed": check again) or it was
        # suspended ("account_suspended": downgrade at once). Called on the loop.
        self.credential_listeners: list[Callable[[str, str], None]] = []
        self.account_listeners: list[Callable[[int, str], None]] = []

    def _tell_credential(self, credential: str, reason: str) -> None:
        for listener in self.credential_listeners:
            self.node.on_loop(partial(listener, credential, reason))

    def _tell_account(self, user_id: int, reason: str = "account_changed") -> None:
        for listener in self.account_listeners:
            self.node.on_loop(partial(listener, user_id, reason))

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
            "id", "username", "display_name", "role", "created_ms")} | {
            "suspended": bool(row["disabled"])}

    def login(self, username: str, password: str) -> tuple[str, str, int]:
        """(session token, csrf token, user id), or `Refused` (unauthenticated)."""
        with self.node.db.connect() as conn:
            row = conn.execute(sa.select(t.users).where(
                t.users.c.username == username)).mappings().first()
        if row is None or not check_password(row["password_hash"], password):
            raise Refused("unauthenticated", "Wrong username or password.")
        if row["disabled"]:  # told only to whoever knows the password
            raise Refused("account_suspended", "This account is suspended by the exchange; "
                          "contact the operator.")
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

    def forget_user(self, user_id: int, reason: str = "account_changed") -> None:
        """Drop cached sessions and keys of a user whose role or standing changed; the user's
        live WebSockets check their credential again ("account_changed") or are downgraded at
        once ("account_suspended")."""
        self.drop_cached(user_id)
        self._tell_account(user_id, reason)

    def drop_cached(self, user_id: int) -> None:
        """Only the caches (a cluster's other gateways do this when told, cluster/notices.py)."""
        self.session_cache = {k: v for k, v in self.session_cache.items() if v[0] != user_id}
        # A key refused while the account was suspended is cached as None, without its user:
        # those entries go too (rare and cheap to read again), or a reinstated bot's key
        # would stay refused until the recheck.
        self.key_cache = {k: v for k, v in self.key_cache.items()
                          if v[0] is not None and v[0][0] != user_id}

    def drop_credential(self, credential: str) -> None:
        """Only the cache entry of "s:<session hash>" or "k:<key id>"."""
        if credential.startswith("s:"):
            self.session_cache.pop(credential[2:], None)
        elif credential.startswith("k:"):
            self.key_cache.pop(credential[2:], None)

    # -- suspension ---------------------------------------------------------------------------

    async def suspend(self, user_id: int, reason: str, by: int | None) -> dict[str, Any]:
        """Suspend an account (see the module docstring). `by` is the supervisor's account,
        None for an operator at the CLI. Refusals: unknown_user, cannot_suspend_self,
        cannot_suspend_supervisor, already_suspended."""
        reason = _reason(reason)
        now = self.node.clock()
        with self.node.db.begin() as conn:
            row = conn.execute(sa.select(t.users.c.role, t.users.c.disabled).where(
                t.users.c.id == user_id).with_for_update()).first()
            if row is None:
                raise Refused("unknown_user", "No such user.")
            if by is not None and user_id == by:
                raise Refused("cannot_suspend_self", "A supervisor cannot suspend themself.")
            if row.role == "supervisor":
                raise Refused("cannot_suspend_supervisor",
                              "A supervisor cannot be suspended; take the role away first.")
            if row.disabled:
                raise Refused("already_suspended", "This account is already suspended.")
            conn.execute(t.users.update().where(t.users.c.id == user_id).values(disabled=True))
            sessions = conn.execute(t.sessions.delete().where(
                t.sessions.c.user_id == user_id)).rowcount
            conn.execute(t.user_events.insert().values(
                user_id=user_id, ts_ms=now, kind="suspended", actor=by, reason=reason))
        # Credentials first, so that nothing new arrives from this account; then the engine,
        # which refuses whatever of it is sequenced after, and cancels what it has live.
        self.forget_user(user_id, "account_suspended")
        orders, triggers = await self._engine_standing(user_id, True)
        return self.standing(user_id) | {
            "sessions_ended": sessions, "orders_cancelled": orders,
            "triggers_cancelled": triggers}

    async def reinstate(self, user_id: int, reason: str, by: int | None) -> dict[str, Any]:
        """Lift a suspension: the account may log in again and its unrevoked API keys work
        again. Refusals: unknown_user, not_suspended."""
        reason = _reason(reason)
        with self.node.db.begin() as conn:
            row = conn.execute(sa.select(t.users.c.disabled).where(
                t.users.c.id == user_id).with_for_update()).first()
            if row is None:
                raise Refused("unknown_user", "No such user.")
            if not row.disabled:
                raise Refused("not_suspended", "This account is not suspended.")
            conn.execute(t.users.update().where(t.users.c.id == user_id).values(disabled=False))
            conn.execute(t.user_events.insert().values(
                user_id=user_id, ts_ms=self.node.clock(), kind="reinstated", actor=by,
                reason=reason))
        await self._engine_standing(user_id, False)
        self.forget_user(user_id)
        return self.standing(user_id)

    def standing(self, user_id: int) -> dict[str, Any]:
        """{user_id, suspended, and the last suspension or reinstatement: who, when, why}."""
        with self.node.db.connect() as conn:
            disabled = conn.scalar(sa.select(t.users.c.disabled).where(t.users.c.id == user_id))
            if disabled is None:
                raise Refused("unknown_user", "No such user.")
            last = conn.execute(sa.select(t.user_events).where(
                t.user_events.c.user_id == user_id).order_by(
                t.user_events.c.id.desc()).limit(1)).mappings().first()
        out: dict[str, Any] = {"user_id": user_id, "suspended": bool(disabled)}
        if last is not None:
            out["last_change"] = {"kind": last["kind"], "ts_ms": last["ts_ms"],
                                  "by": last["actor"], "reason": last["reason"]}
        return out

    async def _engine_standing(self, user_id: int, suspended: bool) -> tuple[int, int]:
        """The suspension in the engine (a journaled command, engine/risk.py): while it holds,
        the account's orders and trigger orders are refused, so one sent just before the
        suspension cannot rest after it; suspending cancels what it has live. Returns the
        (orders, trigger orders) cancelled."""
        outcome = await self.node.execute(cmd.SuspendAccount(0, user_id, suspended), user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        orders, triggers = outcome.value
        return int(orders), int(triggers)

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


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 3 <= len(reason) <= suspend_reason_chars_max:
        raise Refused("invalid_reason", f"Give a reason of 3 to {suspend_reason_chars_max} "
                      "characters; it is kept on record.")
    return reason
