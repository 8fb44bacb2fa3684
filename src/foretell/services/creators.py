"""Creator-led markets under supervision: the creator program and the market lifecycle verbs.

Roles are checked here (the engine only knows states and money): any account may apply; a
supervisor approves, rejects or revokes creators; approved creators draft markets with their
settlement rules, submit them, add clarifications once open and propose resolutions; holders
dispute; supervisors review, decide disputes and have the last word. Each step is a journaled
engine command carrying its actor and reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from foretell.domain import commands as cmd
from foretell.domain import markets as mk
from foretell.domain.codes import Refused, refused
from foretell.domain.units import MICRO, parse_micro
from foretell.services.auth import Principal
from foretell.store import schema as t

if TYPE_CHECKING:
    from foretell.services import Services

# Fields a draft must carry before it can be submitted for review.
REQUIRED_RULES = ("resolution_sources", "resolution_criteria", "ambiguity", "postponement",
                  "cancellation")


def apply(svc: Services, p: Principal, profile: str, expertise: str) -> dict[str, Any]:
    with svc.db.begin() as conn:
        pending = conn.execute(sa.select(t.creator_applications.c.id).where(
            (t.creator_applications.c.user_id == p.user_id)
            & (t.creator_applications.c.status == "pending"))).first()
        if pending is not None:
            raise Refused("application_pending", "You already have a pending application.")
        if p.role in ("creator", "supervisor"):
            raise Refused("already_creator", "This account can already create markets.")
        result = conn.execute(t.creator_applications.insert().values(
            user_id=p.user_id, profile=profile, expertise=expertise, status="pending",
            created_ms=svc.clock(), decided_ms=None, decided_by=None, reason=None))
        key = result.inserted_primary_key
        assert key is not None
    return application(svc, int(key[0]))


def application(svc: Services, application_id: int) -> dict[str, Any]:
    with svc.db.connect() as conn:
        row = conn.execute(sa.select(t.creator_applications, t.users.c.username).join(
            t.users, t.users.c.id == t.creator_applications.c.user_id).where(
            t.creator_applications.c.id == application_id)).mappings().first()
    if row is None:
        raise Refused("unknown_application", "No such creator application.")
    return dict(row)


def applications(svc: Services, status: str | None) -> list[dict[str, Any]]:
    stmt = sa.select(t.creator_applications, t.users.c.username).join(
        t.users, t.users.c.id == t.creator_applications.c.user_id).order_by(
        t.creator_applications.c.id)
    if status:
        stmt = stmt.where(t.creator_applications.c.status == status)
    with svc.db.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def decide_application(svc: Services, p: Principal, application_id: int, approve: bool,
                       reason: str) -> dict[str, Any]:
    found = application(svc, application_id)
    if found["status"] != "pending":
        raise Refused("already_decided", "This application was already decided.")
    with svc.db.begin() as conn:
        conn.execute(t.creator_applications.update().where(
            t.creator_applications.c.id == application_id).values(
            status="approved" if approve else "rejected", decided_ms=svc.clock(),
            decided_by=p.user_id, reason=reason))
        if approve:
            conn.execute(t.users.update().where(
                (t.users.c.id == found["user_id"]) & (t.users.c.role == "trader")).values(
                role="creator"))
    svc.accounts.forget_user(found["user_id"])
    return application(svc, application_id)


async def revoke_creator(svc: Services, p: Principal, user_id: int,
                         reason: str) -> dict[str, Any]:
    """The creator loses the role; their live markets stay open and pass to this supervisor."""
    with svc.db.begin() as conn:
        changed = conn.execute(t.users.update().where(
            (t.users.c.id == user_id) & (t.users.c.role == "creator")).values(role="trader"))
    if not changed.rowcount:
        raise Refused("unknown_creator", "No such creator.")
    svc.accounts.forget_user(user_id)
    moved = []
    for m in list(svc.engine.markets.values()):
        if m.creator == user_id and m.status not in (mk.SETTLED, mk.VOIDED):
            await _act(svc, m.id, "reassign_creator", p.user_id, reason, str(p.user_id))
            moved.append(m.id)
    return {"user_id": user_id, "role": "trader", "markets_passed_to": p.user_id,
            "markets": moved}


# -- drafts -------------------------------------------------------------------------------------


def _require_creator(p: Principal) -> None:
    if p.role not in ("creator", "supervisor"):
        raise Refused("forbidden", "Only approved creators draft markets.")


def _owned(svc: Services, p: Principal, market_id: int) -> Any:
    m = svc.engine.markets.get(market_id)
    if m is None or (m.creator != p.user_id and not p.is_supervisor):
        raise Refused("unknown_market", "No such market of yours.")
    return m


async def _act(svc: Services, market_id: int, action: str, actor: int, reason: str = "",
               text: str = "") -> int:
    outcome = await svc.execute(cmd.MarketAction(0, market_id, action, actor, reason, text),
                                actor)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return int(outcome.value)


def meta_of(body: dict[str, Any], creator: int) -> dict[str, Any]:
    return {k: body.get(k) for k in ("slug", "question", "description", "category", "tags",
                                      "outcomes", "rules", "resolution_deadline_ms", "close_ms",
                                      "tick", "maker_fee_ppm", "taker_fee_ppm",
                                      "creator_share_ppm", "dispute_window_ms")} | {
        "creator_id": creator}


async def create_draft(svc: Services, p: Principal, body: dict[str, Any]) -> dict[str, Any]:
    _require_creator(p)
    outcomes = body.get("outcomes") or ["Yes", "No"]
    if len(outcomes) != len(set(outcomes)) or not 2 <= len(outcomes) <= 64:
        raise Refused("invalid_request", "2 to 64 distinct outcome names")
    market_id = max(svc.engine.markets, default=0) + 1
    command = cmd.CreateMarket(
        0, market_id, len(outcomes), parse_micro(body.get("tick") or "0.01"),
        body.get("size_max") or 1_000_000, body.get("maker_fee_ppm", 500),
        body.get("taker_fee_ppm", 1_000), p.user_id, body.get("creator_share_ppm", 200_000),
        body.get("close_ms") or 0, open_now=False, meta=json.dumps(meta_of(body, p.user_id)),
        actor=p.user_id, dispute_window_ms=body.get("dispute_window_ms") or 86_400_000)
    outcome = await svc.markets.create_under(str(body.get("slug")), command, p.user_id)
    return {"id": market_id, "status": "draft", "contract_ids": outcome.value}


async def update_draft(svc: Services, p: Principal, market_id: int,
                       body: dict[str, Any]) -> dict[str, Any]:
    m = _owned(svc, p, market_id)
    if m.status not in mk.EDITABLE:
        raise Refused("rules_frozen", "Only drafts and markets sent back for changes can be "
                       "edited; after opening, add a clarification instead.")
    await _act(svc, market_id, "update_draft", p.user_id, "draft updated",
               json.dumps(meta_of(body, m.creator)))
    return {"id": market_id, "status": mk.STATUS_NAMES[m.status]}


def missing_rules(meta: dict[str, Any], close_ms: int, now_ms: int) -> dict[str, str]:
    """Per-field problems that block a submission (empty when the draft is complete)."""
    problems: dict[str, str] = {}
    rules = meta.get("rules") or {}
    for key in ("question", "category"):
        if not (meta.get(key) or "").strip():
            problems[key] = "required"
    if not meta.get("tags"):
        problems["tags"] = "at least one tag"
    for key in REQUIRED_RULES:
        value = rules.get(key)
        if not value or (isinstance(value, str) and len(value.strip()) < 10):
            problems[f"rules.{key}"] = "required, in full sentences"
    deadline = meta.get("resolution_deadline_ms") or 0
    if close_ms <= now_ms:
        problems["close_ms"] = "the close time must be in the future"
    if deadline <= close_ms:
        problems["resolution_deadline_ms"] = "the resolution deadline must follow the close"
    return problems


async def submit(svc: Services, p: Principal, market_id: int, meta: dict[str, Any]) -> dict[str,
                                                                                         Any]:
    m = _owned(svc, p, market_id)
    problems = missing_rules(meta, m.close_ms, svc.clock())
    if problems:
        raise Refused("incomplete_rules", "The draft lacks settlement rules.", problems)
    await _act(svc, market_id, "submit", p.user_id, "submitted for review")
    return {"id": market_id, "status": "in_review"}


async def review(svc: Services, p: Principal, market_id: int, approve: bool,
                 reason: str) -> dict[str, Any]:
    status = await _act(svc, market_id, "approve" if approve else "request_changes",
                        p.user_id, reason)
    return {"id": market_id, "status": mk.STATUS_NAMES[status]}


async def clarify(svc: Services, p: Principal, market_id: int, text: str) -> dict[str, Any]:
    _owned(svc, p, market_id)
    await _act(svc, market_id, "clarify", p.user_id, "clarification", text)
    return {"id": market_id, "clarification": text, "at_ms": svc.clock()}


# -- resolution and disputes --------------------------------------------------------------------


async def propose(svc: Services, p: Principal, market_id: int, winner: int, evidence: str,
                  bond_micro: int = 0) -> dict[str, Any]:
    _owned(svc, p, market_id)
    outcome = await svc.execute(cmd.ProposeResolution(0, market_id, winner, p.user_id,
                                                      bond_micro, evidence), p.user_id)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return {"id": market_id, "status": "resolution_proposed", "winner_index": winner,
            "dispute_deadline_ms": outcome.value}


async def dispute(svc: Services, p: Principal, market_id: int, reason: str) -> dict[str, Any]:
    m = svc.engine.markets.get(market_id)
    if m is None:
        raise Refused("unknown_market", "No such market.")
    if p.user_id not in svc.engine.accounts:
        raise Refused("no_position", "Only holders of a position may dispute.")
    outcome = await svc.execute(cmd.Dispute(0, market_id, p.user_id, m.dispute_bond_micro,
                                            reason), p.user_id)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return {"id": market_id, "status": "disputed",
            "bond": f"{m.dispute_bond_micro // MICRO}.{m.dispute_bond_micro % MICRO:06d}"}


async def decide_dispute(svc: Services, p: Principal, market_id: int, uphold: bool, winner: int,
                         reason: str) -> dict[str, Any]:
    outcome = await svc.execute(cmd.DecideDispute(0, market_id, uphold, winner, p.user_id,
                                                  reason), p.user_id)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return {"id": market_id, "status": "settled", "winner_index": winner, "upheld": uphold}


def creator_fees(svc: Services, p: Principal) -> dict[str, Any]:
    markets = [m for m in svc.engine.markets.values() if m.creator == p.user_id]
    total = sum(m.creator_fees_micro for m in markets)
    return {"total_micro": total, "markets": [
        {"market_id": m.id, "creator_fees_micro": m.creator_fees_micro,
         "status": mk.STATUS_NAMES[m.status]} for m in sorted(markets, key=lambda m: m.id)]}


def queue(svc: Services, statuses: tuple[int, ...]) -> list[dict[str, Any]]:
    ids = [m.id for m in svc.engine.markets.values() if m.status in statuses]
    if not ids:
        return []
    with svc.db.connect() as conn:
        rows = conn.execute(sa.select(t.markets).where(t.markets.c.id.in_(ids)).order_by(
            t.markets.c.id)).mappings().all()
    return [dict(r) for r in rows]
