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
        await svc.execute(cmd.Deposit(0, users[u.username], u.starting_usdc_micro,
                                      "demo starting balance"))
    for m in content.MARKETS:
        await _load_market(svc, m, users)
    log.info("demo loaded: %d users, %d markets", len(users), len(content.MARKETS))
    return True


async def _load_market(svc: Service, m: content.DemoMarket, users: dict[str, int]) -> None:
    market_id = max(svc.engine.markets, default=0) + 1
    outcome = await svc.execute(cmd.CreateMarket(
        0, market_id, len(m.outcomes), m.tick_micro, 1_000_000, m.maker_fee_ppm, m.taker_fee_ppm,
        users[m.creator], m.creator_share_ppm, m.close_ms, open_now=m.status != "in_review",
        meta=json.dumps(market_meta(m, users))))
    assert outcome.ok, outcome.code
    if m.status == "settled" and m.resolution is not None:
        await _trade_then_settle(svc, m, market_id, users)


async def _trade_then_settle(svc: Service, m: content.DemoMarket, market_id: int,
                             users: dict[str, int]) -> None:
    """A little real trading history, then the recorded resolution."""
    contract = svc.engine.markets[market_id].contracts[0].id
    traders = [users[u.username] for u in content.USERS if u.role == "trader"][:3]
    fair = m.contract_fair_yes_micro[0]
    for i, (buyer, seller) in enumerate(zip(traders, traders[1:] + traders[:1], strict=True)):
        price = fair + (i - 1) * m.tick_micro
        await svc.execute(cmd.PlaceOrder(0, buyer, contract, 0, 0, 40 + 10 * i, price))
        await svc.execute(cmd.PlaceOrder(0, seller, contract, 1, 0, 40 + 10 * i, MICRO - price))
    assert m.resolution is not None
    winner = m.outcomes.index(m.resolution.winning_outcome)
    await svc.execute(cmd.SetMarketStatus(0, market_id, 3, "close time reached"))
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
