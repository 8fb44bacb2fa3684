"""Singleton jobs' leases alone (on the shared NATS server at 127.0.0.1:4222, names unique to
the run): two contenders, one wins; the holder stops renewing (as if killed) and the other
takes the job over once the TTL drops its key; the old holder that comes back holds nothing,
cannot renew at its stale epoch, and cannot take the job back while the new holder renews.
And the job runner: the work runs on one contender only, and moves when its holder stops
renewing."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from foretell.bench.cluster_run import SHARED_NATS_HINT, shared_nats_up
from foretell.cluster import jobs as jobs_module
from foretell.cluster import news as cluster_news
from foretell.cluster.jobs import Jobs, Lease, holders
from foretell.cluster.streams import ClusterSettings, connect, destroy, lease_ttl_s

pytestmark = pytest.mark.skipif(not shared_nats_up(), reason=SHARED_NATS_HINT)


async def _until(check: object, timeout_s: float = 15.0) -> None:
    """Poll `check()` (async) until true; fail after `timeout_s` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.1)


async def _lease_takeover() -> None:
    settings = ClusterSettings(prefix=f"t{uuid.uuid4().hex[:10]}")
    a_conn = await connect(settings, name="test-jobs-a")
    b_conn = await connect(settings, name="test-jobs-b")
    try:
        a = Lease(a_conn.lease, "news", "gw-a")
        b = Lease(b_conn.lease, "news", "gw-b")
        assert await a.step()
        assert not await b.step()  # one wins
        assert a.held and not b.held
        for _ in range(3):  # renewals keep it
            assert await a.step()
            assert not await b.step()
        held = (await holders(a_conn))["news"]
        assert (held["holder"], held["epoch"]) == ("gw-a", a.epoch)
        stale_epoch = a.epoch
        # a is "killed": it renews no more. b takes over once the key's TTL has dropped it.
        stopped = time.monotonic()

        async def b_took_it() -> bool:
            return await b.step()

        await _until(b_took_it, timeout_s=lease_ttl_s * 4)
        took_s = time.monotonic() - stopped
        print(f"taken over {took_s:.1f} s after the holder stopped renewing")
        assert took_s >= lease_ttl_s - 1.0  # not before the TTL
        assert b.epoch > stale_epoch
        assert (await holders(b_conn))["news"]["holder"] == "gw-b"
        # a comes back: by its own clock it holds nothing, and its compare-and-set at the old
        # revision is refused; it cannot take the job back while b renews.
        assert not a.held
        assert not await a.confirm()
        assert not await a.step()
        assert a.rev == 0 and a.epoch == stale_epoch
        with pytest.raises(Exception):  # noqa: B017 - nats-py's wrong-last-sequence error
            await a_conn.lease.update(a.key, b"stale", last=stale_epoch)
        assert await b.confirm()
        assert (await holders(b_conn))["news"]["epoch"] == b.epoch
        # a clean release hands the job over at once.
        await b.release()
        assert not b.held
        assert await a.step() and a.epoch > b.epoch
    finally:
        await a_conn.close()
        await b_conn.close()
        await destroy(settings)


def test_lease_one_holder_takeover_after_ttl_stale_epoch_fenced() -> None:
    asyncio.run(_lease_takeover())


async def _runner_moves_the_job() -> None:
    settings = ClusterSettings(prefix=f"t{uuid.uuid4().hex[:10]}")
    conns = [await connect(settings, name=f"test-jobs-{n}") for n in ("a", "b")]
    running: dict[str, int] = {"gw-a": 0, "gw-b": 0}
    stopped: list[str] = []

    def work_of(name: str) -> jobs_module.Work:
        async def work() -> None:
            running[name] += 1
            try:
                await asyncio.Event().wait()
            finally:
                stopped.append(name)
        return work

    try:
        runners = [Jobs(c, n) for c, n in zip(conns, ("gw-a", "gw-b"), strict=True)]
        tasks = {r.holder: r.run("market-maker", work_of(r.holder)) for r in runners}

        async def one_runs() -> bool:
            return sum(running.values()) == 1

        await _until(one_runs)
        first = next(n for n, count in running.items() if count)
        other = "gw-b" if first == "gw-a" else "gw-a"
        await asyncio.sleep(lease_ttl_s)  # the other does not start it meanwhile
        assert running == {first: 1, other: 0}
        assert (await holders(conns[0]))["market-maker"]["holder"] == first
        # the holder's process "dies": its loop stops without giving the lease up.
        holder_lease = next(r for r in runners if r.holder == first).lease("market-maker")
        release = holder_lease.release

        async def nothing() -> None:
            return None

        holder_lease.release = nothing  # type: ignore[method-assign]
        tasks[first].cancel()
        with pytest.raises(asyncio.CancelledError):
            await tasks[first]
        assert stopped == [first]

        async def other_runs() -> bool:
            return running[other] == 1

        await _until(other_runs, timeout_s=lease_ttl_s * 4)
        assert (await holders(conns[0]))["market-maker"]["holder"] == other
        holder_lease.release = release  # type: ignore[method-assign]
        tasks[other].cancel()
        with pytest.raises(asyncio.CancelledError):
            await tasks[other]
    finally:
        for c in conns:
            await c.close()
        await destroy(settings)


def test_job_runs_on_one_gateway_and_moves_when_it_stops() -> None:
    asyncio.run(_runner_moves_the_job())


async def _news_everywhere() -> None:
    settings = ClusterSettings(prefix=f"t{uuid.uuid4().hex[:10]}")
    conns = [await connect(settings, name=f"test-news-{n}") for n in ("a", "b")]
    got: dict[str, list[dict[str, object]]] = {"a": [], "b": []}
    try:
        listeners = {name: [got[name].append] for name in got}
        for conn, name in zip(conns, got, strict=True):
            await cluster_news.share(listeners[name], conn)
            await conn.nc.flush()
        item = {"id": 7, "title": "Rates held", "markets": [{"market_id": 3}]}
        for publish in listeners["a"]:  # the gateway that polled (or took the post)
            publish(item)

        async def both_have_it() -> bool:
            return got == {"a": [item], "b": [item]}

        await _until(both_have_it, timeout_s=10)
    finally:
        for c in conns:
            await c.close()
        await destroy(settings)


def test_news_goes_live_on_every_gateway() -> None:
    asyncio.run(_news_everywhere())
