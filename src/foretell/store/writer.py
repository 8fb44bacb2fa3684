"""Write one `Batch` into the database, inside the caller's transaction.

Order matters only for references: markets before contracts, trades before the fills that
name them, inserts before the delta updates that may touch the same rows. Everything is an
executemany; candles, balances and positions of accounts seen before are upserts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from foretell.store import schema as t
from foretell.store.batch import Batch, PositionState
from foretell.store.sqlutil import (
    Row,
    greatest,
    insert_returning_ids,
    insert_rows,
    least,
    select_by_keys,
    update_many,
    upsert,
)

_ORDER_MUTABLE = ("id", "price_micro", "filled", "remaining", "status", "reason", "trigger_id",
                  "notional_micro", "fees_micro", "updated_ms", "updated_seq")


def write(conn: sa.Connection, b: Batch) -> None:
    _markets(conn, b)
    _orders(conn, b)
    _trades(conn, b)
    _ledger(conn, b)
    _triggers(conn, b)
    _risk(conn, b)


def _markets(conn: sa.Connection, b: Batch) -> None:
    rows = list(b.new_markets.values())
    _unique_slugs(conn, rows)
    insert_rows(conn, t.markets, rows)
    insert_rows(conn, t.contracts, b.new_contracts)
    update_many(conn, t.markets, "id", b.market_updates.values())
    if b.winner_from_proposal:
        m = t.markets
        conn.execute(m.update().where(m.c.id == sa.bindparam("b_id"))
                     .values(winner=m.c.proposed_winner),
                     [{"b_id": market} for market in sorted(b.winner_from_proposal)])
    if b.contract_names:
        c = t.contracts
        conn.execute(c.update().where(c.c.market_id == sa.bindparam("b_market_id"),
                                      c.c.idx == sa.bindparam("b_idx"))
                     .values(name=sa.bindparam("b_name")),
                     [{f"b_{k}": v for k, v in row.items()} for row in b.contract_names])
    insert_rows(conn, t.market_events, b.market_events)
    if b.market_deltas:
        m = t.markets
        conn.execute(
            m.update().where(m.c.id == sa.bindparam("b_id")).values(
                volume_shares=m.c.volume_shares + sa.bindparam("b_volume"),
                fees_micro=m.c.fees_micro + sa.bindparam("b_fees"),
                updated_ms=greatest(m.c.updated_ms, sa.bindparam("b_ts"))),
            [{"b_id": k, "b_volume": v, "b_fees": f, "b_ts": ts}
             for k, (v, f, ts) in b.market_deltas.items()])
    if b.contract_deltas:
        c = t.contracts
        conn.execute(
            c.update().where(c.c.id == sa.bindparam("b_id")).values(
                last_price_micro=sa.bindparam("b_price"),
                volume_shares=c.c.volume_shares + sa.bindparam("b_volume")),
            [{"b_id": k, "b_price": p, "b_volume": v}
             for k, (p, v) in b.contract_deltas.items()])


def _unique_slugs(conn: sa.Connection, rows: list[Row]) -> None:
    """A slug already taken (or repeated in the batch) gets the market id appended."""
    if not rows:
        return
    wanted = sorted({(r["slug"],) for r in rows})
    taken = {r["slug"] for r in select_by_keys(conn, t.markets, ("slug",), wanted)}
    for r in rows:
        if r["slug"] in taken:
            r["slug"] = f"{r['slug'][:100]}-{r['id']}"
        taken.add(r["slug"])


def _orders(conn: sa.Connection, b: Batch) -> None:
    # Changed orders are whole rows (loaded before the batch), so new and changed ones go out
    # as one multi-row upsert instead of a round trip per UPDATE.
    rows = [b.orders[i] for i in sorted(b.new_orders | b.dirty_orders)]
    upsert(conn, t.orders, ("id",), rows,
           merge=lambda table, new: {k: new[k] for k in _ORDER_MUTABLE if k != "id"})
    insert_rows(conn, t.order_rejections, b.rejections)


def _trades(conn: sa.Connection, b: Batch) -> None:
    if not b.trades:
        return
    ids = insert_returning_ids(conn, t.trades, b.trades)
    insert_rows(conn, t.fills, [{"trade_id": ids[i], **row} for i, row in b.fills])
    upsert(conn, t.candles, ("contract_id", "interval_s", "start_ms"), [
        {"contract_id": c, "interval_s": i, "start_ms": s, "open_micro": o, "high_micro": h,
         "low_micro": lo, "close_micro": cl, "volume_shares": v, "trades": n}
        for (c, i, s), (o, h, lo, cl, v, n) in b.candles.items()
    ], merge=_merge_candle)


def _merge_candle(table: sa.Table, new: Any) -> dict[str, Any]:
    """A bar seen in an earlier batch keeps its open and folds in this batch's trades."""
    c = table.c
    return {
        "high_micro": greatest(c.high_micro, new.high_micro),
        "low_micro": least(c.low_micro, new.low_micro),
        "close_micro": new.close_micro,
        "volume_shares": c.volume_shares + new.volume_shares,
        "trades": c.trades + new.trades,
    }


def _ledger(conn: sa.Connection, b: Batch) -> None:
    upsert(conn, t.balances, ("account_id",), list(b.balances.values()))
    # A position that never held anything (an order placed and cancelled) gets no row.
    rows = [_position_row(account, contract, p)
            for (account, contract), p in sorted(b.positions.items())
            if p.dirty and (p.exists or p.yes_reserved or p.no_reserved or not p.holding.empty)]
    upsert(conn, t.positions, ("account_id", "contract_id"), rows)
    insert_rows(conn, t.cash_movements, b.cash)
    insert_rows(conn, t.settlements, b.settlements)


def _position_row(account: int, contract: int, p: PositionState) -> Row:
    h = p.holding
    return {
        "account_id": account, "contract_id": contract,
        "yes_shares": h.yes_shares, "no_shares": h.no_shares,
        "yes_reserved": p.yes_reserved, "no_reserved": p.no_reserved,
        "yes_cost_micro": h.yes_cost_micro, "no_cost_micro": h.no_cost_micro,
        "cost_micro": h.yes_cost_micro + h.no_cost_micro,
        "realized_pnl_micro": h.realized_pnl_micro,
        "updated_ms": p.ts_ms, "updated_seq": p.seq,
    }


def _triggers(conn: sa.Connection, b: Batch) -> None:
    insert_rows(conn, t.triggers, list(b.new_triggers.values()))
    update_many(conn, t.triggers, "id", b.trigger_updates.values())


def _risk(conn: sa.Connection, b: Batch) -> None:
    """Order groups and dead-man's switches, one statement per event in order (they are rare,
    and an arm then a disarm in one batch must end disarmed). Rows reference users: an account
    that is no user (a raw engine command) is left out rather than stop the projector."""
    if not b.risk_rows:
        return
    accounts = {row["account_id"] for _, op, row in b.risk_rows if op == "upsert"}
    users = set(conn.scalars(sa.select(t.users.c.id).where(t.users.c.id.in_(sorted(accounts)))))
    for name, op, row in b.risk_rows:
        table = t.order_groups if name == "order_groups" else t.dead_man_switches
        key = "id" if name == "order_groups" else "account_id"
        if op == "upsert":
            if row["account_id"] in users:
                upsert(conn, table, (key,), [row])
        elif op == "update":
            conn.execute(table.update().where(table.c[key] == row[key]).values(row))
        else:
            conn.execute(table.delete().where(table.c[key] == row[key]))
