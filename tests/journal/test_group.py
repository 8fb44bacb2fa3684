"""Group commit: concurrency, durability acknowledgements and the failed state.

Failures and slow disks are simulated by replacing the journal's sync function only.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

import foretell.journal.log as log
from foretell.journal import GroupCommitter, Journal, JournalError, JournalFailed, read_records

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal.open(tmp_path)
    yield journal
    journal.close()


class GatedSync:
    """A sync that blocks until opened, to hold a batch 'in flight'."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, fd: int) -> None:
        self.entered.set()
        if not self.gate.wait(timeout=20):
            raise OSError(errno.ETIMEDOUT, "test gate never opened")
        os.fdatasync(fd)


def failing_sync(fd: int) -> None:
    raise OSError(errno.EIO, "injected fsync failure")


def test_many_producers_every_seq_durable_exactly_once(journal: Journal, tmp_path: Path) -> None:
    durable_calls: list[int] = []
    committer = GroupCommitter(journal, durable_calls.append, max_batch=64, max_delay_s=0.0005)
    threads_n, per_thread = 8, 1500
    submitted: dict[int, list[tuple[int, bytes]]] = {t: [] for t in range(threads_n)}
    start = threading.Barrier(threads_n)

    def produce(thread_id: int) -> None:
        start.wait()
        for i in range(per_thread):
            payload = f"{thread_id}:{i}".encode()
            submitted[thread_id].append((committer.submit(payload), payload))

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    futures: list[Future[int]] = []
    for thread in threads:
        thread.join()
    for entries in submitted.values():
        futures.extend(committer.durable_future(seq) for seq, _ in entries[::100])
    total = threads_n * per_thread
    assert committer.close() == total

    seqs = sorted(seq for entries in submitted.values() for seq, _ in entries)
    assert seqs == list(range(1, total + 1))
    for entries in submitted.values():
        own = [seq for seq, _ in entries]
        assert own == sorted(own)
    assert durable_calls == sorted(set(durable_calls)) and durable_calls[-1] == total
    assert len(durable_calls) == journal.sync_count
    assert all(future.result(timeout=0) > 0 for future in futures)
    expected = dict(entry for entries in submitted.values() for entry in entries)
    assert dict(read_records(tmp_path)) == expected


def test_wait_durable(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = GatedSync()
    monkeypatch.setattr(log, "_sync_file", sync)
    committer = GroupCommitter(journal, max_delay_s=0)
    seq = committer.submit(b"a")
    assert sync.entered.wait(timeout=5)
    assert committer.wait_durable(seq, timeout_s=0.05) is False
    sync.gate.set()
    assert committer.wait_durable(seq, timeout_s=5) is True
    assert committer.wait_durable(seq) is True
    with pytest.raises(ValueError):
        committer.wait_durable(seq + 1)
    committer.close()


def test_durable_future_resolves_in_asyncio(journal: Journal) -> None:
    committer = GroupCommitter(journal)

    async def submit_and_await() -> list[int]:
        seqs = [committer.submit(f"cmd {i}".encode()) for i in range(10)]
        futures = [asyncio.wrap_future(committer.durable_future(seq)) for seq in seqs]
        return await asyncio.wait_for(asyncio.gather(*futures), timeout=5)

    assert asyncio.run(submit_and_await()) == list(range(1, 11))
    already = committer.durable_future(3)
    assert already.done() and already.result() == 3
    committer.close()


def test_cancelled_future_does_not_disturb_the_writer(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = GatedSync()
    monkeypatch.setattr(log, "_sync_file", sync)
    committer = GroupCommitter(journal, max_delay_s=0)
    cancelled = committer.durable_future(committer.submit(b"a"))
    kept = committer.durable_future(1)
    assert cancelled.cancel()
    sync.gate.set()
    assert kept.result(timeout=5) == 1
    assert committer.close() == 1
    assert committer.failure is None


def test_close_flushes_without_waiting_for_the_delay(journal: Journal, tmp_path: Path) -> None:
    committer = GroupCommitter(journal, max_batch=1_000_000, max_delay_s=60)
    for i in range(100):
        committer.submit(bytes([i]))
    started_s = time.perf_counter()
    assert committer.close() == 100
    assert time.perf_counter() - started_s < 5
    assert committer.durable_seq == journal.durable_seq == 100
    assert [seq for seq, _ in read_records(tmp_path)] == list(range(1, 101))
    with pytest.raises(JournalError, match="closed"):
        committer.submit(b"late")


def test_max_batch_cuts_the_delay_short(journal: Journal) -> None:
    committer = GroupCommitter(journal, max_batch=10, max_delay_s=60)
    seqs = [committer.submit(b"x") for _ in range(10)]
    assert committer.wait_durable(seqs[-1], timeout_s=5)
    committer.close()


def test_rotate_through_the_committer(journal: Journal, tmp_path: Path) -> None:
    committer = GroupCommitter(journal, max_delay_s=60)
    for i in range(5):
        committer.submit(bytes([i]))
    committer.rotate()
    assert committer.durable_seq == 5
    committer.rotate()  # nothing new: no empty segment
    for i in range(3):
        committer.submit(bytes([i]))
    committer.close()
    names = sorted(name for name in os.listdir(tmp_path) if name.startswith("journal-"))
    assert names == [log.segment_name(1), log.segment_name(6)]
    assert [seq for seq, _ in read_records(tmp_path)] == list(range(1, 9))


def test_failed_sync_fails_every_waiter(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    durable_calls: list[int] = []
    committer = GroupCommitter(journal, durable_calls.append, max_delay_s=0)
    assert committer.wait_durable(committer.submit(b"ok"), timeout_s=5)
    monkeypatch.setattr(log, "_sync_file", failing_sync)

    seq = committer.submit(b"lost")
    pending = committer.durable_future(seq)
    with pytest.raises(JournalFailed):
        committer.wait_durable(seq, timeout_s=5)
    with pytest.raises(JournalFailed):
        pending.result(timeout=5)
    with pytest.raises(JournalFailed):
        committer.submit(b"after failure")
    with pytest.raises(JournalFailed):
        committer.durable_future(seq).result(timeout=0)
    with pytest.raises(JournalFailed):
        committer.rotate()
    assert committer.wait_durable(1) is True  # durable before the failure stays durable
    assert durable_calls == [1]
    assert committer.durable_seq == 1
    assert isinstance(committer.failure, JournalFailed)
    with pytest.raises(JournalFailed):
        committer.close()


def test_failed_on_durable_callback_stops_the_committer(journal: Journal) -> None:
    def broken(seq: int) -> None:
        raise RuntimeError("ack path broken")

    committer = GroupCommitter(journal, broken, max_delay_s=0)
    seq = committer.submit(b"a")
    assert committer.wait_durable(seq, timeout_s=5)  # the data itself is durable
    with pytest.raises(JournalFailed, match="ack path broken"):
        committer.wait_durable(committer.submit(b"b"), timeout_s=5)
    with pytest.raises(JournalFailed):
        committer.close()


def test_submit_blocks_when_too_much_is_pending(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = GatedSync()
    monkeypatch.setattr(log, "_sync_file", sync)
    committer = GroupCommitter(journal, max_delay_s=0, max_pending_bytes=500)
    committer.submit(b"in flight")
    assert sync.entered.wait(timeout=5)
    done = threading.Event()

    def produce() -> None:
        for _ in range(20):
            committer.submit(b"x" * 64)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert not done.wait(timeout=0.2)
    assert journal.pending_bytes >= 500
    sync.gate.set()
    assert done.wait(timeout=5)
    producer.join()
    assert committer.close() == 21


def test_on_durable_may_submit_but_not_wait(journal: Journal, tmp_path: Path) -> None:
    errors: list[BaseException] = []
    committer: GroupCommitter

    def on_durable(seq: int) -> None:
        if seq == 1:
            committer.submit(b"follow-up")
            try:
                committer.wait_durable(2)
            except RuntimeError as exc:
                errors.append(exc)

    committer = GroupCommitter(journal, on_durable, max_delay_s=0)
    committer.submit(b"first")
    assert committer.wait_durable(1, timeout_s=5)
    assert committer.wait_durable(2, timeout_s=5)
    assert committer.close() == 2
    assert len(errors) == 1
    assert [payload for _, payload in read_records(tmp_path)] == [b"first", b"follow-up"]


def test_invalid_settings_are_rejected(journal: Journal) -> None:
    with pytest.raises(ValueError):
        GroupCommitter(journal, max_batch=0)
