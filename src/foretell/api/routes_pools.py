"""Liquidity pools and conversion (issue 16): fund a market's pool, read it (price, depth,
subsidy, P&L, implied probabilities), convert NO of one outcome into YES of every other."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from foretell.api.deps import Anyone, IdPath, Svc, Trader
from foretell.services import Services, pools
from foretell.services.auth import Principal
from foretell.services.requests import DECIMAL_PATTERN, Strict

router = APIRouter(tags=["liquidity pools"])


class PoolIn(Strict):
    subsidy: str = Field(pattern=DECIMAL_PATTERN, max_length=20,
                         description="USDC from your balance, decimal: \"250\"")
    fee_share_ppm: int = Field(default=pools.FEE_SHARE_PPM_DEFAULT, ge=0,
                               le=1_000_000, description="share of pool fills' taker fees "
                               "kept by the pool (and so returned to you)")


class ConvertIn(Strict):
    outcome_index: int = Field(ge=0, le=63)
    size: int = Field(ge=1, le=10**8)
    direction: Literal["no_to_yes", "yes_to_no"] = Field(
        default="no_to_yes", description="no_to_yes: k NO of the outcome become k YES of every "
        "other outcome; yes_to_no: the reverse")


@router.post("/markets/{market_id}/pool")
async def fund_pool(market_id: IdPath, body: PoolIn, p: Principal = Trader,
                    svc: Services = Svc) -> dict[str, Any]:
    """Fund the market's liquidity pool (its creator or a supervisor), from the caller's
    balance. The pool's loss is bounded by the subsidy; what is left, with its fees, returns
    at settlement or void."""
    return await pools.fund_pool(svc.node, p, market_id, body.subsidy, body.fee_share_ppm)


@router.get("/markets/{market_id}/pool")
async def pool(market_id: IdPath, levels: int = 10, svc: Services = Svc,
               _: Any = Anyone) -> dict[str, Any]:
    """The pool's curve price per outcome, its depth near it, subsidy, fees earned and P&L."""
    return pools.pool_view(svc.node, market_id, max(1, min(levels, 50)))


@router.get("/markets/{market_id}/implied")
async def implied(market_id: IdPath, svc: Services = Svc, _: Any = Anyone) -> dict[str, Any]:
    """Best YES bid and ask of every outcome over book and pool, and their sums."""
    return pools.implied(svc.node, market_id)


@router.post("/markets/{market_id}/convert")
async def convert(market_id: IdPath, body: ConvertIn, p: Principal = Trader,
                  svc: Services = Svc) -> dict[str, Any]:
    """Convert between outcomes of a categorical market, atomically."""
    return await pools.convert(svc.node, p, market_id, body.outcome_index, body.size,
                                        body.direction == "yes_to_no")
