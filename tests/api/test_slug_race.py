"""Two markets asked for at once under one slug: one is created, the other refused with 409,
although the first is not in the store yet when the second is checked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from foretell.api.errors import status_of
from foretell.config import Settings
from foretell.domain.codes import Refused
from foretell.services import Services
from foretell.services.requests import MarketIn


def test_concurrent_creations_with_one_slug(tmp_path: Path) -> None:
    svc = Services(Settings(data=tmp_path, demo=False, market_maker=False))
    admin = svc.accounts.create_user("sam", "password-1", "supervisor")
    body = MarketIn(slug="round-closes", question="Will the funding round close this year?")

    async def race() -> list[object]:
        svc.attach(asyncio.get_running_loop())
        return await asyncio.gather(*(svc.markets.create_market(body, admin) for _ in range(3)),
                                    return_exceptions=True)

    try:
        results = asyncio.run(race())
        created = [r for r in results if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, Refused)]
        assert len(created) == 1 and created[0]["slug"] == "round-closes"
        assert [(status_of(e), e.code) for e in refused] == [(409, "slug_taken")] * 2
        assert len(svc.engine.markets) == 1
        svc.node.wait_projected()
        # Once projected, the store refuses the slug by itself.
        svc.markets.claimed_slugs.clear()
        with pytest.raises(Refused, match="slug_taken"):
            svc.markets.claim_slug("round-closes")
    finally:
        svc.close()
