"""Read functions over the projected tables, for the REST API and the web UI.

Every function takes an Engine or a Connection and returns plain dicts (JSON text columns
decoded). Lists are cursor-paginated by id, newest first: pass the returned `next_cursor` back
as `cursor` to get the next page; it is None on the last page. `limit` is clamped to 1..500.
Money stays int micro-USDC; formatting to decimal strings is the API's job
(`foretell.domain.units.format_micro`).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from foretell.domain.units import MICRO
from foretell.store import schema as t

Db = sa.Engine | sa.Connection
Row = dict[str, Any]
Page = tuple[list[Row], int | None]

limit_max = 500
candles_max = 5_000
day_ms = 86_400_000
_JSON_COLUMNS = ("tags", "outcomes", "rules")


def _rows(db: Db, stmt: sa.Executable) -> list[Row]:
    if isinstance(db, sa.Engine):
        with db.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]
    return [dict(r) for r in db.execute(stmt).mappings()]


def _one(db: Db, stmt: sa.Executable) -> Row | None:
    rows = _rows(db, stmt)
    return rows[0] if rows else None


def _clamp(limit: int, top: int = limit_max) -> int:
    return max(1, min(int(limit), top))


def _page(db: Db, stmt: sa.Select[Any], id_col: sa.ColumnElement[int], cursor: int | None,
          limit: int) -> Page:
    """Newest first: rows with id < cursor, and the cursor of the next page if there is one."""
    limit = _clamp(limit)
    if cursor is not None:
        stmt = stmt.where(id_col < cursor)
    rows = _rows(db, stmt.order_by(id_col.desc()).limit(limit + 1))
    if len(rows) > limit:
        return rows[:limit], int(rows[limit - 1]["id"])
    return rows, None


def _decode(row: Row) -> Row:
    for name in _JSON_COLUMNS:
        if name in row and isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row


def last_seq(db: Db) -> int:
    """The journal seq the read model reflects (compare with the pipeline's to see the lag)."""
    value = _one(db, sa.select(t.projector_state.c.last_seq).where(t.projector_state.c.id == 1))
    return int(value["last_seq"]) if value else 0


# -- markets ----------------------------------------------------------------------------------

def list_markets(db: Db, status: str | None = None, category: str | None = None,
                 search: str | None = None, cursor: int | None = None,
                 limit: int = 50) -> Page:
    m = t.markets.c
    stmt = sa.select(t.markets)
    if status:
        stmt = stmt.where(m.status == status)
    if category:
        stmt = stmt.where(m.category == category)
    if search:
        stmt = stmt.where(sa.or_(m.question.icontains(search, autoescape=True),
                                 m.tags.icontains(search, autoescape=True)))
    rows, nxt = _page(db, stmt, m.id, cursor, limit)
    return [_decode(r) for r in rows], nxt


def market_contracts(db: Db, market_ids: list[int], now_ms: int) -> dict[int, list[Row]]:
    """The contracts of many markets at once, for the market list, each with its last price,
    the reference price 24 h ago (as `ticker` defines it), its share volume and its dollar
    volume (`volume_micro`: what the takers paid or received, in the taker's own outcome
    terms). A handful of queries for the whole page, not a few per contract."""
    if not market_ids:
        return {}
    k = t.contracts.c
    contracts = _rows(db, sa.select(k.id, k.market_id, k.idx, k.name, k.last_price_micro,
                                    k.volume_shares)
                      .where(k.market_id.in_(market_ids)).order_by(k.market_id, k.idx))
    ids = [c["id"] for c in contracts]
    if not ids:
        return {}
    before, first_open = _day_references(db, now_ms, ids)
    dollars = {r["contract_id"]: int(r["volume_micro"] or 0) for r in _rows(db, (
        sa.select(t.trades.c.contract_id, sa.func.sum(_taker_dollars()).label("volume_micro"))
        .where(t.trades.c.contract_id.in_(ids)).group_by(t.trades.c.contract_id)))}
    out: dict[int, list[Row]] = {}
    for row in contracts:
        cid = row["id"]
        reference = before.get(cid, first_open.get(cid))
        last = row["last_price_micro"]
        row["prev_day_price_micro"] = reference
        row["change_micro"] = (last - reference
                               if last is not None and reference is not None else None)
        row["volume_micro"] = dollars.get(cid, 0)
        out.setdefault(row["market_id"], []).append(row)
    return out


def _taker_dollars() -> sa.ColumnElement[int]:
    """A trade's dollar volume: what the taker paid or received, in its own outcome's terms."""
    tr = t.trades.c
    own = sa.case((tr.taker_side.in_(("buy_no", "sell_no")), MICRO - tr.yes_price_micro),
                  else_=tr.yes_price_micro)
    return own * tr.size


def _day_references(db: Db, now_ms: int, ids: list[int] | None
                    ) -> tuple[dict[int, int], dict[int, int]]:
    """Per contract (of `ids`, or every contract): the close of the last 1-minute bar before
    the 24 h window (which starts on a minute), and the open of the first bar inside it. The
    reference price is the first if there is one, else the second (as `ticker` defines it)."""
    c = t.candles.c
    window_ms = now_ms - day_ms
    window_ms -= window_ms % 60_000
    minute = c.interval_s == 60
    if ids is not None:
        minute = sa.and_(c.contract_id.in_(ids), minute)
    # The close of the last bar before the window, per contract.
    last_before = (sa.select(c.contract_id, sa.func.max(c.start_ms).label("start_ms"))
                   .where(minute, c.start_ms < window_ms).group_by(c.contract_id).subquery())
    before = {r["contract_id"]: r["close_micro"] for r in _rows(db, (
        sa.select(c.contract_id, c.close_micro)
        .join(last_before, sa.and_(c.contract_id == last_before.c.contract_id,
                                   c.start_ms == last_before.c.start_ms))
        .where(c.interval_s == 60)))}
    # Else the open of the first bar inside the window.
    first_in = (sa.select(c.contract_id, sa.func.min(c.start_ms).label("start_ms"))
                .where(minute, c.start_ms >= window_ms).group_by(c.contract_id).subquery())
    first_open = {r["contract_id"]: r["open_micro"] for r in _rows(db, (
        sa.select(c.contract_id, c.open_micro)
        .join(first_in, sa.and_(c.contract_id == first_in.c.contract_id,
                                c.start_ms == first_in.c.start_ms))
        .where(c.interval_s == 60)))}
    return before, first_open


def day_references(db: Db, now_ms: int) -> dict[int, int]:
    """The 24 h reference price of every contract that has one (see `market_contracts`);
    contracts without a 1-minute bar are absent. For the WebSocket ticker's periodic refresh."""
    before, first_open = _day_references(db, now_ms, None)
    return first_open | before


def ticker_base(db: Db, now_ms: int) -> tuple[int, dict[int, tuple[int | None, int, int]]]:
    """The WebSocket ticker's starting point: the journal seq the store reflects, and per
    contract (last YES price, dollar volume in micro-USDC, share volume) as of that seq, as
    `market_contracts` defines them. One statement, so the seq and the totals are one
    snapshot (the hub adds the fills it published after that seq). References: use
    `day_references`."""
    k, tr = t.contracts.c, t.trades.c
    dollars = (sa.select(sa.func.coalesce(sa.func.sum(_taker_dollars()), 0))
               .where(tr.contract_id == k.id).scalar_subquery())
    seq = (sa.select(t.projector_state.c.last_seq).where(t.projector_state.c.id == 1)
           .scalar_subquery())
    rows = _rows(db, sa.select(k.id, k.last_price_micro, k.volume_shares,
                               dollars.label("volume_micro"), seq.label("seq")))
    totals = {r["id"]: (r["last_price_micro"], int(r["volume_micro"]), int(r["volume_shares"]))
              for r in rows}
    if rows:
        return int(rows[0]["seq"] or 0), totals
    return last_seq(db), totals


def get_market(db: Db, market: int | str) -> Row | None:
    """A market by id (int) or slug (str), with its contracts and its timeline (status
    changes, lifecycle actions with their text, e.g. clarifications, and resolution proposals,
    oldest first)."""
    m = t.markets.c
    key = m.id == market if isinstance(market, int) else m.slug == market
    row = _one(db, sa.select(t.markets).where(key))
    if row is None:
        return None
    row = _decode(row)
    row["contracts"] = _rows(db, sa.select(t.contracts)
                             .where(t.contracts.c.market_id == row["id"])
                             .order_by(t.contracts.c.idx))
    e = t.market_events.c
    row["timeline"] = _rows(db, sa.select(e.id, e.seq, e.ts_ms, e.kind, e.status, e.action,
                                          e.actor, e.reason, e.text)
                            .where(e.market_id == row["id"]).order_by(e.id))
    return row


def get_contract(db: Db, contract_id: int) -> Row | None:
    return _one(db, sa.select(t.contracts).where(t.contracts.c.id == contract_id))


# -- market data ------------------------------------------------------------------------------

def trades(db: Db, contract_id: int, cursor: int | None = None, limit: int = 100) -> Page:
    """The public tape of one contract, YES-terms prices, newest first."""
    stmt = sa.select(t.trades).where(t.trades.c.contract_id == contract_id)
    return _page(db, stmt, t.trades.c.id, cursor, limit)


def candles(db: Db, contract_id: int, interval_s: int, start_ms: int, end_ms: int,
            limit: int = 1_000) -> list[Row]:
    """Bars with start_ms in [start_ms, end_ms), oldest first (at most 5,000). Intervals
    without trades have no bar: the chart carries the previous close forward."""
    if interval_s not in t.CANDLE_INTERVALS_S:
        raise ValueError(f"interval_s must be one of {t.CANDLE_INTERVALS_S}")
    c = t.candles.c
    stmt = (sa.select(c.start_ms, c.open_micro, c.high_micro, c.low_micro, c.close_micro,
                      c.volume_shares, c.trades)
            .where(c.contract_id == contract_id, c.interval_s == interval_s,
                   c.start_ms >= start_ms, c.start_ms < end_ms)
            .order_by(c.start_ms).limit(_clamp(limit, candles_max)))
    return _rows(db, stmt)


def ticker(db: Db, contract_id: int, now_ms: int) -> Row | None:
    """Last price and the 24 h change, range and volume, from 1-minute bars (to the minute).

    The reference price is the close of the last bar before the window, or the first open in
    the window when the contract had not traded before it.
    """
    contract = get_contract(db, contract_id)
    if contract is None:
        return None
    c = t.candles.c
    window_ms = now_ms - day_ms
    window_ms -= window_ms % 60_000
    minute = sa.and_(c.contract_id == contract_id, c.interval_s == 60)
    day = _one(db, sa.select(sa.func.sum(c.volume_shares).label("volume"),
                             sa.func.sum(c.trades).label("trades"),
                             sa.func.max(c.high_micro).label("high"),
                             sa.func.min(c.low_micro).label("low"))
               .where(minute, c.start_ms >= window_ms, c.start_ms <= now_ms)) or {}
    before = _one(db, sa.select(c.close_micro).where(minute, c.start_ms < window_ms)
                  .order_by(c.start_ms.desc()).limit(1))
    if before is None:
        before = _one(db, sa.select(c.open_micro.label("close_micro"))
                      .where(minute, c.start_ms >= window_ms).order_by(c.start_ms).limit(1))
    last = contract["last_price_micro"]
    reference = before["close_micro"] if before else None
    return {
        "contract_id": contract_id,
        "last_price_micro": last,
        "prev_day_price_micro": reference,
        "change_micro": last - reference if last is not None and reference is not None else None,
        "high_24h_micro": day.get("high"),
        "low_24h_micro": day.get("low"),
        "volume_24h_shares": int(day.get("volume") or 0),
        "trades_24h": int(day.get("trades") or 0),
        "volume_shares": contract["volume_shares"],
    }


# -- an account's orders and fills ------------------------------------------------------------

def orders(db: Db, account_id: int, status: str | None = None, market_id: int | None = None,
           cursor: int | None = None, limit: int = 50) -> Page:
    o = t.orders.c
    stmt = sa.select(t.orders).where(o.account_id == account_id)
    if status:
        stmt = stmt.where(o.status == status)
    if market_id is not None:
        stmt = stmt.where(o.market_id == market_id)
    return _page(db, stmt, o.id, cursor, limit)


def get_order(db: Db, account_id: int, order_id: int) -> Row | None:
    """The order, or None if it does not exist or belongs to another account."""
    o = t.orders.c
    return _one(db, sa.select(t.orders).where(o.id == order_id, o.account_id == account_id))


def order_by_client_id(db: Db, account_id: int, client_id: str) -> Row | None:
    """The latest order of the account with this client order id."""
    o = t.orders.c
    return _one(db, sa.select(t.orders)
                .where(o.account_id == account_id, o.client_id == client_id)
                .order_by(o.id.desc()).limit(1))


def rejections(db: Db, account_id: int, cursor: int | None = None, limit: int = 50) -> Page:
    r = t.order_rejections.c
    stmt = sa.select(t.order_rejections).where(r.account_id == account_id)
    return _page(db, stmt, r.id, cursor, limit)


def fills(db: Db, account_id: int, cursor: int | None = None, limit: int = 100,
          order_id: int | None = None) -> Page:
    """The account's side of each trade: own-terms price, fee, maker or taker."""
    f = t.fills.c
    stmt = sa.select(t.fills).where(f.account_id == account_id)
    if order_id is not None:
        stmt = stmt.where(f.order_id == order_id)
    return _page(db, stmt, f.id, cursor, limit)


def triggers(db: Db, account_id: int, status: str | None = None, cursor: int | None = None,
             limit: int = 50) -> Page:
    g = t.triggers.c
    stmt = sa.select(t.triggers).where(g.account_id == account_id)
    if status:
        stmt = stmt.where(g.status == status)
    return _page(db, stmt, g.id, cursor, limit)


# -- an account's money -----------------------------------------------------------------------

def positions(db: Db, account_id: int, open_only: bool = False) -> list[Row]:
    """Positions with average cost per side, realized P&L and a mark at the last trade."""
    p, c, m = t.positions.c, t.contracts.c, t.markets.c
    stmt = (sa.select(t.positions, c.market_id, c.idx, c.name, c.last_price_micro,
                      m.slug, m.question, m.status.label("market_status"))
            .join(t.contracts, c.id == p.contract_id)
            .join(t.markets, m.id == c.market_id)
            .where(p.account_id == account_id)
            .order_by(p.contract_id))
    if open_only:
        stmt = stmt.where(sa.or_(p.yes_shares > 0, p.no_shares > 0))
    return [_with_marks(r) for r in _rows(db, stmt)]


def _with_marks(r: Row) -> Row:
    yes, no = r["yes_shares"], r["no_shares"]
    r["avg_yes_cost_micro"] = r["yes_cost_micro"] // yes if yes else None
    r["avg_no_cost_micro"] = r["no_cost_micro"] // no if no else None
    last = r["last_price_micro"]
    if last is None or not (yes or no):
        r["mark_value_micro"] = None if yes or no else 0
        r["unrealized_pnl_micro"] = None if yes or no else 0
    else:
        r["mark_value_micro"] = yes * last + no * (MICRO - last)
        r["unrealized_pnl_micro"] = r["mark_value_micro"] - r["cost_micro"]
    return r


def balance(db: Db, account_id: int) -> Row:
    """Free and reserved cash; zeros for an account the engine has not seen."""
    row = _one(db, sa.select(t.balances).where(t.balances.c.account_id == account_id))
    if row is None:
        row = {"account_id": account_id, "free_micro": 0, "reserved_micro": 0,
               "updated_ms": None, "updated_seq": None}
    row["total_micro"] = row["free_micro"] + row["reserved_micro"]
    return row


def settlements(db: Db, account_id: int, cursor: int | None = None, limit: int = 100) -> Page:
    s = t.settlements.c
    stmt = sa.select(t.settlements).where(s.account_id == account_id)
    return _page(db, stmt, s.id, cursor, limit)


def cash_movements(db: Db, account_id: int, cursor: int | None = None,
                   limit: int = 100) -> Page:
    k = t.cash_movements.c
    stmt = sa.select(t.cash_movements).where(k.account_id == account_id)
    return _page(db, stmt, k.id, cursor, limit)
