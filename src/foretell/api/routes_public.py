"""Public market data: markets, books, trades, candles, tickers, server time."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from foretell.api import present
from foretell.api.auth import Principal
from foretell.api.deps import Anyone, Ascii, IdPath, Svc
from foretell.api.errors import ApiError
from foretell.domain import codes
from foretell.domain.markets import STATUS_NAMES
from foretell.news.store import annotate_candles, market_news
from foretell.service import Service
from foretell.store import queries

router = APIRouter(tags=["market data"])
INTERVALS = {"1m": 60, "1h": 3_600, "1d": 86_400}


@router.get("/time")
def server_time(svc: Service = Svc) -> dict[str, int]:
    """Server time in ms, for signing requests."""
    return {"server_time_ms": svc.clock()}


@router.get("/health")
async def health(svc: Service = Svc) -> dict[str, Any]:
    """Liveness and lag: the last sequenced, durable and projected (SQL) command numbers."""
    return svc.health()


@router.get("/markets")
def list_markets(status: str | None = Query(None, pattern="^(" + "|".join(STATUS_NAMES) + ")$"),
                 category: str | None = Query(None, max_length=64),
                 q: str | None = Query(None, max_length=100),
                 cursor: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
                 limit: Annotated[int, Query(ge=1, le=500), Ascii] = 50,
                 svc: Service = Svc, _: Any = Anyone) -> dict[str, Any]:
    with svc.db.connect() as conn:
        rows, next_cursor = queries.list_markets(conn, status=status, category=category,
                                                 search=q, cursor=cursor, limit=limit)
    return {"markets": present.rows(rows), "next_cursor": next_cursor}


@router.get("/markets/{ref}")
async def get_market(ref: str, svc: Service = Svc,
                     p: Principal | None = Anyone) -> dict[str, Any]:
    """A market by id or slug, with its rules, contracts and timeline."""
    if len(ref) > 100:
        raise ApiError(404, codes.UNKNOWN_MARKET)
    if p is not None:
        await svc.read_your_writes(p.user_id)
    numeric = ref.isascii() and ref.isdigit()
    if numeric and len(ref) > 15:
        raise ApiError(404, codes.UNKNOWN_MARKET)
    with svc.db.connect() as conn:
        market = queries.get_market(conn, int(ref) if numeric else ref)
        news = market_news(conn, market["id"]) if market is not None else []
    if market is None:
        raise ApiError(404, codes.UNKNOWN_MARKET)
    out = present.row(market)
    out["contracts"] = present.rows(market.get("contracts", []))
    out["news"] = news  # the latest linked news items, newest first
    return out


def _contract(svc: Service, contract_id: int) -> None:
    if contract_id not in svc.engine.contracts:
        raise ApiError(404, codes.UNKNOWN_CONTRACT)


@router.get("/contracts/{contract_id}/book")
def book(contract_id: IdPath, depth: Annotated[int, Query(ge=1, le=1_000), Ascii] = 100,
         svc: Service = Svc,
         _: Any = Anyone) -> dict[str, Any]:
    """Aggregated book in YES terms with the book seq and checksum shared with WebSocket."""
    _contract(svc, contract_id)
    return svc.book(contract_id, depth)


@router.get("/contracts/{contract_id}/trades")
def trades(contract_id: IdPath,
           cursor: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
           limit: Annotated[int, Query(ge=1, le=500), Ascii] = 100, svc: Service = Svc,
           _: Any = Anyone) -> dict[str, Any]:
    _contract(svc, contract_id)
    with svc.db.connect() as conn:
        rows, next_cursor = queries.trades(conn, contract_id, cursor=cursor, limit=limit)
    return {"trades": present.rows(rows), "next_cursor": next_cursor}


@router.get("/contracts/{contract_id}/candles")
def candles(contract_id: IdPath, interval: Literal["1m", "1h", "1d"] = "1h",
            start_ms: Annotated[int, Query(ge=0, le=2**53), Ascii] = 0,
            end_ms: Annotated[int, Query(ge=0, le=2**53), Ascii] = 2**53,
            svc: Service = Svc, _: Any = Anyone) -> dict[str, Any]:
    """Bars oldest first; each carries `news`: the market's news items published inside it
    ({id, title, published_ms}), for marking the chart."""
    _contract(svc, contract_id)
    market_id = svc.engine.contracts[contract_id].market.id
    with svc.db.connect() as conn:
        rows = present.rows(queries.candles(conn, contract_id, INTERVALS[interval], start_ms,
                                            end_ms))
        annotate_candles(conn, market_id, rows, INTERVALS[interval])
    return {"contract_id": contract_id, "interval": interval, "candles": rows}


@router.get("/contracts/{contract_id}/ticker")
def ticker(contract_id: IdPath, svc: Service = Svc, _: Any = Anyone) -> dict[str, Any]:
    _contract(svc, contract_id)
    with svc.db.connect() as conn:
        out = present.row(queries.ticker(conn, contract_id, svc.clock()) or {})
    book = svc.book(contract_id, 1)
    out["best_bid"] = book["bids"][0][0] if book["bids"] else None
    out["best_ask"] = book["asks"][0][0] if book["asks"] else None
    return out
