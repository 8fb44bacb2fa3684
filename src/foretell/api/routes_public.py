"""Public market data: markets, books, trades, candles, tickers, server time."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from foretell.api.deps import Anyone, Ascii, IdPath, Svc
from foretell.api.edge import book as edge_book
from foretell.api.edge import edge_of
from foretell.api.errors import ApiError
from foretell.domain import codes
from foretell.domain.markets import STATUS_NAMES
from foretell.news.store import annotate_candles, market_news
from foretell.services import Services, pools, present
from foretell.services.auth import Principal
from foretell.store import queries

router = APIRouter(tags=["market data"])
INTERVALS = {"1m": 60, "1h": 3_600, "1d": 86_400}


@router.get("/time")
def server_time(svc: Services = Svc) -> dict[str, int]:
    """Server time in ms, for signing requests."""
    return {"server_time_ms": svc.clock()}


@router.get("/health")
async def health(request: Request, svc: Services = Svc) -> dict[str, Any]:
    """Liveness and lag: the last sequenced, durable and projected (SQL) command numbers."""
    return svc.node.health() | {"ws_connections": len(edge_of(request).hub.connections)}


@router.get("/gateways", responses={200: {"content": {"application/json": {"example": {
    "self": "http://127.0.0.1:8001",
    "gateways": ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]}}}}})
def gateways(svc: Services = Svc) -> dict[str, Any]:
    """The public base URLs of the live gateways (`gateways`, this one included) and this
    one's (`self`). In cluster mode each gateway announces `FORETELL_PUBLIC_URL` (default
    http://host:port) every 2 s and drops off the list 10 s after its last announcement; the
    web pages move to another one from this list when theirs stops answering. A single node
    lists only itself."""
    return {"self": svc.settings.public_base_url, "gateways": svc.node.gateways()}


@router.get("/markets")
async def list_markets(request: Request,
                       status: str | None = Query(None, pattern="^(" + "|".join(STATUS_NAMES)
                                                  + ")$"),
                       category: str | None = Query(None, max_length=64),
                       q: str | None = Query(None, max_length=100),
                       cursor: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
                       limit: Annotated[int, Query(ge=1, le=500), Ascii] = 50,
                       svc: Services = Svc, _: Any = Anyone) -> dict[str, Any]:
    """Markets newest first. Each carries its `contracts` with their last price, best bid and
    ask (YES terms), the 24 h `change` and the reference `prev_day_price`, and the traded
    volume in shares and in USDC (`volume`: what the takers paid or received); the market's
    `volume` is the sum over its contracts. One request draws a whole market list."""
    def read() -> tuple[list[dict[str, Any]], int | None, dict[int, list[dict[str, Any]]]]:
        with svc.db.connect() as conn:
            rows, next_cursor = queries.list_markets(conn, status=status, category=category,
                                                     search=q, cursor=cursor, limit=limit)
            contracts = queries.market_contracts(conn, [r["id"] for r in rows], svc.clock())
        return rows, next_cursor, contracts

    rows, next_cursor, contracts = await svc.off_loop(read)  # then the books, on the loop
    edge = edge_of(request)
    markets = present.rows(rows)
    for market in markets:
        own = contracts.get(market["id"], [])
        listed = present.rows(own)
        for contract in listed:
            book = (edge_book(edge, contract["id"], 1)
                    if contract["id"] in svc.engine.contracts else {"bids": [], "asks": []})
            contract["best_bid"] = book["bids"][0][0] if book["bids"] else None
            contract["best_ask"] = book["asks"][0][0] if book["asks"] else None
        market["contracts"] = listed
        market["volume"] = present.amount(sum(c["volume_micro"] for c in own))
    return {"markets": markets, "next_cursor": next_cursor}


@router.get("/markets/{ref}")
async def get_market(ref: str, svc: Services = Svc,
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
        summary = (queries.market_contracts(conn, [market["id"]], svc.clock())
                   if market is not None else {})
    if market is None:
        raise ApiError(404, codes.UNKNOWN_MARKET)
    out = present.row(market)
    # Each contract also carries its 24 h change and its volume in USDC, as in the list.
    extra = {c["id"]: c for c in summary.get(market["id"], [])}
    out["contracts"] = present.rows([
        {**c, **{k: v for k, v in extra.get(c["id"], {}).items()
                 if k in ("prev_day_price_micro", "change_micro", "volume_micro")}}
        for c in market.get("contracts", [])])
    out["volume"] = present.amount(sum(c["volume_micro"] for c in extra.values()))
    out["news"] = news  # the latest linked news items, newest first
    return out


def _contract(svc: Services, contract_id: int) -> int:
    """The contract's market id (on the loop: the engine is read nowhere else)."""
    contract = svc.engine.contracts.get(contract_id)
    if contract is None:
        raise ApiError(404, codes.UNKNOWN_CONTRACT)
    return int(contract.market.id)


@router.get("/contracts/{contract_id}/book")
async def book(request: Request, contract_id: IdPath,
               depth: Annotated[int, Query(ge=1, le=1_000), Ascii] = 100, svc: Services = Svc,
               _: Any = Anyone) -> dict[str, Any]:
    """Aggregated book in YES terms with the book seq and checksum shared with WebSocket."""
    _contract(svc, contract_id)
    return pools.book_with_pool(svc.node, edge_book(edge_of(request), contract_id, depth),
                                contract_id, depth)


@router.get("/contracts/{contract_id}/trades")
async def trades(contract_id: IdPath,
           cursor: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
           limit: Annotated[int, Query(ge=1, le=500), Ascii] = 100, svc: Services = Svc,
           _: Any = Anyone) -> dict[str, Any]:
    _contract(svc, contract_id)

    def read() -> dict[str, Any]:
        with svc.db.connect() as conn:
            rows, next_cursor = queries.trades(conn, contract_id, cursor=cursor, limit=limit)
        return {"trades": present.rows(rows), "next_cursor": next_cursor}

    return await svc.off_loop(read)


@router.get("/contracts/{contract_id}/candles")
async def candles(contract_id: IdPath, interval: Literal["1m", "1h", "1d"] = "1h",
            start_ms: Annotated[int, Query(ge=0, le=2**53), Ascii] = 0,
            end_ms: Annotated[int, Query(ge=0, le=2**53), Ascii] = 2**53,
            svc: Services = Svc, _: Any = Anyone) -> dict[str, Any]:
    """Bars oldest first; each carries `news`: the market's news items published inside it
    ({id, title, published_ms}), for marking the chart."""
    market_id = _contract(svc, contract_id)

    def read() -> list[dict[str, Any]]:
        with svc.db.connect() as conn:
            rows = present.rows(queries.candles(conn, contract_id, INTERVALS[interval],
                                                start_ms, end_ms))
            annotate_candles(conn, market_id, rows, INTERVALS[interval])
        return rows

    return {"contract_id": contract_id, "interval": interval, "candles": await svc.off_loop(read)}


@router.get("/contracts/{contract_id}/ticker")
async def ticker(request: Request, contract_id: IdPath, svc: Services = Svc,
                 _: Any = Anyone) -> dict[str, Any]:
    _contract(svc, contract_id)

    def read() -> dict[str, Any]:
        with svc.db.connect() as conn:
            return present.row(queries.ticker(conn, contract_id, svc.clock()) or {})

    out = await svc.off_loop(read)
    book = edge_book(edge_of(request), contract_id, 1)  # on the loop, with the hub
    out["best_bid"] = book["bids"][0][0] if book["bids"] else None
    out["best_ask"] = book["asks"][0][0] if book["asks"] else None
    return out
