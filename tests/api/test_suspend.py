"""Suspending a trader over HTTP: the admin routes and their refusals, login answering
`account_suspended`, keys refused until reinstated, money untouched, and a live WebSocket of
the trader (by API key or by cookie) losing its private channels and trading at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.api.conftest import PASSWORD

from foretell.client import ForetellError, Stream


def _error(call: Any, *args: Any, **kw: Any) -> tuple[int, str]:
    with pytest.raises(ForetellError) as caught:
        call(*args, **kw)
    return caught.value.status, caught.value.code


def _suspend(ex: Any, user_id: int, reason: str = "under review") -> Any:
    return ex.admin.admin_suspend(user_id, reason)  # the SDK's method


def _reinstate(ex: Any, user_id: int, reason: str = "review cleared") -> Any:
    return ex.admin.admin_reinstate(user_id, reason)


def _account(ex: Any, user_id: int) -> Any:
    return next(a for a in ex.admin.request("GET", "/admin/accounts")["accounts"]
                if a["id"] == user_id)


def test_suspend_and_reinstate_over_http(ex: Any, pool: Any) -> None:
    t = ex.trader(usdc="250")
    c = ex.market()["contract_ids"][0]
    order = t.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=5)
    before = _account(ex, t.id)
    assert before["suspended"] is False and before["reserved"] != "0.000000"

    # Who may, and the refusals.
    assert _error(pool[0].session.request, "POST", f"/admin/users/{t.id}/suspend",
                  body={"reason": "not a supervisor"}) == (403, "forbidden")
    assert _error(_suspend, ex, 2**40) == (404, "unknown_user")
    me = ex.admin.account()["id"]
    assert _error(_suspend, ex, me) == (403, "cannot_suspend_self")
    assert _error(ex.admin.request, "POST", f"/admin/users/{t.id}/suspend",
                  body={}) == (422, "invalid_request")
    assert _error(_reinstate, ex, t.id) == (409, "not_suspended")

    done = _suspend(ex, t.id, "wash trading under review")
    assert done["suspended"] is True and done["orders_cancelled"] == 1
    assert done["sessions_ended"] == 1
    assert done["last_change"]["reason"] == "wash trading under review"
    assert done["last_change"]["by"] == me
    assert _error(_suspend, ex, t.id) == (409, "already_suspended")

    # Every credential is refused at once; the login says why (wrong password says nothing).
    assert _error(t.api.balance)[0] == 401
    assert _error(t.session.balance)[0] == 401
    assert _error(ex.client().login, t.name, PASSWORD) == (403, "account_suspended")
    assert _error(ex.client().login, t.name, "wrong-password-1") == (401, "unauthenticated")
    after = _account(ex, t.id)
    assert after["suspended"] is True
    # Money is never touched: the cancel only moved the reservation back to free cash.
    assert int(after["free"].replace(".", "")) == (
        int(before["free"].replace(".", "")) + int(before["reserved"].replace(".", "")))
    assert after["reserved"] == "0.000000"

    back = _reinstate(ex, t.id)
    assert back["suspended"] is False and back["last_change"]["kind"] == "reinstated"
    assert _error(_reinstate, ex, t.id) == (409, "not_suspended")
    assert t.api.balance()["free"] == after["free"]  # the same key works again at once
    ex.client().login(t.name, PASSWORD)
    cancelled = t.api.order(order["id"])  # cancelled orders stay cancelled, with the reason
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "account_suspended")


def test_the_routes_are_in_the_openapi(ex: Any) -> None:
    spec = httpx.get(ex.base_url + "/openapi.json", timeout=10).json()
    for verb in ("suspend", "reinstate"):
        op = spec["paths"][f"/api/v1/admin/users/{{user_id}}/{verb}"]["post"]
        assert {"403", "404", "409"} <= set(op["responses"])


def test_a_live_socket_loses_its_rights_at_once(ex: Any, pool: Any) -> None:
    t = ex.trader(usdc="100")
    c = ex.market()["contract_ids"][0]
    other = ex.client()
    other.login(t.name, PASSWORD)

    async def main() -> None:
        async with Stream(ex.base_url, t.key["key_id"], t.key["secret"]) as by_key, \
                Stream.from_client(other) as by_cookie:
            for ws in (by_key, by_cookie):
                await ws.subscribe("orders", "balance", f"book:{c}")
            await by_key.place_order(contract_id=c, outcome="yes", side="buy", price="0.02",
                                     size=1)
            await asyncio.to_thread(_suspend, ex, t.id, "account takeover suspected")
            for ws in (by_key, by_cookie):
                revoked = await ws.wait_for(lambda m: m.get("type") == "auth_revoked")
                assert revoked["reason"] == "account_suspended"
                assert revoked["channels"] == [f"book:{c}"]  # public channels go on
                try:
                    await ws.place_order(contract_id=c, outcome="yes", side="buy",
                                         price="0.03", size=1)
                    raise AssertionError("a suspended account's socket placed an order")
                except ForetellError as exc:
                    assert exc.code == "unauthenticated", exc
            # A credit to the account changes its balance: nothing private reaches either.
            await asyncio.to_thread(ex.admin.admin_credit, t.id, "1", "while suspended")
            for ws in (by_key, by_cookie):
                await ws.ping()
                seen = []
                while not ws._queue.empty():
                    seen.append(ws._queue.get_nowait())
                assert not [m for m in seen if isinstance(m, dict) and m.get("channel") in (
                    "orders", "balance", "fills", "positions")], seen
                with pytest.raises(ForetellError) as caught:
                    await ws._request({"op": "subscribe", "channels": ["orders"]})
                assert caught.value.code == "unauthenticated"

    asyncio.run(main())
    _reinstate(ex, t.id)
