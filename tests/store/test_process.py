"""The projector in a child process: the same rows as in-process, failures come back as the
same exceptions, a dead child is replaced, and a starved idle child hands its batch over."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from foretell.bench.workload import commands
from foretell.domain import commands as cmd
from foretell.domain.outcome import decode_outcomes, encode_outcomes
from foretell.store.process import IDLE_SUPPORTED, ProjectorProcess
from foretell.store.projector import ProjectionGap

if TYPE_CHECKING:
    from conftest import Store, Stream


def _trade(stream: Stream, rounds: int = 40) -> None:
    stream.fund(1, 2, 3)
    stream.market()
    for i in range(rounds):
        stream.limit(1, "buy_yes", 3, 40 + i % 7)
        stream.limit(2, "buy_no", 2, 55 - i % 7)
        stream.take(3, "buy_yes", 1)


@pytest.fixture
def child(make_store: Any) -> Any:
    made: list[ProjectorProcess] = []

    def make(store: Store, **kw: Any) -> ProjectorProcess:
        process = ProjectorProcess(store.url, **kw)
        made.append(process)
        return process

    yield make
    for process in made:
        process.close()


def test_child_projects_the_same_rows(make_store: Any, stream: Stream, child: Any) -> None:
    _trade(stream)
    direct: Store = make_store()
    direct.project(stream.outcomes)
    remote: Store = make_store()
    process = child(remote)
    half = len(stream.outcomes) // 2
    assert process.apply(stream.outcomes[:half]) == half
    assert process.apply(stream.outcomes[:half]) == 0  # already applied: exactly once
    assert process.apply(stream.outcomes[half:]) == len(stream.outcomes) - half
    assert remote.projector.last_seq() == len(stream.outcomes)
    assert remote.dump() == direct.dump()
    assert process.anomalies == 0


def test_wire_format_projects_like_the_outcomes_themselves(make_store: Any,
                                                           stream: Stream) -> None:
    """Every kind of command (categorical markets, triggers, amends, settlement, void) through
    MessagePack: nested tuples come back as lists, and the projector must not mind."""
    for command in commands(3_000, seed=5, markets=20, accounts=100):
        stream.do(command)
    stream.do(cmd.SettleMarket(stream.ts, 10, 2))  # categorical
    stream.do(cmd.VoidMarket(stream.ts, 3, "test"))
    wire = decode_outcomes(encode_outcomes(stream.outcomes))
    assert [(o.seq, o.command, o.code) for o in wire] == \
        [(o.seq, o.command, o.code) for o in stream.outcomes]
    direct: Store = make_store()
    direct.project(stream.outcomes)
    decoded: Store = make_store()
    decoded.project(wire)
    assert decoded.dump() == direct.dump()


def test_child_failure_is_raised_in_the_parent(make_store: Any, stream: Stream,
                                               child: Any) -> None:
    _trade(stream, rounds=2)
    store: Store = make_store()
    process = child(store)
    gap = [replace(stream.outcomes[0], seq=2)]
    with pytest.raises(ProjectionGap, match="expected seq 1, got 2"):
        process.apply(gap)
    assert store.projector.last_seq() == 0
    assert process.apply(stream.outcomes) == len(stream.outcomes)  # the same child goes on


def test_a_killed_child_is_replaced(make_store: Any, stream: Stream, child: Any) -> None:
    _trade(stream, rounds=5)
    store: Store = make_store()
    process = child(store)
    process.apply(stream.outcomes[:10])
    first = process._child
    assert first is not None
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert process.apply(stream.outcomes) == len(stream.outcomes) - 10
    assert process._child is not None and process._child.pid != first.pid
    assert store.projector.last_seq() == len(stream.outcomes)


@pytest.mark.skipif(not IDLE_SUPPORTED, reason="SCHED_IDLE is Linux only")
def test_starved_idle_child_goes_normal_then_back(make_store: Any, stream: Stream,
                                                  child: Any) -> None:
    _trade(stream, rounds=20)
    store: Store = make_store()
    # No patience at all: the idle child cannot answer in time, as if the CPUs were saturated.
    process = child(store, patience_s=0.0, calm_s=0.0, calm_size=5)
    assert process._child is not None
    pid = process._child.pid
    assert os.sched_getscheduler(pid) == os.SCHED_IDLE
    assert process.apply(stream.outcomes[:30]) == 30
    assert process.escalations == 1 and not process.idle
    if _may_leave_idle():
        assert process._child.pid == pid  # the same child, its policy changed in place
    assert os.sched_getscheduler(process._child.pid) == os.SCHED_OTHER
    # A big batch keeps normal priority; once batches are small again, idle priority is back.
    assert process.apply(stream.outcomes[30:40]) == 10 and not process.idle
    assert process.apply(stream.outcomes[40:42]) == 2 and process.idle
    assert os.sched_getscheduler(process._child.pid) == os.SCHED_IDLE
    assert store.projector.last_seq() == 42


@pytest.mark.skipif(not IDLE_SUPPORTED, reason="SCHED_IDLE is Linux only")
def test_without_the_right_to_leave_idle_a_normal_child_takes_over(
        make_store: Any, stream: Stream, child: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _trade(stream, rounds=5)
    store: Store = make_store()
    process = child(store, patience_s=0.0)
    assert process._child is not None
    idle_pid = process._child.pid
    real = os.sched_setscheduler

    def unprivileged(pid: int, policy: int, param: Any) -> None:
        if policy != os.SCHED_IDLE:
            raise PermissionError(1, "Operation not permitted")
        real(pid, policy, param)

    monkeypatch.setattr(os, "sched_setscheduler", unprivileged)
    assert process.apply(stream.outcomes[:-2]) == len(stream.outcomes) - 2
    assert process.escalations == 1 and process.kills == 1 and not process.idle
    assert process._child is not None and process._child.pid != idle_pid
    # A small batch does not bring idle priority back at once: a new starvation would cost
    # another interpreter, so the calm must last `calm_after_kill_s`.
    assert process.apply(stream.outcomes[-2:]) == 2 and not process.idle
    assert os.sched_getscheduler(process._child.pid) == os.SCHED_OTHER
    assert store.projector.last_seq() == len(stream.outcomes)


def _may_leave_idle() -> bool:
    """CAP_SYS_NICE (bit 23 of the effective set), or an RLIMIT_NICE that allows nice 0."""
    import resource

    with open("/proc/self/status") as status:
        caps = next(line for line in status if line.startswith("CapEff:"))
    return bool(int(caps.split()[1], 16) >> 23 & 1) or \
        resource.getrlimit(resource.RLIMIT_NICE)[0] >= 20
