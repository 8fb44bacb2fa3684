"""The demo never acts as a login the README hands out.

A live `foretell serve` with the demo and its market maker on (the defaults): every README login
starts with a clean history, and while the market maker and its takers trade, nothing of a README
login changes (orders, fills, positions, cash). The bots trade on accounts of their own, which
nobody can log in to with the README password.

FORETELL_DEMO_QUIET_S sets how long to watch (30 s by default, as the issue asks).
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.demo.server import DEMO_PASSWORD, README_LOGINS, get, launch, login, stop, wait_ready

from foretell.demo import content

QUIET_S = float(os.environ.get("FORETELL_DEMO_QUIET_S", "30"))
TRADERS = ("ada-quant", "bruno-macro", "chen-swing")


def _state(client: httpx.Client) -> dict[str, Any]:
    """Everything of an account a person could see change: orders, fills, positions, cash."""
    balance = get(client, "/portfolio/balance")
    return {"orders": get(client, "/orders", limit=500)["orders"],
            "fills": get(client, "/portfolio/fills", limit=500)["fills"],
            "positions": get(client, "/portfolio/positions")["positions"],
            "settlements": get(client, "/portfolio/settlements")["settlements"],
            "cash": get(client, "/portfolio/cash")["movements"],
            "free": balance["free"], "reserved": balance["reserved"]}


def _creator_state(client: httpx.Client) -> dict[str, Any]:
    """The creator's state, her cash net of the fee share her markets earned.

    Creators are paid a share of the fees of trades on their markets: that is the result of
    her creating them, so her cash may grow by exactly that much while others trade there."""
    while True:
        fees = get(client, "/creators/me")["fees_earned"]
        state = _state(client)
        if get(client, "/creators/me")["fees_earned"] == fees:  # no fill in between
            break
    state["free"] = Decimal(state["free"]) - Decimal(fees)
    return state


def _volume(public: httpx.Client) -> int:
    return sum(int(m["volume_shares"]) for m in get(public, "/markets", limit=500)["markets"])


@pytest.mark.slow
def test_demo_bots_never_act_as_a_readme_login(tmp_path: Path) -> None:
    server = wait_ready(launch(tmp_path / "data"))  # the demo and the market maker are on
    clients: dict[str, httpx.Client] = {}
    public = httpx.Client(base_url=server.base_url + "/api/v1", timeout=30)
    try:
        # `serve` says where it is, that the demo is there, and how to log in.
        assert (f"Foretell on {server.base_url} — demo loaded: supervisor ops, creator "
                "lena-hartmann, traders ada-quant, bruno-macro, chen-swing (password "
                "foretell-demo)") in server.log()
        slugs = {m["slug"] for m in get(public, "/markets", limit=500)["markets"]}
        assert slugs == {m.slug for m in content.MARKETS}
        clients = {name: login(server.base_url, name) for name in README_LOGINS}

        # Every other account (the bots) stays shut to the README password.
        accounts = get(clients[content.SUPERVISOR], "/admin/accounts")["accounts"]
        bots = [a["username"] for a in accounts if a["username"] not in README_LOGINS]
        assert len(bots) >= 2, accounts  # the market maker and at least one taker
        for username in bots:
            r = public.post("/auth/login", json={"username": username,
                                                 "password": DEMO_PASSWORD})
            assert r.status_code == 401, (username, r.status_code)

        # A clean start: cash only, no order, fill or position of their own.
        for name, client in clients.items():
            state = _state(client)
            assert (state["orders"], state["fills"], state["positions"],
                    state["settlements"]) == ([], [], [], []), name
            assert Decimal(state["reserved"]) == 0, name
        for name in TRADERS:
            assert Decimal(_state(clients[name])["free"]) == 10_000, name

        volume = _volume(public)
        before = {name: _creator_state(c) if name == content.CREATOR else _state(c)
                  for name, c in clients.items()}
        time.sleep(QUIET_S)
        after = {name: _creator_state(c) if name == content.CREATOR else _state(c)
                 for name, c in clients.items()}

        # The market maker and its takers really traded meanwhile (or this test proves nothing).
        assert _volume(public) > volume, "no trade in any demo book during the quiet period"
        for name in README_LOGINS:
            assert after[name] == before[name], f"{name} changed while its owner did nothing"
    finally:
        for client in clients.values():
            client.close()
        public.close()
        stop(server)

