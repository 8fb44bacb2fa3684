"""Each on its own node and server: SIGKILL between "signed" and "confirmed" ends with exactly
one on-chain transfer; a drained hot wallet shows a shortfall and halts withdrawals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foretell.chain.runner import CRASH_ENV
from foretell.client import ForetellError

from .conftest import CONFIRMATIONS, USDC, Chain, launch, make_chain, stop, wait_for
from .test_withdrawals import fund, status, withdraw


@pytest.fixture
def own_chain(artifacts: dict[str, dict[str, Any]], tmp_path: Path) -> Iterator[Chain]:
    c = make_chain(artifacts, tmp_path)
    yield c
    c.close()


def _transfers_to(chain: Chain, to: str) -> list[Any]:
    c = chain.net.w3.eth.contract(address=chain.d.token, abi=chain.artifacts["TestUSDC"]["abi"])
    return list(c.events.Transfer().get_logs(from_block=0, argument_filters={"from": chain.hot_address, "to": to}))


def test_sigkill_between_signed_and_confirmed_makes_one_transfer(own_chain: Chain,
                                                                 tmp_path: Path) -> None:
    chain = own_chain
    data = tmp_path / "exchange" / "data"
    to = chain.address(chain.users[1])
    # 1. The server kills itself (SIGKILL) right after storing the signed transaction.
    server = launch(data, {**chain.env(), CRASH_ENV: "1"})
    c, _ = fund(chain, server, 100)
    w = withdraw(c, "42", to)
    assert server.process.wait(20) == -signal.SIGKILL
    stop(server)
    assert _transfers_to(chain, to) == []  # signed and stored, never sent
    # 2. Restarted: the same stored transaction is sent; killed again while it has 1 of N
    # confirmations.
    server = launch(data, chain.env())
    admin = server.admin()

    def state() -> dict[str, Any]:
        return dict(admin.request("GET", "/admin/funding/withdrawals")["withdrawals"][0])

    wait_for(lambda: state()["status"] == "broadcast", what="re-broadcast")
    tx_hash = state()["tx_hash"]
    assert [bytes(e["transactionHash"]).hex() for e in _transfers_to(chain, to)] == [tx_hash[2:]]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    stop(server)
    # 3. Restarted again: it follows the same transaction to N confirmations.
    server = launch(data, chain.env())
    try:
        admin = server.admin()
        chain.net.mine(CONFIRMATIONS)
        wait_for(lambda: state()["status"] == "confirmed", what="confirmed")
        assert state()["tx_hash"] == tx_hash and state()["id"] == w["id"]
        transfers = _transfers_to(chain, to)
        assert len(transfers) == 1 and transfers[0]["args"]["value"] == 42 * USDC
        assert chain.balance(to) == 1_000_000 * USDC + 42 * USDC
        report = admin.request("GET", "/reserves")
        assert report["held"] == report["owed"] == "58.000000"
    finally:
        stop(server)
    # `foretell audit` replays the journal and checks the same reserves offline.
    done = subprocess.run([sys.executable, "-m", "foretell.cli", "audit", "--data", str(data),
                           "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **chain.env()})
    assert done.returncode == 0, done.stderr
    audit = json.loads(done.stdout)
    assert audit["reserves"]["held"] == audit["reserves"]["owed"] == "58.000000"
    assert audit["reserves"]["ratio"] == "1.000000" and not audit["violations"]


def test_drained_hot_wallet_shows_a_shortfall_and_halts_withdrawals(own_chain: Chain,
                                                                    tmp_path: Path) -> None:
    chain = own_chain
    server = launch(tmp_path / "exchange" / "data", chain.env())
    try:
        c, _ = fund(chain, server, 300)
        wait_for(lambda: chain.balance(chain.hot_address) == 300 * USDC, what="swept")
        report = server.admin().request("GET", "/reserves")
        assert not report["shortfall"] and report["held"] == report["owed"] == "300.000000"
        assert report["ratio"] == "1.000000"
        # Someone with the hot key takes 100 USDC out.
        chain.token(chain.hot, "transfer", chain.address(chain.users[2]), 100 * USDC)
        admin = server.admin()
        short = wait_for(lambda: (r := admin.request("GET", "/reserves"))["shortfall"] and r)
        assert short["held"] == "200.000000" and short["owed"] == "300.000000"
        assert short["ratio"] == "0.666666" and short["withdrawals_halted"]
        with pytest.raises(ForetellError) as err:
            withdraw(c, "10", chain.address(chain.users[1]))
        assert (err.value.status, err.value.code) == (503, "withdrawals_halted")
        assert c.balance()["free"] == "300.000000"
        alerts = admin.request("GET", "/admin/funding/alerts")
        assert alerts["withdrawals_halted"]
        alert = next(a for a in alerts["alerts"] if a["kind"] == "reserves_shortfall")
        with pytest.raises(ForetellError) as err:
            admin.request("POST", f"/admin/funding/alerts/{alert['id']}/resolve")
        assert err.value.code == "reserves_still_short"
        assert "reserves shortfall" in server.log()
        # Topped up again, the supervisor lifts the halt.
        chain.token(chain.users[2], "transfer", chain.hot_address, 100 * USDC)
        admin.request("POST", f"/admin/funding/alerts/{alert['id']}/resolve")
        w = withdraw(c, "10", chain.address(chain.users[1]))
        wait_for(lambda: status(c, w["id"]) == "broadcast")
        chain.net.mine(CONFIRMATIONS)
        wait_for(lambda: status(c, w["id"]) == "confirmed")
    finally:
        stop(server)

