"""Invariants asserted in the code path (TigerBeetle style): a state that lost money stops the
engine with `InvariantBroken` where it breaks, and the pipeline takes no command after it.

The states are made by tampering with the engine's memory, as a bug would; no valid sequence
of commands reaches them (the property tests and the audit say so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foretell.domain import commands as cmd
from foretell.domain.codes import InvariantBroken
from foretell.domain.orders import BUY, LIMIT, NO, SELL, YES
from foretell.domain.units import MICRO
from foretell.engine.engine import Engine
from foretell.exchange.pipeline import Halted, Pipeline


def _market(engine: Engine) -> None:
    for account in (1, 2):
        engine.apply(cmd.Deposit(1_000, account, 100 * MICRO))
    engine.apply(cmd.CreateMarket(1_000, 1, meta=json.dumps({"slug": "m", "question": "?"})))


def test_a_fill_the_reservation_does_not_cover_stops_the_engine() -> None:
    engine = Engine()
    _market(engine)
    code, order_id = engine.apply(cmd.PlaceOrder(1_000, 1, 1, YES, BUY, 10, 400_000, LIMIT))
    assert code == "ok"
    engine.orders[order_id].reserved -= 2 * MICRO  # a bug: the reservation shrank
    with pytest.raises(InvariantBroken, match="reservation short"):
        engine.apply(cmd.PlaceOrder(1_000, 2, 1, NO, BUY, 10, 600_000, LIMIT))


def test_selling_shares_not_reserved_stops_the_engine() -> None:
    engine = Engine()
    _market(engine)
    engine.apply(cmd.PlaceOrder(1_000, 1, 1, YES, BUY, 5, 500_000, LIMIT))
    engine.apply(cmd.PlaceOrder(1_000, 2, 1, NO, BUY, 5, 500_000, LIMIT))  # mint: 1 holds 5 YES
    code, sell = engine.apply(cmd.PlaceOrder(1_000, 1, 1, YES, SELL, 5, 600_000, LIMIT))
    assert code == "ok"
    engine.accounts[1].positions[1][2] = 0  # a bug: the sell's shares are no longer reserved
    with pytest.raises(InvariantBroken, match="unreserved shares"):
        engine.apply(cmd.PlaceOrder(1_000, 2, 1, YES, BUY, 5, 600_000, LIMIT))


def test_the_pipeline_halts_after_a_broken_invariant(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path)
    try:
        for account in (1, 2):
            pipeline.execute(cmd.Deposit(0, account, 100 * MICRO))
        pipeline.execute(cmd.CreateMarket(0, 1, meta=json.dumps({"slug": "m", "question": "?"})))
        order_id = pipeline.execute(cmd.PlaceOrder(0, 1, 1, YES, BUY, 10, 400_000, LIMIT)).value
        pipeline.engine.orders[order_id].reserved -= 2 * MICRO
        with pytest.raises(InvariantBroken):
            pipeline.submit(cmd.PlaceOrder(0, 2, 1, NO, BUY, 10, 600_000, LIMIT))
        with pytest.raises(Halted):  # nothing more is applied on a broken state
            pipeline.submit(cmd.Deposit(0, 1, MICRO))
    finally:
        pipeline.close()


def test_the_full_audit_runs_in_the_pipeline_when_asked(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORETELL_AUDIT_EVERY", "1")
    pipeline = Pipeline(tmp_path)
    try:
        pipeline.execute(cmd.Deposit(0, 1, 100 * MICRO))
        pipeline.engine.accounts[1].free += 1  # a bug: cash from nowhere
        with pytest.raises(InvariantBroken, match="audit at seq 2"):
            pipeline.submit(cmd.Deposit(0, 2, MICRO))
    finally:
        pipeline.close()
