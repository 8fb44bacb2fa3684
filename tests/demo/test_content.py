"""Demo content: the properties the seeding code, the market maker and the feed poller rely on."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import resources
from pathlib import Path

import pytest

from foretell.demo import content
from foretell.demo.content import BOTS, MARKETS, NEWS, USERS, DemoMarket

SEED_PATH = Path("/work/shared/seed/seed-article.txt")
COPIED_WORDS_MAX = 12
TODAY_MS = 1_795_564_800_000  # 2026-11-25T00:00:00Z, written out so the test does not trust _ms
YEAR_2026_MS = (1_767_225_600_000, 1_798_761_600_000)  # [2026-01-01, 2027-01-01) UTC
MICRO = 1_000_000

REQUIRED_TOPICS = {
    "funding round at or above $900B": "anthropic-round-900b-by-may-2026",
    "IPO by a date": "anthropic-ipo-by-jun-2027",
    "listing value above the bankers' range": "anthropic-first-close-above-500b",
    "break-even by 2028": "anthropic-profitable-fy2028",
    "CLARITY Act signed into law": "clarity-act-law-by-2026",
}

# Facts from the seed each must appear in at least one news summary or title.
NEWS_FACTS = (
    "$30B", "$900B", "$852B", "$22B", "$19B", "40%", "23%", "$4.1B", "$61.5B", "October 2026",
    "$400B", "Goldman Sachs", "Amazon", "Microsoft", "TPU", "Broadcom", "$2.5B", "DeAI",
    "export", "0.1%", "creators", "APIs", "CLARITY", "30%", "55%", "Codex", "5 million",
)

RULE_FIELDS = (
    "question", "description", "resolution_criteria", "ambiguity_rule", "postponement_rule",
    "cancellation_rule",
)


def feed_root() -> ET.Element:
    resource = resources.files(content.DEMO_FEED_PACKAGE).joinpath(content.DEMO_FEED_PATH)
    return ET.fromstring(resource.read_bytes())


def strings_in(value: object) -> Iterator[str]:
    """Every text inside a (nested) demo dataclass, tuple or string."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from strings_in(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from strings_in(getattr(value, field.name))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def by_slug(slug: str) -> DemoMarket:
    return next(market for market in MARKETS if market.slug == slug)


# --- users --------------------------------------------------------------------------------------


def test_users_have_the_demo_roles_and_integer_balances() -> None:
    roles = [user.role for user in USERS]
    assert roles.count("supervisor") == 1
    assert roles.count("creator") == 1
    assert roles.count("trader") == 3
    assert len({user.username for user in USERS}) == len(USERS)
    for user in USERS:
        assert user.password == content.DEMO_PASSWORD
        assert type(user.starting_usdc_micro) is int and user.starting_usdc_micro >= 0
        if user.role == "trader":
            assert user.starting_usdc_micro == 10_000 * MICRO


def test_bots_are_accounts_of_their_own() -> None:
    """The market maker and the takers are not README logins (and have no password at all)."""
    names = [bot.username for bot in BOTS]
    assert names == [content.MARKET_MAKER, *content.TAKERS]
    assert not set(names) & {user.username for user in USERS}
    maker = BOTS[0]
    assert maker.starting_usdc_micro == 250_000 * MICRO
    assert all(type(bot.starting_usdc_micro) is int and bot.starting_usdc_micro > 0
               for bot in BOTS)
    assert not any(hasattr(bot, "password") for bot in BOTS)
    creator = next(user for user in USERS if user.role == "creator")
    assert creator.profile and creator.expertise


# --- markets ------------------------------------------------------------------------------------


def test_market_count_and_unique_slugs() -> None:
    assert 8 <= len(MARKETS) <= 10
    slugs = [market.slug for market in MARKETS]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) for slug in slugs)


@pytest.mark.parametrize("market", MARKETS, ids=lambda market: market.slug)
def test_every_rule_field_is_filled(market: DemoMarket) -> None:
    for name in RULE_FIELDS:
        assert getattr(market, name).strip(), name
    assert market.resolution_sources and all(source.strip() for source in market.resolution_sources)
    assert market.category in {"AI & Tech", "Capital Markets", "Crypto & Policy"}
    assert market.tags and all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", tag) for tag in market.tags)
    creators = {user.username for user in USERS if user.role == "creator"}
    assert market.creator in creators


@pytest.mark.parametrize("market", MARKETS, ids=lambda market: market.slug)
def test_times_fees_and_ticks(market: DemoMarket) -> None:
    assert type(market.close_ms) is int and type(market.resolution_deadline_ms) is int
    assert market.close_ms < market.resolution_deadline_ms
    assert market.tick_micro in (1_000, 10_000)
    assert (market.maker_fee_ppm, market.taker_fee_ppm) == (500, 1_000)
    assert 0 < market.creator_share_ppm <= 1_000_000
    if market.status in ("open", "in_review"):
        assert market.close_ms > TODAY_MS


def test_one_or_two_markets_use_the_fine_tick() -> None:
    assert 1 <= sum(market.tick_micro == 1_000 for market in MARKETS) <= 2


@pytest.mark.parametrize("market", MARKETS, ids=lambda market: market.slug)
def test_fair_prices_are_on_tick_in_range_and_sum_to_about_one(market: DemoMarket) -> None:
    assert len(market.fair_yes_micro) == len(market.outcomes)
    for price in market.fair_yes_micro:
        assert type(price) is int
        assert price % market.tick_micro == 0
        assert 50_000 <= price <= 950_000
    total = sum(market.fair_yes_micro)
    if market.kind == "binary":
        assert market.outcomes == ("Yes", "No")
        assert total == MICRO
        assert market.contract_fair_yes_micro == market.fair_yes_micro[:1]
    else:
        assert len(market.outcomes) >= 3 and len(set(market.outcomes)) == len(market.outcomes)
        assert 900_000 <= total <= 1_100_000
        assert market.contract_fair_yes_micro == market.fair_yes_micro


def test_statuses_one_in_review_one_settled_rest_open() -> None:
    statuses = [market.status for market in MARKETS]
    assert statuses.count("in_review") == 1
    assert statuses.count("settled") == 1
    assert statuses.count("open") == len(MARKETS) - 2
    assert any(market.kind == "categorical" for market in MARKETS)


@pytest.mark.parametrize("market", MARKETS, ids=lambda market: market.slug)
def test_history_is_chronological_and_by_known_users(market: DemoMarket) -> None:
    usernames = {user.username for user in USERS} | set(content.TAKERS)
    times = [entry.at_ms for entry in market.history]
    assert times == sorted(times)
    assert all(entry.actor in usernames and entry.note.strip() for entry in market.history)
    actions = [entry.action for entry in market.history]
    assert actions[:2] == ["drafted", "submitted"]
    assert all(entry.at_ms < TODAY_MS for entry in market.history)
    if market.status == "in_review":
        assert "opened" not in actions and actions[-1] in ("submitted", "resubmitted")
    else:
        assert "approved" in actions and "opened" in actions
    for clarification in market.clarifications:
        assert clarification.text.strip() and clarification.at_ms > times[0]


def test_settled_market_was_decided_before_today_with_a_rejected_dispute() -> None:
    (market,) = [market for market in MARKETS if market.status == "settled"]
    roles = {user.username: user.role for user in USERS}
    roles |= {name: "trader" for name in content.TAKERS}
    resolution = market.resolution
    assert resolution is not None
    assert resolution.winning_outcome in market.outcomes
    assert resolution.evidence_note.strip() and "demo" in resolution.evidence_note.lower()
    assert resolution.evidence_link.startswith("https://")
    assert market.close_ms < resolution.proposed_ms < resolution.settled_ms < TODAY_MS
    assert resolution.settled_ms <= market.resolution_deadline_ms
    disputes = [entry for entry in market.history if entry.action == "disputed"]
    rejections = [entry for entry in market.history if entry.action == "dispute_rejected"]
    assert len(disputes) == 1 and len(rejections) == 1
    assert roles[disputes[0].actor] == "trader" and disputes[0].bond_micro > 0
    assert disputes[0].actor in content.TAKERS  # a bot's bond, not a README login's
    assert roles[rejections[0].actor] == "supervisor" and rejections[0].note.strip()
    assert disputes[0].at_ms < rejections[0].at_ms
    assert market.history[-1].action == "settled"
    for other in MARKETS:
        if other is not market:
            assert other.resolution is None


# --- news ---------------------------------------------------------------------------------------


def test_news_count_fields_and_links() -> None:
    assert 12 <= len(NEWS) <= 16
    assert len({item.slug for item in NEWS}) == len(NEWS)
    slugs = {market.slug for market in MARKETS}
    for item in NEWS:
        assert item.title.strip() and item.summary.strip() and item.author.strip()
        assert item.source in ("Foretell Desk", "MarsBit")
        assert item.link == f"https://foretell.local/news/{item.slug}"
        assert item.tags and all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", tag) for tag in item.tags)
        assert set(item.market_slugs) <= slugs, item.slug


def test_every_market_and_required_topic_is_linked_by_news() -> None:
    linked = {slug for item in NEWS for slug in item.market_slugs}
    for topic, slug in REQUIRED_TOPICS.items():
        assert by_slug(slug).slug in linked, topic
    assert linked == {market.slug for market in MARKETS}


def test_news_times_follow_the_seed_day_and_later_items_are_analysis() -> None:
    seed_day = (1_778_630_400_000, 1_778_716_800_000)  # [2026-05-13, 2026-05-14) UTC
    for item in NEWS:
        assert YEAR_2026_MS[0] <= item.published_ms < min(YEAR_2026_MS[1], TODAY_MS)
        if seed_day[0] <= item.published_ms < seed_day[1]:
            assert item.kind == "report"
        else:
            assert item.published_ms >= seed_day[1]
            assert item.kind == "analysis" and item.title.startswith("Analysis:")
    on_seed_day = [item for item in NEWS if item.published_ms < seed_day[1]]
    assert len({item.published_ms for item in on_seed_day}) == len(on_seed_day)
    assert sum(item.kind == "analysis" for item in NEWS) >= 3


def test_news_covers_the_seed_facts() -> None:
    text = " ".join(f"{item.title} {item.summary}" for item in NEWS)
    missing = [fact for fact in NEWS_FACTS if fact not in text]
    assert not missing


# --- RSS feed -----------------------------------------------------------------------------------


def test_feed_is_rss_2_with_the_declared_items() -> None:
    root = feed_root()
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None and channel.findtext("title")
    items = channel.findall("item")
    assert len(items) == content.DEMO_FEED_ITEM_COUNT == 6
    news_titles = {item.title for item in NEWS}
    guids = set()
    for item in items:
        for tag in ("title", "link", "description", "guid", "pubDate"):
            assert (item.findtext(tag) or "").strip(), tag
        assert item.findall("category")
        assert item.findtext("title") not in news_titles
        guids.add(item.findtext("guid"))
        published = parsedate_to_datetime(item.findtext("pubDate") or "")
        assert published.tzinfo is not None
        assert datetime(2026, 1, 1, tzinfo=UTC) <= published < datetime(2026, 11, 25, tzinfo=UTC)
    assert len(guids) == len(items)


# --- originality --------------------------------------------------------------------------------


def all_demo_texts() -> list[str]:
    texts = [text for group in (USERS, MARKETS, NEWS) for text in strings_in(group)]
    channel = feed_root().find("channel")
    assert channel is not None
    for item in channel.findall("item"):
        texts += [item.findtext("title") or "", item.findtext("description") or ""]
    return texts


def test_no_text_copies_more_than_12_consecutive_words_from_the_seed() -> None:
    if not SEED_PATH.exists():
        pytest.skip(f"seed article not found at {SEED_PATH}")
    seed = words(SEED_PATH.read_text(encoding="utf-8"))
    n = COPIED_WORDS_MAX + 1
    seed_grams = {tuple(seed[i : i + n]) for i in range(len(seed) - n + 1)}
    copied = []
    for text in all_demo_texts():
        tokens = words(text)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i : i + n]) in seed_grams:
                copied.append(" ".join(tokens[i : i + n]))
    assert not copied
