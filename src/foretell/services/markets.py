"""Markets: create (by a supervisor), open, halt, close, settle and void; slugs kept unique.

A creator's markets go through `services.creators` (draft, review, resolution); both end in the
same engine commands. Refusals are `Refused` with stable codes.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import InvariantBroken, Refused, refused
from foretell.domain.outcome import Outcome
from foretell.domain.units import parse_micro
from foretell.exchange.node import Node
from foretell.services import pools, present
from foretell.services.requests import MarketIn
from foretell.store import schema as t


class Markets:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.claimed_slugs: set[str] = set()  # by markets created since start (see claim_slug)

    def contract_for(self, market_id: int | None, contract_id: int | None, index: int) -> int:
        if contract_id is not None:
            if contract_id not in self.node.engine.contracts:
                raise refused(codes.UNKNOWN_CONTRACT)
            return contract_id
        if market_id is None:
            raise Refused("invalid_request", "give market_id or contract_id")
        m = self.node.engine.markets.get(market_id)
        if m is None:
            raise refused(codes.UNKNOWN_MARKET)
        if index >= len(m.contracts):
            raise refused(codes.INVALID_OUTCOME)
        return int(m.contracts[index].id)

    def claim_slug(self, slug: str) -> None:
        """Refuse a slug in use, or claimed by a market created here and not projected yet;
        else claim it. No await between the check and the claim: two requests for one slug
        cannot both pass (the store alone would let the second through until it projects)."""
        with self.node.db.connect() as conn:
            taken = conn.execute(sa.select(t.markets.c.id).where(t.markets.c.slug == slug)).first()
        if taken is not None or slug in self.claimed_slugs:
            raise Refused("slug_taken", "A market already uses this slug.")
        self.claimed_slugs.add(slug)

    async def create_under(self, slug: str, command: cmd.CreateMarket, actor: int,
                           subsidy_micro: int = 0) -> Outcome:
        """Execute a CreateMarket under `slug`: claimed first, released unless created. With a
        subsidy (checked by the caller in this loop turn), its pool is funded by the next
        command, submitted before anything else can run: both or neither."""
        self.claim_slug(slug)
        try:
            submitted = self.node.submit(command, actor)
            fund = cmd.FundPool(0, command.market, actor, subsidy_micro,
                                pools.FEE_SHARE_PPM_DEFAULT)
            # Single node: the market's outcome is known at once, and its pool is submitted in
            # this turn. A cluster gateway knows it only once it comes back; the pool follows.
            funding = self.node.submit(fund, actor) if submitted.ok and subsidy_micro else None
            outcome = await self.node.durable(submitted)
            if outcome.ok and subsidy_micro:
                funded = await (self.node.durable(funding) if funding is not None
                                else self.node.execute(fund, actor))
                if not funded.ok:  # the caller's check and the engine's disagree: a bug
                    raise InvariantBroken(f"a checked subsidy was refused: {funded.code}")
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
        market_id = max(self.node.engine.markets, default=0) + 1
        meta = {"slug": body.slug, "question": body.question, "description": body.description,
                "category": body.category, "tags": body.tags, "outcomes": body.outcomes,
                "rules": body.rules, "resolution_deadline_ms": body.resolution_deadline_ms,
                "actor": actor}
        command = cmd.CreateMarket(
            0, market_id, len(body.outcomes), parse_micro(body.tick), body.size_max,
            body.maker_fee_ppm, body.taker_fee_ppm, body.creator_id or 0, body.creator_share_ppm,
            body.close_ms, body.void_yes and parse_micro(body.void_yes) or 500_000,
            open_now=True, meta=json.dumps(meta))
        subsidy = pools.subsidy_for_new_market(self.node, actor, body.subsidy)
        outcome = await self.create_under(body.slug, command, actor, subsidy)
        return {"id": market_id, "contract_ids": outcome.value, "slug": body.slug}

    async def set_market_status(self, market_id: int, status: str, reason: str,
                                actor: int) -> dict[str, Any]:
        code = {"open": mk.OPEN, "halted": mk.HALTED, "closed": mk.CLOSED}[status]
        outcome = await self.node.execute(cmd.SetMarketStatus(0, market_id, code, reason), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return {"id": market_id, "status": status}

    async def settle(self, market_id: int, winner: int, actor: int) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.SettleMarket(0, market_id, winner), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        paid = [e for e in outcome.events if isinstance(e, ev.Payout)]
        return {"id": market_id, "status": "settled", "winner_index": winner,
                "payouts": [{"account_id": p.account, "amount": present.amount(p.amount_micro)}
                            for p in paid]}

    async def void(self, market_id: int, reason: str, actor: int) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.VoidMarket(0, market_id, reason), actor)
        if not outcome.ok:
            raise refused(outcome.code)
        return {"id": market_id, "status": "voided"}
