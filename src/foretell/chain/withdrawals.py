"""The hot wallet's outgoing transactions: sign -> store -> broadcast -> follow to N
confirmations. Blocking (RPC and SQL): run `sign_due` and `follow` off the loop.

Crash safety: a transaction is signed with the next nonce and stored (raw bytes, hash, nonce;
the withdrawal moves to `signed` in the same SQL transaction) before it is ever sent. After a
crash the stored bytes are sent again: the node answers "already known" or the transaction is
already mined; either way there is one transfer, because one nonce carries one transaction.
Nonces come from the store (one past the highest ever signed) or the node's pending count,
whichever is higher, so a lost broadcast never makes a second transfer at a new nonce.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from foretell.chain import store
from foretell.chain.evm import Evm, sweep_data, transfer_data
from foretell.config import ChainSettings

log = logging.getLogger(__name__)


class HotWallet:
    """The signing key, read from its source; its repr never shows the key."""

    def __init__(self, cfg: ChainSettings) -> None:
        self._account: LocalAccount = Account.from_key(cfg.hot_key())
        self.address: str = self._account.address

    def __repr__(self) -> str:
        return f"HotWallet({self.address})"

    def sign(self, tx: dict[str, Any]) -> tuple[str, str]:
        """(0x raw hex, 0x tx hash) of the signed transaction."""
        signed = self._account.sign_transaction(tx)
        return Web3.to_hex(signed.raw_transaction), Web3.to_hex(signed.hash).lower()


@dataclass
class Followed:
    """What `follow` decided: withdrawals whose transfer failed on chain (to refund)."""

    failed: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)


def _sign(db: sa.Engine, evm: Evm, cfg: ChainSettings, wallet: HotWallet, kind: str,
          ref_id: int, to: str, data: bytes, gas: int, now_ms: int) -> dict[str, Any]:
    nonce = max(evm.nonce(wallet.address), store.next_nonce(db))
    raw, tx_hash = wallet.sign({"nonce": nonce, "to": to, "value": 0, "data": data, "gas": gas,
                                "gasPrice": evm.gas_price(), "chainId": cfg.chain_id})
    tx_id = store.record_signed(db, kind, ref_id, nonce, tx_hash, raw, now_ms)
    return {"id": tx_id, "kind": kind, "ref_id": ref_id, "nonce": nonce, "tx_hash": tx_hash,
            "raw_tx": raw, "status": store.SIGNED, "broadcasts": 0}


def sign_due(db: sa.Engine, evm: Evm, cfg: ChainSettings, wallet: HotWallet, now_ms: int,
             before_send: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """Sign every approved withdrawal (stored first), then broadcast each."""
    signed = []
    for w in store.to_sign(db):
        signed.append(_sign(db, evm, cfg, wallet, "withdrawal", int(w["id"]), cfg.token,
                            transfer_data(w["to_address"], int(w["amount_micro"])),
                            cfg.gas_limit_transfer, now_ms))
    if signed and before_send is not None:
        before_send()  # tests: a crash point between "signed" and "broadcast"
    for tx in signed:
        broadcast(db, evm, tx, now_ms)
    return signed


def sign_sweep(db: sa.Engine, evm: Evm, cfg: ChainSettings, wallet: HotWallet, account_id: int,
               now_ms: int) -> dict[str, Any]:
    tx = _sign(db, evm, cfg, wallet, "sweep", account_id, cfg.factory, sweep_data(account_id),
               cfg.gas_limit_sweep, now_ms)
    broadcast(db, evm, tx, now_ms)
    return tx


def broadcast(db: sa.Engine, evm: Evm, tx: dict[str, Any], now_ms: int) -> None:
    """Send the stored bytes (again). A node that already has them, or has mined them, may
    refuse: that is fine, the receipt decides."""
    try:
        evm.send_raw(bytes.fromhex(tx["raw_tx"][2:]))
    except Exception as exc:  # noqa: BLE001 - the node's words vary; the receipt decides
        log.info("broadcast of %s (nonce %d) refused: %s", tx["tx_hash"], tx["nonce"], exc)
    store.set_tx(db, tx, store.BROADCAST, now_ms, broadcasts=int(tx["broadcasts"]) + 1)


def follow(db: sa.Engine, evm: Evm, cfg: ChainSettings, head: int, now_ms: int) -> Followed:
    """Each open transaction: not mined -> send it again; mined N deep -> confirmed or failed."""
    out = Followed()
    for tx in store.open_txs(db):
        receipt = evm.receipt(tx["tx_hash"])
        if receipt is None:
            broadcast(db, evm, tx, now_ms)
            continue
        if head - receipt.block_number + 1 < cfg.confirmations:
            if tx["status"] == store.SIGNED:
                store.set_tx(db, tx, store.BROADCAST, now_ms)
            continue
        status = store.CONFIRMED if receipt.ok else store.FAILED
        store.set_tx(db, tx, status, now_ms, block_number=receipt.block_number,
                     gas_used=receipt.gas_used,
                     gas_cost_wei=receipt.gas_used * receipt.gas_price_wei)
        if tx["kind"] == "withdrawal":
            (out.confirmed if receipt.ok else out.failed).append(int(tx["ref_id"]))
            if not receipt.ok:
                log.warning("withdrawal %d: transfer %s reverted on chain; refunding",
                            tx["ref_id"], tx["tx_hash"])
        elif not receipt.ok:
            log.warning("sweep of account %d reverted (%s)", tx["ref_id"], tx["tx_hash"])
    return out
