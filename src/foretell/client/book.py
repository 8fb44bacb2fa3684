"""`LocalBook`: a client's copy of one contract's order book, kept from the WebSocket feed.

The feed of `book:<contract>` is a snapshot, then deltas that carry absolute sizes for the levels
they change and the contract's book seq, and heartbeats with the current seq and a checksum. The
copy is trusted only while it can prove it is in sync:

- a delta with seq <= the copy's seq is older than the copy (it is already in it): ignored;
- a delta with seq == copy seq + 1 is applied, then its checksum must match the copy;
- a delta further ahead means a delta was lost (a gap); a heartbeat ahead of the copy too;
- a heartbeat at the copy's seq must carry the copy's checksum.

On a gap or a checksum mismatch the copy resyncs by itself: from REST (GET /contracts/{id}/book,
which shares seq and checksum with the feed) when it has a fetcher, else by asking its stream to
unsubscribe and subscribe again for a fresh snapshot, ignoring the feed until that arrives.

Checksum (same as the server's): CRC-32 of "p:s,p:s|p:s,..." with YES prices as integer
micro-USDC, bids best (highest) first, then asks best (lowest) first; an empty book is "|".
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from foretell.client.units import format_price, to_micro

Levels = list[tuple[int, int]]
resync_attempts_max = 3


def checksum(bids: Levels, asks: Levels) -> int:
    """CRC-32 of a book given as (price_micro, size) lists, each best first."""
    text = ",".join(f"{p}:{s}" for p, s in bids) + "|" + ",".join(f"{p}:{s}" for p, s in asks)
    return zlib.crc32(text.encode())


class LocalBook:
    def __init__(self, contract_id: int, *,
                 fetch: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
                 resubscribe: Callable[[], Awaitable[None]] | None = None) -> None:
        self.contract_id = contract_id
        self.channel = f"book:{contract_id}"
        self.seq = 0
        self.bids: dict[int, int] = {}  # YES price micro -> shares
        self.asks: dict[int, int] = {}
        self.in_sync = False
        self.awaiting_snapshot = False
        self.resyncs = 0
        self.gaps = 0
        self.mismatches = 0
        self.fetch = fetch
        self.resubscribe = resubscribe

    # -- state --------------------------------------------------------------------------------

    def sides(self, depth: int | None = None) -> tuple[Levels, Levels]:
        bids = sorted(self.bids.items(), reverse=True)[:depth]
        asks = sorted(self.asks.items())[:depth]
        return bids, asks

    def checksum(self) -> int:
        return checksum(*self.sides())

    def best_bid(self) -> tuple[int, int] | None:
        return max(self.bids.items()) if self.bids else None

    def best_ask(self) -> tuple[int, int] | None:
        return min(self.asks.items()) if self.asks else None

    def as_rest(self, depth: int | None = None) -> dict[str, Any]:
        """The copy in the REST book's shape, for comparison: seq, bids, asks, checksum."""
        bids, asks = self.sides(depth)
        return {"contract_id": self.contract_id, "seq": self.seq, "checksum": self.checksum(),
                "bids": [[format_price(p), s] for p, s in bids],
                "asks": [[format_price(p), s] for p, s in asks]}

    # -- feed ---------------------------------------------------------------------------------

    def load(self, snapshot: Mapping[str, Any]) -> bool:
        """Replace the copy by a snapshot (WebSocket or REST); False if it fails its checksum."""
        self.bids = {to_micro(p): int(s) for p, s in snapshot.get("bids", [])}
        self.asks = {to_micro(p): int(s) for p, s in snapshot.get("asks", [])}
        self.seq = int(snapshot["seq"])
        self.awaiting_snapshot = False
        expected = snapshot.get("checksum")
        self.in_sync = expected is None or expected == self.checksum()
        if not self.in_sync:
            self.mismatches += 1
        return self.in_sync

    def apply(self, message: Mapping[str, Any]) -> bool:
        """Apply one message of this book's channel; False when the copy is (now) out of sync."""
        kind = message.get("type")
        if kind == "snapshot":
            return self.load(message)
        if not self.in_sync:
            return False
        seq = message.get("seq")
        if not isinstance(seq, int):
            return True
        if kind == "delta":
            return self._delta(seq, message)
        if kind == "heartbeat":
            if seq > self.seq:
                return self._lost("gap")
            if seq == self.seq and message.get("checksum") != self.checksum():
                return self._lost("mismatch")
        return True

    def _delta(self, seq: int, message: Mapping[str, Any]) -> bool:
        if seq <= self.seq:
            return True  # already in the copy (a REST snapshot can be ahead of the feed)
        if seq != self.seq + 1:
            return self._lost("gap")
        for price, bid, ask in message.get("levels", []):
            price_micro = to_micro(price)
            for side, size in ((self.bids, int(bid)), (self.asks, int(ask))):
                if size:
                    side[price_micro] = size
                else:
                    side.pop(price_micro, None)
        self.seq = seq
        expected = message.get("checksum")
        if expected is not None and expected != self.checksum():
            return self._lost("mismatch")
        return True

    def _lost(self, why: str) -> bool:
        if why == "gap":
            self.gaps += 1
        else:
            self.mismatches += 1
        self.in_sync = False
        return False

    async def on_message(self, message: Mapping[str, Any]) -> None:
        """Apply a message and resync by itself when the copy can no longer be trusted."""
        if self.apply(message) or self.awaiting_snapshot:
            return
        await self.resync()

    async def resync(self) -> None:
        """Fetch a fresh snapshot (REST), or ask the stream for one (resubscribe)."""
        for _ in range(resync_attempts_max):
            self.resyncs += 1
            if self.fetch is not None:
                if self.load(await self.fetch()):
                    return
            elif self.resubscribe is not None:
                self.in_sync = False
                self.awaiting_snapshot = True
                await self.resubscribe()
                return
            else:
                raise RuntimeError(f"{self.channel} is out of sync and has no way to resync")
        raise RuntimeError(f"{self.channel}: snapshots keep failing their checksum")
