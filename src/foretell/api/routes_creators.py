"""Creator program and market lifecycle: applications, drafts, review, clarifications,
resolution proposals, disputes and the supervisor's queues."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from foretell.api.deps import Admin, IdPath, Reader, Svc, Trader
from foretell.api.errors import ApiError
from foretell.domain import markets as mk
from foretell.services import Services, creators, present
from foretell.services.auth import Principal
from foretell.services.requests import Line, Lines, Strict
from foretell.store import queries

router = APIRouter(tags=["creators and lifecycle"])


class ApplicationIn(Strict):
    profile: Lines = Field(min_length=20, max_length=2_000)
    expertise: Line = Field(min_length=3, max_length=200)


class DecisionIn(Strict):
    approve: bool
    reason: Lines = Field(min_length=3, max_length=500)


class ReasonIn(Strict):
    reason: Lines = Field(min_length=3, max_length=500)


class RulesIn(Strict):
    resolution_sources: list[Line] = Field(default=[], max_length=20)
    resolution_criteria: Lines = Field(default="", max_length=4_000)
    ambiguity: Lines = Field(default="", max_length=2_000)
    postponement: Lines = Field(default="", max_length=2_000)
    cancellation: Lines = Field(default="", max_length=2_000)


class DraftIn(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{2,79}$")
    question: Line = Field(default="", max_length=300)
    description: Lines = Field(default="", max_length=4_000)
    category: Line = Field(default="", max_length=64)
    tags: list[Line] = Field(default=[], max_length=20)
    outcomes: list[Line] = Field(default=["Yes", "No"], min_length=2, max_length=64)
    rules: RulesIn = RulesIn()
    close_ms: int = Field(default=0, ge=0, le=2**53)
    resolution_deadline_ms: int = Field(default=0, ge=0, le=2**53)
    tick: Literal["0.01", "0.001"] = "0.01"
    maker_fee_ppm: int = Field(default=500, ge=0, le=100_000)
    taker_fee_ppm: int = Field(default=1_000, ge=0, le=100_000)
    creator_share_ppm: int = Field(default=200_000, ge=0, le=1_000_000)
    dispute_window_ms: int = Field(default=86_400_000, ge=60_000, le=30 * 86_400_000)


class ClarificationIn(Strict):
    text: Lines = Field(min_length=5, max_length=4_000)


class ProposalIn(Strict):
    winner_index: int = Field(ge=0, le=63)
    evidence: Lines = Field(min_length=5, max_length=4_000)


class DisputeIn(Strict):
    reason: Lines = Field(min_length=10, max_length=2_000)


class DisputeDecisionIn(Strict):
    uphold: bool
    winner_index: int = Field(ge=0, le=63)
    reason: Lines = Field(min_length=3, max_length=500)


@router.post("/creators/apply", status_code=201)
def apply(body: ApplicationIn, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    """Apply to the creator program with a short profile and area of expertise."""
    return creators.apply(svc, p, body.profile, body.expertise)


@router.get("/creators/me")
async def my_creator(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    """My role, my applications, my markets and the fee share they earned."""
    await svc.read_your_writes(p.user_id)  # a draft just created or edited is listed as saved
    mine = [a for a in creators.applications(svc, None) if a["user_id"] == p.user_id]
    markets = creators.queue(svc, tuple(range(len(mk.STATUS_NAMES))))
    fees = creators.creator_fees(svc, p)
    return {"role": p.role, "applications": mine,
            "markets": present.rows([m for m in markets if m.get("creator_id") == p.user_id]),
            "fees_earned": present.amount(fees["total_micro"]),
            "fees_by_market": [present.row(f) for f in fees["markets"]]}


@router.post("/creator/markets", status_code=201)
async def create_draft(body: DraftIn, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    return await creators.create_draft(svc, p, body.model_dump())


@router.put("/creator/markets/{market_id}")
async def update_draft(market_id: IdPath, body: DraftIn, p: Principal = Trader,
                       svc: Services = Svc) -> dict[str, Any]:
    return await creators.update_draft(svc, p, market_id, body.model_dump())


@router.post("/creator/markets/{market_id}/submit")
async def submit(market_id: IdPath, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    """Send a draft for review; every settlement rule must be filled in (errors per field)."""
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        market = queries.get_market(conn, market_id)
    if market is None:
        raise ApiError(404, "unknown_market", "No such market of yours.")
    return await creators.submit(svc, p, market_id, market)


@router.post("/creator/markets/{market_id}/clarifications", status_code=201)
async def clarify(market_id: IdPath, body: ClarificationIn, p: Principal = Trader,
                  svc: Services = Svc) -> dict[str, Any]:
    """A dated clarification: the rules themselves never change after opening."""
    return await creators.clarify(svc, p, market_id, body.text)


@router.post("/creator/markets/{market_id}/resolution")
async def propose(market_id: IdPath, body: ProposalIn, p: Principal = Trader,
                  svc: Services = Svc) -> dict[str, Any]:
    """Propose the outcome with evidence; the dispute window starts now."""
    return await creators.propose(svc, p, market_id, body.winner_index, body.evidence)


@router.post("/markets/{market_id}/disputes", status_code=201)
async def dispute(market_id: IdPath, body: DisputeIn, p: Principal = Trader,
                  svc: Services = Svc) -> dict[str, Any]:
    """Dispute a proposed outcome (holders only) by posting the market's bond."""
    return await creators.dispute(svc, p, market_id, body.reason)


@router.get("/admin/creator-applications")
def list_applications(status: str | None = Query(None, pattern="^(pending|approved|rejected)$"),
                      p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    return {"applications": creators.applications(svc, status)}


@router.post("/admin/creator-applications/{application_id}/decision")
def decide_application(application_id: IdPath, body: DecisionIn, p: Principal = Admin,
                       svc: Services = Svc) -> dict[str, Any]:
    return creators.decide_application(svc, p, application_id, body.approve, body.reason)


@router.post("/admin/creators/{user_id}/revoke")
async def revoke(user_id: IdPath, body: ReasonIn, p: Principal = Admin,
                 svc: Services = Svc) -> dict[str, Any]:
    return await creators.revoke_creator(svc, p, user_id, body.reason)


@router.get("/admin/review-queue")
async def review_queue(p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    return {"markets": present.rows(creators.queue(svc, (mk.IN_REVIEW,)))}


@router.post("/admin/markets/{market_id}/review")
async def review(market_id: IdPath, body: DecisionIn, p: Principal = Admin,
                 svc: Services = Svc) -> dict[str, Any]:
    """Approve (the market opens, rules freeze) or request changes, with a reason."""
    return await creators.review(svc, p, market_id, body.approve, body.reason)


@router.get("/admin/dispute-queue")
async def dispute_queue(p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    return {"markets": present.rows(creators.queue(svc, (mk.DISPUTED,)))}


@router.post("/admin/markets/{market_id}/dispute-decision")
async def decide_dispute(market_id: IdPath, body: DisputeDecisionIn, p: Principal = Admin,
                         svc: Services = Svc) -> dict[str, Any]:
    return await creators.decide_dispute(svc, p, market_id, body.uphold, body.winner_index,
                                         body.reason)
