"""The app factory: one place that builds the whole running exchange."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from fastapi import FastAPI

from foretell.api import (
    errors,
    routes_account,
    routes_admin,
    routes_creators,
    routes_funding,
    routes_news,
    routes_pools,
    routes_public,
    routes_trading,
    ws,
)
from foretell.api.body_timeout import BodyTimeoutMiddleware
from foretell.api.edge import Edge, build_edge, run_tickers
from foretell.api.edge import serve as serve_edge
from foretell.api.fastpath import OrderFastPath
from foretell.config import Settings
from foretell.exchange.node import Node
from foretell.journal.log import JournalFailed
from foretell.services import Services

log = logging.getLogger(__name__)
tick_interval_s = 0.1
heartbeat_interval_s = 5.0
gc_freeze_interval_s = 600.0


def create_app(settings: Settings | None = None,
               on_ready: Callable[[str | None], None] | None = None,
               node: Callable[[Settings], Node] | None = None) -> FastAPI:
    """`on_ready` is called once the exchange is ready to serve, with the demo's state:
    "loaded" (now), "present" (by an earlier start) or None (demo off, or not a demo exchange).
    `node` builds the node the app serves from (default: the single-node one; cluster mode
    passes a gateway's)."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Acks wait on the journal writer thread: let it take the GIL within 0.5 ms rather
        # than the default 5 ms, or every durable answer pays that wait.
        sys.setswitchinterval(0.0005)
        # The application (node + verbs), then the edge around it, both serving from this loop.
        svc = Services(settings, node=node(settings) if node is not None else None)
        app.state.service = svc
        svc.attach(asyncio.get_running_loop())
        await svc.node.start()
        app.state.edge = edge = build_edge(svc)
        serve_edge(edge, svc)
        if svc.node.clustered:  # news pushed, credentials revoked, accounts suspended on one
            # gateway reach all of them
            from foretell.cluster import news as cluster_news
            from foretell.cluster import notices as cluster_notices

            await cluster_news.share(svc.news_listeners, svc.node.cluster)  # type: ignore[attr-defined]
            await cluster_notices.share(svc.accounts, svc.node.cluster)  # type: ignore[attr-defined]
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(run_tickers(edge, svc))]
        demo: str | None = None
        if settings.demo and svc.node.clustered:
            from foretell.demo import cluster as cluster_demo

            # Loaded once into the cluster by whichever gateway holds the demo job, in the
            # background; the market maker is a singleton job too.
            tasks += cluster_demo.start(svc)
        elif settings.demo:
            from foretell.demo.loader import ensure_demo, run_market_maker

            # Loads the demo on a first start, or finishes a load a crash interrupted.
            demo = await ensure_demo(svc)
            from foretell.demo.news import load_demo_news

            await load_demo_news(svc)
        from foretell.chain import runner as chain
        from foretell.news.desk import run_poller

        _freeze_heap()
        tasks += [asyncio.create_task(_every(tick_interval_s, svc.tick)),
                  asyncio.create_task(_every(gc_freeze_interval_s, _freeze)),
                  asyncio.create_task(_every(heartbeat_interval_s, _heartbeat(edge))),
                  svc.node.singleton("news", partial(run_poller, svc))]
        tasks += await chain.start(svc, app.state)  # real USDC, when configured
        if demo is not None and settings.market_maker:
            tasks.append(asyncio.create_task(run_market_maker(svc)))
        if on_ready is not None:
            on_ready(demo)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await svc.node.stop()
            try:
                svc.close()
            except JournalFailed:  # reported when it happened; every waiter got its 503
                log.error("stopped with a failed journal: commands after the last durable "
                          "seq were never acknowledged")

    # /docs is served by the web pages from local files: FastAPI's own loads Swagger from a CDN.
    app = FastAPI(title="Foretell", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Prediction-market exchange: REST and WebSocket API. Prices are "
                  "decimal strings in USDC per share, amounts decimal USDC strings, sizes "
                  "whole shares. Errors: {\"error\": {\"code\", \"message\", \"details\"}}.",
                  **_no_telemetry())
    errors.install(app)
    app.add_middleware(OrderFastPath)
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.body_timeout_s)  # outermost

    # Trading first: routes are matched in order, and order entry is the busiest path.
    for router in (routes_trading.router, routes_public.router, routes_account.router,
                   routes_admin.router, routes_creators.router, routes_news.router, ws.router,
                   routes_funding.router, routes_pools.router):
        app.include_router(router, prefix="/api/v1")
    from foretell.web import pages as web_pages

    app.include_router(web_pages.router)
    web_pages.mount_static(app)
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that every launch of the app must share: forwarded headers are believed
    only from `settings.trusted_proxies` (uvicorn would otherwise trust them from 127.0.0.1,
    and anyone on loopback could then rotate X-Forwarded-For past the per-address limits)."""
    proxies = settings.trusted_proxies
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None,
            "ws_max_size": 65_536, "ws_per_message_deflate": settings.ws_deflate}


async def _every(interval_s: float, work: Any) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await work()
        except Exception:  # periodic work must survive a bad tick
            log.exception("periodic task failed")


def _heartbeat(edge: Edge) -> Any:
    async def beat() -> None:
        edge.hub.heartbeat()

    return beat


def _freeze_heap() -> None:
    """Collect, then move every object alive out of the cyclic collector's reach.

    The engine's state (orders, accounts, books) lives long and is freed by reference counting;
    left in the collector's oldest generation, each full collection walks all of it (50-90 ms
    pauses with a busy book, seen as ack p99). Frozen objects are never walked. Collecting
    first means no garbage is frozen; a cycle alive now that dies later waits for the next
    refreeze, which unfreezes and collects everything (one full pause every few minutes).
    Young collections run every 10,000 net allocations instead of 700, full ones 100x rarer.
    """
    gc.set_threshold(10_000, 20, 100)
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def _freeze() -> None:
    _freeze_heap()


def _no_telemetry() -> dict[str, Any]:
    """FastAPI 0.16x traces every request with OpenTelemetry unless told not to: with no exporter
    configured that is pure overhead (about a tenth of an order's CPU). Older versions lack it."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False,
                          "operation_spans": False}}
