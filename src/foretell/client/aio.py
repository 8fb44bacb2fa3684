"""`AsyncClient`: the asyncio client, the same methods as `Client`, awaited.

    async with AsyncClient("http://127.0.0.1:8000", key_id, secret) as ft:
        order = await ft.place_order(market_id=1, outcome="yes", side="buy", price="0.57", size=10)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Unpack

import httpx

from foretell.client import endpoints as ep
from foretell.client._core import SESSION_COOKIE, Attempts, Call, Core, Json
from foretell.client.endpoints import (
    DraftFields,
    Flow,
    MarketFields,
    OrderFields,
    TriggerFields,
)
from foretell.client.errors import ForetellError
from foretell.client.units import Price

T = TypeVar("T")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class AsyncClient:
    def __init__(self, base_url: str | Sequence[str], key_id: str | None = None, secret: str | None = None, *,
                 timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.1,
                 clock: Callable[[], int] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._core = Core(base_url, key_id, secret, retries, backoff_s, clock)
        self._sleep = asyncio.sleep  # replaceable in tests
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    # -- plumbing -----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def key_id(self) -> str | None:
        return self._core.signer.key_id if self._core.signer else None

    @property
    def clock_offset_ms(self) -> int:
        return self._core.signer.offset_ms if self._core.signer else 0

    @property
    def session_token(self) -> str | None:
        """The session cookie after `login`/`signup` (for `Stream`), else None."""
        return self._http.cookies.get(SESSION_COOKIE)

    @property
    def csrf_token(self) -> str | None:
        return self._core.csrf_token

    async def _run(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    value = await self._send(call)
                except ForetellError as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _send(self, call: Call) -> Any:
        tries = Attempts()
        while True:
            req = self._core.prepare(call)
            try:
                resp = await self._http.request(req.method, req.url, headers=req.headers,
                                                content=req.content)
            except httpx.TransportError as exc:
                verdict = self._core.judge_no_answer(call, exc, not isinstance(exc, _NOT_SENT),
                                                     tries)
            else:
                verdict = self._core.judge(call, resp.status_code, resp.headers, resp.content,
                                           tries)
            if verdict.action == "done":
                return verdict.value
            if verdict.action == "fail":
                assert verdict.error is not None
                raise verdict.error
            if verdict.action == "sync_time":
                await self.sync_time()
            elif verdict.delay_s:
                await self._sleep(verdict.delay_s)

    async def sync_time(self) -> int:
        """Read the server clock (GET /time) and sign with its offset; returns the offset ms."""
        sent = self._core.clock()
        answer = await self._send(self._core.time_call())
        self._core.adjust_clock(answer, sent, self._core.clock())
        return self.clock_offset_ms

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                      body: Any = None, retry_safe: bool = False, text: bool = False) -> Any:
        """Any call under /api/v1, signed like the others."""
        return await self._run(ep.request(method, path, params, body, retry_safe, text))

    # -- session ------------------------------------------------------------------------------

    async def signup(self, username: str, password: str, display_name: str | None = None) -> Json:
        out = await self._run(ep.signup(username, password, display_name))
        self._core.csrf_token = out.get("csrf_token")
        return out

    async def login(self, username: str, password: str) -> Json:
        out = await self._run(ep.login(username, password))
        self._core.csrf_token = out.get("csrf_token")
        return out

    async def logout(self) -> Json:
        out = await self._run(ep.logout())
        self._core.csrf_token = None
        self._http.cookies.delete(SESSION_COOKIE)
        return out

    # -- market data --------------------------------------------------------------------------

    async def server_time(self) -> Json:
        return await self._run(ep.server_time())

    async def health(self) -> Json:
        """Sequenced, durable and projected command numbers, and the projector's lag."""
        return await self._run(ep.health())

    async def gateways(self) -> Json:
        """The live gateways' public base URLs (`gateways`) and this one's (`self`)."""
        return await self._run(ep.gateways())

    async def markets(self, status: str | None = None, category: str | None = None,
                      q: str | None = None, cursor: int | None = None,
                      limit: int | None = None) -> Json:
        return await self._run(ep.markets(status, category, q, cursor, limit))

    async def market(self, ref: int | str) -> Json:
        return await self._run(ep.market(ref))

    async def book(self, contract_id: int, depth: int | None = None) -> Json:
        return await self._run(ep.book(contract_id, depth))

    async def pool(self, market_id: int, levels: int | None = None) -> Json:
        """A market's liquidity pool: curve price per outcome, depth, subsidy, fees, P&L."""
        return await self._run(ep.pool(market_id, levels))

    async def implied(self, market_id: int) -> Json:
        """Best YES bid and ask of every outcome over book and pool, and their sums."""
        return await self._run(ep.implied(market_id))

    async def fund_pool(self, market_id: int, subsidy: Price, fee_share_ppm: int | None = None) -> Json:
        """Fund a market's pool from your balance (its creator, or a supervisor)."""
        return await self._run(ep.fund_pool(market_id, subsidy, fee_share_ppm))

    async def convert(self, market_id: int, outcome_index: int, size: int,
                      direction: Literal["no_to_yes", "yes_to_no"] = "no_to_yes") -> Json:
        """Categorical markets: `size` NO of an outcome become `size` YES of every other
        outcome (or back, with direction="yes_to_no"), atomically."""
        return await self._run(ep.convert(market_id, outcome_index, size, direction))

    async def trades(self, contract_id: int, cursor: int | None = None,
                     limit: int | None = None) -> Json:
        return await self._run(ep.trades(contract_id, cursor, limit))

    async def candles(self, contract_id: int, interval: str = "1h", start_ms: int | None = None,
                      end_ms: int | None = None) -> Json:
        return await self._run(ep.candles(contract_id, interval, start_ms, end_ms))

    async def ticker(self, contract_id: int) -> Json:
        return await self._run(ep.ticker(contract_id))

    # -- orders -------------------------------------------------------------------------------

    async def place_order(self, **order: Unpack[OrderFields]) -> Json:
        return await self._run(ep.place_order(order))

    async def place_orders(self, orders: Sequence[OrderFields]) -> Json:
        return await self._run(ep.place_orders(orders))

    async def quote(self, **order: Unpack[OrderFields]) -> Json:
        return await self._run(ep.quote(order))

    async def orders(self, status: str | None = None, market_id: int | None = None,
                     cursor: int | None = None, limit: int | None = None) -> Json:
        return await self._run(ep.orders(status, market_id, cursor, limit))

    async def order(self, order_id: int) -> Json:
        return await self._run(ep.order(order_id))

    async def order_by_client_id(self, client_order_id: str) -> Json:
        return await self._run(ep.order_by_client_id(client_order_id))

    async def queue_position(self, order_id: int) -> Json:
        return await self._run(ep.queue_position(order_id))

    async def amend_order(self, order_id: int, price: Price | None = None,
                          size: int | None = None) -> Json:
        return await self._run(ep.amend_order(order_id, price, size))

    async def cancel_order(self, order_id: int) -> Json:
        return await self._run(ep.cancel_order(order_id))

    async def cancel_orders(self, order_ids: Sequence[int]) -> Json:
        return await self._run(ep.cancel_orders(order_ids))

    async def cancel_all(self, market_id: int | None = None) -> Json:
        return await self._run(ep.cancel_all(market_id))

    async def place_trigger(self, **trigger: Unpack[TriggerFields]) -> Json:
        return await self._run(ep.place_trigger(trigger))

    async def triggers(self) -> Json:
        return await self._run(ep.triggers())

    async def cancel_trigger(self, trigger_id: int) -> Json:
        return await self._run(ep.cancel_trigger(trigger_id))

    async def create_order_group(self, contracts_limit: int, window_s: int = 60) -> Json:
        return await self._run(ep.create_order_group(contracts_limit, window_s))

    async def order_group(self, group_id: int) -> Json:
        return await self._run(ep.order_group(group_id))

    async def reset_order_group(self, group_id: int) -> Json:
        return await self._run(ep.reset_order_group(group_id))

    async def dead_man_switch(self, timeout_s: int) -> Json:
        return await self._run(ep.dead_man_switch(timeout_s))

    # -- account and portfolio ----------------------------------------------------------------

    async def account(self) -> Json:
        return await self._run(ep.account())

    async def api_keys(self) -> Json:
        return await self._run(ep.api_keys())

    async def create_api_key(self, label: str = "", scopes: Sequence[str] = ("read",)) -> Json:
        return await self._run(ep.create_api_key(label, scopes))

    async def revoke_api_key(self, key_id: str) -> Json:
        return await self._run(ep.revoke_api_key(key_id))

    async def balance(self) -> Json:
        return await self._run(ep.balance())

    async def positions(self) -> Json:
        return await self._run(ep.positions())

    async def fills(self, cursor: int | None = None, limit: int | None = None) -> Json:
        return await self._run(ep.fills(cursor, limit))

    async def settlements(self) -> Json:
        return await self._run(ep.settlements())

    async def cash(self) -> Json:
        return await self._run(ep.cash())

    async def export_csv(self) -> str:
        return await self._run(ep.export_csv())

    # -- admin (supervisors) ------------------------------------------------------------------

    async def admin_accounts(self) -> Json:
        return await self._run(ep.admin_accounts())

    async def admin_credit(self, account_id: int, amount: Price, reason: str) -> Json:
        return await self._run(ep.admin_credit(account_id, amount, reason))

    async def admin_suspend(self, user_id: int, reason: str) -> Json:
        """Suspend a trader or creator: sessions end, orders cancelled, money kept."""
        return await self._run(ep.admin_suspend(user_id, reason))

    async def admin_reinstate(self, user_id: int, reason: str) -> Json:
        return await self._run(ep.admin_reinstate(user_id, reason))

    async def admin_create_market(self, **market: Unpack[MarketFields]) -> Json:
        return await self._run(ep.admin_create_market(market))

    async def admin_set_market_status(self, market_id: int, status: str, reason: str) -> Json:
        return await self._run(ep.admin_set_market_status(market_id, status, reason))

    async def admin_settle(self, market_id: int, winner_index: int) -> Json:
        return await self._run(ep.admin_settle(market_id, winner_index))

    async def admin_void(self, market_id: int, reason: str) -> Json:
        return await self._run(ep.admin_void(market_id, reason))

    async def admin_audit(self) -> Json:
        return await self._run(ep.admin_audit())

    # -- creators and the supervised market lifecycle -------------------------------------------

    async def creator_apply(self, profile: str, expertise: str) -> Json:
        return await self._run(ep.creator_apply(profile, expertise))

    async def creator_me(self) -> Json:
        return await self._run(ep.creator_me())

    async def creator_create_market(self, **draft: Unpack[DraftFields]) -> Json:
        return await self._run(ep.creator_create_market(draft))

    async def creator_update_market(self, market_id: int, **draft: Unpack[DraftFields]) -> Json:
        return await self._run(ep.creator_update_market(market_id, draft))

    async def creator_submit_market(self, market_id: int) -> Json:
        return await self._run(ep.creator_submit_market(market_id))

    async def creator_clarify(self, market_id: int, text: str) -> Json:
        return await self._run(ep.creator_clarify(market_id, text))

    async def creator_propose_resolution(self, market_id: int, winner_index: int,
                                         evidence: str) -> Json:
        return await self._run(ep.creator_propose_resolution(market_id, winner_index, evidence))

    async def dispute(self, market_id: int, reason: str) -> Json:
        return await self._run(ep.dispute(market_id, reason))

    async def admin_creator_applications(self, status: str | None = None) -> Json:
        return await self._run(ep.admin_creator_applications(status))

    async def admin_decide_application(self, application_id: int, approve: bool,
                                       reason: str) -> Json:
        return await self._run(ep.admin_decide_application(application_id, approve, reason))

    async def admin_revoke_creator(self, user_id: int, reason: str) -> Json:
        return await self._run(ep.admin_revoke_creator(user_id, reason))

    async def admin_review_queue(self) -> Json:
        return await self._run(ep.admin_review_queue())

    async def admin_review_market(self, market_id: int, approve: bool, reason: str) -> Json:
        return await self._run(ep.admin_review_market(market_id, approve, reason))

    async def admin_dispute_queue(self) -> Json:
        return await self._run(ep.admin_dispute_queue())

    async def admin_decide_dispute(self, market_id: int, uphold: bool, winner_index: int,
                                   reason: str) -> Json:
        return await self._run(ep.admin_decide_dispute(market_id, uphold, winner_index, reason))

    async def news(self, market_id: int | None = None, tag: str | None = None,
             q: str | None = None, since_ms: int | None = None,
             until_ms: int | None = None, cursor: str | None = None,
             limit: int | None = None) -> Json:
        return await self._run(ep.news(market_id, tag, q, since_ms, until_ms, cursor, limit))

    async def news_item(self, news_id: int) -> Json:
        return await self._run(ep.news_item(news_id))

    async def post_news(self, title: str, summary: str = "", link: str | None = None,
                  tags: Sequence[str] = (), kind: str = "analysis",
                  market_ids: Sequence[int] = ()) -> Json:
        return await self._run(ep.post_news(title, summary, link, tags, kind, market_ids))

    async def link_news(self, news_id: int, market_id: int) -> Json:
        return await self._run(ep.link_news(news_id, market_id))

    async def unlink_news(self, news_id: int, market_id: int) -> Json:
        return await self._run(ep.unlink_news(news_id, market_id))

    async def admin_feeds(self) -> Json:
        return await self._run(ep.admin_feeds())

    async def admin_add_feed(self, url: str, name: str | None = None,
                       interval_s: int | None = None) -> Json:
        return await self._run(ep.admin_add_feed(url, name, interval_s))

    async def admin_delete_feed(self, feed_id: int) -> Json:
        return await self._run(ep.admin_delete_feed(feed_id))

    async def admin_poll_feed(self, feed_id: int) -> Json:
        return await self._run(ep.admin_poll_feed(feed_id))

    # -- real USDC -----------------------------------------------------------------------------

    async def deposit_address(self) -> Json:
        return await self._run(ep.deposit_address())

    async def deposits(self) -> Json:
        return await self._run(ep.deposits())

    async def withdraw(self, amount: Price, address: str, request_id: str) -> Json:
        return await self._run(ep.withdraw(amount, address, request_id))

    async def withdrawals(self) -> Json:
        return await self._run(ep.withdrawals())

    async def withdrawal(self, withdrawal_id: int) -> Json:
        return await self._run(ep.withdrawal(withdrawal_id))

    async def reserves(self) -> Json:
        return await self._run(ep.reserves())

    async def admin_withdrawals(self, status: str | None = None) -> Json:
        return await self._run(ep.admin_withdrawals(status))

    async def admin_deposits(self) -> Json:
        return await self._run(ep.admin_deposits())

    async def admin_approve_withdrawal(self, withdrawal_id: int) -> Json:
        return await self._run(ep.admin_approve_withdrawal(withdrawal_id))

    async def admin_reject_withdrawal(self, withdrawal_id: int, reason: str) -> Json:
        return await self._run(ep.admin_reject_withdrawal(withdrawal_id, reason))

    async def admin_funding_alerts(self) -> Json:
        return await self._run(ep.admin_funding_alerts())

    async def admin_resolve_alert(self, alert_id: int) -> Json:
        return await self._run(ep.admin_resolve_alert(alert_id))

    async def admin_unfreeze_account(self, account_id: int) -> Json:
        return await self._run(ep.admin_unfreeze_account(account_id))
