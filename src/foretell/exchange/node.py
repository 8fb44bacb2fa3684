"""The single-node exchange, wired in one place: every stage from a command to its readers.

  # 1 store      migrate the read model; read the last seq the projector applied
  # 2 recover    engine from the latest snapshot + the journal after it (exchange/recovery.py);
                 the outcomes the store has not seen are projected before anything else runs
  # 3 sequence   `submit`: stamp, journal (group commit), apply in the engine, on the loop
  # 4 ack        `durable` / `when_durable`: a caller is answered once its seq is on disk
  # 5 project    every durable batch -> the projector (SQL, a child process by default)
  # 6 publish    every durable outcome -> `publish_listeners` on the loop (WebSocket fan-out),
                 in seq order, before the waiting caller is answered

All engine access happens on the event loop's thread, so reads of live state need no lock;
once serving, `engine` refuses to be read from any other thread (a threadpool route walking
live dicts while the loop changed them saw torn state and "dictionary changed size" errors).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.codes import InvariantBroken, Refused
from foretell.domain.outcome import Outcome
from foretell.exchange.pipeline import Halted, Pipeline, journal_message, wall_clock_ms
from foretell.journal.log import JournalError, JournalFailed
from foretell.store.db import connect, migrate
from foretell.store.process import ProjectorProcess
from foretell.store.projector import Projector, ProjectorThread

T = TypeVar("T")
Waiter = Callable[[Outcome | BaseException], None]
log = logging.getLogger(__name__)
replay_batch_max = 2_000


class EngineOffLoop(AssertionError):
    """A bug: live engine state was read from a thread other than the event loop's."""


class Node:
    clustered = False  # a cluster gateway's node: many serve one exchange (pages get the
    # gateway list, singleton jobs take a lease)

    def __init__(self, settings: Settings, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.settings = settings
        self.clock = clock
        self._loop_thread: int | None = None  # set by `attach`: the only thread on the engine
        self.loop: asyncio.AbstractEventLoop | None = None
        settings.data.mkdir(parents=True, exist_ok=True)
        # 1 store
        migrate(settings.db_url)
        self.db = connect(settings.db_url)
        self.projector = Projector(self.db)
        # 2 recover, projecting whatever the store has not applied yet
        backlog: list[Outcome] = []
        self.pipeline = Pipeline(settings.journal_dir, clock=clock,
                                 project_after=self.projector.last_seq(),
                                 on_replay=backlog.append)
        for start in range(0, len(backlog), replay_batch_max):
            self.projector.apply(backlog[start:start + replay_batch_max])
        # 5 project: the SQL work runs in a child process by default; in this one it held the
        # GIL that the event loop answering orders needs (store/process.py).
        self.projector_process = ProjectorProcess(settings.db_url) if settings.projector_process \
            else None
        self.projection = ProjectorThread(_Tracking(self.projector_process or self.projector,
                                                    self.projector.last_seq()))
        self.pipeline.batch_listeners.append(self._durable)
        self.pipeline.failure_listeners.append(self._journal_failed)
        # 6 publish, on the loop, in seq order, before the caller's answer
        self.publish_listeners: list[Callable[[Outcome], None]] = []
        # seq -> what to call on the loop once that command is durable (or the journal failed)
        self._waiters: dict[int, Waiter] = {}
        self.account_seq: dict[int, int] = {}  # each account's latest command (read-your-writes)
        self.published_seq = 0  # the last seq published and answered on the loop

    @property
    def engine(self) -> Any:
        owner = self._loop_thread
        if owner is not None and owner != threading.get_ident():
            raise EngineOffLoop("engine state read off the event loop: make the route async")
        return self.pipeline.engine

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run blocking store work (SQL) in the threadpool, so the loop keeps answering; it
        must not touch the engine (read that on the loop, before or after)."""
        return await run_in_threadpool(work)

    def on_loop(self, call: Callable[[], None]) -> None:
        """Run `call` on the loop: now when on it, else as soon as it can (from a thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        if self._loop_thread == threading.get_ident():
            call()
        else:
            loop.call_soon_threadsafe(call)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Serving is about to begin (the cluster's gateway node connects here)."""

    async def stop(self) -> None:
        """Serving has ended (before `close`)."""

    def singleton(self, job: str,
                  work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """A background job of which one runs in the whole exchange (the news poller, the
        chain jobs, the demo market maker): here, started now. A cluster gateway runs it only
        while it holds the job's lease."""
        return asyncio.create_task(work())

    async def caught_up(self, timeout_s: float = 10.0) -> bool:
        """Wait until the engine here has applied every command stored before the call (False
        if not within `timeout_s`). Here at once: this node's engine is where they are applied."""
        return True

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve from this loop: durable outcomes are published and answered on it."""
        self.loop = loop
        self._loop_thread = threading.get_ident()

    def close(self) -> None:
        """Stop everything even after a failure, then raise the first failure (a failed journal
        raises `JournalFailed`: not everything submitted is durable)."""
        failures: list[BaseException] = []
        for step in (self.pipeline.close, self.projection.close, self._close_projector,
                     self.db.dispose):
            try:
                step()
            except BaseException as failure:  # noqa: PERF203 - each step must run
                failures.append(failure)
        if failures:
            raise failures[0]

    def _close_projector(self) -> None:
        # Not while the projector thread may still be inside `apply` (its close timed out).
        if self.projector_process is not None and not self.projection.running:
            self.projector_process.close()

    # -- 3 sequence, 4 ack --------------------------------------------------------------------

    def submit(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        """Sequence, journal and apply a command (on the loop); it is not durable yet."""
        try:
            outcome = self.pipeline.submit(command)[-1]
        except OverflowError as exc:  # a number no command field can hold: nothing was journaled
            raise Refused("invalid_request", "a number is out of range") from exc
        except (Halted, InvariantBroken) as exc:  # stopped: an operator must look
            raise Refused("unavailable", "The exchange stopped on a broken invariant; an "
                          "operator must look before it takes commands again.") from exc
        except JournalFailed as exc:  # refused before it was journaled or applied
            raise Refused("unavailable") from exc
        except JournalError as exc:  # closed: shutting down
            raise Refused("unavailable", journal_message(exc)) from exc
        if account_id is not None:
            self.account_seq[account_id] = outcome.seq
        return outcome

    def when_durable(self, outcome: Outcome, callback: Waiter) -> None:
        """Call back on the loop once `outcome` is durable, or with the journal's failure.

        Only while serving (`attach`): `_published` answers the waiters on the loop."""
        assert self.loop is not None, "when_durable needs an attached event loop"
        failure = self.pipeline.committer.failure
        if failure is not None:
            callback(failure)
        else:
            # Callers register right after `submit`, on the loop, so the outcome cannot have
            # been published yet: that only happens in a later loop callback.
            self._waiters[outcome.seq] = callback

    async def durable(self, outcome: Outcome) -> Outcome:
        """Wait until `outcome` (and so everything before it) is durable; returns it (a
        cluster gateway's node returns the outcome that came back for what it submitted)."""
        if outcome.seq <= self.published_seq:  # durable and answered already (a batch's)
            return outcome
        if self.loop is None:  # not serving (CLI, offline tools): wait on the writer's future
            await asyncio.wrap_future(self.pipeline.committer.durable_future(outcome.seq))
            self.pipeline.maybe_snapshot()
        else:  # `_published` answers, and takes any due snapshot
            future: asyncio.Future[Any] = self.loop.create_future()
            self.when_durable(outcome, partial(_resolve, future))
            await future
        return outcome

    async def execute(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        return await self.durable(self.submit(command, account_id))

    # -- 5 project, 6 publish -----------------------------------------------------------------

    def _durable(self, outcomes: list[Outcome]) -> None:
        """On the journal writer thread, once per durable batch: to the projector, and in one
        hand-off to the loop for the publishers and the waiting requests."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._published, outcomes)
        self.projection.submit_many(outcomes)

    def _published(self, outcomes: list[Outcome]) -> None:
        """On the loop: publish each durable outcome, then answer whoever waits on it."""
        for outcome in outcomes:
            self.published_seq = outcome.seq
            for listener in self.publish_listeners:
                try:
                    listener(outcome)
                except Exception:  # a publishing bug must not hold back acknowledgements
                    log.exception("publishing seq %d failed", outcome.seq)
            waiter = self._waiters.pop(outcome.seq, None)
            if waiter is not None:
                _call(waiter, outcome)
        self.pipeline.maybe_snapshot()  # also for orders that no request awaits (WebSocket)

    def _journal_failed(self, failure: BaseException) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fail_waiters, failure)

    def _fail_waiters(self, failure: BaseException) -> None:
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            _call(waiter, failure)

    # -- reads of the pipeline's own state ----------------------------------------------------

    def gateways(self) -> list[str]:
        """The public base URLs of the gateways a page may move to: one node, just itself."""
        return [self.settings.public_base_url]

    def health(self) -> dict[str, Any]:
        committer = self.pipeline.committer
        tracking = self.projection.projector
        projected = tracking.applied_seq if isinstance(tracking, _Tracking) else 0
        return {"status": "failed" if committer.failure or self.projection.error else "ok",
                "seq": self.pipeline.seq, "durable_seq": committer.durable_seq,
                "projected_seq": projected,
                "projector_lag": max(0, committer.durable_seq - projected),
                "projector_mode": self._projector_mode(), "server_time_ms": self.clock()}

    def _projector_mode(self) -> str:
        """thread, or process-idle / process-normal (escalated: idle priority starved)."""
        child = self.projector_process
        if child is None:
            return "thread"
        return "process-idle" if child.idle else "process-normal"

    async def read_your_writes(self, account_id: int, timeout_s: float = 10.0) -> None:
        """Wait until the store has applied this account's latest command (bounded). The wait
        is long because a saturated machine can starve the idle-priority projector for seconds,
        and a stale read (a draft just saved answered 404) is worse than a slow one; it holds up
        only this request."""
        seq = self.account_seq.get(account_id, 0)
        deadline = time.monotonic() + timeout_s
        tracking = self.projection.projector
        assert isinstance(tracking, _Tracking)
        while tracking.applied_seq < seq and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    def wait_projected(self, timeout_s: float = 30.0) -> None:
        """Block until the store has applied every command submitted so far (offline tools and
        tests; a batch reaches the projector on the journal writer's thread, after the caller
        was answered, so flushing the projector alone can miss the latest one)."""
        tracking = self.projection.projector
        assert isinstance(tracking, _Tracking)
        deadline = time.monotonic() + timeout_s
        while tracking.applied_seq < self.pipeline.seq:
            if self.projection.error is not None or time.monotonic() > deadline:
                raise TimeoutError(f"the store is at seq {tracking.applied_seq}, "
                                   f"the journal at {self.pipeline.seq}")
            time.sleep(0.002)

    async def run_timers(self) -> None:
        """Apply a Timer command when the engine has a deadline due (expiries, market close,
        resolutions, dead-man's switches): time enters the engine only through commands."""
        deadline = self.engine.next_deadline_ms()
        if deadline and self.clock() >= deadline:
            await self.execute(cmd.Timer(0))


class _Tracking:
    """The projector, remembering the last seq it committed (for read-your-writes)."""

    def __init__(self, projector: Projector | ProjectorProcess, applied_seq: int) -> None:
        self.projector = projector
        self.applied_seq = applied_seq

    def apply(self, outcomes: Any) -> int:
        applied = self.projector.apply(outcomes)
        if outcomes:
            self.applied_seq = max(self.applied_seq, outcomes[-1].seq)
        return applied


def _resolve(future: asyncio.Future[Any], result: Outcome | BaseException) -> None:
    if future.done():  # the request was cancelled (client gone)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _call(waiter: Waiter, result: Outcome | BaseException) -> None:
    try:
        waiter(result)
    except Exception:  # one broken reply must not strand the others in the batch
        log.exception("answering a durable command failed")

