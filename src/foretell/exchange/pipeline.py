"""The single-node exchange pipeline around the engine, wired in one place:

  # 1 sequence   stamp the command with the time; run due timers first (expiry, market close)
  # 2 journal    append the encoded command to the group-commit journal (seq assigned)
  # 3 apply      run it through the deterministic engine: result and events
  # 4 ack        hand back result and events only once the journal says the seq is durable
  # 5 publish    listeners (projector, WebSocket hub) receive durable events in seq order

Steps 1-3 run under one lock, so journal order is application order and replay is exact. A
crash loses only commands that were never acknowledged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from foretell.domain import commands as cmd
from foretell.domain.codes import InvariantBroken
from foretell.domain.events import BookLevel
from foretell.domain.outcome import Event, Outcome
from foretell.engine import snapshot
from foretell.engine.audit import audit
from foretell.engine.views import changed_levels, level_sizes, touched_state
from foretell.exchange.recovery import recover
from foretell.journal.group import GroupCommitter
from foretell.journal.log import Journal, JournalError, JournalFailed
from foretell.journal.snapshot import write_snapshot

log = logging.getLogger(__name__)
Listener = Callable[[Outcome], None]
BatchListener = Callable[[list[Outcome]], None]
FailureListener = Callable[[BaseException], None]


OUTCOME_UNKNOWN = ("The outcome is unknown: the journal stopped before this was durable. "
                   "After a restart, look the order up by its client_order_id.")


def journal_message(exc: JournalError) -> str:
    """Why a command got no answer: the journal failed while it waited to be durable (it ran
    but may not be on disk), or the exchange is shutting down (it was never taken)."""
    if isinstance(exc, JournalFailed):
        return OUTCOME_UNKNOWN
    return "The exchange is shutting down; nothing was done. Retry once it is back."


class Halted(Exception):
    """The engine stopped on a broken invariant: it takes no command until an operator looks
    (a restart replays the journal and stops at the same command)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def outcome_of(engine: Any, book_seq: dict[int, int], seq: int, command: cmd.Command,
               code: str, value: Any) -> Outcome:
    """The outcome of a command just applied: the engine's events, then the state of every
    account and position it touched, then the absolute sizes of the book levels it changed
    (each contract's `book_seq` counts those). Shared by the single-node pipeline and the
    cluster's engine replicas, so both publish the same events for the same command."""
    events = engine.take_events()
    events += touched_state(engine, events)  # 3b state of what the command touched
    events += _book_levels(engine, book_seq, events)
    return Outcome(seq, command, code, value, events)


def _book_levels(engine: Any, book_seq: dict[int, int], events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for contract, prices in changed_levels(engine, events).items():
        seq = book_seq.get(contract, 0) + 1
        book_seq[contract] = seq
        out.append(BookLevel(engine.now_ms, contract, seq, level_sizes(engine, contract, prices)))
    return out


class Pipeline:
    def __init__(self, directory: str | os.PathLike[str],
                 clock: Callable[[], int] = wall_clock_ms,
                 snapshot_every: int = 200_000, max_delay_s: float = 0.0005,
                 project_after: int | None = None,
                 on_replay: Callable[[Outcome], None] | None = None) -> None:
        """Recover from `directory`. A read model at seq `project_after` receives the outcomes of
        every later journaled command through `on_replay` before the pipeline takes new work."""
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.clock = clock
        # Open (lock, truncate any torn tail) before reading, so replay sees a clean journal.
        self.journal = Journal.open(self.directory)
        def replayed(seq: int, command: cmd.Command, code: str, value: Any,
                     events: list[Event]) -> None:
            if on_replay is not None:
                on_replay(Outcome(seq, command, code, value, events))

        self.engine, self.seq = recover(self.directory, project_after=project_after,
                                        on_replay=replayed)
        if self.journal.last_seq < self.seq:
            raise RuntimeError(f"journal ends at {self.journal.last_seq}, snapshot at {self.seq}")
        self.snapshot_every = snapshot_every
        # Every Nth command runs the full audit (0: never; tests and debug runs set it).
        self.audit_every = int(os.environ.get("FORETELL_AUDIT_EVERY", "0") or 0)
        self.halted: InvariantBroken | None = None  # set once: nothing is applied after it
        self.listeners: list[Listener] = []
        # Called once per durable batch (in seq order), and once if the journal fails for good.
        # Listeners run on the writer thread or, with the pipeline lock held, on the submitting
        # one: they must hand work off and never submit commands themselves.
        self.batch_listeners: list[BatchListener] = []
        self.failure_listeners: list[FailureListener] = []
        self.listener_errors = 0
        self._lock = threading.Lock()
        self._since_snapshot = 0
        self._undurable: deque[Outcome] = deque()
        self._publish_lock = threading.Lock()  # durable outcomes leave _undurable in seq order
        self.book_seq: dict[int, int] = {}  # per contract; restarts at 0 with the process
        self.committer = GroupCommitter(self.journal, on_durable=self._on_durable,
                                        on_failed=self._on_failed, max_delay_s=max_delay_s)

    def _stamp(self, command: cmd.Command) -> cmd.Command:
        now = max(self.clock(), self.engine.now_ms)
        if command.ts_ms == now:
            return command
        return msgspec.structs.replace(command, ts_ms=now)

    def _run(self, command: cmd.Command) -> Outcome:
        seq = self.committer.submit(cmd.encode(command))  # 2 journal
        try:
            code, value = self.engine.apply(command)  # 3 apply
            if self.audit_every and seq % self.audit_every == 0:
                self._audit(seq)
        except InvariantBroken as broken:
            self.halted = broken
            log.critical("engine halted at seq %d: %s", seq, broken)
            raise
        self.seq = seq
        self._since_snapshot += 1
        outcome = outcome_of(self.engine, self.book_seq, seq, command, code, value)
        if self.listeners or self.batch_listeners:
            self._undurable.append(outcome)
            durable = self.committer.durable_seq
            if durable >= seq:  # the writer synced it before it was queued: publish it here
                self._on_durable(durable)
        return outcome

    def _audit(self, seq: int) -> None:
        """The full audit (debug and test runs: `FORETELL_AUDIT_EVERY`), between two commands."""
        report = audit(self.engine)
        if not report.ok:
            raise InvariantBroken(f"audit at seq {seq}: {report.violations[:3]}")

    def submit(self, command: cmd.Command, stamp: bool = True) -> list[Outcome]:
        """Steps 1-3; returns the outcomes (due timers first, then the command), not yet durable."""
        if self.halted is not None:
            raise Halted("the engine stopped on a broken invariant") from self.halted
        with self._lock:
            if stamp:
                command = self._stamp(command)  # 1 sequence
            outcomes = []
            deadline = self.engine.next_deadline_ms()
            if deadline and command.ts_ms >= deadline and type(command) is not cmd.Timer:
                outcomes.append(self._run(cmd.Timer(command.ts_ms)))
            outcomes.append(self._run(command))
            return outcomes

    def execute(self, command: cmd.Command, stamp: bool = True) -> Outcome:
        """Apply a command and return its outcome once it is durable (step 4)."""
        outcomes = self.submit(command, stamp)
        self.committer.wait_durable(outcomes[-1].seq)
        self.maybe_snapshot()
        return outcomes[-1]

    def _on_durable(self, durable_seq: int) -> None:
        """Step 5, usually on the journal writer thread: publish durable outcomes in seq order."""
        with self._publish_lock:
            pending = self._undurable
            ready = []
            while pending and pending[0].seq <= durable_seq:
                ready.append(pending.popleft())
            if not ready:
                return
            for outcome in ready:
                for listener in self.listeners:
                    self._call(listener, outcome, outcome.seq)
            for batch_listener in self.batch_listeners:
                self._call(batch_listener, ready, ready[-1].seq)

    def _call(self, listener: Callable[[Any], None], arg: Any, seq: int) -> None:
        try:
            listener(arg)
        except Exception:  # a broken listener must not stop the journal
            self.listener_errors += 1
            log.exception("listener failed on seq %d", seq)

    def _on_failed(self, failure: BaseException) -> None:
        for listener in self.failure_listeners:
            self._call(listener, failure, self.seq)

    def maybe_snapshot(self) -> None:
        if self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> int:
        """Write the engine state at the current seq (after it is durable) and start a segment."""
        with self._lock:
            seq = self.seq
            self.committer.wait_durable(seq)
            payload = snapshot.dumps(self.engine)
            write_snapshot(self.directory, seq, payload)
            self.committer.rotate()
            self._since_snapshot = 0
            return seq

    def state_hash(self) -> str:
        with self._lock:
            return snapshot.state_hash(self.engine)

    def close(self) -> None:
        """Flush and close; raises `JournalFailed` (after closing) if the writer had failed."""
        try:
            self.committer.close()
        finally:
            self.journal.close()
