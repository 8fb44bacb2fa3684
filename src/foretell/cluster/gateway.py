"""The node a gateway process serves the app from: the same interface as the single-node
`Node` (submit / durable / execute / engine reads / publish listeners / health), over JetStream.

  # 1 follow   a follower replica in this process applies the command stream: the routes that
               read live state (balances, books, quotes) read it, on the loop
  # 2 publish  `submit` stamps the command and publishes it to the command stream with a
               Nats-Msg-Id (an order's is its account and client order id: a retry, even
               through another gateway, is stored once and answered with the first outcome)
  # 3 answer   the leader's outcome for that seq comes back on the event stream; the caller is
               answered once it is there and the follower here has applied that seq too, so a
               read right after the answer sees the order
  # 4 fan out  every outcome from the event stream -> `publish_listeners` in seq order
               (WebSocket hub, risk controls), as the single node does with durable outcomes
  # 5 announce its public base URL in the gateway bucket (TTL) every 2 s and watch the others':
               `gateways()` is the live list a web page moves along when its gateway dies
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from foretell.cluster.jobs import Jobs, Work, gateway_id, holders
from foretell.cluster.replica import Follower
from foretell.cluster.streams import (
    Cluster,
    ClusterSettings,
    connect,
    decode_events,
    gateway_announce_s,
    gateway_ttl_s,
    read_stream,
    retrying,
)
from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.codes import Refused
from foretell.domain.events import BookLevel
from foretell.domain.outcome import Outcome
from foretell.exchange.node import Node, Waiter
from foretell.exchange.pipeline import wall_clock_ms
from foretell.store import schema as t
from foretell.store.db import connect as connect_db
from foretell.store.db import migrate

log = logging.getLogger(__name__)
publish_timeout_s = 10.0  # keep retrying a command's publish (same message id) this long
answer_timeout_s = 30.0  # no outcome for a stored command within this: 503, outcome unknown
recent_answers_max = 50_000
health_every_s = 1.0
# A replica reports its status every 0.5 s (replica.status_every_s); silent this long, it is
# shown as unreachable (wide enough for some clock skew between machines).
replica_silent_ms = 10_000


@dataclass(frozen=True)
class Pending(Outcome):
    """A command published but not answered yet: `durable` gives its real outcome."""

    future: asyncio.Future[Outcome] | None = field(default=None, compare=False)


class _Committer:
    def __init__(self) -> None:
        self.durable_seq = 0
        self.failure: BaseException | None = None


class _PipelineView:
    """What the app reads of `node.pipeline` (the hub's book seqs, the last seq seen)."""

    def __init__(self, follower: Follower) -> None:
        self.follower = follower
        self.committer = _Committer()
        self.book_seq: dict[int, int] = {}

    @property
    def seq(self) -> int:
        return self.follower.seq


class GatewayNode(Node):
    clustered = True

    def __init__(self, settings: Settings, cluster: ClusterSettings,
                 clock: Callable[[], int] = wall_clock_ms) -> None:
        # Not Node.__init__: no journal, no projector here; the same attributes the app reads.
        self.settings = settings
        self.clock = clock
        self.cluster_settings = cluster
        self._loop_thread = None
        self.loop = None
        settings.data.mkdir(parents=True, exist_ok=True)
        migrate(settings.db_url)
        self.db = connect_db(settings.db_url)
        self.follower = Follower(cluster)
        self._view = _PipelineView(self.follower)
        self.pipeline = self._view  # type: ignore[assignment]
        self.publish_listeners: list[Callable[[Outcome], None]] = []
        self.account_seq: dict[int, int] = {}
        self.cluster: Cluster | None = None
        self._answers: OrderedDict[int, Outcome] = OrderedDict()  # recent outcomes by seq
        self._waiting: dict[int, list[asyncio.Future[Outcome]]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._evt_seen = 0
        self._health: dict[str, Any] = {}
        self.gateway_key = f"gw-{uuid.uuid4().hex[:12]}"  # this process in the gateway bucket
        self._gateways: dict[str, tuple[str, float]] = {}  # key -> (URL, monotonic last heard)
        self.jobs: Jobs | None = None  # the singleton jobs this gateway contends for
        self.follower.applied_listeners.append(self._applied)

    @property
    def engine(self) -> Any:
        return self.follower.engine

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, load the latest snapshot, catch up with the command stream, then follow
        both streams."""
        self.cluster = cluster = await connect(self.cluster_settings, name="gateway")
        await retrying(partial(self.follower.load, cluster))
        await retrying(self.follower.catch_up)
        self._evt_seen = self.follower.seq
        self._view.committer.durable_seq = self.follower.seq
        start = await retrying(partial(cluster.evt_start_after, self.follower.seq))
        self._tasks = [asyncio.create_task(self.follower.follow()),
                       asyncio.create_task(self._events(start)),
                       asyncio.create_task(self._watch_health()),
                       asyncio.create_task(self._announce()),
                       asyncio.create_task(cluster.watch_gateways(self._gateways))]
        self.jobs = Jobs(cluster, gateway_id(self.settings.port))

    def singleton(self, job: str, work: Work) -> asyncio.Task[None]:
        """Run `work` only while this gateway holds the job's lease (cluster/jobs.py)."""
        assert self.jobs is not None, "start the node first"
        return self.jobs.run(job, work)

    async def caught_up(self, timeout_s: float = 10.0) -> bool:
        """Wait until the follower here has applied every command the stream held at the call
        (other gateways' included); False if not within `timeout_s`."""
        assert self.cluster is not None, "start the node first"
        target = await self.cluster.last_cmd_seq()
        deadline = time.monotonic() + timeout_s
        while self.follower.seq < target:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def stop(self) -> None:
        if self.cluster is not None:  # off the list at once, not after the TTL
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.cluster.withdraw_gateway(self.gateway_key), 2.0)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.cluster is not None:
            await self.cluster.close()

    def close(self) -> None:
        self.db.dispose()

    # -- 2 publish, 3 answer ------------------------------------------------------------------

    def submit(self, command: cmd.Command, account_id: int | None = None,
               msg_id: str | None = None) -> Outcome:
        """`msg_id`: the de-duplication id, when the caller names the command itself."""
        if self.cluster is None or self.loop is None:
            raise Refused("unavailable", "The gateway is not connected to the cluster yet.")
        command = cmd_stamped(command, self.clock())
        future: asyncio.Future[Outcome] = self.loop.create_future()
        pending = Pending(0, command, "pending", None, [], future)
        task = self.loop.create_task(self._send(command, account_id, future, msg_id))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)
        return pending

    async def _send(self, command: cmd.Command, account_id: int | None,
                    future: asyncio.Future[Outcome], msg_id: str | None = None) -> None:
        assert self.cluster is not None
        headers = {"Nats-Msg-Id": msg_id or message_id(command)}
        payload = cmd.encode(command)
        deadline = time.monotonic() + publish_timeout_s
        while True:
            try:
                ack = await self.cluster.publisher.publish(self.cluster_settings.cmd_subject,
                                                           payload, headers, timeout_s=2.0)
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    if not future.done():
                        future.set_exception(Refused("unavailable", "The command stream did "
                                                     "not take the command; nothing was done."))
                    log.warning("publishing a command failed: %s", exc)
                    return
                await asyncio.sleep(0.1)
        seq = int(ack.seq)
        if account_id is not None:
            self.account_seq[account_id] = max(seq, self.account_seq.get(account_id, 0))
        answer = self._answers.get(seq)
        if answer is not None and self.follower.seq >= seq:
            _settle(future, answer)
            return
        self._waiting.setdefault(seq, []).append(future)
        self.loop.call_later(answer_timeout_s, self._give_up, seq, future)  # type: ignore[union-attr]

    def _give_up(self, seq: int, future: asyncio.Future[Outcome]) -> None:
        if not future.done():
            future.set_exception(Refused("unavailable", "No outcome came back for this command "
                                         "in time; look the order up by its client_order_id."))
        waiting = self._waiting.get(seq)
        if waiting and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._waiting[seq]

    def when_durable(self, outcome: Outcome, callback: Waiter) -> None:
        if not isinstance(outcome, Pending) or outcome.future is None:
            callback(outcome)
            return

        def done(future: asyncio.Future[Outcome]) -> None:
            if future.cancelled():
                return
            failure = future.exception()
            callback(failure if failure is not None else future.result())

        outcome.future.add_done_callback(done)

    async def durable(self, outcome: Outcome) -> Outcome:
        if isinstance(outcome, Pending) and outcome.future is not None:
            return await asyncio.shield(outcome.future)
        return outcome

    async def execute(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        return await self.durable(self.submit(command, account_id))

    def _applied(self, outcome: Outcome) -> None:
        """The follower here applied `outcome.seq`: answer whoever waited for it."""
        answer = self._answers.get(outcome.seq)
        if answer is not None:
            self._answer(answer)

    def _answer(self, outcome: Outcome) -> None:
        for future in self._waiting.pop(outcome.seq, ()):
            _settle(future, outcome)

    # -- 4 fan out ----------------------------------------------------------------------------

    async def _events(self, start: int) -> None:
        assert self.cluster is not None
        s = self.cluster_settings
        while True:
            try:
                async for evt_seq, data in read_stream(self.cluster, s.evt_stream,
                                                       s.evt_subject, start):
                    start = evt_seq + 1
                    for outcome in decode_events(data):
                        self._event(outcome)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the event stream failed; subscribing again")
                await asyncio.sleep(0.5)

    def _event(self, outcome: Outcome) -> None:
        if outcome.seq <= self._evt_seen:
            return  # published twice would be a bug upstream; never fanned out twice
        self._evt_seen = outcome.seq
        self._view.committer.durable_seq = outcome.seq
        for event in outcome.events:
            if type(event) is BookLevel:  # the contract's book seq
                self._view.book_seq[event.contract] = event.book_seq
        for listener in self.publish_listeners:
            try:
                listener(outcome)
            except Exception:
                log.exception("publishing seq %d failed", outcome.seq)
        self._answers[outcome.seq] = outcome
        while len(self._answers) > recent_answers_max:
            self._answers.popitem(last=False)
        if self.follower.seq >= outcome.seq:
            self._answer(outcome)

    # -- reads --------------------------------------------------------------------------------

    async def _watch_health(self) -> None:
        assert self.cluster is not None
        statuses: dict[str, dict[str, Any]] = {}
        watcher = asyncio.create_task(self.cluster.watch_statuses(statuses))
        self._tasks.append(watcher)
        while True:
            try:
                self._health = await cluster_health(self.cluster, statuses)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._health = {"error": str(exc)}
            await asyncio.sleep(health_every_s)

    async def _announce(self) -> None:
        assert self.cluster is not None
        url = self.settings.public_base_url
        while True:
            try:
                await self.cluster.announce_gateway(self.gateway_key, url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("announcing this gateway failed: %s", exc)
            await asyncio.sleep(gateway_announce_s)

    def gateways(self) -> list[str]:
        """Itself and every gateway announced within the bucket's TTL, each URL once."""
        now = time.monotonic()
        urls = {url for url, heard in self._gateways.values() if now - heard < gateway_ttl_s}
        return sorted(urls | {self.settings.public_base_url})

    def health(self) -> dict[str, Any]:
        cluster = {**self._health, "gateways": self.gateways()}
        projected = int(cluster.get("projector", {}).get("seq", 0))
        return {"status": "ok" if self.follower.halted is None else "failed",
                "seq": self.follower.seq, "durable_seq": self._evt_seen,
                "projected_seq": projected,
                "projector_lag": max(0, self._evt_seen - projected),
                "projector_mode": "cluster", "server_time_ms": self.clock(),
                "cluster": cluster}

    async def read_your_writes(self, account_id: int, timeout_s: float = 2.0) -> None:
        seq = self.account_seq.get(account_id, 0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await run_in_threadpool(self._projected) >= seq:
                return
            await asyncio.sleep(0.005)

    def _projected(self) -> int:
        with self.db.connect() as conn:
            value = conn.scalar(sa.select(t.projector_state.c.last_seq)
                                .where(t.projector_state.c.id == 1))
        return int(value or 0)

    async def run_timers(self) -> None:
        """Timers are the leader's: it publishes them into the command stream."""


async def cluster_health(cluster: Cluster,
                         statuses: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The leader and its epoch, each replica's seq and lag, the projector's lag."""
    import msgspec

    last = await cluster.last_cmd_seq()
    leader: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        entry = await cluster.lease.get("leader")
        if entry.value:
            leader = msgspec.json.decode(entry.value)
    if statuses is None:
        statuses = await cluster.statuses()
    jobs = await holders(cluster)
    replicas = replica_rows(statuses, last, wall_clock_ms())
    projector = statuses.get("projector", {"seq": 0})
    return {"stream_seq": last, "leader": leader.get("id"), "epoch": leader.get("epoch", 0),
            "replicas": replicas,
            "projector": {"seq": projector["seq"], "lag": max(0, last - projector["seq"])},
            "jobs": jobs}


def replica_rows(statuses: dict[str, dict[str, Any]], last_seq: int,
                 now_ms: int) -> list[dict[str, Any]]:
    """Each replica as its last status report says, with that report's age. A replica that
    has not reported for `replica_silent_ms` is shown as "unreachable" (its last role in
    `last_role`): a killed leader's report stays in the bucket, and must not read as a
    second leader beside the one holding the lease."""
    rows = []
    for key, s in sorted(statuses.items()):
        if not key.startswith("replica-"):
            continue
        age_ms = max(0, now_ms - int(s["ts_ms"]))
        row = {"id": s["id"], "role": s["role"], "seq": s["seq"],
               "lag": max(0, last_seq - s["seq"]), "epoch": s["epoch"], "ts_ms": s["ts_ms"],
               "age_ms": age_ms}
        if age_ms > replica_silent_ms:
            row["role"], row["last_role"] = "unreachable", s["role"]
        rows.append(row)
    return rows


def cmd_stamped(command: cmd.Command, now_ms: int) -> cmd.Command:
    import msgspec

    return command if command.ts_ms == now_ms else msgspec.structs.replace(command, ts_ms=now_ms)


_submissions = itertools.count(1)
_process_id = uuid.uuid4().hex  # random per process: ids unique across gateways and restarts


def message_id(command: cmd.Command) -> str:
    """The de-duplication id: an order's (or trigger's) account and client id when it has
    one, so a retried order is stored once; a chain job's cash movement its reason, which
    names the deposit log or the withdrawal (done once, even by a job holder that lost its
    lease with a command in flight); otherwise unique to this submission (this
    process's random id and a count, not a uuid4 and its read of the OS's random source)."""
    if isinstance(command, cmd.Deposit | cmd.Withdraw) and command.reason.startswith("usdc-"):
        return f"r:{command.reason}"
    client_id = getattr(command, "client_id", "")
    if client_id:
        return f"c:{command.account}:{type(command).__name__}:{client_id}"  # type: ignore[attr-defined]
    return f"{_process_id}:{next(_submissions)}"


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)
