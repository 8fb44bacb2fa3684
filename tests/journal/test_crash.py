"""Crash test: SIGKILL a process that is writing commands under load, at random moments, again
and again on the same data directory; after each recovery every acknowledged command is in the
journal, byte for byte, replay is deterministic and every invariant holds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from foretell.engine.audit import audit
from foretell.engine.snapshot import state_hash
from foretell.exchange.recovery import recover
from foretell.journal.log import read_records

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 20


def run_and_kill(directory: Path, seed: int, after_s: float) -> dict[int, int]:
    """Start the child, let it work for `after_s` after it is ready, SIGKILL it; return acks."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(directory), str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    acks: dict[int, int] = {}
    ready = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("ready"):
                ready.set()
            elif line.startswith("ack "):
                _, seq, crc = line.split()
                acks[int(seq)] = int(crc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(60):
        child.kill()
        child.wait()
        raise AssertionError(child.stderr.read() if child.stderr else "child never got ready")
    time.sleep(after_s)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    reader.join(30)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()
    return acks


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_command(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    acked_total = 0
    for round_no in range(KILLS):
        acks = run_and_kill(tmp_path, seed=round_no + 1, after_s=rng.uniform(0.05, 0.6))
        acked_total += len(acks)
        journal = {seq: zlib.crc32(payload) for seq, payload in read_records(tmp_path)}
        # Segments before the newest snapshot are kept, so the whole history is readable.
        missing = [seq for seq in acks if seq not in journal]
        assert not missing, f"round {round_no}: acknowledged seqs lost: {missing[:10]}"
        changed = [seq for seq, crc in acks.items() if journal[seq] != crc]
        assert not changed, f"round {round_no}: acknowledged records differ: {changed[:10]}"
        engine, last_seq = recover(tmp_path)
        report = audit(engine)
        assert report.ok, f"round {round_no}: {report.violations[:5]}"
        assert last_seq >= max(acks, default=0)
        again, _ = recover(tmp_path)
        assert state_hash(again) == state_hash(engine), f"round {round_no}: replay differs"
    assert acked_total > KILLS * 20, f"too little load to mean anything: {acked_total} acks"
