"""Reading a stream (on the shared NATS server at 127.0.0.1:4222): in order, from the start
asked for, through the server's flow control, which the reader answers itself as soon as the
message before each request has been taken (nats-py's iterator answers only every 250 ms,
holding the stream back meanwhile)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from foretell.bench.cluster_run import SHARED_NATS_HINT, shared_nats_up
from foretell.cluster import streams
from foretell.cluster.streams import ClusterSettings, connect, destroy, read_stream

pytestmark = pytest.mark.skipif(not shared_nats_up(), reason=SHARED_NATS_HINT)


async def _read_through_flow_control() -> tuple[list[int], list[int], int, bool]:
    settings = ClusterSettings(prefix=f"t{uuid.uuid4().hex[:10]}")
    cluster = await connect(settings, name="test-streams")
    answered = 0
    fast: list[bool] = []
    publish = cluster.nc.publish
    known = streams._internals_known

    async def counting(subject: str, payload: bytes = b"", *args: Any, **kwargs: Any) -> None:
        nonlocal answered
        answered += subject.startswith("$JS.FC.")
        await publish(subject, payload, *args, **kwargs)

    def recording(sub: Any) -> bool:
        fast.append(known(sub))
        return fast[-1]

    cluster.nc.publish = counting  # type: ignore[method-assign]
    streams._internals_known = recording  # type: ignore[assignment]
    try:
        payload = b"x" * 4096
        for _ in range(4_000):  # 16 MB: well past the server's flow-control window
            await publish(settings.cmd_subject, payload)
        await cluster.nc.flush()
        while await cluster.last_cmd_seq() < 4_000:
            await asyncio.sleep(0.01)
        seqs: list[int] = []
        async for seq, data in read_stream(cluster, settings.cmd_stream, settings.cmd_subject,
                                           1, 4_000):
            assert data == payload
            seqs.append(seq)
            if seq % 200 == 0:
                await asyncio.sleep(0.001)  # a reader slower than the server
        tail = [seq async for seq, _ in read_stream(cluster, settings.cmd_stream,
                                                     settings.cmd_subject, 3_990, 4_000)]
        return seqs, tail, answered, all(fast)
    finally:
        streams._internals_known = known
        cluster.nc.publish = publish  # type: ignore[method-assign]
        await cluster.close()
        await destroy(settings)


def test_a_stream_is_read_whole_in_order_through_flow_control() -> None:
    seqs, tail, answered, fast = asyncio.run(_read_through_flow_control())
    assert seqs == list(range(1, 4_001))
    assert tail == list(range(3_990, 4_001))
    assert fast, "nats-py's internals changed: read_stream fell back to its iterator"
    assert answered >= 1, "the server asked for no flow-control answer (or none was sent)"
