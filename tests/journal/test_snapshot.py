"""Snapshot files: atomic replacement, validation, fallback, and replay from a snapshot."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from foretell.journal import (
    Journal,
    JournalCorrupt,
    latest_snapshot,
    read_records,
    write_snapshot,
)
from foretell.journal.log import segment_name
from foretell.journal.snapshot import snapshot_header_bytes, snapshot_name


def test_round_trip_and_newest_wins(tmp_path: Path) -> None:
    assert latest_snapshot(tmp_path) is None
    write_snapshot(tmp_path, 10, b"state at 10")
    write_snapshot(tmp_path, 200, b"state at 200")
    write_snapshot(tmp_path, 30, b"")
    assert latest_snapshot(tmp_path) == (200, b"state at 200")
    assert sorted(os.listdir(tmp_path)) == [
        snapshot_name(10),
        snapshot_name(30),
        snapshot_name(200),
    ]


def test_large_payload(tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)
    write_snapshot(tmp_path, 1, payload)
    assert latest_snapshot(tmp_path) == (1, payload)


def test_rewriting_the_same_seq_replaces_it(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 5, b"first")
    write_snapshot(tmp_path, 5, b"second")
    assert latest_snapshot(tmp_path) == (5, b"second")


def test_leftover_temp_file_is_ignored_and_overwritten(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 1, b"good")
    temp = tmp_path / (snapshot_name(2) + ".tmp")
    temp.write_bytes(b"half-written by a crashed process")
    assert latest_snapshot(tmp_path) == (1, b"good")
    write_snapshot(tmp_path, 2, b"newer")
    assert not temp.exists()
    assert latest_snapshot(tmp_path) == (2, b"newer")


def corrupt_truncated(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 1)


def corrupt_header_only(path: Path) -> None:
    os.truncate(path, snapshot_header_bytes - 1)


def corrupt_payload_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def corrupt_magic(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def corrupt_extended(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"\x00")


@pytest.mark.parametrize(
    "corrupt",
    [
        corrupt_truncated,
        corrupt_header_only,
        corrupt_payload_byte,
        corrupt_magic,
        corrupt_extended,
    ],
)
def test_damaged_newest_falls_back_to_older_valid(
    tmp_path: Path, corrupt: Callable[[Path], None]
) -> None:
    write_snapshot(tmp_path, 7, b"older state")
    newest = Path(write_snapshot(tmp_path, 9, b"newer state"))
    corrupt(newest)
    assert latest_snapshot(tmp_path) == (7, b"older state")


def test_renamed_snapshot_is_not_trusted(tmp_path: Path) -> None:
    write_snapshot(tmp_path, 3, b"state at 3")
    os.rename(tmp_path / snapshot_name(3), tmp_path / snapshot_name(4))
    assert latest_snapshot(tmp_path) is None


def test_replay_from_snapshot_after_rotation_and_pruning(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        for i in range(1, 6):
            journal.append(f"cmd {i}".encode())
        journal.commit()
        write_snapshot(tmp_path, journal.durable_seq, b"state after 5")
        journal.rotate()
        journal.append(b"cmd 6")
        journal.commit()
    os.remove(tmp_path / segment_name(1))  # covered by the snapshot

    snapshot = latest_snapshot(tmp_path)
    assert snapshot == (5, b"state after 5")
    assert list(read_records(tmp_path, after_seq=snapshot[0])) == [(6, b"cmd 6")]

    os.truncate(tmp_path / snapshot_name(5), 10)  # now only an older state would remain
    write_snapshot(tmp_path, 2, b"state after 2")
    assert latest_snapshot(tmp_path) == (2, b"state after 2")
    with pytest.raises(JournalCorrupt, match="missing"):
        list(read_records(tmp_path, after_seq=2))
