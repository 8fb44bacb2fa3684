"""Fixtures of the news suite. Every store test runs on SQLite, and on PostgreSQL too when
FORETELL_TEST_PG_URL is set (each test in its own schema, dropped afterwards).

`db` is a migrated, empty database; `exchange` puts markets in it the way the running system
does (engine commands, projected); `feeds` is a loopback HTTP server that serves feed files and
honours conditional requests; `desk` is a NewsDesk on `db` with a fixed clock and a hub stand-in
that records what would be pushed; `server` is a real uvicorn server running `create_app` in a
thread (demo off, on the test's backend), with users and their sessions made in its store
(no password hashing, which costs a second or more per user here).
"""

from __future__ import annotations

import email.utils
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from tests.databases import BACKENDS, Pool, new_pg_schema, pg_admin, pg_url
from tests.live import free_port

from foretell.api import routes_news
from foretell.app import create_app
from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.orders import BUY, LIMIT, NO, YES
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.engine.engine import Engine
from foretell.engine.views import touched_state
from foretell.news.desk import NewsDesk
from foretell.services import Services
from foretell.store import db as store_db
from foretell.store import schema as t
from foretell.store.projector import Projector

HERE = Path(__file__).resolve().parent
FEEDS_DIR = HERE / "feeds"
NOW_MS = 1_795_608_000_000  # 2026-11-25T12:00:00Z, the desk's fixed clock

# -- databases --------------------------------------------------------------------------------


@pytest.fixture
def db_url(backend: str, tmp_path: Path, _databases: Pool) -> Iterator[str]:
    """A migrated, empty database of its own (a copied SQLite file, or a pooled schema)."""
    if backend == "sqlite":
        yield _databases.sqlite(tmp_path)
        return
    schema = _databases.borrow_schema()
    try:
        yield pg_url(schema)
    finally:
        _databases.give_back(schema)


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = store_db.connect(db_url)
    yield engine
    engine.dispose()


# -- markets, as the engine and the projector make them ---------------------------------------

class Exchange:
    """A real engine whose outcomes are projected into `db` (markets, contracts, candles)."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self.engine = Engine()
        self.projector = Projector(db)
        self.seq = 0
        self.ts = NOW_MS - 86_400_000

    def do(self, command: cmd.Command) -> Any:
        code, value = self.engine.apply(command)
        events = self.engine.take_events()
        events += touched_state(self.engine, events)
        self.seq += 1
        assert code == "ok", (code, value)
        self.projector.apply([Outcome(self.seq, command, code, value, events)])
        return value

    def market(self, market_id: int, slug: str, question: str, tags: list[str],
               creator: int = 0, status: str | None = None) -> int:
        self.do(cmd.CreateMarket(self.ts, market_id, creator=creator, actor=creator, meta=json.dumps(
            {"slug": slug, "question": question, "category": "test", "tags": tags})))
        if status is not None:  # the read model is all linking looks at
            with self.db.begin() as conn:
                conn.execute(t.markets.update().where(t.markets.c.id == market_id)
                             .values(status=status))
        return market_id

    def trade(self, ts_ms: int, contract: int, yes_cents: int, size: int = 1) -> None:
        """Accounts 101 and 102 mint `size` pairs at `yes_cents` at `ts_ms`."""
        if 101 not in self.engine.accounts:
            for account in (101, 102):
                self.do(cmd.Deposit(ts_ms, account, 10_000 * MICRO))
        self.do(cmd.PlaceOrder(ts_ms, 101, contract, YES, BUY, size, yes_cents * 10_000, LIMIT))
        self.do(cmd.PlaceOrder(ts_ms, 102, contract, NO, BUY, size, (100 - yes_cents) * 10_000,
                               LIMIT))


@pytest.fixture
def exchange(db: sa.Engine) -> Exchange:
    return Exchange(db)


@pytest.fixture
def markets(exchange: Exchange) -> Exchange:
    """Three linkable markets and a settled one, for the linking rules:
    1 acme-ipo (tags acme, ipo; creator 7), 2 acme-series-c (acme, funding; creator 8),
    3 zenith-merger (banking, merger), 4 old-acme-ipo (ipo; settled, never auto-linked)."""
    exchange.market(1, "acme-ipo", "Will Acme Robotics list its shares on Nasdaq by June 2027?",
                    ["acme", "ipo"], creator=7)
    exchange.market(2, "acme-series-c",
                    "Will Acme Robotics close a Series C round at a valuation above $5B?",
                    ["acme", "funding"], creator=8)
    exchange.market(3, "zenith-merger",
                    "Will Zenith Bank complete its merger with Harbor Trust in 2026?",
                    ["banking", "merger"])
    exchange.market(4, "old-acme-ipo", "Did Acme Robotics file for an IPO in 2025?", ["ipo"],
                    status="settled")
    return exchange


# -- the desk ---------------------------------------------------------------------------------

@dataclass
class Clock:
    now_ms: int = NOW_MS

    def __call__(self) -> int:
        return self.now_ms


@dataclass
class Pushed:
    items: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, item: dict[str, Any]) -> None:
        self.items.append(item)

    def titles(self) -> list[str]:
        return [i["title"] for i in self.items]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pushed() -> Pushed:
    return Pushed()


@pytest.fixture
def desk(db: sa.Engine, clock: Clock, pushed: Pushed) -> NewsDesk:
    return NewsDesk(db, pushed, clock, fetch_timeout_s=2.0)


# -- a feed server on loopback ----------------------------------------------------------------

@dataclass
class Resource:
    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified_s: int | None = None  # honoured with If-Modified-Since


class FeedServer:
    """Serves `routes` (path -> Resource) and records every request's conditional headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Resource] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.versions = itertools.count(1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                res = server.routes.get(self.path)
                if res is None:
                    self.send_error(404)
                    return
                if res.status != 200:
                    self.send_response(res.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if _not_modified(res, headers):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", res.content_type)
                self.send_header("Content-Length", str(len(res.body)))
                if res.etag:
                    self.send_header("ETag", res.etag)
                if res.last_modified_s is not None:
                    self.send_header("Last-Modified",
                                     email.utils.formatdate(res.last_modified_s, usegmt=True))
                self.end_headers()
                self.wfile.write(res.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes | str, *, etag: bool = True,
              last_modified_s: int | None = None, **kw: Any) -> str:
        """Serve `body` at `path` (a new ETag per call unless etag=False); returns the URL."""
        data = body.encode() if isinstance(body, str) else body
        tag = f'"v{next(self.versions)}"' if etag else None
        self.routes[path] = Resource(data, etag=tag, last_modified_s=last_modified_s, **kw)
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _not_modified(res: Resource, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        return res.etag is not None and headers["if-none-match"] == res.etag
    since = headers.get("if-modified-since")
    if since and res.last_modified_s is not None:
        parsed = email.utils.parsedate_to_datetime(since)
        return res.last_modified_s <= int(parsed.timestamp())
    return False


@pytest.fixture(scope="session")
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def feed_file() -> Any:
    def read(name: str) -> str:
        return (FEEDS_DIR / name).read_text(encoding="utf-8")

    return read


# -- a real server ----------------------------------------------------------------------------

ROLES = {"root": "supervisor", "lena": "creator", "omar": "creator", "tara": "trader"}


@dataclass
class Server:
    base: str
    app: FastAPI
    svc: Services
    uvicorn: uvicorn.Server
    thread: threading.Thread
    users: dict[str, tuple[int, httpx.Client]]

    def as_(self, name: str) -> httpx.Client:
        return self.users[name][1]

    def uid(self, name: str) -> int:
        return self.users[name][0]

    def anonymous(self) -> httpx.Client:
        return self.users[""][1]


def _start(data: Path, database_url: str) -> Server:
    settings = Settings(data=data, database_url=database_url, demo=False, market_maker=False,
                        rate_per_s=100_000.0, rate_burst=100_000)
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/api/v1/news" for r in app.routes):
        app.include_router(routes_news.router, prefix="/api/v1")  # until app.py includes it
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="websockets-sansio", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    svc: Services = app.state.service
    base = f"http://127.0.0.1:{port}"
    users = {}
    for name, role in ROLES.items():  # users straight into the store: no password hashing
        with svc.db.begin() as conn:
            uid = conn.execute(t.users.insert().values(
                username=name, display_name=name.title(), email=None, password_hash="!",
                role=role, created_ms=svc.clock(), disabled=False)).inserted_primary_key[0]
        token, csrf = svc.accounts.new_session(uid)
        client = httpx.Client(base_url=base + "/api/v1", timeout=10,
                              cookies={"foretell_session": token},
                              headers={"x-csrf-token": csrf})
        users[name] = (int(uid), client)
    users[""] = (0, httpx.Client(base_url=base + "/api/v1", timeout=10))  # signed out
    return Server(base, app, svc, server, thread, users)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running server per module and backend (PostgreSQL: a schema of its own)."""
    schema = new_pg_schema() if request.param == "postgresql" else None
    running = _start(tmp_path_factory.mktemp("news-server") / "data",
                     pg_url(schema) if schema else "")
    try:
        yield running
    finally:
        for _, client in running.users.values():
            client.close()
        running.uvicorn.should_exit = True
        running.thread.join(15)
        if schema:
            pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
