"""Public market data through the SDK: time, markets (binary and categorical), book, trades,
candles, ticker; and the SDK covering every REST endpoint of the OpenAPI document."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from tests.api.conftest import wait_until

from foretell.client import Client, ForetellError
from foretell.store.process import IDLE_SUPPORTED

# Every REST endpoint and the SDK method that calls it.
SDK_METHODS = {
    ("GET", "/api/v1/time"): "server_time",
    ("GET", "/api/v1/health"): "health",
    ("GET", "/api/v1/gateways"): "gateways",
    ("GET", "/api/v1/markets"): "markets",
    ("GET", "/api/v1/markets/{ref}"): "market",
    ("GET", "/api/v1/contracts/{contract_id}/book"): "book",
    ("GET", "/api/v1/markets/{market_id}/pool"): "pool",
    ("GET", "/api/v1/markets/{market_id}/implied"): "implied",
    ("POST", "/api/v1/markets/{market_id}/pool"): "fund_pool",
    ("POST", "/api/v1/markets/{market_id}/convert"): "convert",
    ("GET", "/api/v1/contracts/{contract_id}/trades"): "trades",
    ("GET", "/api/v1/contracts/{contract_id}/candles"): "candles",
    ("GET", "/api/v1/contracts/{contract_id}/ticker"): "ticker",
    ("POST", "/api/v1/orders"): "place_order",
    ("POST", "/api/v1/orders/batch"): "place_orders",
    ("POST", "/api/v1/orders/quote"): "quote",
    ("GET", "/api/v1/orders"): "orders",
    ("GET", "/api/v1/orders/client/{client_order_id}"): "order_by_client_id",
    ("GET", "/api/v1/orders/{order_id}"): "order",
    ("GET", "/api/v1/orders/{order_id}/queue"): "queue_position",
    ("PATCH", "/api/v1/orders/{order_id}"): "amend_order",
    ("DELETE", "/api/v1/orders/{order_id}"): "cancel_order",
    ("POST", "/api/v1/orders/cancel"): "cancel_orders",
    ("DELETE", "/api/v1/orders"): "cancel_all",
    ("POST", "/api/v1/triggers"): "place_trigger",
    ("GET", "/api/v1/triggers"): "triggers",
    ("DELETE", "/api/v1/triggers/{trigger_id}"): "cancel_trigger",
    ("POST", "/api/v1/order-groups"): "create_order_group",
    ("GET", "/api/v1/order-groups/{group_id}"): "order_group",
    ("POST", "/api/v1/order-groups/{group_id}/reset"): "reset_order_group",
    ("POST", "/api/v1/dead-man-switch"): "dead_man_switch",
    ("POST", "/api/v1/auth/signup"): "signup",
    ("POST", "/api/v1/auth/login"): "login",
    ("POST", "/api/v1/auth/logout"): "logout",
    ("GET", "/api/v1/account"): "account",
    ("GET", "/api/v1/account/api-keys"): "api_keys",
    ("POST", "/api/v1/account/api-keys"): "create_api_key",
    ("DELETE", "/api/v1/account/api-keys/{key_id}"): "revoke_api_key",
    ("GET", "/api/v1/portfolio/balance"): "balance",
    ("GET", "/api/v1/portfolio/positions"): "positions",
    ("GET", "/api/v1/portfolio/fills"): "fills",
    ("GET", "/api/v1/portfolio/settlements"): "settlements",
    ("GET", "/api/v1/portfolio/cash"): "cash",
    ("GET", "/api/v1/portfolio/export.csv"): "export_csv",
    ("GET", "/api/v1/admin/accounts"): "admin_accounts",
    ("POST", "/api/v1/admin/credit"): "admin_credit",
    ("POST", "/api/v1/admin/users/{user_id}/suspend"): "admin_suspend",
    ("POST", "/api/v1/admin/users/{user_id}/reinstate"): "admin_reinstate",
    ("POST", "/api/v1/admin/markets"): "admin_create_market",
    ("POST", "/api/v1/admin/markets/{market_id}/status"): "admin_set_market_status",
    ("POST", "/api/v1/admin/markets/{market_id}/settle"): "admin_settle",
    ("POST", "/api/v1/admin/markets/{market_id}/void"): "admin_void",
    ("GET", "/api/v1/admin/audit"): "admin_audit",
    ("POST", "/api/v1/creators/apply"): "creator_apply",
    ("GET", "/api/v1/creators/me"): "creator_me",
    ("POST", "/api/v1/creator/markets"): "creator_create_market",
    ("PUT", "/api/v1/creator/markets/{market_id}"): "creator_update_market",
    ("POST", "/api/v1/creator/markets/{market_id}/submit"): "creator_submit_market",
    ("POST", "/api/v1/creator/markets/{market_id}/clarifications"): "creator_clarify",
    ("POST", "/api/v1/creator/markets/{market_id}/resolution"): "creator_propose_resolution",
    ("POST", "/api/v1/markets/{market_id}/disputes"): "dispute",
    ("GET", "/api/v1/admin/creator-applications"): "admin_creator_applications",
    ("POST", "/api/v1/admin/creator-applications/{application_id}/decision"):
        "admin_decide_application",
    ("POST", "/api/v1/admin/creators/{user_id}/revoke"): "admin_revoke_creator",
    ("GET", "/api/v1/admin/review-queue"): "admin_review_queue",
    ("POST", "/api/v1/admin/markets/{market_id}/review"): "admin_review_market",
    ("GET", "/api/v1/admin/dispute-queue"): "admin_dispute_queue",
    ("POST", "/api/v1/admin/markets/{market_id}/dispute-decision"): "admin_decide_dispute",
    ("GET", "/api/v1/news"): "news",
    ("GET", "/api/v1/news/{news_id}"): "news_item",
    ("POST", "/api/v1/news"): "post_news",
    ("POST", "/api/v1/news/{news_id}/links/{market_id}"): "link_news",
    ("DELETE", "/api/v1/news/{news_id}/links/{market_id}"): "unlink_news",
    ("GET", "/api/v1/admin/feeds"): "admin_feeds",
    ("POST", "/api/v1/admin/feeds"): "admin_add_feed",
    ("DELETE", "/api/v1/admin/feeds/{feed_id}"): "admin_delete_feed",
    ("POST", "/api/v1/admin/feeds/{feed_id}/poll"): "admin_poll_feed",
    ("GET", "/api/v1/funding/deposit-address"): "deposit_address",
    ("GET", "/api/v1/funding/deposits"): "deposits",
    ("POST", "/api/v1/funding/withdrawals"): "withdraw",
    ("GET", "/api/v1/funding/withdrawals"): "withdrawals",
    ("GET", "/api/v1/funding/withdrawals/{withdrawal_id}"): "withdrawal",
    ("GET", "/api/v1/reserves"): "reserves",
    ("GET", "/api/v1/admin/funding/withdrawals"): "admin_withdrawals",
    ("GET", "/api/v1/admin/funding/deposits"): "admin_deposits",
    ("POST", "/api/v1/admin/funding/withdrawals/{withdrawal_id}/approve"):
        "admin_approve_withdrawal",
    ("POST", "/api/v1/admin/funding/withdrawals/{withdrawal_id}/reject"):
        "admin_reject_withdrawal",
    ("GET", "/api/v1/admin/funding/alerts"): "admin_funding_alerts",
    ("POST", "/api/v1/admin/funding/alerts/{alert_id}/resolve"): "admin_resolve_alert",
    ("POST", "/api/v1/admin/funding/accounts/{account_id}/unfreeze"): "admin_unfreeze_account",
}


def test_the_sdk_has_a_method_for_every_documented_endpoint(ex: Any) -> None:
    spec = httpx.get(ex.base_url + "/openapi.json", timeout=10).json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items()
                  for method in ops if method in ("get", "post", "patch", "delete", "put")}
    missing = documented - set(SDK_METHODS)
    assert not missing, f"endpoints without an SDK method: {sorted(missing)}"
    for name in SDK_METHODS.values():
        assert callable(getattr(Client, name)), name


def test_server_time_is_close_to_ours(ex: Any) -> None:
    anonymous = ex.client()
    server_ms = anonymous.server_time()["server_time_ms"]
    assert abs(server_ms - time.time_ns() // 1_000_000) < 5_000


def test_a_single_node_lists_only_itself_as_gateway(ex: Any) -> None:
    """Cluster mode's gateway list (where a web page moves when its gateway dies), one node."""
    assert ex.admin.gateways() == {"self": ex.base_url, "gateways": [ex.base_url]}
    page = httpx.get(ex.base_url + "/markets", timeout=10)
    assert "data-gateways" not in page.text  # the page's script stays where it is
    assert page.headers["content-security-policy"].count("connect-src 'self' ws://") == 1
    assert "http://" not in page.headers["content-security-policy"]


def test_health_reports_the_projector_catching_up(ex: Any) -> None:
    """After an order is acknowledged, health shows it durable and, soon, projected."""
    trader = ex.trader()
    market = ex.market()
    before = trader.api.health()
    trader.api.place_order(contract_id=market["contract_ids"][0], outcome="yes", side="buy",
                           price="0.2", size=1)
    after = trader.api.health()
    assert after["status"] == "ok"
    assert after["durable_seq"] > before["durable_seq"]
    assert after["seq"] >= after["durable_seq"] >= after["projected_seq"]
    # The default: a child process (at idle priority where the OS has one, unless a slow
    # batch on a busy machine raised it for a while).
    assert after["projector_mode"] in (("process-idle", "process-normal") if IDLE_SUPPORTED
                                       else ("process-normal",))
    caught_up = wait_until(lambda: (lambda h: h if h["projector_lag"] == 0 else None)(
        trader.api.health()))
    assert caught_up["projected_seq"] >= after["durable_seq"]


def test_binary_and_categorical_markets(ex: Any) -> None:
    anonymous = ex.client()
    binary = ex.market(category="Funding", tags=["ai", "funding"],
                       question="Will the round close above the target valuation?")
    categorical = ex.market(outcomes=["Under 10", "10 to 20", "Over 20"], tick="0.001",
                            size_max=500, question="Which valuation band will the round hit?")
    assert len(binary["contract_ids"]) == 1 and len(categorical["contract_ids"]) == 3

    by_id = anonymous.market(binary["id"])
    by_slug = anonymous.market(binary["slug"])
    assert by_id == by_slug
    assert by_id["status"] == "open" and by_id["outcomes"] == ["Yes", "No"]
    assert by_id["category"] == "Funding" and by_id["tags"] == ["ai", "funding"]
    assert [c["id"] for c in by_id["contracts"]] == binary["contract_ids"]

    cat = anonymous.market(categorical["id"])
    assert [c["name"] for c in cat["contracts"]] == ["Under 10", "10 to 20", "Over 20"]
    assert [c["id"] for c in cat["contracts"]] == categorical["contract_ids"]
    assert cat["size_max"] == 500

    listed = anonymous.markets(status="open", limit=500)["markets"]
    assert {binary["id"], categorical["id"]} <= {m["id"] for m in listed}
    found = anonymous.markets(q="valuation band")["markets"]
    assert categorical["id"] in [m["id"] for m in found]
    assert binary["id"] not in [m["id"] for m in found]
    funding = anonymous.markets(category="Funding")["markets"]
    assert [m["id"] for m in funding if m["id"] in (binary["id"], categorical["id"])] == [
        binary["id"]]

    page = anonymous.markets(limit=1)
    assert len(page["markets"]) == 1 and page["next_cursor"] is not None
    second = anonymous.markets(limit=1, cursor=page["next_cursor"])
    assert second["markets"][0]["id"] != page["markets"][0]["id"]

    for ref in (999_999, "no-such-market", "x" * 101):
        with pytest.raises(ForetellError) as info:
            anonymous.market(ref)
        assert (info.value.status, info.value.code) == (404, "unknown_market")


def test_book_trades_candles_and_ticker(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    anonymous = ex.client()
    empty = anonymous.book(c)
    assert empty["bids"] == [] and empty["asks"] == [] and empty["seq"] == 0
    assert anonymous.ticker(c)["best_bid"] is None

    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.39", size=5)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.45", size=7)  # ask 0.55
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=3)  # hits 0.40
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=2)

    book = anonymous.book(c)
    assert book["bids"] == [["0.40", 5], ["0.39", 5]] and book["asks"] == [["0.55", 7]]
    assert book["seq"] == 5 and isinstance(book["checksum"], int)
    assert anonymous.book(c, depth=1)["bids"] == [["0.40", 5]]

    # Public read models are eventually consistent with the engine: wait for the tape.
    trades = until(lambda: (t := anonymous.trades(c)["trades"]) and len(t) == 2 and t)
    assert [(t["yes_price"], t["size"], t["taker_side"]) for t in trades] == [
        ("0.40", 2, "buy_no"), ("0.40", 3, "buy_no")]  # newest first
    page = anonymous.trades(c, limit=1)
    assert len(page["trades"]) == 1 and page["next_cursor"] is not None
    rest = anonymous.trades(c, limit=1, cursor=page["next_cursor"])["trades"]
    assert rest[0]["id"] < page["trades"][0]["id"]

    for interval in ("1m", "1h", "1d"):
        bars = until(lambda i=interval: anonymous.candles(c, i)["candles"])
        assert len(bars) == 1, interval
        assert bars[0]["open"] == bars[0]["close"] == "0.40" and bars[0]["volume_shares"] == 5
    assert anonymous.candles(c, "1m", start_ms=0, end_ms=1)["candles"] == []

    ticker = anonymous.ticker(c)
    assert ticker["best_bid"] == "0.40" and ticker["best_ask"] == "0.55"
    assert ticker["last_price"] == "0.40" and ticker["volume_24h_shares"] == 5

    for call in (anonymous.book, anonymous.trades, anonymous.candles, anonymous.ticker):
        with pytest.raises(ForetellError) as info:
            call(987_654)
        assert (info.value.status, info.value.code) == (404, "unknown_contract")


def test_supervisor_reads_its_new_market_at_once(ex: Any) -> None:
    for _ in range(5):
        created = ex.admin.admin_create_market(
            slug=f"m-now-{time.time_ns()}", question="Is this market readable at once?")
        assert ex.admin.market(created["id"])["slug"] == created["slug"]


def test_news_through_the_sdk(ex: Any) -> None:
    market = ex.market(tags=["sdknews"], question="Will the SDK news test market be linked?")
    posted = ex.admin.post_news("Supervisor note on the SDK news test market",
                                summary="A short analysis note.", tags=["sdknews"],
                                market_ids=[market["id"]])
    found = wait_until(lambda: ex.admin.news(market_id=market["id"])["news"])
    assert [n["id"] for n in found] == [posted["id"]]
    assert ex.admin.news_item(posted["id"])["title"] == posted["title"]
    assert ex.admin.news(q="analysis note")["news"][0]["id"] == posted["id"]
