"""The pieces of cluster mode that need no server: the outcome's wire form, the replicas'
stamping rule, de-duplication ids, the capacity model's arithmetic."""

from __future__ import annotations

from foretell.bench.cluster import capacity
from foretell.cluster.gateway import message_id, replica_rows, replica_silent_ms
from foretell.cluster.replica import load_snapshot, snapshot_payload, stamped
from foretell.domain import commands as cmd
from foretell.domain.outcome import Outcome, decode_outcome, encode_outcome
from foretell.engine import snapshot
from foretell.exchange.pipeline import Pipeline


def test_outcomes_survive_the_wire(tmp_path: object) -> None:
    pipeline = Pipeline(str(tmp_path))
    try:
        outcomes: list[Outcome] = []
        for command in (cmd.Deposit(1, 7, 10**9), cmd.CreateMarket(2, 1),
                        cmd.PlaceOrder(3, 7, 1, 0, 0, 10, 400_000),
                        cmd.PlaceOrder(4, 7, 1, 1, 0, 10, 600_000)):
            outcomes += pipeline.submit(command, stamp=False)
    finally:
        pipeline.close()
    for outcome in outcomes:
        assert decode_outcome(encode_outcome(outcome)) == outcome
    assert any(len(o.events) > 2 for o in outcomes)


def test_a_command_is_never_applied_before_the_engine_now() -> None:
    pipeline_engine = snapshot.loads(snapshot.dumps(_engine_at(5_000)))
    late = cmd.Deposit(4_000, 1, 1)
    assert stamped(pipeline_engine, late).ts_ms == 5_000
    assert stamped(pipeline_engine, cmd.Deposit(6_000, 1, 1)).ts_ms == 6_000


def test_snapshots_keep_the_book_sequence() -> None:
    engine = _engine_at(9)
    seq, loaded, book_seq = load_snapshot(snapshot_payload(12, engine, {3: 4}))
    assert (seq, book_seq) == (12, {3: 4})
    assert snapshot.state_hash(loaded) == snapshot.state_hash(engine)


def test_a_retried_order_has_the_same_message_id() -> None:
    order = cmd.PlaceOrder(1, 7, 1, 0, 0, 10, 400_000, client_id="abc")
    assert message_id(order) == message_id(cmd.PlaceOrder(2, 7, 1, 0, 0, 10, 400_000,
                                                          client_id="abc"))
    assert message_id(order) != message_id(cmd.PlaceOrder(1, 8, 1, 0, 0, 10, 400_000,
                                                          client_id="abc"))
    assert message_id(cmd.Deposit(1, 7, 1)) != message_id(cmd.Deposit(1, 7, 1))


def test_capacity_model() -> None:
    model = capacity({"gateway": 2.0, "engine": 0.2, "projector": 0.5, "nats": 0.4},
                     orders_per_s=100_000, subscribers=100_000, cores=8)
    assert model["gateway_cores"] == 20.0 and model["gateways"] == 4
    assert model["engine_cores_per_replica"] == 1.0 and not model["engine_holds"]
    assert model["fanout_nodes"] == 10


def _engine_at(now_ms: int) -> object:
    from foretell.engine.engine import Engine

    engine = Engine()
    engine.apply(cmd.Deposit(now_ms, 1, 10))
    engine.take_events()
    return engine


def test_a_silent_replica_is_not_shown_as_a_second_leader() -> None:
    """A killed leader's last report stays in the status bucket: health shows it unreachable
    (with its last role) once it has been silent too long, beside the new leader."""
    now = 1_000_000
    statuses = {
        "replica-a": {"id": "a", "role": "leader", "seq": 90, "epoch": 3,
                      "ts_ms": now - replica_silent_ms - 1},
        "replica-b": {"id": "b", "role": "leader", "seq": 100, "epoch": 4, "ts_ms": now - 400},
        "projector": {"seq": 95},
    }
    rows = replica_rows(statuses, 100, now)
    assert [(r["id"], r["role"], r["lag"]) for r in rows] == [("a", "unreachable", 10),
                                                             ("b", "leader", 0)]
    assert rows[0]["last_role"] == "leader" and "last_role" not in rows[1]
    assert rows[1]["age_ms"] == 400
