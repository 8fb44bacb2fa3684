"""Journal benchmark: durable commands per second and ack latency through group commit.

Owns no state beyond one run: a temp directory, a journal and a committer, all closed and
removed before `run` returns. Latency is sampled (every 2**k-th seq) so the producer loop
stays a bare `submit`; a sample's ack time is the first `on_durable` call covering its seq.
"""

from __future__ import annotations

import bisect
import math
import tempfile
from time import perf_counter

from foretell.journal import GroupCommitter, Journal

_latency_samples_target = 20_000
_distinct_payloads = 256


def run(
    commands: int = 1_000_000,
    payload_size: int = 64,
    directory: str | None = None,
    max_batch: int = 4096,
    max_delay_s: float = 0.001,
) -> dict[str, float | int]:
    """Submit `commands` payloads as fast as possible; figures are for durable commands.

    `directory` is where the temp journal goes (default: the system temp dir); pass a path
    on the production disk to measure that disk's fsync.
    """
    if commands < 1 or payload_size < 0:
        raise ValueError("commands must be >= 1 and payload_size >= 0")
    payloads = [bytes([i]) * payload_size for i in range(_distinct_payloads)]
    sample_mask = _sample_mask(commands)
    durable: list[tuple[int, float]] = []

    def on_durable(seq: int) -> None:
        durable.append((seq, perf_counter()))

    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="foretell-journal-bench-", dir=directory) as path:
        journal = Journal.open(path)
        try:
            committer = GroupCommitter(journal, on_durable, max_batch, max_delay_s)
            submit = committer.submit
            record = samples.append
            start_s = perf_counter()
            for i in range(commands):
                seq = submit(payloads[i & (_distinct_payloads - 1)])
                if not seq & sample_mask:
                    record((seq, perf_counter()))
            produced_s = perf_counter()
            committer.close()
            end_s = perf_counter()
            fsyncs, written_bytes = journal.sync_count, journal.bytes_written
        finally:
            journal.close()
    latencies_ms = _ack_latencies_ms(samples, durable)
    seconds = end_s - start_s
    return {
        "commands": commands,
        "payload_size": payload_size,
        "seconds": seconds,
        "producer_seconds": produced_s - start_s,
        "commands_per_s": commands / seconds,
        "ack_p50_ms": _percentile(latencies_ms, 0.50),
        "ack_p99_ms": _percentile(latencies_ms, 0.99),
        "ack_max_ms": _percentile(latencies_ms, 1.0),
        "latency_samples": len(latencies_ms),
        "fsyncs": fsyncs,
        "bytes": written_bytes,
        "commands_per_fsync": commands / fsyncs if fsyncs else 0.0,
    }


def _sample_mask(commands: int) -> int:
    """Mask selecting about `_latency_samples_target` seqs (seq & mask == 0)."""
    step = 1
    while commands // (step * 2) >= _latency_samples_target:
        step *= 2
    return step - 1


def _ack_latencies_ms(
    samples: list[tuple[int, float]], durable: list[tuple[int, float]]
) -> list[float]:
    durable_seqs = [seq for seq, _ in durable]
    latencies = []
    for seq, submitted_s in samples:
        index = bisect.bisect_left(durable_seqs, seq)
        if index < len(durable):
            latencies.append((durable[index][1] - submitted_s) * 1000.0)
    latencies.sort()
    return latencies


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]
