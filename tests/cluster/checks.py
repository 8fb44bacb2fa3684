"""What a cluster run must end with, checked from outside: the store against a single-node
projection of the same command stream, and the commands of the stream."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from foretell.bench.cluster_run import INSTALL_HINT, NATS_SERVER, PG_URL
from foretell.cluster.replica import stamped
from foretell.cluster.streams import ClusterSettings, connect, read_stream
from foretell.domain import commands as cmd
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.exchange.pipeline import Pipeline
from foretell.store import schema as t
from foretell.store.db import connect as connect_db
from foretell.store.db import migrate
from foretell.store.projector import Projector

# What a cluster of processes needs, as marks (`pytestmark = checks.NEEDS_CLUSTER`): a
# nats-server to start and a PostgreSQL server for the store.
NEEDS_CLUSTER = [
    pytest.mark.skipif(NATS_SERVER is None, reason=INSTALL_HINT),
    pytest.mark.skipif(not PG_URL, reason="FORETELL_TEST_PG_URL not set "
                       "(e.g. postgresql://postgres@127.0.0.1:5432/test)")]

# The tables the projector writes (users, sessions and keys are written by the gateways).
PROJECTED = ("projector_state", "markets", "contracts", "orders", "order_rejections", "trades",
             "fills", "balances", "positions", "cash_movements", "settlements", "candles",
             "market_events", "triggers")


async def _commands(settings: ClusterSettings) -> list[cmd.Command]:
    cluster = await connect(settings, name="check", setup=False)
    try:
        last = await cluster.last_cmd_seq()
        return [cmd.decode(data) async for _, data in
                read_stream(cluster, settings.cmd_stream, settings.cmd_subject, 1, last)]
    finally:
        await cluster.close()


def commands(settings: ClusterSettings) -> list[cmd.Command]:
    return asyncio.run(_commands(settings))


def single_node_projection(commands: list[cmd.Command], database_url: str) -> str:
    """Run the commands through the single-node pipeline (file journal) with the replicas'
    stamping rule and project its outcomes into `database_url`; returns the state hash."""
    migrate(database_url)
    db = connect_db(database_url)
    projector = Projector(db)
    with tempfile.TemporaryDirectory() as journal:
        pipeline = Pipeline(journal)
        outcomes: list[Outcome] = []
        try:
            for command in commands:
                outcomes += pipeline.submit(stamped(pipeline.engine, command), stamp=False)
            assert len(outcomes) == len(commands), "the pipeline ran a timer of its own"
            if outcomes:
                pipeline.committer.wait_durable(outcomes[-1].seq)
            state_hash = pipeline.state_hash()
        finally:
            pipeline.close()
    for start in range(0, len(outcomes), 2_000):
        projector.apply(outcomes[start:start + 2_000])
    db.dispose()
    return state_hash


# Tables whose `id` comes from a database sequence: a transaction rolled back (a projector
# killed mid-batch) still uses up numbers, so ids are compared by their rank.
AUTO_ID = ("order_rejections", "trades", "fills", "cash_movements", "settlements",
           "market_events")


def table_rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    db = connect_db(database_url)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        ranks: dict[str, dict[int, int]] = {}
        with db.connect() as conn:
            for name in PROJECTED:
                result = conn.exec_driver_sql(f"SELECT * FROM {name}")
                columns = list(result.keys())
                rows = [dict(zip(columns, r, strict=True)) for r in result.fetchall()]
                if name in AUTO_ID:
                    rows.sort(key=lambda r: r["id"])
                    ranks[name] = {r["id"]: i for i, r in enumerate(rows)}
                    for row in rows:
                        row["id"] = ranks[name][row["id"]]
                        if name == "fills":
                            row["trade_id"] = ranks["trades"][row["trade_id"]]
                out[name] = sorted((tuple(r.values()) for r in rows), key=repr)
        return out
    finally:
        db.dispose()


def acked_orders_missing(database_url: str, order_ids: set[int]) -> set[int]:
    db = connect_db(database_url)
    try:
        with db.connect() as conn:
            found = {int(r[0]) for r in conn.execute(sa.text("SELECT id FROM orders"))}
        return order_ids - found
    finally:
        db.dispose()


def orders_per_client_id_max(database_url: str) -> int:
    db = connect_db(database_url)
    try:
        with db.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM orders "
                "WHERE client_id IS NOT NULL AND client_id <> '' GROUP BY account_id, client_id) c"))
                .scalar() or 0)
    finally:
        db.dispose()


FillKey = tuple[int, int, int, str, str, str, int, int, int]


def fill_key(account_id: int, fill: dict[str, Any]) -> FillKey:
    """A fill as the `fills` channel sends it: (account, seq, order, liquidity, outcome, side,
    own price, size, fee), money in micro-USDC."""
    from foretell.client import to_micro

    return (account_id, fill["seq"], fill["order_id"], fill["liquidity"], fill["outcome"],
            fill["side"], to_micro(fill["price"]), fill["size"], to_micro(fill["fee"]))


def stored_fills(database_url: str, account_ids: set[int]) -> Counter[FillKey]:
    """The same keys for the accounts' fills in the store, price and size taken from the trade
    each belongs to (and the trade's seq must be the fill's)."""
    from foretell.domain.orders import ACTION_NAMES, OUTCOME_NAMES

    db = connect_db(database_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(sa.select(
                t.fills.c.account_id, t.fills.c.seq, t.fills.c.order_id, t.fills.c.liquidity,
                t.fills.c.outcome, t.fills.c.action, t.trades.c.yes_price_micro,
                t.trades.c.size, t.fills.c.fee_micro)
                .join(t.trades, (t.trades.c.id == t.fills.c.trade_id)
                      & (t.trades.c.seq == t.fills.c.seq))
                .where(t.fills.c.account_id.in_(account_ids))).all()
    finally:
        db.dispose()
    return Counter((int(r[0]), int(r[1]), int(r[2]), str(r[3]), OUTCOME_NAMES[r[4]],
                    ACTION_NAMES[r[5]], int(r[6]) if r[4] == 0 else MICRO - int(r[6]),
                    int(r[7]), int(r[8])) for r in rows)
