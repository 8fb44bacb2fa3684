"""Settlement with many accounts, resting orders, triggers and positions on both sides: every
payout to the micro-USDC, nothing left locked, money conserved, audit clean, replay identical."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import BUY, NO, SELL, YES
from foretell.domain.units import MICRO
from foretell.engine.audit import audit
from foretell.engine.engine import Engine
from foretell.engine.snapshot import state_hash
from foretell.exchange.pipeline import Pipeline
from foretell.exchange.recovery import recover

ACCOUNTS = 40


def _trade(e: Engine, rng: random.Random, market: int, steps: int) -> None:
    contracts = [c.id for c in e.markets[market].contracts]
    ts = e.now_ms
    for _ in range(steps):
        ts += 1
        a = rng.randrange(1, ACCOUNTS + 1)
        c = rng.choice(contracts)
        pos = e.accounts[a].positions.get(c)
        outcome = rng.choice((YES, NO))
        if pos and pos[outcome] - pos[2 + outcome] > 0 and rng.random() < 0.4:
            size = rng.randrange(1, pos[outcome] - pos[2 + outcome] + 1)
            e.apply(cmd.PlaceOrder(ts, a, c, outcome, SELL, size, rng.randrange(5, 96) * 10_000))
        elif pos and (pos[0] or pos[1]) and rng.random() < 0.1:
            held = YES if pos[0] else NO
            e.apply(cmd.PlaceTrigger(ts, a, c, held, pos[held], stop_loss_micro=100_000,
                                     take_profit_micro=900_000))
        else:
            e.apply(cmd.PlaceOrder(ts, a, c, outcome, BUY, rng.randrange(1, 50),
                                   rng.randrange(5, 96) * 10_000))
        e.take_events()


def _setup(outcomes: int, seed: int) -> Engine:
    e = Engine()
    for a in range(1, ACCOUNTS + 1):
        e.apply(cmd.Deposit(1, a, 5_000 * MICRO))
    e.apply(cmd.CreateMarket(1, 1, outcomes, maker_fee_ppm=700, taker_fee_ppm=1_300,
                             creator=1, creator_share_ppm=250_000))
    _trade(e, random.Random(seed), 1, 1_500)
    assert e.orders and any(c.collateral for c in e.markets[1].contracts)
    return e


def _expected(e: Engine, yes_micro_of: dict[int, int]) -> dict[int, int]:
    """Payout per account computed from positions before settlement, by hand."""
    out: dict[int, int] = {}
    for c in e.markets[1].contracts:
        y = yes_micro_of[c.id]
        for account, pos in c.positions.items():
            out[account] = out.get(account, 0) + pos[YES] * y + pos[NO] * (MICRO - y)
    return out


def _settle_and_check(e: Engine, command: cmd.Command, yes_micro_of: dict[int, int]) -> None:
    # Resting orders are cancelled first and may net pairs, so compare after the cancels: the
    # payout must equal each account's final holdings at the announced prices.
    cash_before = {a.id: a.free + a.reserved for a in e.accounts.values()}
    collateral = sum(c.collateral for c in e.markets[1].contracts)
    code, _ = e.apply(command)
    assert code == "ok"
    events = e.take_events()
    paid = {}
    for x in events:
        if isinstance(x, ev.Payout):
            d = ev.as_dict(x)
            paid[d["account"]] = paid.get(d["account"], 0) + d["amount_micro"]
            contract_price = yes_micro_of[d["contract"]]
            assert d["amount_micro"] == (d["yes_shares"] * contract_price
                                         + d["no_shares"] * (MICRO - contract_price))
    netted = sum(x.pairs for x in events if isinstance(x, ev.Netted)) * MICRO
    moved = sum(a.free + a.reserved for a in e.accounts.values()) - sum(cash_before.values())
    assert moved == sum(paid.values()) + netted == collateral * MICRO
    for c in e.markets[1].contracts:
        assert (c.collateral, c.yes_out, c.no_out, c.positions) == (0, 0, 0, {})
    assert not e.orders and not e.triggers
    assert all(a.reserved == 0 and not a.positions for a in e.accounts.values())
    report = audit(e)
    assert report.ok, report.violations[:5]


@pytest.mark.parametrize("outcomes, winner", [(2, 0), (2, 1), (4, 2)])
def test_resolution_pays_every_holder_exactly(outcomes: int, winner: int) -> None:
    e = _setup(outcomes, seed=outcomes * 10 + winner)
    contracts = e.markets[1].contracts
    prices = {c.id: (MICRO if (winner == 0 if len(contracts) == 1 else c.index == winner) else 0)
              for c in contracts}
    _settle_and_check(e, cmd.SettleMarket(e.now_ms, 1, winner), prices)


def test_void_pays_the_fraction_to_every_holder() -> None:
    e = _setup(3, seed=99)
    prices = {c.id: e.markets[1].void_yes_micro for c in e.markets[1].contracts}
    _settle_and_check(e, cmd.VoidMarket(e.now_ms, 1, "event cancelled"), prices)


@settings(max_examples=15, deadline=None, database=None)
@given(seed=st.integers(0, 10**6), outcomes=st.sampled_from((2, 3)), void=st.booleans())
def test_random_trading_then_settlement_conserves_money(seed: int, outcomes: int,
                                                         void: bool) -> None:
    e = Engine()
    for a in range(1, ACCOUNTS + 1):
        e.apply(cmd.Deposit(1, a, 2_000 * MICRO))
    e.apply(cmd.CreateMarket(1, 1, outcomes, maker_fee_ppm=500, taker_fee_ppm=1_000,
                             creator=2, creator_share_ppm=300_000))
    _trade(e, random.Random(seed), 1, 300)
    deposits = e.deposits_micro
    fees_before = e.fees_micro
    if void:
        e.apply(cmd.VoidMarket(e.now_ms, 1, "void"))
    else:
        e.apply(cmd.SettleMarket(e.now_ms, 1, seed % outcomes))
    e.take_events()
    cash = sum(a.free + a.reserved for a in e.accounts.values())
    assert cash + e.fees_micro == deposits  # nothing locked anywhere any more
    assert e.fees_micro == fees_before  # settlement itself charges no fee
    assert audit(e).ok


def test_settlement_after_proposal_and_dispute_replays_identically(tmp_path: Path) -> None:
    """Through the durable pipeline: trade, propose, dispute, decide; replay -> same hash."""
    pipeline = Pipeline(tmp_path, clock=lambda: 1_000)
    e = pipeline.engine
    for a in range(1, ACCOUNTS + 1):
        pipeline.execute(cmd.Deposit(0, a, 5_000 * MICRO))
    pipeline.execute(cmd.CreateMarket(0, 1, 2, creator=1, creator_share_ppm=200_000,
                                      dispute_bond_micro=25 * MICRO))
    rng = random.Random(5)
    for _ in range(400):
        a, outcome = rng.randrange(1, ACCOUNTS + 1), rng.choice((YES, NO))
        pipeline.execute(cmd.PlaceOrder(0, a, 1, outcome, BUY, rng.randrange(1, 30),
                                        rng.randrange(30, 71) * 10_000))
    holder = next(iter(e.contracts[1].positions))
    assert pipeline.execute(cmd.ProposeResolution(0, 1, 0, 1, 10 * MICRO, "evidence")).ok
    assert pipeline.execute(cmd.Dispute(0, 1, holder, 25 * MICRO, "disagree")).ok
    assert pipeline.execute(cmd.DecideDispute(0, 1, True, 1, 0, "upheld")).ok
    assert audit(e).ok
    before = state_hash(e)
    pipeline.close()
    replayed, _ = recover(tmp_path)
    assert state_hash(replayed) == before
