"""Singleton jobs of a cluster: work that exactly one gateway at a time does (the news poller,
the real-USDC chain jobs, the demo market maker, loading the demo), chosen by a lease.

  Lease   one key `job-<name>` in the lease bucket (the engine leader's bucket: its TTL drops a
          key not renewed for `lease_ttl_s`). Taken with `create` (only if absent), renewed with
          a compare-and-set on the revision last written; the revision at which it was created
          is the holder's fencing epoch. A holder whose renewal fails, or that has not renewed
          for `held_s` by its own clock, holds nothing: a process paused past the TTL (SIGSTOP,
          a long GC) comes back holding nothing, and its compare-and-set fails because the key
          expired or another holder created it again at a higher revision.
  Jobs    one task per job on each gateway: steps the job's lease every `lease_renew_s`,
          starts the work when it gets the lease, cancels it when it loses the lease, and
          gives the lease up (delete at its revision) when the gateway stops, so another takes
          the job at once; a gateway killed with -9 loses it at the TTL.

What the work does twice if a stale holder acts once more before it notices (a message in
flight): the chain's cash commands are de-duplicated by the command stream (their message ids
name the deposit or withdrawal: see `gateway.message_id`); the demo loader's commands are too
(its step number); a market maker quote twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from foretell.cluster.streams import Cluster, lease_renew_s, lease_ttl_s

log = logging.getLogger(__name__)
JOB_NAMES = ("news", "chain", "demo", "market-maker")  # the ones health reports
held_s = lease_ttl_s - 1.0  # a holder believes it holds this long after a renewal was sent
restart_s = 2.0  # a job that failed is started again after this, on the same holder
Work = Callable[[], Coroutine[Any, Any, None]]


def key_of(job: str) -> str:
    return f"job-{job}"


def gateway_id(port: int) -> str:
    """A gateway's name in the leases and in health: its host and port."""
    return f"{socket.gethostname()}:{port}"


class Lease:
    """One job's lease, as one contender sees it."""

    def __init__(self, kv: KeyValue, job: str, holder: str) -> None:
        self.kv = kv
        self.job = job
        self.key = key_of(job)
        self.holder = holder
        self.epoch = 0  # the revision the key was created at while this contender held it
        self.rev = 0  # the revision this contender last wrote; 0: not held
        self._until = 0.0  # monotonic: held until then unless renewed
        self._lock = asyncio.Lock()  # one compare-and-set at a time (the job loop, `confirm`)

    @property
    def held(self) -> bool:
        return self.rev != 0 and time.monotonic() < self._until

    def _value(self) -> bytes:
        return msgspec.json.encode({"id": self.holder, "epoch": self.epoch,
                                    "ts_ms": int(time.time() * 1000)})

    async def step(self) -> bool:
        """Renew the lease if held, else take it if nobody holds it. True while held."""
        async with self._lock:
            return await self._step()

    async def _step(self) -> bool:
        sent = time.monotonic()
        if self.rev:
            if not self.held:  # paused past the TTL: the key may be someone else's by now
                self._lose("not renewed in time")
                return False
            try:
                self.rev = await self.kv.update(self.key, self._value(), last=self.rev)
            except Exception as exc:
                self._lose(f"renewal refused: {exc!r}")
                return False
            self._until = sent + held_s
            return True
        try:
            rev = await self.kv.create(self.key, self._value())
        except Exception:  # held by another (or the server is away): not ours
            return False
        self.epoch = self.rev = rev
        self._until = sent + held_s
        with contextlib.suppress(Exception):  # the epoch into the value (health shows it)
            self.rev = await self.kv.update(self.key, self._value(), last=self.rev)
        log.warning("%s holds job %s (epoch %d)", self.holder, self.job, self.epoch)
        return True

    async def confirm(self) -> bool:
        """Before an act that must not happen twice: renew now; False (and not held) if the
        lease is no longer this contender's."""
        return bool(self.rev) and await self.step()

    async def release(self) -> None:
        """Give the lease up (only if still ours: a delete at our revision)."""
        async with self._lock:
            rev, self.rev = self.rev, 0
            if rev:
                with contextlib.suppress(Exception):
                    await self.kv.delete(self.key, last=rev)

    def _lose(self, why: str) -> None:
        if self.rev:
            log.warning("%s lost job %s (epoch %d): %s", self.holder, self.job, self.epoch, why)
        self.rev = 0


class Jobs:
    """The singleton jobs a gateway contends for."""

    def __init__(self, cluster: Cluster, holder: str) -> None:
        self.cluster = cluster
        self.holder = holder
        self.leases: dict[str, Lease] = {}

    def lease(self, job: str) -> Lease:
        if job not in self.leases:
            self.leases[job] = Lease(self.cluster.lease, job, self.holder)
        return self.leases[job]

    def run(self, job: str, work: Work) -> asyncio.Task[None]:
        """Contend for `job` for as long as the returned task runs (cancel it to stop): run
        `work()` while holding the job's lease. Work that returns is done here (the lease is
        kept, so nobody starts it again); work that raises is started again."""
        return asyncio.create_task(self._contend(job, work))

    async def _contend(self, job: str, work: Work) -> None:
        lease = self.lease(job)
        task: asyncio.Task[None] | None = None
        retry_at = 0.0
        try:
            while True:
                try:
                    held = await lease.step()
                except Exception:
                    log.exception("job %s: lease step failed", job)
                    held = False
                if held and task is None and time.monotonic() >= retry_at:
                    task = asyncio.create_task(work())
                elif not held and task is not None:
                    await _cancelled(task)
                    task = None
                if task is not None and task.done() and not task.cancelled():
                    failure = task.exception()
                    if failure is not None:
                        log.error("job %s failed (%r); starting it again", job, failure)
                        task, retry_at = None, time.monotonic() + restart_s
                await asyncio.sleep(lease_renew_s)
        finally:
            if task is not None:
                await _cancelled(task)
            await asyncio.shield(lease.release())


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def holders(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Which gateway holds each job (and at which epoch): jobs nobody holds are left out."""
    out: dict[str, dict[str, Any]] = {}
    for job in JOB_NAMES:
        try:
            entry = await cluster.lease.get(key_of(job))
        except (KeyNotFoundError, KeyDeletedError):  # never taken, expired, or given up
            continue
        if entry.value:
            value = msgspec.json.decode(entry.value)
            out[job] = {"holder": value.get("id"), "epoch": value.get("epoch", 0),
                        "ts_ms": value.get("ts_ms", 0)}
    return out
