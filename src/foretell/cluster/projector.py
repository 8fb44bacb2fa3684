"""The event stream into PostgreSQL, exactly once: the store's own `Projector`, which keeps
the last applied seq in the same transaction as the rows. Restartable at any moment: it
resumes at the event-stream message holding the first outcome after that seq, and skips any
outcome at or below it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from foretell.cluster.streams import (
    ClusterSettings,
    connect,
    decode_events,
    read_stream,
    run_loop,
)
from foretell.domain.outcome import Outcome
from foretell.store.db import connect as connect_db
from foretell.store.db import migrate
from foretell.store.projector import Projector

log = logging.getLogger(__name__)
batch_max = 2_000


async def project(database_url: str, settings: ClusterSettings) -> None:
    migrate(database_url)
    db = connect_db(database_url)
    projector = Projector(db)
    cluster = await connect(settings, name="projector")
    queue: asyncio.Queue[list[Outcome]] = asyncio.Queue(maxsize=64)
    last = projector.last_seq()
    log.info("projector resumes after seq %d", last)

    async def read() -> None:
        start = 0
        seen = last
        while True:
            try:
                if not start:
                    start = await cluster.evt_start_after(last)
                async for evt_seq, data in read_stream(cluster, settings.evt_stream,
                                                       settings.evt_subject, start):
                    start = evt_seq + 1
                    fresh = [o for o in decode_events(data) if o.seq > seen]
                    if fresh:
                        seen = fresh[-1].seq
                        await queue.put(fresh)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the event stream failed; subscribing again")
                await asyncio.sleep(0.5)

    reader = asyncio.create_task(read())
    try:
        while True:
            batch = await queue.get()
            while not queue.empty() and len(batch) < batch_max:
                batch += queue.get_nowait()
            await asyncio.to_thread(projector.apply, batch)
            with contextlib.suppress(Exception):
                await cluster.put_status("projector", {"seq": batch[-1].seq})
    finally:
        reader.cancel()
        await cluster.close()
        db.dispose()


def run_projector(database_url: str, settings: ClusterSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_loop(project(database_url, settings))
