"""Account notices reach every gateway (cluster/notices.py), on the shared NATS server at
127.0.0.1:4222 with names unique to the run: two gateways' `Accounts` (each a real service on
its own data directory, standing in for a gateway's); a suspension or a revoked key on one
drops the cached credentials on both and reaches both hubs' listeners."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from foretell.bench.cluster_run import SHARED_NATS_HINT, shared_nats_up
from foretell.cluster import notices
from foretell.cluster.streams import ClusterSettings, connect, destroy
from foretell.config import Settings
from foretell.services import Services

pytestmark = pytest.mark.skipif(not shared_nats_up(), reason=SHARED_NATS_HINT)


async def _everywhere(tmp_path: Path) -> None:
    settings = ClusterSettings(prefix=f"t{uuid.uuid4().hex[:10]}")
    gateways = {name: Services(Settings(data=tmp_path / name, demo=False, market_maker=False))
                for name in ("a", "b")}
    conns = [await connect(settings, name=f"test-notices-{n}") for n in gateways]
    heard: dict[str, list[tuple[object, str]]] = {name: [] for name in gateways}
    try:
        for (name, svc), conn in zip(gateways.items(), conns, strict=True):
            svc.attach(asyncio.get_running_loop())
            svc.accounts.account_listeners.append(
                lambda account, reason, n=name: heard[n].append((account, reason)))
            svc.accounts.credential_listeners.append(
                lambda credential, reason, n=name: heard[n].append((credential, reason)))
            await notices.share(svc.accounts, conn)
            await conn.nc.flush()
            # A credential each gateway has cached (as if it had served a request with it).
            svc.accounts.key_cache["ft_k"] = ((5, "trader", frozenset({"read"})), 0)
            svc.accounts.session_cache["h"] = (5, "trader", "csrf", 2**62, 0)
        gateways["a"].accounts.forget_user(5, "account_suspended")  # as `suspend` does

        async def both_heard(expected: list[tuple[object, str]]) -> bool:
            return all(h == expected for h in heard.values())

        deadline = time.monotonic() + 10
        while not await both_heard([(5, "account_suspended")]):
            assert time.monotonic() < deadline, heard
            await asyncio.sleep(0.05)
        for svc in gateways.values():
            assert svc.accounts.key_cache == {} and svc.accounts.session_cache == {}

        gateways["b"].accounts._tell_credential("k:ft_x", "api_key_revoked")
        while not await both_heard([(5, "account_suspended"), ("k:ft_x", "api_key_revoked")]):
            assert time.monotonic() < deadline, heard
            await asyncio.sleep(0.05)
    finally:
        for c in conns:
            await c.close()
        await destroy(settings)
        for svc in gateways.values():
            svc.close()


def test_account_notices_reach_every_gateway(tmp_path: Path) -> None:
    asyncio.run(_everywhere(tmp_path))
