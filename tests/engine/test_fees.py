"""Fees: each side on its own notional, maker and taker rates, rounded up once per order."""

from __future__ import annotations

from foretell.domain import commands as cmd
from foretell.domain.units import MICRO, fee_micro

M = MICRO


def test_each_side_pays_its_rate_on_its_own_notional(ex):
    ex.market(1, maker_fee_ppm=500, taker_fee_ppm=2_000)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 100, 43)  # maker, NO notional 43 USDC
    ex.limit(2, "buy_yes", 100, 57)  # taker, YES notional 57 USDC
    (fill,) = ex.fills()
    assert fill["maker_fee_micro"] == 21_500  # 0.05 % of 43
    assert fill["taker_fee_micro"] == 114_000  # 0.2 % of 57
    assert ex.cash(1) == (1_000 * M - 43 * M - 21_500, 0)
    assert ex.cash(2) == (1_000 * M - 57 * M - 114_000, 0)
    assert ex.engine.fees_micro == 135_500


def test_fee_rounds_up_once_per_order_not_per_fill(ex):
    ex.market(1, maker_fee_ppm=1_000, taker_fee_ppm=1_000)
    ex.fund(1, 2, 3, 4)
    # Three makers of one share each at 0.33: each fill's exact fee is 330 micro * 1e-3 = 0.33.
    for account in (1, 2, 3):
        ex.limit(account, "buy_no", 1, 67)
    ex.limit(4, "buy_yes", 3, 33)
    fees = [f["taker_fee_micro"] for f in ex.fills()]
    assert sum(fees) == fee_micro(3 * 330_000, 1_000) == 990
    maker_fees = [f["maker_fee_micro"] for f in ex.fills()]
    assert maker_fees == [670, 670, 670]


def test_sub_micro_fees_round_up_to_one_micro(ex):
    ex.market(1, tick_micro=1_000, maker_fee_ppm=1, taker_fee_ppm=1)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 1, 99.9)  # NO at 0.999 -> ask YES 0.001
    ex.limit(2, "buy_yes", 1, 0.1)
    (fill,) = ex.fills()
    assert fill["taker_fee_micro"] == 1  # 0.001 USDC * 1 ppm, rounded up
    assert fill["maker_fee_micro"] == 1


def test_seller_fee_comes_out_of_proceeds(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=10_000)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)  # 2 is the taker: pays 1 % on 5 USDC
    ex.limit(3, "buy_yes", 10, 60)
    free_before = ex.cash(1)[0]
    ex.limit(1, "sell_yes", 10, 60)  # taker sells at 0.60: proceeds 6 USDC, fee 0.06
    assert ex.cash(1)[0] - free_before == 6 * M - 60_000


def test_creator_share_of_fees_goes_to_the_creator(ex):
    ex.fund(9, usdc=1)
    ex.market(1, maker_fee_ppm=1_000, taker_fee_ppm=1_000, creator=9, creator_share_ppm=250_000)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 100, 40)
    ex.limit(2, "buy_yes", 100, 60)
    total = 40_000 + 60_000
    assert ex.cash(9)[0] == 1 * M + total // 4
    assert ex.engine.fees_micro == total - total // 4
    assert ex.engine.markets[1].creator_fees_micro == total // 4


def test_buy_reservation_covers_worst_case_cost_and_fee(ex):
    ex.market(1, maker_fee_ppm=1_000, taker_fee_ppm=3_000)
    ex.fund(1)
    ex.limit(1, "buy_yes", 10, 57)
    assert ex.cash(1) == (1_000 * M - 5_700_000 - 17_100, 5_700_000 + 17_100)
    ex.ok(cmd.CancelOrder(ex.ts, 1, 1))
    assert ex.cash(1) == (1_000 * M, 0)


def test_exactly_enough_funds_is_accepted_and_one_micro_short_is_refused(ex):
    ex.market(1, maker_fee_ppm=1_000, taker_fee_ppm=1_000)
    ex.ok(cmd.Deposit(ex.ts, 1, 5_700_000 + 5_700))
    ex.ok(cmd.Deposit(ex.ts, 2, 5_700_000 + 5_699))
    assert ex.limit(1, "buy_yes", 10, 57)[0] == "ok"
    assert ex.limit(2, "buy_yes", 10, 57)[0] == "insufficient_funds"
