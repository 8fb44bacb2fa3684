"""Engine state to and from plain data (lists of ints and strings), and the state hash.

The plain form is canonical: accounts, markets and triggers sorted by id, orders in book order
(side, level, time priority). Derived indexes (expiry and close heaps, id maps) are rebuilt on
restore, so two engines with the same live state have the same bytes and the same hash.
"""

from __future__ import annotations

import hashlib
import heapq
from typing import Any

import msgspec

from foretell.domain import markets as mk
from foretell.domain.orders import BID, GTD, TRIGGER_TRAILING
from foretell.engine import book, risk
from foretell.engine.convert import converter_id
from foretell.engine.engine import Engine
from foretell.engine.pool import pool_account_id
from foretell.engine.state import Account, Contract, Market, Order, Pool, Trigger

FORMAT_VERSION = 2

_ORDER_FIELDS = ("id", "side", "outcome", "action", "price_i", "size", "remaining", "filled",
                 "reserved", "fee_basis", "fee_charged", "notional", "spend_rem", "order_type",
                 "tif", "expire_ms", "flags", "stp", "client_id", "ts_ms")


def to_plain(e: Engine) -> dict[str, Any]:
    plain = {
        "version": FORMAT_VERSION,
        "counters": [e.next_id, e.next_contract, e.fees_micro, e.deposits_micro, e.now_ms],
        "accounts": [_account(e.accounts[k]) for k in sorted(e.accounts)],
        "markets": [_market(e.markets[k]) for k in sorted(e.markets)],
        "contracts": [_contract(e.contracts[k]) for k in sorted(e.contracts)],
        "triggers": [_trigger(e.triggers[k]) for k in sorted(e.triggers)],
    }
    controls = risk.to_plain(e)
    if controls is not None:  # only once used, so older snapshots keep their bytes and hash
        plain["risk"] = controls
    if e.suspended:  # likewise
        plain["suspended"] = sorted(e.suspended)
    return plain


def _account(a: Account) -> list[Any]:
    positions = [[k, *a.positions[k]] for k in sorted(a.positions)]
    return [a.id, a.free, a.reserved, positions, list(a.recent_client_ids.items())]


def _market(m: Market) -> list[Any]:
    row = _market_core(m)
    if m.pool is not None or m.converter is not None:
        # Appended only when present, so markets without them keep their bytes and hash.
        p = m.pool
        row.append(None if p is None else [p.funder, p.subsidy_micro, p.b_micro,
                                           p.fee_share_ppm, p.fees_micro, p.closed,
                                           p.returned_micro, list(p.weights)])
        row.append([m.conv_sets, m.converter is not None])
    return row


def _market_core(m: Market) -> list[Any]:
    return [m.id, m.status, m.tick, m.size_max, m.maker_ppm, m.taker_ppm, m.creator,
            m.creator_share_ppm, m.close_ms, m.void_yes_micro, m.fees_micro,
            m.creator_fees_micro, [c.id for c in m.contracts],
            [m.dispute_window_ms, m.dispute_bond_micro, m.dispute_reward_ppm, m.proposer,
             m.proposed_winner, m.proposal_bond_micro, m.dispute_deadline_ms, m.bonds_micro,
             m.disputes]]


def _contract(c: Contract) -> list[Any]:
    orders = []
    for side in (BID, 1):
        for i in range(c.levels):
            for o in book.level_orders(c, side, i):
                orders.append([o.account.id, *(getattr(o, f) for f in _ORDER_FIELDS)])
    return [c.id, c.market.id, c.index, c.collateral, c.yes_out, c.no_out, c.last_i, c.volume,
            orders]


def _trigger(t: Trigger) -> list[Any]:
    return [t.id, t.account.id, t.contract.id, t.outcome, t.kind, t.level_i, t.trail_i, t.best_i,
            t.size, t.limit_i, t.oco.id if t.oco else 0, t.client_id]


def from_plain(data: dict[str, Any]) -> Engine:
    if data["version"] != FORMAT_VERSION:
        raise ValueError(f"snapshot format {data['version']} is not {FORMAT_VERSION}")
    e = Engine()
    e.next_id, e.next_contract, e.fees_micro, e.deposits_micro, now_ms = data["counters"]
    e.set_clock(now_ms)
    for account_id, free, reserved, positions, recent in data["accounts"]:
        a = e.accounts[account_id] = Account(account_id)
        a.free, a.reserved = free, reserved
        for contract_id, *pos in positions:
            a.positions[contract_id] = list(pos)
        a.recent_client_ids = dict((k, v) for k, v in recent)
    for row in data["markets"]:
        m = Market(*row[:10])
        m.fees_micro, m.creator_fees_micro = row[10], row[11]
        (m.dispute_window_ms, m.dispute_bond_micro, m.dispute_reward_ppm, m.proposer,
         m.proposed_winner, m.proposal_bond_micro, m.dispute_deadline_ms, m.bonds_micro,
         disputes) = row[13]
        m.disputes = [list(d) for d in disputes]
        if len(row) > 14:
            _restore_pool(e, m, row[14], row[15])
        e.markets[m.id] = m
        if m.close_ms and m.status in (mk.OPEN, mk.HALTED):
            heapq.heappush(e.closes, (m.close_ms, m.id))
        if m.status == mk.PROPOSED:
            heapq.heappush(e.resolutions, (m.dispute_deadline_ms, m.id))
    for row in data["contracts"]:
        _restore_contract(e, row)
    for row in data["triggers"]:
        _restore_trigger(e, row)
    for row in data["triggers"]:
        if row[10]:
            e.triggers[row[0]].oco = e.triggers[row[10]]
    risk.from_plain(e, data.get("risk"))
    e.suspended = set(data.get("suspended", ()))
    for account_id in e.suspended:
        if account_id in e.accounts:
            e.accounts[account_id].suspended = True
    return e


def _restore_pool(e: Engine, m: Market, p: list[Any] | None, conv: list[Any]) -> None:
    if p is not None:
        funder, subsidy, b, fee_share, fees, closed, returned, weights = p
        account = e.accounts.get(pool_account_id(m.id)) or Account(pool_account_id(m.id))
        m.pool = Pool(m, account, funder, subsidy, b, fee_share, list(weights))
        m.pool.fees_micro, m.pool.closed, m.pool.returned_micro = fees, closed, returned
    m.conv_sets, has_converter = conv
    if has_converter:
        m.converter = e.accounts[converter_id(m.id)]


def _restore_contract(e: Engine, row: list[Any]) -> None:
    contract_id, market_id, index, collateral, yes_out, no_out, last_i, volume, orders = row
    m = e.markets[market_id]
    c = Contract(contract_id, m, index)
    c.collateral, c.yes_out, c.no_out, c.last_i, c.volume = collateral, yes_out, no_out, last_i, volume
    m.contracts.append(c)
    e.contracts[c.id] = c
    for a in e.accounts.values():
        pos = a.positions.get(c.id)
        if pos is not None:
            c.positions[a.id] = pos
    for account_id, *fields in orders:
        a = e.accounts[account_id]
        values = dict(zip(_ORDER_FIELDS, fields, strict=True))
        o = Order(values["id"], a, c, values["side"], values["outcome"], values["action"],
                  values["price_i"], values["size"], values["order_type"], values["tif"],
                  values["expire_ms"], values["flags"], values["stp"], values["client_id"],
                  values["ts_ms"])
        for name in ("remaining", "filled", "reserved", "fee_basis", "fee_charged", "notional",
                     "spend_rem"):
            setattr(o, name, values[name])
        book.link(c, o)
        e.orders[o.id] = o
        a.orders[o.id] = o
        if o.client_id:
            a.client_ids[o.client_id] = o.id
        if o.tif == GTD:
            heapq.heappush(e.expiries, (o.expire_ms, o.id))
    for a in e.accounts.values():  # keep each account's orders in id order, as placed
        a.orders = dict(sorted(a.orders.items()))


def _restore_trigger(e: Engine, row: list[Any]) -> None:
    (trigger_id, account_id, contract_id, outcome, kind, level_i, trail_i, best_i, size, limit_i,
     _oco, client_id) = row
    a, c = e.accounts[account_id], e.contracts[contract_id]
    t = Trigger(trigger_id, a, c, outcome, kind, level_i, trail_i, size, limit_i, client_id)
    t.best_i = best_i
    e.triggers[t.id] = t
    a.triggers[t.id] = t
    if client_id:
        a.client_ids[client_id] = t.id
    if kind == TRIGGER_TRAILING:
        c.trailing.append(t)
    elif (kind == 0) == (outcome == 0):
        heapq.heappush(c.up, (level_i, t.id, t))
    else:
        heapq.heappush(c.down, (-level_i, t.id, t))


_encoder = msgspec.msgpack.Encoder()


def dumps(e: Engine) -> bytes:
    return _encoder.encode(to_plain(e))


def loads(payload: bytes) -> Engine:
    return from_plain(msgspec.msgpack.decode(payload))


def state_hash(e: Engine) -> str:
    return hashlib.blake2b(dumps(e), digest_size=32).hexdigest()
