"""News items go live on every gateway, not only on the one that found or stored them.

In the single node, `Services.publish_news` hands a new item to the WebSocket hub of the one
process. In a cluster the news poller runs on one gateway (a singleton job) and a supervisor's
post lands on whichever gateway served it, so `share` turns that gateway's listeners into one
publisher on the core NATS subject `<prefix>.news`, and every gateway (the publisher too)
hands what arrives there to its own listeners. At most once, like a WebSocket push: a gateway
away at that moment shows the item from the store on the next page load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from nats.aio.msg import Msg

from foretell.cluster.streams import Cluster

log = logging.getLogger(__name__)
Listener = Callable[[dict[str, Any]], None]


def subject(cluster: Cluster) -> str:
    return f"{cluster.settings.prefix}.news"


async def share(listeners: list[Listener], cluster: Cluster) -> None:
    """Make `listeners` (a service's `news_listeners`, in place) publish to every gateway."""
    local = list(listeners)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()

    async def arrived(msg: Msg) -> None:
        item = msgspec.json.decode(msg.data)
        for listener in local:
            try:
                listener(item)
            except Exception:
                log.exception("a news listener failed")

    async def send(data: bytes) -> None:
        try:
            await cluster.nc.publish(subject(cluster), data)
        except Exception as exc:
            log.warning("publishing a news item to the gateways failed: %s", exc)

    def publish(item: dict[str, Any]) -> None:
        task = loop.create_task(send(msgspec.json.encode(item)))
        pending.add(task)
        task.add_done_callback(pending.discard)

    await cluster.nc.subscribe(subject(cluster), cb=arrived)
    listeners[:] = [publish]
