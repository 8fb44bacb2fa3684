"""The background projector: batches in order, flushes, retries, and never hides a failure."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from foretell.store.projector import ProjectorError, ProjectorThread

if TYPE_CHECKING:
    from conftest import Store, Stream


def test_thread_projects_like_direct_apply(make_store: Any, stream: Stream) -> None:
    stream.fund(1, 2)
    stream.market()
    for i in range(60):
        stream.limit(1, "buy_yes", 3, 40 + i % 5)
        stream.limit(2, "buy_no", 2, 60 - i % 5)
    direct: Store = make_store()
    direct.project(stream.outcomes)
    threaded: Store = make_store()
    thread = ProjectorThread(threaded.projector, batch_max=50, delay_s=0.001)
    for outcome in stream.outcomes[:100]:
        thread.submit(outcome)
    thread.flush(timeout_s=10)
    assert threaded.projector.last_seq() == 100
    for outcome in stream.outcomes[100:]:
        thread.submit(outcome)
    thread.close(timeout_s=10)
    assert thread.batches >= 3 and thread.pending == 0
    assert threaded.dump() == direct.dump()
    with pytest.raises(ProjectorError):
        thread.submit(stream.outcomes[0])


class _Flaky:
    """Fails the first `failures` calls, then records what it is given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.applied: list[int] = []
        self.lock = threading.Lock()

    def apply(self, outcomes: Sequence[Any]) -> int:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise RuntimeError(f"database down ({self.calls})")
            self.applied.extend(outcomes)
            return len(outcomes)


def test_a_failing_batch_is_retried_not_dropped() -> None:
    flaky = _Flaky(failures=2)
    thread = ProjectorThread(flaky, delay_s=0.001, backoff_s=0.001)
    for seq in range(1, 11):
        thread.submit(seq)
    thread.flush(timeout_s=10)
    thread.close()
    assert flaky.applied == list(range(1, 11))
    assert thread.last_failure is None and thread.error is None


def test_a_batch_that_keeps_failing_surfaces_on_flush_and_close() -> None:
    flaky = _Flaky(failures=1_000)
    thread = ProjectorThread(flaky, delay_s=0.001, attempts_max=3, backoff_s=0.001)
    thread.submit(1)
    with pytest.raises(ProjectorError) as failed:
        thread.flush(timeout_s=10)
    assert "database down" in str(failed.value.__cause__)
    assert flaky.calls == 3 and flaky.applied == []
    thread.submit(2)  # after giving up: counted, not queued
    assert thread.dropped == 1
    with pytest.raises(ProjectorError):
        thread.close()
