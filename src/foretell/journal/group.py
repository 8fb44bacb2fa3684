"""Group commit: many submitted records, one write + fsync per batch, on a background thread.

Owns the writer thread of one `Journal` while it runs. Producers call `submit` (it appends to
the journal's buffer under a lock and returns the seq at once); the thread takes the whole
buffer, writes and syncs it with the lock released, then publishes the new durable seq.

Invariants:
- A seq is reported durable (`on_durable`, `wait_durable`, `durable_future`) only after the
  write and sync covering it returned successfully; durable seqs are published in order.
- After any failure (write, sync, segment creation, or an exception from `on_durable`) the
  committer stops for good: every pending and later waiter gets `JournalFailed`, and
  `submit` raises. A record that was submitted but not acknowledged may still be found in
  the journal after a restart; callers must treat the failure as "outcome unknown".
- The journal's buffer is touched only under `_lock`; the file only by the writer thread.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from time import perf_counter

from foretell.journal.log import Batch, Journal, JournalError, JournalFailed

DurableCallback = Callable[[int], None]


class GroupCommitter:
    """Batches submissions from any thread into group commits on one writer thread.

    The writer starts a batch as soon as `max_batch` records are pending or the oldest pending
    record has waited `max_delay_s` (0 means: whenever anything is pending); a batch takes
    everything pending. `submit` blocks once `max_pending_bytes` are buffered and not yet
    taken, so a stalled disk slows producers down instead of exhausting memory.

    `on_durable` runs on the writer thread, outside the lock: keep it short (e.g. hand the
    seq to an event loop with `call_soon_threadsafe`); it may submit but must not wait.
    `on_failed` runs once, on the writer thread, after the committer stopped for good.
    """

    def __init__(
        self,
        journal: Journal,
        on_durable: DurableCallback | None = None,
        max_batch: int = 4096,
        max_delay_s: float = 0.001,
        max_pending_bytes: int = 64 << 20,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        if max_batch < 1 or max_delay_s < 0 or max_pending_bytes < 1:
            raise ValueError("max_batch and max_pending_bytes must be >= 1, max_delay_s >= 0")
        self._journal = journal
        self._on_durable = on_durable
        self._on_failed = on_failed
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._max_pending_bytes = max_pending_bytes
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # writer waits for records
        self._room = threading.Condition(self._lock)  # producers wait for buffer space
        self._durable = threading.Condition(self._lock)  # waiters wait for durability
        self._durable_seq = journal.durable_seq
        self._first_pending_s = 0.0
        self._futures: list[tuple[int, int, Future[int]]] = []  # heap by seq
        self._future_ids = itertools.count()
        self._failure: JournalFailed | None = None
        self._closing = False
        self._rotations_requested = 0
        self._rotations_done = 0
        self._thread = threading.Thread(
            target=self._run, name="foretell-journal-writer", daemon=True
        )
        self._thread.start()

    # -- producer side ---------------------------------------------------------------------

    def submit(self, payload: bytes | bytearray) -> int:
        """Append a record and return its seq; it is not durable yet."""
        with self._lock:
            self._check_open()
            journal = self._journal
            if journal.pending_bytes >= self._max_pending_bytes:
                self._wait_for_room()
            seq = journal.append(payload)
            pending = journal.pending_records
            if pending == 1:
                self._first_pending_s = perf_counter()
                self._work.notify()
            elif pending == self._max_batch:
                self._work.notify()
            return seq

    def wait_durable(self, seq: int, timeout_s: float | None = None) -> bool:
        """Block until `seq` is durable: True, or False on timeout; raises if the writer failed."""
        self._check_not_writer("wait_durable")
        with self._lock:
            self._check_assigned(seq)
            self._durable.wait_for(
                lambda: self._durable_seq >= seq or self._failure is not None, timeout_s
            )
            if self._durable_seq >= seq:
                return True
            if self._failure is not None:
                raise self._failure
            return False

    def durable_future(self, seq: int) -> Future[int]:
        """A future resolved with `seq` once it is durable (or failed with `JournalFailed`).

        For asyncio: `await asyncio.wrap_future(committer.durable_future(seq))`.
        """
        future: Future[int] = Future()
        with self._lock:
            self._check_assigned(seq)
            if self._durable_seq >= seq:
                future.set_result(seq)
            elif self._failure is not None:
                future.set_exception(self._failure)
            else:
                heapq.heappush(self._futures, (seq, next(self._future_ids), future))
        return future

    def rotate(self) -> None:
        """Start a new journal segment after everything submitted so far; blocks until done."""
        self._check_not_writer("rotate")
        with self._lock:
            self._check_open()
            self._rotations_requested += 1
            ticket = self._rotations_requested
            self._work.notify()
            self._durable.wait_for(
                lambda: self._rotations_done >= ticket or self._failure is not None
            )
            if self._rotations_done < ticket and self._failure is not None:
                raise self._failure

    def close(self) -> int:
        """Flush everything submitted, stop the thread; returns the durable seq.

        The journal stays open: its owner closes it. Raises `JournalFailed` if the writer
        failed, since then not everything submitted is durable.
        """
        with self._lock:
            self._closing = True
            self._work.notify()
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._durable_seq

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    @property
    def failure(self) -> JournalFailed | None:
        return self._failure

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise JournalError("group committer is closed")

    def _check_not_writer(self, operation: str) -> None:
        """Waiting on the writer thread (from `on_durable`) would wait for itself forever."""
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError(f"{operation} cannot be called from on_durable")

    def _check_assigned(self, seq: int) -> None:
        if seq > self._journal.last_seq:
            raise ValueError(f"seq {seq} has not been submitted (last is {self._journal.last_seq})")

    def _wait_for_room(self) -> None:
        """Backpressure; never on the writer thread (an `on_durable` that submits)."""
        if threading.get_ident() == self._thread.ident:
            return
        self._room.wait_for(
            lambda: (
                self._journal.pending_bytes < self._max_pending_bytes
                or self._failure is not None
                or self._closing
            )
        )
        self._check_open()

    # -- writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                batch, rotation = self._next_batch()
                if batch is not None:
                    self._journal.write_batch(batch)  # the GIL is released in write and sync
                    self._publish(batch.last_seq)
                if rotation:
                    self._journal.start_segment()
                    self._finish_rotation(rotation)
                if batch is None and not rotation:
                    return
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the waiters
            self._fail(exc)

    def _next_batch(self) -> tuple[Batch | None, int]:
        """Wait for a batch worth writing; (None, 0) means closed and drained."""
        with self._lock:
            while True:
                rotation = self._rotations_requested if self._rotation_pending() else 0
                pending = self._journal.pending_records
                if pending == 0 and (self._closing or rotation):
                    return None, rotation
                if pending and (pending >= self._max_batch or self._closing or rotation):
                    break
                if pending == 0:
                    self._work.wait()
                    continue
                remaining_s = self._first_pending_s + self._max_delay_s - perf_counter()
                if remaining_s <= 0:
                    break
                self._work.wait(remaining_s)
            batch = self._journal.take_batch()
            self._room.notify_all()
            return batch, rotation

    def _rotation_pending(self) -> bool:
        return self._rotations_requested > self._rotations_done

    def _publish(self, seq: int) -> None:
        with self._lock:
            self._durable_seq = seq
            self._durable.notify_all()
            ready = []
            while self._futures and self._futures[0][0] <= seq:
                ready.append(heapq.heappop(self._futures))
        for future_seq, _, future in ready:
            _settle(future, result=future_seq, error=None)
        if self._on_durable is not None:
            self._on_durable(seq)

    def _finish_rotation(self, ticket: int) -> None:
        with self._lock:
            self._rotations_done = max(self._rotations_done, ticket)
            self._durable.notify_all()

    def _fail(self, exc: BaseException) -> None:
        failure = exc if isinstance(exc, JournalFailed) else _stopped_by(exc)
        with self._lock:
            self._failure = failure
            self._durable.notify_all()
            self._room.notify_all()
            stranded = [entry[2] for entry in self._futures]
            self._futures.clear()
        for future in stranded:
            _settle(future, result=0, error=failure)
        if self._on_failed is not None:
            self._on_failed(failure)


def _stopped_by(exc: BaseException) -> JournalFailed:
    failure = JournalFailed(f"group commit stopped: {exc!r}")
    failure.__cause__ = exc
    return failure


def _settle(future: Future[int], result: int, error: BaseException | None) -> None:
    """Resolve a future unless its owner cancelled it (asyncio cancels on task cancel)."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass
