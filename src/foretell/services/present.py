"""Engine and store values as API JSON: prices "0.57", amounts "12.500000", names not ints."""

from __future__ import annotations

from typing import Any

from foretell.domain import events as ev
from foretell.domain.markets import STATUS_NAMES
from foretell.domain.orders import (
    ACTION_NAMES,
    FILL_KIND_NAMES,
    OUTCOME_NAMES,
    TIF_NAMES,
    TRIGGER_NAMES,
)
from foretell.domain.units import MICRO, format_micro, format_price


def price(micro: int | None) -> str | None:
    """A price per share with at least two decimals and no trailing zeros beyond them."""
    return None if micro is None else format_price(micro)


def amount(micro: int | None) -> str | None:
    return None if micro is None else format_micro(micro)


def own_price(yes_price_micro: int, outcome: int) -> int:
    return yes_price_micro if outcome == 0 else MICRO - yes_price_micro


def order_from_outcome(events: list[ev.Event], order_id: int) -> dict[str, Any]:
    """The state of one order as the command that placed or changed it left it."""
    view: dict[str, Any] = {"id": order_id, "status": "open", "fills": []}
    filled = notional = fees = 0
    # By exact class (events are never subclassed): a failed isinstance costs the metaclass's
    # __instancecheck__, and most of an order's events (balances, positions, book levels) fail
    # every test.
    for e in events:
        if type(e) is ev.OrderAccepted:
            if e.order == order_id:
                view.update({
                    "account_id": e.account, "contract_id": e.contract,
                    "outcome": OUTCOME_NAMES[e.outcome], "side": ACTION_NAMES[e.action],
                    "type": ("limit", "market")[e.order_type], "price": price(e.price_micro),
                    "size": e.size, "remaining": e.size, "tif": TIF_NAMES[e.tif],
                    "post_only": bool(e.flags & 1), "reduce_only": bool(e.flags & 2),
                    "client_order_id": e.client_id or None, "created_at_ms": e.ts_ms,
                })
        elif type(e) is ev.Fill:
            if order_id in (e.taker_order, e.maker_order):
                taker = e.taker_order == order_id
                outcome = e.taker_outcome if taker else e.maker_outcome
                fee = e.taker_fee_micro if taker else e.maker_fee_micro
                own = own_price(e.yes_price_micro, outcome)
                filled += e.size
                notional += own * e.size
                fees += fee
                view["fills"].append({"price": price(own), "size": e.size, "fee": amount(fee),
                                      "liquidity": "taker" if taker else "maker",
                                      "kind": FILL_KIND_NAMES[e.kind]})
        elif type(e) is ev.OrderAmended:
            if e.order == order_id:
                view.update({"price": price(e.price_micro), "remaining": e.remaining})
        elif type(e) is ev.OrderDone:
            if e.order == order_id:
                view.update({"status": "filled" if e.reason == "filled" else "cancelled",
                             "reason": e.reason, "remaining": e.remaining})
    if filled:
        view["filled"] = filled
        view["avg_price"] = price(notional // filled)
        view["fees"] = amount(fees)
        if view.get("remaining") is not None and view["status"] == "open":
            view["remaining"] = max(0, view["remaining"] - filled)
    else:
        view.setdefault("filled", 0)
        view["avg_price"] = None
        view["fees"] = amount(0)
    return view


def live_order(o: Any) -> dict[str, Any]:
    """A resting order straight from the engine."""
    return {
        "id": o.id, "account_id": o.account.id, "contract_id": o.contract.id,
        "market_id": o.contract.market.id, "outcome": OUTCOME_NAMES[o.outcome],
        "side": ACTION_NAMES[o.action], "type": ("limit", "market")[o.order_type],
        "price": price(o.out_price), "size": o.size, "filled": o.filled,
        "remaining": o.remaining, "status": "open", "tif": TIF_NAMES[o.tif],
        "post_only": bool(o.flags & 1), "reduce_only": bool(o.flags & 2),
        "client_order_id": o.client_id or None, "created_at_ms": o.ts_ms,
        "reserved": amount(o.reserved), "expire_at_ms": o.expire_ms or None,
        "avg_price": price(o.notional // o.filled) if o.filled else None,
        "fees": amount(o.fee_charged),
    }


def live_trigger(t: Any) -> dict[str, Any]:
    tick = t.contract.tick
    yes_level = t.level_i * tick
    return {
        "id": t.id, "contract_id": t.contract.id, "market_id": t.contract.market.id,
        "outcome": OUTCOME_NAMES[t.outcome], "kind": TRIGGER_NAMES[t.kind], "size": t.size,
        "trigger_price": None if t.kind == 2 else price(own_price(yes_level, t.outcome)),
        "trail": amount(t.trail_i * tick) if t.kind == 2 else None,
        "limit_price": price(own_price(t.limit_i * tick, t.outcome)) if t.limit_i else None,
        "oco_with": t.oco.id if t.oco else None, "status": "live",
        "client_order_id": t.client_id or None,
    }


def market_status(status: int) -> str:
    return STATUS_NAMES[status]


_PRICE_WORDS = ("price", "open", "high", "low", "close", "change", "mark", "avg", "fair")


def row(values: dict[str, Any]) -> dict[str, Any]:
    """A store row for the API: `*_micro` integers become decimal strings without the suffix
    (prices like "0.57", amounts like "12.500000"); fill kinds become names."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key.endswith("_micro") and (value is None or isinstance(value, int)):
            name = key[:-6]
            is_price = any(word in name for word in _PRICE_WORDS)
            out[name] = (signed_price(value) if is_price else amount(value))
        elif key == "kind" and isinstance(value, int) and "yes_price_micro" in values:
            out[key] = FILL_KIND_NAMES[value]
        else:
            out[key] = value
    return out


def rows(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row(v) for v in values]


def signed_price(micro: int | None) -> str | None:
    if micro is None:
        return None
    return ("-" + (price(-micro) or "")) if micro < 0 else price(micro)


_ORDER_NAMES = {"client_id": "client_order_id", "created_ms": "created_at_ms",
                "expire_ms": "expire_at_ms", "updated_ms": "updated_at_ms"}


def order_row(values: dict[str, Any]) -> dict[str, Any]:
    """A stored order or fill in the same shape as a live order: names, not small ints."""
    out = row(values)
    for old, new in _ORDER_NAMES.items():
        if old in out:
            out[new] = out.pop(old)
    if isinstance(out.get("outcome"), int):
        out["outcome"] = OUTCOME_NAMES[out["outcome"]]
    if isinstance(out.get("action"), int):
        out["side"] = ACTION_NAMES[out.pop("action")]
    if isinstance(out.get("order_type"), int):
        out["type"] = ("limit", "market")[out.pop("order_type")]
    if isinstance(out.get("tif"), int):
        out["tif"] = TIF_NAMES[out["tif"]]
    if isinstance(out.get("flags"), int):
        flags = out.pop("flags")
        out["post_only"], out["reduce_only"] = bool(flags & 1), bool(flags & 2)
    if out.get("client_order_id") == "":
        out["client_order_id"] = None
    return out


def order_rows(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [order_row(v) for v in values]
