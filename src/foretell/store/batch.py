"""The effects of a run of outcomes on the read model, gathered in memory before one write.

`Batch` turns engine events into rows: new rows to insert, loaded rows it mutated, and running
deltas (volumes, fees, candles) that the writer applies with SQL arithmetic. It reads nothing
from the database itself: the projector hands it what already exists (`Loaded`).

Events are handled in the engine's order, with one exception: the engine records a maker's
NETTED event just before the FILL that caused it, so such a NETTED is handled right after its
FILL (cost basis must see the shares arrive before they merge).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.markets import SETTLED, STATUS_NAMES
from foretell.domain.orders import ACTION_NAMES, BUY, DONE_FILLED, GTD, OUTCOME_NAMES, YES
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.store import costbasis
from foretell.store.costbasis import Holding
from foretell.store.schema import CANDLE_INTERVALS_S

log = logging.getLogger(__name__)
Row = dict[str, Any]
Key = tuple[int, int]

# Trigger endings that are cancellations; any other reason is a refusal when it fired.
_TRIGGER_CANCELLED = frozenset({"cancelled", "oco", "market_closed", "market_settled"})


@dataclass(slots=True)
class PositionState:
    holding: Holding = field(default_factory=Holding)
    yes_reserved: int = 0
    no_reserved: int = 0
    exists: bool = False  # a row is already stored
    dirty: bool = False
    ts_ms: int = 0
    seq: int = 0


@dataclass(slots=True)
class Loaded:
    """What the database already holds for the keys a batch touches."""

    orders: dict[int, Row] = field(default_factory=dict)
    positions: dict[Key, PositionState] = field(default_factory=dict)
    market_of: dict[int, int] = field(default_factory=dict)  # contract id -> market id


class Batch:
    def __init__(self, loaded: Loaded) -> None:
        self.market_of = loaded.market_of
        self.orders = loaded.orders  # id -> row (new or loaded; mutated in place)
        self.new_orders: set[int] = set()
        self.dirty_orders: set[int] = set()
        self.positions = loaded.positions
        self.new_markets: dict[int, Row] = {}
        self.new_contracts: list[Row] = []
        self.market_updates: dict[int, Row] = {}
        self.market_deltas: dict[int, list[int]] = {}  # id -> [volume, fees, updated_ms]
        self.contract_deltas: dict[int, list[int]] = {}  # id -> [last price, volume]
        self.market_events: list[Row] = []
        self.proposed: dict[int, int] = {}  # market -> winner proposed in this batch
        self.winner_from_proposal: set[int] = set()  # settled on the stored proposal
        self.contract_names: list[Row] = []  # (market_id, idx, name) of edited drafts
        self.rejections: list[Row] = []
        self.trades: list[Row] = []
        self.fills: list[tuple[int, Row]] = []  # (index into trades, row without trade_id)
        self.candles: dict[tuple[int, int, int], list[int]] = {}
        self.balances: dict[int, Row] = {}
        self.cash: list[Row] = []
        self.settlements: list[Row] = []
        self.new_triggers: dict[int, Row] = {}
        self.trigger_updates: dict[int, Row] = {}
        # Risk controls (order groups, dead-man's switches), in event order: (table, op, row)
        self.risk_rows: list[tuple[str, str, Row]] = []
        self.anomalies = 0  # events that did not agree with the stored state (logged)
        self.last_seq = 0

    def add(self, outcome: Outcome) -> None:
        seq = outcome.seq
        self.last_seq = seq
        for e in _in_cost_order(outcome.events):
            handler = _HANDLERS.get(type(e))
            if handler is not None:
                handler(self, outcome, e)

    # -- markets ------------------------------------------------------------------------------

    def _market_created(self, o: Outcome, e: ev.MarketCreated) -> None:
        ts, market, contract_ids = e.ts_ms, e.market, e.contracts
        c = o.command
        if not isinstance(c, cmd.CreateMarket) or c.market != market:
            self._anomaly("MARKET_CREATED %d from %s", market, type(c).__name__)
            c = cmd.CreateMarket(ts, market, 2 if len(contract_ids) == 1 else len(contract_ids))
        row = market_row(c, ts)
        self.new_markets[market] = row
        names = json.loads(row["outcomes"])
        for idx, contract in enumerate(contract_ids):
            self.market_of[contract] = market
            self.new_contracts.append({
                "id": contract, "market_id": market, "idx": idx, "name": names[idx][:256],
                "last_price_micro": None, "volume_shares": 0, "prev_day_price_micro": None,
            })

    def _market_row(self, market: int) -> Row:
        """The row to change: the new one if created in this batch, else the update to make."""
        row = self.new_markets.get(market)
        if row is None:
            row = self.market_updates.setdefault(market, {"id": market})
        return row

    def _timeline(self, o: Outcome, ts: int, market: int, kind: str, reason: str,
                  actor: int = 0, status: str | None = None, action: str | None = None,
                  text: str | None = None) -> None:
        self.market_events.append({
            "seq": o.seq, "ts_ms": ts, "market_id": market, "kind": kind, "status": status,
            "action": action, "actor": actor or None, "reason": reason, "text": text,
        })

    def _market_status(self, o: Outcome, e: ev.MarketStatus) -> None:
        ts, market, status, reason, actor = e.ts_ms, e.market, e.status, e.reason, e.actor
        name = STATUS_NAMES[status]
        row = self._market_row(market)
        row["status"], row["updated_ms"] = name, ts
        if status == SETTLED:
            self._settled(o.command, market, row)
        self._timeline(o, ts, market, "status", reason, actor, status=name)

    def _settled(self, c: cmd.Command, market: int, row: Row) -> None:
        """The winner: named by the command that settled, else the proposal that stood."""
        if isinstance(c, cmd.SettleMarket | cmd.DecideDispute):
            row["winner"] = c.winner
        elif market in self.new_markets:
            row["winner"] = row.get("proposed_winner")
        elif market in self.proposed:
            row["winner"] = self.proposed[market]
        else:
            self.winner_from_proposal.add(market)

    def _market_action(self, o: Outcome, e: ev.MarketAction) -> None:
        ts, market, action, actor, reason, text = (e.ts_ms, e.market, e.action, e.actor,
                                                  e.reason, e.text)
        self._timeline(o, ts, market, "action", reason, actor, action=action, text=text or None)
        row = self._market_row(market)
        row["updated_ms"] = ts
        if action == "reassign_creator" and text.isdigit():
            row["creator_id"] = int(text) or None
        if action == "update_draft" and text:
            meta = _meta(text)
            row.update(descriptive_fields(meta))
            names = meta.get("outcomes")
            if isinstance(names, list) and names:
                row["outcomes"] = json.dumps([str(n) for n in names])
                self.contract_names.extend(
                    {"market_id": market, "idx": i, "name": str(n)[:256]}
                    for i, n in enumerate(names))

    def _resolution(self, o: Outcome, e: ev.Resolution) -> None:
        ts, market, winner, actor, evidence, deadline_ms = (
            e.ts_ms, e.market, e.winner, e.actor, e.evidence, e.dispute_deadline_ms)
        self.proposed[market] = winner
        row = self._market_row(market)
        row["proposed_winner"], row["dispute_deadline_ms"] = winner, deadline_ms
        self._timeline(o, ts, market, "resolution", f"outcome {winner} proposed", actor,
                       action="propose", text=evidence or None)

    def _bond(self, o: Outcome, e: ev.Bond) -> None:
        """Bonds move the account's cash into the market's pool (> 0) and back out (< 0)."""
        ts, account, amount, kind = e.ts_ms, e.account, e.amount_micro, e.kind
        if account:  # account 0 is the exchange's fee account, not a user
            self.cash.append({"seq": o.seq, "ts_ms": ts, "account_id": account,
                              "amount_micro": -amount, "reason": f"bond_{kind}"[:64]})

    # -- orders -------------------------------------------------------------------------------

    def _order_accepted(self, o: Outcome, e: ev.OrderAccepted) -> None:
        ts, order, account, contract = e.ts_ms, e.order, e.account, e.contract
        outcome, action, order_type, price, size = (e.outcome, e.action, e.order_type,
                                                    e.price_micro, e.size)
        tif, flags, client_id = e.tif, e.flags, e.client_id
        c = o.command
        expire_ms = group = None
        if type(c) is cmd.PlaceOrder and o.value == order:
            expire_ms = c.expire_ms if tif == GTD else None
            group = c.group or None
        self.orders[order] = {
            "id": order, "account_id": account, "contract_id": contract,
            "market_id": self.market_of[contract], "outcome": outcome, "action": action,
            "order_type": order_type, "price_micro": price, "size": size, "filled": 0,
            "remaining": size, "status": "open", "reason": "accepted", "tif": tif,
            "flags": flags, "client_id": client_id, "expire_ms": expire_ms, "trigger_id": None,
            "group_id": group,
            "notional_micro": 0, "fees_micro": 0, "created_ms": ts, "updated_ms": ts,
            "created_seq": o.seq, "updated_seq": o.seq,
        }
        self.new_orders.add(order)

    def _order(self, order: int, ts: int, seq: int) -> Row | None:
        row = self.orders.get(order)
        if row is None:
            self._anomaly("order %d is not stored", order)
            return None
        row["updated_ms"], row["updated_seq"] = ts, seq
        if order not in self.new_orders:
            self.dirty_orders.add(order)
        return row

    def _order_done(self, o: Outcome, e: ev.OrderDone) -> None:
        ts, order, reason, filled, remaining = (e.ts_ms, e.order, e.reason, e.filled,
                                                e.remaining)
        row = self._order(order, ts, o.seq)
        if row is not None:
            row["status"] = "filled" if reason == DONE_FILLED else "cancelled"
            row["reason"], row["filled"], row["remaining"] = reason, filled, remaining

    def _order_amended(self, o: Outcome, e: ev.OrderAmended) -> None:
        ts, order, price, remaining = e.ts_ms, e.order, e.price_micro, e.remaining
        row = self._order(order, ts, o.seq)
        if row is not None:
            row["price_micro"], row["remaining"], row["reason"] = price, remaining, "amended"

    def _order_rejected(self, o: Outcome, e: ev.OrderRejected) -> None:
        ts, account, contract, client_id, code = (e.ts_ms, e.account, e.contract, e.client_id,
                                                  e.code)
        self.rejections.append({"seq": o.seq, "ts_ms": ts, "account_id": account,
                                "contract_id": contract, "client_id": client_id, "code": code})

    # -- trades -------------------------------------------------------------------------------

    def _fill(self, o: Outcome, e: ev.Fill) -> None:
        ts, contract, yes_price, size, kind = (e.ts_ms, e.contract, e.yes_price_micro, e.size,
                                              e.kind)
        t_order, t_account, t_outcome, t_action, t_fee = (
            e.taker_order, e.taker_account, e.taker_outcome, e.taker_action, e.taker_fee_micro)
        m_order, m_account, m_outcome, m_action, m_fee = (
            e.maker_order, e.maker_account, e.maker_outcome, e.maker_action, e.maker_fee_micro)
        trade = len(self.trades)
        self.trades.append({
            "seq": o.seq, "ts_ms": ts, "contract_id": contract, "yes_price_micro": yes_price,
            "size": size, "kind": kind, "taker_order": t_order, "maker_order": m_order,
            "taker_side": f"{ACTION_NAMES[t_action]}_{OUTCOME_NAMES[t_outcome]}",
        })
        sides = (("taker", t_order, t_account, t_outcome, t_action, t_fee),
                 ("maker", m_order, m_account, m_outcome, m_action, m_fee))
        for liquidity, order, account, outcome, action, fee in sides:
            price = yes_price if outcome == YES else MICRO - yes_price
            self.fills.append((trade, {
                "seq": o.seq, "ts_ms": ts, "account_id": account, "order_id": order,
                "contract_id": contract, "outcome": outcome, "action": action,
                "price_micro": price, "size": size, "fee_micro": fee, "liquidity": liquidity,
            }))
            # Order 0 is a market's liquidity pool (a maker with no order): nothing to update.
            row = self._order(order, ts, o.seq) if order else None
            if row is not None:
                row["filled"] += size
                row["remaining"] -= size
                row["notional_micro"] += price * size
                row["fees_micro"] += fee
                if row["remaining"] > 0:
                    row["reason"] = "partially_filled"
            h = self._position(account, contract, ts, o.seq).holding
            trade_side = costbasis.buy if action == BUY else costbasis.sell
            trade_side(h, outcome, size, price, fee)
        self._tape(ts, contract, yes_price, size, t_fee + m_fee)

    def _tape(self, ts: int, contract: int, yes_price: int, size: int, fees: int) -> None:
        """Running totals of a fill: contract, market and the three candle intervals."""
        delta = self.contract_deltas.setdefault(contract, [0, 0])
        delta[0] = yes_price
        delta[1] += size
        market = self.market_of[contract]
        totals = self.market_deltas.setdefault(market, [0, 0, ts])
        totals[0] += size
        totals[1] += fees
        totals[2] = ts
        for interval_s in CANDLE_INTERVALS_S:
            span_ms = interval_s * 1_000
            key = (contract, interval_s, ts - ts % span_ms)
            bar = self.candles.get(key)
            if bar is None:
                self.candles[key] = [yes_price, yes_price, yes_price, yes_price, size, 1]
            else:
                bar[1] = max(bar[1], yes_price)
                bar[2] = min(bar[2], yes_price)
                bar[3] = yes_price
                bar[4] += size
                bar[5] += 1

    # -- ledger -------------------------------------------------------------------------------

    def _position(self, account: int, contract: int, ts: int, seq: int) -> PositionState:
        key = (account, contract)
        p = self.positions.get(key)
        if p is None:
            p = self.positions[key] = PositionState()
        p.dirty, p.ts_ms, p.seq = True, ts, seq
        return p

    def _netted(self, o: Outcome, e: ev.Netted) -> None:
        ts, account, contract, pairs = e.ts_ms, e.account, e.contract, e.pairs
        costbasis.net(self._position(account, contract, ts, o.seq).holding, pairs)

    def _payout(self, o: Outcome, e: ev.Payout) -> None:
        ts, market, contract, account = e.ts_ms, e.market, e.contract, e.account
        yes_shares, no_shares, amount = e.yes_shares, e.no_shares, e.amount_micro
        self.settlements.append({
            "seq": o.seq, "ts_ms": ts, "market_id": market, "contract_id": contract,
            "account_id": account, "yes_shares": yes_shares, "no_shares": no_shares,
            "amount_micro": amount,
        })
        p = self._position(account, contract, ts, o.seq)
        if not costbasis.reconcile(p.holding, yes_shares, no_shares):
            self._anomaly("payout shares of %d in %d differ", account, contract)
        costbasis.payout(p.holding, amount)

    def _position_state(self, o: Outcome, e: ev.Position) -> None:
        ts, account, contract = e.ts_ms, e.account, e.contract
        yes_shares, no_shares = e.yes_shares, e.no_shares
        yes_reserved, no_reserved = e.yes_reserved, e.no_reserved
        p = self._position(account, contract, ts, o.seq)
        if not costbasis.reconcile(p.holding, yes_shares, no_shares):
            self._anomaly("position of %d in %d differs from fills", account, contract)
        p.yes_reserved, p.no_reserved = yes_reserved, no_reserved

    def _balance(self, o: Outcome, e: ev.Balance) -> None:
        ts, account, free, reserved = e.ts_ms, e.account, e.free_micro, e.reserved_micro
        self.balances[account] = {"account_id": account, "free_micro": free,
                                  "reserved_micro": reserved, "updated_ms": ts,
                                  "updated_seq": o.seq}

    def _cash(self, o: Outcome, e: ev.Cash) -> None:
        ts, account, amount, reason = e.ts_ms, e.account, e.amount_micro, e.reason
        self.cash.append({"seq": o.seq, "ts_ms": ts, "account_id": account,
                          "amount_micro": amount, "reason": reason})

    def _converted(self, o: Outcome, e: ev.Converted) -> None:
        ts, account, outcome, size = e.ts_ms, e.account, e.outcome, e.size
        to_no, contracts = e.to_no, e.contracts
        if outcome < 0:  # a pool merging NO sets: no cost basis is kept for pools
            return
        source = self._position(account, contracts[outcome], ts, o.seq).holding
        others = [self._position(account, c, ts, o.seq).holding for c in contracts
                  if c != contracts[outcome]]
        if to_no:
            costbasis.convert_back(others, source, YES, 1 - YES, size)
        else:
            costbasis.convert(source, others, 1 - YES, YES, size)

    # -- triggers -----------------------------------------------------------------------------

    def _trigger_placed(self, o: Outcome, e: ev.TriggerPlaced) -> None:
        ts, trigger, account, contract = e.ts_ms, e.trigger, e.account, e.contract
        outcome, kind, trigger_micro, size = e.outcome, e.kind, e.trigger_micro, e.size
        limit_micro, oco, client_id = e.limit_micro, e.oco, e.client_id
        self.new_triggers[trigger] = {
            "id": trigger, "account_id": account, "contract_id": contract, "outcome": outcome,
            "kind": kind, "trigger_micro": trigger_micro, "size": size,
            "limit_micro": limit_micro or None, "oco": oco or None, "client_id": client_id,
            "status": "live", "reason": "placed", "order_id": None, "created_ms": ts,
            "updated_ms": ts,
        }

    def _trigger_row(self, trigger: int, ts: int) -> Row:
        row = self.new_triggers.get(trigger)
        if row is None:
            row = self.trigger_updates.setdefault(trigger, {"id": trigger})
        row["updated_ms"] = ts
        return row

    def _trigger_fired(self, o: Outcome, e: ev.TriggerFired) -> None:
        ts, trigger, order = e.ts_ms, e.trigger, e.order
        row = self._trigger_row(trigger, ts)
        row["status"], row["reason"], row["order_id"] = "fired", "fired", order
        order_row = self._order(order, ts, o.seq)
        if order_row is not None:
            order_row["trigger_id"] = trigger

    def _trigger_done(self, o: Outcome, e: ev.TriggerDone) -> None:
        ts, trigger, reason = e.ts_ms, e.trigger, e.reason
        row = self._trigger_row(trigger, ts)
        row["status"] = "cancelled" if reason in _TRIGGER_CANCELLED else "failed"
        row["reason"] = reason

    def _anomaly(self, message: str, *args: object) -> None:
        self.anomalies += 1
        log.warning("projector at seq %d: " + message, self.last_seq, *args)


# Keyed by the event's class: `add` dispatches on type(e), never on a code.
_HANDLERS: dict[type, Callable[[Batch, Outcome, Any], None]] = {
    ev.MarketCreated: Batch._market_created,
    ev.MarketStatus: Batch._market_status,
    ev.MarketAction: Batch._market_action,
    ev.Resolution: Batch._resolution,
    ev.Bond: Batch._bond,
    ev.OrderAccepted: Batch._order_accepted,
    ev.OrderDone: Batch._order_done,
    ev.OrderAmended: Batch._order_amended,
    ev.OrderRejected: Batch._order_rejected,
    ev.Fill: Batch._fill,
    ev.Netted: Batch._netted,
    ev.Payout: Batch._payout,
    ev.Position: Batch._position_state,
    ev.Balance: Batch._balance,
    ev.Cash: Batch._cash,
    ev.TriggerPlaced: Batch._trigger_placed,
    ev.TriggerFired: Batch._trigger_fired,
    ev.TriggerDone: Batch._trigger_done,
    ev.Converted: Batch._converted,
}


# -- risk controls: order groups and dead-man's switches; their tables are projections


def _group_created(b: Batch, o: Outcome, e: ev.GroupCreated) -> None:
    b.risk_rows.append(("order_groups", "upsert", {
        "id": e.group, "account_id": e.account, "contracts_limit": e.contracts_limit,
        "window_ms": e.window_ms, "triggered": False, "created_ms": e.ts_ms}))


def _group_triggered(b: Batch, o: Outcome, e: ev.GroupReset | ev.GroupTriggered) -> None:
    b.risk_rows.append(("order_groups", "update", {
        "id": e.group, "triggered": type(e) is ev.GroupTriggered}))


def _dead_man_armed(b: Batch, o: Outcome, e: ev.DeadManArmed) -> None:
    b.risk_rows.append(("dead_man_switches", "upsert", {
        "account_id": e.account, "due_ms": e.due_ms, "timeout_s": e.timeout_ms // 1000}))


def _dead_man_gone(b: Batch, o: Outcome, e: ev.DeadManDisarmed | ev.DeadManFired) -> None:
    b.risk_rows.append(("dead_man_switches", "delete", {"account_id": e.account}))


_HANDLERS.update({
    ev.GroupCreated: _group_created,
    ev.GroupReset: _group_triggered,
    ev.GroupTriggered: _group_triggered,
    ev.DeadManArmed: _dead_man_armed,
    ev.DeadManDisarmed: _dead_man_gone,
    ev.DeadManFired: _dead_man_gone,
})


def _in_cost_order(events: list[ev.Event]) -> list[ev.Event]:
    """The events with each maker Netted moved after the Fill that it precedes."""
    out = list(events)
    i = 0
    while i < len(out) - 1:
        e, nxt = out[i], out[i + 1]
        if (type(e) is ev.Netted and type(nxt) is ev.Fill and nxt.maker_account == e.account
                and nxt.contract == e.contract):
            out[i], out[i + 1] = nxt, e
            i += 1  # this NETTED belongs to that FILL only
        i += 1
    return out


def market_row(c: cmd.CreateMarket, ts_ms: int) -> Row:
    """The markets row of a CreateMarket, descriptive fields from its `meta` JSON (defaults
    for anything missing or malformed, so that no market is ever left unprojected)."""
    meta = _meta(c.meta)
    count = c.outcomes
    default_names = ["Yes", "No"] if count == 2 else [f"Outcome {i + 1}" for i in range(count)]
    names = meta.get("outcomes")
    if not (isinstance(names, list) and len(names) == count):
        names = default_names
    fields = {"question": f"Market {c.market}", "description": "", "category": "",
              "tags": "[]", "rules": "{}", "resolution_deadline_ms": None}
    fields.update(descriptive_fields(meta))
    return {
        "id": c.market,
        "slug": str(meta.get("slug") or f"market-{c.market}")[:128],
        **fields,
        "kind": "binary" if count == 2 else "categorical",
        "outcomes": json.dumps([str(n) for n in names]),
        "status": STATUS_NAMES[0],
        "tick_micro": c.tick_micro,
        "size_max": c.size_max,
        "maker_fee_ppm": c.maker_fee_ppm,
        "taker_fee_ppm": c.taker_fee_ppm,
        "creator_id": c.creator or None,
        "creator_share_ppm": c.creator_share_ppm,
        "created_by": c.actor or None,
        "close_ms": c.close_ms or meta.get("close_ms") or None,
        "void_yes_micro": c.void_yes_micro,
        "dispute_window_ms": c.dispute_window_ms,
        "dispute_bond_micro": c.dispute_bond_micro,
        "dispute_reward_ppm": c.dispute_reward_ppm,
        "proposed_winner": None,
        "dispute_deadline_ms": None,
        "created_ms": ts_ms,
        "updated_ms": ts_ms,
        "winner": None,
        "volume_shares": 0,
        "fees_micro": 0,
    }


def descriptive_fields(meta: dict[str, Any]) -> Row:
    """The market columns that a meta JSON object sets (only the keys it has, cleaned)."""
    out: Row = {}
    for key, top in (("question", None), ("description", None), ("category", 64)):
        if key in meta and meta[key] is not None:
            out[key] = str(meta[key])[:top] if top else str(meta[key])
    if isinstance(meta.get("tags"), list):
        out["tags"] = json.dumps([str(tag) for tag in meta["tags"]])
    if "rules" in meta:
        out["rules"] = json.dumps(meta["rules"])
    deadline = meta.get("resolution_deadline_ms")
    if type(deadline) is int and deadline > 0:
        out["resolution_deadline_ms"] = deadline
    return out


def _meta(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("market meta is not JSON: %.80r", text)
        return {}
    return value if isinstance(value, dict) else {}
