"""Reading news back, on SQLite (FTS5) and PostgreSQL (tsvector): full-text search kept in sync
with edits, filters, cursor pages, links by hand, per-market news and candle annotations."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from foretell.api.errors import status_of
from foretell.news import store
from foretell.news.desk import Actor, NewsDesk, NewsError
from foretell.news.parse import Entry
from foretell.store import queries

if TYPE_CHECKING:
    from conftest import Exchange

NOW = 1_795_608_000_000
MINUTE = 60_000


def entry(title: str, summary: str = "", published_ms: int = NOW, tags: tuple[str, ...] = (),
          guid: str | None = None, link: str | None = None) -> Entry:
    return Entry(title=title, summary=summary, link=link, guid=guid, author="", tags=tags,
                 published_ms=published_ms)


@pytest.fixture
def stored(desk: NewsDesk, markets: Exchange) -> NewsDesk:
    """Five items over five minutes (ids 1..5, oldest first)."""
    desk.ingest([
        entry("Acme Robotics picks banks for its listing", "Goldman and Morgan lead the IPO.",
              NOW - 5 * MINUTE, ("ipo",), "g1"),
        entry("Zenith Bank merger wins approval", "Regulators cleared the Harbor Trust deal.",
              NOW - 4 * MINUTE, ("banking",), "g2"),
        entry("Valuations of robotics startups soar", "Investors pay up for automation.",
              NOW - 3 * MINUTE, ("funding",), "g3"),
        entry("Weather: storms expected", "Heavy rain on Friday.", NOW - 2 * MINUTE, (), "g4"),
        entry("Acme Robotics lists next spring", "The listing is planned for April.",
              NOW - MINUTE, ("ipo", "acme"), "g5"),
    ], "Wire")
    return desk


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["id"] for r in rows]


SEARCHES = [
    ("acme", [5, 1]),
    ("listing", [5, 1]),  # stemmed: "lists" and "listing"
    ("ROBOTICS valuations", [3]),  # every word must match
    ("harbor", [2]),
    ("ipo", [5, 1]),  # tags are searched too
    ("storms OR rain", [4]),  # operators are plain words ("or" is a stop word)
    ('"acme" AND( NEAR* spring^', [5]),  # query syntax is only words here, never an error
    ("'; DROP TABLE news_items; --", []),
    ("the of and", []),  # only stop words: nothing to search for
    ("nonexistentword", []),
]


@pytest.mark.parametrize(("q", "expected"), SEARCHES)
def test_full_text_search(stored: NewsDesk, q: str, expected: list[int]) -> None:
    rows, _ = store.list_items(stored.db, q=q)
    assert ids(rows) == expected


def test_search_follows_edits(stored: NewsDesk) -> None:
    report = stored.ingest([entry("Weather: hail instead", "Ice on Friday.", NOW - 2 * MINUTE,
                                  (), "g4")], "Wire")
    assert report.updated == 1
    assert ids(store.list_items(stored.db, q="storms")[0]) == []
    assert ids(store.list_items(stored.db, q="hail ice")[0]) == [4]


def test_filters_and_cursor_pages(stored: NewsDesk) -> None:
    db = stored.db
    assert ids(store.list_items(db, tag="ipo")[0]) == [5, 1]
    assert ids(store.list_items(db, market_id=1)[0]) == [5, 1]  # by the "ipo" tag
    assert ids(store.list_items(db, market_id=3)[0]) == [2]  # by text
    assert ids(store.list_items(db, since_ms=NOW - 3 * MINUTE)[0]) == [5, 4, 3]
    assert ids(store.list_items(db, until_ms=NOW - 3 * MINUTE)[0]) == [2, 1]
    assert ids(store.list_items(db, market_id=1, q="spring")[0]) == [5]
    page, cursor = store.list_items(db, limit=2)
    assert ids(page) == [5, 4] and cursor == f"{NOW - 2 * MINUTE}_4"
    seen = ids(page)
    while cursor is not None:
        published, _, news_id = cursor.partition("_")
        page, cursor = store.list_items(db, limit=2, cursor=(int(published), int(news_id)))
        seen += ids(page)
    assert seen == [5, 4, 3, 2, 1]


def test_links_by_hand_respect_roles_and_ownership(stored: NewsDesk) -> None:
    creator_7, creator_8 = Actor(7, "creator"), Actor(8, "creator")
    stored.link(4, 1, creator_7, active=True)  # market 1 is creator 7's
    with pytest.raises(NewsError) as refused:
        stored.link(4, 1, creator_8, active=True)
    assert (status_of(refused.value), refused.value.code) == (403, "forbidden")
    with pytest.raises(NewsError) as refused:
        stored.link(4, 1, Actor(9, "trader"), active=False)
    assert refused.value.code == "forbidden"
    with pytest.raises(NewsError) as refused:
        stored.link(4, 99, Actor(1, "supervisor"), active=True)
    assert refused.value.code == "unknown_market"
    with pytest.raises(NewsError) as refused:
        stored.link(99, 1, Actor(1, "supervisor"), active=True)
    assert refused.value.code == "unknown_news"
    item = stored.item(4)
    assert item["markets"] == [{"market_id": 1, "slug": "acme-ipo", "how": "manual",
                                "reason": "linked by user 7"}]
    assert ids(store.list_items(stored.db, market_id=1)[0]) == [5, 4, 1]
    stored.link(5, 1, Actor(1, "supervisor"), active=False)  # supervisors: any market
    assert ids(store.list_items(stored.db, market_id=1)[0]) == [4, 1]
    assert [m["market_id"] for m in stored.item(5)["markets"]] == [2]  # "acme" is on 1 and 2
    # Re-ingesting the item does not bring the removed link back; a person can.
    stored.ingest([entry("Acme Robotics lists next spring", "The listing is set for April.",
                         NOW - MINUTE, ("ipo", "acme"), "g5")], "Wire")
    assert [m["market_id"] for m in stored.item(5)["markets"]] == [2]
    stored.link(5, 1, creator_7, active=True)
    assert [(m["market_id"], m["how"]) for m in stored.item(5)["markets"]] == [
        (1, "manual"), (2, "tag")]


def test_posts_by_creators_and_supervisors(stored: NewsDesk, clock: object) -> None:
    with stored.db.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id, username, display_name, password_hash, "
                             "role, created_ms, disabled) VALUES (7, 'lena', 'Lena <b>H</b>', "
                             "'!', 'creator', 0, false)")
    creator = Actor(7, "creator")
    item = asyncio.run(stored.post(creator, "<b>Note:</b> Acme  IPO timing", "<p>Why <i>April</i></p>",
                                   "https://notes.example/a#x", ["IPO", "Analysis"], "analysis",
                                   [1]))
    assert {k: item[k] for k in ("title", "summary", "source", "author", "link", "tags", "kind",
                                 "published_ms", "posted_by")} == {
        "title": "Note: Acme IPO timing", "summary": "Why April", "source": "Lena H",
        "author": "Lena H", "link": "https://notes.example/a", "tags": ["ipo", "analysis"],
        "kind": "analysis", "published_ms": NOW, "posted_by": 7}
    assert item["markets"] == [{"market_id": 1, "slug": "acme-ipo", "how": "manual",
                                "reason": "linked by user 7"}]
    for actor, market_ids, code in ((creator, [2], "forbidden"),  # market 2 is not hers
                                    (Actor(9, "trader"), [], "forbidden"),
                                    (creator, [99], "unknown_market")):
        with pytest.raises(NewsError) as refused:
            asyncio.run(stored.post(actor, "Another note", "", None, [], "analysis", market_ids))
        assert refused.value.code == code
    with pytest.raises(NewsError) as refused:
        asyncio.run(stored.post(creator, "note: ACME ipo timing!", "", None, [], "analysis", []))
    assert refused.value.code == "duplicate_news"
    with pytest.raises(NewsError) as refused:
        asyncio.run(stored.post(creator, "Bad link", "", "javascript:alert(1)", [], "report", []))
    assert refused.value.code == "invalid_link"


def test_market_news_and_candle_annotations(stored: NewsDesk, markets: Exchange) -> None:
    contract = 1  # market 1's YES contract
    for minute in (5, 3, 1):  # bars at NOW-5, NOW-3 and NOW-1 minutes; none at NOW-2
        markets.trade(NOW - minute * MINUTE + 1_000, contract, 40 + minute)
    stored.link(4, 1, Actor(1, "supervisor"), active=True)  # published at NOW-2: in no bar
    stored.link(3, 1, Actor(1, "supervisor"), active=True)
    stored.link(3, 1, Actor(1, "supervisor"), active=False)  # removed again
    assert [r["id"] for r in store.market_news(stored.db, 1)] == [5, 4, 1]
    with stored.db.connect() as conn:
        bars = queries.candles(conn, contract, 60, 0, 2**53)
        store.annotate_candles(conn, 1, bars, 60)
    assert [(b["start_ms"], b["news"]) for b in bars] == [
        (NOW - 5 * MINUTE, [{"id": 1, "title": "Acme Robotics picks banks for its listing",
                             "published_ms": NOW - 5 * MINUTE}]),
        (NOW - 3 * MINUTE, []),
        (NOW - MINUTE, [{"id": 5, "title": "Acme Robotics lists next spring",
                         "published_ms": NOW - MINUTE}]),
    ]
    with stored.db.connect() as conn:
        day = queries.candles(conn, contract, 86_400, 0, 2**53)
        store.annotate_candles(conn, 1, day, 86_400)
    assert [n["id"] for n in day[0]["news"]] == [1, 4, 5]


def test_postgresql_search_uses_the_gin_index(stored: NewsDesk, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    with stored.db.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        stmt = sa.select(sa.literal_column("news_items.id")).select_from(
            sa.table("news_items")).where(store._matches(conn, ["acme"]))
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_news_items_search" in plan, plan
