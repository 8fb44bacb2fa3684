"""The reserves against a withdrawal half taken out of the ledger, as a cluster sees it: the
gateway running the chain job takes its ledger from its own replica, which may not have applied
a Withdraw that another gateway's replica has (and that gateway already marked the row
debited), or may have applied one whose row is not marked debited yet.

Real pieces in this process: the engine and the SQL projector on PostgreSQL (a schema of its
own), the local EVM node holding the tokens, `Funding` taking the request. The lagging replica
is the ledger taken just before the request, with its seq: what the chain job's gateway holds
while the Withdraw is on its way to it.

Counting owed withdrawals by the rows' state now (`store.owed_out`, what a live report did)
owes the in-flight withdrawal twice, a false shortfall of exactly its amount when held = owed;
counting them as of the ledger's seq from the journal's record (`store.owed_out_at`) owes it
once, in both orders.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from tests.databases import PG_URL, new_pg_schema, pg_admin, pg_url

from foretell.chain import reserves, store
from foretell.chain.runner import Funding
from foretell.config import ChainSettings, Settings
from foretell.services import Services

from .conftest import USDC, Chain

pytestmark = pytest.mark.skipif(not PG_URL, reason="FORETELL_TEST_PG_URL not set "
                                "(e.g. postgresql://postgres@127.0.0.1:5432/test)")


async def _scenario(svc: Services, cfg: ChainSettings, chain: Chain) -> None:
    funding = Funding(svc, cfg)
    await funding.start()
    trader = svc.accounts.create_user(f"t{uuid.uuid4().hex[:10]}", "trader-password-1")
    # 100 USDC in the ledger and 100 in the hot wallet: held = owed.
    chain.pay(0, chain.hot_address, 100 * USDC)
    await svc.accounts.credit(trader, 100 * USDC, "usdc-in test", trader)
    first = await funding.reserves()
    assert (first["held"], first["owed"], first["shortfall"]) == ("100.000000", "100.000000",
                                                                   False)
    # The chain job's replica, before the Withdraw reaches it.
    lag_seq, lag_ledger = svc.pipeline.seq, reserves.liabilities(svc.engine)
    w = await funding.request_withdrawal(trader, "40", chain.address(chain.users[1]), "r1")
    assert w["status"] == "approved"  # debited, its row marked so; nothing signed (no cycle)
    block = chain.net.w3.eth.block_number
    held = await asyncio.to_thread(reserves.holdings, funding.evm, funding.wallet.address,
                                   sorted(store.addresses(svc.db)), [], block)
    assert held.total_micro == 100 * USDC

    # 1. The lagging ledger against the rows as they are now: 40 owed twice.
    naive = reserves.report(lag_ledger, store.owed_out(svc.db), held, 0)
    assert naive["shortfall"] and naive["owed"] == "140.000000"
    # ... against the withdrawals owed as of its seq: once (still in its ledger), no shortfall.
    lagging = await funding.report_at(lag_ledger, lag_seq, block)
    assert not lagging["shortfall"]
    assert (lagging["owed"], lagging["pending_withdrawals"]) == ("100.000000", "0.000000")

    # 2. The other order: the ledger has the Withdraw, the requesting gateway has not marked
    # its row debited yet. By the rows' state the 40 are owed nowhere (a shortfall this size
    # would be hidden); as of the seq they are owed once.
    ledger, seq = reserves.liabilities(svc.engine), svc.pipeline.seq
    await asyncio.to_thread(store.set_withdrawal, svc.db, w["id"], svc.clock(), debited=False,
                            status=store.REQUESTED)
    hidden = reserves.report(ledger, store.owed_out(svc.db), held, 0)
    assert hidden["owed"] == "60.000000"
    current = await funding.report_at(ledger, seq, block)
    assert not current["shortfall"]
    assert (current["owed"], current["pending_withdrawals"]) == ("100.000000", "40.000000")
    await asyncio.to_thread(store.set_withdrawal, svc.db, w["id"], svc.clock(), debited=True,
                            status=store.APPROVED)

    # 3. A refund half done: journaled (ledger back to 100 free), the row still `rejected`:
    # owed once either way.
    await asyncio.to_thread(store.set_withdrawal, svc.db, w["id"], svc.clock(),
                            status=store.REJECTED)
    before_refund, refund_seq = reserves.liabilities(svc.engine), svc.pipeline.seq
    await svc.accounts.credit(trader, 40 * USDC, store.refund_reason(w["id"]), trader)
    after = await funding.report_at(reserves.liabilities(svc.engine), svc.pipeline.seq, block)
    assert (after["owed"], after["pending_withdrawals"], after["shortfall"]) == (
        "100.000000", "0.000000", False)
    assert reserves.report(reserves.liabilities(svc.engine), store.owed_out(svc.db), held,
                           0)["owed"] == "140.000000"  # by the rows: owed twice
    before = await funding.report_at(before_refund, refund_seq, block)
    assert (before["owed"], before["shortfall"]) == ("100.000000", False)

    # The whole check, as the chain job runs it: no shortfall, no alert, nothing halted.
    final = await funding.reserves()
    assert not final["shortfall"] and not final["withdrawals_halted"]
    assert not [a for a in store.alerts(svc.db) if a["kind"] == "reserves_shortfall"]


def test_a_withdrawal_in_flight_is_owed_once_whichever_side_saw_it_first(
        chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = ChainSettings.from_env(chain.env())
    assert cfg is not None
    monkeypatch.setenv(cfg.hot_key_env, chain.hot)  # read from there when needed
    schema = new_pg_schema()
    settings = Settings(data=tmp_path / "data", database_url=pg_url(schema), demo=False,
                        market_maker=False, projector_process=False, chain=cfg)
    svc = Services(settings)
    try:
        asyncio.run(_scenario(svc, cfg, chain))
    finally:
        svc.close()
        pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
