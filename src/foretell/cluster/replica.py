"""An engine replica: the latest snapshot, then the command stream applied in order.

Every replica applies exactly the commands of the stream, in stream order, each stamped
deterministically (`max(command ts, engine now)`), so all hold the same state at the same seq
(same state hash). The stream sequence is the engine seq: nothing is applied twice or skipped
(an ordered consumer, and a check that each seq is the last one + 1).

One replica is the leader: it holds the `leader` key of the lease bucket (created only when
absent, renewed against its revision; the revision at creation is its fencing epoch). Only the
leader publishes: outcomes to the event stream, timers to the command stream, snapshots to the
object store. Outcome batches are fenced by the event stream itself: each is published with the
stream's expected last sequence, so a deposed leader that has not noticed yet cannot interleave
or repeat a batch; a new leader first reads the event stream's tail and publishes only what
follows it (the followers keep the outcomes the leader has not yet reported as published).
Timers need no fence: a timer is a command like any other, applied identically everywhere, and
a repeated one (two leaders for a moment) expires nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec
from nats.js.errors import KeyNotFoundError

from foretell.cluster.streams import (
    Cluster,
    ClusterSettings,
    connect,
    encode_events,
    event_bytes_per_message_max,
    lease_renew_s,
    outcomes_per_message_max,
    read_stream,
    retrying,
    run_loop,
)
from foretell.domain import commands as cmd
from foretell.domain.codes import InvariantBroken
from foretell.domain.outcome import Outcome
from foretell.engine import snapshot
from foretell.engine.engine import Engine
from foretell.exchange.pipeline import outcome_of, wall_clock_ms

log = logging.getLogger(__name__)
recent_outcomes_max = 1_000_000  # outcomes kept for a takeover; beyond it the replica stops
timer_poll_s = 0.1
status_every_s = 0.5
yield_every = 256
snapshot_read_s = 60.0  # give the loop to the lease and status tasks during a long catch-up


def stamped(engine: Engine, command: cmd.Command) -> cmd.Command:
    """The command with the time the engine applies it at: never before the engine's now."""
    if command.ts_ms >= engine.now_ms:
        return command
    return msgspec.structs.replace(command, ts_ms=engine.now_ms)


def snapshot_payload(seq: int, engine: Engine, book_seq: dict[int, int]) -> bytes:
    return msgspec.msgpack.encode([seq, snapshot.dumps(engine), book_seq])


def load_snapshot(payload: bytes) -> tuple[int, Engine, dict[int, int]]:
    seq, data, book_seq = msgspec.msgpack.decode(payload, type=tuple[int, bytes, dict[int, int]])
    return seq, snapshot.loads(data), book_seq


async def latest_snapshot(cluster: Cluster) -> tuple[int, Engine, dict[int, int]]:
    """The snapshot the `snapshot` pointer names (written only once its object is whole), or
    the empty engine at seq 0 (the command stream keeps every command: a replay from scratch
    is always possible, only slower)."""
    try:
        pointer = await cluster.status.get("snapshot")
    except KeyNotFoundError:
        return 0, Engine(), {}
    name = msgspec.json.decode(pointer.value or b"{}").get("name", "")
    try:
        result = await asyncio.wait_for(cluster.snaps.get(name), snapshot_read_s)
        return load_snapshot(result.data or b"")
    except Exception as exc:  # unreadable: replay everything rather than stop
        log.warning("snapshot %s unreadable (%r): replaying the stream from scratch", name, exc)
        return 0, Engine(), {}


async def put_snapshot(cluster: Cluster, seq: int, payload: bytes) -> None:
    """Write the object, then point at it, then drop the one pointed at before (a writer
    killed mid-way leaves at worst an orphan object, never a pointer to half of one)."""
    previous = ""
    with contextlib.suppress(KeyNotFoundError):
        entry = await cluster.status.get("snapshot")
        previous = msgspec.json.decode(entry.value or b"{}").get("name", "")
    name = f"s{seq}"
    await cluster.snaps.put(name, payload)
    await cluster.status.put("snapshot", msgspec.json.encode({"name": name, "seq": seq}))
    if previous and previous != name:
        with contextlib.suppress(Exception):
            await cluster.snaps.delete(previous)


class Follower:
    """The engine state at `seq`: a snapshot, then every command of the stream after it."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.engine = Engine()
        self.seq = 0
        self.book_seq: dict[int, int] = {}
        self.halted: InvariantBroken | None = None
        self.applied_listeners: list[Callable[[Outcome], None]] = []
        self.cluster: Cluster | None = None

    async def load(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.seq, self.engine, self.book_seq = await latest_snapshot(cluster)

    async def catch_up(self) -> None:
        """Apply everything the stream holds now (before serving)."""
        assert self.cluster is not None
        last = await self.cluster.last_cmd_seq()
        async for seq, data in read_stream(self.cluster, self.settings.cmd_stream,
                                           self.settings.cmd_subject, self.seq + 1, last):
            self._apply(seq, data)

    async def follow(self) -> None:
        """Apply the stream's commands as they come, forever."""
        assert self.cluster is not None
        count = 0
        while True:
            try:
                async for seq, data in read_stream(self.cluster, self.settings.cmd_stream,
                                                   self.settings.cmd_subject, self.seq + 1):
                    self._apply(seq, data)
                    count += 1
                    if count % yield_every == 0:
                        await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except InvariantBroken:
                return
            except Exception:  # the consumer broke (server lost): subscribe again
                log.exception("reading the command stream failed; subscribing again")
                await asyncio.sleep(0.5)

    def _apply(self, seq: int, data: bytes) -> None:
        if seq <= self.seq:
            return  # already applied (a resubscription overlapped)
        if seq != self.seq + 1:
            raise RuntimeError(f"command stream gap: seq {seq} after {self.seq}")
        if self.halted is not None:
            raise self.halted
        command = stamped(self.engine, cmd.decode(data))
        try:
            code, value = self.engine.apply(command)
        except InvariantBroken as broken:
            self.halted = broken
            log.critical("engine halted at seq %d: %s", seq, broken)
            raise
        outcome = outcome_of(self.engine, self.book_seq, seq, command, code, value)
        self.seq = seq
        for listener in self.applied_listeners:
            listener(outcome)


class Replica(Follower):
    """A follower that may lead: lease, outcomes, timers, snapshots, status."""

    def __init__(self, settings: ClusterSettings, replica_id: str) -> None:
        super().__init__(settings)
        self.id = replica_id
        self.leader = False
        self.epoch = 0
        self.lease_rev = 0
        self.published = 0  # last outcome seq known to be in the event stream
        self.evt_seq = 0  # the event stream's last sequence, as this leader knows it
        self.recent: deque[Outcome] = deque()
        self._wake = asyncio.Event()
        self._hash: tuple[int, str] = (-1, "")
        self._last_timer_deadline = 0
        self.applied_listeners.append(self._keep)

    async def run(self) -> None:
        cluster = await connect(self.settings, name=f"engine-{self.id}")
        await retrying(partial(self.load, cluster))
        log.info("replica %s: snapshot at seq %d", self.id, self.seq)
        tasks = [asyncio.create_task(work()) for work in
                 (self.follow, self._lease_loop, self._publish_loop, self._timer_loop,
                  self._status_loop)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await cluster.close()

    # -- what followers keep for a takeover --------------------------------------------------

    def _keep(self, outcome: Outcome) -> None:
        if outcome.seq > self.published:
            self.recent.append(outcome)
            if len(self.recent) > recent_outcomes_max:
                raise RuntimeError("the leader has not published for too long; stopping")
        if self.leader:
            self._wake.set()
            if outcome.seq % self.settings.snapshot_every == 0:
                payload = snapshot_payload(outcome.seq, self.engine, self.book_seq)
                asyncio.get_running_loop().create_task(self._put_snapshot(outcome.seq, payload))

    def _trim(self) -> None:
        while self.recent and self.recent[0].seq <= self.published:
            self.recent.popleft()

    async def _put_snapshot(self, seq: int, payload: bytes) -> None:
        assert self.cluster is not None
        try:
            await put_snapshot(self.cluster, seq, payload)
        except Exception:
            log.exception("writing a snapshot failed")

    # -- the lease ---------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self._lease_step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lease step failed")
                self._step_down()
            await asyncio.sleep(lease_renew_s)

    def _lease_value(self) -> bytes:
        return msgspec.json.encode({"id": self.id, "epoch": self.epoch,
                                    "published": self.published, "seq": self.seq})

    async def _lease_step(self) -> None:
        assert self.cluster is not None
        lease = self.cluster.lease
        if self.leader:
            try:
                self.lease_rev = await lease.update("leader", self._lease_value(),
                                                    last=self.lease_rev)
            except Exception:
                log.warning("replica %s lost the lease (epoch %d)", self.id, self.epoch)
                self._step_down()
            return
        try:
            entry = await lease.get("leader")
        except KeyNotFoundError:
            entry = None
        if entry is not None and entry.value:
            held = msgspec.json.decode(entry.value)
            self.published = max(self.published, int(held.get("published", 0)))
            self._trim()
            return
        if self.halted is not None:
            return
        try:
            rev = await lease.create("leader", self._lease_value())
        except Exception:  # another replica created it first
            return
        self.epoch = self.lease_rev = rev
        await self._take_over()
        self.lease_rev = await lease.update("leader", self._lease_value(), last=self.lease_rev)

    def _step_down(self) -> None:
        self.leader = False

    async def _take_over(self) -> None:
        """Learn what the event stream holds, then lead: publish whatever follows it."""
        await self._sync_tail()
        self.leader = True
        self._wake.set()
        log.warning("replica %s leads from seq %d (epoch %d, published %d)", self.id, self.seq,
                    self.epoch, self.published)

    async def _sync_tail(self) -> None:
        assert self.cluster is not None
        evt_seq = await self.cluster.last_evt_seq()
        published = 0
        if evt_seq:
            batch = await self.cluster.events_at(evt_seq)
            published = batch[-1].seq if batch else 0
        self.evt_seq = evt_seq
        self.published = max(self.published, published)
        self._trim()
        if self.recent and self.recent[0].seq > self.published + 1:
            raise RuntimeError(f"outcomes {self.published + 1}..{self.recent[0].seq - 1} are "
                               "neither published nor kept here")

    # -- publishing (leader only) --------------------------------------------------------------

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.leader and self.recent:
                try:
                    await self._publish_batch()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("publishing outcomes failed (%s); reading the tail again", exc)
                    await asyncio.sleep(0.05)
                    try:
                        await self._sync_tail()
                    except Exception:
                        log.exception("reading the event stream's tail failed")
                        await asyncio.sleep(0.2)

    async def _publish_batch(self) -> None:
        assert self.cluster is not None
        self._trim()
        batch: list[Outcome] = []
        size = 0
        for outcome in self.recent:
            batch.append(outcome)
            size += 64 + 48 * len(outcome.events)
            if len(batch) >= outcomes_per_message_max or size >= event_bytes_per_message_max:
                break
        if not batch:
            return
        assert batch[0].seq == self.published + 1, (batch[0].seq, self.published)
        ack = await self.cluster.publisher.publish(
            self.settings.evt_subject, encode_events(batch),
            {"Nats-Msg-Id": f"o{batch[-1].seq}", "Nats-Expected-Last-Sequence": str(self.evt_seq)})
        if ack.duplicate:
            raise RuntimeError(f"batch ending at {batch[-1].seq} was already published")
        self.evt_seq = ack.seq
        self.published = batch[-1].seq
        self._trim()

    # -- timers (leader only) ------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while True:
            await asyncio.sleep(timer_poll_s)
            if not self.leader or self.cluster is None:
                continue
            deadline = self.engine.next_deadline_ms()
            now = wall_clock_ms()
            if not deadline or now < deadline or deadline == self._last_timer_deadline:
                continue
            try:
                await self.cluster.publisher.publish(self.settings.cmd_subject,
                                                     cmd.encode(cmd.Timer(now)),
                                                     {"Nats-Msg-Id": f"timer-{deadline}"})
                self._last_timer_deadline = deadline
            except Exception:
                log.exception("publishing a timer failed")

    # -- status ------------------------------------------------------------------------------

    async def _status_loop(self) -> None:
        last_seen = -1
        while True:
            await asyncio.sleep(status_every_s)
            if self.cluster is None:
                continue
            # The state hash costs a walk of the whole state: only once the replica is idle.
            if self.seq == last_seen and self._hash[0] != self.seq:
                self._hash = (self.seq, snapshot.state_hash(self.engine))
            last_seen = self.seq
            try:
                await self.cluster.put_status(f"replica-{self.id}", {
                    "id": self.id, "role": "leader" if self.leader else "follower",
                    "epoch": self.epoch, "seq": self.seq, "published": self.published,
                    "hash_seq": self._hash[0], "state_hash": self._hash[1],
                    "halted": self.halted is not None, "ts_ms": int(time.time() * 1000)})
            except Exception:
                log.warning("writing the replica's status failed")


def run_replica(settings: ClusterSettings, replica_id: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_loop(Replica(settings, replica_id).run())


def hash_of(engine: Any) -> str:
    return snapshot.state_hash(engine)
