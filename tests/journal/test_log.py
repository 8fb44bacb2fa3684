"""Journal segment format, writer and reader, on real files.

Crash artefacts are made by cutting or overwriting the bytes a real writer produced.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Collection
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import foretell.journal.log as log
from foretell.journal import (
    Journal,
    JournalCorrupt,
    JournalError,
    JournalFailed,
    JournalLocked,
    header_bytes,
    payload_bytes_max,
    read_records,
    record_bytes_max,
)
from foretell.journal.log import encode_record, segment_name


def write_journal(
    directory: Path, payloads: list[bytes], rotate_before: Collection[int] = ()
) -> None:
    """Append `payloads`, rotating before each index in `rotate_before`."""
    with Journal.open(directory) as journal:
        for index, payload in enumerate(payloads):
            if index in rotate_before:
                journal.rotate()
            journal.append(payload)
            journal.commit()


def read_all(directory: Path, after_seq: int = 0) -> list[tuple[int, bytes]]:
    return list(read_records(directory, after_seq))


def numbered(payloads: list[bytes], first_seq: int = 1) -> list[tuple[int, bytes]]:
    return list(enumerate(payloads, start=first_seq))


def segment_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith("journal-"))


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


PAYLOADS = [b"", b"a", b"\x00" * 7, bytes(range(256)), b"\xa1" * 40, b"last record"]


def test_round_trip(tmp_path: Path) -> None:
    write_journal(tmp_path, PAYLOADS)
    assert read_all(tmp_path) == numbered(PAYLOADS)
    assert read_all(tmp_path, after_seq=4) == numbered(PAYLOADS[4:], first_seq=5)
    assert read_all(tmp_path, after_seq=len(PAYLOADS)) == []


def test_append_is_not_durable_until_commit(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        assert journal.append(b"x") == 1
        assert journal.append(b"y") == 2
        assert (journal.last_seq, journal.durable_seq) == (2, 0)
        assert read_all(tmp_path) == []
        assert journal.commit() == 2
        assert journal.commit() == 2
        assert (journal.durable_seq, journal.sync_count) == (2, 1)
        assert journal.bytes_written == 2 * (header_bytes + 1)
    assert read_all(tmp_path) == [(1, b"x"), (2, b"y")]


def test_close_commits_buffered_records(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.append(b"x")
    journal.close()
    journal.close()
    assert read_all(tmp_path) == [(1, b"x")]
    with pytest.raises(JournalError):
        journal.append(b"y")


def test_payload_is_copied_at_append(tmp_path: Path) -> None:
    payload = bytearray(b"before")
    with Journal.open(tmp_path) as journal:
        journal.append(payload)
        payload[:] = b"after!"
    assert read_all(tmp_path) == [(1, b"before")]


def test_rotation_spans_segments(tmp_path: Path) -> None:
    payloads = [bytes([i]) * i for i in range(1, 8)]
    write_journal(tmp_path, payloads, rotate_before={3, 5})
    assert segment_files(tmp_path) == [segment_name(1), segment_name(4), segment_name(6)]
    assert read_all(tmp_path) == numbered(payloads)
    assert read_all(tmp_path, after_seq=4) == numbered(payloads[4:], first_seq=5)


def test_rotate_on_empty_segment_is_a_no_op(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        journal.rotate()
        journal.append(b"a")
        journal.rotate()
        journal.rotate()
        assert journal.segment_first_seq == 2
    assert segment_files(tmp_path) == [segment_name(1), segment_name(2)]


def test_rotate_commits_buffered_records_into_the_old_segment(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        journal.append(b"a")
        journal.append(b"b")
        journal.rotate()
        assert journal.durable_seq == 2
        journal.append(b"c")
    assert segment_files(tmp_path) == [segment_name(1), segment_name(3)]
    assert read_all(tmp_path) == [(1, b"a"), (2, b"b"), (3, b"c")]


def test_skips_segments_before_after_seq(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c", b"d"], rotate_before={2})
    flip_byte(tmp_path / segment_name(1), header_bytes + 3)
    assert read_all(tmp_path, after_seq=2) == [(3, b"c"), (4, b"d")]
    with pytest.raises(JournalCorrupt):
        read_all(tmp_path)


def test_reopen_continues_numbering(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b"])
    with Journal.open(tmp_path) as journal:
        assert (journal.last_seq, journal.durable_seq) == (2, 2)
        assert journal.append(b"c") == 3
    write_journal(tmp_path, [b"d"], rotate_before={0})
    with Journal.open(tmp_path) as journal:
        assert journal.last_seq == 4
    assert read_all(tmp_path) == numbered([b"a", b"b", b"c", b"d"])


def test_reopen_with_empty_last_segment(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        journal.append(b"a")
        journal.rotate()
    with Journal.open(tmp_path) as journal:
        assert journal.last_seq == 1
        assert journal.append(b"b") == 2
    assert segment_files(tmp_path) == [segment_name(1), segment_name(2)]
    assert read_all(tmp_path) == [(1, b"a"), (2, b"b")]


def test_open_creates_missing_directory_and_empty_journal(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "journal"
    with Journal.open(directory) as journal:
        assert journal.last_seq == 0
    assert segment_files(directory) == [segment_name(1)]
    assert read_all(directory) == []
    assert read_all(tmp_path) == []  # no segments at all


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with Journal.open(tmp_path):
        with pytest.raises(JournalLocked):
            Journal.open(tmp_path)
    Journal.open(tmp_path).close()


# -- torn tails ---------------------------------------------------------------------------------


def test_torn_tail_at_every_byte_of_the_last_record(tmp_path: Path) -> None:
    original = tmp_path / "original"
    payloads = [b"first", b"second", b"the last record, torn"]
    write_journal(original, payloads[:1])
    write_journal(original, payloads[1:], rotate_before={0})
    last_segment = original / segment_name(2)
    size = last_segment.stat().st_size
    last_start = size - header_bytes - len(payloads[-1])
    for cut in range(last_start, size):
        directory = tmp_path / f"cut-{cut}"
        shutil.copytree(original, directory)
        os.truncate(directory / segment_name(2), cut)

        assert read_all(directory) == numbered(payloads[:-1]), cut
        with Journal.open(directory) as journal:
            assert journal.last_seq == 2, cut
            assert (directory / segment_name(2)).stat().st_size == last_start
            assert journal.append(b"after recovery") == 3
        assert read_all(directory) == numbered([*payloads[:-1], b"after recovery"]), cut


@pytest.mark.parametrize("garbage_bytes", [1, header_bytes - 1, header_bytes, 100, 8192])
def test_zero_filled_tail_is_dropped(tmp_path: Path, garbage_bytes: int) -> None:
    write_journal(tmp_path, [b"a", b"b"])
    segment = tmp_path / segment_name(1)
    clean_size = segment.stat().st_size
    with segment.open("ab") as f:
        f.write(b"\x00" * garbage_bytes)
    assert read_all(tmp_path) == [(1, b"a"), (2, b"b")]
    with Journal.open(tmp_path) as journal:
        assert segment.stat().st_size == clean_size
        journal.append(b"c")
    assert read_all(tmp_path) == numbered([b"a", b"b", b"c"])


@pytest.mark.parametrize(
    ("field", "offset"),
    [("magic", 0), ("length", 1), ("seq", 5), ("crc", 13), ("payload", header_bytes + 2)],
)
def test_damaged_last_record_is_dropped(tmp_path: Path, field: str, offset: int) -> None:
    write_journal(tmp_path, [b"kept", b"damaged payload"])
    segment = tmp_path / segment_name(1)
    last_start = header_bytes + len(b"kept")
    flip_byte(segment, last_start + offset)
    assert read_all(tmp_path) == [(1, b"kept")], field
    with Journal.open(tmp_path) as journal:
        assert journal.last_seq == 1
        assert segment.stat().st_size == last_start
        journal.append(b"replacement")
    assert read_all(tmp_path) == [(1, b"kept"), (2, b"replacement")]


def test_oversize_length_at_tail_is_a_torn_record(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a"])
    segment = tmp_path / segment_name(1)
    with segment.open("ab") as f:
        f.write(oversize_record(seq=2))
    assert read_all(tmp_path) == [(1, b"a")]
    with Journal.open(tmp_path) as journal:
        assert journal.last_seq == 1


# -- corruption that must stop recovery -----------------------------------------------------------


def test_corrupt_record_in_earlier_segment_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c"], rotate_before={2})
    flip_byte(tmp_path / segment_name(1), header_bytes + 1 + header_bytes)  # payload of seq 2
    with pytest.raises(JournalCorrupt, match="invalid record"):
        read_all(tmp_path)


def test_torn_end_of_earlier_segment_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c"], rotate_before={2})
    first = tmp_path / segment_name(1)
    os.truncate(first, first.stat().st_size - 1)
    with pytest.raises(JournalCorrupt):
        read_all(tmp_path)


def test_oversize_record_in_earlier_segment_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b"], rotate_before={1})
    first = tmp_path / segment_name(1)
    with first.open("ab") as f:
        f.write(oversize_record(seq=2))
    with pytest.raises(JournalCorrupt):
        read_all(tmp_path)


def test_valid_record_after_damaged_one_in_last_segment_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c"])
    segment = tmp_path / segment_name(1)
    size = segment.stat().st_size
    flip_byte(segment, header_bytes + 1 + 1)  # length field of seq 2
    with pytest.raises(JournalCorrupt, match="followed by a valid record"):
        read_all(tmp_path)
    with pytest.raises(JournalCorrupt):
        Journal.open(tmp_path)
    assert segment.stat().st_size == size  # acknowledged records were not truncated away


def test_missing_segment_is_a_gap(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c"], rotate_before={1, 2})
    os.remove(tmp_path / segment_name(2))
    with pytest.raises(JournalCorrupt, match="next segment starts at 3"):
        read_all(tmp_path)


def test_record_with_unexpected_seq_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a"])
    with (tmp_path / segment_name(1)).open("ab") as f:
        f.write(encode_record(3, b"skips seq 2"))
    with pytest.raises(JournalCorrupt, match="expected 2"):
        read_all(tmp_path)
    with pytest.raises(JournalCorrupt):
        Journal.open(tmp_path)


def test_reading_before_the_first_segment_raises(tmp_path: Path) -> None:
    write_journal(tmp_path, [b"a", b"b", b"c"], rotate_before={2})
    os.remove(tmp_path / segment_name(1))  # pruned after a snapshot at seq 2
    assert read_all(tmp_path, after_seq=2) == [(3, b"c")]
    with pytest.raises(JournalCorrupt, match="missing"):
        read_all(tmp_path, after_seq=1)


# -- limits and failures ------------------------------------------------------------------------


def oversize_record(seq: int) -> bytes:
    """A checksum-valid record whose length exceeds the limit, as a buggy writer would make."""
    payload = b"z" * (payload_bytes_max + 1)
    prefix = struct.pack("<BIQ", log.record_magic, len(payload), seq)
    return prefix + struct.pack("<I", zlib.crc32(payload, zlib.crc32(prefix))) + payload


def test_oversize_payload_is_rejected_on_write(tmp_path: Path) -> None:
    assert record_bytes_max == payload_bytes_max + header_bytes
    with Journal.open(tmp_path) as journal:
        with pytest.raises(ValueError):
            journal.append(b"x" * (payload_bytes_max + 1))
        assert journal.append(b"x" * payload_bytes_max) == 1
    assert read_all(tmp_path) == [(1, b"x" * payload_bytes_max)]


def test_failed_sync_fails_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_sync(fd: int) -> None:
        raise OSError(errno.EIO, "injected fsync failure")

    journal = Journal.open(tmp_path)
    journal.append(b"a")
    journal.commit()
    monkeypatch.setattr(log, "_sync_file", failing_sync)
    journal.append(b"b")
    with pytest.raises(JournalFailed) as failed:
        journal.commit()
    assert isinstance(failed.value.__cause__, OSError)
    assert journal.durable_seq == 1
    with pytest.raises(JournalFailed):
        journal.append(b"c")
    with pytest.raises(JournalFailed):
        journal.commit()
    journal.close()
    monkeypatch.undo()
    with Journal.open(tmp_path) as reopened:  # the unsynced write may or may not survive
        assert reopened.last_seq in (1, 2)


# -- property: any cut of the last segment recovers exactly the whole records before it ---------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payloads=st.lists(st.binary(max_size=48), min_size=1, max_size=12),
    rotate_at=st.integers(min_value=0, max_value=12),
    cut_fraction=st.floats(min_value=0.0, max_value=1.0),
    zero_fill=st.integers(min_value=0, max_value=40),
)
def test_any_tail_cut_recovers_the_whole_records_before_it(
    payloads: list[bytes], rotate_at: int, cut_fraction: float, zero_fill: int
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        write_journal(directory, payloads, rotate_before={rotate_at} if rotate_at else set())
        segments = segment_files(directory)
        last = directory / segments[-1]
        first_seq = int(segments[-1][8:24])
        size = last.stat().st_size
        cut = round(cut_fraction * size)
        with last.open("r+b") as f:
            f.truncate(cut)
            f.seek(cut)
            f.write(b"\x00" * zero_fill)

        ends = [0]
        for payload in payloads[first_seq - 1 :]:
            ends.append(ends[-1] + header_bytes + len(payload))
        whole = first_seq - 1 + sum(1 for end in ends[1:] if end <= cut)
        assert read_all(directory) == numbered(payloads[:whole])
        with Journal.open(directory) as journal:
            assert journal.last_seq == whole
            journal.append(b"next")
        assert read_all(directory) == numbered([*payloads[:whole], b"next"])
