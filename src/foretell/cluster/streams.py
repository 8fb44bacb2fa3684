"""What the cluster's processes share on NATS JetStream, and how it is set up.

  <P>_CMD       the command stream (subject <p>.cmd): one message per command, its stream
                sequence IS the engine seq; published by gateways (and timers by the leader)
                with a Nats-Msg-Id, so a retried command is stored once (de-duplication)
  <P>_EVT       the event stream (subject <p>.evt): batches of outcomes in seq order, published
                only by the leader, each with Nats-Msg-Id "o<last seq>" and the expected last
                stream sequence (a second publisher's batch is refused, never interleaved)
  <P>_lease     key-value bucket with a TTL: key `leader` = the leader's lease; the revision at
                which it was created is the fencing epoch
  <P>_status    key-value bucket: each replica's seq (and state hash when idle), the projector's
  <P>_snap      object store: the leader's latest engine snapshot with its seq
  <P>_gateways  key-value bucket with a TTL: each gateway's public base URL, refreshed while it
                runs (the list a web page picks another gateway from when its own dies)

Every name starts with a prefix, so tests on a shared server use names of their own. The
streams' replication (1 on one server, 3 on a cluster) is a setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from foretell.domain.outcome import Outcome, decode_outcome, encode_outcome

T = TypeVar("T")
log = logging.getLogger(__name__)
lease_ttl_s = 3.0  # a leader not heard from for this long loses the lease
lease_renew_s = 0.5
duplicate_window_s = 120.0  # a command retried within this is stored once
outcomes_per_message_max = 500
event_bytes_per_message_max = 512 * 1024
gateway_ttl_s = 10.0  # a gateway not heard from for this long is off the list
gateway_announce_s = 2.0
closed_check_s = 5.0  # an idle reader looks this often whether its connection was closed


@dataclass(frozen=True)
class ClusterSettings:
    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    prefix: str = "foretell"
    replicas: int = 1  # stream replication: 1 (one server) or 3 (a cluster)
    snapshot_every: int = 10_000  # the leader writes a snapshot every N commands

    @classmethod
    def from_env(cls, **overrides: Any) -> ClusterSettings:
        env = os.environ
        values: dict[str, Any] = {
            "servers": tuple(s.strip() for s in env.get("FORETELL_NATS_URL",
                                                        cls.servers[0]).split(",") if s.strip()),
            "prefix": env.get("FORETELL_CLUSTER_PREFIX", cls.prefix),
            "replicas": int(env.get("FORETELL_CLUSTER_REPLICAS", cls.replicas)),
            "snapshot_every": int(env.get("FORETELL_SNAPSHOT_EVERY", cls.snapshot_every)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not re.fullmatch(r"[A-Za-z0-9_-]+", values["prefix"]):
            raise ValueError("the cluster prefix takes letters, digits, _ and - only")
        return cls(**values)

    @property
    def cmd_stream(self) -> str:
        return f"{self.prefix.upper()}_CMD"

    @property
    def evt_stream(self) -> str:
        return f"{self.prefix.upper()}_EVT"

    @property
    def cmd_subject(self) -> str:
        return f"{self.prefix}.cmd"

    @property
    def evt_subject(self) -> str:
        return f"{self.prefix}.evt"

    @property
    def lease_bucket(self) -> str:
        return f"{self.prefix}_lease"

    @property
    def status_bucket(self) -> str:
        return f"{self.prefix}_status"

    @property
    def snap_bucket(self) -> str:
        return f"{self.prefix}_snap"

    @property
    def gateway_bucket(self) -> str:
        return f"{self.prefix}_gateways"


@dataclass
class Cluster:
    """A connection to the cluster's streams and buckets."""

    settings: ClusterSettings
    nc: NATS
    js: JetStreamContext
    lease: KeyValue
    status: KeyValue
    snaps: ObjectStore
    gateways: KeyValue
    publisher: Publisher

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.close()

    async def last_cmd_seq(self) -> int:
        info = await self.js.stream_info(self.settings.cmd_stream)
        return int(info.state.last_seq)

    async def last_evt_seq(self) -> int:
        info = await self.js.stream_info(self.settings.evt_stream)
        return int(info.state.last_seq)

    async def put_status(self, key: str, value: dict[str, Any]) -> None:
        await self.status.put(key, msgspec.json.encode(value))

    async def statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        try:
            keys = await self.status.keys()
        except Exception:  # no keys yet (nats-py raises NoKeysError)
            return out
        for key in keys:
            try:
                entry = await self.status.get(key)
            except Exception:  # noqa: PERF203 - deleted between keys() and get()
                continue
            if entry.value:
                out[key] = msgspec.json.decode(entry.value)
        return out

    async def watch_statuses(self, into: dict[str, dict[str, Any]]) -> None:
        """Keep `into` equal to the status bucket (a watcher: pushed, not polled)."""

        def seen(key: str, value: bytes | None) -> None:
            if value:
                into[key] = msgspec.json.decode(value)
            else:
                into.pop(key, None)

        await _watch(self.status, seen, "status")

    async def announce_gateway(self, key: str, url: str) -> None:
        await self.gateways.put(key, msgspec.json.encode({"url": url}))

    async def withdraw_gateway(self, key: str) -> None:
        await self.gateways.delete(key)

    async def watch_gateways(self, into: dict[str, tuple[str, float]]) -> None:
        """Keep `into` as key -> (public URL, time.monotonic() it was last heard of) for every
        gateway in the bucket. An entry that expires by the bucket's TTL sends no event, so
        readers drop the ones not heard of within `gateway_ttl_s` (local time: no clock skew)."""

        def seen(key: str, value: bytes | None) -> None:
            url = ""
            if value:
                with contextlib.suppress(Exception):
                    url = str(msgspec.json.decode(value).get("url", ""))
            if url:
                into[key] = (url, time.monotonic())
            else:
                into.pop(key, None)

        await _watch(self.gateways, seen, "gateway")

    async def events_at(self, stream_seq: int) -> list[Outcome]:
        msg = await self.js.get_msg(self.settings.evt_stream, stream_seq)
        return decode_events(msg.data or b"")

    async def evt_start_after(self, outcome_seq: int) -> int:
        """The first event-stream sequence whose batch holds an outcome after `outcome_seq`
        (binary search: batches are in seq order), or the stream's end + 1."""
        info = await self.js.stream_info(self.settings.evt_stream)
        lo, hi = int(info.state.first_seq or 1), int(info.state.last_seq)
        if hi == 0:
            return 1
        while lo <= hi:
            mid = (lo + hi) // 2
            batch = await self.events_at(mid)
            if batch and batch[-1].seq <= outcome_seq:
                lo = mid + 1
            else:
                hi = mid - 1
        return lo


class PubAck(msgspec.Struct):
    """The stream's answer to a publish (the fields of JetStream's that are used here)."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: dict[str, Any] | None = None


_pub_ack = msgspec.json.Decoder(PubAck)


class Publisher:
    """Publishes to a stream, each answered by the stream's ack on one inbox subscription of
    the connection, any number in flight: what `js.publish` does, without what it costs per
    call on top (random token bytes from the OS for each reply subject, an `asyncio.wait_for`,
    the ack parsed by `json` into a dataclass). Its errors are `js.publish`'s: the ack's error
    as nats-py's `APIError` subclass, `NoStreamResponseError`, `nats.errors.TimeoutError`."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.prefix = f"{nc.new_inbox()}."
        self.waiting: dict[str, asyncio.Future[Msg]] = {}
        self.count = 0

    @classmethod
    async def start(cls, nc: NATS) -> Publisher:
        publisher = cls(nc)
        await nc.subscribe(publisher.prefix + "*", cb=publisher._answered)
        return publisher

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str],
                      timeout_s: float = 5.0) -> PubAck:
        self.count += 1
        token = str(self.count)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Msg] = loop.create_future()
        self.waiting[token] = future
        timer = loop.call_later(timeout_s, _time_out, future)
        try:
            await self.nc.publish(subject, payload, reply=self.prefix + token, headers=headers)
            msg = await future
        finally:
            timer.cancel()
            del self.waiting[token]
        if not msg.data:  # a status message: 503, no stream listens on the subject
            raise nats.js.errors.NoStreamResponseError
        ack = _pub_ack.decode(msg.data)
        if ack.error is not None:
            raise nats.js.errors.APIError.from_error(ack.error)
        return ack

    async def _answered(self, msg: Msg) -> None:
        future = self.waiting.get(msg.subject[len(self.prefix):])
        if future is not None and not future.done():
            future.set_result(msg)


def _time_out(future: asyncio.Future[Msg]) -> None:
    if not future.done():
        future.set_exception(nats.errors.TimeoutError())


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop when it is installed (uvicorn[standard] brings it; the
    gateways already serve on it): much of an engine replica's and a projector's CPU per
    command is the event loop itself, waking for each message."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def connect(settings: ClusterSettings, name: str = "foretell",
                  setup: bool = True, timeout_s: float = 120.0) -> Cluster:
    """Connect (reconnecting forever to any of the servers) and make sure every stream and
    bucket exists with the configured replication; retried while a server is down or the
    cluster has no meta leader yet (a process restarted beside a dying server)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await _connect(settings, name, setup)
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("connecting to the cluster failed (%s); trying again", exc)
            await asyncio.sleep(0.5)


async def retrying(call: Callable[[], Awaitable[T]], timeout_s: float = 120.0) -> T:
    """`call()` again until it works (a server restarting, a stream electing its leader)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await call()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("a cluster request failed (%s); trying again", exc)
            await asyncio.sleep(0.5)


async def _watch(kv: KeyValue, seen: Callable[[str, bytes | None], None], what: str) -> None:
    """Hand every change of a bucket to `seen` (key, value; None for a delete or purge) for
    as long as the task runs, watching again after a failure."""
    while True:
        try:
            watcher = await kv.watchall()
            while True:
                try:
                    entry = await watcher.updates(timeout=5.0)  # type: ignore[no-untyped-call]
                except nats.errors.TimeoutError:
                    continue
                if entry is None:
                    continue
                seen(entry.key, entry.value if entry.value and entry.operation is None
                     else None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("watching the %s bucket failed (%s); watching again", what, exc)
            await asyncio.sleep(0.5)


async def _connect(settings: ClusterSettings, name: str, setup: bool) -> Cluster:
    nc = await nats.connect(servers=list(settings.servers), name=name, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.2, connect_timeout=2,
                            allow_reconnect=True)
    try:
        js = nc.jetstream(timeout=5)
        if setup:
            await ensure(js, settings)
        return Cluster(settings, nc, js, await js.key_value(settings.lease_bucket),
                       await js.key_value(settings.status_bucket),
                       await js.object_store(settings.snap_bucket),
                       await js.key_value(settings.gateway_bucket),
                       await Publisher.start(nc))
    except BaseException:
        await nc.close()
        raise


async def ensure(js: JetStreamContext, s: ClusterSettings) -> None:
    for name, subject in ((s.cmd_stream, s.cmd_subject), (s.evt_stream, s.evt_subject)):
        try:
            await js.stream_info(name)
        except NotFoundError:
            await _retry(js.add_stream, name=name, subjects=[subject], num_replicas=s.replicas,
                         storage=api.StorageType.FILE, duplicate_window=duplicate_window_s)
    for bucket, ttl in ((s.lease_bucket, lease_ttl_s), (s.status_bucket, None),
                        (s.gateway_bucket, gateway_ttl_s)):
        try:
            await js.key_value(bucket)
        except Exception:  # BucketNotFoundError
            await _retry(js.create_key_value, bucket=bucket, ttl=ttl, replicas=s.replicas,
                         history=1)
    try:
        await js.object_store(s.snap_bucket)
    except Exception:  # BucketNotFoundError
        await _retry(js.create_object_store, s.snap_bucket,
                     config=api.ObjectStoreConfig(replicas=s.replicas))


async def _retry(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Stream creation right after a cluster starts can fail until it has a meta leader."""
    for attempt in range(40):
        try:
            return await call(*args, **kwargs)
        except Exception as exc:  # noqa: PERF203
            if "already in use" in str(exc) or "exists" in str(exc):
                return None
            if attempt == 39:
                raise
            await asyncio.sleep(0.25)
    return None


async def destroy(settings: ClusterSettings) -> None:
    """Delete every stream and bucket of this prefix (tests clean up after themselves)."""
    nc = await nats.connect(servers=list(settings.servers), connect_timeout=2)
    js = nc.jetstream()
    try:
        for name in (settings.cmd_stream, settings.evt_stream):
            try:
                await js.delete_stream(name)
            except NotFoundError:
                pass
        for bucket in (settings.lease_bucket, settings.status_bucket, settings.gateway_bucket):
            try:
                await js.delete_key_value(bucket)
            except NotFoundError:
                pass
        try:
            await js.delete_object_store(settings.snap_bucket)
        except NotFoundError:
            pass
    finally:
        await nc.close()


def encode_events(outcomes: list[Outcome]) -> bytes:
    return msgspec.msgpack.encode([encode_outcome(o) for o in outcomes])


_batch = msgspec.msgpack.Decoder(list[bytes])


def decode_events(data: bytes) -> list[Outcome]:
    return [decode_outcome(item) for item in _batch.decode(data)] if data else []


async def read_stream(cluster: Cluster, stream: str, subject: str, start_seq: int,
                      end_seq: int | None = None) -> AsyncIterator[tuple[int, bytes]]:
    """(stream seq, payload) from `start_seq` on, in order (an ordered consumer: no gap, no
    repeat), until `end_seq` (None: forever).

    Not `sub.messages`: nats-py answers the server's flow-control requests of an iterated
    subscription only from a task polling every 250 ms, and the server holds the consumer's
    messages back until that answer comes, so commands reached the leader and outcomes the
    gateways up to a quarter of a second late under load; the iterator also costs a task and
    an `asyncio.wait` per message. Here each message is taken off the subscription's queue and
    a flow-control request is answered as soon as the message before it has been taken (what
    nats-py's own `next_msg` does): no wait, and the server still never runs further ahead of
    this reader than its flow-control window. A plain `get` off that queue (no `wait_for` and
    its task per message; a watcher wakes the reader if the connection closes), and the stream
    sequence read from the reply subject alone. (A callback subscription would answer at arrival
    and so lose that back-pressure.) Falls back to the iterator if nats-py changes inside."""
    if end_seq is not None and end_seq < start_seq:
        return
    sub = await cluster.js.subscribe(
        subject, stream=stream, ordered_consumer=True, idle_heartbeat=1.0,
        pending_msgs_limit=1_000_000,
        pending_bytes_limit=1024 * 1024 * 1024,
        config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                  opt_start_seq=max(1, start_seq)))
    messages = _taken(cluster, sub) if _internals_known(sub) else _iterated(sub)
    try:
        async for msg in messages:
            seq = _stream_seq(msg)
            yield seq, msg.data
            if end_seq is not None and seq >= end_seq:
                return
    finally:
        with contextlib.suppress(Exception):
            await messages.aclose()
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def _internals_known(sub: Any) -> bool:
    jsi = getattr(getattr(sub, "_sub", None), "_jsi", None)
    return (isinstance(getattr(sub, "_pending_queue", None), asyncio.Queue)
            and all(hasattr(jsi, name) for name in ("_fcr", "_fcd", "get_js_delivered")))


async def _iterated(sub: Any) -> AsyncGenerator[Msg, None]:
    async for msg in sub.messages:
        yield msg


async def _taken(cluster: Cluster, sub: Any) -> AsyncGenerator[Msg, None]:
    pending: asyncio.Queue[Msg | None] = sub._pending_queue
    jsi = sub._sub._jsi
    watch = asyncio.get_running_loop().create_task(_closed_watch(cluster, pending))
    try:
        while True:
            # A plain `get`: `asyncio.wait_for` around it would cost a task per message.
            msg = pending.get_nowait() if pending.qsize() else await pending.get()
            if msg is None:
                raise nats.errors.ConnectionClosedError
            pending.task_done()
            sub._pending_size -= len(msg.data)
            if jsi._fcr and jsi.get_js_delivered() >= jsi._fcd:
                reply, jsi._fcr, jsi._fcd = jsi._fcr, None, 0
                with contextlib.suppress(Exception):
                    await cluster.nc.publish(reply)
            yield msg
    finally:
        watch.cancel()


async def _closed_watch(cluster: Cluster, pending: asyncio.Queue[Msg | None]) -> None:
    """Wake an idle reader (None on its queue) once its connection is closed."""
    while not cluster.nc.is_closed:
        await asyncio.sleep(closed_check_s)
    pending.put_nowait(None)


def _stream_seq(msg: Msg) -> int:
    """The stream sequence from the reply subject `$JS.ACK.<stream>.<consumer>.<delivered>.
    <stream seq>.<consumer seq>.<ts>.<pending>` (what nats-py's ordered consumer reads too),
    without building the whole `msg.metadata`; any other form goes through `msg.metadata`."""
    reply = msg.reply
    if reply.startswith("$JS.ACK."):
        tokens = reply.split(".")
        if len(tokens) == 9:
            return int(tokens[5])
    return int(msg.metadata.sequence.stream)
