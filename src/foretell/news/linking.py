"""Which markets a news item is about: two simple rules a trader can check by eye. Pure.

1. Tags: the item carries a tag that the market carries too, and that tag is specific, i.e.
   carried by at most `tag_link_markets_max` linkable markets (a tag on most markets, such as
   the company every market is about, says nothing about which one the item concerns).
2. Text: the item's title and summary share at least `text_overlap_min` keywords with the
   market's question, and at least `text_overlap_ratio_min` of the question's keywords (stop
   words, dates and bare numbers are not keywords; see `text.keywords`).

Each link carries the rule (`how`: "tag" or "text") and its evidence (`reason`: the shared tags
or keywords), so nobody has to guess why an item shows up beside a market.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from foretell.news import limits
from foretell.news.text import keywords

# Auto-links go only to markets that are public and not finished. A creator or a supervisor
# can still link an item to any market by hand.
LINKABLE_STATUSES = frozenset({"open", "halted", "closed", "in_review", "resolution_proposed",
                               "disputed"})


@dataclass(frozen=True, slots=True)
class MarketText:
    id: int
    question: str
    tags: tuple[str, ...]
    status: str


@dataclass(frozen=True, slots=True)
class Link:
    market_id: int
    how: str  # "tag" | "text"
    reason: str


def find_links(title: str, summary: str, tags: Iterable[str],
               markets: Iterable[MarketText]) -> list[Link]:
    """Links by rule 1, then rule 2 for the markets rule 1 did not link; by market id."""
    linkable = [m for m in markets if m.status in LINKABLE_STATUSES]
    carried = Counter(tag for m in linkable for tag in set(m.tags))
    specific = {tag for tag in set(tags) if 0 < carried[tag] <= limits.tag_link_markets_max}
    words = keywords(f"{title} {summary}")
    links: list[Link] = []
    for m in sorted(linkable, key=lambda m: m.id):
        shared_tags = sorted(specific.intersection(m.tags))
        if shared_tags:
            links.append(Link(m.id, "tag", "tags: " + ", ".join(shared_tags)))
            continue
        question = keywords(m.question)
        shared = sorted(question & words)
        needed = max(limits.text_overlap_min,
                     math.ceil(limits.text_overlap_ratio_min * len(question)))
        if question and len(shared) >= needed:
            links.append(Link(m.id, "text", "keywords: " + ", ".join(shared)))
    return links[:limits.markets_per_item_max]
