"""A reserves shortfall halts withdrawals on every gateway of a cluster, as real processes:
the shared NATS at 127.0.0.1:4222 (names unique to the run), a fresh PostgreSQL database, one
engine replica, a projector, two gateways with real USDC on the local EVM node.

The gateway holding the chain job finds the shortfall (its hot wallet drained); the other
gateway refuses withdrawals at once (503 `withdrawals_halted`, nothing debited), as does the
holder. Topped up again, a supervisor resolves the alert on the other gateway (the re-check
passes there); the request is accepted there and the holder signs and sends it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cluster import checks

from foretell.bench.cluster_run import (
    SHARED_NATS_HINT,
    SUPERVISOR,
    Proc,
    Run,
    health,
    shared_nats_up,
    wait_http,
)
from foretell.client import Client, ForetellError
from foretell.cluster.jobs import gateway_id

from .conftest import CONFIRMATIONS, PASSWORD, USDC, Chain, wait_for
from .test_withdrawals import confirm_all, withdraw

pytestmark = checks.NEEDS_CLUSTER


@pytest.fixture
def run(chain: Chain, tmp_path: Path) -> Iterator[Run]:
    if not shared_nats_up():
        pytest.skip(SHARED_NATS_HINT)
    r = Run(tmp_path, extra_env=chain.env())
    try:
        r.start_nats()
        r.create_database()
        r.make_supervisor()
        r.start_projector()
        r.start_engine("a")
        for name in ("g1", "g2"):
            r.start_gateway(name)
        for name in ("g1", "g2"):
            wait_http(r.procs[name])
        yield r
    finally:
        r.close()


def _holder(r: Run) -> tuple[Proc, Proc]:
    """(the gateway holding the chain job, the other one)."""
    g1, g2 = r.procs["g1"], r.procs["g2"]
    ids = {gateway_id(int(p.base_url.rsplit(":", 1)[1])): p for p in (g1, g2)}

    def held() -> Any:
        return health(g1)["cluster"].get("jobs", {}).get("chain", {}).get("holder") in ids

    wait_for(held, what="a gateway holds the chain job")
    holder = ids[health(g1)["cluster"]["jobs"]["chain"]["holder"]]
    return holder, (g2 if holder is g1 else g1)


def _refused(call: Any) -> tuple[int, str]:
    with pytest.raises(ForetellError) as err:
        call()
    return err.value.status, err.value.code


def test_a_shortfall_halts_withdrawals_on_every_gateway_until_resolved(chain: Chain,
                                                                        run: Run) -> None:
    holder, other = _holder(run)
    clients: list[Client] = []
    try:
        # A trader on the other gateway deposits 300; the holder credits and sweeps it.
        c = Client(other.base_url)
        clients.append(c)
        name = f"t{uuid.uuid4().hex[:10]}"
        c.signup(name, PASSWORD)
        chain.pay(0, c.request("GET", "/funding/deposit-address")["address"], 300 * USDC)
        chain.net.mine(CONFIRMATIONS)
        wait_for(lambda: c.balance()["free"] == "300.000000", what="deposit credited")
        wait_for(lambda: chain.balance(chain.hot_address) == 300 * USDC, what="swept")
        on_holder = Client(holder.base_url)
        clients.append(on_holder)
        on_holder.login(name, PASSWORD)
        admin = Client(other.base_url)
        clients.append(admin)
        admin.login(*SUPERVISOR)
        assert not admin.request("GET", "/admin/funding/alerts")["withdrawals_halted"]

        # Someone with the hot key takes 100 out: the holder's chain cycle opens the alert
        # (the other gateway checks no reserves itself here: reading alerts checks nothing).
        chain.token(chain.hot, "transfer", chain.address(chain.users[2]), 100 * USDC)
        wait_for(lambda: admin.request("GET", "/admin/funding/alerts")["withdrawals_halted"],
                 what="the holder halts withdrawals")
        to = chain.address(chain.users[1])
        assert _refused(lambda: withdraw(c, "10", to)) == (503, "withdrawals_halted")
        assert _refused(lambda: withdraw(on_holder, "10", to)) == (503, "withdrawals_halted")
        assert c.balance()["free"] == "300.000000"  # nothing debited
        assert c.request("GET", "/funding/withdrawals")["withdrawals"] == []
        alert = next(a for a in admin.request("GET", "/admin/funding/alerts")["alerts"]
                     if a["kind"] == "reserves_shortfall")
        assert _refused(lambda: admin.request(
            "POST", f"/admin/funding/alerts/{alert['id']}/resolve"))[1] == "reserves_still_short"

        # Topped up again, the supervisor resolves it on the other gateway: accepted there, and
        # the holder (which halted) signs and sends it.
        chain.token(chain.users[2], "transfer", chain.hot_address, 100 * USDC)
        resolved = admin.request("POST", f"/admin/funding/alerts/{alert['id']}/resolve")
        assert resolved == {"resolved": alert["id"], "withdrawals_halted": False}
        w = withdraw(c, "10", to)
        assert w["status"] == "approved" and c.balance()["free"] == "290.000000"
        confirm_all(chain, c, w["id"])
        report = admin.request("GET", "/reserves")
        assert report["held"] == report["owed"] == "290.000000"
        assert not report["withdrawals_halted"]
    except BaseException:
        print(run.logs())
        raise
    finally:
        for client in clients:
            client.close()
