"""The two linking rules, one row per case (pure)."""

from __future__ import annotations

import pytest

from foretell.news.linking import Link, MarketText, find_links

MARKETS = [
    MarketText(1, "Will Acme Robotics list its shares on Nasdaq by June 2027?", ("acme", "ipo"),
               "open"),
    MarketText(2, "Will Acme Robotics close a Series C round at a valuation above $5B?",
               ("acme", "funding"), "open"),
    MarketText(3, "Will Zenith Bank complete its merger with Harbor Trust in 2026?",
               ("banking", "merger"), "open"),
    MarketText(4, "Did Acme Robotics file for an IPO in 2025?", ("ipo",), "settled"),
    MarketText(5, "Will Nova Air list in Frankfurt?", ("ipo", "nova"), "draft"),
]

CASES = [
    # title, summary, tags -> links
    ("Acme files", "", ["ipo"], [Link(1, "tag", "tags: ipo")]),  # settled/draft: never auto
    ("Acme news", "", ["acme"], [Link(1, "tag", "tags: acme"), Link(2, "tag", "tags: acme")]),
    ("Zenith Bank and Harbor Trust agree terms", "The banks can complete the merger.", [],
     [Link(3, "text", "keywords: bank, complete, harbor, merger, trust, zenith")]),
    ("Zenith Bank results", "A quiet day", [], []),  # two shared keywords are not enough
    ("Weather", "Sunny", ["weather"], []),
    ("Acme Robotics: shares to list on Nasdaq", "", ["funding"],
     [Link(1, "text", "keywords: acme, list, nasdaq, robotic, share"),
      Link(2, "tag", "tags: funding")]),
]


@pytest.mark.parametrize(("title", "summary", "tags", "expected"), CASES)
def test_links_by_tag_then_text(title: str, summary: str, tags: list[str],
                                expected: list[Link]) -> None:
    assert find_links(title, summary, tags, MARKETS) == expected


def test_a_tag_on_too_many_markets_links_nothing() -> None:
    many = [MarketText(i, f"Question number {i} about Acme?", ("acme",), "open")
            for i in range(1, 8)]
    assert find_links("Acme", "", ["acme"], many) == []
    assert len(find_links("Acme", "", ["acme"], many[:5])) == 5
