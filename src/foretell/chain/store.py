"""SQL rows of the chain package (tables `chain_*` in `foretell.store.schema`).

Blocking SQL: call these off the event loop. Each function is one transaction, so a crash
leaves every row in a state the restart understands (see `reconcile`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from foretell.store import schema as t

# Withdrawal states. PENDING_OUT: debited from the ledger and not yet on chain (or failed and
# not yet refunded): the ledger still owes them.
REQUESTED, APPROVED, SIGNED, BROADCAST = "requested", "approved", "signed", "broadcast"
CONFIRMED, FAILED, REJECTED, REFUNDED, CANCELLED = (
    "confirmed", "failed", "rejected", "refunded", "cancelled")
PENDING_OUT = (REQUESTED, APPROVED, SIGNED, BROADCAST, FAILED, REJECTED)
# Deposit states
PENDING, CREDITING, CREDITED, REORGED, REORGED_CREDITED = (
    "pending", "crediting", "credited", "reorged", "reorged_credited")


def deposit_reason(tx_hash: str, log_index: int) -> str:
    """The journaled Deposit's reason: names the log it credits, within the 64 characters the
    store keeps (the hash as base64url: 43 characters instead of 66)."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(tx_hash[2:])).decode().rstrip("=")
    return f"usdc-in {digest}:{log_index}"


OUT, REFUND = "usdc-out #", "usdc-refund #"  # + the withdrawal's id: the journaled reasons


def withdrawal_reason(withdrawal_id: int) -> str:
    return f"{OUT}{withdrawal_id}"


def refund_reason(withdrawal_id: int) -> str:
    return f"{REFUND}{withdrawal_id}"


@dataclass(frozen=True, slots=True)
class Deposit:
    id: int
    tx_hash: str
    log_index: int
    account_id: int
    amount_micro: int
    block_number: int
    block_hash: str


def _deposit(r: Any) -> Deposit:
    return Deposit(r.id, r.tx_hash, r.log_index, r.account_id, r.amount_micro, r.block_number,
                   r.block_hash)


# -- cursor and block hashes ----------------------------------------------------------------

def cursor(db: sa.Engine) -> tuple[int, str] | None:
    with db.connect() as conn:
        row = conn.execute(sa.select(t.chain_cursor)).first()
    return None if row is None else (int(row.block_number), str(row.block_hash))


def advance(db: sa.Engine, number: int, block_hash: str, hashes: dict[int, str],
            keep_from: int) -> None:
    """Move the cursor and remember the hashes of the blocks just read (older ones dropped)."""
    with db.begin() as conn:
        if conn.execute(sa.select(t.chain_cursor.c.id)).first() is None:
            conn.execute(t.chain_cursor.insert().values(id=1, block_number=number,
                                                        block_hash=block_hash))
        else:
            conn.execute(t.chain_cursor.update().values(block_number=number,
                                                        block_hash=block_hash))
        if hashes:
            conn.execute(t.chain_blocks.delete().where(t.chain_blocks.c.number.in_(hashes)))
            conn.execute(t.chain_blocks.insert(), [{"number": n, "hash": h}
                                                   for n, h in hashes.items()])
        conn.execute(t.chain_blocks.delete().where(t.chain_blocks.c.number < keep_from))


def known_hashes(db: sa.Engine) -> list[tuple[int, str]]:
    """Remembered block hashes, newest first."""
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.chain_blocks).order_by(t.chain_blocks.c.number.desc()))
        return [(int(r.number), str(r.hash)) for r in rows]


def rewind(db: sa.Engine, fork: int, fork_hash: str, now_ms: int) -> list[Deposit]:
    """A reorg replaced every block after `fork`: forget their hashes, move the cursor back,
    mark their pending deposits reorged. Credited ones become reorged_credited, raise an alert
    and freeze the account's withdrawals; they are returned. The hot wallet's transactions
    final in those blocks are followed again (`_reopen`)."""
    d = t.chain_deposits
    with db.begin() as conn:
        _reopen(conn, fork, now_ms)
        conn.execute(t.chain_blocks.delete().where(t.chain_blocks.c.number > fork))
        conn.execute(t.chain_cursor.update().values(block_number=fork, block_hash=fork_hash))
        conn.execute(d.update().where(d.c.block_number > fork, d.c.status == PENDING)
                     .values(status=REORGED))
        lost = [_deposit(r) for r in conn.execute(sa.select(d).where(
            d.c.block_number > fork, d.c.status == CREDITED))]
        for dep in lost:
            conn.execute(d.update().where(d.c.id == dep.id).values(status=REORGED_CREDITED))
            message = (f"deposit {dep.tx_hash}:{dep.log_index} of {dep.amount_micro} micro-USDC "
                       f"was credited, then its block {dep.block_number} left the chain (reorg "
                       f"deeper than the confirmations); withdrawals frozen")
            _alert(conn, "deep_reorg", dep.account_id, message, now_ms)
            _freeze(conn, dep.account_id, message[:300], now_ms)
    return lost


def _reopen(conn: sa.Connection, fork: int, now_ms: int) -> None:
    """The hot wallet's transactions that were final (confirmed or failed) in a block after
    `fork` may have left the chain with it. Left final, their nonces would be missing on chain
    and every later transaction would wait behind the gap forever. So each goes back to
    `broadcast`: `follow` finds its receipt in the new chain, or sends the same stored bytes
    again (one nonce, one transaction: never a second transfer). Except a failed withdrawal: it
    is refunded (or about to be), so sending it again could pay twice; the supervisor is
    alerted instead (its nonce may need a replacement transaction)."""
    x, w = t.chain_txs, t.chain_withdrawals
    for tx in conn.execute(sa.select(x).where(x.c.block_number > fork,
                                              x.c.status.in_((CONFIRMED, FAILED)))).all():
        if tx.kind == "withdrawal" and tx.status == FAILED:
            _alert(conn, "reorged_tx", None,
                   f"failed withdrawal #{tx.ref_id} (nonce {tx.nonce}, {tx.tx_hash}) was in block "
                   f"{tx.block_number}, which left the chain; it was refunded, so it is not sent "
                   f"again: if it is not mined in the new chain, nonce {tx.nonce} needs a "
                   f"replacement transaction", now_ms)
            continue
        conn.execute(x.update().where(x.c.id == tx.id).values(
            status=BROADCAST, block_number=None, gas_used=None, gas_cost_wei=None,
            updated_ms=now_ms))
        if tx.kind == "withdrawal":
            conn.execute(w.update().where(w.c.id == tx.ref_id, w.c.tx_id == tx.id)
                         .values(status=BROADCAST, updated_ms=now_ms))


# -- addresses and deposits -----------------------------------------------------------------

def addresses(db: sa.Engine) -> dict[str, int]:
    """Deposit address -> account id."""
    with db.connect() as conn:
        return {r.address: int(r.account_id) for r in conn.execute(sa.select(t.chain_addresses))}


def address_of(db: sa.Engine, account_id: int) -> str | None:
    with db.connect() as conn:
        return conn.scalar(sa.select(t.chain_addresses.c.address).where(
            t.chain_addresses.c.account_id == account_id))


def save_address(db: sa.Engine, account_id: int, address: str, now_ms: int) -> None:
    with db.begin() as conn:
        if conn.scalar(sa.select(t.chain_addresses.c.address).where(
                t.chain_addresses.c.account_id == account_id)) is None:
            conn.execute(t.chain_addresses.insert().values(
                account_id=account_id, address=address, created_ms=now_ms))


def record_transfers(db: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Insert newly seen deposits as pending; a log seen again after a reorg comes back
    (reorged -> pending; reorged_credited -> credited, never credited twice). New rows count."""
    d = t.chain_deposits
    added = 0
    with db.begin() as conn:
        for row in rows:
            old = conn.execute(sa.select(d.c.id, d.c.status).where(
                d.c.tx_hash == row["tx_hash"], d.c.log_index == row["log_index"])).first()
            where = {"block_number": row["block_number"], "block_hash": row["block_hash"]}
            if old is None:
                conn.execute(d.insert().values(**row, status=PENDING))
                added += 1
            elif old.status == REORGED:
                conn.execute(d.update().where(d.c.id == old.id).values(**where, status=PENDING))
            elif old.status == REORGED_CREDITED:
                conn.execute(d.update().where(d.c.id == old.id).values(**where,
                                                                       status=CREDITED))
            else:
                conn.execute(d.update().where(d.c.id == old.id).values(**where))
    return added


def pending_deposits(db: sa.Engine) -> list[Deposit]:
    d = t.chain_deposits
    with db.connect() as conn:
        return [_deposit(r) for r in conn.execute(
            sa.select(d).where(d.c.status == PENDING).order_by(d.c.id))]


def set_deposit(db: sa.Engine, deposit_id: int, status: str, now_ms: int | None = None) -> None:
    d = t.chain_deposits
    values: dict[str, Any] = {"status": status}
    if status == CREDITED:
        values["credited_ms"] = now_ms
    with db.begin() as conn:
        conn.execute(d.update().where(d.c.id == deposit_id).values(**values))


def deposits(db: sa.Engine, account_id: int | None, limit: int = 100) -> list[dict[str, Any]]:
    d = t.chain_deposits
    query = sa.select(d).order_by(d.c.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(d.c.account_id == account_id)
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# -- withdrawals and transactions -------------------------------------------------------------

def withdrawal(db: sa.Engine, withdrawal_id: int) -> dict[str, Any] | None:
    w, x = t.chain_withdrawals, t.chain_txs
    with db.connect() as conn:
        row = conn.execute(sa.select(w, x.c.tx_hash).outerjoin(x, x.c.id == w.c.tx_id)
                           .where(w.c.id == withdrawal_id)).mappings().first()
    return None if row is None else dict(row)


def withdrawals(db: sa.Engine, account_id: int | None = None, status: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    w, x = t.chain_withdrawals, t.chain_txs
    query = (sa.select(w, x.c.tx_hash).outerjoin(x, x.c.id == w.c.tx_id)
             .order_by(w.c.id.desc()).limit(limit))
    if account_id is not None:
        query = query.where(w.c.account_id == account_id)
    if status is not None:
        query = query.where(w.c.status == status)
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def by_request(db: sa.Engine, account_id: int, request_id: str) -> dict[str, Any] | None:
    w = t.chain_withdrawals
    with db.connect() as conn:
        row = conn.execute(sa.select(w.c.id).where(w.c.account_id == account_id,
                                                   w.c.request_id == request_id)).first()
    return None if row is None else withdrawal(db, int(row.id))


def withdrawn_since(db: sa.Engine, account_id: int, since_ms: int) -> int:
    """Micro-USDC this account withdrew (or is withdrawing) since `since_ms`."""
    w = t.chain_withdrawals
    with db.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(w.c.amount_micro), 0))
                               .where(w.c.account_id == account_id, w.c.created_ms >= since_ms,
                                      w.c.status.not_in((REFUNDED, CANCELLED)))) or 0)


def insert_withdrawal(db: sa.Engine, account_id: int, request_id: str, to: str, amount: int,
                      needs_approval: bool, now_ms: int) -> int:
    with db.begin() as conn:
        key = conn.execute(t.chain_withdrawals.insert().values(
            account_id=account_id, request_id=request_id, to_address=to, amount_micro=amount,
            status=REQUESTED, debited=False, needs_approval=needs_approval, created_ms=now_ms,
            updated_ms=now_ms)).inserted_primary_key
    assert key is not None
    return int(key[0])


def delete_withdrawal(db: sa.Engine, withdrawal_id: int) -> None:
    with db.begin() as conn:
        conn.execute(t.chain_withdrawals.delete().where(t.chain_withdrawals.c.id == withdrawal_id))


def set_withdrawal(db: sa.Engine, withdrawal_id: int, now_ms: int,
                   expect: tuple[str, ...] | None = None, **values: Any) -> bool:
    """Update one withdrawal (only from one of the `expect` states); False if it was not in one."""
    w = t.chain_withdrawals
    query = w.update().where(w.c.id == withdrawal_id)
    if expect is not None:
        query = query.where(w.c.status.in_(expect))
    with db.begin() as conn:
        return bool(conn.execute(query.values(updated_ms=now_ms, **values)).rowcount)


def to_sign(db: sa.Engine) -> list[dict[str, Any]]:
    """Approved withdrawals of accounts that are not frozen, oldest first."""
    w = t.chain_withdrawals
    frozen = sa.select(t.chain_frozen.c.account_id)
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(w).where(
            w.c.status == APPROVED, w.c.debited.is_(True),
            w.c.account_id.not_in(frozen)).order_by(w.c.id)).mappings()]


def next_nonce(db: sa.Engine) -> int:
    """One past the highest nonce this exchange ever signed (-1 + 1 = 0 if none)."""
    with db.connect() as conn:
        top = conn.scalar(sa.select(sa.func.max(t.chain_txs.c.nonce)))
    return 0 if top is None else int(top) + 1


def record_signed(db: sa.Engine, kind: str, ref_id: int, nonce: int, tx_hash: str, raw: str,
                  now_ms: int) -> int:
    """Store a signed transaction (and move its withdrawal to `signed`) before it is sent."""
    with db.begin() as conn:
        key = conn.execute(t.chain_txs.insert().values(
            kind=kind, ref_id=ref_id, nonce=nonce, tx_hash=tx_hash, raw_tx=raw, status=SIGNED,
            broadcasts=0, created_ms=now_ms, updated_ms=now_ms)).inserted_primary_key
        assert key is not None
        tx_id = int(key[0])
        if kind == "withdrawal":
            w = t.chain_withdrawals
            done = conn.execute(w.update().where(w.c.id == ref_id, w.c.status == APPROVED)
                                .values(status=SIGNED, tx_id=tx_id, updated_ms=now_ms))
            assert done.rowcount == 1, f"withdrawal {ref_id} was not approved"
    return tx_id


def open_txs(db: sa.Engine) -> list[dict[str, Any]]:
    """Signed or broadcast transactions not yet final, by nonce."""
    x = t.chain_txs
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(x).where(
            x.c.status.in_((SIGNED, BROADCAST))).order_by(x.c.nonce)).mappings()]


def set_tx(db: sa.Engine, tx: dict[str, Any], status: str, now_ms: int,
           **values: Any) -> None:
    """A transaction's new state, and its withdrawal's in the same transaction."""
    x, w = t.chain_txs, t.chain_withdrawals
    with db.begin() as conn:
        conn.execute(x.update().where(x.c.id == tx["id"]).values(
            status=status, updated_ms=now_ms, **values))
        if tx["kind"] == "withdrawal":
            conn.execute(w.update().where(w.c.id == tx["ref_id"], w.c.tx_id == tx["id"])
                         .values(status=status, updated_ms=now_ms))


def sweeps_in_flight(db: sa.Engine) -> set[int]:
    x = t.chain_txs
    with db.connect() as conn:
        return {int(r.ref_id) for r in conn.execute(sa.select(x.c.ref_id).where(
            x.c.kind == "sweep", x.c.status.in_((SIGNED, BROADCAST))))}


def sweep_candidates(db: sa.Engine) -> list[int]:
    """Accounts credited a deposit since their last sweep was signed."""
    d, x = t.chain_deposits, t.chain_txs
    last = (sa.select(sa.func.max(x.c.created_ms)).where(x.c.kind == "sweep",
                                                          x.c.ref_id == d.c.account_id)
            .scalar_subquery())
    with db.connect() as conn:
        return sorted({int(r.account_id) for r in conn.execute(
            sa.select(d.c.account_id).where(d.c.status == CREDITED,
                                            d.c.credited_ms >= sa.func.coalesce(last, 0)))})


def gas_spent_wei(db: sa.Engine) -> int:
    with db.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.coalesce(
            sa.func.sum(t.chain_txs.c.gas_cost_wei), 0))) or 0)


def owed_out(db: sa.Engine) -> list[tuple[int, str | None]]:
    """(amount, tx hash or None) of every withdrawal the ledger debited and still owes, by the
    rows' state now (for the offline audit, where the ledger is the journal's end; a live
    report uses `owed_out_at`)."""
    w, x = t.chain_withdrawals, t.chain_txs
    with db.connect() as conn:
        return [(int(r.amount_micro), r.tx_hash) for r in conn.execute(
            sa.select(w.c.amount_micro, x.c.tx_hash).outerjoin(x, x.c.id == w.c.tx_id)
            .where(w.c.debited.is_(True), w.c.status.in_(PENDING_OUT)))]


def owed_out_at(db: sa.Engine, seq: int) -> list[tuple[int, str | None]] | None:
    """(amount, tx hash or None) of every withdrawal the ledger owes as of command `seq`: its
    Withdraw journaled at or before `seq` and its refund (if any) not, whatever the row's
    `debited` and status say now (a request on another gateway marks its row debited when its
    own replica has applied the Withdraw, which may be before or after the caller's replica
    has); transfers confirmed on chain are not owed. Both from the journal's own record (the
    store's `cash_movements`, which name the withdrawal and carry the seq). None while the
    store has not projected `seq` yet: then that record is not complete."""
    w, x, cash = t.chain_withdrawals, t.chain_txs, t.cash_movements

    def journaled(prefix: str) -> sa.Exists:
        return sa.exists().where(cash.c.account_id == w.c.account_id,
                                 cash.c.reason == sa.literal(prefix) + sa.cast(w.c.id, sa.String),
                                 cash.c.seq <= seq)

    with db.connect() as conn:
        projected = conn.scalar(sa.select(t.projector_state.c.last_seq)
                                .where(t.projector_state.c.id == 1))
        if int(projected or 0) < seq:
            return None
        return [(int(r.amount_micro), r.tx_hash) for r in conn.execute(
            sa.select(w.c.amount_micro, x.c.tx_hash).outerjoin(x, x.c.id == w.c.tx_id)
            .where(w.c.status.not_in((CONFIRMED, CANCELLED)),
                   journaled(OUT), ~journaled(REFUND)))]


# -- alerts and frozen accounts -------------------------------------------------------------

def _alert(conn: sa.Connection, kind: str, account_id: int | None, message: str,
           now_ms: int) -> None:
    conn.execute(t.chain_alerts.insert().values(kind=kind, account_id=account_id,
                                                message=message[:500], created_ms=now_ms))


def _freeze(conn: sa.Connection, account_id: int, reason: str, now_ms: int) -> None:
    f = t.chain_frozen
    if conn.execute(sa.select(f.c.account_id).where(f.c.account_id == account_id)).first() is None:
        conn.execute(f.insert().values(account_id=account_id, reason=reason, created_ms=now_ms))


def alert(db: sa.Engine, kind: str, account_id: int | None, message: str, now_ms: int,
          once: bool = False, resolved: int | None = None) -> bool:
    """Record an alert (with `once`, not while an unresolved one of this kind exists; with
    `resolved`, not if the number of resolved ones of this kind is no longer that: a check
    begun before a supervisor's resolution does not raise it again)."""
    a = t.chain_alerts
    with db.begin() as conn:
        if once and conn.execute(sa.select(a.c.id).where(
                a.c.kind == kind, a.c.resolved_ms.is_(None))).first() is not None:
            return False
        if resolved is not None and _resolved(conn, kind) != resolved:
            return False
        _alert(conn, kind, account_id, message, now_ms)
    return True


def _resolved(conn: sa.Connection, kind: str) -> int:
    a = t.chain_alerts
    return int(conn.scalar(sa.select(sa.func.count()).select_from(a).where(
        a.c.kind == kind, a.c.resolved_ms.is_not(None))) or 0)


def resolved_count(db: sa.Engine, kind: str) -> int:
    with db.connect() as conn:
        return _resolved(conn, kind)


def is_open(db: sa.Engine, kind: str) -> bool:
    """Whether an unresolved alert of this kind exists (`reserves_shortfall`: withdrawals are
    halted, on every gateway, since they all read it here)."""
    a = t.chain_alerts
    with db.connect() as conn:
        return conn.execute(sa.select(a.c.id).where(
            a.c.kind == kind, a.c.resolved_ms.is_(None)).limit(1)).first() is not None


def alerts(db: sa.Engine, open_only: bool = False) -> list[dict[str, Any]]:
    a = t.chain_alerts
    query = sa.select(a).order_by(a.c.id.desc()).limit(200)
    if open_only:
        query = query.where(a.c.resolved_ms.is_(None))
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def resolve_alert(db: sa.Engine, alert_id: int, by: int, now_ms: int) -> bool:
    a = t.chain_alerts
    with db.begin() as conn:
        return bool(conn.execute(a.update().where(a.c.id == alert_id, a.c.resolved_ms.is_(None))
                                 .values(resolved_ms=now_ms, resolved_by=by)).rowcount)


def frozen(db: sa.Engine, account_id: int) -> str | None:
    with db.connect() as conn:
        return conn.scalar(sa.select(t.chain_frozen.c.reason).where(
            t.chain_frozen.c.account_id == account_id))


def unfreeze(db: sa.Engine, account_id: int) -> bool:
    with db.begin() as conn:
        return bool(conn.execute(t.chain_frozen.delete().where(
            t.chain_frozen.c.account_id == account_id)).rowcount)


# -- after a restart --------------------------------------------------------------------------

def reconcile(db: sa.Engine) -> dict[str, int]:
    """Finish what a crash interrupted, using the journal's own record: the store's
    `cash_movements` (caught up with the journal before serving) holds every durable Deposit and
    Withdraw with its reason. A deposit left `crediting` is credited if its Deposit is there,
    else pending again; a withdrawal never marked debited is debited if its Withdraw is there,
    else cancelled; a failed or rejected withdrawal whose refund is there is refunded."""
    d, w, cash = t.chain_deposits, t.chain_withdrawals, t.cash_movements
    fixed = {"deposits": 0, "withdrawals": 0, "refunds": 0}
    with db.begin() as conn:
        def journaled(reason: str) -> bool:
            return conn.execute(sa.select(cash.c.id).where(cash.c.reason == reason)
                                .limit(1)).first() is not None

        for r in conn.execute(sa.select(d).where(d.c.status == CREDITING)).all():
            done = journaled(deposit_reason(r.tx_hash, r.log_index))
            conn.execute(d.update().where(d.c.id == r.id).values(
                status=CREDITED if done else PENDING, credited_ms=r.seen_ms if done else None))
            fixed["deposits"] += 1
        for r in conn.execute(sa.select(w).where(w.c.debited.is_(False),
                                                 w.c.status == REQUESTED)).all():
            if journaled(withdrawal_reason(r.id)):
                status = REQUESTED if r.needs_approval else APPROVED
                conn.execute(w.update().where(w.c.id == r.id).values(debited=True, status=status))
            else:
                conn.execute(w.update().where(w.c.id == r.id).values(
                    status=CANCELLED, note="the request did not complete"))
            fixed["withdrawals"] += 1
        for r in conn.execute(sa.select(w).where(w.c.status.in_((FAILED, REJECTED)))).all():
            if journaled(refund_reason(r.id)):
                conn.execute(w.update().where(w.c.id == r.id).values(status=REFUNDED))
                fixed["refunds"] += 1
    return fixed
