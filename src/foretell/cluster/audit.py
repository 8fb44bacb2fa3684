"""`foretell cluster audit`: replay the command stream from scratch (and from the latest
snapshot) with the replicas' own stamping rule, check every invariant, and compare the state
hash at the stream's last seq with every replica's."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from foretell.cluster.replica import Follower, latest_snapshot
from foretell.cluster.streams import ClusterSettings, connect
from foretell.engine import snapshot
from foretell.engine.audit import audit
from foretell.engine.engine import Engine


@dataclass
class ClusterAudit:
    seq: int
    state_hash: str
    snapshot_seq: int
    snapshot_hash: str
    replicas: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


async def replay(settings: ClusterSettings, from_snapshot: bool, upto: int) -> tuple[int, Engine]:
    """The engine at `upto`: from nothing (or the latest snapshot at or below it)."""
    cluster = await connect(settings, name="audit", setup=False)
    try:
        follower = Follower(settings)
        follower.cluster = cluster
        snap_seq = 0
        if from_snapshot:
            seq, engine, book_seq = await latest_snapshot(cluster)
            if seq <= upto:
                follower.seq, follower.engine, follower.book_seq = seq, engine, book_seq
                snap_seq = seq
        from foretell.cluster.streams import read_stream

        async for seq, data in read_stream(cluster, settings.cmd_stream, settings.cmd_subject,
                                           follower.seq + 1, upto):
            follower._apply(seq, data)
        return snap_seq, follower.engine
    finally:
        await cluster.close()


async def audit_cluster(settings: ClusterSettings, wait_s: float = 30.0) -> ClusterAudit:
    cluster = await connect(settings, name="audit", setup=False)
    try:
        last = await cluster.last_cmd_seq()
        _, scratch = await replay(settings, False, last)
        snap_seq, from_snap = await replay(settings, True, last)
        report = ClusterAudit(last, snapshot.state_hash(scratch), snap_seq,
                              snapshot.state_hash(from_snap))
        report.violations += audit(scratch).violations
        if report.snapshot_hash != report.state_hash:
            report.violations.append(f"snapshot {snap_seq} + stream != replay from scratch")
        deadline = time.monotonic() + wait_s
        while True:
            statuses = {k: v for k, v in (await cluster.statuses()).items()
                        if k.startswith("replica-")}
            fresh = {k: v for k, v in statuses.items() if v.get("hash_seq") == last}
            if (statuses and len(fresh) == len(statuses)) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        report.replicas = {k: {"seq": v["seq"], "hash_seq": v["hash_seq"],
                               "state_hash": v["state_hash"], "role": v["role"]}
                           for k, v in statuses.items()}
        if not statuses:
            report.violations.append("no replica reported")
        for key, status in statuses.items():
            if status.get("hash_seq") != last:
                report.violations.append(f"{key} reported no hash at seq {last} "
                                         f"(at {status.get('hash_seq')})")
            elif status["state_hash"] != report.state_hash:
                report.violations.append(f"{key} state hash differs at seq {last}")
        return report
    finally:
        await cluster.close()
