"""The deposit watcher: Transfer logs into deposit addresses -> pending deposits -> ready to
credit once N blocks deep and still canonical. Blocking (RPC and SQL): run `scan` off the loop.

Reorgs: the cursor keeps the hash of the last block read and `chain_blocks` the hashes of the
recent ones. When the chain's hash at the cursor differs, the newest remembered block that the
chain still has is the fork point: every deposit above it is marked reorged (a credited one is
flagged for the supervisor and freezes the account's withdrawals), and reading resumes from
there, so a log that comes back in the new chain is seen again under its (tx hash, log index).
A deposit is also re-checked against the chain's hash of its block right before it is
credited, so a reorg in between never credits a log that is not canonical.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from foretell.chain import store
from foretell.chain.evm import Evm
from foretell.config import ChainSettings

log = logging.getLogger(__name__)
blocks_per_query_max = 2_000


@dataclass
class Scan:
    head: int
    ready: list[store.Deposit] = field(default_factory=list)
    reorged_after_credit: list[store.Deposit] = field(default_factory=list)
    reorg_depth: int = 0


def scan(db: sa.Engine, evm: Evm, cfg: ChainSettings, now_ms: int) -> Scan:
    head = evm.head()
    result = Scan(head)
    at = store.cursor(db)
    if at is None:
        first = cfg.start_block if cfg.start_block >= 0 else head
        at = (first - 1, evm.block_hash(first - 1) or "") if first > 0 else (-1, "")
    elif evm.block_hash(at[0]) != at[1]:
        at = _rewind(db, evm, at, now_ms, result)
    watched = store.addresses(db)
    start = at[0] + 1
    while start <= head:
        end = min(head, start + blocks_per_query_max - 1)
        if not _read(db, evm, cfg, watched, start, end, now_ms):
            return result  # the chain moved under us: start again next time
        start = end + 1
    result.ready = _confirmed(db, evm, cfg, head)
    return result


def _rewind(db: sa.Engine, evm: Evm, at: tuple[int, str], now_ms: int, result: Scan) -> tuple[int, str]:
    fork, fork_hash = -1, ""
    for number, block_hash in store.known_hashes(db):
        if evm.block_hash(number) == block_hash:
            fork, fork_hash = number, block_hash
            break
    result.reorg_depth = at[0] - fork
    log.warning("chain reorg: block %d changed; rereading from block %d", at[0], fork + 1)
    result.reorged_after_credit = store.rewind(db, fork, fork_hash, now_ms)
    for dep in result.reorged_after_credit:
        log.error("deposit %s:%d (account %d, %d micro-USDC) was credited and its block left "
                  "the chain: account frozen, supervisor alerted", dep.tx_hash, dep.log_index,
                  dep.account_id, dep.amount_micro)
    return fork, fork_hash


def _read(db: sa.Engine, evm: Evm, cfg: ChainSettings, watched: dict[str, int], start: int,
          end: int, now_ms: int) -> bool:
    """Read blocks start..end; False if a reorg happened while reading (nothing kept)."""
    keep_from = max(start, end - cfg.reorg_depth_max)
    hashes: dict[int, str] = {}
    for number in range(keep_from, end + 1):
        block_hash = evm.block_hash(number)
        if block_hash is None:
            return False
        hashes[number] = block_hash
    rows = []
    for tr in evm.transfers(start, end):
        account_id = watched.get(tr.to)
        if account_id is None:
            continue
        if tr.block_number in hashes and hashes[tr.block_number] != tr.block_hash:
            return False
        rows.append({"tx_hash": tr.tx_hash, "log_index": tr.log_index, "account_id": account_id,
                     "address": tr.to, "sender": tr.sender, "amount_micro": tr.amount,
                     "block_number": tr.block_number, "block_hash": tr.block_hash,
                     "seen_ms": now_ms})
    if evm.block_hash(end) != hashes[end]:
        return False
    store.record_transfers(db, rows)
    store.advance(db, end, hashes[end], hashes, keep_from=end - cfg.reorg_depth_max)
    return True


def _confirmed(db: sa.Engine, evm: Evm, cfg: ChainSettings, head: int) -> list[store.Deposit]:
    """Pending deposits N blocks deep whose block is still the chain's; a deposit whose block
    hash changed is marked reorged (the next scan finds it again if it came back)."""
    ready = []
    for dep in store.pending_deposits(db):
        if head - dep.block_number + 1 < cfg.confirmations:
            continue
        if evm.block_hash(dep.block_number) != dep.block_hash:
            store.set_deposit(db, dep.id, store.REORGED)
            continue
        ready.append(dep)
    return ready
