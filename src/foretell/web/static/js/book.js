/* The live order book of one contract, kept in sync with the `book:<contract>` channel.
 *
 * Invariants: levels are integers (YES price in micro-USDC -> size in shares); a delta is applied
 * only when its seq is exactly the next one; after every delta and on every heartbeat of the same
 * seq the CRC-32 checksum must equal the server's (text "p:s,...|p:s,..." with bids best first,
 * then asks best first), otherwise the book asks for a fresh snapshot. The NO view is derived:
 * NO price = 1 - YES price, with the sides swapped (a YES ask is a NO bid).
 */
(function () {
  "use strict";
  const MICRO = 1000000;

  const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();

  function crc32(text) {
    let crc = 0xffffffff;
    for (let i = 0; i < text.length; i++) {
      crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  class LiveBook {
    constructor(contractId, onChange, onResync) {
      this.contractId = contractId;
      this.onChange = onChange;
      this.onResync = onResync;
      this.seq = null;  // null until the first snapshot
      this.bids = new Map();
      this.asks = new Map();
      this.resyncs = 0;
    }

    /** Bids best (highest) first, asks best (lowest) first, in YES terms. */
    sides() {
      const bids = Array.from(this.bids.entries()).sort((a, b) => b[0] - a[0]);
      const asks = Array.from(this.asks.entries()).sort((a, b) => a[0] - b[0]);
      return { bids, asks };
    }

    checksum() {
      const { bids, asks } = this.sides();
      const text = bids.map(([p, s]) => p + ":" + s).join(",") + "|" + asks.map(([p, s]) => p + ":" + s).join(",");
      return crc32(text);
    }

    /** Sides in the terms of `view` ("yes" or "no"): NO bids are YES asks at 1 - p. */
    view(view) {
      const { bids, asks } = this.sides();
      if (view !== "no") return { bids, asks };
      return {
        bids: asks.map(([p, s]) => [MICRO - p, s]),
        asks: bids.map(([p, s]) => [MICRO - p, s]),
      };
    }

    handle(msg) {
      if (msg.contract_id !== undefined && msg.contract_id !== this.contractId) return;
      if (msg.type === "snapshot") this.snapshot(msg);
      else if (msg.type === "delta") this.delta(msg);
      else if (msg.type === "heartbeat") this.heartbeat(msg);
    }

    snapshot(msg) {
      this.bids = new Map(msg.bids.map(([p, s]) => [FT.units.priceMicro(p), s]));
      this.asks = new Map(msg.asks.map(([p, s]) => [FT.units.priceMicro(p), s]));
      this.seq = msg.seq;
      if (msg.checksum !== undefined && this.checksum() !== msg.checksum) {
        console.warn("book snapshot checksum mismatch", this.contractId);
      }
      this.onChange(this);
    }

    delta(msg) {
      if (this.seq === null || msg.seq <= this.seq) return;  // waiting for a snapshot, or old
      if (msg.seq !== this.seq + 1) return this.resync("gap " + this.seq + " -> " + msg.seq);
      for (const [price, bid, ask] of msg.levels) {
        const p = FT.units.priceMicro(price);
        if (bid) this.bids.set(p, bid); else this.bids.delete(p);
        if (ask) this.asks.set(p, ask); else this.asks.delete(p);
      }
      this.seq = msg.seq;
      if (msg.checksum !== undefined && this.checksum() !== msg.checksum) return this.resync("checksum");
      this.onChange(this);
    }

    heartbeat(msg) {
      if (this.seq === null) return;
      if (msg.seq > this.seq) return this.resync("behind heartbeat");
      if (msg.seq === this.seq && msg.checksum !== this.checksum()) this.resync("heartbeat checksum");
    }

    resync(why) {
      console.info("book resync", this.contractId, why);
      this.seq = null;
      this.resyncs += 1;
      this.onResync(this);
    }
  }

  FT.book = { LiveBook, crc32 };
})();
