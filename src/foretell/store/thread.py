"""Run a projector in the background: outcomes queue up, batches go to the database.

`submit` is cheap and never blocks on the database (it is called on the journal's writer thread
as a pipeline listener). The worker takes up to `batch_max` outcomes, or whatever arrived within
`delay_s` of the first one, and applies them in one transaction. A failing batch is retried with
backoff, never skipped: after `attempts_max` failures the worker stops and `flush`/`close`
raise `ProjectorError`; later outcomes are only counted (`dropped`). The store still ends at a
consistent seq, and the journal holds everything after it, so a restart replays the rest
(`Pipeline(dir, project_after=projector.last_seq(), on_replay=...)`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _Applies(Protocol):
    def apply(self, outcomes: Sequence[Any]) -> int: ...


class ProjectorError(RuntimeError):
    """The background projector could not apply a batch; `__cause__` is the last failure."""


class ProjectorThread:
    def __init__(self, projector: _Applies, batch_max: int = 2_000, delay_s: float = 0.05,
                 attempts_max: int = 8, backoff_s: float = 0.05,
                 backoff_max_s: float = 2.0) -> None:
        self.projector = projector
        self.batch_max = batch_max
        self.delay_s = delay_s
        self.attempts_max = attempts_max
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._queue: deque[Any] = deque()
        self._cond = threading.Condition()
        self._submitted = 0  # outcomes ever submitted
        self._done = 0  # outcomes applied (or skipped as already applied) and committed
        self._closing = False
        self._flushers = 0  # callers waiting in flush(): no point holding a batch back
        self.dropped = 0  # outcomes submitted after the worker gave up
        self.error: BaseException | None = None  # set once the worker gave up
        self.last_failure: BaseException | None = None  # most recent failed attempt
        self.batches = 0
        self._thread = threading.Thread(target=self._run, name="foretell-projector", daemon=True)
        self._thread.start()

    def submit(self, outcome: Any) -> None:
        """Queue one outcome (in seq order). Thread-safe; usable as a Pipeline listener."""
        with self._cond:
            if self._closing:
                raise ProjectorError("projector thread is closed")
            if self.error is not None:
                self.dropped += 1
                return
            self._queue.append(outcome)
            self._submitted += 1
            if len(self._queue) == 1 or len(self._queue) >= self.batch_max:
                self._cond.notify_all()

    def submit_many(self, outcomes: Sequence[Any]) -> None:
        """Queue a run of outcomes (in seq order) under one lock; see `submit`."""
        with self._cond:
            if self._closing:
                raise ProjectorError("projector thread is closed")
            if self.error is not None:
                self.dropped += len(outcomes)
                return
            was = len(self._queue)
            self._queue.extend(outcomes)
            self._submitted += len(outcomes)
            if was == 0 or len(self._queue) >= self.batch_max:
                self._cond.notify_all()

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive (after `close`: it did not finish in time)."""
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._done

    def flush(self, timeout_s: float | None = 30.0) -> None:
        """Wait until everything submitted so far is committed; raise if the worker gave up."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            target = self._submitted
            self._flushers += 1
            self._cond.notify_all()
            try:
                while self._done < target:
                    if self.error is not None:
                        raise ProjectorError("projector stopped") from self.error
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"projector still has {target - self._done} outcomes")
                    self._cond.wait(left)
            finally:
                self._flushers -= 1

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Stop taking outcomes, apply what is queued, stop the worker; raise if it failed."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self.error is not None:
            raise ProjectorError("projector stopped") from self.error
        if self._thread.is_alive():
            raise TimeoutError(f"projector still has {self.pending} outcomes")

    # -- worker -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if not self._apply(batch):
                return
            with self._cond:
                for _ in batch:
                    self._queue.popleft()
                self._done += len(batch)
                self._cond.notify_all()

    def _take(self) -> list[Any] | None:
        """The next batch (left in the queue until committed), or None when closed and empty."""
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            # Let a burst gather for up to delay_s, unless a full batch is already here.
            deadline = time.monotonic() + self.delay_s
            while len(self._queue) < self.batch_max and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0 or self._flushers:
                    break
                self._cond.wait(left)
            return [self._queue[i] for i in range(min(self.batch_max, len(self._queue)))]

    def _apply(self, batch: list[Any]) -> bool:
        delay = self.backoff_s
        for attempt in range(1, self.attempts_max + 1):
            try:
                self.projector.apply(batch)
                self.batches += 1
                self.last_failure = None
                return True
            except Exception as failure:  # retried, then surfaced by flush/close
                self.last_failure = failure
                log.exception("projector batch of %d failed (attempt %d of %d)", len(batch),
                              attempt, self.attempts_max)
                if attempt == self.attempts_max:
                    break
                time.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
        with self._cond:
            self.error = self.last_failure
            self._cond.notify_all()
        return False
