"""Load the demo into an empty exchange, and keep its books alive with a market maker.

Everything goes through the same journaled commands a real operator would issue, so the demo is
replayed, audited and projected like any other data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from typing import Any

import msgspec
import sqlalchemy as sa

from foretell.demo import content
from foretell.domain import commands as cmd
from foretell.domain.orders import FLAG_POST_ONLY, LIMIT, MARKET
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.journal.log import read_records, sync_directory
from foretell.services import Services
from foretell.store import schema as t

log = logging.getLogger(__name__)


def _rules(m: content.DemoMarket) -> dict[str, Any]:
    return {
        "resolution_sources": list(m.resolution_sources),
        "resolution_criteria": m.resolution_criteria,
        "ambiguity": m.ambiguity_rule,
        "postponement": m.postponement_rule,
        "cancellation": m.cancellation_rule,
    }


def market_meta(m: content.DemoMarket, users: dict[str, int]) -> dict[str, Any]:
    return {
        "slug": m.slug, "question": m.question, "description": m.description,
        "close_ms": m.close_ms,
        "category": m.category, "tags": list(m.tags), "outcomes": list(m.outcomes),
        "kind": m.kind, "rules": _rules(m), "resolution_deadline_ms": m.resolution_deadline_ms,
        "creator": m.creator,
        "history": [{"at_ms": h.at_ms, "actor": h.actor, "action": h.action, "note": h.note,
                     "bond": h.bond_micro} for h in m.history],
        "clarifications": [{"at_ms": c.at_ms, "author": c.author, "text": c.text}
                           for c in m.clarifications],
        "resolution": None if m.resolution is None else {
            "winning_outcome": m.resolution.winning_outcome,
            "evidence_note": m.resolution.evidence_note,
            "evidence_link": m.resolution.evidence_link,
            "proposed_by": m.resolution.proposed_by},
    }


# -- loading, resumably --------------------------------------------------------------------
#
# The demo is loaded by one deterministic sequence of steps: SQL-only ones (users, the creator's
# approval) and journaled engine commands (deposits, markets and their recorded lifecycles).
# A kill -9 may stop it anywhere, so whether it is loaded is not guessed from the store: a state
# file next to the journal says "loading" (written before the first step, only on an empty
# exchange) or "loaded" (written last, once every command is durable and projected). While it
# says "loading", each start runs the sequence again and every step checks whether it is done:
# - users and the approval by username in the store (each is one SQL transaction);
# - commands from the journal itself: nothing but the loader writes to the journal before the
#   demo is loaded (the server serves no request and runs no periodic task until then), so the
#   commands journaled since the load began are exactly the steps already done, in order. Each
#   is compared with the step it stands for, and skipped; the rest are executed. The engine
#   (replayed from the journal) and the store (projected from it, exactly once) already hold
#   the effects of the skipped ones.

CRASH_AFTER_STEP_ENV = "FORETELL_DEMO_CRASH_AFTER_STEP"
"""Fault injection, for the crash tests only: when set to N, the loader ends the process with
`os._exit(CRASH_EXIT_CODE)` right after performing step N (1-based, counted over the whole load:
users, the creator's approval, then each engine command, then "everything projected" as the
last step, before the "loaded" marker). Steps skipped because an earlier run did them never
fire it. Never set it outside tests."""
CRASH_EXIT_CODE = 86
STATE_FILE = "demo-load.json"
LOADING, LOADED = "loading", "loaded"
projection_wait_s = 60.0
NO_PASSWORD = "!bot: no login"
"""The password hash of the bots: not an Argon2 hash, so no password ever matches it."""


class DemoLoadError(RuntimeError):
    """The journal does not hold what an interrupted demo load would have written."""


def is_empty(svc: Services) -> bool:
    """No account, no journaled command: a first start."""
    with svc.db.connect() as conn:
        users = conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one()
    return users == 0 and svc.pipeline.seq == 0


def read_state(svc: Services) -> dict[str, Any]:
    path = svc.settings.data / STATE_FILE
    if not path.exists():
        return {}
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _write_state(svc: Services, state: dict[str, Any]) -> None:
    """Atomically, durably: a crash leaves the old state or the new one."""
    path = svc.settings.data / STATE_FILE
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sync_directory(svc.settings.data)


async def ensure_demo(svc: Services) -> str | None:
    """Load the demo on a first start, or finish a load a crash interrupted.

    Returns "loaded" (loaded or finished now), "present" (loaded by an earlier start) or None
    (not a demo exchange: it had accounts or commands before the demo was ever started)."""
    state = read_state(svc)
    if state.get("state") == LOADED:
        return "present"
    if not state:
        if not is_empty(svc):
            return None
        state = {"state": LOADING, "after_seq": svc.pipeline.seq,
                 "first_market": max(svc.engine.markets, default=0) + 1}
        _write_state(svc, state)
    else:
        log.warning("demo: finishing a load that was interrupted")
    loader = _Loader(svc, int(state["after_seq"]), int(state["first_market"]))
    await loader.run()
    _write_state(svc, {**state, "state": LOADED})
    log.info("demo loaded: %d users, %d bots, %d markets", len(content.USERS),
             len(content.BOTS), len(content.MARKETS))
    return "loaded"


def step_count() -> int:
    """Steps of a whole load (see `CRASH_AFTER_STEP_ENV`), counted by a dry run."""
    return _Loader(None, 0, 1).dry_run()


class _Loader:
    def __init__(self, svc: Services | None, after_seq: int, first_market: int) -> None:
        self.svc = svc
        self.first_market = first_market
        self.done: list[cmd.Command] = []
        if svc is not None:
            self.done = [c for c in (cmd.decode(payload) for _, payload in
                                     read_records(svc.settings.journal_dir, after_seq))
                         if type(c) is not cmd.Timer]  # due timers are the pipeline's own
        self.next_done = 0
        self.step = 0
        self.crash_after = int(os.environ.get(CRASH_AFTER_STEP_ENV, "0") or 0)
        self.users: dict[str, int] = {}

    def dry_run(self) -> int:
        """Count the steps without a service: users and markets get made-up ids."""
        self.users = {name: i for i, name in enumerate(_usernames(), start=1)}
        self.step = len(self.users) + 1  # users, the approval
        asyncio.run(self._commands())
        return self.step + 1  # everything projected

    def _stepped(self, performed: bool) -> None:
        self.step += 1
        if performed and self.step == self.crash_after:
            log.warning("demo: crash hook %s=%d: exiting", CRASH_AFTER_STEP_ENV, self.step)
            logging.shutdown()
            os._exit(CRASH_EXIT_CODE)

    async def run(self) -> None:
        svc = self.svc
        assert svc is not None
        for u in content.USERS:
            self.users[u.username] = self._user(svc, u.username, u.password, u.role,
                                                u.display_name)
        for b in content.BOTS:
            self.users[b.username] = self._bot(svc, b)
        self._stepped(_approved_creators(svc, self.users))
        await self._commands()
        if self.next_done != len(self.done):
            raise DemoLoadError(f"the journal holds {len(self.done) - self.next_done} commands "
                                "after the demo load's last step")
        await _projected(svc)
        self._stepped(True)

    def _user(self, svc: Services, username: str, password: str, role: str,
              display_name: str) -> int:
        with svc.db.connect() as conn:
            found = conn.execute(sa.select(t.users.c.id).where(
                t.users.c.username == username)).scalar_one_or_none()
        user_id = svc.accounts.create_user(username, password, role, display_name) if found is None \
            else int(found)
        self._stepped(found is None)
        return user_id

    def _bot(self, svc: Services, bot: content.DemoBot) -> int:
        """A bot's account: its login disabled, and a password hash no password matches."""
        with svc.db.begin() as conn:
            found = conn.execute(sa.select(t.users.c.id).where(
                t.users.c.username == bot.username)).scalar_one_or_none()
            if found is None:
                key = conn.execute(t.users.insert().values(
                    username=bot.username, display_name=bot.display_name, email=None,
                    password_hash=NO_PASSWORD, role="trader", created_ms=svc.clock(),
                    disabled=True)).inserted_primary_key
                assert key is not None
                user_id = int(key[0])
            else:
                user_id = int(found)
        self._stepped(found is None)
        return user_id

    async def execute(self, command: cmd.Command) -> Outcome | None:
        """Journal and apply `command`, or skip it if an interrupted load already did.

        None when skipped (or in a dry run)."""
        if self.svc is None:
            self._stepped(False)
            return None
        if self.next_done < len(self.done):
            journaled = self.done[self.next_done]
            self.next_done += 1
            if not _same(command, journaled):
                raise DemoLoadError(f"step {self.step + 1}: the journal holds {journaled!r}, "
                                    f"the demo load would write {command!r}")
            self._stepped(False)
            return None
        outcome = await self.svc.execute(command)
        self._stepped(True)
        return outcome

    async def _commands(self) -> None:
        for name, amount in _funding():
            await self.execute(cmd.Deposit(0, self.users[name], amount, DEPOSIT_REASON))
        for i, m in enumerate(content.MARKETS):
            await self._market(m, self.first_market + i)

    async def _market(self, m: content.DemoMarket, market_id: int) -> None:
        """Create the market and replay its recorded lifecycle as real engine commands."""
        users = self.users
        creator = users[m.creator]
        # A market whose close time is already past is closed by hand after its demo trades, so
        # the scheduled close is left out of the engine (the close time is still shown from meta).
        now = self.svc.clock() if self.svc is not None else 0
        close_ms = m.close_ms if m.close_ms > now else 0
        outcome = await self.execute(cmd.CreateMarket(
            0, market_id, len(m.outcomes), m.tick_micro, 1_000_000, m.maker_fee_ppm,
            m.taker_fee_ppm, creator, m.creator_share_ppm, close_ms, m.void_yes_micro,
            open_now=False, meta=json.dumps(market_meta(m, users)), actor=creator))
        _ok(outcome, "create")
        pools = self.svc.settings.demo_pools if self.svc is not None else True
        if m.status == "open" and m.subsidy_usdc and pools:
            fair = m.contract_fair_yes_micro
            weights = fair if len(fair) > 1 else (fair[0], MICRO - fair[0])
            _ok(await self.execute(cmd.FundPool(0, market_id, creator, m.subsidy_usdc * MICRO,
                                                500_000, tuple(weights))), "fund the pool")
        for h in m.history:
            action = _ACTIONS.get(h.action)
            if action is not None:
                await self._step(market_id, action, users.get(h.actor, creator), h.note)
        for c in m.clarifications:
            await self._step(market_id, "clarify", users.get(c.author, creator), "clarification",
                             c.text)
        if m.status == "settled" and m.resolution is not None:
            await self._trade_then_settle(m, market_id)

    async def _step(self, market_id: int, action: str, actor: int, reason: str,
                    text: str = "") -> None:
        _ok(await self.execute(cmd.MarketAction(0, market_id, action, actor, reason[:1_000],
                                                text)), action)

    async def _trade_then_settle(self, m: content.DemoMarket, market_id: int) -> None:
        """Real trading between the demo's takers (never a README login), then the recorded
        resolution: proposal, dispute, decision, settlement."""
        users = self.users
        engine = self.svc.engine if self.svc is not None else None
        contract = engine.markets[market_id].contracts[0].id if engine is not None else 0
        traders = [users[name] for name in content.TAKERS]
        fair = m.contract_fair_yes_micro[0]
        for i, (buyer, seller) in enumerate(zip(traders, traders[1:] + traders[:1],
                                                strict=True)):
            price = fair + (i - 1) * m.tick_micro
            await self.execute(cmd.PlaceOrder(0, buyer, contract, 0, 0, 40 + 10 * i, price))
            await self.execute(cmd.PlaceOrder(0, seller, contract, 1, 0, 40 + 10 * i,
                                              MICRO - price))
        assert m.resolution is not None
        winner = m.outcomes.index(m.resolution.winning_outcome)
        supervisor = users[content.SUPERVISOR]
        await self._step(market_id, "close", supervisor, "close time reached")
        evidence = f"{m.resolution.evidence_note} {m.resolution.evidence_link}"
        await self.execute(cmd.ProposeResolution(0, market_id, winner,
                                                 users[m.resolution.proposed_by], 0, evidence))
        disputes = [h for h in m.history if h.action == "disputed"]
        bond = engine.markets[market_id].dispute_bond_micro if engine is not None else 0
        for h in disputes:
            await self.execute(cmd.Dispute(0, market_id, users[h.actor], bond, h.note))
        decision = next((h for h in m.history if h.action.startswith("dispute_")), None)
        if disputes and decision is not None:
            upheld = decision.action == "dispute_upheld"
            await self.execute(cmd.DecideDispute(0, market_id, upheld, winner, supervisor,
                                                 decision.note))
        else:
            await self.execute(cmd.SettleMarket(0, market_id, winner))


DEPOSIT_REASON = "demo starting balance"
_ACTIONS = {"submitted": "submit", "resubmitted": "submit", "changes_requested":
            "request_changes", "approved": "approve"}


def _usernames() -> list[str]:
    return [u.username for u in content.USERS] + [b.username for b in content.BOTS]


def _funding() -> list[tuple[str, int]]:
    """(username, starting cash) of every funded demo account, in load order."""
    return [(u.username, u.starting_usdc_micro) for u in content.USERS if u.starting_usdc_micro] \
        + [(b.username, b.starting_usdc_micro) for b in content.BOTS]


def _same(planned: cmd.Command, journaled: cmd.Command) -> bool:
    """The journaled command is the planned one, but for its stamp (and a close time that may
    have passed between the crash and the restart)."""
    if type(planned) is not type(journaled):
        return False
    changes: dict[str, Any] = {"ts_ms": journaled.ts_ms}
    if isinstance(journaled, cmd.CreateMarket):
        changes["close_ms"] = journaled.close_ms
    return bool(msgspec.structs.replace(planned, **changes) == journaled)


def _ok(outcome: Outcome | None, what: str) -> None:
    assert outcome is None or outcome.ok, (what, outcome.code)


def _approved_creators(svc: Services, users: dict[str, int]) -> bool:
    """The demo creator went through the creator program like anyone else. True if it wrote."""
    now = svc.clock()
    wrote = False
    with svc.db.begin() as conn:
        for u in content.USERS:
            if u.role != "creator":
                continue
            apps = t.creator_applications.c
            if conn.execute(sa.select(apps.id).where(apps.user_id == users[u.username],
                                                     apps.status == "approved")).first():
                continue
            conn.execute(t.creator_applications.insert().values(
                user_id=users[u.username], profile=u.profile or u.display_name,
                expertise=", ".join(u.expertise)[:200] or "markets", status="approved",
                reason="Track record and sourcing standards checked (demo).",
                created_ms=now, decided_ms=now, decided_by=users[content.SUPERVISOR]))
            wrote = True
    return wrote


async def _projected(svc: Services) -> None:
    """Wait (bounded) until the store has projected every durable command: then the markets
    are listed as soon as the demo says it is loaded. If the projector is slow, the marker is
    written anyway: it projects every journaled command exactly once, restart or not."""
    deadline = time.monotonic() + projection_wait_s
    while svc.node.health()["projected_seq"] < svc.pipeline.committer.durable_seq:
        if time.monotonic() > deadline:
            log.warning("demo: the store is still projecting the demo's commands")
            return
        await asyncio.sleep(0.02)


async def run_market_maker(svc: Services, period_s: float = 1.5, seed: int = 7) -> None:
    """Keep two-sided quotes around a drifting fair price in every open demo book, and let the
    demo's takers hit them now and then, so a newcomer sees a live market. Everything trades
    from the bots' own accounts (`content.BOTS`), never from a README login."""
    rng = random.Random(seed)
    with svc.db.connect() as conn:
        ids = dict(conn.execute(sa.select(t.users.c.username, t.users.c.id)).tuples().all())
    maker = ids.get(content.MARKET_MAKER)
    takers = [ids[name] for name in content.TAKERS if name in ids]
    if maker is None:
        return
    fair: dict[int, int] = {}
    for m_id, market in svc.engine.markets.items():
        demo = _demo_for(svc, m_id)
        prices = demo.contract_fair_yes_micro if demo else (500_000,) * len(market.contracts)
        for c, p in zip(market.contracts, prices, strict=False):
            fair[c.id] = p
    while True:
        for m_id, market in list(svc.engine.markets.items()):
            if market.status != 1:
                continue
            await svc.execute(cmd.CancelAll(0, maker, m_id, "requote"))
            for c in market.contracts:
                fair[c.id] = _drift(rng, fair.get(c.id, 500_000), c.tick)
                await _quote(svc, maker, c, fair[c.id], rng)
            if takers and rng.random() < 0.35:
                await _take(svc, rng.choice(takers), rng.choice(market.contracts), rng)
        await asyncio.sleep(period_s)


async def _take(svc: Services, taker: int, c: Any, rng: random.Random) -> None:
    """A market order: sell some of what the taker holds half of the time, else buy (so its
    cash is recycled rather than spent down)."""
    outcome, size = rng.choice((0, 1)), rng.randrange(1, 25)
    account = svc.engine.accounts.get(taker)
    held = account.positions.get(c.id) if account is not None else None
    free = held[outcome] - held[2 + outcome] if held is not None else 0
    action = 1 if free > 0 and rng.random() < 0.5 else 0
    if action == 1:
        size = min(size, free)
    await svc.execute(cmd.PlaceOrder(0, taker, c.id, outcome, action, size, 0, MARKET))


def _demo_for(svc: Services, market_id: int) -> content.DemoMarket | None:
    with svc.db.connect() as conn:
        slug = conn.execute(sa.select(t.markets.c.slug).where(
            t.markets.c.id == market_id)).scalar_one_or_none()
    return next((m for m in content.MARKETS if m.slug == slug), None)


def _drift(rng: random.Random, fair: int, tick: int) -> int:
    step = rng.choice((-1, 0, 0, 1)) * max(tick, 10_000)
    return min(950_000, max(50_000, fair + step)) // tick * tick


async def _quote(svc: Services, maker: int, c: Any, fair: int, rng: random.Random) -> None:
    spread = max(c.tick, 10_000)
    for level in range(1, 4):
        bid = fair - level * spread
        ask = fair + level * spread
        size = rng.randrange(20, 200)
        if bid >= c.tick:
            await svc.execute(cmd.PlaceOrder(0, maker, c.id, 0, 0, size, bid, LIMIT,
                                             flags=FLAG_POST_ONLY))
        if ask <= MICRO - c.tick:
            await svc.execute(cmd.PlaceOrder(0, maker, c.id, 1, 0, size, MICRO - ask, LIMIT,
                                             flags=FLAG_POST_ONLY))
