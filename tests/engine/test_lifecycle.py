"""Market status changes, scheduled close, resolution and void: payouts to the micro-USDC."""

from __future__ import annotations

import pytest

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.orders import YES
from foretell.domain.units import MICRO

M = MICRO


@pytest.fixture
def traded(ex):
    """1 holds 10 YES (paid 0.60), 2 holds 10 NO (paid 0.40); both have resting orders too."""
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 60)
    ex.limit(2, "buy_no", 10, 40)
    ex.limit(1, "sell_yes", 4, 80)
    ex.limit(2, "buy_no", 3, 10)
    ex.limit(3, "buy_yes", 7, 20)
    ex.ok(cmd.PlaceTrigger(ex.ts, 2, 1, 1, 5, stop_loss_micro=200_000))
    return ex


@pytest.mark.parametrize("winner, pay1, pay2", [(0, 10 * M, 0), (1, 0, 10 * M)])
def test_resolve_pays_one_usdc_per_winning_share(traded, winner, pay1, pay2):
    traded.ok(cmd.SettleMarket(traded.ts, 1, winner))
    assert traded.cash(1) == (1_000 * M - 6 * M + pay1, 0)
    assert traded.cash(2) == (1_000 * M - 4 * M + pay2, 0)
    assert traded.cash(3) == (1_000 * M, 0)
    c = traded.engine.contracts[1]
    assert (c.collateral, c.yes_out, c.no_out, c.positions) == (0, 0, 0, {})
    assert traded.engine.orders == {} and traded.engine.triggers == {}
    payouts = {e["account"]: e["amount_micro"] for e in traded.events(ev.Payout)}
    assert payouts == {1: pay1, 2: pay2}


def test_void_pays_the_fixed_fraction_to_each_side(traded):
    traded.ok(cmd.VoidMarket(traded.ts, 1, "event cancelled"))
    assert traded.cash(1) == (1_000 * M - 6 * M + 5 * M, 0)
    assert traded.cash(2) == (1_000 * M - 4 * M + 5 * M, 0)
    assert traded.engine.markets[1].status == mk.VOIDED


def test_categorical_market_settles_every_outcome_together(ex):
    contracts = ex.market(7, outcomes=3, maker_fee_ppm=0, taker_fee_ppm=0)
    assert len(contracts) == 3
    ex.fund(1, 2)
    for cid, cents in zip(contracts, (50, 30, 20), strict=True):
        ex.limit(1, "buy_yes", 10, cents, contract=cid)
        ex.limit(2, "buy_no", 10, 100 - cents, contract=cid)
    ex.ok(cmd.SettleMarket(ex.ts, 7, 1))  # the second outcome wins
    # 1 holds YES of each: only the winner pays. 2 holds NO of each: the two losers pay.
    assert ex.cash(1) == (1_000 * M - 10 * M + 10 * M, 0)
    assert ex.cash(2) == (1_000 * M - 20 * M + 20 * M, 0)
    assert all(ex.engine.contracts[c].collateral == 0 for c in contracts)


def test_close_time_closes_the_market_on_the_timer(traded):
    traded.ok(cmd.CreateMarket(traded.ts, 2, close_ms=traded.ts + 1_000))
    traded.limit(3, "buy_yes", 1, 10, contract=2)
    assert traded.engine.next_deadline_ms() == traded.ts + 1_000
    traded.ok(cmd.Timer(traded.ts + 1_000))
    assert traded.engine.markets[2].status == mk.CLOSED
    assert traded.limit(3, "buy_yes", 1, 10, contract=2)[0] == "market_not_open"
    assert traded.events(ev.OrderDone)[-1]["reason"] == "market_closed"


def test_refused_transitions(traded):
    traded.ok(cmd.SettleMarket(traded.ts, 1, YES))
    before = traded.hash()
    assert traded.do(cmd.SettleMarket(traded.ts, 1, YES))[0] == "invalid_transition"
    assert traded.do(cmd.VoidMarket(traded.ts, 1))[0] == "invalid_transition"
    assert traded.do(cmd.SetMarketStatus(traded.ts, 1, mk.OPEN))[0] == "invalid_transition"
    assert traded.do(cmd.SettleMarket(traded.ts, 99, YES))[0] == "unknown_market"
    assert traded.hash() == before


def test_halt_and_resume(traded):
    traded.ok(cmd.SetMarketStatus(traded.ts, 1, mk.HALTED, "checking a source"))
    assert traded.engine.orders == {}
    assert len(traded.engine.triggers) == 1  # triggers wait for the market to reopen
    traded.ok(cmd.SetMarketStatus(traded.ts, 1, mk.OPEN, "resumed"))
    assert traded.limit(3, "buy_yes", 1, 10)[0] == "ok"


def test_deposit_and_withdraw(ex):
    ex.fund(1)
    assert ex.do(cmd.Withdraw(ex.ts, 1, 1_001 * M))[0] == "insufficient_funds"
    assert ex.do(cmd.Withdraw(ex.ts, 1, 0))[0] == "invalid_amount"
    assert ex.do(cmd.Deposit(ex.ts, 1, -5))[0] == "invalid_amount"
    assert ex.ok(cmd.Withdraw(ex.ts, 1, 400 * M)) == 600 * M
    assert ex.engine.deposits_micro == 600 * M
