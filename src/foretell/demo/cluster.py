"""The demo in cluster mode (`foretell cluster gateway --demo`): loaded once into the cluster,
its market maker a singleton job.

Two singleton jobs (`foretell.cluster.jobs`), each run by one gateway at a time:
  demo          load the demo if the cluster does not have it, then the demo news
  market-maker  once the demo is loaded, the demo's market maker (`run_market_maker`)

Whether the demo is loaded is a marker in the status bucket (key `demo`), as the single node's
is a file beside its journal: "loading" (written under the demo lease, only on an empty
exchange: no account, no command) or "loaded" (written last, once every command is projected).
The commands the loader publishes carry the message id `demo:<after_seq>:<step>`: a holder
that takes a load over after a crash reads the command stream after the marker's seq, takes
the commands with such an id as the steps already done (the journal's role in the single
node: other gateways may publish commands meanwhile, so the ids tell the loader's own apart),
and goes on from there; a holder that lost the lease with a step in flight and the one after
it publish that step under the same id, so the stream stores it once. Every write is checked
against the lease first (`Lease.confirm` before the markers, `Lease.held` before each step).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import sqlalchemy as sa
from nats.js.errors import KeyDeletedError, KeyNotFoundError

from foretell.cluster.jobs import Lease
from foretell.cluster.streams import Cluster, lease_renew_s
from foretell.demo import content
from foretell.demo.loader import (
    LOADED,
    LOADING,
    DemoLoadError,
    _approved_creators,
    _Loader,
    _projected,
    run_market_maker,
)
from foretell.demo.news import load_demo_news
from foretell.domain import commands as cmd
from foretell.domain.outcome import Outcome
from foretell.services import Services
from foretell.store import schema as t

log = logging.getLogger(__name__)
MARKER = "demo"  # the key in the status bucket
MSG_ID = "demo:"


class LostLease(RuntimeError):
    """The demo lease went to another gateway mid-load: it finishes the load."""


def start(svc: Services) -> list[asyncio.Task[None]]:
    """The demo's jobs on this gateway (the app's lifespan calls this in cluster mode)."""
    node: Any = svc.node
    jobs = node.jobs
    tasks = [node.singleton("demo", lambda: load(svc, jobs.lease("demo")))]
    if svc.settings.market_maker:
        tasks.append(node.singleton("market-maker", lambda: market_maker(svc)))
    return tasks


def _cluster(svc: Services) -> Cluster:
    cluster: Cluster | None = getattr(svc.node, "cluster", None)
    assert cluster is not None, "a cluster gateway's node, started"
    return cluster


async def marker(cluster: Cluster) -> tuple[dict[str, Any], int]:
    """The demo marker and its revision ({} and 0 if none)."""
    try:
        entry = await cluster.status.get(MARKER)
    except (KeyNotFoundError, KeyDeletedError):
        return {}, 0
    return (msgspec.json.decode(entry.value) if entry.value else {}), int(entry.revision or 0)


async def load(svc: Services, lease: Lease) -> None:
    """The demo job: the demo into the cluster unless it is there, then the demo news."""
    state = await ensure_demo(svc, lease)
    if state is not None:
        await load_demo_news(svc)
    if state is None:  # the operator asked for the demo and gets none: say why
        log.warning("demo: not loaded, the cluster already has accounts or commands (--demo "
                    "loads it only into an empty cluster: no `cluster create-supervisor` first)")
    else:
        log.info("demo: %s", state)


async def ensure_demo(svc: Services, lease: Lease) -> str | None:
    """As `loader.ensure_demo`, for the cluster: "loaded" (now), "present" (before) or None
    (not a demo exchange)."""
    cluster = _cluster(svc)
    state, rev = await marker(cluster)
    if state.get("state") == LOADED:
        return "present"
    if not state:
        if not await _empty(svc, cluster):
            return None
        state = {"state": LOADING, "after_seq": await cluster.last_cmd_seq(),
                 "first_market": max(svc.engine.markets, default=0) + 1}
        if not await lease.confirm():
            raise LostLease
        rev = await cluster.status.create(MARKER, msgspec.json.encode(state))
    else:
        log.warning("demo: finishing a load that was interrupted")
    after_seq = int(state["after_seq"])
    done = await _loaders_commands(cluster, after_seq)
    await _ClusterLoader(svc, lease, after_seq, int(state["first_market"]), done).run()
    if not await lease.confirm():
        raise LostLease
    await cluster.status.update(MARKER, msgspec.json.encode({**state, "state": LOADED}),
                                last=rev)
    log.warning("demo loaded into the cluster: %d users, %d bots, %d markets", len(content.USERS),
             len(content.BOTS), len(content.MARKETS))
    return "loaded"


async def _empty(svc: Services, cluster: Cluster) -> bool:
    def users() -> int:
        with svc.db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.users))
                       .scalar_one())

    return await cluster.last_cmd_seq() == 0 and await asyncio.to_thread(users) == 0


async def _loaders_commands(cluster: Cluster, after_seq: int) -> list[cmd.Command]:
    """The commands an interrupted load published, in order (by their message ids)."""
    done: list[cmd.Command] = []
    last = await cluster.last_cmd_seq()
    for seq in range(after_seq + 1, last + 1):
        msg = await cluster.js.get_msg(cluster.settings.cmd_stream, seq)
        if (msg.headers or {}).get("Nats-Msg-Id", "").startswith(MSG_ID):
            done.append(cmd.decode(msg.data or b""))
    return done


class _ClusterLoader(_Loader):
    def __init__(self, svc: Services, lease: Lease, after_seq: int, first_market: int,
                 done: list[cmd.Command]) -> None:
        super().__init__(None, after_seq, first_market)  # None: no journal to read
        self.svc = svc
        self.lease = lease
        self.after_seq = after_seq
        self.done = done

    async def run(self) -> None:
        """As `_Loader.run`, with the SQL steps (a password hash each: tens of milliseconds)
        off the loop, which must keep renewing the lease, and the lease checked before each."""
        svc = self.svc
        assert svc is not None
        for u in content.USERS:
            self._check()
            self.users[u.username] = await asyncio.to_thread(
                self._user, svc, u.username, u.password, u.role, u.display_name)
        for b in content.BOTS:
            self._check()
            self.users[b.username] = await asyncio.to_thread(self._bot, svc, b)
        self._check()
        self._stepped(await asyncio.to_thread(_approved_creators, svc, self.users))
        await self._commands()
        if self.next_done != len(self.done):
            raise DemoLoadError(f"the stream holds {len(self.done) - self.next_done} commands "
                                "of the demo load after its last step")
        await _projected(svc)
        self._stepped(True)

    def _check(self) -> None:
        if not self.lease.held:
            raise LostLease

    async def execute(self, command: cmd.Command) -> Outcome | None:
        assert self.svc is not None
        if self.next_done < len(self.done):
            return await super().execute(command)  # done before the takeover: compared, skipped
        self._check()
        node: Any = self.svc.node
        outcome: Outcome = await node.durable(
            node.submit(command, None, f"{MSG_ID}{self.after_seq}:{self.step + 1}"))
        self._stepped(True)
        return outcome


async def market_maker(svc: Services) -> None:
    """The market-maker job: waits for the demo, then keeps its books alive."""
    cluster = _cluster(svc)
    while (await marker(cluster))[0].get("state") != LOADED:
        await asyncio.sleep(lease_renew_s)
    await run_market_maker(svc)
