"""The demo's news: the curated items of `foretell.demo.content.NEWS`, and its RSS feed.

`load_demo_news` is idempotent: items are de-duplicated like any other (here by their entry id
"demo:<slug>"), their curated market links are written only when an item is first stored (so
a link a supervisor removed stays removed), and the feed is registered once. The feed is a
package resource (`package://foretell.demo/feeds/foretell-desk.xml`), so it is found wherever
the package is installed; the background poller reads it like any other feed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from foretell.demo import content
from foretell.news import limits, store
from foretell.news.desk import NewsDesk, desk
from foretell.news.parse import Entry
from foretell.news.text import clean_link, clean_tags, plain_text
from foretell.services import Services
from foretell.store import queries

log = logging.getLogger(__name__)
DEMO_FEED_URL = f"package://{content.DEMO_FEED_PACKAGE}/{content.DEMO_FEED_PATH}"
DEMO_FEED_NAME = "Foretell Desk"
demo_feed_interval_s = 3_600
demo_markets_wait_s = 10.0


def demo_entry(item: content.NewsItem) -> Entry:
    return Entry(title=plain_text(item.title, limits.title_chars_max),
                 summary=plain_text(item.summary, limits.summary_chars_max),
                 link=clean_link(item.link), guid=f"demo:{item.slug}",
                 author=plain_text(item.author, limits.author_chars_max),
                 tags=tuple(clean_tags(list(item.tags))), published_ms=item.published_ms,
                 kind=item.kind)


async def load_demo_news(svc: Services, wait_s: float = demo_markets_wait_s) -> int:
    """Store the demo news linked to the demo markets by slug, and register the demo feed.
    First waits (at most `wait_s`) until the store has projected every command executed so
    far, since the demo markets reach it shortly after the engine accepts them. Returns the
    number of items added."""
    news = desk(svc)
    pipeline = getattr(svc, "pipeline", None)
    target_seq = int(pipeline.seq) if pipeline is not None else 0
    deadline = time.monotonic() + wait_s
    while (await asyncio.to_thread(queries.last_seq, news.db) < target_seq
           and time.monotonic() < deadline):
        await asyncio.sleep(0.05)
    slugs = {m.slug for m in content.MARKETS}
    ids = await asyncio.to_thread(store.market_ids_by_slug, news.db, slugs)
    missing = sorted(slugs - set(ids))
    if missing:
        log.warning("demo news: markets not in the store yet, links skipped: %s", missing)
    added = await asyncio.to_thread(_store_items, news, ids)
    if store.feed_by_url(news.db, DEMO_FEED_URL) is None:
        news.add_feed(DEMO_FEED_URL, DEMO_FEED_NAME, demo_feed_interval_s, None)
    return added


def _store_items(news: NewsDesk, ids: dict[str, int]) -> int:
    added = 0
    now = news.clock()
    for item in content.NEWS:
        report = news.ingest([demo_entry(item)], item.source, auto_link=False)
        for stored in report.new:
            added += 1
            with news.db.begin() as conn:
                for slug in item.market_slugs:
                    if slug in ids:
                        store.set_link(conn, stored["id"], ids[slug], None, now, active=True,
                                       reason="curated for the demo")
    return added
