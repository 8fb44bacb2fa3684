"""Load the demo into an empty exchange, and keep its books alive with a market maker.

Everything goes through the same journaled commands a real operator would issue, so the demo is
replayed, audited and projected like any other data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import sqlalchemy as sa

from foretell.demo import content
from foretell.domain import commands as cmd
from foretell.domain.orders import FLAG_POST_ONLY, LIMIT, MARKET
from foretell.domain.units import MICRO
from foretell.service import Service
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


def is_empty(svc: Service) -> bool:
    with svc.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one() == 0


async def load_if_empty(svc: Service) -> bool:
    if not is_empty(svc):
        return False
    users: dict[str, int] = {}
    for u in content.USERS:
        users[u.username] = svc.create_user(u.username, u.password, u.role, u.display_name)
        if u.starting_usdc_micro:
            await svc.execute(cmd.Deposit(0, users[u.username], u.starting_usdc_micro,
                                          "demo starting balance"))
    _approved_creators(svc, users)
    for m in content.MARKETS:
        await _load_market(svc, m, users)
    log.info("demo loaded: %d users, %d markets", len(users), len(content.MARKETS))
    return True


def _approved_creators(svc: Service, users: dict[str, int]) -> None:
    """The demo creator went through the creator program like anyone else."""
    now = svc.clock()
    with svc.db.begin() as conn:
        for u in content.USERS:
            if u.role == "creator":
                conn.execute(t.creator_applications.insert().values(
                    user_id=users[u.username], profile=u.profile or u.display_name,
                    expertise=", ".join(u.expertise)[:200] or "markets", status="approved",
                    reason="Track record and sourcing standards checked (demo).",
                    created_ms=now, decided_ms=now, decided_by=users[content.SUPERVISOR]))


async def _load_market(svc: Service, m: content.DemoMarket, users: dict[str, int]) -> None:
    """Create the market and replay its recorded lifecycle as real engine commands."""
    market_id = max(svc.engine.markets, default=0) + 1
    creator = users[m.creator]
    # A market whose close time is already past is closed by hand after its demo trades, so
    # the scheduled close is left out of the engine (the close time is still shown from meta).
    close_ms = m.close_ms if m.close_ms > svc.clock() else 0
    outcome = await svc.execute(cmd.CreateMarket(
        0, market_id, len(m.outcomes), m.tick_micro, 1_000_000, m.maker_fee_ppm, m.taker_fee_ppm,
        creator, m.creator_share_ppm, close_ms, open_now=False,
        meta=json.dumps(market_meta(m, users)), actor=creator))
    assert outcome.ok, outcome.code
    for h in m.history:
        action = _ACTIONS.get(h.action)
        if action is not None:
            await _step(svc, market_id, action, users.get(h.actor, creator), h.note)
    for c in m.clarifications:
        await _step(svc, market_id, "clarify", users.get(c.author, creator), "clarification",
                    c.text)
    if m.status == "settled" and m.resolution is not None:
        await _trade_then_settle(svc, m, market_id, users)


_ACTIONS = {"submitted": "submit", "resubmitted": "submit", "changes_requested":
            "request_changes", "approved": "approve"}


async def _step(svc: Service, market_id: int, action: str, actor: int, reason: str,
                text: str = "") -> None:
    outcome = await svc.execute(cmd.MarketAction(0, market_id, action, actor, reason[:1_000],
                                                 text))
    assert outcome.ok, (action, outcome.code)


async def _trade_then_settle(svc: Service, m: content.DemoMarket, market_id: int,
                             users: dict[str, int]) -> None:
    """Real trading, then the recorded resolution: proposal, dispute, decision, settlement."""
    contract = svc.engine.markets[market_id].contracts[0].id
    traders = [users[u.username] for u in content.USERS
               if u.role == "trader" and u.username != content.MARKET_MAKER]
    fair = m.contract_fair_yes_micro[0]
    for i, (buyer, seller) in enumerate(zip(traders, traders[1:] + traders[:1], strict=True)):
        price = fair + (i - 1) * m.tick_micro
        await svc.execute(cmd.PlaceOrder(0, buyer, contract, 0, 0, 40 + 10 * i, price))
        await svc.execute(cmd.PlaceOrder(0, seller, contract, 1, 0, 40 + 10 * i, MICRO - price))
    assert m.resolution is not None
    winner = m.outcomes.index(m.resolution.winning_outcome)
    supervisor = users[content.SUPERVISOR]
    await _step(svc, market_id, "close", supervisor, "close time reached")
    evidence = f"{m.resolution.evidence_note} {m.resolution.evidence_link}"
    await svc.execute(cmd.ProposeResolution(0, market_id, winner,
                                            users[m.resolution.proposed_by], 0, evidence))
    disputes = [h for h in m.history if h.action == "disputed"]
    for h in disputes:
        await svc.execute(cmd.Dispute(0, market_id, users[h.actor],
                                      svc.engine.markets[market_id].dispute_bond_micro, h.note))
    decision = next((h for h in m.history if h.action.startswith("dispute_")), None)
    if disputes and decision is not None:
        upheld = decision.action == "dispute_upheld"
        await svc.execute(cmd.DecideDispute(0, market_id, upheld, winner, supervisor,
                                            decision.note))
    else:
        await svc.execute(cmd.SettleMarket(0, market_id, winner))


async def run_market_maker(svc: Service, period_s: float = 1.5, seed: int = 7) -> None:
    """Keep two-sided quotes around a drifting fair price in every open demo book, and let a
    few demo traders take liquidity now and then, so a newcomer sees a live market."""
    rng = random.Random(seed)
    with svc.db.connect() as conn:
        ids = dict(conn.execute(sa.select(t.users.c.username, t.users.c.id)).tuples().all())
    maker = ids.get(content.MARKET_MAKER)
    traders = [ids[u.username] for u in content.USERS if u.role == "trader"
               and u.username != content.MARKET_MAKER and u.username in ids]
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
            if traders and rng.random() < 0.35:
                c = rng.choice(market.contracts)
                await svc.execute(cmd.PlaceOrder(
                    0, rng.choice(traders), c.id, rng.choice((0, 1)), 0, rng.randrange(1, 25), 0,
                    MARKET))
        await asyncio.sleep(period_s)


def _demo_for(svc: Service, market_id: int) -> content.DemoMarket | None:
    with svc.db.connect() as conn:
        slug = conn.execute(sa.select(t.markets.c.slug).where(
            t.markets.c.id == market_id)).scalar_one_or_none()
    return next((m for m in content.MARKETS if m.slug == slug), None)


def _drift(rng: random.Random, fair: int, tick: int) -> int:
    step = rng.choice((-1, 0, 0, 1)) * max(tick, 10_000)
    return min(950_000, max(50_000, fair + step)) // tick * tick


async def _quote(svc: Service, maker: int, c: Any, fair: int, rng: random.Random) -> None:
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
