"""The liquidity pool (engine/pool.py) and conversion (engine/convert.py).

Scenarios first (a table of what the pool does on an empty book, priority of resting orders at an
equal price, the quote, settlement and void returning the pool to its funder, conversion), then
the properties over random flows of takers, limit orders, cancels and conversions: the audit
(conservation with the pool and the conversion debt, collateral per contract, the pool's
invariant and its loss within the subsidy) after every command, a snapshot restored mid-stream
and a replay reaching the same hash, and no taker filled worse than the book alone or the pool
alone would have filled it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import BUY, IOC, LIMIT, MARKET, NO, SELL, YES
from foretell.domain.units import MICRO
from foretell.engine import pool, quote, snapshot
from foretell.engine.audit import audit
from foretell.engine.engine import Engine

# -- fixed-point arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize("x", [-44.0, -20.5, -3.25, -0.001, 0.0, 1e-9, 0.5, 1.0, 2.7, 7.9])
def test_exp_is_within_its_bound(x: float) -> None:
    exact = math.exp(x)
    got = pool.exp_fp(int(x * pool.ONE)) / pool.ONE
    assert abs(got - exact) <= exact * 2**-45 + 2**-59
    assert pool.exp_hi(int(x * pool.ONE)) / pool.ONE >= exact * (1 - 2**-50)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1_000_000, 10**20, 2**200 + 1])
def test_ln_is_within_its_bound(n: int) -> None:
    assert abs(pool.ln_int(n) / pool.ONE - math.log(n)) <= 2**-44 * max(1.0, math.log(n))


def test_liquidity_keeps_the_loss_bound_within_the_subsidy() -> None:
    for weights in ([1, 1], [1, 1, 1], [1] * 64, [3, 1], [150_000, 350_000, 500_000]):
        b = pool.liquidity_micro(100 * MICRO, weights)
        bound = math.log(sum(weights) / min(weights))
        assert b * bound <= 100 * MICRO
        assert b * bound > 100 * MICRO * (1 - 1e-6)


# -- scenarios --------------------------------------------------------------------------------


def _engine(outcomes: int = 2, subsidy_usdc: int = 100, **market: Any) -> Engine:
    e = Engine()
    for a in (1, 2, 3, 4):
        e.apply(cmd.Deposit(1, a, 10_000 * MICRO))
    e.apply(cmd.CreateMarket(1, 1, outcomes, **market))
    assert e.apply(cmd.FundPool(1, 1, 1, subsidy_usdc * MICRO))[0] == codes.OK
    e.take_events()
    return e


def _fills(events: list[ev.Event]) -> list[dict[str, Any]]:
    return [ev.as_dict(x) for x in events if isinstance(x, ev.Fill)]


def _ok(e: Engine, c: cmd.Command) -> list[tuple[Any, ...]]:
    code, value = e.apply(c)
    assert code == codes.OK, (c, code, value)
    report = audit(e)
    assert report.ok, report.violations
    return e.take_events()


def test_a_market_with_only_a_pool_trades_both_ways() -> None:
    e = _engine()
    bought = _fills(_ok(e, cmd.PlaceOrder(2, 2, 1, YES, BUY, 20, 0, MARKET)))
    assert sum(f["size"] for f in bought) == 20
    assert all(f["maker_order"] == 0 and f["maker_account"] == -2 for f in bought)
    assert bought[0]["yes_price_micro"] == 510_000  # one tick above the curve's 0.50
    prices = [f["yes_price_micro"] for f in bought]
    assert prices == sorted(prices)
    sold = _fills(_ok(e, cmd.PlaceOrder(3, 2, 1, YES, SELL, 20, 0, MARKET)))
    assert sum(f["size"] for f in sold) == 20
    assert e.accounts[2].positions == {}
    # The round trip cost the trader the spread: the pool kept it.
    assert e.markets[1].pool is not None and e.markets[1].pool.account.free > 100 * MICRO


def test_resting_orders_keep_priority_at_an_equal_price() -> None:
    e = _engine()
    _ok(e, cmd.PlaceOrder(2, 3, 1, NO, BUY, 3, 490_000))  # an ask at YES 0.51
    fills = _fills(_ok(e, cmd.PlaceOrder(3, 2, 1, YES, BUY, 6, 510_000, LIMIT, IOC)))
    assert [(f["maker_account"], f["size"], f["yes_price_micro"]) for f in fills][0] == \
        (3, 3, 510_000)
    assert all(f["yes_price_micro"] == 510_000 for f in fills)
    assert fills[1]["maker_account"] == -2


def test_a_better_book_price_comes_before_the_pool() -> None:
    e = _engine()
    _ok(e, cmd.PlaceOrder(2, 3, 1, NO, BUY, 2, 500_000))  # ask at YES 0.50: below the pool
    fills = _fills(_ok(e, cmd.PlaceOrder(3, 2, 1, YES, BUY, 10, 530_000, LIMIT, IOC)))
    assert (fills[0]["maker_account"], fills[0]["yes_price_micro"]) == (3, 500_000)
    assert {f["maker_account"] for f in fills[1:]} == {-2}


def test_post_only_is_refused_when_it_would_take_from_the_pool() -> None:
    e = _engine()
    code, _ = e.apply(cmd.PlaceOrder(2, 2, 1, YES, BUY, 5, 550_000, flags=1))
    assert code == codes.POST_ONLY_WOULD_TAKE
    assert e.apply(cmd.PlaceOrder(2, 2, 1, YES, BUY, 5, 500_000, flags=1))[0] == codes.OK


def test_the_quote_includes_pool_fills_and_equals_the_order() -> None:
    e = _engine()
    _ok(e, cmd.PlaceOrder(2, 3, 1, NO, BUY, 4, 470_000))  # ask at 0.53
    order = cmd.PlaceOrder(3, 2, 1, YES, BUY, 30, 560_000, LIMIT, IOC)
    q = quote.dry_run(e, order)
    fills = _fills(_ok(e, order))
    assert _by_level([(f.yes_price_micro, f.size) for f in q.fills]) == \
        _by_level([(f["yes_price_micro"], f["size"]) for f in fills])
    assert q.fills[0].maker_order == 0 and q.fills[2].maker_order > 0
    assert q.fee_micro == sum(f["taker_fee_micro"] for f in fills)


def test_settlement_returns_the_pool_with_its_fees_to_the_funder() -> None:
    e = _engine()
    _ok(e, cmd.PlaceOrder(2, 2, 1, YES, BUY, 30, 0, MARKET))
    p = e.markets[1].pool
    assert p is not None
    before = e.accounts[1].free
    events = _ok(e, cmd.SettleMarket(3, 1, 0))  # YES wins: the pool sold YES and loses
    closed = [ev.as_dict(x) for x in events if isinstance(x, ev.PoolClosed)]
    assert len(closed) == 1 and closed[0]["funder"] == 1
    assert e.accounts[1].free == before + closed[0]["amount_micro"]
    assert 0 < closed[0]["amount_micro"] < 100 * MICRO
    assert closed[0]["fees_micro"] == p.fees_micro > 0
    assert -2 not in e.accounts


def test_void_returns_the_pool() -> None:
    e = _engine()
    _ok(e, cmd.PlaceOrder(2, 2, 1, NO, BUY, 30, 0, MARKET))
    _ok(e, cmd.VoidMarket(3, 1))
    assert -2 not in e.accounts
    assert e.markets[1].pool is not None and e.markets[1].pool.returned_micro > 90 * MICRO


def test_a_pool_cannot_be_funded_twice_or_beyond_the_funds() -> None:
    e = _engine()
    assert e.apply(cmd.FundPool(2, 1, 2, 5 * MICRO))[0] == codes.POOL_EXISTS
    e.apply(cmd.CreateMarket(2, 2))
    assert e.apply(cmd.FundPool(2, 2, 2, 10**6 * MICRO))[0] == codes.INSUFFICIENT_FUNDS
    assert e.apply(cmd.FundPool(2, 2, 2, 1))[0] == codes.INVALID_POOL


def test_weights_set_the_starting_prices() -> None:
    e = Engine()
    e.apply(cmd.Deposit(1, 1, 1_000 * MICRO))
    ids = e.apply(cmd.CreateMarket(1, 1, 3))[1]
    _ok(e, cmd.FundPool(1, 1, 1, 100 * MICRO, weights=(150_000, 350_000, 500_000)))
    p = e.markets[1].pool
    assert p is not None
    assert [pool.price_micro(p, e.contracts[i]) for i in ids] == [150_000, 350_000, 500_000]
    assert e.apply(cmd.FundPool(1, 1, 1, 100 * MICRO, weights=(1, 2)))[0] == codes.POOL_EXISTS
    e.apply(cmd.CreateMarket(1, 2, 3))
    assert e.apply(cmd.FundPool(1, 2, 1, 9 * MICRO, weights=(1, 2)))[0] == codes.INVALID_POOL


def test_categorical_pool_prices_sum_to_one() -> None:
    e = _engine(outcomes=4, void_yes_micro=250_000)
    m = e.markets[1]
    p = m.pool
    assert p is not None
    _ok(e, cmd.PlaceOrder(2, 2, 1, YES, BUY, 40, 0, MARKET))
    _ok(e, cmd.PlaceOrder(2, 3, 3, NO, BUY, 25, 0, MARKET))
    prices = [pool.price_micro(p, c) for c in m.contracts]
    assert abs(sum(prices) - MICRO) <= 4
    assert prices[0] > 250_000 > prices[2]


# -- conversion -------------------------------------------------------------------------------


def test_conversion_swaps_no_for_yes_of_every_other_outcome_and_back() -> None:
    e = Engine()
    e.apply(cmd.Deposit(1, 1, 100 * MICRO))
    e.apply(cmd.Deposit(1, 2, 100 * MICRO))
    ids = e.apply(cmd.CreateMarket(1, 1, 3, void_yes_micro=333_333))[1]
    _ok(e, cmd.PlaceOrder(1, 1, ids[0], YES, BUY, 10, 300_000))
    _ok(e, cmd.PlaceOrder(1, 2, ids[0], NO, BUY, 10, 700_000))
    _ok(e, cmd.Convert(2, 2, 1, 0, 4))
    assert [e.accounts[2].positions.get(i) for i in ids] == [[0, 6, 0, 0], [4, 0, 0, 0],
                                                               [4, 0, 0, 0]]
    assert e.markets[1].conv_sets == 4
    _ok(e, cmd.Convert(3, 2, 1, 0, 3, to_no=True))
    assert e.markets[1].conv_sets == 1
    assert e.accounts[2].positions[ids[0]] == [0, 9, 0, 0]
    assert e.apply(cmd.Convert(3, 2, 1, 0, 2, to_no=True))[0] == codes.INSUFFICIENT_SHARES
    assert e.apply(cmd.Convert(3, 2, 1, 0, 10))[0] == codes.INSUFFICIENT_SHARES
    cash = e.accounts[2].free
    _ok(e, cmd.SettleMarket(4, 1, 1))  # outcome 1 wins: 9 NO of 0 and 1 YES of 1 pay 10
    assert e.accounts[2].free == cash + 10 * MICRO
    assert e.markets[1].converter is None


def test_conversion_is_refused_where_void_would_pay_more_than_a_set() -> None:
    e = Engine()
    e.apply(cmd.CreateMarket(1, 1, 3))  # void pays 0.5 per YES: 1.5 per set of three
    assert e.apply(cmd.Convert(1, 1, 1, 0, 1))[0] == codes.CONVERSION_NOT_ALLOWED
    e.apply(cmd.CreateMarket(1, 2, 2, void_yes_micro=0))
    assert e.apply(cmd.Convert(1, 1, 2, 0, 1))[0] == codes.CONVERSION_NOT_ALLOWED


# -- properties -------------------------------------------------------------------------------

SETTINGS: dict[str, Any] = dict(deadline=None, derandomize=True, database=None,
                                suppress_health_check=[HealthCheck.too_slow,
                                                       HealthCheck.data_too_large])
_ACCOUNTS = (1, 2, 3, 4, 5)
_TAKERS = (6, 7)  # never rest an order, so their fills can be compared source by source


def _setup(data: st.DataObject) -> list[cmd.Command]:
    out: list[cmd.Command] = [cmd.Deposit(1, a, 5_000 * MICRO) for a in _ACCOUNTS + _TAKERS]
    fee = data.draw(st.sampled_from((0, 1_000, 20_000)), label="fee")
    out.append(cmd.CreateMarket(1, 1, 2, maker_fee_ppm=fee // 2, taker_fee_ppm=fee))
    n = data.draw(st.sampled_from((3, 4)), label="outcomes")
    tick = data.draw(st.sampled_from((10_000, 1_000)), label="tick")
    out.append(cmd.CreateMarket(1, 2, n, tick_micro=tick, taker_fee_ppm=fee,
                                void_yes_micro=MICRO // n))
    for market, outcomes in ((1, 2), (2, n)):
        subsidy = data.draw(st.sampled_from((2, 20, 300)), label="subsidy") * MICRO
        share = data.draw(st.sampled_from((0, 500_000, MICRO)), label="fee share")
        weights = tuple(data.draw(st.lists(st.integers(1, 1_000), min_size=outcomes,
                                           max_size=outcomes), label="weights")) \
            if data.draw(st.booleans(), label="prior") else ()
        out.append(cmd.FundPool(1, market, 1, subsidy, share, weights))
    return out


def _draw(data: st.DataObject, e: Engine, ts: int) -> cmd.Command:
    contract = data.draw(st.sampled_from(sorted(e.contracts)), label="contract")
    c = e.contracts[contract]
    outcome = data.draw(st.sampled_from((YES, NO)), label="outcome")
    roll = data.draw(st.integers(0, 10), label="kind")
    if roll <= 3:  # a taker
        account = data.draw(st.sampled_from(_TAKERS), label="taker")
        action = data.draw(st.sampled_from((BUY, SELL)), label="action")
        pos = e.accounts[account].positions.get(contract)
        if action == SELL and (pos is None or pos[outcome] == 0):
            action = BUY
        size = data.draw(st.integers(1, 60), label="size")
        if action == SELL and pos is not None:
            size = min(size, pos[outcome])
        price = data.draw(st.integers(1, c.levels - 1), label="limit") * c.tick
        return cmd.PlaceOrder(ts, account, contract, outcome, action, size, price, LIMIT, IOC)
    if roll <= 6:  # a resting limit order
        account = data.draw(st.sampled_from(_ACCOUNTS), label="maker")
        price = data.draw(st.integers(1, c.levels - 1), label="price") * c.tick
        size = data.draw(st.integers(1, 30), label="size")
        pos = e.accounts[account].positions.get(contract)
        action = SELL if pos is not None and pos[outcome] - pos[2 + outcome] >= size and \
            data.draw(st.booleans(), label="sell") else BUY
        return cmd.PlaceOrder(ts, account, contract, outcome, action, size, price)
    if roll == 7 and e.orders:
        order = e.orders[data.draw(st.sampled_from(sorted(e.orders)), label="order")]
        return cmd.CancelOrder(ts, order.account.id, order.id)
    m = e.markets[2]
    # Mostly conversions that can happen: free NO of an outcome, or free YES of all the others.
    possible = []
    for a in _ACCOUNTS + _TAKERS:
        free = [[p[0] - p[2], p[1] - p[3]] if (p := e.accounts[a].positions.get(k.id))
                else [0, 0] for k in m.contracts]
        for i in range(len(m.contracts)):
            if free[i][1] > 0:
                possible.append((a, i, free[i][1], False))
            yes = min(f[0] for j, f in enumerate(free) if j != i)
            if yes > 0 and m.conv_sets > 0:
                possible.append((a, i, min(yes, m.conv_sets), True))
    if possible and data.draw(st.integers(0, 4), label="feasible") > 0:
        a, i, most, back = data.draw(st.sampled_from(possible), label="conversion")
        return cmd.Convert(ts, a, 2, i, data.draw(st.integers(1, most), label="size"), back)
    account = data.draw(st.sampled_from(_ACCOUNTS + _TAKERS), label="converter")
    index = data.draw(st.integers(0, len(m.contracts) - 1), label="outcome index")
    size = data.draw(st.integers(1, 10), label="size")
    return cmd.Convert(ts, account, 2, index, size, to_no=data.draw(st.booleans(), label="back"))


def _own_fills(events: list[tuple[Any, ...]], outcome: int) -> list[tuple[int, int]]:
    out = []
    for f in _fills(events):
        price = f["yes_price_micro"] if outcome == YES else MICRO - f["yes_price_micro"]
        out.append((price, f["size"]))
    return out


def _by_level(fills: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge consecutive fills at one price (a pool fill may be two: shares it held, then
    shares it bought)."""
    out: list[tuple[int, int]] = []
    for price, size in fills:
        if out and out[-1][0] == price:
            out[-1] = (price, out[-1][1] + size)
        else:
            out.append((price, size))
    return out


def _prefix(fills: list[tuple[int, int]], shares: int) -> int:
    total = 0
    for price, size in fills:
        q = min(size, shares)
        total += price * q
        shares -= q
    return total


def _alone(e: Engine, order: cmd.PlaceOrder, keep: str) -> list[tuple[int, int]]:
    """The taker's fills on a copy of the state with only the book or only the pool."""
    copy = snapshot.loads(snapshot.dumps(e))
    c = copy.contracts[order.contract]
    if keep == "book":
        c.market.pool = None
    else:
        for o in [o for o in copy.orders.values() if o.contract is c]:
            copy.cancel_resting(o, "cancelled")
        copy.take_events()
    copy.apply(order)
    return _own_fills(copy.take_events(), order.outcome)


def _check_never_worse(e: Engine, order: cmd.PlaceOrder, got: list[tuple[int, int]],
                       where: str) -> None:
    filled = sum(q for _, q in got)
    for keep in ("book", "pool"):
        alone = _alone(e, order, keep)
        shares = sum(q for _, q in alone)
        assert filled >= shares, f"{where}: filled {filled} < {shares} with the {keep} alone"
        mine, theirs = _prefix(got, shares), _prefix(alone, shares)
        if order.action == BUY:
            assert mine <= theirs, f"{where}: paid {mine} > {theirs} with the {keep} alone"
        else:
            assert mine >= theirs, f"{where}: got {mine} < {theirs} with the {keep} alone"


def _check(e: Engine, where: str) -> None:
    report = audit(e)
    assert report.ok, f"{where}: {report.violations}"
    for m in e.markets.values():
        p = m.pool
        if p is not None and not p.closed:
            view = pool.View(p, m.contracts[0])
            loss = p.subsidy_micro - min(view.wealth)
            assert loss <= p.subsidy_micro, f"{where}: pool loss {loss} > subsidy"
            bound = math.log(sum(p.weights) / min(p.weights))
            assert loss <= p.b_micro * bound * (1 + 1e-9) + 1


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_pool_flows_keep_every_invariant(data: st.DataObject) -> None:
    e = Engine()
    stream = _setup(data)
    for command in stream:
        assert e.apply(command)[0] == codes.OK, command
    e.take_events()
    steps = data.draw(st.integers(10, 60), label="steps")
    cut = data.draw(st.integers(0, steps), label="cut")
    restored: Engine | None = None
    ts = 2
    for index in range(steps):
        if index == cut:
            restored = snapshot.loads(snapshot.dumps(e))
            assert snapshot.state_hash(restored) == snapshot.state_hash(e)
        ts += data.draw(st.integers(0, 3), label="dt")
        command = _draw(data, e, ts)
        note(f"#{index} {command!r}")
        where = f"#{index} {command!r}"
        taker = isinstance(command, cmd.PlaceOrder) and command.account in _TAKERS
        if taker:
            assert isinstance(command, cmd.PlaceOrder)
            expected = quote.dry_run(e, command)
        before = snapshot.dumps(e) if taker else b""
        result = e.apply(command)
        events = e.take_events()
        if restored is not None:
            assert restored.apply(command) == result, where
            assert restored.take_events() == events, where
        _check(e, where)
        for x in events:
            if isinstance(x, ev.Converted):
                event({-1: "pool merged NO sets", -2: "pool merged YES sets"}.get(x.outcome,
                                                                              "converted"))
            elif isinstance(x, ev.Fill) and x.maker_order == 0:
                event(f"pool fill in a {'binary' if x.contract == 1 else 'categorical'} market")
        if taker and result[0] == codes.OK:
            assert isinstance(command, cmd.PlaceOrder)
            got = _own_fills(events, command.outcome)
            assert _by_level([(f.price_micro, f.size) for f in expected.fills]) == \
                _by_level(got), where
            _check_never_worse(snapshot.loads(before), command, got, where)
        stream.append(command)
    if restored is not None:
        assert snapshot.state_hash(restored) == snapshot.state_hash(e), "restored hash differs"
    replayed = Engine()
    for command in stream:  # as the journal holds them: encoded, then decoded
        replayed.apply(cmd.decode(cmd.encode(command)))
    assert snapshot.state_hash(replayed) == snapshot.state_hash(e), "replay hash differs"
    for market in (1, 2):  # settle: the pools go back to their funder, nothing is left over
        e.apply(cmd.SettleMarket(ts + 1, market, data.draw(st.integers(0, 1), label="winner")))
        _check(e, f"settled {market}")
    assert all(a > 0 for a in e.accounts)


def test_the_pool_merges_complete_sets_into_cash() -> None:
    """Takers buy YES of every outcome: the pool buys NO of each, and merges the complete NO
    sets through the converter; they sell it all back: the pool buys YES of each and merges the
    complete YES sets against the converter's NO sets. Its wealth per world is unchanged by a
    merge, its cash comes back, and the converter ends with nothing."""
    e = _engine(outcomes=3, void_yes_micro=333_333)
    m = e.markets[1]
    p = m.pool
    assert p is not None
    merged: list[int] = []
    for c in m.contracts:
        events = _ok(e, cmd.PlaceOrder(2, 2, c.id, YES, BUY, 5, 0, MARKET))
        merged += [x.outcome for x in events if isinstance(x, ev.Converted)]
    assert set(merged) == {-1} and m.conv_sets == 5
    merged = []
    for c in m.contracts:
        events = _ok(e, cmd.PlaceOrder(3, 2, c.id, YES, SELL, 5, 0, MARKET))
        merged += [x.outcome for x in events if isinstance(x, ev.Converted)]
    assert set(merged) == {-2} and m.conv_sets == 0
    assert p.account.positions == {} and p.account.free > 100 * MICRO
    _ok(e, cmd.SettleMarket(4, 1, 2))
    assert m.converter is None
