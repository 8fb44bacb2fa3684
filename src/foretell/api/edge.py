"""What the HTTP and WebSocket edge keeps beside the application: the WebSocket hub (fan-out of
durable events and the durable copy of every book), per-principal rate limits, the signed-request
replay guard and the login limits. Built once per app, kept in `app.state.edge`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.requests import HTTPConnection

from foretell.api.auth import LoginLimiter, ReplayGuard, TokenBucket
from foretell.api.hub import Book, Hub
from foretell.engine.views import book_depth
from foretell.services import Services
from foretell.store import queries

log = logging.getLogger(__name__)
ticker_refresh_s = 60.0  # how often the tickers' 24 h references are read again
ticker_retry_s = 1.0  # the startup read, again after a failure


@dataclass
class Edge:
    hub: Hub
    limiter: TokenBucket
    replays: ReplayGuard
    login_limits: LoginLimiter


def build_edge(svc: Services) -> Edge:
    """The edge of a service that is not serving yet; `serve` starts its hub."""
    settings = svc.settings
    return Edge(hub=Hub(settings.ws_ip_subscribe_per_s, settings.ws_ip_subscribe_burst),
                limiter=TokenBucket(settings.rate_per_s, settings.rate_burst),
                replays=ReplayGuard(settings.signature_window_ms, started_ms=svc.clock()),
                login_limits=LoginLimiter())


def serve(edge: Edge, svc: Services) -> None:
    """On the serving loop: the hub's books start from the engine, then every durable outcome
    and every news item is fanned out, and credentials that go away downgrade their sockets."""
    hub = edge.hub
    for contract_id in svc.engine.contracts:
        bids, asks = book_depth(svc.engine, contract_id)
        book = Book(seq=svc.pipeline.book_seq.get(contract_id, 0))
        book.bids, book.asks = dict(bids), dict(asks)
        hub.books[contract_id] = book
    hub.seq = svc.pipeline.committer.durable_seq
    hub.clock = svc.clock
    svc.node.publish_listeners.insert(0, hub.publish)  # first: the fan-out before anything else
    svc.news_listeners.append(hub.publish_news)
    svc.accounts.credential_listeners.append(hub.revoke)
    svc.accounts.account_listeners.append(hub.account_changed)


async def run_tickers(edge: Edge, svc: Services) -> None:
    """The tickers' store data, read off the loop: at startup the last price and volumes with
    the seq they reflect, and the 24 h references (retried until the store answers); then the
    references every `ticker_refresh_s`, as the 24 h window slides. A task of the app."""
    hub = edge.hub
    while True:
        try:
            store_seq, base, references = await svc.off_loop(
                functools.partial(_ticker_start, svc.db, svc.clock()))
        except Exception:
            log.exception("reading the tickers' start failed; trying again")
            await asyncio.sleep(ticker_retry_s)
            continue
        hub.load_tickers(store_seq, base, references)
        break
    while True:
        await asyncio.sleep(ticker_refresh_s)
        try:
            references = await svc.off_loop(
                functools.partial(_ticker_references, svc.db, svc.clock()))
        except Exception:
            log.exception("reading the tickers' 24 h references failed")
            continue
        hub.refresh_references(references)


def _ticker_start(db: sa.Engine, now_ms: int
                  ) -> tuple[int, dict[int, tuple[int | None, int, int]], dict[int, int]]:
    with db.connect() as conn:
        seq, base = queries.ticker_base(conn, now_ms)
        return seq, base, queries.day_references(conn, now_ms)


def _ticker_references(db: sa.Engine, now_ms: int) -> dict[int, int]:
    with db.connect() as conn:
        return queries.day_references(conn, now_ms)


def edge_of(conn: HTTPConnection) -> Edge:
    found: Edge = conn.app.state.edge
    return found


def book(edge: Edge, contract_id: int, depth: int) -> dict[str, Any]:
    """The REST book of a known contract (the caller checked it exists): the hub's durable
    copy, the same the WebSocket serves (seq, checksum)."""
    return edge.hub.books.setdefault(contract_id, Book()).snapshot(contract_id, depth)
