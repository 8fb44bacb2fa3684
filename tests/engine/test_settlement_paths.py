"""Each pair of orders that can meet in the unified book settles as DESIGN.md says, to the micro."""

from __future__ import annotations

from foretell.domain import events as ev
from foretell.domain.orders import FILL_MERGE, FILL_MINT, FILL_TRANSFER
from foretell.domain.units import MICRO

M = MICRO


def test_buy_yes_against_buy_no_mints_a_pair(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2)
    assert ex.limit(1, "buy_yes", 10, 57)[0] == "ok"
    assert ex.limit(2, "buy_no", 10, 43)[0] == "ok"
    (fill,) = ex.fills()
    assert (fill["kind"], fill["yes_price_micro"], fill["size"]) == (FILL_MINT, 570_000, 10)
    assert ex.cash(1) == (1_000 * M - 5_700_000, 0)
    assert ex.cash(2) == (1_000 * M - 4_300_000, 0)
    assert ex.pos(1) == [10, 0, 0, 0] and ex.pos(2) == [0, 10, 0, 0]
    contract = ex.engine.contracts[1]
    assert contract.collateral == contract.yes_out == contract.no_out == 10


def test_sell_yes_to_buy_yes_transfers_shares_and_cash(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)  # mint: 1 holds 10 YES
    ex.limit(3, "buy_yes", 4, 60)
    ex.limit(1, "sell_yes", 4, 55)  # takes 3's bid at 0.60: price improvement to the seller
    fill = ex.fills()[-1]
    assert (fill["kind"], fill["yes_price_micro"], fill["size"]) == (FILL_TRANSFER, 600_000, 4)
    assert ex.pos(1) == [6, 0, 0, 0] and ex.pos(3) == [4, 0, 0, 0]
    assert ex.cash(1)[0] == 1_000 * M - 5_000_000 + 2_400_000
    assert ex.engine.contracts[1].collateral == 10


def test_sell_no_against_sell_yes_merges_and_releases_collateral(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)
    ex.limit(1, "sell_yes", 10, 70)  # ask at 0.70
    ex.limit(2, "sell_no", 10, 30)  # bid at YES 0.70: merge
    fill = ex.fills()[-1]
    assert (fill["kind"], fill["yes_price_micro"], fill["size"]) == (FILL_MERGE, 700_000, 10)
    assert ex.pos(1) == [0, 0, 0, 0] and ex.pos(2) == [0, 0, 0, 0]
    assert ex.cash(1) == (1_000 * M + 2_000_000, 0)  # paid 0.50, got 0.70
    assert ex.cash(2) == (1_000 * M - 2_000_000, 0)  # paid 0.50, got 0.30
    assert ex.engine.contracts[1].collateral == 0


def test_sell_no_to_buy_no_transfers_no_shares(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)
    ex.limit(2, "sell_no", 5, 45)  # bid at YES 0.55
    ex.limit(3, "buy_no", 5, 45)  # ask at YES 0.55: NO changes hands at 0.45
    fill = ex.fills()[-1]
    assert (fill["kind"], fill["yes_price_micro"]) == (FILL_TRANSFER, 550_000)
    assert ex.pos(2) == [0, 5, 0, 0] and ex.pos(3) == [0, 5, 0, 0]
    assert ex.cash(3) == (1_000 * M - 2_250_000, 0)
    assert ex.engine.contracts[1].collateral == 10


def test_price_time_priority_and_execution_at_resting_price(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3, 4)
    a = ex.limit(1, "buy_no", 5, 45)[1]  # ask YES 0.55, first
    b = ex.limit(2, "buy_no", 5, 45)[1]  # ask YES 0.55, second
    c = ex.limit(3, "buy_no", 5, 48)[1]  # ask YES 0.52, better price
    ex.limit(4, "buy_yes", 12, 60)
    got = [(f["maker_order"], f["yes_price_micro"], f["size"]) for f in ex.fills()]
    assert got == [(c, 520_000, 5), (a, 550_000, 5), (b, 550_000, 2)]
    # The taker reserved at 0.60 and paid less: the unused part came back.
    assert ex.cash(4) == (1_000 * M - 2_600_000 - 2_750_000 - 1_100_000, 0)


def test_positions_net_when_holding_both_sides(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 40)
    ex.limit(2, "buy_no", 10, 60)  # 1: 10 YES at 0.40
    ex.limit(3, "buy_yes", 4, 45)  # bid YES 0.45
    ex.limit(1, "buy_no", 4, 55)  # ask YES 0.45 -> mint with 3; 1 now holds 10 YES + 4 NO
    assert ex.pos(1) == [6, 0, 0, 0]  # four pairs merged back at once
    assert ex.cash(1)[0] == 1_000 * M - 4_000_000 - 2_200_000 + 4_000_000
    netted = ex.events(ev.Netted)
    assert netted and netted[-1]["pairs"] == 4
    assert ex.engine.contracts[1].collateral == 10
