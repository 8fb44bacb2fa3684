"""The projector: engine outcomes in, SQL read models out, exactly once.

`Projector.apply(outcomes)` writes every effect of a run of outcomes and the new
`projector_state.last_seq` in ONE transaction, so the store is always the projection of a
prefix of the journal. Outcomes at or below `last_seq` are skipped (a replay after a restart, a
retried batch), and the first new outcome must be `last_seq + 1`: a gap means a lost outcome,
and the projector refuses it (`ProjectionGap`) rather than store a wrong read model.

Per batch: (1) lock `projector_state` and read `last_seq`, (2) scan the events for the stored
rows they touch (open orders, positions, contract -> market) and load them in a few IN queries,
(3) build all effects in memory (`batch.Batch`), (4) write them with executemany
(`writer.write`), (5) advance `last_seq` guarded by its old value, so two projectors on one
database can never both apply a batch.

Positions carry an average-cost basis and realized P&L; the method is in `costbasis`.
Only the projector writes the tables it projects; the API reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from foretell.domain import events as ev
from foretell.domain.outcome import Outcome
from foretell.store import schema as t
from foretell.store.batch import Batch, Key, Loaded, PositionState
from foretell.store.costbasis import Holding
from foretell.store.sqlutil import select_by_keys
from foretell.store.thread import ProjectorError, ProjectorThread
from foretell.store.writer import write

log = logging.getLogger(__name__)

__all__ = ["Projector", "ProjectionGap", "ProjectorError", "ProjectorThread"]


class ProjectionGap(RuntimeError):
    """The outcomes do not continue the stored sequence: one was lost on the way."""


class Projector:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.anomalies = 0  # events that disagreed with the stored state (see batch.py)
        self._market_of: dict[int, int] = {}  # contract -> market; contracts never move

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            value = conn.scalar(sa.select(t.projector_state.c.last_seq)
                                .where(t.projector_state.c.id == 1))
        if value is None:
            raise RuntimeError("projector_state is empty: run foretell.store.db.migrate first")
        return int(value)

    def apply(self, outcomes: Sequence[Outcome]) -> int:
        """Project the outcomes newer than the stored seq; returns how many were applied."""
        with self.engine.begin() as conn:
            last = conn.scalar(sa.select(t.projector_state.c.last_seq)
                               .where(t.projector_state.c.id == 1).with_for_update())
            if last is None:
                raise RuntimeError("projector_state is empty: run migrate first")
            fresh = _fresh(outcomes, int(last))
            if not fresh:
                return 0
            batch = Batch(self._load(conn, fresh))
            for outcome in fresh:
                batch.add(outcome)
            write(conn, batch)
            state = t.projector_state
            done = conn.execute(state.update()
                                .where(state.c.id == 1, state.c.last_seq == last)
                                .values(last_seq=batch.last_seq))
            if done.rowcount != 1:
                raise RuntimeError("projector_state moved under this batch: two projectors?")
        self.anomalies += batch.anomalies
        return len(fresh)

    def _load(self, conn: sa.Connection, outcomes: list[Outcome]) -> Loaded:
        order_ids: set[int] = set()
        accepted: set[int] = set()
        keys: set[Key] = set()
        contracts: set[int] = set()
        # By exact class (events are never subclassed): most events are balances, positions
        # and book levels, and each failed isinstance costs the metaclass's __instancecheck__.
        for outcome in outcomes:
            for e in outcome.events:
                if type(e) is ev.OrderAccepted:
                    accepted.add(e.order)
                    contracts.add(e.contract)
                elif type(e) is ev.Fill:
                    order_ids.add(e.taker_order)
                    order_ids.add(e.maker_order)
                    keys.add((e.taker_account, e.contract))
                    keys.add((e.maker_account, e.contract))
                    contracts.add(e.contract)
                elif (type(e) is ev.OrderDone or type(e) is ev.OrderAmended
                      or type(e) is ev.TriggerFired):
                    order_ids.add(e.order)
                elif type(e) is ev.Position or type(e) is ev.Netted or type(e) is ev.Payout:
                    keys.add((e.account, e.contract))
                elif type(e) is ev.MarketCreated:
                    self._market_of.update((c, e.market) for c in e.contracts)
        self._load_markets(conn, [c for c in contracts if c not in self._market_of])
        unknown = sorted(c for c in contracts if c not in self._market_of)
        if unknown:
            raise RuntimeError(f"contracts {unknown[:10]} are not in the store: "
                               "their CreateMarket was never projected")
        return Loaded(orders=_load_orders(conn, sorted(order_ids - accepted)),
                      positions=_load_positions(conn, sorted(keys)),
                      market_of=self._market_of)

    def _load_markets(self, conn: sa.Connection, contract_ids: list[int]) -> None:
        for row in select_by_keys(conn, t.contracts, ("id",), [(c,) for c in contract_ids]):
            self._market_of[row["id"]] = row["market_id"]


def _fresh(outcomes: Sequence[Outcome], last: int) -> list[Outcome]:
    fresh = [o for o in outcomes if o.seq > last]
    expected = last + 1
    for o in fresh:
        if o.seq != expected:
            raise ProjectionGap(f"expected seq {expected}, got {o.seq}")
        expected += 1
    return fresh


def _load_orders(conn: sa.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in select_by_keys(conn, t.orders, ("id",), [(i,) for i in ids])}


def _load_positions(conn: sa.Connection, keys: list[Key]) -> dict[Key, PositionState]:
    out: dict[Key, PositionState] = {}
    for r in select_by_keys(conn, t.positions, ("account_id", "contract_id"), keys):
        holding = Holding(r["yes_shares"], r["no_shares"], r["yes_cost_micro"],
                          r["no_cost_micro"], r["realized_pnl_micro"])
        out[(r["account_id"], r["contract_id"])] = PositionState(
            holding, r["yes_reserved"], r["no_reserved"], exists=True,
            ts_ms=r["updated_ms"], seq=r["updated_seq"])
    return out
