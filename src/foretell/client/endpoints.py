"""Every REST endpoint as a flow: a generator that yields `Call`s and returns the result.

A flow never does I/O itself; the sync and async clients drive it (send each call, feed back the
answer, or throw the `ForetellError` into it). Most flows are one call; a few need a second:
`place_order` answers a duplicate client order id with the order that id already made, so a
resend after a lost answer returns the first order instead of creating a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any, Literal, Required, TypedDict, TypeVar
from urllib.parse import quote as _quote

from foretell.client._core import Call, Json
from foretell.client.errors import ForetellError
from foretell.client.units import Price, format_price, to_wire

T = TypeVar("T")
Flow = Generator[Call, Any, T]
JFlow = Generator[Call, Json, Json]  # a flow whose answers are JSON objects
DUPLICATE = "duplicate_client_order_id"


class OrderFields(TypedDict, total=False):
    """The fields of an order, as in POST /orders; prices as decimal text or int micro-USDC."""

    side: Required[Literal["buy", "sell"]]
    outcome: Required[Literal["yes", "no"]]
    market_id: int
    contract_id: int
    outcome_index: int
    type: Literal["limit", "market"]
    price: Price
    size: int
    spend: Price
    tif: Literal["gtc", "gtd", "ioc", "fok"]
    expire_at_ms: int
    post_only: bool
    reduce_only: bool
    stp: Literal["cancel_maker", "cancel_taker", "cancel_both"]
    client_order_id: str
    order_group_id: int


class TriggerFields(TypedDict, total=False):
    """Take-profit and/or stop-loss (one-cancels-other), or a trailing stop, on a position."""

    outcome: Required[Literal["yes", "no"]]
    size: Required[int]
    market_id: int
    contract_id: int
    outcome_index: int
    take_profit: Price
    stop_loss: Price
    trail: Price
    limit_price: Price
    client_order_id: str


class MarketFields(TypedDict, total=False):
    slug: Required[str]
    question: Required[str]
    description: str
    category: str
    tags: list[str]
    outcomes: list[str]
    rules: dict[str, str]
    close_ms: int
    resolution_deadline_ms: int
    tick: Price
    maker_fee_ppm: int
    taker_fee_ppm: int
    creator_id: int
    creator_share_ppm: int
    size_max: int
    subsidy: Price  # USDC for the market's liquidity pool, from the supervisor's balance
    void_yes: Price


class DraftFields(TypedDict, total=False):
    """A creator's market draft with its settlement rules (all needed before submitting)."""

    slug: Required[str]
    question: str
    description: str
    category: str
    tags: list[str]
    outcomes: list[str]
    rules: dict[str, Any]  # resolution_sources (list), resolution_criteria, ambiguity, ...
    close_ms: int
    resolution_deadline_ms: int
    tick: Price
    maker_fee_ppm: int
    taker_fee_ppm: int
    creator_share_ppm: int
    dispute_window_ms: int


_PRICE_FIELDS = frozenset({"price", "spend", "take_profit", "stop_loss", "trail", "limit_price"})
_INT_FIELDS = frozenset({"market_id", "contract_id", "outcome_index", "size", "expire_at_ms",
                         "order_group_id", "close_ms", "resolution_deadline_ms", "maker_fee_ppm",
                         "taker_fee_ppm", "creator_id", "creator_share_ppm", "size_max",
                         "dispute_window_ms"})


def new_client_order_id() -> str:
    return "sdk-" + uuid.uuid4().hex


def _fields(fields: Mapping[str, Any], allowed: Iterable[str]) -> Json:
    """Validate types locally (never floats), convert prices, drop None."""
    known = set(allowed)
    body: Json = {}
    for name, value in fields.items():
        if name not in known:
            raise TypeError(f"unknown field {name!r}")
        if value is None:
            continue
        if name in _PRICE_FIELDS:
            value = to_wire(value, name)
        elif name in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        body[name] = value
    return body


def order_body(fields: Mapping[str, Any], client_order_id: bool = True) -> Json:
    """The JSON body of an order; with a fresh client order id unless one is given."""
    body = _fields(fields, OrderFields.__annotations__)
    for required in ("side", "outcome"):
        if required not in body:
            raise TypeError(f"an order needs {required!r}")
    if client_order_id and "client_order_id" not in body:
        body["client_order_id"] = new_client_order_id()
    return body


def _id(value: int, what: str = "id") -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return str(value)


def _seg(value: str | int) -> str:
    """One path segment, percent-encoded."""
    return _quote(str(value), safe="")


def one(call: Call) -> Flow[Any]:
    return (yield call)


# -- market data -------------------------------------------------------------------------------

def server_time() -> JFlow:
    return (yield Call("GET", "/time", signed=False, retry_safe=True))


def health() -> JFlow:
    return (yield Call("GET", "/health", signed=False, retry_safe=True))


def gateways() -> JFlow:
    return (yield Call("GET", "/gateways", signed=False, retry_safe=True))


def markets(status: str | None = None, category: str | None = None, q: str | None = None,
            cursor: int | None = None, limit: int | None = None) -> JFlow:
    params = {"status": status, "category": category, "q": q, "cursor": cursor, "limit": limit}
    return (yield Call("GET", "/markets", params, retry_safe=True))


def market(ref: int | str) -> JFlow:
    return (yield Call("GET", f"/markets/{_seg(ref)}", retry_safe=True))


def book(contract_id: int, depth: int | None = None) -> JFlow:
    return (yield Call("GET", f"/contracts/{_id(contract_id)}/book", {"depth": depth},
                       retry_safe=True))


def pool(market_id: int, levels: int | None = None) -> JFlow:
    return (yield Call("GET", f"/markets/{_id(market_id)}/pool", {"levels": levels},
                       retry_safe=True))


def implied(market_id: int) -> JFlow:
    return (yield Call("GET", f"/markets/{_id(market_id)}/implied", retry_safe=True))


def fund_pool(market_id: int, subsidy: Price, fee_share_ppm: int | None = None) -> JFlow:
    body: Json = {"subsidy": to_wire(subsidy)}
    if fee_share_ppm is not None:
        body["fee_share_ppm"] = fee_share_ppm
    return (yield Call("POST", f"/markets/{_id(market_id)}/pool", body=body))


def convert(market_id: int, outcome_index: int, size: int,
            direction: Literal["no_to_yes", "yes_to_no"] = "no_to_yes") -> JFlow:
    body = {"outcome_index": outcome_index, "size": size, "direction": direction}
    return (yield Call("POST", f"/markets/{_id(market_id)}/convert", body=body))


def trades(contract_id: int, cursor: int | None = None, limit: int | None = None) -> JFlow:
    return (yield Call("GET", f"/contracts/{_id(contract_id)}/trades",
                       {"cursor": cursor, "limit": limit}, retry_safe=True))


def candles(contract_id: int, interval: str = "1h", start_ms: int | None = None,
            end_ms: int | None = None) -> JFlow:
    return (yield Call("GET", f"/contracts/{_id(contract_id)}/candles",
                       {"interval": interval, "start_ms": start_ms, "end_ms": end_ms},
                       retry_safe=True))


def ticker(contract_id: int) -> JFlow:
    return (yield Call("GET", f"/contracts/{_id(contract_id)}/ticker", retry_safe=True))


# -- orders ------------------------------------------------------------------------------------

def place_order(fields: Mapping[str, Any]) -> JFlow:
    body = order_body(fields)
    try:
        return (yield Call("POST", "/orders", body=body, retry_safe=True))
    except ForetellError as exc:
        if exc.code != DUPLICATE:
            raise
        # The id already made an order (a resend after a lost answer, most likely): return it.
        return (yield Call("GET", f"/orders/client/{_seg(body['client_order_id'])}",
                           retry_safe=True))


def place_orders(orders: Sequence[Mapping[str, Any]]) -> JFlow:
    bodies = [order_body(o) for o in orders]
    answer = yield Call("POST", "/orders/batch", body={"orders": bodies}, retry_safe=True)
    results = answer.get("results", [])
    for i, item in enumerate(results):
        error = item.get("error") or {}
        if not item.get("ok") and error.get("code") == DUPLICATE and i < len(bodies):
            cid = bodies[i]["client_order_id"]
            try:
                existing = yield Call("GET", f"/orders/client/{_seg(cid)}", retry_safe=True)
            except ForetellError:
                continue
            results[i] = {"ok": True, "order": existing, "duplicate": True}
    return answer


def quote(fields: Mapping[str, Any]) -> JFlow:
    body = order_body(fields, client_order_id=False)
    return (yield Call("POST", "/orders/quote", body=body, retry_safe=True))


def orders(status: str | None = None, market_id: int | None = None, cursor: int | None = None,
           limit: int | None = None) -> JFlow:
    params = {"status": status, "market_id": market_id, "cursor": cursor, "limit": limit}
    return (yield Call("GET", "/orders", params, retry_safe=True))


def order(order_id: int) -> JFlow:
    return (yield Call("GET", f"/orders/{_id(order_id)}", retry_safe=True))


def order_by_client_id(client_order_id: str) -> JFlow:
    return (yield Call("GET", f"/orders/client/{_seg(client_order_id)}", retry_safe=True))


def queue_position(order_id: int) -> JFlow:
    return (yield Call("GET", f"/orders/{_id(order_id)}/queue", retry_safe=True))


def amend_order(order_id: int, price: Price | None = None, size: int | None = None) -> JFlow:
    body = _fields({"price": price, "size": size}, ("price", "size"))
    return (yield Call("PATCH", f"/orders/{_id(order_id)}", body=body))


def cancel_order(order_id: int) -> JFlow:
    return (yield Call("DELETE", f"/orders/{_id(order_id)}", retry_safe=True))


def cancel_orders(order_ids: Sequence[int]) -> JFlow:
    ids = [int(_id(i)) for i in order_ids]
    return (yield Call("POST", "/orders/cancel", body={"order_ids": ids}, retry_safe=True))


def cancel_all(market_id: int | None = None) -> JFlow:
    return (yield Call("DELETE", "/orders", {"market_id": market_id}, retry_safe=True))


# -- triggers, order groups, dead-man's switch ---------------------------------------------------

def place_trigger(fields: Mapping[str, Any]) -> JFlow:
    body = _fields(fields, TriggerFields.__annotations__)
    body.setdefault("client_order_id", new_client_order_id())
    cid = body["client_order_id"]
    try:
        return (yield Call("POST", "/triggers", body=body, retry_safe=True))
    except ForetellError as exc:
        if exc.code != DUPLICATE:
            raise
        live = (yield Call("GET", "/triggers", retry_safe=True)).get("triggers", [])
        first = [t for t in live if t.get("client_order_id") == cid]
        if not first:
            raise
        pair = [t for t in live if t.get("id") == first[0].get("oco_with")]
        return {"triggers": first + pair}


def triggers() -> JFlow:
    return (yield Call("GET", "/triggers", retry_safe=True))


def cancel_trigger(trigger_id: int) -> JFlow:
    return (yield Call("DELETE", f"/triggers/{_id(trigger_id)}", retry_safe=True))


def create_order_group(contracts_limit: int, window_s: int = 60) -> JFlow:
    return (yield Call("POST", "/order-groups",
                       body={"contracts_limit": contracts_limit, "window_s": window_s}))


def order_group(group_id: int) -> JFlow:
    return (yield Call("GET", f"/order-groups/{_id(group_id)}", retry_safe=True))


def reset_order_group(group_id: int) -> JFlow:
    return (yield Call("POST", f"/order-groups/{_id(group_id)}/reset", retry_safe=True))


def dead_man_switch(timeout_s: int) -> JFlow:
    return (yield Call("POST", "/dead-man-switch", body={"timeout_s": timeout_s},
                       retry_safe=True))


# -- account and portfolio ---------------------------------------------------------------------

def signup(username: str, password: str, display_name: str | None = None) -> JFlow:
    body = {"username": username, "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    return (yield Call("POST", "/auth/signup", body=body, signed=False))


def login(username: str, password: str) -> JFlow:
    return (yield Call("POST", "/auth/login", body={"username": username, "password": password},
                       retry_safe=True, signed=False))


def logout() -> JFlow:
    return (yield Call("POST", "/auth/logout", retry_safe=True))


def account() -> JFlow:
    return (yield Call("GET", "/account", retry_safe=True))


def api_keys() -> JFlow:
    return (yield Call("GET", "/account/api-keys", retry_safe=True))


def create_api_key(label: str = "", scopes: Sequence[str] = ("read",)) -> JFlow:
    return (yield Call("POST", "/account/api-keys", body={"label": label, "scopes": list(scopes)}))


def revoke_api_key(key_id: str) -> JFlow:
    return (yield Call("DELETE", f"/account/api-keys/{_seg(key_id)}", retry_safe=True))


def balance() -> JFlow:
    return (yield Call("GET", "/portfolio/balance", retry_safe=True))


def positions() -> JFlow:
    return (yield Call("GET", "/portfolio/positions", retry_safe=True))


def fills(cursor: int | None = None, limit: int | None = None) -> JFlow:
    return (yield Call("GET", "/portfolio/fills", {"cursor": cursor, "limit": limit},
                       retry_safe=True))


def settlements() -> JFlow:
    return (yield Call("GET", "/portfolio/settlements", retry_safe=True))


def cash() -> JFlow:
    return (yield Call("GET", "/portfolio/cash", retry_safe=True))


def export_csv() -> Flow[str]:
    text: str = yield Call("GET", "/portfolio/export.csv", retry_safe=True, text=True)
    return text


# -- admin (supervisors) -----------------------------------------------------------------------

def admin_accounts() -> JFlow:
    return (yield Call("GET", "/admin/accounts", retry_safe=True))


def admin_credit(account_id: int, amount: Price, reason: str) -> JFlow:
    body = {"account_id": int(_id(account_id, "account_id")),
            "amount": to_wire(amount, "amount"), "reason": reason}
    return (yield Call("POST", "/admin/credit", body=body))


def admin_suspend(user_id: int, reason: str) -> JFlow:
    path = f"/admin/users/{_id(user_id, 'user_id')}/suspend"
    return (yield Call("POST", path, body={"reason": reason}))


def admin_reinstate(user_id: int, reason: str) -> JFlow:
    path = f"/admin/users/{_id(user_id, 'user_id')}/reinstate"
    return (yield Call("POST", path, body={"reason": reason}))


def _market_body(fields: Mapping[str, Any], allowed: Iterable[str]) -> Json:
    """A market definition; an int tick (micro-USDC) is written as the API spells it."""
    body = _fields({k: v for k, v in fields.items() if k != "tick"}, allowed)
    tick = fields.get("tick")
    if tick is not None:
        body["tick"] = format_price(tick) if isinstance(tick, int) and not isinstance(
            tick, bool) else to_wire(tick, "tick")
    return body


def admin_create_market(fields: Mapping[str, Any]) -> JFlow:
    body = _market_body(fields, MarketFields.__annotations__)
    return (yield Call("POST", "/admin/markets", body=body))


def admin_set_market_status(market_id: int, status: str, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/markets/{_id(market_id)}/status",
                       body={"status": status, "reason": reason}))


def admin_settle(market_id: int, winner_index: int) -> JFlow:
    return (yield Call("POST", f"/admin/markets/{_id(market_id)}/settle",
                       body={"winner_index": winner_index}))


def admin_void(market_id: int, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/markets/{_id(market_id)}/void", body={"reason": reason}))


def admin_audit() -> JFlow:
    return (yield Call("GET", "/admin/audit", retry_safe=True))


# -- creators and the supervised market lifecycle ----------------------------------------------

def creator_apply(profile: str, expertise: str) -> JFlow:
    return (yield Call("POST", "/creators/apply",
                       body={"profile": profile, "expertise": expertise}))


def creator_me() -> JFlow:
    return (yield Call("GET", "/creators/me", retry_safe=True))


def creator_create_market(fields: Mapping[str, Any]) -> JFlow:
    body = _market_body(fields, DraftFields.__annotations__)
    return (yield Call("POST", "/creator/markets", body=body))


def creator_update_market(market_id: int, fields: Mapping[str, Any]) -> JFlow:
    body = _market_body(fields, DraftFields.__annotations__)
    return (yield Call("PUT", f"/creator/markets/{_id(market_id)}", body=body,
                       retry_safe=True))


def creator_submit_market(market_id: int) -> JFlow:
    return (yield Call("POST", f"/creator/markets/{_id(market_id)}/submit"))


def creator_clarify(market_id: int, text: str) -> JFlow:
    return (yield Call("POST", f"/creator/markets/{_id(market_id)}/clarifications",
                       body={"text": text}))


def creator_propose_resolution(market_id: int, winner_index: int, evidence: str) -> JFlow:
    return (yield Call("POST", f"/creator/markets/{_id(market_id)}/resolution",
                       body={"winner_index": winner_index, "evidence": evidence}))


def dispute(market_id: int, reason: str) -> JFlow:
    return (yield Call("POST", f"/markets/{_id(market_id)}/disputes", body={"reason": reason}))


def admin_creator_applications(status: str | None = None) -> JFlow:
    return (yield Call("GET", "/admin/creator-applications", {"status": status},
                       retry_safe=True))


def admin_decide_application(application_id: int, approve: bool, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/creator-applications/{_id(application_id)}/decision",
                       body={"approve": approve, "reason": reason}))


def admin_revoke_creator(user_id: int, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/creators/{_id(user_id)}/revoke",
                       body={"reason": reason}))


def admin_review_queue() -> JFlow:
    return (yield Call("GET", "/admin/review-queue", retry_safe=True))


def admin_review_market(market_id: int, approve: bool, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/markets/{_id(market_id)}/review",
                       body={"approve": approve, "reason": reason}))


def admin_dispute_queue() -> JFlow:
    return (yield Call("GET", "/admin/dispute-queue", retry_safe=True))


def admin_decide_dispute(market_id: int, uphold: bool, winner_index: int,
                         reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/markets/{_id(market_id)}/dispute-decision",
                       body={"uphold": uphold, "winner_index": winner_index, "reason": reason}))


# -- news ---------------------------------------------------------------------------------------

def news(market_id: int | None = None, tag: str | None = None, q: str | None = None,
         since_ms: int | None = None, until_ms: int | None = None, cursor: str | None = None,
         limit: int | None = None) -> JFlow:
    params = {"market_id": market_id, "tag": tag, "q": q, "since_ms": since_ms,
              "until_ms": until_ms, "cursor": cursor, "limit": limit}
    return (yield Call("GET", "/news", params, retry_safe=True))


def news_item(news_id: int) -> JFlow:
    return (yield Call("GET", f"/news/{_id(news_id)}", retry_safe=True))


def post_news(title: str, summary: str = "", link: str | None = None,
              tags: Sequence[str] = (), kind: str = "analysis",
              market_ids: Sequence[int] = ()) -> JFlow:
    return (yield Call("POST", "/news", body={
        "title": title, "summary": summary, "link": link, "tags": list(tags), "kind": kind,
        "market_ids": list(market_ids)}))


def link_news(news_id: int, market_id: int) -> JFlow:
    return (yield Call("POST", f"/news/{_id(news_id)}/links/{_id(market_id)}", retry_safe=True))


def unlink_news(news_id: int, market_id: int) -> JFlow:
    return (yield Call("DELETE", f"/news/{_id(news_id)}/links/{_id(market_id)}",
                       retry_safe=True))


def admin_feeds() -> JFlow:
    return (yield Call("GET", "/admin/feeds", retry_safe=True))


def admin_add_feed(url: str, name: str | None = None, interval_s: int | None = None) -> JFlow:
    body: dict[str, Any] = {"url": url, "name": name}
    if interval_s is not None:
        body["interval_s"] = interval_s
    return (yield Call("POST", "/admin/feeds", body=body))


def admin_delete_feed(feed_id: int) -> JFlow:
    return (yield Call("DELETE", f"/admin/feeds/{_id(feed_id)}", retry_safe=True))


def admin_poll_feed(feed_id: int) -> JFlow:
    return (yield Call("POST", f"/admin/feeds/{_id(feed_id)}/poll", retry_safe=True))


def request(method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None,
            retry_safe: bool = False, text: bool = False) -> Flow[Any]:
    """Any call under /api/v1 (escape hatch for endpoints newer than this SDK)."""
    return (yield Call(method.upper(), path, params, body, retry_safe, text))


# -- real USDC (when the exchange runs with FORETELL_CHAIN_*) ---------------------------------

def deposit_address() -> JFlow:
    return (yield Call("GET", "/funding/deposit-address", retry_safe=True))


def deposits() -> JFlow:
    return (yield Call("GET", "/funding/deposits", retry_safe=True))


def withdraw(amount: Price, address: str, request_id: str) -> JFlow:
    """A retry with the same `request_id` never withdraws twice."""
    return (yield Call("POST", "/funding/withdrawals", retry_safe=True, body={
        "amount": to_wire(amount), "address": address, "request_id": request_id}))


def withdrawals() -> JFlow:
    return (yield Call("GET", "/funding/withdrawals", retry_safe=True))


def withdrawal(withdrawal_id: int) -> JFlow:
    return (yield Call("GET", f"/funding/withdrawals/{withdrawal_id}", retry_safe=True))


def reserves() -> JFlow:
    return (yield Call("GET", "/reserves", retry_safe=True))


def admin_withdrawals(status: str | None = None) -> JFlow:
    return (yield Call("GET", "/admin/funding/withdrawals", params={"status": status} if status else None,
                       retry_safe=True))


def admin_deposits() -> JFlow:
    return (yield Call("GET", "/admin/funding/deposits", retry_safe=True))


def admin_approve_withdrawal(withdrawal_id: int) -> JFlow:
    return (yield Call("POST", f"/admin/funding/withdrawals/{withdrawal_id}/approve"))


def admin_reject_withdrawal(withdrawal_id: int, reason: str) -> JFlow:
    return (yield Call("POST", f"/admin/funding/withdrawals/{withdrawal_id}/reject",
                       body={"reason": reason}))


def admin_funding_alerts() -> JFlow:
    return (yield Call("GET", "/admin/funding/alerts", retry_safe=True))


def admin_resolve_alert(alert_id: int) -> JFlow:
    return (yield Call("POST", f"/admin/funding/alerts/{alert_id}/resolve"))


def admin_unfreeze_account(account_id: int) -> JFlow:
    return (yield Call("POST", f"/admin/funding/accounts/{account_id}/unfreeze"))
