"""The engine: a deterministic state machine, `apply(command) -> (code, value)` plus events.

Owns the pipeline inside one process, in order. The ledger (money) and the matcher (books)
meet only in the messages of engine/seam.py, called in sequence:
  # 1 validate   (nothing changes on a refusal: every check runs before the first mutation)
  # 2 reserve    (ledger.fund: the funded order in; cash for buys, shares for sells)
  # 3 match      (matching: price-time priority in the unified book; a Trade per fill)
  # 4 settle     (ledger.settle, per Trade: transfer, mint or merge; fees; netting)
  # 5 rest/finish (book link, or a Done: the ledger releases what the order still holds)
  # 6 triggers   (take-profit, stop-loss, trailing stops fired by the trades above, in sequence)
  # 7 risk       (order groups count the fills of their orders; engine/risk.py)
Time comes only from `command.ts_ms`. Events accumulate in `self.events` for the caller to drain.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final

from msgspec.structs import astuple
from mypy_extensions import mypyc_attr

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.commands import AmendOrder, CancelOrder, PlaceOrder
from foretell.domain.orders import (
    ASK,
    BID,
    BUY,
    DONE_CLOSED,
    DONE_EXPIRED,
    DONE_FILLED,
    DONE_HALTED,
    DONE_IOC,
    DONE_SETTLED,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    YES,
)
from foretell.domain.units import MICRO
from foretell.engine import book, convert, ledger, lifecycle, pool, risk, triggers
from foretell.engine.book import limit_index, link
from foretell.engine.matching import Walk, fills_in_full, match, plan
from foretell.engine.seam import Done, Trade
from foretell.engine.state import Account, Contract, Market, Order, OrderGroup, Trigger

# Event classes as Final names: compiled, each is a C static, read without the module
# attribute lookup that `ev.Fill(...)` costs per event on the hot path.
_OrderAccepted: Final = ev.OrderAccepted
_OrderDone: Final = ev.OrderDone
_OrderAmended: Final = ev.OrderAmended
_OrderRejected: Final = ev.OrderRejected
_Netted: Final = ev.Netted
_Cash: Final = ev.Cash
# The same for the commands `apply` dispatches on and for msgspec's `astuple`: as imported
# names they would be looked up in the module's globals dict on every command.
_PlaceOrder: Final = PlaceOrder
_CancelOrder: Final = CancelOrder
_AmendOrder: Final = AmendOrder
_astuple: Final = astuple


Result = tuple[str, Any]

@mypyc_attr(allow_interpreted_subclasses=True)  # test doubles may watch the engine
class Engine:
    def __init__(self) -> None:
        self.accounts: dict[int, Account] = {}
        self.markets: dict[int, Market] = {}
        self.contracts: dict[int, Contract] = {}
        self.orders: dict[int, Order] = {}  # resting orders only
        self.triggers: dict[int, Trigger] = {}
        self.next_id = 1  # orders and triggers share one id sequence
        self.next_contract = 1
        self.fees_micro = 0  # the exchange's fee account
        self.deposits_micro = 0  # net deposits: what conservation is checked against
        self.now_ms = 0
        self.now: Any = 0  # now_ms boxed once (set_clock): every event of a command carries it
        self.expiries: list[tuple[int, int]] = []  # (expire_ms, order id), lazily cleaned
        self.closes: list[tuple[int, int]] = []  # (close_ms, market id)
        self.resolutions: list[tuple[int, int]] = []  # (dispute deadline ms, market id)
        # Risk controls (engine/risk.py): order groups by id, the group of each live grouped
        # order, and the armed dead-man's switches (account -> (due_ms, timeout_ms)) with a
        # heap of (due_ms, account), lazily cleaned of renewed entries.
        self.groups: dict[int, OrderGroup] = {}
        self.next_group = 1
        self.grouped: dict[int, OrderGroup] = {}
        self.dead_men: dict[int, tuple[int, int]] = {}
        self.dead_man_due: list[tuple[int, int]] = []
        self.suspended: set[int] = set()  # accounts the exchange suspended (engine/risk.py)
        self._risk_from = -1  # index of the command's first event while groups must look
        self.events: list[ev.Event] = []
        # The matcher's messages to the ledger (engine/seam.py): one of each, refilled for
        # every trade and departure and read at once, so the hot loop allocates none.
        self.trade_out = Trade()
        self.done_out = Done()
        self._moves: list[tuple[Contract, int, int]] = []
        self._handlers: dict[type, Callable[[Any], Any]] = {
            cmd.Deposit: self._deposit,
            cmd.Withdraw: self._withdraw,
            cmd.CreateMarket: self._create_market,
            cmd.SetMarketStatus: self._set_status,
            cmd.SettleMarket: self._settle_market,
            cmd.VoidMarket: self._void_market,
            cmd.PlaceOrder: self._place,
            cmd.CancelOrder: self._cancel,
            cmd.CancelAll: self._cancel_all,
            cmd.AmendOrder: self._amend,
            cmd.PlaceTrigger: self._place_trigger,
            cmd.CancelTrigger: self._cancel_trigger,
            cmd.Timer: self._timer,
            cmd.MarketAction: lambda c: lifecycle.market_action(self, c),
            cmd.ProposeResolution: lambda c: lifecycle.propose(self, c),
            cmd.Dispute: lambda c: lifecycle.dispute(self, c),
            cmd.DecideDispute: lambda c: lifecycle.decide(self, c),
            cmd.FundPool: lambda c: pool.fund(self, c),
            cmd.Convert: lambda c: convert.convert(self, c),
            cmd.CreateOrderGroup: lambda c: risk.create_group(self, c),
            cmd.ResetOrderGroup: lambda c: risk.reset_group(self, c),
            cmd.ArmDeadMan: lambda c: risk.arm_dead_man(self, c),
            cmd.SuspendAccount: lambda c: risk.suspend(self, c),
        }

    # -- entry point --------------------------------------------------------------------------

    def apply(self, command: cmd.Command) -> Result:
        # (`type(command) is _X`: a pointer comparison, and it narrows the command's type.)
        if type(command) is _PlaceOrder:
            # An order's fields are read in one C call (see _place_fields), its time with them:
            # reading `command.ts_ms` from a msgspec struct is a generic attribute lookup.
            fields: tuple[Any, ...] = _astuple(command)
            ts: Any = fields[0]
        else:
            ts = command.ts_ms
        ts_ms: int = ts
        if ts_ms > self.now_ms:
            self.set_clock(ts)
        if self.grouped:  # a live order is in a group: its fills count after the command
            self._risk_from = len(self.events)
        try:
            # The three busiest commands are direct native calls; the rest go through the table.
            if type(command) is _PlaceOrder:
                value: Any = self._place_fields(command, fields)
            elif type(command) is _CancelOrder:
                value = self._cancel(command)
            elif type(command) is _AmendOrder:
                value = self._amend(command)
            else:
                value = self._handlers[type(command)](command)
        except Reject as refusal:
            if type(command) is _PlaceOrder:
                self.events.append(_OrderRejected(self.now, command.account, command.contract,
                                                  command.client_id, refusal.code))
            self._risk_from = -1  # a refusal changed nothing
            return refusal.code, refusal.detail
        if self._moves:
            self._run_triggers()
        if self._risk_from >= 0:
            start, self._risk_from = self._risk_from, -1
            risk.after_command(self, start)
        return codes.OK, value

    def set_clock(self, ts: Any) -> None:
        """The engine's time: from the commands' timestamps only, and never backwards (apply);
        kept as a native int for comparisons and boxed once for the events."""
        self.now_ms = ts
        self.now = ts

    def take_events(self) -> list[ev.Event]:
        out = self.events
        self.events = []
        return out

    def next_deadline_ms(self) -> int:
        """When the next Timer command has work to do (0 = nothing scheduled)."""
        times = [heap[0][0] for heap in (self.expiries, self.closes, self.resolutions) if heap]
        if self.dead_man_due:
            due_ms = risk.next_due(self)
            if due_ms:
                times.append(due_ms)
        return min(times) if times else 0

    # -- accounts -----------------------------------------------------------------------------

    def _deposit(self, c: cmd.Deposit) -> int:
        # The fields in one C call: a msgspec struct's attribute is a generic (slow) lookup.
        account_id: int
        amount: int
        reason: str
        _, account_id, amount, reason = _astuple(c)
        _check_amount(amount)
        if account_id <= 0:  # pools and converters (negative ids) are not users' accounts
            raise Reject(codes.UNKNOWN_ACCOUNT)
        a = self.accounts.get(account_id)
        if a is None:
            a = self.accounts[account_id] = Account(account_id)
            a.suspended = account_id in self.suspended
        a.free += amount
        self.deposits_micro += amount
        self.events.append(_Cash(self.now, a.key, amount, reason))
        return a.free

    def _withdraw(self, c: cmd.Withdraw) -> int:
        _check_amount(c.amount_micro)
        a = self.account(c.account)
        if a.free < c.amount_micro:
            raise Reject(codes.INSUFFICIENT_FUNDS)
        a.free -= c.amount_micro
        self.deposits_micro -= c.amount_micro
        self.events.append(ev.Cash(self.now_ms, a.id, -c.amount_micro, c.reason))
        return a.free

    def account(self, account_id: int) -> Account:
        """A user's account (the negative ids of pools and converters are refused)."""
        a = self.accounts.get(account_id)
        if a is None or account_id <= 0:
            raise Reject(codes.UNKNOWN_ACCOUNT)
        return a

    # -- markets ------------------------------------------------------------------------------

    def _create_market(self, c: cmd.CreateMarket) -> list[int]:
        if c.market in self.markets:
            raise Reject(codes.DUPLICATE_MARKET)
        valid = (
            c.market > 0
            and 2 <= c.outcomes <= limits.outcomes_max
            and c.tick_micro in limits.tick_micro_allowed
            and 1 <= c.size_max <= limits.size_shares_max_default * 100
            and 0 <= c.maker_fee_ppm <= limits.fee_ppm_max
            and 0 <= c.taker_fee_ppm <= limits.fee_ppm_max
            and 0 <= c.creator_share_ppm <= limits.creator_share_ppm_max
            and 0 <= c.void_yes_micro <= MICRO
            and c.close_ms >= 0
        )
        if not valid:
            raise Reject(codes.INVALID_MARKET)
        if not (0 < c.dispute_window_ms <= 30 * 86_400_000 and 0 <= c.dispute_bond_micro
                <= limits.amount_micro_max and 0 <= c.dispute_reward_ppm <= MICRO):
            raise Reject(codes.INVALID_MARKET)
        status = mk.OPEN if c.open_now else mk.DRAFT
        m = Market(c.market, status, c.tick_micro, c.size_max, c.maker_fee_ppm, c.taker_fee_ppm,
                   c.creator, c.creator_share_ppm, c.close_ms, c.void_yes_micro)
        m.dispute_window_ms = c.dispute_window_ms
        m.dispute_bond_micro = c.dispute_bond_micro
        m.dispute_reward_ppm = c.dispute_reward_ppm
        for index in range(1 if c.outcomes == 2 else c.outcomes):
            contract = Contract(self.next_contract, m, index)
            self.next_contract += 1
            m.contracts.append(contract)
            self.contracts[contract.id] = contract
        self.markets[m.id] = m
        if c.close_ms and status == mk.OPEN:
            heapq.heappush(self.closes, (c.close_ms, m.id))
        ids = [k.id for k in m.contracts]
        self.events.append(ev.MarketCreated(self.now_ms, m.id, tuple(ids)))
        self.events.append(ev.MarketStatus(self.now_ms, m.id, status, "created", c.actor))
        return ids

    def market(self, market_id: int) -> Market:
        m = self.markets.get(market_id)
        if m is None:
            raise Reject(codes.UNKNOWN_MARKET)
        return m

    def _set_status(self, c: cmd.SetMarketStatus) -> int:
        m = self.market(c.market)
        if c.status not in (mk.OPEN, mk.HALTED, mk.CLOSED):
            raise Reject(codes.INVALID_TRANSITION)
        self.transition(m, c.status, c.reason)
        return m.status

    def transition(self, m: Market, status: int, reason: str, actor: int = 0) -> None:
        if status not in mk.TRANSITIONS[m.status]:
            raise Reject(codes.INVALID_TRANSITION)
        m.status = status
        if status == mk.OPEN and m.close_ms:
            heapq.heappush(self.closes, (m.close_ms, m.id))  # due ones close on the next Timer
        if status == mk.HALTED:
            self._cancel_market_orders(m, DONE_HALTED)
        elif status in (mk.CLOSED, mk.SETTLED, mk.VOIDED):
            why = DONE_CLOSED if status == mk.CLOSED else DONE_SETTLED
            self._cancel_market_orders(m, why)
            for contract in m.contracts:
                triggers.cancel_all(self, contract, why)
        self.events.append(ev.MarketStatus(self.now_ms, m.id, status, reason, actor))

    def _cancel_market_orders(self, m: Market, reason: str) -> None:
        for contract in m.contracts:
            for i in range(1, contract.levels):
                for head in (contract.bid_head, contract.ask_head):
                    while head[i] is not None:
                        o = head[i]
                        assert o is not None
                        self.cancel_resting(o, reason)

    def _settle_market(self, c: cmd.SettleMarket) -> int:
        m = self.market(c.market)
        lifecycle.check_winner(m, c.winner)
        if mk.SETTLED not in mk.TRANSITIONS[m.status]:
            raise Reject(codes.INVALID_TRANSITION)
        lifecycle.return_bonds(self, m)
        lifecycle.settle(self, m, c.winner, "settled by a supervisor", 0)
        return c.winner

    def _void_market(self, c: cmd.VoidMarket) -> int:
        m = self.market(c.market)
        if mk.VOIDED not in mk.TRANSITIONS[m.status]:
            raise Reject(codes.INVALID_TRANSITION)
        lifecycle.return_bonds(self, m)
        self.transition(m, mk.VOIDED, c.reason)
        for contract in m.contracts:
            self.pay_out(contract, m.void_yes_micro)
        self.close_pools(m)
        return m.void_yes_micro

    def close_pools(self, m: Market) -> None:
        """After a market's payout: repay the converter's debt, return the pool to its funder."""
        convert.settle_converter(self, m)
        pool.close(self, m)

    def pay_out(self, contract: Contract, yes_micro: int) -> None:
        """Pay every holder and release the contract's collateral to zero."""
        no_micro = MICRO - yes_micro
        for account_id in sorted(contract.positions):
            pos = contract.positions[account_id]
            a = self.accounts[account_id]
            amount = pos[YES] * yes_micro + pos[NO] * no_micro
            a.free += amount
            self.events.append(ev.Payout(self.now_ms, contract.market.id, contract.id,
                                         account_id, pos[YES], pos[NO], amount))
            del a.positions[contract.id]
        contract.positions.clear()
        contract.collateral = contract.yes_out = contract.no_out = 0

    # -- orders -------------------------------------------------------------------------------

    def _place(self, c: cmd.PlaceOrder) -> int:
        return self._place_fields(c, _astuple(c))

    def _place_fields(self, c: cmd.PlaceOrder, fields: tuple[Any, ...]) -> int:
        # One C call (`astuple`, by the caller) instead of thirteen attribute reads: the
        # fields in declaration order.
        (_, account_id, contract_id, outcome, action, size, price_micro, order_type, tif,
         expire_ms, flags, stp, spend_micro, client_id, group) = fields
        a = self.accounts.get(account_id)
        if a is None or a.id <= 0:  # (a native int: cheaper than comparing the boxed id)
            raise Reject(codes.UNKNOWN_ACCOUNT)
        contract = self.contracts.get(contract_id)
        if contract is None:
            raise Reject(codes.UNKNOWN_CONTRACT)
        if group:
            return self._place_grouped(c, a, contract, group)
        return self.submit(a, contract, outcome, action, size, price_micro, order_type, tif,
                           expire_ms, flags, stp, spend_micro, client_id)

    def _place_grouped(self, c: cmd.PlaceOrder, a: Account, contract: Contract,
                       group_id: int) -> int:
        """An order in a group: joined to it before it runs, so that the fills it takes on
        arrival count too (engine/risk.py); left again if it is refused."""
        g = risk.group_to_join(self, a.id, group_id)
        if self._risk_from < 0:
            self._risk_from = len(self.events)
        order_id = self.next_id
        self.grouped[order_id] = g
        g.orders.add(order_id)
        try:
            return self.submit(a, contract, c.outcome, c.action, c.size, c.price_micro,
                               c.order_type, c.tif, c.expire_ms, c.flags, c.stp, c.spend_micro,
                               c.client_id)
        except Reject:
            del self.grouped[order_id]
            g.orders.discard(order_id)
            raise

    def submit(self, a: Account, c: Contract, outcome: int, action: int, size: int,
               price_micro: int, order_type: int, tif: int, expire_ms: int, flags: int, stp: int,
               spend_micro: int, client_id: str) -> int:
        """Validate, reserve, match and rest or finish one order. The hot path."""
        o, walk = self.admit(a, c, outcome, action, size, price_micro, order_type, tif,
                             expire_ms, flags, stp, spend_micro, client_id)
        # -- nothing above changed state; from here on the order exists --
        self.next_id += 1
        oid: Any = o.key  # the boxed id (state.py), for the dict keys and the event below
        ledger.fund(o)
        if client_id:
            a.client_ids[client_id] = oid
        out_keys = c.yes_keys if o.outcome == 0 else c.no_keys  # o.out_price, boxed
        self.events.append(_OrderAccepted(self.now, oid, a.key, c.id, o.outcome, o.action,
                                          order_type, out_keys[o.price_i], o.size, o.tif, flags,
                                          client_id))
        stop = match(self, o, walk) if walk is not None else ""
        why = end_reason(o.remaining, stop, o.tif, order_type)
        if why:
            self._finish(o, why)
        else:
            link(c, o)
            self.orders[oid] = o
            a.orders[oid] = o
            if o.tif == GTD:
                heapq.heappush(self.expiries, (expire_ms, oid))
        return o.id

    def admit(self, a: Account, c: Contract, outcome: int, action: int, size: int,
              price_micro: int, order_type: int, tif: int, expire_ms: int, flags: int, stp: int,
              spend_micro: int, client_id: str) -> tuple[Order, Walk | None]:
        """Every check of an order, and its walk of the book if it crosses; changes nothing.

        Returns the order as it would be accepted (its reservation in `reserved`, not yet taken
        from the account) and the walk that matching would apply, or raises `Reject`. The
        dry-run quote calls this too, so the quote and the order cannot disagree."""
        if a.suspended:
            raise Reject(codes.ACCOUNT_SUSPENDED)
        m = c.market
        if m.status != 1:  # mk.OPEN
            raise Reject(codes.MARKET_NOT_OPEN)
        if client_id:
            _check_client_id(a, client_id)
        if (outcome != 0 and outcome != 1) or (action != 0 and action != 1) or not (
                0 <= tif <= 3 and 0 <= stp <= 2 and 0 <= flags <= 3 and 0 <= order_type <= 1):
            raise Reject(codes.INVALID_ORDER)
        if spend_micro or order_type or flags:
            size, tif = _check_special(self, m, action, size, order_type, tif, flags,
                                       spend_micro)
        elif not 1 <= size <= m.size_max:
            raise Reject(codes.SIZE_OUT_OF_RANGE)
        if tif == GTD and expire_ms <= self.now_ms:
            raise Reject(codes.INVALID_EXPIRY)
        side = 0 if outcome == action else 1
        tick = c.tick
        if order_type == LIMIT or price_micro:
            if not tick <= price_micro <= MICRO - tick:
                raise Reject(codes.INVALID_PRICE)
            if price_micro % tick:
                raise Reject(codes.INVALID_TICK)
            price_i = (price_micro if outcome == 0 else MICRO - price_micro) // tick
        else:
            price_i = _protection_index(c, side)
        if flags & FLAG_REDUCE_ONLY:
            if action == BUY:
                # Buying one outcome to reduce a holding of the other is the same trade as
                # selling that holding at the same YES price, on the same side of the book.
                outcome, action = 1 - outcome, SELL
            size = min(size, ledger.free_shares(a, c, outcome))
            if size <= 0:
                raise Reject(codes.NO_POSITION)
        yes_price = price_i * tick
        out_price = yes_price if outcome == 0 else MICRO - yes_price
        reserve = 0
        if action == 0:
            cap = spend_micro or out_price * size
            reserve = ledger.buy_reservation(cap, 0, 0, m.fee_max_ppm)
            if a.free < reserve:
                raise Reject(codes.INSUFFICIENT_FUNDS)
        else:
            pos = a.positions.get(c.id)
            if pos is None or pos[outcome] - pos[2 + outcome] < size:
                raise Reject(codes.INSUFFICIENT_SHARES)
        crosses = c.best_ask <= price_i if side == 0 else c.best_bid >= price_i
        if not crosses and m.pool is not None:
            crosses = pool.crosses(m.pool, c, side == 0, price_i)
        if crosses and flags & FLAG_POST_ONLY:
            raise Reject(codes.POST_ONLY_WOULD_TAKE)
        if len(a.orders) >= limits.orders_per_account_max:
            raise Reject(codes.TOO_MANY_ORDERS)
        o = Order(self.next_id, a, c, side, outcome, action, price_i, size, order_type, tif,
                  expire_ms, flags, stp, client_id, self.now_ms)
        o.reserved = reserve
        if spend_micro:
            o.spend_rem = spend_micro
        walk = plan(c, o) if crosses else None
        if tif == FOK and (walk is None or not fills_in_full(walk, o)):
            raise Reject(codes.FOK_NOT_FILLED)
        return o, walk

    def _finish(self, o: Order, reason: str) -> None:
        """Forget an order that has left (or never joined) the book; release what it holds."""
        a = o.account
        pairs = ledger.release(o)
        if pairs:
            self.events.append(_Netted(self.now, a.key, o.contract.id, pairs))
        oid: Any = o.key  # the boxed id, for the dict operations and the event below
        if oid in a.orders:
            del a.orders[oid]
            del self.orders[oid]
        if o.client_id:
            del a.client_ids[o.client_id]
            recent = a.recent_client_ids
            recent[o.client_id] = oid
            if len(recent) > limits.client_ids_recent_max:
                del recent[next(iter(recent))]
        remaining = 0 if o.spend_rem >= 0 else o.remaining
        c = o.contract
        self.events.append(_OrderDone(self.now, oid, a.key, c.id, reason,
                                      o.filled, remaining, c.yes_keys[o.price_i]))

    # -- the seam (engine/seam.py): the matcher's messages to the ledger, in sequence --------

    def settle(self, t: Trade) -> None:
        """A fill out of the matcher, settled by the ledger (or by the pool, its maker)."""
        if t.maker is None:
            pool.fill(self, t)
        else:
            ledger.settle(self, t)

    def done(self, d: Done) -> None:
        """An order out of the book (already unlinked by the matcher): released and forgotten."""
        assert d.order is not None
        self._finish(d.order, d.reason)

    def cancel_resting(self, o: Order, reason: str) -> None:
        book.unlink(o.contract, o)
        self._finish(o, reason)

    def moved(self, c: Contract, first_i: int, last_i: int) -> None:
        """Trades ran from first_i to last_i: queue the contract's triggers for a check."""
        if c.up or c.down or c.trailing:
            self._moves.append((c, first_i, last_i))

    def _owned_order(self, account_id: int, order_id: int) -> Order:
        o = self.orders.get(order_id)
        if o is None:
            raise Reject(codes.UNKNOWN_ORDER)
        if o.account.id != account_id:
            raise Reject(codes.NOT_OWNER)
        return o

    def _cancel(self, c: cmd.CancelOrder) -> int:
        account_id: int
        order_id: int
        _, account_id, order_id = _astuple(c)  # one C call, not two generic attribute reads
        o = self._owned_order(account_id, order_id)
        self.cancel_resting(o, "cancelled")
        return o.remaining

    def _cancel_all(self, c: cmd.CancelAll) -> int:
        a = self.account(c.account)
        doomed = [o for o in a.orders.values() if not c.market or o.contract.market.id == c.market]
        for o in doomed:
            self.cancel_resting(o, c.reason or "cancelled")
        return len(doomed)

    def _amend(self, c: cmd.AmendOrder) -> int:
        # One C call instead of four generic attribute reads of the msgspec struct.
        account_id: int
        order_id: int
        price_micro: int
        new_size: int
        _, account_id, order_id, price_micro, new_size = _astuple(c)
        o = self._owned_order(account_id, order_id)
        contract = o.contract
        m = contract.market
        if m.status != mk.OPEN:
            raise Reject(codes.MARKET_NOT_OPEN)
        price_i = o.price_i
        if price_micro:
            price_i = limit_index(contract, o.outcome, price_micro)
        size = new_size or o.remaining
        if not 1 <= size <= m.size_max:
            raise Reject(codes.SIZE_OUT_OF_RANGE)
        if price_i == o.price_i and size <= o.remaining:
            return self._shrink(o, size)
        return self._replace(o, price_i, size)

    def _shrink(self, o: Order, size: int) -> int:
        """A size decrease at the same price keeps the order's place in the queue."""
        a = o.account
        cut = o.remaining - size
        book.shrink(o.contract, o, cut)
        if o.action == BUY:
            need = ledger.buy_reservation(ledger.remaining_cap(o), o.fee_basis, o.fee_charged,
                                          o.contract.market.fee_max_ppm)
            a.free += o.reserved - need
            a.reserved -= o.reserved - need
            o.reserved = need
        else:
            a.positions[o.contract.id][2 + o.outcome] -= cut
            ledger.merge_pairs(self, a, o.contract)
        c = o.contract
        yes_price = c.yes_keys[o.price_i]  # boxed (state.py)
        self.events.append(_OrderAmended(self.now, o.key, a.key, c.id,
                                         o.out_price, o.remaining, True, yes_price, yes_price))
        return o.id

    def _replace(self, o: Order, price_i: int, size: int) -> int:
        """Any other amend: new price and/or size, back of the queue, may trade on arrival."""
        c = o.contract
        a = o.account
        yes_price = price_i * c.tick
        out_price = yes_price if o.outcome == YES else MICRO - yes_price
        crosses = c.best_ask <= price_i if o.side == BID else c.best_bid >= price_i
        if not crosses and c.market.pool is not None:
            crosses = pool.crosses(c.market.pool, c, o.side == BID, price_i)
        if crosses and o.flags & FLAG_POST_ONLY:
            raise Reject(codes.POST_ONLY_WOULD_TAKE)
        need = 0
        if o.action == BUY:
            need = ledger.buy_reservation(out_price * size, o.fee_basis, o.fee_charged,
                                          c.market.fee_max_ppm)
            if need - o.reserved > a.free:
                raise Reject(codes.INSUFFICIENT_FUNDS)
        elif size - o.remaining > ledger.free_shares(a, c, o.outcome):
            raise Reject(codes.INSUFFICIENT_SHARES)
        book.unlink(c, o)
        if o.action == BUY:
            a.free -= need - o.reserved
            a.reserved += need - o.reserved
            o.reserved = need
        else:
            a.positions[c.id][2 + o.outcome] += size - o.remaining
            if size < o.remaining:
                ledger.merge_pairs(self, a, c)
        old_yes_price = o.price_i * c.tick
        o.price_i, o.out_price, o.remaining = price_i, out_price, size
        self.events.append(_OrderAmended(self.now, o.id, a.id, c.id, out_price, size,
                                         False, yes_price, old_yes_price))
        stop = match(self, o, plan(c, o)) if crosses else ""
        if o.remaining == 0:
            self._finish(o, DONE_FILLED)
        elif stop:
            self._finish(o, stop)
        else:
            book.link(c, o)
        return o.id

    # -- triggers -----------------------------------------------------------------------------

    def _place_trigger(self, c: cmd.PlaceTrigger) -> list[int]:
        return triggers.place(self, c)

    def _cancel_trigger(self, c: cmd.CancelTrigger) -> int:
        t = self.triggers.get(c.trigger)
        if t is None:
            raise Reject(codes.UNKNOWN_TRIGGER)
        if t.account.id != c.account:
            raise Reject(codes.NOT_OWNER)
        triggers.kill(self, t, "cancelled")
        return t.id

    def _run_triggers(self) -> None:
        while self._moves:
            moves, self._moves = self._moves, []
            for contract, first_i, last_i in moves:
                triggers.fire(self, contract, first_i, last_i)

    # -- time ---------------------------------------------------------------------------------

    def _timer(self, c: cmd.Timer) -> int:
        now = self.now_ms
        done = 0
        while self.closes and self.closes[0][0] <= now:
            _, market_id = heapq.heappop(self.closes)
            m = self.markets[market_id]
            if m.status in (mk.OPEN, mk.HALTED):
                self.transition(m, mk.CLOSED, "close time reached")
                done += 1
        done += lifecycle.finalize_due(self, now)
        if self.dead_man_due:
            done += risk.fire_due(self, now)
        while self.expiries and self.expiries[0][0] <= now:
            expire_ms, order_id = heapq.heappop(self.expiries)
            o = self.orders.get(order_id)
            if o is not None and o.expire_ms == expire_ms:
                self.cancel_resting(o, DONE_EXPIRED)
                done += 1
        return done


def _check_amount(amount_micro: int) -> None:
    if not 0 < amount_micro <= limits.amount_micro_max:
        raise Reject(codes.INVALID_AMOUNT)


def _check_client_id(a: Account, client_id: str) -> None:
    if len(client_id) > limits.client_id_bytes_max:
        raise Reject(codes.CLIENT_ID_TOO_LONG)
    existing = a.client_ids.get(client_id) or a.recent_client_ids.get(client_id)
    if existing is not None:
        raise Reject(codes.DUPLICATE_CLIENT_ORDER_ID, existing)


def _check_special(e: Engine, m: Market, action: int, size: int, order_type: int, tif: int,
                   flags: int, spend_micro: int) -> tuple[int, int]:
    """Checks for market orders, spend orders and flags; returns (size, time in force)."""
    if spend_micro:
        if order_type != MARKET or action != BUY or size or flags & FLAG_REDUCE_ONLY:
            raise Reject(codes.INVALID_ORDER, "spend is for market buys without a size")
        _check_amount(spend_micro)
        size = m.size_max
    elif not 1 <= size <= m.size_max:
        raise Reject(codes.SIZE_OUT_OF_RANGE)
    if order_type == MARKET:
        if flags & FLAG_POST_ONLY:
            raise Reject(codes.INVALID_ORDER, "a market order cannot be post-only")
        return size, FOK if tif == FOK else IOC
    if flags & FLAG_POST_ONLY and tif in (IOC, FOK):
        raise Reject(codes.INVALID_ORDER, "post-only needs GTC or GTD")
    return size, tif


def _protection_index(c: Contract, side: int) -> int:
    """Worst price of a market order given none: the best opposite price plus a fixed band."""
    band = limits.slippage_micro_default // c.tick
    best_ask, best_bid = c.best_ask, c.best_bid
    p = c.market.pool
    if p is not None:  # the pool's best price counts as the best opposite price
        best = pool.best_level(pool.View(p, c), side == BID, c.tick, c.levels)
        best_ask, best_bid = (min(best_ask, best), best_bid) if side == BID else \
            (best_ask, max(best_bid, best))
    if side == BID:
        if best_ask >= c.levels:
            raise Reject(codes.NO_LIQUIDITY)
        return min(c.levels - 1, best_ask + band)
    if best_bid <= 0:
        raise Reject(codes.NO_LIQUIDITY)
    return max(1, best_bid - band)


def end_reason(remaining: int, stop: str, tif: int, order_type: int) -> str:
    """Why an order that has just matched leaves (ORDER_DONE's reason), or "" if it rests."""
    if remaining == 0:
        return DONE_FILLED
    if stop:
        return DONE_IOC if stop == "spent" else stop
    if tif >= IOC or order_type == MARKET:
        return DONE_IOC
    return ""


__all__ = ["Engine", "Result", "ASK"]
