"""Reads of live engine state while the engine changes (issue 11, item 1), and signed requests
replayed after a restart (item 6).

Reads used to run in the threadpool and walk the engine's dicts while the loop changed them:
`/portfolio/balance` answered 500 ("dictionary changed size during iteration") to a second key
of a busy trader, and `/admin/audit` reported violations that were only a half-seen command.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
from tests.api.conftest import (
    Exchange,
    Server,
    launch_server,
    signed,
    stop_server,
    wait_ready,
)

READS = 150


async def _churn(trader: Any, contract: int, stop: threading.Event) -> int:
    """Keep a few hundred orders resting (long dicts to walk), and place and cancel more
    around them as fast as the server takes them (the dicts grow and shrink meanwhile)."""
    placed = 0
    async with trader.async_api() as bot:
        for start in range(0, 400, 100):
            await bot.place_orders([{"contract_id": contract, "outcome": "yes", "side": "buy",
                                     "price": f"0.{10 + (start + i) % 30:02d}", "size": 1}
                                    for i in range(100)])
        while not stop.is_set():
            orders = await asyncio.gather(*(bot.place_order(
                contract_id=contract, outcome="yes", side="buy", price=f"0.{10 + i:02d}",
                size=1) for i in range(20)))
            placed += len(orders)
            await bot.cancel_orders([o["id"] for o in orders])
    return placed


def _reads(base_url: str, key: dict[str, Any], paths: list[str]) -> list[tuple[str, int, Any]]:
    out: list[tuple[str, int, Any]] = []
    for i in range(READS):
        path = paths[i % len(paths)]
        r = signed(base_url, key["key_id"], key["secret"], "GET", path)
        out.append((path, r.status_code, r.json()))
    return out


def test_reads_of_live_state_while_trading(ex: Exchange) -> None:
    trader = ex.trader(usdc="100000")
    market = ex.market()
    contract = market["contract_ids"][0]
    # A second key of the same trader reads while the first one trades.
    reader_key = trader.session.create_api_key("reader", ["read"])
    admin_key = ex.admin.create_api_key("console", ["read", "admin"])
    stop = threading.Event()
    result: list[int] = []
    churn = threading.Thread(target=lambda: result.append(
        asyncio.run(_churn(trader, contract, stop))))
    churn.start()
    try:
        mine = _reads(ex.base_url, reader_key, [
            "/portfolio/balance", "/orders?status=open", "/triggers",
            f"/contracts/{contract}/book", f"/contracts/{contract}/ticker"])
        admin = _reads(ex.base_url, admin_key, ["/admin/audit", "/admin/accounts"])
    finally:
        stop.set()
        churn.join(30)
    assert result and result[0] > 100, "the trader did not trade during the reads"
    failed = [(path, status) for path, status, _ in mine + admin if status != 200]
    assert not failed, failed[:10]
    audits = [body for path, _, body in admin if path.endswith("/audit")]
    assert all(a["ok"] for a in audits), [a["violations"] for a in audits if not a["ok"]][:3]


def test_a_signed_request_replayed_after_a_restart_is_refused(tmp_path: Path) -> None:
    server: Server = wait_ready(launch_server(tmp_path / "data"))
    ex = Exchange(server)
    try:
        trader = ex.trader(usdc="1000")
        contract = ex.market()["contract_ids"][0]
    finally:
        ex.close()
    key = trader.key
    body = (b'{"contract_id": %d, "outcome": "yes", "side": "buy", "price": "0.20", "size": 1}'
            % contract)
    first = signed(server.base_url, key["key_id"], key["secret"], "POST", "/orders", body)
    assert first.status_code == 201, first.text
    stop_server(server)
    again = wait_ready(launch_server(tmp_path / "data"))
    try:
        request = first.request  # the same bytes and headers, to the restarted server
        replay = httpx.request("POST", again.base_url + "/api/v1/orders",
                               content=request.content, headers=dict(request.headers))
        assert replay.status_code == 401, replay.text
        assert replay.json()["error"]["code"] == "stale_timestamp"
        orders = signed(again.base_url, key["key_id"], key["secret"], "GET",
                        "/orders?status=open").json()["orders"]
        assert [o["id"] for o in orders] == [first.json()["id"]]
    finally:
        stop_server(again)

