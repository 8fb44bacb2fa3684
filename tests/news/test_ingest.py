"""Feeds polled from a loopback HTTP server (and from files) into the store, on SQLite and on
PostgreSQL: exactly what is stored and linked, conditional requests, duplicates, edits,
malformed and hostile feeds, failures and back-off, the background poller."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from foretell.news import limits
from foretell.news.desk import NewsDesk
from foretell.news.text import is_plain
from foretell.store import schema as t

if TYPE_CHECKING:
    from conftest import Clock, Exchange, FeedServer, Pushed

NOW = 1_795_608_000_000
HOUR_MS = 3_600_000
ReadFeed = Callable[[str], str]


def path() -> str:
    return f"/{uuid.uuid4().hex[:10]}/feed.xml"


def poll(desk: NewsDesk, feed_id: int) -> dict[str, Any]:
    return asyncio.run(desk.poll(feed_id))


def items(db: sa.Engine) -> list[dict[str, Any]]:
    n = t.news_items.c
    with db.connect() as conn:
        rows = conn.execute(sa.select(n.id, n.title, n.summary, n.source, n.link, n.author,
                                      n.tags, n.published_ms, n.kind, n.feed_id)
                            .order_by(n.id)).mappings().all()
    return [dict(r) | {"tags": json.loads(r["tags"])} for r in rows]


def links(db: sa.Engine) -> list[tuple[Any, ...]]:
    c = t.news_links.c
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(c.news_id, c.market_id, c.how, c.reason, c.removed_ms)
            .order_by(c.news_id, c.market_id))]


def tag_rows(db: sa.Engine) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(t.news_tags).order_by(t.news_tags.c.news_id, t.news_tags.c.tag))]


def feed_row(desk: NewsDesk, feed_id: int) -> dict[str, Any]:
    return next(f for f in desk.feeds() if f["id"] == feed_id)


def test_rss_feed_is_stored_and_linked_exactly(desk: NewsDesk, markets: Exchange,
                                               feeds: FeedServer, feed_file: ReadFeed,
                                               pushed: Pushed) -> None:
    feed = desk.add_feed(feeds.serve(path(), feed_file("rss_valid.xml")), "Wire One", 600, None)
    assert poll(desk, feed["id"]) == {
        "feed_id": feed["id"], "status": "ok", "error": None, "inserted": 3, "updated": 0,
        "duplicates": 0, "rejected": 0, "skipped": 0, "next_poll_ms": NOW + 600_000}
    assert items(desk.db) == [
        {"id": 1, "title": "Acme Robotics files confidentially for a Nasdaq listing",
         "summary": "Acme Robotics has filed a draft registration, people familiar said & "
                    "bankers expect a spring debut.",
         "source": "Wire One", "link": "https://wire.example/acme-files", "author": "Ana Ruiz",
         "tags": ["ipo"], "published_ms": 1_795_512_600_000, "kind": "report",
         "feed_id": feed["id"]},
        {"id": 2, "title": "Zenith Bank and Harbor Trust agree merger terms",
         "summary": "The boards of Zenith Bank and Harbor Trust approved terms; regulators "
                    "must still clear the deal before the banks can complete the merger.",
         "source": "Wire One", "link": "https://wire.example/zenith-harbor", "author": "",
         "tags": [], "published_ms": 1_795_518_000_000, "kind": "report",
         "feed_id": feed["id"]},
        {"id": 3, "title": "Weather: a sunny week ahead", "summary": "Clear skies across the region.",
         "source": "Wire One", "link": "https://wire.example/weather", "author": "",
         "tags": ["weather"], "published_ms": 1_795_413_600_000, "kind": "report",
         "feed_id": feed["id"]},
    ]
    # The settled market 4 also carries "ipo" but is never linked automatically.
    assert links(desk.db) == [
        (1, 1, "tag", "tags: ipo", None),
        (2, 3, "text", "keywords: bank, complete, harbor, merger, trust, zenith", None),
    ]
    assert tag_rows(desk.db) == [(1, "ipo"), (3, "weather")]
    assert [(i["id"], [m["market_id"] for m in i["markets"]]) for i in pushed.items] == [
        (1, [1]), (2, [3]), (3, [])]
    assert pushed.items[0]["markets"] == [
        {"market_id": 1, "slug": "acme-ipo", "how": "tag", "reason": "tags: ipo"}]
    row = feed_row(desk, feed["id"])
    assert (row["last_status"], row["failures"], row["items_total"], row["etag"]) == (
        "ok", 0, 3, feeds.routes[feed["url"][len(feeds.base):]].etag)


def test_atom_feed_is_stored_and_linked_exactly(desk: NewsDesk, markets: Exchange,
                                                feeds: FeedServer, feed_file: ReadFeed) -> None:
    url = feeds.serve(path(), feed_file("atom_valid.xml"), content_type="application/atom+xml")
    feed = desk.add_feed(url, None, 600, None)
    assert feed["name"] == "127.0.0.1"  # no name given: the host
    assert poll(desk, feed["id"])["inserted"] == 2
    assert [(i["title"], i["summary"], i["author"], i["tags"], i["published_ms"], i["kind"])
            for i in items(desk.db)] == [
        ("Acme Robotics in talks for a Series C round", "Investors weigh a valuation near $6B.",
         "Ben Ode", ["funding"], 1_795_511_700_000, "report"),
        ("Analysis: what a Zenith\u2013Harbor deal means for depositors",
         "Deposits would move to the merged bank.", "", ["analysis"], 1_795_525_200_000,
         "analysis"),
    ]
    assert links(desk.db) == [(1, 2, "tag", "tags: funding", None),
                              (2, 3, "text", "keywords: bank, harbor, zenith", None)]


def test_conditional_requests_get_304_and_store_nothing(desk: NewsDesk, markets: Exchange,
                                                         feeds: FeedServer,
                                                         feed_file: ReadFeed,
                                                         pushed: Pushed) -> None:
    by_etag, by_date = path(), path()
    feeds.serve(by_etag, feed_file("rss_valid.xml"))
    feeds.serve(by_date, feed_file("atom_valid.xml"), etag=False, last_modified_s=1_795_000_000)
    a = desk.add_feed(feeds.base + by_etag, "A", 600, None)
    b = desk.add_feed(feeds.base + by_date, "B", 600, None)
    for feed in (a, b):
        assert poll(desk, feed["id"])["status"] == "ok"
        again = poll(desk, feed["id"])
        assert (again["status"], again["inserted"], again["duplicates"]) == ("not_modified", 0, 0)
    first, second = feeds.hits(by_etag)
    assert "if-none-match" not in first and second["if-none-match"] == feeds.routes[by_etag].etag
    first, second = feeds.hits(by_date)
    assert second["if-modified-since"] == email.utils.formatdate(1_795_000_000, usegmt=True)
    assert feed_row(desk, b["id"])["last_status"] == "not_modified"
    assert len(items(desk.db)) == 5 and len(pushed.items) == 5


def test_duplicates_by_link_and_by_title_from_the_same_source(desk: NewsDesk,
                                                               markets: Exchange,
                                                               feeds: FeedServer,
                                                               feed_file: ReadFeed) -> None:
    one = desk.add_feed(feeds.serve(path(), feed_file("rss_valid.xml")), "Wire One", 600, None)
    two = desk.add_feed(feeds.serve(path(), feed_file("rss_duplicates.xml")), "Wire Two", 600,
                        None)
    poll(desk, one["id"])
    report = poll(desk, two["id"])
    assert (report["inserted"], report["duplicates"]) == (2, 2)
    assert [(i["source"], i["title"], i["link"]) for i in items(desk.db)[3:]] == [
        ("Wire Two", "Weather: a sunny week ahead", "https://two.example/weather"),
        ("Wire Two", "Bank stocks slip", "https://two.example/bank-stocks"),
    ]
    # The same feed again, served fresh (new ETag): everything is a duplicate now.
    feeds.serve(two["url"][len(feeds.base):], feed_file("rss_duplicates.xml"))
    again = poll(desk, two["id"])
    assert (again["status"], again["inserted"], again["duplicates"]) == ("ok", 0, 4)
    assert len(items(desk.db)) == 5


def test_edited_entries_update_their_item(desk: NewsDesk, markets: Exchange,
                                          feeds: FeedServer, feed_file: ReadFeed,
                                          clock: Clock, pushed: Pushed) -> None:
    where = path()
    feed = desk.add_feed(feeds.serve(where, feed_file("rss_valid.xml")), "Wire One", 600, None)
    poll(desk, feed["id"])
    with desk.db.begin() as conn:  # a supervisor took the Zenith link away
        conn.execute(t.news_links.update().where(t.news_links.c.news_id == 2)
                     .values(removed_ms=NOW, removed_by=1))
    feeds.serve(where, feed_file("rss_valid_v2.xml"))
    clock.now_ms += HOUR_MS
    report = poll(desk, feed["id"])
    assert (report["inserted"], report["updated"], report["duplicates"]) == (1, 1, 1)
    stored = {i["id"]: i for i in items(desk.db)}
    assert (stored[1]["title"], stored[1]["summary"], stored[1]["tags"]) == (
        "Acme Robotics files for a Nasdaq listing, targets April",
        "Updated: the draft registration names an April window.", ["ipo", "nasdaq"])
    assert stored[1]["published_ms"] == 1_795_512_600_000  # the original time stays
    assert stored[3]["title"] == "Weather: a sunny week ahead"  # gone from the feed, kept here
    assert stored[4]["title"] == "Acme Robotics hires a chief financial officer"
    with desk.db.connect() as conn:
        updated_ms = conn.scalar(sa.select(t.news_items.c.updated_ms)
                                 .where(t.news_items.c.id == 1))
    assert updated_ms == NOW + HOUR_MS
    assert tag_rows(desk.db) == [(1, "ipo"), (1, "nasdaq"), (3, "weather")]
    # The edit re-links (nasdaq adds nothing new); the removed link stays removed.
    assert links(desk.db) == [
        (1, 1, "tag", "tags: ipo", None),
        (2, 3, "text", "keywords: bank, complete, harbor, merger, trust, zenith", NOW),
        (4, 1, "text", "keywords: acme, list, robotic", None),  # the new item, by its text
    ]
    assert [i["id"] for i in pushed.items] == [1, 2, 3, 4]  # only new items are pushed


def test_malformed_feed_is_read_leniently(desk: NewsDesk, markets: Exchange,
                                          feeds: FeedServer, feed_file: ReadFeed) -> None:
    feed = desk.add_feed(feeds.serve(path(), feed_file("malformed.xml")), "Broken", 600, None)
    report = poll(desk, feed["id"])
    assert report["status"] == "ok" and report["inserted"] == 2
    assert report["error"].startswith("malformed, read leniently:")
    assert [(i["title"], i["summary"], i["published_ms"]) for i in items(desk.db)] == [
        ("Acme & Zenith both rally", "An unclosed bold and a bare & sign", NOW),
        ("Second item, never closed", "", 1_795_536_000_000),
    ]


def test_hostile_feed_never_stores_unsafe_html(desk: NewsDesk, markets: Exchange,
                                               feeds: FeedServer) -> None:
    huge = "<p>" + "breaking " * 120_000 + "<script>x()</script></p>"  # about 1 MB
    document = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Evil</title>
      <item><title>&lt;img src=x onerror=alert(1)&gt;Acme &lt;script&gt;x&lt;/script&gt;IPO news</title>
        <link>javascript:alert(1)</link><guid>evil-1</guid>
        <description><![CDATA[<script>steal()</script><p onclick="x()">Read <a href="javascript:y()">this</a></p>]]></description>
        <author>&lt;b&gt;Mallory&lt;/b&gt;</author><category>IPO</category>
        <pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
      <item><title>Huge</title><link>https://evil.example/huge</link>
        <description><![CDATA[{huge}]]></description><pubDate>not a date</pubDate></item>
      <item><title>Old</title><link>https://evil.example/old</link>
        <pubDate>Sat, 01 Jan 1000 00:00:00 GMT</pubDate></item>
      <item><title>{"T" * 5_000}</title><link>https://evil.example/long</link></item>
    </channel></rss>"""
    feed = desk.add_feed(feeds.serve(path(), document), "Evil", 600, None)
    report = poll(desk, feed["id"])
    assert (report["status"], report["inserted"], report["rejected"]) == ("ok", 4, 0)
    first, big, old, long = items(desk.db)
    assert (first["title"], first["summary"], first["author"], first["link"]) == (
        "Acme IPO news", "Read this", "Mallory", None)
    assert first["published_ms"] == NOW and big["published_ms"] == NOW
    assert old["published_ms"] == NOW
    assert big["summary"] == " ".join(["breaking"] * 222) + "\u2026"  # cut at a word, 2000 max
    assert len(long["title"]) == limits.title_chars_max
    assert links(desk.db)[0][:3] == (1, 1, "tag")
    for item in items(desk.db):
        for text in (item["title"], item["summary"], item["author"], *item["tags"]):
            assert is_plain(text) and "<" not in text and "javascript" not in text


def test_failures_back_off_exponentially_then_recover(desk: NewsDesk, markets: Exchange,
                                                      feeds: FeedServer, feed_file: ReadFeed,
                                                      clock: Clock) -> None:
    where = path()
    feeds.serve(where, b"", status=500)
    feed = desk.add_feed(feeds.base + where, "Flaky", 3_600, None)
    delays = []
    for failures in (1, 2, 3):
        report = poll(desk, feed["id"])
        assert (report["status"], report["error"]) == ("error", "HTTP 500")
        row = feed_row(desk, feed["id"])
        assert row["failures"] == failures and row["last_status"] == "error"
        delays.append((row["next_poll_ms"] - clock.now_ms) // 1000)
    assert delays == [7_200, 14_400, limits.backoff_s_max]  # 3600 * 2**n, capped at 6 h
    assert desk.feeds()[0]["next_poll_ms"] > clock.now_ms  # not due: the poller waits
    feeds.serve(where, feed_file("rss_valid.xml"))
    report = poll(desk, feed["id"])
    row = feed_row(desk, feed["id"])
    assert (report["status"], report["inserted"], row["failures"]) == ("ok", 3, 0)
    assert row["next_poll_ms"] == clock.now_ms + 3_600_000


def test_bad_documents_and_transport_failures_are_recorded(desk: NewsDesk,
                                                           feeds: FeedServer) -> None:
    too_big = feeds.serve(path(), b"<rss>" + b" " * limits.feed_bytes_max + b"</rss>")
    garbage = feeds.serve(path(), b"\x00\x01 this is no feed \xff")
    bomb = feeds.serve(path(), b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                               b'<rss version="2.0"><channel><title>&a;</title></channel></rss>')
    missing = feeds.base + path()  # 404
    expected = {too_big: "feed too large", garbage: "not a feed",
                bomb: "entity declarations are not accepted", missing: "HTTP 404",
                "http://127.0.0.1:9/feed.xml": "connection failed"}
    for url, reason in expected.items():
        feed = desk.add_feed(url, None, 600, None)
        report = poll(desk, feed["id"])
        assert report["status"] == "error" and report["error"].startswith(reason), report
        assert feed_row(desk, feed["id"])["failures"] == 1
    assert items(desk.db) == []


def test_local_file_feed_uses_its_mtime_as_etag(desk: NewsDesk, markets: Exchange,
                                                tmp_path: Path, feed_file: ReadFeed) -> None:
    local = tmp_path / "wire.xml"
    local.write_text(feed_file("rss_valid.xml"), encoding="utf-8")
    feed = desk.add_feed(str(local), "Local Wire", 600, None)
    assert feed["url"] == local.resolve().as_uri()
    assert poll(desk, feed["id"])["inserted"] == 3
    assert poll(desk, feed["id"])["status"] == "not_modified"
    local.write_text(feed_file("rss_valid_v2.xml"), encoding="utf-8")
    os.utime(local, ns=(1, 1_000_000_000))  # mtime changes, as an editor would make it
    report = poll(desk, feed["id"])
    assert (report["status"], report["inserted"], report["updated"]) == ("ok", 1, 1)
    gone = desk.add_feed(str(tmp_path / "absent.xml"), None, 600, None)
    assert poll(desk, gone["id"])["error"] == "file not found"


def test_feed_urls_are_checked(desk: NewsDesk) -> None:
    from foretell.news.desk import NewsError

    for bad in ("javascript:alert(1)", "ftp://x.example/feed", "https://u:p@x.example/",
                "package://../etc/passwd", "package://foretell.demo/../../x.xml",
                "http://exa mple.com/", "file://remote-host/feed.xml"):
        try:
            desk.add_feed(bad, None, 600, None)
        except NewsError as exc:
            assert exc.code == "invalid_feed_url", bad
        else:
            raise AssertionError(f"accepted {bad!r}")
    desk.add_feed("https://x.example/feed", None, 600, None)
    try:
        desk.add_feed("HTTPS://X.example/feed#frag", None, 600, None)
    except NewsError as exc:
        assert exc.code == "duplicate_feed"
    else:
        raise AssertionError("a duplicate feed was accepted")


def test_the_background_poller_polls_due_feeds(desk: NewsDesk, markets: Exchange,
                                               feeds: FeedServer, feed_file: ReadFeed,
                                               pushed: Pushed) -> None:
    feed = desk.add_feed(feeds.serve(path(), feed_file("rss_valid.xml")), "Wire One", 600, None)

    async def scenario() -> None:
        task = asyncio.create_task(desk.run())
        try:
            for _ in range(200):
                if len(pushed.items) == 3:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert pushed.titles()[0] == "Acme Robotics files confidentially for a Nasdaq listing"
    assert feed_row(desk, feed["id"])["next_poll_ms"] == NOW + 600_000
