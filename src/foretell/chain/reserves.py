"""Proof of reserves: tokens the exchange holds on chain against what its ledger owes.

held = token balance of the hot wallet + of every deposit address, all read at one block H.
owed = free + reserved cash + collateral + bonds + fees (the engine's liabilities, equal to its
       net deposits by conservation) + withdrawals debited from the ledger whose transfer is not
       mined successfully at or before H (requested, approved, signed, broadcast, or failed or
       rejected and not refunded yet).
Deposits seen on chain and not credited yet make held > owed (a surplus, never a shortfall);
sweeps move tokens between two addresses that are both counted; gas is ETH and counts in
neither (reported on its own: the hot wallet's ETH balance and the wei spent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from foretell.chain.evm import Evm
from foretell.domain.units import MICRO, format_micro
from foretell.engine.engine import Engine


@dataclass
class Liabilities:
    cash_free_micro: int = 0
    cash_reserved_micro: int = 0
    collateral_micro: int = 0
    bonds_micro: int = 0
    fees_micro: int = 0
    net_deposits_micro: int = 0
    # Collateral that conversion minted against the markets' NO sets (engine/convert.py): it is
    # in `collateral_micro` but no token backs it, since the sets themselves repay it.
    conversion_debt_micro: int = 0

    @property
    def ledger_micro(self) -> int:
        return (self.cash_free_micro + self.cash_reserved_micro + self.collateral_micro
                + self.bonds_micro + self.fees_micro - self.conversion_debt_micro)


def liabilities(engine: Engine) -> Liabilities:
    """What the engine owes, summed over accounts, contracts and markets (no book walk)."""
    out = Liabilities(fees_micro=engine.fees_micro, net_deposits_micro=engine.deposits_micro)
    for a in engine.accounts.values():
        out.cash_free_micro += a.free
        out.cash_reserved_micro += a.reserved
    out.collateral_micro = sum(c.collateral for c in engine.contracts.values()) * MICRO
    out.bonds_micro = sum(m.bonds_micro for m in engine.markets.values())
    out.conversion_debt_micro = sum((len(m.contracts) - 1) * m.conv_sets
                                    for m in engine.markets.values()) * MICRO
    return out


@dataclass
class Holdings:
    block: int
    hot_wallet_micro: int
    deposit_addresses_micro: int
    hot_wallet_eth_wei: int
    out_mined: set[str] = field(default_factory=set)  # withdrawal tx hashes mined ok by `block`

    @property
    def total_micro(self) -> int:
        return self.hot_wallet_micro + self.deposit_addresses_micro


def holdings(evm: Evm, hot_wallet: str, addresses: list[str], pending_hashes: list[str],
             block: int | None = None) -> Holdings:
    """Blocking: balances at one block (the head if not given), and which pending withdrawals
    were mined by then."""
    block = evm.head() if block is None else block
    held = Holdings(block, evm.balance(hot_wallet, block),
                    sum(evm.balance(a, block) for a in addresses),
                    evm.eth_balance(hot_wallet, block))
    for tx_hash in pending_hashes:
        receipt = evm.receipt(tx_hash)
        if receipt is not None and receipt.ok and receipt.block_number <= block:
            held.out_mined.add(tx_hash)
    return held


def report(ledger: Liabilities, out: list[tuple[int, str | None]], held: Holdings,
           gas_spent_wei: int) -> dict[str, Any]:
    pending_out = sum(amount for amount, tx in out if tx not in held.out_mined)
    owed = ledger.ledger_micro + pending_out
    # The ratio as an exact decimal string (6 places, rounded down): no floats in money.
    ratio = format_micro(held.total_micro * MICRO // owed) if owed else None
    return {
        "block": held.block,
        "held": format_micro(held.total_micro),
        "held_micro": held.total_micro,
        "hot_wallet": format_micro(held.hot_wallet_micro),
        "deposit_addresses": format_micro(held.deposit_addresses_micro),
        "owed": format_micro(owed),
        "owed_micro": owed,
        "cash_free": format_micro(ledger.cash_free_micro),
        "cash_reserved": format_micro(ledger.cash_reserved_micro),
        "collateral": format_micro(ledger.collateral_micro),
        "bonds": format_micro(ledger.bonds_micro),
        "fees": format_micro(ledger.fees_micro),
        "pending_withdrawals": format_micro(pending_out),
        "surplus": format_micro(held.total_micro - owed),
        "ratio": ratio,
        "shortfall": held.total_micro < owed,
        "gas": {"hot_wallet_eth_wei": str(held.hot_wallet_eth_wei),
                "spent_wei": str(gas_spent_wei)},
    }


def offline_report(engine: Engine, db_url: str, cfg: Any) -> dict[str, Any]:
    """The same report for `foretell audit` (blocking; the engine replayed from the journal)."""
    from eth_account import Account

    from foretell.chain import store
    from foretell.store.db import connect

    db = connect(db_url)
    try:
        out = store.owed_out(db)
        addresses = sorted(store.addresses(db))
        gas = store.gas_spent_wei(db)
    finally:
        db.dispose()
    evm = Evm(cfg.rpc_url, cfg.token)
    hot = Account.from_key(cfg.hot_key()).address
    held = holdings(evm, hot, addresses, [tx for _, tx in out if tx])
    return report(liabilities(engine), out, held, gas)
