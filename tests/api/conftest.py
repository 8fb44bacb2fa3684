"""A real Foretell server on loopback for the API tests, and an `Exchange` to populate it.

The server runs in its own process (`serve_child.py`) on a free port with a fresh data
directory, the demo and the market maker off, and a supervisor created beforehand through the
service on the same data directory. Tests talk to it only through the SDK (and, where a test
needs to send something the SDK would never send, through raw httpx or websockets).

Signing up costs an Argon2 hash on the server (most of a second on a busy machine), so tests
share a small `pool` of funded traders and trade on fresh markets of their own.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.live import Server, free_port, launch, stop, wait_ready

from foretell.client import AsyncClient, Client, ForetellError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUPERVISOR = ("root", "root-password-1")
PASSWORD = "trader-password-1"
Json = dict[str, Any]


def launch_server(data: Path, *options: str) -> Server:
    """Start a server process on `data` (a new directory gets the supervisor); don't wait."""
    if not data.exists():
        options = ("--supervisor", ":".join(SUPERVISOR), *options)
    port = free_port()
    return launch([sys.executable, str(HERE / "serve_child.py"), str(data), str(port), *options],
                  data, port)


def start_server(data: Path, *options: str) -> Server:
    return wait_ready(launch_server(data, *options))


def stop_server(server: Server) -> None:
    stop(server)


@dataclass
class Trader:
    name: str
    id: int
    session: Client  # logged in with a cookie session (CSRF token kept)
    api: Client  # signed with a read+trade API key
    key: Json
    base_url: str

    def async_api(self) -> AsyncClient:
        """A new AsyncClient on the same key; close it (async with) in the test."""
        return AsyncClient(self.base_url, self.key["key_id"], self.key["secret"])


class Exchange:
    """Helpers over one running server: the supervisor, new traders, new markets."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.base_url = server.base_url
        self.admin = Client(self.base_url)
        self.admin.login(*SUPERVISOR)
        self._clients: list[Client] = [self.admin]

    def client(self, key_id: str | None = None, secret: str | None = None,
               **kw: Any) -> Client:
        c = Client(self.base_url, key_id, secret, **kw)
        self._clients.append(c)
        return c

    def trader(self, usdc: str | None = "10000", scopes: tuple[str, ...] = ("read", "trade"),
               name: str | None = None) -> Trader:
        name = name or f"t{uuid.uuid4().hex[:12]}"
        session = self.client()
        account_id = session.signup(name, PASSWORD)["user"]["id"]
        if usdc:
            self.admin.admin_credit(account_id, usdc, "test funding")
        key = session.create_api_key("test bot", list(scopes))
        api = self.client(key["key_id"], key["secret"])
        return Trader(name, account_id, session, api, key, self.base_url)

    def market(self, outcomes: list[str] | None = None, **kw: Any) -> Json:
        """A new open market; answer has id, contract_ids and slug."""
        slug = f"m-{uuid.uuid4().hex[:12]}"
        created = self.admin.admin_create_market(
            slug=slug, question=kw.pop("question", "Will this test market resolve as expected?"),
            outcomes=outcomes or ["Yes", "No"], **kw)
        # The market read model lags the engine (see test_supervisor_reads_its_new_market_at_once).
        wait_until(lambda: self._visible(created["id"]), timeout_s=30)
        return created

    def _visible(self, market_id: int) -> bool:
        try:
            self.admin.market(market_id)
        except ForetellError as exc:
            if exc.code != "unknown_market":
                raise
            return False
        return True

    def audit(self) -> Json:
        report = self.admin.admin_audit()
        assert report["ok"], report["violations"]
        return report

    def close(self) -> None:
        for c in self._clients:
            c.close()


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Both servers boot in parallel: the main one with limits no test reaches, and a small
    one with a tight rate limit for the test of 429 and Retry-After, and a 1 s bound on the
    time to send a request body."""
    base = tmp_path_factory.mktemp("exchange")
    servers = {"main": launch_server(base / "main" / "data"),
               "limited": launch_server(base / "limited" / "data", "--rate-per-s", "5",
                                        "--rate-burst", "10", "--body-timeout-s", "1")}
    yield servers
    for srv in servers.values():
        stop_server(srv)
    if _http is not None:
        _http.close()


@pytest.fixture(scope="session")
def server(_servers: dict[str, Server]) -> Server:
    return wait_ready(_servers["main"])


@pytest.fixture(scope="session")
def limited_server(_servers: dict[str, Server]) -> Server:
    return wait_ready(_servers["limited"])


@pytest.fixture(scope="session")
def ex(server: Server) -> Iterator[Exchange]:
    exchange = Exchange(server)
    yield exchange
    exchange.close()


def wait_until(predicate: Any, timeout_s: float = 5.0, interval_s: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; return it (or fail)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


@pytest.fixture(scope="session")
def until() -> Any:
    return wait_until


@dataclass
class Pool:
    """Four long-lived funded traders, for tests that trade on their own fresh markets."""

    ex: Exchange
    traders: list[Trader] = field(default_factory=list)

    def __getitem__(self, index: int) -> Trader:
        while len(self.traders) <= index:
            self.traders.append(self.ex.trader(usdc="100000"))
        return self.traders[index]


@pytest.fixture(scope="session")
def pool(ex: Exchange) -> Pool:
    """pool[0..3] trade on fresh markets; pool[4] is for account-wide actions (cancel-all,
    dead-man's switch, cancel-on-disconnect), which would cancel the others' orders."""
    return Pool(ex)


class Raw:
    """Requests the SDK would never send, and checks of the raw error shape."""

    password = PASSWORD

    @staticmethod
    def signed(*args: Any, **kw: Any) -> httpx.Response:
        return signed(*args, **kw)

    @staticmethod
    def http() -> httpx.Client:
        return http()

    @staticmethod
    def assert_error(response: httpx.Response, status: int, code: str | None = None) -> Json:
        return assert_error(response, status, code)


@pytest.fixture(scope="session")
def raw() -> type[Raw]:
    return Raw


_http: httpx.Client | None = None


def http() -> httpx.Client:
    """One shared raw client (making an httpx.Client per request is slow)."""
    global _http
    if _http is None or _http.is_closed:
        _http = httpx.Client(timeout=30)
    return _http


def signed(base_url: str, key_id: str, secret: str, method: str, path: str,
           content: bytes = b"", ts_ms: int | None = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
    """Send one raw request signed by hand (path under /api/v1, query included)."""
    from foretell.client import sign

    full = "/api/v1" + path
    ts = ts_ms if ts_ms is not None else time.time_ns() // 1_000_000
    sig = sign(secret, ts, method, full, content)
    h = {"FT-Key": key_id, "FT-Timestamp": str(ts), "FT-Signature": sig,
         "Content-Type": "application/json", **(headers or {})}
    return http().request(method, base_url + full, content=content, headers=h)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> Json:
    """The response is the documented error shape with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body  # type: ignore[no-any-return]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "report_" + report.when, report)
    return report


@pytest.fixture(autouse=True)
def _server_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """When a test fails, print what the server logged during it (shown in the report)."""
    if "server" not in request.fixturenames:
        yield
        return
    srv: Server = request.getfixturevalue("server")
    start = srv.log_path.stat().st_size
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        with srv.log_path.open("rb") as f:
            f.seek(start)
            print("---- server log during the test ----")
            print(f.read().decode(errors="replace")[-8_000:])
