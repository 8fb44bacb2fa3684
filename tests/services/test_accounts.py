"""Accounts in process: users, logins and sessions, API keys, operator credits and debits."""

from __future__ import annotations

from tests.services.conftest import World, refused, run

from foretell.services.accounts import credential_recheck_ms
from foretell.services.auth import derive_secret
from foretell.store import queries
from foretell.store import schema as t


def test_create_user_and_a_taken_username(w: World) -> None:
    svc = w.svc
    ada = svc.accounts.create_user("ada", "password-1", display_name="Ada L.")
    assert svc.accounts.user(ada) == {"id": ada, "username": "ada", "display_name": "Ada L.",
                                      "role": "trader", "created_ms": w.clock.now_ms,
                                      "suspended": False}
    with refused("username_taken"):
        svc.accounts.create_user("ada", "another-password")
    assert svc.accounts.user(ada + 1) is None


def test_login_gives_a_session_until_logout_or_expiry(w: World) -> None:
    svc = w.svc
    ada = w.user("ada", usdc=0)
    with refused("unauthenticated"):
        svc.accounts.login("ada", "wrong-password")
    with refused("unauthenticated"):
        svc.accounts.login("nobody", "password-1")
    token, csrf, user_id = svc.accounts.login("ada", "password-1")
    assert user_id == ada
    assert svc.accounts.session(token) == (ada, "trader", csrf)
    assert svc.accounts.session(token + "x") is None

    svc.accounts.logout(token)
    assert svc.accounts.session(token) is None

    token, csrf, _ = svc.accounts.login("ada", "password-1")
    w.clock.now_ms += svc.settings.session_ttl_ms + 1
    assert svc.accounts.session(token) is None  # expired, though still cached

    with svc.db.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.id == ada).values(disabled=True))
    with refused("unauthenticated"):  # a wrong password says nothing of the suspension
        svc.accounts.login("ada", "wrong-password")
    with refused("account_suspended"):  # the right one learns why it cannot log in
        svc.accounts.login("ada", "password-1")


def test_a_role_change_reaches_a_cached_session_once_forgotten(w: World) -> None:
    svc = w.svc
    ada = w.user("ada", usdc=0)
    token, csrf, _ = svc.accounts.login("ada", "password-1")
    assert svc.accounts.session(token) == (ada, "trader", csrf)
    with svc.db.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.id == ada).values(role="creator"))
    assert svc.accounts.session(token) == (ada, "trader", csrf)  # the cache still holds it
    svc.accounts.forget_user(ada)
    assert svc.accounts.session(token) == (ada, "creator", csrf)


def test_a_disabled_user_loses_a_cached_session_and_key(w: World) -> None:
    """Disabling is a write to the users table that no verb here sees: the cached session and
    key are read again within `credential_recheck_ms` and refused from then on."""
    svc = w.svc
    ada, bob = w.user("ada", usdc=0), w.user("bob", usdc=0)
    token, csrf, _ = svc.accounts.login("ada", "password-1")
    bob_token, bob_csrf, _ = svc.accounts.login("bob", "password-1")
    key = svc.accounts.create_key(ada, "bot", ["read", "trade"])["key_id"]
    assert svc.accounts.session(token) == (ada, "trader", csrf)
    assert svc.accounts.key(key) == (ada, "trader", frozenset({"read", "trade"}))

    with svc.db.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.id == ada).values(disabled=True))
    w.clock.now_ms += credential_recheck_ms
    assert svc.accounts.session(token) is None
    assert svc.accounts.key(key) is None
    assert svc.accounts.session(bob_token) == (bob, "trader", bob_csrf)  # others unaffected

    with svc.db.begin() as conn:  # enabled again: the same session and key work again
        conn.execute(t.users.update().where(t.users.c.id == ada).values(disabled=False))
    w.clock.now_ms += credential_recheck_ms
    assert svc.accounts.session(token) == (ada, "trader", csrf)
    assert svc.accounts.key(key) == (ada, "trader", frozenset({"read", "trade"}))


def test_api_keys_are_derived_listed_and_revoked(w: World) -> None:
    svc = w.svc
    ada, bob = w.user("ada", usdc=0), w.user("bob", usdc=0)
    made = svc.accounts.create_key(ada, "bot", ["trade", "read", "trade"])
    assert made["scopes"] == ["read", "trade"] and made["label"] == "bot"
    assert made["secret"] == derive_secret(svc.master_key, made["key_id"])
    assert svc.accounts.key(made["key_id"]) == (ada, "trader", frozenset({"read", "trade"}))
    assert svc.accounts.key("ft_0000000000000000") is None
    listed = svc.accounts.keys(ada)
    assert [(k["key_id"], k["scopes"], k["revoked_ms"]) for k in listed] == [
        (made["key_id"], ["read", "trade"], None)]
    assert svc.accounts.keys(bob) == []

    assert svc.accounts.revoke_key(bob, made["key_id"]) is False  # not bob's key
    assert svc.accounts.key(made["key_id"]) is not None
    assert svc.accounts.revoke_key(ada, made["key_id"]) is True
    assert svc.accounts.key(made["key_id"]) is None
    assert svc.accounts.revoke_key(ada, made["key_id"]) is False  # already revoked
    assert svc.accounts.keys(ada)[0]["revoked_ms"] == w.clock.now_ms


def test_credit_and_debit_to_the_micro_and_their_refusals(w: World) -> None:
    svc = w.svc
    ada = w.user("ada", usdc=0)
    assert svc.portfolio.balance(ada)["free"] == "0.000000"  # unknown to the engine yet
    got = run(svc.accounts.credit(ada, 12_345_678, "test funding", w.sam))
    assert (got["free"], got["reserved"], got["total"]) == ("12.345678", "0.000000",
                                                            "12.345678")
    got = run(svc.accounts.credit(ada, -2_345_677, "test debit", w.sam))
    assert got["free"] == "10.000001"
    with refused("insufficient_funds"):
        run(svc.accounts.credit(ada, -10_000_002, "too much", w.sam))
    with refused("invalid_amount"):
        run(svc.accounts.credit(ada, 0, "nothing", w.sam))
    with refused("unknown_account"):
        run(svc.accounts.credit(ada + 99, -1, "no such account", w.sam))
    assert w.free_reserved(ada) == (10_000_001, 0)

    # The projection reads the same cash once it has applied the operator's latest command.
    run(svc.read_your_writes(w.sam))
    row = queries.balance(svc.db, ada)
    assert (row["free_micro"], row["reserved_micro"]) == (10_000_001, 0)
    moves, _ = queries.cash_movements(svc.db, ada)
    assert sorted(m["amount_micro"] for m in moves) == [-2_345_677, 12_345_678]
    assert svc.engine.deposits_micro == 10_000_001
