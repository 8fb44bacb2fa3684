"""Property tests of the engine: the reference model as oracle, invariants after every command,
trigger safety, snapshot round trips and replay determinism.

Streams are drawn command by command against the live engine state (cancels and amends name live
orders, sells mostly name shares that are held), across seven accounts and several binary and
categorical markets with ticks of 0.01 and 0.001 and fee rates that make rounding matter.
The short tests at the end replay discrepancies with DESIGN.md that these properties found: the
fixed ones as regressions, the open ones marked xfail (strict), each with the shortest stream.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.orders import (
    ASK,
    BID,
    BUY,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTC,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    YES,
)
from foretell.engine import book, snapshot
from foretell.engine.audit import audit
from foretell.engine.engine import Engine
from foretell.engine.state import Contract


def _load_reference() -> ModuleType:
    """The model sits beside this file; load it by path so any pytest import mode finds it."""
    name = "foretell_tests_engine_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("reference.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


reference = _load_reference()

MICRO = 1_000_000
ACCOUNTS = 7  # account 7 also collects the creator share of market 3
FEES_PPM = (0, 1, 999, 1_000, 2_500, 20_000, 100_000)
SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- drawing streams --------------------------------------------------------------------------


_CHOICES: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {}


def _pick(data: st.DataObject, values: Sequence[Any]) -> Any:
    """One of a fixed set of values (strategies cached: building them dominates small draws)."""
    key = tuple(values)
    strategy = _CHOICES.get(key)
    if strategy is None:
        strategy = _CHOICES[key] = st.sampled_from(key)
    return data.draw(strategy)


def _rarely(data: st.DataObject, one_in: int) -> bool:
    """True about once in `one_in` draws (shrinks to False, the common case)."""
    return bool(_pick(data, (False,) * (one_in - 1) + (True,)))


def _setup(data: st.DataObject) -> list[cmd.Command]:
    """Markets of every shape (binary and categorical, both ticks) and funded accounts."""
    fee = _CHOICES.setdefault(FEES_PPM, st.sampled_from(FEES_PPM))
    tick_1 = _pick(data, (10_000, 1_000, 10_000))  # the fine tick (slow to audit) in a third
    out: list[cmd.Command] = [
        cmd.CreateMarket(1, 1, 2, tick_1, maker_fee_ppm=data.draw(fee),
                         taker_fee_ppm=data.draw(fee)),
        cmd.CreateMarket(1, 2, 3, 10_000, maker_fee_ppm=data.draw(fee),
                         taker_fee_ppm=data.draw(fee)),
        cmd.CreateMarket(1, 3, 2, 10_000, size_max=60, maker_fee_ppm=data.draw(fee),
                         taker_fee_ppm=data.draw(fee), creator=ACCOUNTS,
                         creator_share_ppm=_pick(data, (0, 250_000, 1_000_000)),
                         close_ms=_pick(data, (0, 40, 400)),
                         void_yes_micro=_pick(data, (0, 300_000, 500_000))),
    ]
    # A categorical market on the fine tick costs the audit most (1,000 levels per outcome), so it
    # comes in one stream out of six.
    if _rarely(data, 6):
        out.append(cmd.CreateMarket(1, 4, 3, 1_000, maker_fee_ppm=data.draw(fee),
                                    taker_fee_ppm=data.draw(fee)))
    for a in range(1, ACCOUNTS + 1):
        amount = 3 if _rarely(data, 10) else _pick(data, (400, 40, 4_000))
        out.append(cmd.Deposit(1, a, amount * MICRO))
    # Holders on both sides and some liquidity in the first two contracts, so that transfers,
    # mints and merges can happen from the start.
    ticks = {1: tick_1, 2: 10_000}
    mid = MICRO // 2
    for k in (1, 2):
        for yes_buyer, no_buyer in ((1, 2), (3, 4)):
            out.append(cmd.PlaceOrder(1, yes_buyer, k, YES, BUY, 20, mid))
            out.append(cmd.PlaceOrder(1, no_buyer, k, NO, BUY, 20, mid))
        out.append(cmd.PlaceOrder(1, 5 + k, k, YES, BUY, 20, mid - ticks[k]))
        out.append(cmd.PlaceOrder(1, 6 - k, k, NO, BUY, 20, mid - ticks[k]))
    return out


def _out_price(outcome: int, yes_micro: int) -> int:
    return yes_micro if outcome == YES else MICRO - yes_micro


def _price(data: st.DataObject, c: Contract, outcome: int, side: int, take: int = 3) -> int:
    """A price in the outcome's terms: often (all but one in `take`) at or through the best
    opposite price, so orders trade; otherwise a few ticks either side of the middle; sometimes
    anywhere; rarely invalid."""
    if _rarely(data, 25):
        return _pick(data, (0, -c.tick, MICRO, c.tick + c.tick // 2, 500))
    opposite = c.best_ask if side == BID else c.best_bid
    if 0 < opposite < c.levels and not _rarely(data, take):
        through = _pick(data, (0, 0, 1, 2, -1))
        yes_i = opposite + through if side == BID else opposite - through
    elif _rarely(data, 8):
        yes_i = data.draw(st.integers(1, c.levels - 1))
    else:
        spread = 15 if _rarely(data, 4) else 4
        yes_i = c.levels // 2 + _pick(data, range(-spread, spread + 1))
    return _out_price(outcome, min(c.levels - 1, max(1, yes_i)) * c.tick)


def _free_shares(e: Engine, account: int, contract: int, outcome: int) -> int:
    a = e.accounts.get(account)
    pos = a.positions.get(contract) if a else None
    return pos[outcome] - pos[2 + outcome] if pos else 0


def _account(data: st.DataObject) -> int:
    return 99 if _rarely(data, 40) else _pick(data, range(1, ACCOUNTS + 1))


def _place(data: st.DataObject, e: Engine, ts: int) -> cmd.PlaceOrder:
    contracts = sorted(e.contracts)  # the first one (market 1) gets half of the flow
    k = _pick(data, contracts[:1] * (len(contracts) - 1) + contracts[1:])
    c = e.contracts[k]
    owners = sorted({o.account.id for o in e.orders.values() if o.contract is c})
    # Now and then an account that already rests orders here: self-trade prevention at work.
    a = data.draw(st.sampled_from(owners)) if owners and _rarely(data, 6) else _account(data)
    outcome = _pick(data, (YES, NO))
    pos = e.accounts[a].positions.get(k) if a in e.accounts else None
    if pos and (pos[YES] or pos[NO]) and _rarely(data, 3):
        # Buy the other side of a holding: pairs net at once, or wait while the holding is
        # offered and net when that offer leaves the book.
        outcome = NO if pos[YES] else YES
    held = _free_shares(e, a, k, outcome)
    if held and not _rarely(data, 3):
        action = SELL
        size = held + 1 if _rarely(data, 15) else data.draw(
            st.sampled_from((held, held)) | st.integers(1, held))
    else:
        action = SELL if _rarely(data, 12) else BUY
        size = data.draw(st.integers(1, 30))
    if _rarely(data, 30):
        size = _pick(data, (0, 61, 5_000, 2_000_000))
    side = BID if outcome == action else ASK
    kind = _pick(data, ("limit",) * 8 + ("market", "market", "spend"))
    opposite = c.best_ask < c.levels if side == BID else c.best_bid > 0
    if kind != "limit" and not opposite and not _rarely(data, 5):
        kind = "limit"
    stp = _pick(data, (0, 1, 2))
    client_id = "" if not _rarely(data, 8) else _pick(data, ("x", "y", "z" * 65))
    if kind == "spend":
        spend = 0 if _rarely(data, 20) else data.draw(
            st.integers(1, 40 * MICRO) | st.sampled_from((300_000, MICRO, 2_345_678, 7 * MICRO)))
        tif = IOC if not _rarely(data, 5) else FOK
        return cmd.PlaceOrder(ts, a, k, outcome, BUY, 0, 0, MARKET, tif, stp=stp,
                              spend_micro=spend, client_id=client_id)
    flags = _pick(data, (0,) * 10 + (FLAG_POST_ONLY, FLAG_POST_ONLY, FLAG_REDUCE_ONLY,
                                                    FLAG_POST_ONLY | FLAG_REDUCE_ONLY))
    if kind == "market":
        price = _price(data, c, outcome, side) if _rarely(data, 3) else 0
        tif = _pick(data, (IOC, IOC, FOK, GTC))
        if flags & FLAG_POST_ONLY and not _rarely(data, 5):
            flags = 0
        return cmd.PlaceOrder(ts, a, k, outcome, action, size, price, MARKET, tif, flags=flags,
                              stp=stp, client_id=client_id)
    tif = _pick(data, (GTC,) * 6 + (GTD, GTD, IOC, FOK))
    expire = ts + _pick(data, (1, 2, 5, 10, 30, 0)) if tif == GTD else 0
    price = _price(data, c, outcome, side, take=2 if action == SELL else 3)  # offers rest more
    return cmd.PlaceOrder(ts, a, k, outcome, action, size, price, LIMIT, tif, expire, flags, stp,
                          client_id=client_id)


def _live_order(data: st.DataObject, e: Engine) -> tuple[int, int]:
    """(account, order id): usually a live order and its owner, sometimes a wrong one."""
    if not e.orders or _rarely(data, 15):
        return _account(data), data.draw(st.integers(1, 400))
    order_id = data.draw(st.sampled_from(sorted(e.orders)))
    owner = e.orders[order_id].account.id
    return (_account(data) if _rarely(data, 15) else owner), order_id


def _amend(data: st.DataObject, e: Engine, ts: int) -> cmd.AmendOrder:
    account, order_id = _live_order(data, e)
    o = e.orders.get(order_id)
    if o is None:
        return cmd.AmendOrder(ts, account, order_id, 0, 5)
    price = _price(data, o.contract, o.outcome, o.side) if not _rarely(data, 3) else 0
    size = _pick(data, (0, 0, 1, 2, o.remaining - 1, o.remaining + 1, o.remaining + 9))
    return cmd.AmendOrder(ts, account, order_id, price, max(size, 0))


def _trigger(data: st.DataObject, e: Engine, ts: int) -> cmd.Command:
    live = sorted(e.triggers)
    if live and _rarely(data, 4):
        t = e.triggers[data.draw(st.sampled_from(live))]
        return cmd.CancelTrigger(ts, t.account.id, t.id)
    holders = sorted((a.id, k) for a in e.accounts.values() for k in a.positions)
    if not holders:
        return cmd.Timer(ts)
    busy = [h for h in holders if h[1] == 1]  # contract 1 trades most: its triggers fire
    a, k = data.draw(st.sampled_from(busy if busy and not _rarely(data, 3) else holders))
    pos = e.accounts[a].positions[k]
    outcome = YES if pos[YES] else NO
    c = e.contracts[k]
    size = data.draw(st.integers(1, max(1, pos[outcome]) + 5))
    last = c.last_i or c.levels // 2
    here = _out_price(outcome, last * c.tick) // c.tick
    up = min(c.levels - 1, here + _pick(data, (1, 0, 2, 1, 3, 6))) * c.tick
    down = max(1, here - _pick(data, (1, 0, 2, 1, 3, 6))) * c.tick
    limit = _pick(data, (0, 0, down))
    shape = _pick(data, ("oco", "tp", "sl", "oco", "trail"))
    if shape == "trail":
        trail = _pick(data, (1, 2, 1, 3, 6)) * c.tick
        return cmd.PlaceTrigger(ts, a, k, outcome, size, trail_micro=trail, limit_micro=limit)
    return cmd.PlaceTrigger(ts, a, k, outcome, size,
                            take_profit_micro=up if shape != "sl" else 0,
                            stop_loss_micro=down if shape != "tp" else 0, limit_micro=limit)


_KINDS = (("place",) * 20 + ("cancel",) * 3 + ("amend",) * 4
          + ("timer", "timer", "cash", "cancel_all"))


def _draw(data: st.DataObject, e: Engine, ts: int, triggers: bool) -> cmd.Command:
    """One command, chosen against the engine's current state."""
    kind = _pick(data, _KINDS + (("trigger",) * 6 if triggers else ()))
    if kind == "cash" and _rarely(data, 3):
        kind = _pick(data, ("status", "status", "end"))
    if kind == "place":
        return _place(data, e, ts)
    if kind == "cancel":
        account, order_id = _live_order(data, e)
        return cmd.CancelOrder(ts, account, order_id)
    if kind == "amend":
        return _amend(data, e, ts)
    if kind == "timer":
        return cmd.Timer(ts)
    if kind == "cash":
        a = 0 if _rarely(data, 20) else _account(data)
        amount = _pick(data, (5 * MICRO, 50 * MICRO, 1, 0, 10**16))
        if data.draw(st.booleans()):
            return cmd.Deposit(ts, a, amount)
        return cmd.Withdraw(ts, a, amount)
    if kind == "cancel_all":
        market = _pick(data, (0, 0, 1, 2, 3))
        return cmd.CancelAll(ts, _account(data), market)
    if kind == "status":
        status = _pick(data, (mk.HALTED, mk.OPEN, mk.OPEN, mk.CLOSED, mk.SETTLED))
        return cmd.SetMarketStatus(ts, _pick(data, (1, 2, 3, 4, 5)), status)
    if kind == "trigger":
        return _trigger(data, e, ts)
    market = _pick(data, (1, 2, 3, 4, 5))
    if data.draw(st.booleans()):
        return cmd.VoidMarket(ts, market)
    return cmd.SettleMarket(ts, market, _pick(data, (0, 1, 2, 3, 4)))


def _next_ts(data: st.DataObject, ts: int) -> int:
    return ts + _pick(data, (0, 0, 1, 1, 2, 3, 10, 50))


# -- comparing --------------------------------------------------------------------------------


def _check_invariants(e: Engine, where: str) -> None:
    report = audit(e)
    assert report.ok, f"{where}: audit violations: {report.violations}"
    for a in e.accounts.values():
        assert a.free >= 0 and a.reserved >= 0, f"{where}: account {a.id} cash {a.free}/{a.reserved}"
        for k, pos in a.positions.items():
            assert min(pos) >= 0, f"{where}: account {a.id} contract {k} position {pos}"
    for c in e.contracts.values():
        assert c.collateral >= 0, f"{where}: contract {c.id} collateral {c.collateral}"
    assert e.fees_micro >= 0, f"{where}: fees {e.fees_micro}"


def _fills(events: list[ev.Event]) -> list[tuple[int, ...]]:
    return [(f.contract, f.yes_price_micro, f.size, f.taker_order, f.maker_order,
             f.taker_fee_micro, f.maker_fee_micro) for f in events if isinstance(f, ev.Fill)]


def _done(events: list[ev.Event]) -> dict[int, tuple[str, int]]:
    return {d.order: (d.reason, d.filled) for d in events if isinstance(d, ev.OrderDone)}


def _resting(e: Engine) -> dict[int, list[tuple[int, int, int, int]]]:
    """contract -> resting orders as (side, yes price, id, remaining), best first (the audit
    checks that level totals match the orders, so empty totals are skipped here)."""
    out = {}
    for k, c in sorted(e.contracts.items()):
        rows = []
        for side, qty, levels in ((BID, c.bid_qty, range(c.levels - 1, 0, -1)),
                                  (ASK, c.ask_qty, range(1, c.levels))):
            for i in levels:
                if qty[i]:
                    rows += [(side, i * c.tick, o.id, o.remaining)
                             for o in book.level_orders(c, side, i)]
        if rows:
            out[k] = rows
    return out


def _positions(e: Engine) -> dict[tuple[int, int], tuple[int, ...]]:
    return {(a.id, k): tuple(pos) for a in e.accounts.values() for k, pos in a.positions.items()
            if any(pos)}


def _fingerprint(e: Engine) -> Any:
    """Everything a refused command must leave alone (the clock may move): like the snapshot,
    but without walking every empty price level."""
    accounts = [(a.id, a.free, a.reserved, sorted((k, tuple(p)) for k, p in a.positions.items()),
                 sorted(a.orders), sorted(a.triggers), sorted(a.client_ids.items()),
                 list(a.recent_client_ids.items())) for a in e.accounts.values()]
    orders = [(o.id, o.price_i, o.remaining, o.filled, o.reserved, o.fee_basis, o.fee_charged,
               o.prev.id if o.prev else 0, o.next.id if o.next else 0) for o in e.orders.values()]
    contracts = [(c.id, c.collateral, c.yes_out, c.no_out, c.best_bid, c.best_ask, c.last_i,
                  c.volume, len(c.up), len(c.down), len(c.trailing)) for c in e.contracts.values()]
    markets = [(m.id, m.status, m.fees_micro, m.creator_fees_micro) for m in e.markets.values()]
    triggers = [(t.id, t.level_i, t.best_i, t.size, t.live) for t in e.triggers.values()]
    return (e.next_id, e.next_contract, e.fees_micro, e.deposits_micro, accounts, orders,
            contracts, markets, triggers, sorted(e.expiries), sorted(e.closes))


def _compare(e: Engine, model: Any, where: str) -> None:
    balances = {a.id: (a.free, a.reserved) for a in e.accounts.values()}
    assert balances == model.balances(), f"{where}: balances (free, reserved) differ"
    assert _positions(e) == model.positions(), f"{where}: positions differ"
    collateral = {k: c.collateral for k, c in e.contracts.items()}
    assert collateral == model.collateral, f"{where}: collateral differs"
    assert e.fees_micro == model.fees_micro, f"{where}: exchange fees differ"
    assert e.deposits_micro == model.deposits_micro, f"{where}: net deposits differ"
    assert _resting(e) == model.resting(), f"{where}: books differ"
    assert e.next_id == model.next_id, f"{where}: id counters differ"


# -- properties -------------------------------------------------------------------------------


class _Lockstep:
    """The engine and the reference model side by side: every command goes to both and
    everything observable is compared, with the engine's invariants, after each one."""

    def __init__(self) -> None:
        self.e = Engine()
        self.model = reference.Reference()
        self.index = 0
        self.ts = 1

    def apply(self, command: cmd.Command) -> str:
        e, model = self.e, self.model
        self.ts = max(self.ts, command.ts_ms)
        where = f"command #{self.index} {command!r}"
        note(where)
        self.index += 1
        before = _fingerprint(e)
        shares = _SharesFromEvents(e)
        code, value = e.apply(command)
        events = e.take_events()
        for event in events:
            shares.apply(event)
        assert shares.positions() == _positions(e), f"{where}: positions from events differ"
        want_code, want_value = model.apply(command)
        assert code == want_code, f"{where}: engine {code!r} ({value!r}), model {want_code!r}"
        if code == codes.OK:
            assert value == want_value, f"{where}: engine value {value!r}, model {want_value!r}"
        else:
            assert _fingerprint(e) == before, f"{where}: refused with {code} but changed state"
            assert not [x for x in events if type(x) is not ev.OrderRejected], where
        assert _fills(events) == [tuple(f) for f in model.fills], f"{where}: fills differ"
        assert _done(events) == model.done, f"{where}: finished orders differ"
        _check_invariants(e, where)
        _compare(e, model, where)
        return code

    def random_steps(self, data: st.DataObject, steps: int) -> None:
        for _ in range(steps):
            self.ts = _next_ts(data, self.ts)
            self.apply(_draw(data, self.e, self.ts, triggers=False))


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_engine_agrees_with_reference_model(data: st.DataObject) -> None:
    run = _Lockstep()
    for command in _setup(data):
        run.apply(command)
    run.random_steps(data, data.draw(st.sampled_from((20, 40, 60)), label="steps"))


def _rich(data: st.DataObject) -> list[cmd.Command]:
    """The usual setup with every account funded well enough to play its part."""
    return [cmd.Deposit(1, a, 1_000 * MICRO) for a in range(1, ACCOUNTS + 1)] + _setup(data)


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_reference_model_on_a_deep_book(data: st.DataObject) -> None:
    """A ladder of small orders from several accounts, then takers that sweep it: market orders
    by size and by spend against the default protection band, FOK and IOC orders meeting their
    own account's orders under each self-trade mode."""
    run = _Lockstep()
    for command in _rich(data):
        run.apply(command)
    c = run.e.contracts[1]
    mid = MICRO // 2
    for d in range(1, 16):
        gap = d * 10_000 if c.tick == 10_000 else d * _pick(data, (1_000, 10_000))
        maker = _pick(data, range(1, ACCOUNTS + 1))
        size = data.draw(st.integers(1, 5))
        if maker in (1, 3) and _rarely(data, 2):  # holders of YES offer it
            run.apply(cmd.PlaceOrder(2, maker, 1, YES, SELL, size, mid + gap))
        else:
            run.apply(cmd.PlaceOrder(2, maker, 1, NO, BUY, size, mid - gap))
        maker = _pick(data, range(1, ACCOUNTS + 1))
        if maker in (2, 4) and _rarely(data, 2):  # holders of NO offer it
            run.apply(cmd.PlaceOrder(2, maker, 1, NO, SELL, size, mid + gap))
        else:
            run.apply(cmd.PlaceOrder(2, maker, 1, YES, BUY, size, mid - gap))
    for _ in range(data.draw(st.integers(2, 8))):
        run.ts += 1
        a = _pick(data, range(1, ACCOUNTS + 1))
        outcome = _pick(data, (YES, NO))
        action = SELL if _free_shares(run.e, a, 1, outcome) and _rarely(data, 3) else BUY
        size = data.draw(st.integers(1, 40))
        stp = _pick(data, (0, 1, 2))
        kind = _pick(data, ("market", "spend", "fok", "ioc", "gtc"))
        if kind == "spend":
            spend = data.draw(st.integers(1, 20 * MICRO))
            command = cmd.PlaceOrder(run.ts, a, 1, outcome, BUY, 0, 0, MARKET, stp=stp,
                                     spend_micro=spend)
        elif kind == "market":
            tif = _pick(data, (IOC, FOK))
            command = cmd.PlaceOrder(run.ts, a, 1, outcome, action, size, 0, MARKET, tif, stp=stp)
        else:
            side = BID if outcome == action else ASK
            price = _price(data, c, outcome, side)
            tif = {"fok": FOK, "ioc": IOC, "gtc": GTC}[kind]
            command = cmd.PlaceOrder(run.ts, a, 1, outcome, action, size, price, LIMIT, tif,
                                     stp=stp)
        run.apply(command)
    run.random_steps(data, data.draw(st.integers(0, 10)))


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_reference_model_when_an_offered_holding_meets_its_opposite(data: st.DataObject) -> None:
    """An account offers shares it holds, then buys the other outcome: pairs cannot net while the
    shares are offered, and must net the moment the offer shrinks or leaves the book, however
    it leaves (amend, cancel, cancel-all, expiry, halt, a fill, settlement)."""
    run = _Lockstep()
    for command in _rich(data):
        run.apply(command)
    c = run.e.contracts[1]
    mid = MICRO // 2
    outcome = _pick(data, (YES, NO))
    holder = 1 if outcome == YES else 2  # each holds 20 of its outcome from the setup's mint
    offered = data.draw(st.sampled_from((20, 20)) | st.integers(1, 21))
    away = data.draw(st.integers(2, 8)) * c.tick
    tif = _pick(data, (GTC, GTD))
    run.apply(cmd.PlaceOrder(2, holder, 1, outcome, SELL, offered, mid + away, LIMIT, tif,
                             expire_ms=12 if tif == GTD else 0))
    offer = max((o.id for o in run.e.orders.values() if o.account.id == holder), default=0)
    bought = data.draw(st.integers(1, 20))
    run.apply(cmd.PlaceOrder(3, holder, 1, 1 - outcome, BUY, bought, mid + c.tick, LIMIT,
                             _pick(data, (IOC, GTC))))
    ts = 4
    leave = _pick(data, ("amend",) * 4 + ("cancel", "cancel_all", "expire",
                                                       "halt", "fill", "settle", "void"))
    if leave == "amend":
        price = _pick(data, (mid + c.tick, mid + 9 * c.tick, mid + away, 0))
        size = data.draw(st.sampled_from((0, 1, max(1, offered - 1), offered + 1)) |
                         st.integers(1, offered + 2))
        run.apply(cmd.AmendOrder(ts, holder, offer, price, size))
    elif leave == "cancel":
        run.apply(cmd.CancelOrder(ts, holder, offer))
    elif leave == "cancel_all":
        run.apply(cmd.CancelAll(ts, holder, _pick(data, (0, 1, 2))))
    elif leave == "expire":
        run.apply(cmd.Timer(_pick(data, (11, 12, 20))))
    elif leave == "halt":
        run.apply(cmd.SetMarketStatus(ts, 1, mk.HALTED))
    elif leave == "fill":
        taker = _pick(data, (5, 6, 7))
        run.apply(cmd.PlaceOrder(ts, taker, 1, outcome, BUY, data.draw(st.integers(1, 25)),
                                 mid + away, LIMIT, IOC))
    elif leave == "settle":
        run.apply(cmd.SettleMarket(ts, 1, _pick(data, (0, 1))))
    else:
        run.apply(cmd.VoidMarket(ts, 1))
    run.random_steps(data, data.draw(st.integers(0, 10)))


class _SharesFromEvents:
    """Positions rebuilt from the event stream alone, as a projector would: held and offered
    shares per (account, contract), and what each order still offers. Knows, at any event, what
    an account held unreserved, so a trigger's sale can be checked against that moment."""

    def __init__(self, e: Engine) -> None:
        self.pos = {(a.id, k): list(p) for a in e.accounts.values() for k, p in a.positions.items()}
        self.orders = {o.id: [o.account.id, o.contract.id, o.outcome, o.action, o.remaining]
                       for o in e.orders.values()}
        self.free_before: dict[int, int] = {}  # order id -> its outcome's unreserved shares
        self.accepted: dict[int, dict[str, Any]] = {}  # order id -> its OrderAccepted fields

    def _row(self, account: int, contract: int) -> list[int]:
        return self.pos.setdefault((account, contract), [0, 0, 0, 0])

    def apply(self, event: ev.Event) -> None:
        code, f = type(event), ev.as_dict(event)
        if code is ev.OrderAccepted:
            p = self._row(f["account"], f["contract"])
            self.free_before[f["order"]] = p[f["outcome"]] - p[2 + f["outcome"]]
            self.accepted[f["order"]] = f
            self.orders[f["order"]] = [f["account"], f["contract"], f["outcome"], f["action"],
                                       f["size"]]
            if f["action"] == SELL:
                p[2 + f["outcome"]] += f["size"]
        elif code is ev.Fill:
            for side in ("taker", "maker"):
                order = self.orders[f[f"{side}_order"]]
                p = self._row(order[0], order[1])
                if order[3] == BUY:
                    p[order[2]] += f["size"]
                else:
                    p[order[2]] -= f["size"]
                    p[2 + order[2]] -= f["size"]
                order[4] -= f["size"]
        elif code is ev.Netted:
            p = self._row(f["account"], f["contract"])
            p[YES] -= f["pairs"]
            p[NO] -= f["pairs"]
        elif code is ev.OrderDone:
            order = self.orders.pop(f["order"])
            if order[3] == SELL:
                self._row(order[0], order[1])[2 + order[2]] -= order[4]
        elif code is ev.OrderAmended:
            order = self.orders[f["order"]]
            if order[3] == SELL:
                self._row(order[0], order[1])[2 + order[2]] += f["remaining"] - order[4]
            order[4] = f["remaining"]
        elif code is ev.Payout:
            self.pos[(f["account"], f["contract"])] = [0, 0, 0, 0]

    def positions(self) -> dict[tuple[int, int], tuple[int, ...]]:
        return {k: tuple(p) for k, p in self.pos.items() if any(p)}


@settings(max_examples=45, **SETTINGS)
@given(data=st.data())
def test_triggers_keep_invariants_and_never_oversell(data: st.DataObject) -> None:
    e = Engine()
    stream = _setup(data)
    for command in stream:
        e.apply(command)
    e.take_events()
    ts = 1
    for index in range(data.draw(st.sampled_from((20, 40, 60)), label="steps")):
        ts = _next_ts(data, ts)
        command = _draw(data, e, ts, triggers=True)
        note(f"#{index} {command!r}")
        where = f"command #{index} {command!r}"
        shares = _SharesFromEvents(e)
        e.apply(command)
        for event in e.take_events():
            shares.apply(event)
            if isinstance(event, ev.TriggerFired):
                f = ev.as_dict(event)
                free = shares.free_before[f["order"]]
                assert f["size"] <= free, f"{where}: a trigger sold {f['size']}, {free} were held"
                order = shares.accepted[f["order"]]
                assert order["action"] == SELL and order["flags"] & FLAG_REDUCE_ONLY, where
                assert order["size"] == f["size"], where
                assert (order["account"], order["contract"]) == (f["account"], f["contract"])
        _check_invariants(e, where)
        assert shares.positions() == _positions(e), f"{where}: positions from events differ"


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_snapshot_round_trip_and_replay(data: st.DataObject) -> None:
    original = Engine()
    stream = _setup(data)
    for command in stream:
        original.apply(command)
    ts = 1
    steps = data.draw(st.sampled_from((20, 40, 60)), label="steps")
    cut = data.draw(st.integers(0, steps), label="cut")
    results: list[Any] = []
    restored: Engine | None = None
    for index in range(steps + 1):
        if index == cut:
            blob = snapshot.dumps(original)
            restored = snapshot.loads(blob)
            assert snapshot.state_hash(restored) == snapshot.state_hash(original), (
                f"after {len(stream)} commands: restored hash differs")
            assert snapshot.dumps(restored) == blob, "dumps(loads(blob)) != blob"
            original.take_events()
        if index == steps:
            break
        ts = _next_ts(data, ts)
        command = _draw(data, original, ts, triggers=True)
        note(f"#{index} {command!r}")
        stream.append(command)
        result = original.apply(command)
        events = original.take_events()
        results.append((result, events))
        if restored is not None:
            assert restored.apply(command) == result, f"#{index} {command!r}: results differ"
            assert restored.take_events() == events, f"#{index} {command!r}: events differ"
    assert restored is not None
    assert snapshot.state_hash(restored) == snapshot.state_hash(original), "hash after the rest"
    replayed = Engine()
    for command in stream:
        replayed.apply(command)
    assert snapshot.state_hash(replayed) == snapshot.state_hash(original), "replay hash differs"


# -- regressions: discrepancies the properties found in the first engine commit -------------
# Each was a contradiction of DESIGN.md at commit b2bb78c and is fixed in the engine since; the
# shortest stream that showed it stays here.


def _run(stream: list[cmd.Command]) -> tuple[Engine, list[tuple[Any, ...]]]:
    e = Engine()
    events = []
    for command in stream:
        assert e.apply(command)[0] == codes.OK, command
        events += e.take_events()
    return e, events


# Account 1 holds 10 YES, all offered by order 3, then buys 5 NO: nothing nets, since every YES
# is reserved.
_HOLD_OFFERED_AND_OPPOSITE = [
    cmd.CreateMarket(1, 1),
    cmd.Deposit(1, 1, 100 * MICRO),
    cmd.Deposit(1, 2, 100 * MICRO),
    cmd.PlaceOrder(1, 2, 1, NO, BUY, 10, 500_000),
    cmd.PlaceOrder(1, 1, 1, YES, BUY, 10, 500_000),
    cmd.PlaceOrder(1, 1, 1, YES, SELL, 10, 900_000),
    cmd.PlaceOrder(1, 2, 1, NO, SELL, 5, 500_000),
    cmd.PlaceOrder(1, 1, 1, NO, BUY, 5, 500_000),
]


def test_holding_offered_and_opposite_is_fine() -> None:
    e, _ = _run(_HOLD_OFFERED_AND_OPPOSITE)
    assert e.accounts[1].positions[1] == [10, 5, 10, 0]
    _check_invariants(e, "setup")


def test_amend_smaller_sell_at_new_price_nets_pairs() -> None:
    """Was: the amend freed 5 YES without netting, leaving pairs [10, 5, 5, 0] (audit failed)."""
    e, events = _run(_HOLD_OFFERED_AND_OPPOSITE + [cmd.AmendOrder(1, 1, 3, 800_000, 5)])
    _check_invariants(e, "after the amend")
    assert e.accounts[1].positions[1] == [5, 0, 5, 0]
    assert [(x.account, x.contract, x.pairs) for x in events
            if isinstance(x, ev.Netted)][-1] == (1, 1, 5)


def test_netting_when_a_sell_leaves_is_in_the_events() -> None:
    """Was: a cancel merged 5 pairs into 5 USDC with no NETTED event, so positions rebuilt from
    the events (the projector's read model) kept 10 YES and 5 NO."""
    e, events = _run(_HOLD_OFFERED_AND_OPPOSITE + [cmd.CancelOrder(2, 1, 3)])
    assert e.accounts[1].positions[1] == [5, 0, 0, 0]
    netted = [ev.as_dict(x) for x in events if isinstance(x, ev.Netted) and x.account == 1]
    assert [(n["contract"], n["pairs"]) for n in netted] == [(1, 5)]


def test_snapshot_keeps_scheduled_closes() -> None:
    """Was: a pending market's close, once passed by a Timer, was re-armed by a restore only, so
    the restored engine closed the market when it opened and the original never did."""
    e, _ = _run([cmd.CreateMarket(1, 1, close_ms=100, open_now=False), cmd.Timer(150)])
    restored = snapshot.loads(snapshot.dumps(e))
    assert snapshot.state_hash(restored) == snapshot.state_hash(e)
    for command in (cmd.MarketAction(200, 1, "submit", 9), cmd.MarketAction(200, 1, "approve", 9),
                    cmd.Timer(300)):
        assert restored.apply(command) == e.apply(command), command
        assert restored.take_events() == e.take_events(), command
    assert snapshot.state_hash(restored) == snapshot.state_hash(e)


# -- fill-or-kill market buys by spend (once checked against the maximum size, not the spend) --


def test_fok_market_buy_by_spend_fills_when_the_book_absorbs_the_spend() -> None:
    e, _ = _run([cmd.CreateMarket(1, 1), cmd.Deposit(1, 1, 100 * MICRO),
                 cmd.Deposit(1, 2, 100 * MICRO), cmd.PlaceOrder(1, 2, 1, NO, BUY, 50, 500_000)])
    # 5 USDC buys exactly 10 YES at 0.50 and 50 are offered: all of the spend can be used.
    code, _ = e.apply(cmd.PlaceOrder(2, 1, 1, YES, BUY, 0, 0, MARKET, FOK, spend_micro=5 * MICRO))
    assert code == codes.OK
    assert sum(f[2] for f in _fills(e.take_events())) == 10


def test_fok_market_buy_by_spend_stops_before_its_own_order_once_spent() -> None:
    e, _ = _run([cmd.CreateMarket(1, 1), cmd.Deposit(1, 1, 100 * MICRO),
                 cmd.Deposit(1, 2, 100 * MICRO), cmd.PlaceOrder(1, 2, 1, NO, BUY, 5, 500_000),
                 cmd.PlaceOrder(1, 1, 1, NO, BUY, 5, 480_000)])
    # 1.01 buys 2 YES at 0.50 from account 2; the 0.01 left buys nothing, so the order is done
    # before it reaches account 1's own offer at 0.52: no self-trade, filled in full.
    code, _ = e.apply(cmd.PlaceOrder(2, 1, 1, YES, BUY, 0, 0, MARKET, FOK, spend_micro=1_010_000))
    assert code == codes.OK
    assert sum(f[2] for f in _fills(e.take_events())) == 2


def test_fok_is_killed_when_it_needs_more_fills_than_one_command_may_make() -> None:
    n = limits.fills_per_command_max
    per = limits.orders_per_account_max
    makers = range(2, 3 + n // per)  # enough accounts for n + 1 resting one-share orders
    e, _ = _run([cmd.CreateMarket(1, 1, size_max=10 * n)]
                + [cmd.Deposit(1, a, 10**6 * MICRO) for a in (1, *makers)]
                + [cmd.PlaceOrder(1, makers[i // per], 1, NO, BUY, 1, 500_000)
                   for i in range(n + 1)])
    # Matching would stop after n fills and leave the order part-filled: not all or none.
    code, _ = e.apply(cmd.PlaceOrder(2, 1, 1, YES, BUY, n + 1, 500_000, tif=FOK))
    assert code == codes.FOK_NOT_FILLED
    code, _ = e.apply(cmd.PlaceOrder(2, 1, 1, YES, BUY, n, 500_000, tif=FOK))
    assert code == codes.OK
    assert sum(f[2] for f in _fills(e.take_events())) == n


def test_fok_market_buy_by_spend_is_killed_when_the_book_is_too_thin() -> None:
    e, _ = _run([cmd.CreateMarket(1, 1), cmd.Deposit(1, 1, 100 * MICRO),
                 cmd.Deposit(1, 2, 100 * MICRO), cmd.PlaceOrder(1, 2, 1, NO, BUY, 8, 500_000),
                 cmd.PlaceOrder(1, 2, 1, NO, BUY, 1, 480_000)])
    # 5.30 USDC: 8 YES at 0.50 (4.00), then 1 at 0.52 (0.52), and 0.78 is left with nothing
    # offered within the protection band: not all of it can be used.
    before = snapshot.state_hash(e)
    code, _ = e.apply(cmd.PlaceOrder(1, 1, 1, YES, BUY, 0, 0, MARKET, FOK,
                                     spend_micro=5_300_000))
    assert code == codes.FOK_NOT_FILLED
    # Too little to buy a single share: nothing to fill in full either.
    code, _ = e.apply(cmd.PlaceOrder(1, 1, 1, YES, BUY, 0, 0, MARKET, FOK, spend_micro=499_999))
    assert code == codes.FOK_NOT_FILLED
    e.take_events()
    assert snapshot.state_hash(e) == before
    # 4.70 is used up by the same two levels (what is left, 0.18, buys no further share).
    code, _ = e.apply(cmd.PlaceOrder(2, 1, 1, YES, BUY, 0, 0, MARKET, FOK,
                                     spend_micro=4_700_000))
    assert code == codes.OK
    assert sum(f[2] for f in _fills(e.take_events())) == 9
