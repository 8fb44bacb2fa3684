"""The application layer: verbs a trader, a bot and an operator use, over the pipeline and store.

Wiring (one place, in `Service.__init__`):
  # 1 store      migrate, read the projector's last seq
  # 2 pipeline   recover engine from snapshot + journal; replay what the store has not seen
  # 3 project    every durable outcome -> projector thread (SQL) and hub (WebSocket)
All engine access happens on the event loop thread, so reads of live state need no lock; once
serving, `engine` refuses to be read from any other thread (a threadpool route walking live
dicts while the loop changes them saw torn state and "dictionary changed size" errors).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from foretell import services_pools
from foretell.api import present
from foretell.api.auth import (
    Principal,
    ReplayGuard,
    TokenBucket,
    check_password,
    derive_secret,
    hash_password,
    load_master_key,
    sha256_hex,
)
from foretell.api.hub import Book, Hub
from foretell.api.models import MarketIn, OrderIn, TriggerIn
from foretell.config import Settings
from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Refused, Reject, refused
from foretell.domain.orders import (
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    LIMIT,
    MARKET,
    STP_NAMES,
    TIF_NAMES,
)
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO, UnitError, parse_micro
from foretell.engine.views import book_depth
from foretell.exchange.pipeline import Pipeline, journal_message, wall_clock_ms
from foretell.journal.log import JournalError, JournalFailed
from foretell.store import schema as t
from foretell.store.db import connect, migrate
from foretell.store.process import ProjectorProcess
from foretell.store.projector import Projector, ProjectorThread
from foretell.store.sqlutil import upsert

demo_credit_micro = 10_000 * MICRO
T = TypeVar("T")

log = logging.getLogger(__name__)


class EngineOffLoop(AssertionError):
    """A bug: live engine state was read from a thread other than the event loop's."""


@dataclass
class OrderGroup:
    """Orders that share a rolling-window cap on contracts filled; hitting it cancels them all."""

    id: int
    account_id: int
    contracts_limit: int
    window_ms: int
    orders: set[int] = field(default_factory=set)
    fills: deque[tuple[int, int]] = field(default_factory=deque)
    triggered: bool = False

    def filled(self, ts_ms: int, size: int) -> bool:
        self.fills.append((ts_ms, size))
        while self.fills and self.fills[0][0] <= ts_ms - self.window_ms:
            self.fills.popleft()
        return sum(s for _, s in self.fills) >= self.contracts_limit


class Service:
    def __init__(self, settings: Settings, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.settings = settings
        self.clock = clock
        self._loop_thread: int | None = None  # set by `attach`: the only thread on the engine
        settings.data.mkdir(parents=True, exist_ok=True)
        self.master_key = load_master_key(settings.data)
        self.limiter = TokenBucket(settings.rate_per_s, settings.rate_burst)
        self.replays = ReplayGuard(settings.signature_window_ms, started_ms=clock())
        self.hub = Hub(settings.ws_ip_subscribe_per_s, settings.ws_ip_subscribe_burst)
        self.loop: asyncio.AbstractEventLoop | None = None
        # 1 store
        migrate(settings.db_url)
        self.db = connect(settings.db_url)
        self.projector = Projector(self.db)
        # 2 pipeline, replaying into the store whatever it has not applied yet
        backlog: list[Outcome] = []
        self.pipeline = Pipeline(settings.journal_dir, clock=clock,
                                 project_after=self.projector.last_seq(),
                                 on_replay=backlog.append)
        for start in range(0, len(backlog), 2_000):
            self.projector.apply(backlog[start:start + 2_000])
        # 3 project and publish every durable outcome
        # The SQL work runs in a child process by default: in this one it held the GIL that the
        # event loop answering orders needs (store/process.py).
        self.projector_process = ProjectorProcess(settings.db_url) if settings.projector_process \
            else None
        self.projection = ProjectorThread(_Tracking(self.projector_process or self.projector,
                                                    self.projector.last_seq()))
        self.pipeline.batch_listeners.append(self._durable)
        self.pipeline.failure_listeners.append(self._journal_failed)
        # seq -> what to call on the loop once that command is durable (or the journal failed)
        self._waiters: dict[int, Callable[[Outcome | BaseException], None]] = {}
        self.groups, self.order_group = self._load_groups()  # group id -> group, order -> group
        # account -> (deadline_ms, timeout_s); kept in the store too, so a restart keeps them
        self.dead_man: dict[int, tuple[int, int]] = self._load_dead_man()
        self.key_cache: dict[str, tuple[int, str, frozenset[str]] | None] = {}
        self.session_cache: dict[str, tuple[int, str, str, int]] = {}
        self.account_seq: dict[int, int] = {}
        self.claimed_slugs: set[str] = set()  # by markets created since start (see claim_slug)

    @property
    def engine(self) -> Any:
        owner = self._loop_thread
        if owner is not None and owner != threading.get_ident():
            raise EngineOffLoop("engine state read off the event loop: make the route async")
        return self.pipeline.engine

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run blocking store work (SQL) in the threadpool, so the loop keeps answering; it
        must not touch the engine (read that on the loop, before or after)."""
        return await run_in_threadpool(work)

    # -- lifecycle ----------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start publishing to WebSocket clients from this loop; books start from the engine."""
        for contract_id in self.engine.contracts:
            bids, asks = book_depth(self.engine, contract_id)
            book = Book(seq=self.pipeline.book_seq.get(contract_id, 0))
            book.bids, book.asks = dict(bids), dict(asks)
            self.hub.books[contract_id] = book
        self.hub.listeners.append(self._after_publish)
        self.loop = loop
        self._loop_thread = threading.get_ident()
        for g in self.groups.values():  # triggered before a restart, its cancels unfinished
            if g.triggered and any(o in self.engine.orders for o in g.orders):
                loop.create_task(self._cancel_group(g))

    def close(self) -> None:
        """Stop everything even after a failure, then raise the first failure (a failed journal
        raises `JournalFailed`: not everything submitted is durable)."""
        failures: list[BaseException] = []
        for step in (self.pipeline.close, self.projection.close, self._close_projector,
                     self.db.dispose):
            try:
                step()
            except BaseException as failure:  # noqa: PERF203 - each step must run
                failures.append(failure)
        if failures:
            raise failures[0]

    def _close_projector(self) -> None:
        # Not while the projector thread may still be inside `apply` (its close timed out).
        if self.projector_process is not None and not self.projection.running:
            self.projector_process.close()

    def _durable(self, outcomes: list[Outcome]) -> None:
        """On the journal writer thread, once per durable batch: to the projector, and in one
        hand-off to the loop for the hub and the waiting requests."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._published, outcomes)
        self.projection.submit_many(outcomes)

    def _published(self, outcomes: list[Outcome]) -> None:
        """On the loop: fan out each durable outcome, then answer whoever waits on it."""
        for outcome in outcomes:
            try:
                self.hub.publish(outcome)
            except Exception:  # a publishing bug must not hold back acknowledgements
                log.exception("publishing seq %d failed", outcome.seq)
            waiter = self._waiters.pop(outcome.seq, None)
            if waiter is not None:
                _call(waiter, outcome)
        self.pipeline.maybe_snapshot()  # also for orders that no request awaits (WebSocket)

    def _journal_failed(self, failure: BaseException) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fail_waiters, failure)

    def _fail_waiters(self, failure: BaseException) -> None:
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            _call(waiter, failure)

    def submit(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        """Sequence, journal and apply a command (on the loop); it is not durable yet."""
        try:
            outcome = self.pipeline.submit(command)[-1]
        except OverflowError as exc:  # a number no command field can hold: nothing was journaled
            raise Refused("invalid_request", "a number is out of range") from exc
        except JournalFailed as exc:  # refused before it was journaled or applied
            raise Refused("unavailable") from exc
        except JournalError as exc:  # closed: shutting down
            raise Refused("unavailable", journal_message(exc)) from exc
        if account_id is not None:
            self.account_seq[account_id] = outcome.seq
        return outcome

    def when_durable(self, outcome: Outcome,
                     callback: Callable[[Outcome | BaseException], None]) -> None:
        """Call back on the loop once `outcome` is durable, or with the journal's failure.

        Only while serving (`attach`): `_published` answers the waiters on the loop."""
        assert self.loop is not None, "when_durable needs an attached event loop"
        failure = self.pipeline.committer.failure
        if failure is not None:
            callback(failure)
        else:
            # Callers register right after `submit`, on the loop, so the outcome cannot have
            # been published yet: that only happens in a later loop callback.
            self._waiters[outcome.seq] = callback

    async def durable(self, outcome: Outcome) -> None:
        """Wait until `outcome` (and so everything before it) is durable."""
        if self.loop is None:  # not serving (CLI, offline tools): wait on the writer's future
            await asyncio.wrap_future(self.pipeline.committer.durable_future(outcome.seq))
            self.pipeline.maybe_snapshot()
        else:  # `_published` answers, and takes any due snapshot
            future: asyncio.Future[Any] = self.loop.create_future()
            self.when_durable(outcome, partial(_resolve, future))
            await future

    async def execute(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        outcome = self.submit(command, account_id)
        await self.durable(outcome)
        return outcome

    def health(self) -> dict[str, Any]:
        committer = self.pipeline.committer
        tracking = self.projection.projector
        projected = tracking.applied_seq if isinstance(tracking, _Tracking) else 0
        return {"status": "failed" if committer.failure or self.projection.error else "ok",
                "seq": self.pipeline.seq, "durable_seq": committer.durable_seq,
                "projected_seq": projected,
                "projector_lag": max(0, committer.durable_seq - projected),
                "projector_mode": self._projector_mode(),
                "ws_connections": len(self.hub.connections), "server_time_ms": self.clock()}

    def _projector_mode(self) -> str:
        """thread, or process-idle / process-normal (escalated: idle priority starved)."""
        child = self.projector_process
        if child is None:
            return "thread"
        return "process-idle" if child.idle else "process-normal"

    async def read_your_writes(self, account_id: int, timeout_s: float = 2.0) -> None:
        """Wait until the store has applied this account's latest command (bounded)."""
        seq = self.account_seq.get(account_id, 0)
        deadline = time.monotonic() + timeout_s
        tracking = self.projection.projector
        assert isinstance(tracking, _Tracking)
        while tracking.applied_seq < seq and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def tick(self) -> None:
        """Periodic work: due timers, dead-man's switches, WebSocket heartbeats."""
        deadline = self.engine.next_deadline_ms()
        now = self.clock()
        if deadline and now >= deadline:
            await self.execute(cmd.Timer(0))
        for account_id, (due_ms, _) in list(self.dead_man.items()):
            if now >= due_ms:
                del self.dead_man[account_id]
                await self.execute(cmd.CancelAll(0, account_id, 0, "dead_man_switch"))
                # Forgotten only once the cancel is durable: a crash in between fires it again
                # after the restart, which errs on the side the trader asked for. Only this
                # switch: the trader may have armed a new one meanwhile.
                self._forget_dead_man(account_id, due_ms)

    # -- markets ------------------------------------------------------------------------------

    def contract_for(self, market_id: int | None, contract_id: int | None, index: int) -> int:
        if contract_id is not None:
            if contract_id not in self.engine.contracts:
                raise refused(codes.UNKNOWN_CONTRACT)
            return contract_id
        if market_id is None:
            raise Refused("invalid_request", "give market_id or contract_id")
        m = self.engine.markets.get(market_id)
        if m is None:
            raise refused(codes.UNKNOWN_MARKET)
        if index >= len(m.contracts):
            raise refused(codes.INVALID_OUTCOME)
        return int(m.contracts[index].id)

    def claim_slug(self, slug: str) -> None:
        """Refuse a slug in use, or claimed by a market created here and not projected yet;
        else claim it. No await between the check and the claim: two requests for one slug
        cannot both pass (the store alone would let the second through until it projects)."""
        with self.db.connect() as conn:
            taken = conn.execute(sa.select(t.markets.c.id).where(t.markets.c.slug == slug)).first()
        if taken is not None or slug in self.claimed_slugs:
            raise Refused("slug_taken", "A market already uses this slug.")
        self.claimed_slugs.add(slug)

    async def create_under(self, slug: str, command: cmd.CreateMarket, actor: int) -> Outcome:
        """Execute a CreateMarket under `slug`: claimed first, released unless created."""
        self.claim_slug(slug)
        try:
            outcome = await self.execute(command, actor)
        except BaseException:
            self.claimed_slugs.discard(slug)
            raise
        if not outcome.ok:
            self.claimed_slugs.discard(slug)
            raise refused(outcome.code)
        return outcome

    async def create_market(self, body: MarketIn, actor: int) -> dict[str, Any]:
        if len(body.outcomes) != len(set(body.outcomes)):
            raise Refused("invalid_request", "outcome names must differ")
        market_id = max(self.engine.markets, default=0) + 1
        meta = {"slug": body.slug, "question": body.question, "description": body.description,
                "category": body.category, "tags": body.tags, "outcomes": body.outcomes,
                "rules": body.rules, "resolution_deadline_ms": body.resolution_deadline_ms,
                "actor": actor}
        command = cmd.CreateMarket(
            0, market_id, len(body.outcomes), parse_micro(body.tick), body.size_max,
            body.maker_fee_ppm, body.taker_fee_ppm, body.creator_id or 0, body.creator_share_ppm,
            body.close_ms, body.void_yes and parse_micro(body.void_yes) or 500_000,
            open_now=True, meta=json.dumps(meta))
        outcome = await self.create_under(body.slug, command, actor)
        await services_pools.fund_after_create(self, market_id, body.subsidy, actor)
        return {"id": market_id, "contract_ids": outcome.value, "slug": body.slug}

    async def set_market_status(self, market_id: int, status: str, reason: str,
                                actor: int) -> dict[str, Any]:
        code = {"open": mk.OPEN, "halted": mk.HALTED, "closed": mk.CLOSED}[status]
        outcome = await self.execute(cmd.SetMarketStatus(0, market_id, code, reason), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return {"id": market_id, "status": status}

    async def settle(self, market_id: int, winner: int, actor: int) -> dict[str, Any]:
        outcome = await self.execute(cmd.SettleMarket(0, market_id, winner), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        paid = [ev.as_dict(e) for e in outcome.events if e[0] == ev.PAYOUT]
        return {"id": market_id, "status": "settled", "winner_index": winner,
                "payouts": [{"account_id": p["account"], "amount": present.amount(
                    p["amount_micro"])} for p in paid]}

    async def void(self, market_id: int, reason: str, actor: int) -> dict[str, Any]:
        outcome = await self.execute(cmd.VoidMarket(0, market_id, reason), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return {"id": market_id, "status": "voided"}

    def book(self, contract_id: int, depth: int) -> dict[str, Any]:
        if contract_id not in self.engine.contracts:
            raise refused(codes.UNKNOWN_CONTRACT)
        return self.hub.books.setdefault(contract_id, Book()).snapshot(contract_id, depth)

    # -- orders -------------------------------------------------------------------------------

    def order_command(self, p: Principal, body: OrderIn) -> cmd.PlaceOrder:
        contract = self.contract_for(body.market_id, body.contract_id, body.outcome_index)
        try:
            price_micro = parse_micro(body.price) if body.price is not None else 0
            spend_micro = parse_micro(body.spend) if body.spend is not None else 0
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        order_type = LIMIT if body.type == "limit" else MARKET
        if order_type == LIMIT and body.price is None:
            raise Refused(codes.INVALID_PRICE, "a limit order needs a price")
        if body.spend is None and body.size is None:
            raise Refused(codes.SIZE_OUT_OF_RANGE, "give a size (or spend for a market buy)")
        flags = (FLAG_POST_ONLY if body.post_only else 0) | (
            FLAG_REDUCE_ONLY if body.reduce_only else 0)
        return cmd.PlaceOrder(
            0, p.user_id, contract, 0 if body.outcome == "yes" else 1,
            0 if body.side == "buy" else 1, body.size or 0, price_micro, order_type,
            TIF_NAMES.index(body.tif), body.expire_at_ms or 0, flags,
            STP_NAMES.index(body.stp), spend_micro, body.client_order_id or "",
            body.order_group_id or 0)

    async def place(self, p: Principal, body: OrderIn) -> dict[str, Any]:
        outcome = self.place_nowait(p, body)
        await self.durable(outcome)
        return self.placed(outcome)

    async def place_many(self, p: Principal, bodies: list[OrderIn]) -> list[dict[str, Any]]:
        """Sequence every order at once, answer each when the last is durable."""
        outcomes: list[Outcome | Refused] = []
        for body in bodies:
            try:
                outcomes.append(self.place_nowait(p, body))
            except Refused as exc:
                outcomes.append(exc)
        last = [o for o in outcomes if isinstance(o, Outcome)]
        if last:
            await self.durable(last[-1])
        results: list[dict[str, Any]] = []
        for outcome in outcomes:
            try:
                if isinstance(outcome, Refused):
                    raise outcome
                results.append({"ok": True, "order": self.placed(outcome)})
            except Refused as exc:
                results.append({"ok": False, "error": {"code": exc.code, "message": exc.message,
                                                       "details": exc.details}})
        return results

    def place_nowait(self, p: Principal, body: OrderIn) -> Outcome:
        """Submit an order; the caller answers with `placed(outcome)` once it is durable."""
        group = self._group_for(p, body.order_group_id)
        command = self.order_command(p, body)
        expected = self.engine.next_id
        if group is not None:
            # The id the engine gives this order if it accepts it: registered before the
            # command runs, so the group also counts the fills the order takes on arrival.
            group.orders.add(expected)
            self.order_group[expected] = group.id
        outcome = self.submit(command, p.user_id)
        if not outcome.ok and group is not None:
            group.orders.discard(expected)
            self.order_group.pop(expected, None)
        return outcome

    def placed(self, outcome: Outcome) -> dict[str, Any]:
        """The answer to a durable order command: the order's view, or the refusal raised."""
        if not outcome.ok:
            details = {"order_id": outcome.value} if isinstance(outcome.value, int) else None
            raise refused(outcome.code, details)
        view = present.order_from_outcome(outcome.events, outcome.value)
        command = outcome.command
        assert isinstance(command, cmd.PlaceOrder)
        view["market_id"] = self.engine.contracts[command.contract].market.id
        return view

    async def cancel(self, p: Principal, order_id: int) -> dict[str, Any]:
        outcome = await self.execute(cmd.CancelOrder(0, p.user_id, order_id), p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return present.order_from_outcome(outcome.events, order_id) | {"id": order_id}

    async def cancel_all(self, p: Principal, market_id: int | None) -> dict[str, Any]:
        outcome = await self.execute(cmd.CancelAll(0, p.user_id, market_id or 0), p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        done = [e[2] for e in outcome.events if e[0] == ev.ORDER_DONE]
        return {"cancelled": len(done), "order_ids": done}

    async def amend(self, p: Principal, order_id: int, price: str | None,
                    size: int | None) -> dict[str, Any]:
        try:
            price_micro = parse_micro(price) if price is not None else 0
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        command = cmd.AmendOrder(0, p.user_id, order_id, price_micro, size or 0)
        outcome = await self.execute(command, p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        live = self.engine.orders.get(order_id)
        if live is not None:
            return present.live_order(live)
        return present.order_from_outcome(outcome.events, order_id)

    def live_order(self, p: Principal, order_id: int) -> dict[str, Any] | None:
        o = self.engine.orders.get(order_id)
        if o is None or o.account.id != p.user_id:
            return None
        view = present.live_order(o)
        view["queue_position"] = dict(zip(("orders_ahead", "shares_ahead"),
                                          _queue(o), strict=True))
        return view

    def open_orders(self, p: Principal, market_id: int | None) -> list[dict[str, Any]]:
        a = self.engine.accounts.get(p.user_id)
        if a is None:
            return []
        return [present.live_order(o) for o in a.orders.values()
                if market_id is None or o.contract.market.id == market_id]

    def quote(self, p: Principal, body: OrderIn) -> dict[str, Any]:
        from foretell.engine.quote import quote

        command = self.order_command(p, body)
        try:
            return quote(self.engine, command)
        except Reject as rejected:
            raise refused(rejected.code, rejected.detail or None) from None

    # -- triggers -----------------------------------------------------------------------------

    async def place_trigger(self, p: Principal, body: TriggerIn) -> list[dict[str, Any]]:
        contract = self.contract_for(body.market_id, body.contract_id, body.outcome_index)
        try:
            tp, sl, trail, limit = (parse_micro(v) if v is not None else 0 for v in (
                body.take_profit, body.stop_loss, body.trail, body.limit_price))
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        command = cmd.PlaceTrigger(0, p.user_id, contract, 0 if body.outcome == "yes" else 1,
                                   body.size, tp, sl, trail, limit, body.client_order_id or "")
        outcome = await self.execute(command, p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return [present.live_trigger(self.engine.triggers[i]) for i in outcome.value
                if i in self.engine.triggers]

    async def cancel_trigger(self, p: Principal, trigger_id: int) -> dict[str, Any]:
        outcome = await self.execute(cmd.CancelTrigger(0, p.user_id, trigger_id), p.user_id)
        if not outcome.ok:
            raise refused(codes.UNKNOWN_TRIGGER if outcome.code == codes.NOT_OWNER
                          else outcome.code)
        return {"id": trigger_id, "status": "cancelled"}

    def triggers(self, p: Principal) -> list[dict[str, Any]]:
        a = self.engine.accounts.get(p.user_id)
        return [] if a is None else [present.live_trigger(t) for t in a.triggers.values()]

    # -- risk controls for bots ---------------------------------------------------------------

    async def create_group(self, p: Principal, contracts_limit: int,
                           window_s: int) -> dict[str, Any]:
        # The id is taken on the loop, before any await: one id each.
        group_id = max(self.groups, default=0) + 1
        g = OrderGroup(group_id, p.user_id, contracts_limit, window_s * 1000)
        self.groups[group_id] = g
        try:
            await self.off_loop(partial(self._insert_group, g))
        except BaseException:
            self.groups.pop(group_id, None)
            raise
        return self.group_view(g)

    def _insert_group(self, g: OrderGroup) -> None:
        with self.db.begin() as conn:
            conn.execute(t.order_groups.insert().values(
                id=g.id, account_id=g.account_id, contracts_limit=g.contracts_limit,
                window_ms=g.window_ms, triggered=False, created_ms=self.clock()))

    async def reset_group(self, g: OrderGroup) -> dict[str, Any]:
        await self.off_loop(partial(self._store_triggered, g, False))
        g.fills.clear()
        return self.group_view(g)

    def _store_triggered(self, g: OrderGroup, triggered: bool) -> None:
        g.triggered = triggered
        with self.db.begin() as conn:
            conn.execute(t.order_groups.update().where(t.order_groups.c.id == g.id)
                         .values(triggered=triggered))

    def _load_groups(self) -> tuple[dict[int, OrderGroup], dict[int, int]]:
        """Groups from before a restart, and their open orders (their fills in the window are
        not kept: the window starts afresh)."""
        groups: dict[int, OrderGroup] = {}
        order_group: dict[int, int] = {}
        with self.db.connect() as conn:
            for r in conn.execute(sa.select(t.order_groups)):
                groups[r.id] = OrderGroup(r.id, r.account_id, r.contracts_limit, r.window_ms,
                                          triggered=r.triggered)
            members = conn.execute(sa.select(t.orders.c.id, t.orders.c.group_id).where(
                t.orders.c.status == "open", t.orders.c.group_id.is_not(None)))
            for order_id, group_id in members:
                if group_id in groups and order_id in self.engine.orders:
                    groups[group_id].orders.add(order_id)
                    order_group[order_id] = group_id
        return groups, order_group

    def group_view(self, g: OrderGroup) -> dict[str, Any]:
        return {"id": g.id, "contracts_limit": g.contracts_limit, "window_s": g.window_ms // 1000,
                "open_orders": sorted(o for o in g.orders if o in self.engine.orders),
                "triggered": g.triggered}

    def _group_for(self, p: Principal, group_id: int | None) -> OrderGroup | None:
        if group_id is None:
            return None
        g = self.groups.get(group_id)
        if g is None or g.account_id != p.user_id:
            raise Refused("unknown_order_group", "No such order group.")
        if g.triggered:
            raise Refused("order_group_triggered",
                           "The group hit its contract limit; reset it before adding orders.")
        return g

    def _after_publish(self, outcome: Outcome) -> None:
        """Order-group limits react to durable fills (on the loop, after the hub)."""
        for e in outcome.events:
            if e[0] != ev.FILL:
                continue
            for order_id in (e[6], e[11]):
                group_id = self.order_group.get(order_id)
                g = self.groups.get(group_id) if group_id else None
                if g is not None and not g.triggered and g.filled(e[1], e[4]):
                    g.triggered = True
                    asyncio.ensure_future(self._cancel_group(g, store=True))

    async def _cancel_group(self, g: OrderGroup, store: bool = False) -> None:
        """Cancel a triggered group's orders. `triggered` is stored first (off the loop), so
        a restart before the cancels are durable finishes them (see `attach`)."""
        if store:
            try:
                await asyncio.to_thread(self._store_triggered, g, True)
            except Exception:  # the cancels matter more than the record of them
                log.exception("storing that order group %d triggered failed", g.id)
        ids = sorted(g.orders)
        for order_id in ids:
            if order_id in self.engine.orders:
                await self.execute(cmd.CancelOrder(0, g.account_id, order_id))
        g.orders.difference_update(ids)  # not those added after a reset meanwhile

    def arm_dead_man(self, p: Principal, timeout_s: int) -> dict[str, Any]:
        if timeout_s == 0:
            self._forget_dead_man(p.user_id)
            self.dead_man.pop(p.user_id, None)
            return {"armed": False}
        due = self.clock() + timeout_s * 1000
        self._store_dead_man(p.user_id, (due, timeout_s))
        self.dead_man[p.user_id] = (due, timeout_s)
        return {"armed": True, "timeout_s": timeout_s, "cancel_at_ms": due}

    def _store_dead_man(self, account_id: int, switch: tuple[int, int]) -> None:
        # One statement, so that two renewals at once (REST runs in a threadpool) both land.
        with self.db.begin() as conn:
            upsert(conn, t.dead_man_switches, ("account_id",), [
                {"account_id": account_id, "due_ms": switch[0], "timeout_s": switch[1]}])

    def _forget_dead_man(self, account_id: int, due_ms: int | None = None) -> None:
        """Disarmed (any switch of the account), or fired (only that one: not a renewal)."""
        table = t.dead_man_switches
        where = [table.c.account_id == account_id]
        if due_ms is not None:
            where.append(table.c.due_ms == due_ms)
        with self.db.begin() as conn:
            conn.execute(table.delete().where(*where))

    def _load_dead_man(self) -> dict[int, tuple[int, int]]:
        """The switches armed before a restart; one already due fires at the first tick."""
        table = t.dead_man_switches
        with self.db.connect() as conn:
            return {r.account_id: (r.due_ms, r.timeout_s) for r in conn.execute(sa.select(table))}

    # -- accounts -----------------------------------------------------------------------------

    def create_user(self, username: str, password: str, role: str = "trader",
                    display_name: str | None = None) -> int:
        with self.db.begin() as conn:
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first():
                raise Refused("username_taken", "That username is taken.")
            result = conn.execute(t.users.insert().values(
                username=username, display_name=display_name or username, email=None,
                password_hash=hash_password(password), role=role, created_ms=self.clock(),
                disabled=False))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    async def credit(self, account_id: int, amount_micro: int, reason: str,
                     actor: int) -> dict[str, Any]:
        if amount_micro >= 0:
            command: cmd.Command = cmd.Deposit(0, account_id, amount_micro, reason)
        else:
            command = cmd.Withdraw(0, account_id, -amount_micro, reason)
        outcome = await self.execute(command, actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return self.balance(account_id)

    def user(self, user_id: int) -> dict[str, Any] | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).mappings().first()
        return None if row is None else {k: row[k] for k in (
            "id", "username", "display_name", "role", "created_ms")}

    def login(self, username: str, password: str) -> tuple[str, str, int]:
        """(session token, csrf token, user id), or `Refused` (unauthenticated)."""
        with self.db.connect() as conn:
            row = conn.execute(sa.select(t.users).where(
                t.users.c.username == username)).mappings().first()
        if row is None or row["disabled"] or not check_password(row["password_hash"], password):
            raise Refused("unauthenticated", "Wrong username or password.")
        return (*self.new_session(int(row["id"])), int(row["id"]))

    def new_session(self, user_id: int) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(t.sessions.insert().values(
                id=sha256_hex(token), user_id=user_id, csrf_token=csrf, created_ms=now,
                expires_ms=now + self.settings.session_ttl_ms))
        return token, csrf

    def session(self, token: str) -> tuple[int, str, str] | None:
        """(user id, role, csrf token) of a live session; cached, dropped on logout."""
        key = sha256_hex(token)
        cached = self.session_cache.get(key)
        if cached is not None and cached[3] >= self.clock():
            return cached[0], cached[1], cached[2]
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.sessions.c.user_id, t.sessions.c.csrf_token,
                          t.sessions.c.expires_ms, t.users.c.role, t.users.c.disabled)
                .join(t.users, t.users.c.id == t.sessions.c.user_id)
                .where(t.sessions.c.id == sha256_hex(token))).mappings().first()
        if row is None or row["expires_ms"] < self.clock() or row["disabled"]:
            return None
        if len(self.session_cache) > 10_000:
            self.session_cache.clear()
        self.session_cache[key] = (int(row["user_id"]), str(row["role"]),
                                   str(row["csrf_token"]), int(row["expires_ms"]))
        return int(row["user_id"]), str(row["role"]), str(row["csrf_token"])

    def forget_user(self, user_id: int) -> None:
        """Drop cached sessions and keys of a user whose role changed; the user's live
        WebSockets check their credential again."""
        self.session_cache = {k: v for k, v in self.session_cache.items() if v[0] != user_id}
        self.key_cache = {k: v for k, v in self.key_cache.items()
                          if v is None or v[0] != user_id}
        self._on_loop(partial(self.hub.account_changed, user_id))

    def logout(self, token: str) -> None:
        self.session_cache.pop(sha256_hex(token), None)
        with self.db.begin() as conn:
            conn.execute(t.sessions.delete().where(t.sessions.c.id == sha256_hex(token)))
        self._on_loop(partial(self.hub.revoke, "s:" + sha256_hex(token), "logged_out"))

    def _on_loop(self, call: Callable[[], None]) -> None:
        """Run `call` on the event loop: now when on it, else next (routes that are plain
        functions run on worker threads; the hub is the loop's alone)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            call()
        else:
            loop.call_soon_threadsafe(call)

    def create_key(self, user_id: int, label: str, scopes: list[str]) -> dict[str, Any]:
        key_id = "ft_" + secrets.token_hex(8)
        secret = derive_secret(self.master_key, key_id)
        with self.db.begin() as conn:
            conn.execute(t.api_keys.insert().values(
                key_id=key_id, user_id=user_id, secret_hash=sha256_hex(secret),
                scopes=",".join(sorted(set(scopes))), label=label, created_ms=self.clock()))
        return {"key_id": key_id, "secret": secret, "scopes": sorted(set(scopes)),
                "label": label, "note": "The secret is shown once; store it now."}

    def keys(self, user_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.api_keys).where(
                t.api_keys.c.user_id == user_id).order_by(t.api_keys.c.id)).mappings().all()
        return [{"key_id": r["key_id"], "label": r["label"], "scopes": r["scopes"].split(","),
                 "created_ms": r["created_ms"], "revoked_ms": r["revoked_ms"],
                 "last_used_ms": r["last_used_ms"]} for r in rows]

    def revoke_key(self, user_id: int, key_id: str) -> bool:
        with self.db.begin() as conn:
            result = conn.execute(t.api_keys.update().where(
                (t.api_keys.c.key_id == key_id) & (t.api_keys.c.user_id == user_id)
                & t.api_keys.c.revoked_ms.is_(None)).values(revoked_ms=self.clock()))
        self.key_cache.pop(key_id, None)
        if result.rowcount:
            self._on_loop(partial(self.hub.revoke, "k:" + key_id, "api_key_revoked"))
        return bool(result.rowcount)

    def key(self, key_id: str) -> tuple[int, str, frozenset[str]] | None:
        """(user id, role, scopes) of a live API key; cached, dropped on revoke."""
        if key_id in self.key_cache:
            return self.key_cache[key_id]
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.api_keys.c.user_id, t.api_keys.c.scopes, t.api_keys.c.revoked_ms,
                          t.api_keys.c.secret_hash, t.users.c.role, t.users.c.disabled)
                .join(t.users, t.users.c.id == t.api_keys.c.user_id)
                .where(t.api_keys.c.key_id == key_id)).mappings().first()
        found = None
        if (row is not None and row["revoked_ms"] is None and not row["disabled"]
                and row["secret_hash"] == sha256_hex(derive_secret(self.master_key, key_id))):
            found = (int(row["user_id"]), str(row["role"]), frozenset(row["scopes"].split(",")))
        if len(self.key_cache) > 10_000:
            self.key_cache.clear()
        self.key_cache[key_id] = found
        return found

    # -- portfolio (live state from the engine) -----------------------------------------------

    def balance(self, account_id: int) -> dict[str, Any]:
        a = self.engine.accounts.get(account_id)
        if a is None:
            return {"account_id": account_id, "free": present.amount(0),
                    "reserved": present.amount(0), "total": present.amount(0),
                    "reserved_for": []}
        reserved_for = [{"order_id": o.id, "contract_id": o.contract.id,
                         "market_id": o.contract.market.id, "amount": present.amount(o.reserved),
                         "why": f"buy {o.remaining} {('YES', 'NO')[o.outcome]} at "
                                f"{present.price(o.out_price)} plus worst-case fee"}
                        for o in a.orders.values() if o.action == 0 and o.reserved]
        return {"account_id": account_id, "free": present.amount(a.free),
                "reserved": present.amount(a.reserved),
                "total": present.amount(a.free + a.reserved), "reserved_for": reserved_for}


class _Tracking:
    """The projector, remembering the last seq it committed (for read-your-writes)."""

    def __init__(self, projector: Projector | ProjectorProcess, applied_seq: int) -> None:
        self.projector = projector
        self.applied_seq = applied_seq

    def apply(self, outcomes: Any) -> int:
        applied = self.projector.apply(outcomes)
        if outcomes:
            self.applied_seq = max(self.applied_seq, outcomes[-1].seq)
        return applied


def _queue(o: Any) -> tuple[int, int]:
    from foretell.engine.book import queue_position

    return queue_position(o)


def _resolve(future: asyncio.Future[Any], result: Outcome | BaseException) -> None:
    if future.done():  # the request was cancelled (client gone)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _call(waiter: Callable[[Outcome | BaseException], None],
          result: Outcome | BaseException) -> None:
    try:
        waiter(result)
    except Exception:  # one broken reply must not strand the others in the batch
        log.exception("answering a durable command failed")
