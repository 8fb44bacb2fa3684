"""Append-only, segmented, checksummed command journal: file format, writer and reader.

Owns the `journal-{first_seq:016d}.log` segment files (and the `journal.lock` file) of one
directory. Records are opaque bytes; the journal never interprets them.

Record layout (little-endian): magic/version u8 | payload length u32 | seq u64 | crc32 u32 |
payload. The CRC covers the 13 header bytes before it (magic, length, seq) and the payload.

Invariants:
- Sequence numbers are 1, 2, 3, ... with no gap or repeat across the whole journal; a
  segment's file name is the seq of its first record (or of the next record, while empty).
- Only the tail of the last segment can hold a torn record (a crash during a write). Anything
  else that fails validation (bad record in an earlier segment, a seq gap, a valid record
  after a bad one) raises `JournalCorrupt`: it is damage to acknowledged data, not a crash
  artefact, and must stop recovery loudly instead of being truncated away.
- `Journal.durable_seq` only advances after write + fdatasync of every record up to it.
- After a failed write or sync the journal refuses all further work (`JournalFailed`): the
  state of the file is unknown, and retrying fsync can report success for lost pages.
- One writer per directory, enforced with an exclusive flock on `journal.lock`.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

PathLike = str | os.PathLike[str]

record_magic: Final = 0xA1
"""Format/version byte; nonzero so that zero-filled garbage is never a record."""
record_header = struct.Struct("<BIQI")
header_bytes: Final = record_header.size
record_bytes_max: Final = 1 << 20
"""Largest record (header + payload) written or accepted on read."""
payload_bytes_max: Final = record_bytes_max - header_bytes

_header_crc_bytes: Final = header_bytes - 4
_header_prefix = struct.Struct("<BIQ")
_crc_field = struct.Struct("<I")
_read_chunk_bytes: Final = 4 << 20
_segment_name = re.compile(r"journal-(\d{16})\.log")
_lock_name: Final = "journal.lock"


class JournalError(Exception):
    """Base class of every journal error."""


class JournalCorrupt(JournalError):
    """Journal content is damaged in a way a crash cannot explain; needs an operator."""


class JournalFailed(JournalError):
    """A write or sync failed; nothing more may be written or acknowledged."""


class JournalLocked(JournalError):
    """Another journal writer already holds the directory."""


def segment_name(first_seq: int) -> str:
    return f"journal-{first_seq:016d}.log"


@dataclass(frozen=True, slots=True)
class Segment:
    first_seq: int
    path: str


def list_segments(directory: PathLike) -> list[Segment]:
    """Segment files of `directory`, oldest first; other files are ignored."""
    segments = []
    for name in os.listdir(directory):
        match = _segment_name.fullmatch(name)
        if match is not None:
            segments.append(Segment(int(match.group(1)), os.path.join(directory, name)))
    segments.sort(key=lambda s: s.first_seq)
    for segment in segments:
        if segment.first_seq < 1:
            raise JournalCorrupt(f"{segment.path}: segment names seq 0")
    return segments


def encode_record(seq: int, payload: bytes) -> bytes:
    """One record's bytes; used by tests and tools, the writer inlines the same steps."""
    if len(payload) > payload_bytes_max:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {payload_bytes_max}")
    prefix = _header_prefix.pack(record_magic, len(payload), seq)
    return prefix + _crc_field.pack(zlib.crc32(payload, zlib.crc32(prefix))) + payload


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(slots=True)
class _SegmentEnd:
    """Filled in by `_iter_segment` when it stops: where the valid records end."""

    valid_bytes: int = 0
    last_seq: int = 0


def _record_at(buf: bytes, pos: int, available: int) -> tuple[int, int] | None:
    """(seq, length) of a complete, checksum-valid record at `pos`, else None."""
    if available < header_bytes:
        return None
    magic, length, seq, crc = record_header.unpack_from(buf, pos)
    if magic != record_magic or length > payload_bytes_max or available < header_bytes + length:
        return None
    view = memoryview(buf)
    start = pos + header_bytes
    actual = zlib.crc32(
        view[start : start + length], zlib.crc32(view[pos : pos + _header_crc_bytes])
    )
    if actual != crc:
        return None
    return seq, length


def _find_record_after(f: BinaryIO, start: int, min_seq: int) -> tuple[int, int] | None:
    """(offset, seq) of any valid record with seq >= min_seq at or after byte `start`.

    Used once a bad record is met in the last segment: a crash only tears the unsynced tail,
    so a valid later record means acknowledged data would be truncated.
    """
    f.seek(start)
    window = f.read(_read_chunk_bytes + record_bytes_max)
    base = start
    magic = bytes([record_magic])
    while window:
        at_eof = len(window) < _read_chunk_bytes + record_bytes_max
        limit = len(window) if at_eof else _read_chunk_bytes
        pos = window.find(magic, 0, limit)
        while pos >= 0:
            found = _record_at(window, pos, len(window) - pos)
            if found is not None and found[0] >= min_seq:
                return base + pos, found[0]
            pos = window.find(magic, pos + 1, limit)
        if at_eof:
            return None
        window = window[_read_chunk_bytes:] + f.read(_read_chunk_bytes)
        base += _read_chunk_bytes
    return None


def _stop_at_bad_record(
    f: BinaryIO, segment: Segment, offset: int, seq: int, is_last: bool
) -> None:
    """Decide whether an unreadable record at `offset` is a torn tail or corruption."""
    if not is_last:
        raise JournalCorrupt(f"{segment.path}: invalid record (seq {seq}) at offset {offset}")
    later = _find_record_after(f, offset + 1, seq)
    if later is not None:
        raise JournalCorrupt(
            f"{segment.path}: invalid record (seq {seq}) at offset {offset} is followed by a"
            f" valid record (seq {later[1]}) at offset {later[0]}; refusing to drop it as a torn"
            " tail"
        )


def _iter_segment(
    f: BinaryIO, segment: Segment, is_last: bool, end: _SegmentEnd
) -> Iterator[tuple[int, bytes]]:
    """Yield every valid record of one segment, checking seq continuity from its name.

    The loop's first branch is the fast path for a complete, valid record; everything else
    (refill, clean end, damage) goes through the careful path below it.
    """
    unpack_from = record_header.unpack_from
    crc32 = zlib.crc32
    expected = segment.first_seq
    buf = b""
    view = memoryview(buf)
    pos = 0
    base = 0  # file offset of buf[0]
    eof = False
    while True:
        available = len(buf) - pos
        need = header_bytes
        if available >= header_bytes:
            magic, length, seq, crc = unpack_from(buf, pos)
            start = pos + header_bytes
            stop = start + length
            if (
                stop <= len(buf)
                and magic == record_magic
                and seq == expected
                and length <= payload_bytes_max
                and crc32(view[start:stop], crc32(view[pos : pos + _header_crc_bytes])) == crc
            ):
                yield seq, buf[start:stop]
                pos = stop
                expected += 1
                continue
            need += min(length, payload_bytes_max)
        if available < need and not eof:
            chunk = f.read(max(_read_chunk_bytes, need - available))
            eof = not chunk
            buf = buf[pos:] + chunk
            view = memoryview(buf)
            base += pos
            pos = 0
            continue
        end.valid_bytes = base + pos
        end.last_seq = expected - 1
        if available == 0:
            return
        found = _record_at(buf, pos, available)
        if found is None:
            _stop_at_bad_record(f, segment, base + pos, expected, is_last)
            return
        raise JournalCorrupt(
            f"{segment.path}: record at offset {base + pos} has seq {found[0]}, expected {expected}"
        )


def _segments_from(segments: list[Segment], after_seq: int) -> list[Segment]:
    """The segments that can hold records after `after_seq`; raises if some are missing."""
    if not segments:
        return []
    if segments[0].first_seq > after_seq + 1:
        raise JournalCorrupt(
            f"journal starts at seq {segments[0].first_seq}; records after {after_seq} are missing"
        )
    first = 0
    while first + 1 < len(segments) and segments[first + 1].first_seq <= after_seq + 1:
        first += 1
    return segments[first:]


def read_records(directory: PathLike, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield (seq, payload) for every valid record with seq > after_seq, in order.

    Stops silently at a torn tail of the last segment; raises `JournalCorrupt` for anything
    else. Segments wholly at or before `after_seq` are not read. Run alongside a live writer,
    this can yield records that are written but not yet durable.
    """
    segments = _segments_from(list_segments(directory), after_seq)
    for index, segment in enumerate(segments):
        is_last = index == len(segments) - 1
        end = _SegmentEnd()
        with open(segment.path, "rb", buffering=0) as f:
            for seq, payload in _iter_segment(f, segment, is_last, end):
                if seq > after_seq:
                    yield seq, payload
        if not is_last and end.last_seq + 1 != segments[index + 1].first_seq:
            raise JournalCorrupt(
                f"{segment.path}: ends at seq {end.last_seq} but the next segment starts at"
                f" {segments[index + 1].first_seq}"
            )


def _scan_tail(segment: Segment) -> _SegmentEnd:
    """Validate the last segment and report where its valid records end."""
    end = _SegmentEnd()
    with open(segment.path, "rb", buffering=0) as f:
        for _ in _iter_segment(f, segment, True, end):
            pass
    return end


# ---------------------------------------------------------------------------------------------
# Writing


def _sync_file(fd: int) -> None:
    """Make the file's data (and size) durable; macOS needs F_FULLFSYNC for a real barrier."""
    if sys.platform == "darwin":  # pragma: no cover - not the production platform
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    elif hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover
        os.fsync(fd)


def sync_directory(directory: PathLike) -> None:
    """Make created, renamed or removed entries of `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_directory(directory: PathLike) -> int:
    fd = os.open(os.path.join(directory, _lock_name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalLocked(f"{directory}: another journal writer holds {_lock_name}") from None
    return fd


def held_by_a_writer(directory: PathLike) -> bool:
    """Whether a running process holds the journal of `directory` (a check for a clear message
    before starting; opening the journal is what takes the lock)."""
    if not os.path.isdir(directory):
        return False
    try:
        fd = _lock_directory(directory)
    except JournalLocked:
        return True
    os.close(fd)
    return False


def _ensure_directory(directory: str) -> None:
    if os.path.isdir(directory):
        return
    os.makedirs(directory)
    sync_directory(os.path.dirname(os.path.abspath(directory)))


@dataclass(slots=True)
class Batch:
    """Encoded records taken from the journal's buffer, not yet written."""

    data: bytearray
    last_seq: int
    records: int


class Journal:
    """Writer of one journal directory.

    Single-threaded use: `append` then `commit`. A group committer splits `commit` in two:
    `append` and `take_batch` run under its lock, `write_batch` and `start_segment` only on its
    writer thread, so producers never wait for an fsync.
    """

    def __init__(self, directory: str, lock_fd: int, segment: Segment, last_seq: int) -> None:
        self.directory = directory
        self._lock_fd = lock_fd
        self._segment = segment
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        self._buf = bytearray()
        self._pending_records = 0
        self._last_seq = last_seq
        self._durable_seq = last_seq
        self._failure: JournalFailed | None = None
        self._closed = False
        self.sync_count = 0
        self.bytes_written = 0

    @classmethod
    def open(cls, directory: PathLike) -> Journal:
        """Recover the directory (truncating a torn tail) and continue after its last record."""
        path = os.fspath(directory)
        _ensure_directory(path)
        lock_fd = _lock_directory(path)
        try:
            segment, last_seq = _recover(path)
            return cls(path, lock_fd, segment, last_seq)
        except BaseException:
            os.close(lock_fd)
            raise

    @property
    def last_seq(self) -> int:
        """Seq of the newest appended record, durable or not."""
        return self._last_seq

    @property
    def durable_seq(self) -> int:
        """Every record with seq <= this is written and synced."""
        return self._durable_seq

    @property
    def pending_records(self) -> int:
        return self._pending_records

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    @property
    def segment_first_seq(self) -> int:
        return self._segment.first_seq

    def append(self, payload: bytes | bytearray) -> int:
        """Assign the next seq and buffer a copy of the record; durable only after a commit."""
        self._check_usable()
        length = len(payload)
        if length > payload_bytes_max:
            raise ValueError(f"payload of {length} bytes exceeds {payload_bytes_max}")
        seq = self._last_seq + 1
        prefix = _header_prefix.pack(record_magic, length, seq)
        buf = self._buf
        buf += prefix
        buf += _crc_field.pack(zlib.crc32(payload, zlib.crc32(prefix)))
        buf += payload
        self._last_seq = seq
        self._pending_records += 1
        return seq

    def take_batch(self) -> Batch | None:
        """Detach the buffered records so they can be written while appends go on."""
        self._check_usable()
        if not self._pending_records:
            return None
        batch = Batch(self._buf, self._last_seq, self._pending_records)
        self._buf = bytearray()
        self._pending_records = 0
        return batch

    def write_batch(self, batch: Batch) -> int:
        """Write and sync one batch; any OS error fails the journal for good."""
        self._check_usable()
        try:
            view = memoryview(batch.data)
            while view:
                view = view[os.write(self._fd, view) :]
            _sync_file(self._fd)
        except BaseException as exc:
            raise self._fail(exc) from exc
        self.sync_count += 1
        self.bytes_written += len(batch.data)
        self._durable_seq = batch.last_seq
        return batch.last_seq

    def commit(self) -> int:
        """Write every buffered record with one write and one sync; returns `durable_seq`."""
        batch = self.take_batch()
        if batch is not None:
            self.write_batch(batch)
        return self._durable_seq

    def rotate(self) -> None:
        """Commit, then continue in a new segment (after a snapshot, so old ones can go)."""
        self.commit()
        self.start_segment()

    def start_segment(self) -> None:
        """Begin a new segment after `durable_seq`; no-op while the current one is empty.

        Records appended but not yet written go to the new segment, which is why it is named
        after `durable_seq` rather than `last_seq`.
        """
        self._check_usable()
        first_seq = self._durable_seq + 1
        if first_seq == self._segment.first_seq:
            return
        try:
            segment, fd = _create_segment(self.directory, first_seq)
        except BaseException as exc:
            raise self._fail(exc) from exc
        os.close(self._fd)
        self._fd = fd
        self._segment = segment

    @property
    def failure(self) -> JournalFailed | None:
        return self._failure

    def close(self) -> None:
        """Commit what is buffered (unless failed) and release the directory."""
        if self._closed:
            return
        try:
            if self._failure is None:
                self.commit()
        finally:
            self._closed = True
            os.close(self._fd)
            os.close(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fail(self, exc: BaseException) -> JournalFailed:
        if self._failure is None:
            self._failure = JournalFailed(f"journal write failed: {exc!r}")
            self._failure.__cause__ = exc
        return self._failure

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise JournalError("journal is closed")


def _create_segment(directory: str, first_seq: int) -> tuple[Segment, int]:
    """Create an empty segment file and make its directory entry durable."""
    path = os.path.join(directory, segment_name(first_seq))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.fsync(fd)
        sync_directory(directory)
    except BaseException:
        os.close(fd)
        raise
    return Segment(first_seq, path), fd


def _recover(directory: str) -> tuple[Segment, int]:
    """Find the last valid record, cut the torn tail after it and sync; returns (segment, seq)."""
    segments = list_segments(directory)
    if not segments:
        segment, fd = _create_segment(directory, 1)
        os.close(fd)
        return segment, 0
    last = segments[-1]
    end = _scan_tail(last)
    fd = os.open(last.path, os.O_WRONLY)
    try:
        if os.fstat(fd).st_size != end.valid_bytes:
            os.ftruncate(fd, end.valid_bytes)
        os.fsync(fd)  # a crashed process may have left written but unsynced records
    finally:
        os.close(fd)
    sync_directory(directory)
    return last, end.last_seq
