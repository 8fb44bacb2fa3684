"""Take-profit, stop-loss, OCO pairs and trailing stops, fired by the last trade price."""

from __future__ import annotations

import pytest

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import NO, YES


@pytest.fixture
def held(ex):
    """Account 1 holds 10 YES bought at 0.50 (2 holds the 10 NO); 3 and 4 are liquidity."""
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3, 4, 5)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)
    return ex


def trade_at(ex, cents):
    """Make a one-share trade at a YES price between accounts 3 and 4 (5 provides liquidity)."""
    ex.limit(4, "buy_no", 1, 100 - cents)
    ex.limit(3, "buy_yes", 1, cents)


def test_take_profit_fires_when_the_price_reaches_it(held):
    tp, sl = held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, take_profit_micro=700_000,
                                      stop_loss_micro=300_000))
    held.limit(5, "buy_yes", 10, 65)  # a bid that the take-profit can sell into
    trade_at(held, 69)
    assert held.events(ev.TriggerFired) == []
    trade_at(held, 70)
    (fired,) = held.events(ev.TriggerFired)
    assert (fired["trigger"], fired["size"]) == (tp, 10)
    assert held.pos(1) == [0, 0, 0, 0]
    assert [e["reason"] for e in held.events(ev.TriggerDone)] == ["oco"]  # the stop-loss left
    assert sl not in held.engine.triggers and tp not in held.engine.triggers


def test_stop_loss_fires_on_a_fall_and_sells_at_most_what_is_held(held):
    held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, stop_loss_micro=400_000))
    held.limit(1, "sell_yes", 6, 90)  # 6 of the 10 are already offered elsewhere
    held.limit(5, "buy_yes", 20, 35)
    trade_at(held, 40)
    (fired,) = held.events(ev.TriggerFired)
    assert fired["size"] == 4
    assert held.pos(1) == [6, 0, 6, 0]


def test_no_holder_take_profit_waits_for_the_yes_price_to_fall(held):
    held.ok(cmd.PlaceTrigger(held.ts, 2, 1, NO, 5, take_profit_micro=600_000))  # NO at 0.60
    held.limit(5, "buy_no", 5, 50)  # ask YES 0.50: the NO holder can sell NO into it
    trade_at(held, 45)  # NO at 0.55: not yet
    assert held.events(ev.TriggerFired) == []
    trade_at(held, 40)  # NO at 0.60
    assert len(held.events(ev.TriggerFired)) == 1
    assert held.pos(2)[NO] == 5


def test_trailing_stop_follows_the_best_price(held):
    held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, trail_micro=50_000))
    held.limit(5, "buy_yes", 10, 30)
    trade_at(held, 60)
    trade_at(held, 70)  # best is now 0.70; the stop sits at 0.65
    trade_at(held, 66)
    assert held.events(ev.TriggerFired) == []
    trade_at(held, 65)
    (fired,) = held.events(ev.TriggerFired)
    assert fired["last_yes_micro"] == 650_000
    assert held.pos(1)[YES] == 0


def test_limit_trigger_rests_a_reduce_only_sell(held):
    held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, take_profit_micro=600_000,
                             limit_micro=620_000))
    trade_at(held, 60)
    (fired,) = held.events(ev.TriggerFired)
    order = held.engine.orders[fired["order"]]
    assert (order.out_price, order.remaining, order.flags) == (620_000, 10, 2)


def test_trigger_refusals(held):
    before = held.hash()
    assert held.do(cmd.PlaceTrigger(held.ts, 3, 1, YES, 1, stop_loss_micro=400_000))[0] == "no_position"
    assert held.do(cmd.PlaceTrigger(held.ts, 1, 1, YES, 1, take_profit_micro=400_000,
                                    stop_loss_micro=500_000))[0] == "invalid_price"
    assert held.do(cmd.PlaceTrigger(held.ts, 1, 1, YES, 1))[0] == "invalid_order"
    assert held.do(cmd.PlaceTrigger(held.ts, 1, 1, YES, 1, trail_micro=5_000))[0] == "invalid_tick"
    assert held.do(cmd.CancelTrigger(held.ts, 1, 12345))[0] == "unknown_trigger"
    assert held.hash() == before


def test_cancel_trigger_and_its_oco_partner_stays(held):
    tp, sl = held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, take_profit_micro=700_000,
                                      stop_loss_micro=300_000))
    assert held.do(cmd.CancelTrigger(held.ts, 2, tp))[0] == "not_owner"
    held.ok(cmd.CancelTrigger(held.ts, 1, tp))
    assert list(held.engine.triggers) == [sl]
    assert held.engine.triggers[sl].oco is None


def test_trigger_with_nothing_left_to_sell_reports_no_position(held):
    held.ok(cmd.PlaceTrigger(held.ts, 1, 1, YES, 10, stop_loss_micro=400_000))
    held.limit(3, "buy_yes", 10, 50)
    held.limit(1, "sell_yes", 10, 50)  # sold everything by hand
    trade_at(held, 40)
    assert held.events(ev.TriggerFired) == []
    assert held.events(ev.TriggerDone)[-1]["reason"] == "no_position"
