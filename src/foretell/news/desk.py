"""The news desk: the verbs of the news feed (poll a feed, post, link, manage feeds) and the
background poller. The application layer over `fetch`, `parse`, `linking` and `store`.

Wiring (one place, `NewsDesk.poll`):
  # 1 fetch    conditional request (or file/package read), byte-capped     (on the loop, async)
  # 2 parse    feedparser -> clean entries                                 (worker thread)
  # 3 store    de-duplicate, insert or update, link to markets             (worker thread)
  # 4 record   feed status, validators, failures and next poll time        (worker thread)
  # 5 publish  new items to the `news` channel and their markets' channels (on the loop)
A poll never raises for anything a feed does: failures are recorded on the feed, which then
backs off exponentially (`interval_s * 2 ** failures`, at most `backoff_s_max`). Polls of one
feed never overlap (a lock per feed), so "poll now" and the poller cannot store an item twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from foretell.domain.codes import Refused
from foretell.news import limits, store
from foretell.news.fetch import Fetched, describe, fetch, normalize_feed_url
from foretell.news.parse import Entry, ParsedFeed, parse_feed
from foretell.news.text import clean_link, clean_tags, plain_text
from foretell.store import schema as t

log = logging.getLogger(__name__)
Row = dict[str, Any]
polls_concurrent_max = 4


class NewsError(Refused):
    """An expected refusal of the news desk: a stable code, nothing changed."""


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    role: str  # trader | creator | supervisor


class _Host(Protocol):
    """What the desk needs from the application: the store, where news goes live, the clock."""

    @property
    def db(self) -> sa.Engine: ...

    def publish_news(self, item: dict[str, Any]) -> None: ...

    @property
    def clock(self) -> Callable[[], int]: ...


class NewsDesk:
    def __init__(self, db: sa.Engine, publish: Callable[[Row], None],
                 clock: Callable[[], int], fetch_timeout_s: float = limits.fetch_timeout_s,
                 ) -> None:
        self.db = db
        self.publish = publish
        self.clock = clock
        self.fetch_timeout_s = fetch_timeout_s
        self._locks: dict[int, asyncio.Lock] = {}

    # -- feeds --------------------------------------------------------------------------------

    def add_feed(self, url: str, name: str | None, interval_s: int, actor: Actor | None) -> Row:
        try:
            location = normalize_feed_url(url)
        except ValueError as exc:
            raise NewsError("invalid_feed_url", str(exc)) from exc
        if not limits.poll_interval_s_min <= interval_s <= limits.poll_interval_s_max:
            raise NewsError("invalid_request", "interval_s out of range")
        source = plain_text(name, limits.source_chars_max) if name else describe(location)
        try:
            return store.add_feed(self.db, location, source or describe(location), interval_s,
                                  self.clock(), actor.user_id if actor else None)
        except store.Duplicate as exc:
            raise NewsError("duplicate_feed", f"feed {exc.existing_id} has this URL") \
                from exc
        except OverflowError as exc:
            raise NewsError("too_many_feeds", str(exc)) from exc

    def feeds(self) -> list[Row]:
        return store.list_feeds(self.db)

    def delete_feed(self, feed_id: int) -> None:
        if not store.delete_feed(self.db, feed_id):
            raise NewsError("unknown_feed", "No such feed.")

    async def poll(self, feed_id: int) -> Row:
        """Poll one feed now; returns what happened (status, counts, error)."""
        lock = self._locks.setdefault(feed_id, asyncio.Lock())
        async with lock:
            feed = await asyncio.to_thread(store.get_feed, self.db, feed_id)
            if feed is None:
                raise NewsError("unknown_feed", "No such feed.")
            fetched = await fetch(feed["url"], feed["etag"], feed["last_modified"],
                                  self.fetch_timeout_s)
            outcome, new = await asyncio.to_thread(self._absorb, feed, fetched)
        for item in new:
            self.publish(item)
        return outcome

    def _absorb(self, feed: Row, fetched: Fetched) -> tuple[Row, list[Row]]:
        """Parse, store and record one fetch (in a worker thread)."""
        now = self.clock()
        parsed = ParsedFeed()
        report = store.IngestReport()
        status, error = fetched.status, fetched.error
        if status == "ok":
            parsed = parse_feed(fetched.body, now, fetched.base_url, fetched.content_type)
            if parsed.error is not None:
                status, error = "error", parsed.error
            else:
                report = store.ingest(self.db, parsed.entries, feed["name"], now,
                                      feed_id=feed["id"])
                error = f"malformed, read leniently: {parsed.bozo}" if parsed.bozo else None
        values = _feed_update(feed, fetched, status, error, now, len(report.new))
        store.record_poll(self.db, feed["id"], values)
        outcome = {"feed_id": feed["id"], "status": status, "error": error,
                   **report.as_dict(), "rejected": parsed.rejected, "skipped": parsed.skipped,
                   "next_poll_ms": values["next_poll_ms"]}
        if status == "error":
            log.warning("feed %s failed (%d in a row): %s", feed["id"], values["failures"], error)
        return outcome, report.new

    async def poll_due(self) -> int:
        """Poll every feed that is due (a few at a time); returns how many were polled."""
        due = await asyncio.to_thread(store.due_feeds, self.db, self.clock())
        gate = asyncio.Semaphore(polls_concurrent_max)

        async def one(feed_id: int) -> None:
            async with gate:
                try:
                    await self.poll(feed_id)
                except NewsError:
                    pass  # deleted meanwhile
                except Exception:  # a bug must not stop the other feeds or the poller
                    log.exception("polling feed %s failed", feed_id)

        await asyncio.gather(*(one(feed_id) for feed_id in due))
        return len(due)

    async def run(self) -> None:
        """The background poller: polls due feeds until cancelled."""
        while True:
            try:
                await self.poll_due()
            except Exception:  # e.g. the database is briefly unavailable: try again later
                log.exception("news poller round failed")
            await asyncio.sleep(await asyncio.to_thread(self._pause_s))

    def _pause_s(self) -> float:
        try:
            due = store.next_due_ms(self.db)
        except Exception:
            return limits.poller_sleep_s_max
        if due is None:
            return limits.poller_sleep_s_max
        return min(limits.poller_sleep_s_max, max(0.05, (due - self.clock()) / 1000))

    # -- items --------------------------------------------------------------------------------

    def ingest(self, entries: Sequence[Entry], source: str, feed_id: int | None = None,
               auto_link: bool = True) -> store.IngestReport:
        """Store entries that did not come through a feed poll (demo data, imports)."""
        return store.ingest(self.db, entries, source, self.clock(), feed_id=feed_id,
                            auto_link=auto_link)

    async def post(self, actor: Actor, title: str, summary: str, link: str | None,
                   tags: Sequence[str], kind: str, market_ids: Sequence[int]) -> Row:
        """A creator's or supervisor's own item, linked to `market_ids` (a creator's own
        markets only) and by the rules; pushed like any new item."""
        item = await asyncio.to_thread(self._post, actor, title, summary, link, tags, kind,
                                       list(dict.fromkeys(market_ids)))
        self.publish(item)
        return item

    def _post(self, actor: Actor, title: str, summary: str, link: str | None,
              tags: Sequence[str], kind: str, market_ids: list[int]) -> Row:
        if actor.role not in ("creator", "supervisor"):
            raise NewsError("forbidden", "Only creators and supervisors post news.")
        clean_title = plain_text(title, limits.title_chars_max)
        if not clean_title:
            raise NewsError("invalid_request", "the title has no text")
        clean = clean_link(link) if link else None
        if link and clean is None:
            raise NewsError("invalid_link", "links must be absolute http(s) URLs")
        for market_id in market_ids:
            self._check_market(market_id, actor)
        now = self.clock()
        entry = Entry(title=clean_title, summary=plain_text(summary, limits.summary_chars_max),
                      link=clean, guid=None, author=self._display_name(actor.user_id),
                      tags=tuple(clean_tags(list(tags))), published_ms=now,
                      kind="analysis" if kind == "analysis" else "report")
        try:
            news_id = store.insert_post(self.db, entry, entry.author, now, actor.user_id,
                                        market_ids)
        except store.Duplicate as exc:
            raise NewsError("duplicate_news", "This item is already in the feed "
                            f"(item {exc.existing_id}).") from exc
        return self.item(news_id)

    def item(self, news_id: int) -> Row:
        found = store.get_item(self.db, news_id)
        if found is None:
            raise NewsError("unknown_news", "No such news item.")
        return found

    def link(self, news_id: int, market_id: int, actor: Actor, active: bool) -> Row:
        """Add (active) or remove a link by hand; creators on their own markets only."""
        self.item(news_id)
        self._check_market(market_id, actor)
        with self.db.begin() as conn:
            store.set_link(conn, news_id, market_id, actor.user_id, self.clock(), active)
        return self.item(news_id)

    def _check_market(self, market_id: int, actor: Actor) -> None:
        owner = store.market_owner(self.db, market_id)
        if owner is None:
            raise NewsError("unknown_market", "No such market.")
        if actor.role == "supervisor":
            return
        if actor.role != "creator" or actor.user_id not in owner:
            raise NewsError("forbidden", "Creators link news to their own markets only.")

    def _display_name(self, user_id: int) -> str:
        with self.db.connect() as conn:
            name = conn.execute(sa.select(t.users.c.display_name, t.users.c.username)
                                .where(t.users.c.id == user_id)).first()
        text = plain_text(name[0] or name[1], limits.source_chars_max) if name else ""
        return text or f"user {user_id}"


def _feed_update(feed: Row, fetched: Fetched, status: str, error: str | None, now: int,
                 inserted: int) -> Row:
    if status == "error":
        failures = int(feed["failures"]) + 1
        delay_s = min(int(feed["interval_s"]) * 2 ** min(failures, 20), limits.backoff_s_max)
        return {"failures": failures, "last_status": "error", "last_error": (error or "")[:500],
                "last_poll_ms": now, "next_poll_ms": now + delay_s * 1000}
    values: Row = {"failures": 0, "last_status": status,
                   "last_error": error[:500] if error else None, "last_poll_ms": now,
                   "last_ok_ms": now,
                   "next_poll_ms": now + int(feed["interval_s"]) * 1000,
                   "items_total": int(feed["items_total"]) + inserted}
    if status == "ok":
        values.update(etag=fetched.etag, last_modified=fetched.last_modified)
    return values


_desks: weakref.WeakKeyDictionary[Any, NewsDesk] = weakref.WeakKeyDictionary()


def desk(svc: _Host) -> NewsDesk:
    """The service's news desk (one per service, made on first use)."""
    found = _desks.get(svc)
    if found is None:
        found = NewsDesk(svc.db, svc.publish_news, svc.clock)
        _desks[svc] = found
    return found


async def run_poller(svc: _Host) -> None:
    """The background feed poller of a running service (an asyncio task; cancel to stop)."""
    await desk(svc).run()
