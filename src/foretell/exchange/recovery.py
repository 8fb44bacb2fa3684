"""Rebuild the engine from disk: a valid snapshot, then every journal record after it.

Replay applies exactly the commands that were journaled, in sequence order, with their own
timestamps, so the rebuilt engine has the same state hash as the one that wrote them. A read
model that has applied events up to `project_after` gets the events of every later command again
(`on_replay`), rebuilt from a snapshot no newer than that point: projection stays exactly-once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from foretell.domain import commands as cmd
from foretell.domain.events import Event
from foretell.engine import snapshot
from foretell.engine.engine import Engine
from foretell.engine.views import touched_state
from foretell.journal.log import read_records
from foretell.journal.snapshot import latest_snapshot

Replayed = Callable[[int, cmd.Command, str, Any, list[Event]], None]


def recover(directory: str | os.PathLike[str],
            progress: Callable[[int], None] | None = None,
            project_after: int | None = None,
            on_replay: Replayed | None = None) -> tuple[Engine, int]:
    """Return (engine, last applied seq)."""
    found = latest_snapshot(directory, at_most_seq=project_after)
    if found is None:
        engine, seq = Engine(), 0
    else:
        seq, payload = found
        engine = snapshot.loads(payload)
    last = seq
    for last, payload in read_records(directory, after_seq=seq):
        command = cmd.decode(payload)
        code, value = engine.apply(command)
        events = engine.take_events()
        if on_replay is not None and project_after is not None and last > project_after:
            on_replay(last, command, code, value, events + touched_state(engine, events))
        if progress is not None and last % 100_000 == 0:
            progress(last)
    return engine, last
