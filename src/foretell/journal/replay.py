"""Rebuild the engine from disk: the newest valid snapshot, then every journal record after it.

Replay applies exactly the commands that were journaled, in sequence order, with their own
timestamps, so the rebuilt engine has the same state hash as the one that wrote them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from foretell.domain import commands as cmd
from foretell.engine import snapshot
from foretell.engine.engine import Engine
from foretell.journal.log import read_records
from foretell.journal.snapshot import latest_snapshot


def recover(
    directory: str | os.PathLike[str], progress: Callable[[int], None] | None = None
) -> tuple[Engine, int]:
    """Return (engine, last applied seq). Events produced by replay are discarded."""
    found = latest_snapshot(directory)
    if found is None:
        engine, seq = Engine(), 0
    else:
        seq, payload = found
        engine = snapshot.loads(payload)
    last = seq
    for last, payload in read_records(directory, after_seq=seq):
        engine.apply(cmd.decode(payload))
        engine.events.clear()
        if progress is not None and last % 100_000 == 0:
            progress(last)
    return engine, last
