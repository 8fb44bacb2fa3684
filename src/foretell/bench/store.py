"""Store benchmark: how many engine outcomes per second the projector writes to the database.

The engine benchmark's seeded workload runs through an engine as the pipeline runs it (its
events plus the BALANCE/POSITION state they touched), untimed. The clock covers only
`Projector.apply`, in batches of 2,000 as the projector process takes them, into a fresh
database: SQLite in a temporary directory, or `database_url` (which must be empty: the
benchmark migrates it and fills it).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from foretell.bench.workload import commands
from foretell.domain.outcome import Outcome
from foretell.engine.engine import Engine
from foretell.engine.views import touched_state
from foretell.store.db import connect, migrate
from foretell.store.projector import Projector

BATCH = 2_000


def outcomes(n: int, seed: int = 1, markets: int = 20, accounts: int = 500) -> list[Outcome]:
    engine = Engine()
    out: list[Outcome] = []
    for seq, command in enumerate(commands(n, seed=seed, markets=markets, accounts=accounts), 1):
        code, value = engine.apply(command)
        events = engine.take_events()
        events += touched_state(engine, events)
        out.append(Outcome(seq, command, code, value, events))
    return out


def run(n: int = 100_000, seed: int = 1, database_url: str = "") -> dict[str, Any]:
    stream = outcomes(n, seed=seed)
    with tempfile.TemporaryDirectory(prefix="foretell-bench-store-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        db = connect(url)
        try:
            projector = Projector(db)
            start = time.perf_counter()
            for first in range(0, len(stream), BATCH):
                projector.apply(stream[first:first + BATCH])
            seconds = time.perf_counter() - start
            assert projector.last_seq() == len(stream)
        finally:
            db.dispose()
    events = sum(len(o.events) for o in stream)
    return {
        "benchmark": "store",
        "backend": db.dialect.name,
        "outcomes": len(stream),
        "events": events,
        "seconds": round(seconds, 3),
        "outcomes_per_s": round(len(stream) / seconds),
        "events_per_s": round(events / seconds),
        "us_per_outcome": round(seconds / len(stream) * 1e6, 1),
        "batch": BATCH,
        "anomalies": projector.anomalies,
    }
