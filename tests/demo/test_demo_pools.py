"""Demo markets have liquidity pools (issue 16): with the market maker and its takers trading
for a while, the categorical demo market's best YES asks sum to at most 1.03 USDC and its best
bids to at least 0.97 (book and pool together), and every open demo market has a pool.

FORETELL_DEMO_POOL_S sets how long the demo trades first (15 s by default)."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.demo.server import get, launch, stop, wait_ready

from foretell.demo import content

TRADE_S = float(os.environ.get("FORETELL_DEMO_POOL_S", "15"))


@pytest.mark.slow
def test_categorical_demo_prices_sum_to_about_one(tmp_path: Path) -> None:
    server = wait_ready(launch(tmp_path / "data"))
    public = httpx.Client(base_url=server.base_url + "/api/v1", timeout=30)
    try:
        by_slug = {m.slug: get(public, f"/markets/{m.slug}") for m in content.MARKETS}
        categorical = [m for m in content.MARKETS if m.kind == "categorical"
                       and m.status == "open"]
        assert categorical
        for m in content.MARKETS:
            if m.status == "open":
                pool = get(public, f"/markets/{by_slug[m.slug]['id']}/pool")
                assert pool["pool"], m.slug
        time.sleep(TRADE_S)
        for m in categorical:
            market_id = by_slug[m.slug]["id"]
            implied = get(public, f"/markets/{market_id}/implied")
            assert Decimal(implied["ask_sum"]) <= Decimal("1.03"), implied
            assert Decimal(implied["bid_sum"]) >= Decimal("0.97"), implied
            pool = get(public, f"/markets/{market_id}/pool")
            assert abs(Decimal(pool["price_sum"]) - 1) <= Decimal("0.001"), pool
        traded = [Decimal(get(public, f"/markets/{m.slug}")["volume"]) for m in categorical]
        assert all(traded), "the categorical demo market never traded"
    finally:
        public.close()
        stop(server)
