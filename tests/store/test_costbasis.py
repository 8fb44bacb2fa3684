"""Average-cost arithmetic on its own: exact integers, nothing created or lost by rounding."""

from __future__ import annotations

from foretell.domain.orders import NO, YES
from foretell.store import costbasis as cb
from foretell.store.costbasis import Holding

M = 1_000_000


def test_buys_average_and_sells_realize() -> None:
    h = Holding()
    cb.buy(h, YES, 3, 300_000, 1_000)  # cost 901_000
    cb.buy(h, YES, 1, 500_000, 0)  # cost 1_401_000 for 4
    cb.sell(h, YES, 1, 600_000, 600)  # removes 1_401_000 // 4 = 350_250
    assert (h.yes_shares, h.yes_cost_micro) == (3, 1_050_750)
    assert h.realized_pnl_micro == 600_000 - 600 - 350_250
    cb.sell(h, YES, 3, 100_000, 0)  # the last shares take all remaining cost
    assert (h.yes_shares, h.yes_cost_micro) == (0, 0)
    paid, received = 901_000 + 500_000, 600_000 - 600 + 300_000
    assert h.realized_pnl_micro == received - paid


def test_netting_and_payout() -> None:
    h = Holding()
    cb.buy(h, YES, 10, 400_000, 0)
    cb.buy(h, NO, 4, 550_000, 2_000)
    cb.net(h, 4)  # 4 USDC back for 4 YES (1.6) and 4 NO (2.202)
    assert (h.yes_shares, h.no_shares, h.no_cost_micro) == (6, 0, 0)
    assert h.realized_pnl_micro == 4 * M - 1_600_000 - 2_202_000
    cb.payout(h, 6 * M)
    assert h.empty is False and (h.yes_shares, h.yes_cost_micro) == (0, 0)
    assert h.realized_pnl_micro == 4 * M + 6 * M - 4_000_000 - 2_202_000


def test_reconcile_treats_equal_missing_pairs_as_netting() -> None:
    h = Holding(yes_shares=5, no_shares=3, yes_cost_micro=2_000_000, no_cost_micro=1_500_000)
    assert cb.reconcile(h, 3, 1)  # two pairs merged without an event
    assert (h.yes_shares, h.no_shares) == (3, 1)
    assert h.realized_pnl_micro == 2 * M - 800_000 - 1_000_000
    assert cb.reconcile(h, 3, 1)  # already in agreement: nothing changes
    assert h.realized_pnl_micro == 200_000


def test_reconcile_reports_a_mismatch_and_takes_the_engine_shares() -> None:
    h = Holding(yes_shares=4, yes_cost_micro=2_000_000)
    assert not cb.reconcile(h, 2, 0)
    assert (h.yes_shares, h.yes_cost_micro, h.realized_pnl_micro) == (2, 1_000_000, 0)
    assert not cb.reconcile(h, 5, 0)
    assert (h.yes_shares, h.yes_cost_micro) == (5, 1_000_000)
