"""Durable, append-only command journal: segments, group commit and snapshots.

Records are opaque bytes numbered 1, 2, 3, ...; see `log` for the file format and the
recovery rules, `group` for acknowledging only durable records, `snapshot` for state files.
"""

from foretell.journal.group import GroupCommitter
from foretell.journal.log import (
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
from foretell.journal.snapshot import latest_snapshot, write_snapshot

__all__ = [
    "GroupCommitter",
    "Journal",
    "JournalCorrupt",
    "JournalError",
    "JournalFailed",
    "JournalLocked",
    "header_bytes",
    "latest_snapshot",
    "payload_bytes_max",
    "read_records",
    "record_bytes_max",
    "write_snapshot",
]
