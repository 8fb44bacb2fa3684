"""The outcome wire format: every outcome of a random engine run survives MessagePack exactly
(same command, same value with the same type, same typed events), alone and in batches."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foretell.bench.workload import commands
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.outcome import (
    Outcome,
    decode_outcome,
    decode_outcomes,
    encode_outcome,
    encode_outcomes,
)
from foretell.engine.engine import Engine
from foretell.engine.views import changed_levels, level_sizes, touched_state


def _run(stream: list[cmd.Command]) -> list[Outcome]:
    """Outcomes as the pipeline builds them: engine events, touched state, book levels."""
    e = Engine()
    out = []
    book_seq: dict[int, int] = {}
    for seq, command in enumerate(stream, 1):
        code, value = e.apply(command)
        events = e.take_events()
        events += touched_state(e, events)
        for contract, prices in changed_levels(e, events).items():
            book_seq[contract] = book_seq.get(contract, 0) + 1
            events.append(ev.BookLevel(e.now_ms, contract, book_seq[contract],
                                       level_sizes(e, contract, prices)))
        out.append(Outcome(seq, command, code, value, events))
    return out


def _ending(ts: int) -> list[cmd.Command]:
    """Lifecycle commands that the workload never sends: every other kind of event."""
    return [
        cmd.MarketAction(ts, 1, "clarify", actor=1, reason="why", text="a dated note"),
        cmd.SetMarketStatus(ts, 2, 2, "halt"),
        cmd.ProposeResolution(ts, 3, 0, actor=1, evidence="a link"),
        cmd.SettleMarket(ts + 1, 4, 1),
        cmd.SettleMarket(ts + 1, 10, 2),  # categorical
        cmd.VoidMarket(ts + 1, 5, "void"),
        cmd.Withdraw(ts + 1, 1, 1),
        cmd.Withdraw(ts + 1, 1, 10**15),  # refused
        cmd.CancelOrder(ts + 1, 1, 10**9),  # refused
    ]


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (a tuple must not come back a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed=st.integers(0, 2**32), n=st.integers(300, 1_500),
       pool_share=st.sampled_from((0.0, 0.5)))
def test_outcomes_round_trip_exactly(seed: int, n: int, pool_share: float) -> None:
    stream = list(commands(n, seed=seed, markets=12, accounts=30, categorical_every=4,
                           pool_share=pool_share))
    stream += _ending(max(c.ts_ms for c in stream) + 1)
    outcomes = _run(stream)
    kinds = {type(x) for o in outcomes for x in o.events}
    assert {ev.Fill, ev.OrderAccepted, ev.OrderDone, ev.Balance, ev.Position, ev.BookLevel,
            ev.MarketCreated, ev.MarketStatus, ev.Payout, ev.Cash} <= kinds
    for o in outcomes:
        back = decode_outcome(encode_outcome(o))
        assert back == o, o
        assert _same(back.value, o.value), (o.value, back.value)
        for x, y in zip(back.events, o.events, strict=True):
            assert _same(list(ev.as_dict(x).values()), list(ev.as_dict(y).values()))
    assert decode_outcomes(encode_outcomes(outcomes)) == outcomes


def test_every_event_kind_has_its_own_tag_and_name() -> None:
    kinds = ev.Event.__args__  # type: ignore[attr-defined]
    tags = [k.__struct_config__.tag for k in kinds]
    assert len(set(tags)) == len(tags) == 29
    fill = ev.Fill(1, 2, 500_000, 3, 0, 4, 5, 0, 0, 6, 7, 8, 1, 0, 9)
    assert ev.as_dict(fill)["event"] == "fill" and ev.as_dict(fill)["maker_order"] == 7
    assert ev.name(ev.OrderAccepted(1, 2, 3, 4, 0, 0, 0, 1, 1, 0, 0, "")) == "order_accepted"
    assert ev.name(ev.AccountSuspended(1, 2, True, 3, 4)) == "account_suspended"
