"""What the HTTP and WebSocket edge keeps beside the application: the WebSocket hub (fan-out of
durable events and the durable copy of every book), per-principal rate limits, the signed-request
replay guard and the login limits. Built once per app, kept in `app.state.edge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from foretell.api.auth import LoginLimiter, ReplayGuard, TokenBucket
from foretell.api.hub import Book, Hub
from foretell.domain import codes
from foretell.domain.codes import refused
from foretell.engine.views import book_depth
from foretell.services import Services


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
    svc.node.publish_listeners.insert(0, hub.publish)  # before risk reacts to the same fills
    svc.news_listeners.append(hub.publish_news)
    svc.accounts.credential_listeners.append(hub.revoke)
    svc.accounts.account_listeners.append(hub.account_changed)


def edge_of(conn: HTTPConnection) -> Edge:
    found: Edge = conn.app.state.edge
    return found


def book(edge: Edge, svc: Services, contract_id: int, depth: int) -> dict[str, Any]:
    """The REST book: the hub's durable copy, the same the WebSocket serves (seq, checksum)."""
    if contract_id not in svc.engine.contracts:
        raise refused(codes.UNKNOWN_CONTRACT)
    return edge.hub.books.setdefault(contract_id, Book()).snapshot(contract_id, depth)
