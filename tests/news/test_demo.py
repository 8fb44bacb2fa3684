"""The demo's news: curated items linked by slug (idempotently) and the packaged RSS feed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from foretell.demo import content
from foretell.demo.news import DEMO_FEED_URL, load_demo_news
from foretell.news import store
from foretell.news.desk import desk
from foretell.store import schema as t

if TYPE_CHECKING:
    from conftest import Clock, Exchange


@dataclass
class Hub:
    items: list[dict[str, Any]] = field(default_factory=list)

    def publish_news(self, item: dict[str, Any]) -> None:
        self.items.append(item)


@dataclass(eq=False)
class Host:
    """What the news desk uses of a Services."""

    db: sa.Engine
    hub: Hub
    clock: Clock

    def publish_news(self, item: dict[str, Any]) -> None:
        self.hub.publish_news(item)


def test_demo_news_and_feed(exchange: Exchange, clock: Clock) -> None:
    for market_id, m in enumerate(content.MARKETS, start=1):
        exchange.market(market_id, m.slug, m.question, list(m.tags), status=m.status)
    slug_of = {market_id: m.slug for market_id, m in enumerate(content.MARKETS, start=1)}
    host = Host(exchange.db, Hub(), clock)

    assert asyncio.run(load_demo_news(host)) == len(content.NEWS)  # type: ignore[arg-type]
    with exchange.db.connect() as conn:
        stored = conn.execute(sa.select(t.news_items.c.id, t.news_items.c.title,
                                        t.news_items.c.source, t.news_items.c.published_ms)
                              .order_by(t.news_items.c.id)).all()
        linked = conn.execute(sa.select(t.news_links.c.news_id, t.news_links.c.market_id,
                                        t.news_links.c.how, t.news_links.c.reason)).all()
    assert [(r.title, r.source, r.published_ms) for r in stored] == [
        (n.title, n.source, n.published_ms) for n in content.NEWS]
    assert sorted((news_id, slug_of[market_id]) for news_id, market_id, _, _ in linked) == \
        sorted((i, slug) for i, n in enumerate(content.NEWS, start=1) for slug in n.market_slugs)
    assert {(how, reason) for _, _, how, reason in linked} == {("manual", "curated for the demo")}

    # Idempotent, and a link a supervisor removed stays removed.
    news = desk(host)  # type: ignore[arg-type]
    first_market = {m.slug: i for i, m in enumerate(content.MARKETS, start=1)}[
        content.NEWS[0].market_slugs[0]]
    with exchange.db.begin() as conn:
        assert store.set_link(conn, 1, first_market, 1, clock(), active=False)
    markets_before = [m["market_id"] for m in news.item(1)["markets"]]
    assert first_market not in markets_before
    assert asyncio.run(load_demo_news(host)) == 0  # type: ignore[arg-type]
    assert len(store.list_items(exchange.db, limit=200)[0]) == len(content.NEWS)
    assert [m["market_id"] for m in news.item(1)["markets"]] == markets_before
    assert [f["url"] for f in news.feeds()] == [DEMO_FEED_URL]

    # The packaged feed is read like any other: once, then "not modified".
    feed_id = news.feeds()[0]["id"]
    first = asyncio.run(news.poll(feed_id))
    assert (first["status"], first["inserted"]) == ("ok", content.DEMO_FEED_ITEM_COUNT)
    assert asyncio.run(news.poll(feed_id))["status"] == "not_modified"
    assert [i["source"] for i in host.hub.items] == ["Foretell Desk"] * 6
    clarity = next(i for i in host.hub.items if "CLARITY" in i["title"])
    assert [(slug_of[m["market_id"]], m["how"]) for m in clarity["markets"]] == [
        ("clarity-act-law-by-2026", "tag")]
