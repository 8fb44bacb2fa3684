"""API benchmark: a real server process on loopback, driven by lean asyncio clients.

Figures: REST orders/s (keep-alive HTTP/1.1, several connections), WebSocket orders/s
(pipelined place_order ops with acks), WebSocket ack latency p50/p99 at a fixed offered rate, and
book-delta fan-out messages/s to many subscribers. Orders alternate buys and sells of YES around
the middle of one book with most of them resting, and are cancelled in bulk between phases.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

TRADERS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(data: Path) -> None:
    """A supervisor, traders with USDC and one open market, written before the server starts."""
    from foretell.config import Settings
    from foretell.domain import commands as cmd
    from foretell.services import Services

    svc = Services(Settings(data=data, demo=False, market_maker=False))
    try:
        svc.accounts.create_user("bench-admin", "bench-password", "supervisor")
        for i in range(TRADERS):
            user = svc.accounts.create_user(f"bench-{i}", "bench-password", "trader")
            svc.pipeline.execute(cmd.Deposit(0, user, 10**13, "bench funding"))
        svc.pipeline.execute(cmd.CreateMarket(0, 1, meta=json.dumps(
            {"slug": "bench", "question": "Benchmark market: will this run finish?"})))
        svc.projection.flush()
    finally:
        svc.close()


class Http:
    """Minimal keep-alive HTTP/1.1 client: the load generator must cost less than the server."""

    def __init__(self, port: int, cookie: str = "", csrf: str = "") -> None:
        self.port, self.cookie, self.csrf = port, cookie, csrf
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            return await self._request(method, path, body)
        except (ConnectionError, asyncio.IncompleteReadError):
            # The server closes keep-alive connections idle for 5 s; open a new one.
            self.writer = None
            return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(payload)}\r\n")
        if self.cookie:
            head += f"Cookie: foretell_session={self.cookie}\r\nX-CSRF-Token: {self.csrf}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError(f"server closed the connection ({method} {path})")
        length, cookie = 0, ""
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "set-cookie" and value.strip().startswith("foretell_session="):
                cookie = value.strip().split(";")[0].split("=", 1)[1]
        data = json.loads(await self.reader.readexactly(length)) if length else None
        if cookie:
            self.cookie = cookie
        return int(status_line.split()[1]), data

    async def login(self, username: str) -> None:
        status, data = await self.request("POST", "/api/v1/auth/login",
                                          {"username": username, "password": "bench-password"})
        assert status == 200, data
        self.csrf = data["csrf_token"]


def _order(i: int) -> dict[str, Any]:
    side = "buy" if i % 2 else "sell"
    # bids 0.30..0.49 (buy YES) and asks 0.51..0.70 (sell YES by buying NO): almost all rest
    cents = 49 - i % 20 if side == "buy" else 51 + i % 20
    if side == "buy":
        return {"contract_id": 1, "outcome": "yes", "side": "buy", "price": f"0.{cents}",
                "size": 1 + i % 5}
    return {"contract_id": 1, "outcome": "no", "side": "buy", "price": f"0.{100 - cents}",
            "size": 1 + i % 5}


async def _rest_phase(port: int, seconds: float, connections: int) -> float:
    clients = []
    for i in range(connections):
        c = Http(port)
        await c.login(f"bench-{i % TRADERS}")
        clients.append(c)
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(c: Http, k: int) -> None:
        nonlocal done
        i = k
        while time.perf_counter() < stop:
            status, data = await c.request("POST", "/api/v1/orders", _order(i))
            assert status == 201, (status, data)
            done += 1
            i += connections

    start = time.perf_counter()
    await asyncio.gather(*(worker(c, k) for k, c in enumerate(clients)))
    elapsed = time.perf_counter() - start
    for c in clients[:TRADERS]:
        await c.request("DELETE", "/api/v1/orders")
    return done / elapsed


async def _ws(port: int, username: str) -> Any:
    http = Http(port)
    await http.login(username)
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/api/v1/ws", max_size=2**22,
        # As a browser's page does: same origin, so the session cookie logs the socket in.
        additional_headers={"Cookie": f"foretell_session={http.cookie}",
                            "Origin": f"http://127.0.0.1:{port}"}), http


async def _ws_throughput(port: int, seconds: float, connections: int, window: int) -> float:
    sockets = [await _ws(port, f"bench-{i % TRADERS}") for i in range(connections)]
    done = 0
    stop = time.perf_counter() + seconds

    async def pump(ws: Any, k: int) -> None:
        nonlocal done
        sent = acked = 0
        i = k
        while True:
            while sent - acked < window and time.perf_counter() < stop:
                await ws.send(json.dumps({"op": "place_order", "id": sent, "order": _order(i)}))
                sent += 1
                i += connections
            if acked == sent:
                return
            message = json.loads(await ws.recv())
            if message.get("type") in ("ack", "error"):
                acked += 1
                done += message["type"] == "ack"

    start = time.perf_counter()
    await asyncio.gather(*(pump(ws, k) for k, (ws, _) in enumerate(sockets)))
    elapsed = time.perf_counter() - start
    for ws, http in sockets:
        await http.request("DELETE", "/api/v1/orders")
        await ws.close()
    return done / elapsed


async def _ws_latency(port: int, rate_per_s: int, seconds: float) -> tuple[float, float]:
    ws, http = await _ws(port, "bench-0")
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    total = int(rate_per_s * seconds)

    async def receive() -> None:
        while len(latencies) < total:
            message = json.loads(await ws.recv())
            if message.get("type") in ("ack", "error") and message.get("id") in sent_at:
                latencies.append(time.perf_counter() - sent_at.pop(message["id"]))

    receiver = asyncio.create_task(receive())
    start = time.perf_counter()
    for n in range(total):
        target = start + n / rate_per_s
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[n] = time.perf_counter()
        await ws.send(json.dumps({"op": "place_order", "id": n, "order": _order(n)}))
    await asyncio.wait_for(receiver, 60)
    await http.request("DELETE", "/api/v1/orders")
    await ws.close()
    latencies.sort()
    return (latencies[len(latencies) // 2] * 1000,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)


async def _fanout(port: int, subscribers: int, seconds: float) -> float:
    listeners = []
    for _ in range(subscribers):
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/api/v1/ws", max_size=2**22)
        await ws.send(json.dumps({"op": "subscribe", "channels": ["book:1"]}))
        listeners.append(ws)
    received = 0
    counting = asyncio.Event()

    async def drain(ws: Any) -> None:
        nonlocal received
        try:
            while True:
                message = await ws.recv()
                if counting.is_set() and '"delta"' in message:
                    received += 1
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            return

    drains = [asyncio.create_task(drain(ws)) for ws in listeners]
    await asyncio.sleep(0.5)
    counting.set()
    start = time.perf_counter()
    await _rest_phase(port, seconds, 4)
    elapsed = time.perf_counter() - start
    counting.clear()
    for task in drains:
        task.cancel()
    for ws in listeners:
        await ws.close()
    return received / elapsed


async def _settle(port: int, timeout_s: float = 120.0) -> float:
    """Wait until the store has caught up with the journal (GET /health): a latency figure at
    a fixed rate is the server's steady state, not the digestion of the previous burst."""
    http = Http(port)
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        status, health = await http.request("GET", "/api/v1/health")
        if status == 200 and health["projector_lag"] == 0:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def _run(port: int, seconds: float) -> dict[str, Any]:
    # Each phase starts with the store caught up, so none measures the digestion of another.
    await _settle(port)
    rest = await _rest_phase(port, seconds, 16)
    await _settle(port)
    ws_rate = await _ws_throughput(port, seconds, 8, 64)
    settle_s = await _settle(port)
    p50, p99 = await _ws_latency(port, 2_000, seconds)
    # The same at a rate this server sustains, so the figure is latency rather than queueing.
    low_p50, low_p99 = await _ws_latency(port, 200, seconds)
    fanout = await _fanout(port, 200, seconds)
    return {"rest_orders_per_s": round(rest), "ws_orders_per_s": round(ws_rate),
            "ws_ack_p50_ms": round(p50, 2), "ws_ack_p99_ms": round(p99, 2),
            "ws_offered_rate_per_s": 2_000, "ws_ack_p50_ms_at_200_per_s": round(low_p50, 2),
            "ws_ack_p99_ms_at_200_per_s": round(low_p99, 2),
            "ws_fanout_msgs_per_s": round(fanout), "ws_fanout_subscribers": 200,
            "projector_settle_s": round(settle_s, 2)}


def run(seconds: float = 5.0) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="foretell-bench-api-"))
    _prepare(data)
    port = _free_port()
    # The per-user rate limit is policy, not capacity: lift it so the figures measure the server.
    env = dict(os.environ, FORETELL_DATA=str(data), FORETELL_PORT=str(port), FORETELL_DEMO="0",
               FORETELL_RATE_PER_S="1000000", FORETELL_RATE_BURST="1000000")
    log_path = data / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen([sys.executable, "-m", "foretell.cli", "serve"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        try:
            result = asyncio.run(_run(port, seconds))
        except Exception:
            print(log_path.read_text()[-3_000:], file=sys.stderr)
            raise
        result["benchmark"] = "api"
        result["seconds_per_phase"] = seconds
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)  # its journal and database: tens of MB a run
