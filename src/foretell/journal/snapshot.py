"""Snapshot files: the opaque state as of a journal seq, written atomically.

Owns `snapshot-{seq:016d}.snap` files (and their `.tmp` siblings) in a directory.

File layout (little-endian): magic 8 bytes | seq u64 | payload length u64 | crc32 u32 |
payload. The CRC covers the header bytes before it and the payload.

Invariants:
- A snapshot file under its final name is complete and synced: it is written to a temp
  file, fsynced, renamed into place, and the directory is fsynced.
- `latest_snapshot` returns only a snapshot whose header, name, length and CRC agree; a
  damaged newer one is skipped in favour of an older valid one. Replaying the journal after
  that older seq still works, or fails loudly with `JournalCorrupt` if those records are gone.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import Final

from foretell.journal.log import PathLike, sync_directory

snapshot_magic: Final = b"FTSNAP01"
_header = struct.Struct("<8sQQI")
_header_prefix = struct.Struct("<8sQQ")
_crc_field = struct.Struct("<I")
snapshot_header_bytes: Final = _header.size
_snapshot_name = re.compile(r"snapshot-(\d{16})\.snap")


def snapshot_name(seq: int) -> str:
    return f"snapshot-{seq:016d}.snap"


def write_snapshot(directory: PathLike, seq: int, payload: bytes) -> str:
    """Write the state as of `seq` atomically and durably; returns the file's path."""
    if seq < 0:
        raise ValueError(f"snapshot seq must be >= 0, got {seq}")
    prefix = _header_prefix.pack(snapshot_magic, seq, len(payload))
    header = prefix + _crc_field.pack(zlib.crc32(payload, zlib.crc32(prefix)))
    path = os.path.join(directory, snapshot_name(seq))
    temp_path = path + ".tmp"
    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, header)
        _write_all(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp_path, path)
    sync_directory(directory)
    return path


def latest_snapshot(directory: PathLike, at_most_seq: int | None = None) -> tuple[int, bytes] | None:
    """(seq, payload) of the newest valid snapshot (no later than `at_most_seq`), or None."""
    for seq, path in sorted(_snapshot_files(directory), reverse=True):
        if at_most_seq is not None and seq > at_most_seq:
            continue
        payload = read_snapshot(path, seq)
        if payload is not None:
            return seq, payload
    return None


def read_snapshot(path: PathLike, seq: int) -> bytes | None:
    """The payload of one snapshot file, or None if it is damaged or not for `seq`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if len(data) < snapshot_header_bytes:
        return None
    magic, header_seq, length, crc = _header.unpack_from(data)
    if magic != snapshot_magic or header_seq != seq or length != len(data) - snapshot_header_bytes:
        return None
    view = memoryview(data)
    prefix_bytes = _header_prefix.size
    if zlib.crc32(view[snapshot_header_bytes:], zlib.crc32(view[:prefix_bytes])) != crc:
        return None
    return data[snapshot_header_bytes:]


def _snapshot_files(directory: PathLike) -> list[tuple[int, str]]:
    files = []
    for name in os.listdir(directory):
        match = _snapshot_name.fullmatch(name)
        if match is not None:
            files.append((int(match.group(1)), os.path.join(directory, name)))
    return files


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
