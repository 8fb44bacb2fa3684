"""News in the SQL store: items with their tags and market links, feeds, and the queries.

Owned here: every read and write of the `news_*` tables. Invariants kept:
  - an item is stored at most once per link, per normalized title from one source and per
    entry id from one source (unique keys in the schema; a race is caught, not doubled);
  - `news_tags` always holds exactly the tags of `news_items.tags` (written together);
  - a link removed by a person is a tombstone: automatic linking never restores it;
  - full-text search is the database's own (FTS5 on SQLite, tsvector on PostgreSQL), queried
    with terms reduced to plain words, so no user input reaches either query language.
All functions take an Engine (and open short transactions) or a Connection (and join its
transaction); none reads a clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from foretell.news import limits
from foretell.news.linking import Link, MarketText, find_links
from foretell.news.parse import Entry
from foretell.news.text import guid_key, link_key, search_terms, title_key
from foretell.store import schema as t

Row = dict[str, Any]
Db = sa.Engine | sa.Connection

# Must stay the expression of the GIN index made by migration 0003, or PostgreSQL cannot use it.
PG_SEARCH_VECTOR = ("to_tsvector('english'::regconfig, news_items.title || ' ' || "
                    "news_items.summary || ' ' || news_items.tags)")


@dataclass(slots=True)
class IngestReport:
    """What storing a batch of entries did; `new` are the inserted items, ready to publish."""

    new: list[Row] = field(default_factory=list)
    updated: int = 0
    duplicates: int = 0

    def as_dict(self) -> Row:
        return {"inserted": len(self.new), "updated": self.updated,
                "duplicates": self.duplicates}


class Duplicate(Exception):
    """The item is already stored (same link, same title from the source, or same entry id)."""

    def __init__(self, existing_id: int | None) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


# -- writing items ----------------------------------------------------------------------------

def ingest(db: sa.Engine, entries: Sequence[Entry], source: str, now_ms: int,
           feed_id: int | None = None, posted_by: int | None = None,
           auto_link: bool = True) -> IngestReport:
    """Store entries one transaction each: new ones inserted and linked, edited ones (same
    entry id or link, different text) updated and linked anew, the rest counted duplicates."""
    report = IngestReport()
    markets = linkable_markets(db) if auto_link else []
    for entry in entries:
        try:
            with db.begin() as conn:
                news_id, updated = _store_entry(conn, entry, source, now_ms, feed_id, posted_by,
                                                markets)
        except (Duplicate, IntegrityError):
            report.duplicates += 1
            continue
        if updated:
            report.updated += 1
        elif news_id is not None:
            item = get_item(db, news_id)
            assert item is not None
            report.new.append(item)
        else:
            report.duplicates += 1
    return report


def _store_entry(conn: sa.Connection, entry: Entry, source: str, now_ms: int,
                 feed_id: int | None, posted_by: int | None,
                 markets: list[MarketText]) -> tuple[int | None, bool]:
    """(id of a new item, False), (id, True) for an update, or (None, False) for a duplicate."""
    keys = _keys(entry, source)
    existing = _existing(conn, keys)
    if existing is None:
        news_id = _insert(conn, entry, source, keys, now_ms, feed_id, posted_by)
        add_links(conn, news_id, find_links(entry.title, entry.summary, entry.tags, markets),
                  now_ms)
        return news_id, False
    row, matched_by = existing
    # Only the source that published an item may edit it: the same entry id (its key includes
    # the source), or the same link from the same source. Anything else is a duplicate.
    editable = matched_by == "guid" or (matched_by == "link" and row["source"] == source)
    if not editable or not _changed(row, entry):
        return None, False
    news_id = int(row["id"])
    _update(conn, news_id, entry, keys, now_ms)
    add_links(conn, news_id, find_links(entry.title, entry.summary, entry.tags, markets), now_ms)
    return news_id, True


def _keys(entry: Entry, source: str) -> dict[str, str | None]:
    return {"link_key": link_key(entry.link) if entry.link else None,
            "title_key": title_key(source, entry.title),
            "guid_key": guid_key(source, entry.guid) if entry.guid else None}


def _existing(conn: sa.Connection, keys: dict[str, str | None]) -> tuple[Row, str] | None:
    """The stored item these keys identify, and which key matched (entry id, link, title)."""
    n = t.news_items.c
    found: dict[str, Row] = {}
    for name, column in (("guid", n.guid_key), ("link", n.link_key), ("title", n.title_key)):
        value = keys[f"{name}_key"]
        if value is None:
            continue
        row = conn.execute(sa.select(n.id, n.source, n.title, n.summary, n.link, n.author,
                                     n.tags)
                           .where(column == value)).mappings().first()
        if row is not None:
            found[name] = dict(row)
    for name in ("guid", "link", "title"):
        if name in found:
            return found[name], name
    return None


def _changed(row: Row, entry: Entry) -> bool:
    """True when an entry edits its stored item (a link is never taken away by an edit)."""
    link = entry.link if entry.link is not None else row["link"]
    return (row["title"], row["summary"], row["link"], row["author"], json.loads(row["tags"])) \
        != (entry.title, entry.summary, link, entry.author, list(entry.tags))


def _insert(conn: sa.Connection, entry: Entry, source: str, keys: dict[str, str | None],
            now_ms: int, feed_id: int | None, posted_by: int | None) -> int:
    result = conn.execute(t.news_items.insert().values(
        kind=entry.kind, title=entry.title, summary=entry.summary, source=source,
        link=entry.link, author=entry.author, tags=json.dumps(list(entry.tags)),
        published_ms=entry.published_ms, arrived_ms=now_ms, updated_ms=now_ms, feed_id=feed_id,
        guid=entry.guid, posted_by=posted_by, **keys))
    key = result.inserted_primary_key
    assert key is not None
    news_id = int(key[0])
    _write_tags(conn, news_id, entry.tags)
    return news_id


def _update(conn: sa.Connection, news_id: int, entry: Entry, keys: dict[str, str | None],
            now_ms: int) -> None:
    """An edited entry: new text, link and tags; the id, published and arrival times stay."""
    n = t.news_items.c
    values: dict[str, Any] = {"title": entry.title, "summary": entry.summary,
                              "author": entry.author, "tags": json.dumps(list(entry.tags)),
                              "title_key": keys["title_key"], "updated_ms": now_ms}
    if entry.link:
        values.update(link=entry.link, link_key=keys["link_key"])
    conn.execute(t.news_items.update().where(n.id == news_id).values(**values))
    conn.execute(t.news_tags.delete().where(t.news_tags.c.news_id == news_id))
    _write_tags(conn, news_id, entry.tags)


def _write_tags(conn: sa.Connection, news_id: int, tags: Iterable[str]) -> None:
    rows = [{"news_id": news_id, "tag": tag} for tag in dict.fromkeys(tags)]
    if rows:
        conn.execute(t.news_tags.insert(), rows)


def insert_post(db: sa.Engine, entry: Entry, source: str, now_ms: int, posted_by: int,
                market_ids: Sequence[int]) -> int:
    """A post by a creator or supervisor: stored, linked to `market_ids` by hand (by its
    author) and to other markets by the rules. Raises Duplicate."""
    markets = linkable_markets(db)
    try:
        with db.begin() as conn:
            keys = _keys(entry, source)
            existing = _existing(conn, keys)
            if existing is not None:
                raise Duplicate(int(existing[0]["id"]))
            news_id = _insert(conn, entry, source, keys, now_ms, None, posted_by)
            for market_id in market_ids:
                set_link(conn, news_id, market_id, posted_by, now_ms, active=True)
            add_links(conn, news_id, find_links(entry.title, entry.summary, entry.tags, markets),
                      now_ms)
    except IntegrityError as exc:
        raise Duplicate(None) from exc
    return news_id


# -- links ------------------------------------------------------------------------------------

def linkable_markets(db: Db) -> list[MarketText]:
    m = t.markets.c
    rows = _rows(db, sa.select(m.id, m.question, m.tags, m.status))
    out = []
    for r in rows:
        try:
            tags = tuple(str(x).casefold() for x in json.loads(r["tags"] or "[]"))
        except (ValueError, TypeError):
            tags = ()
        out.append(MarketText(int(r["id"]), str(r["question"]), tags, str(r["status"])))
    return out


def add_links(conn: sa.Connection, news_id: int, links: Iterable[Link], now_ms: int) -> int:
    """Automatic links the item does not have yet (a tombstone counts as having it)."""
    have = set(conn.execute(sa.select(t.news_links.c.market_id)
                            .where(t.news_links.c.news_id == news_id)).scalars())
    rows = [{"news_id": news_id, "market_id": link.market_id, "how": link.how,
             "reason": link.reason[:300], "created_ms": now_ms, "created_by": None}
            for link in links if link.market_id not in have]
    if rows:
        conn.execute(t.news_links.insert(), rows)
    return len(rows)


def set_link(conn: sa.Connection, news_id: int, market_id: int, by: int | None, now_ms: int,
             active: bool, reason: str | None = None) -> bool:
    """Link by hand (active) or remove a link (leaving a tombstone); True if anything changed."""
    c = t.news_links.c
    where = (c.news_id == news_id) & (c.market_id == market_id)
    row = conn.execute(sa.select(c.removed_ms, c.how).where(where)).mappings().first()
    if active:
        values = {"how": "manual", "reason": reason or f"linked by user {by}",
                  "created_ms": now_ms, "created_by": by, "removed_ms": None, "removed_by": None}
        if row is None:
            conn.execute(t.news_links.insert().values(news_id=news_id, market_id=market_id,
                                                      **values))
            return True
        if row["removed_ms"] is None and row["how"] == "manual":
            return False
        conn.execute(t.news_links.update().where(where).values(**values))
        return True
    if row is None or row["removed_ms"] is not None:
        return False
    conn.execute(t.news_links.update().where(where).values(removed_ms=now_ms, removed_by=by))
    return True


# -- reading items ----------------------------------------------------------------------------

_ITEM_COLUMNS = ("id", "kind", "title", "summary", "source", "link", "author", "tags",
                 "published_ms", "arrived_ms", "updated_ms", "feed_id", "posted_by")


def _item_select() -> sa.Select[Any]:
    return sa.select(*[t.news_items.c[name] for name in _ITEM_COLUMNS])


def get_item(db: Db, news_id: int) -> Row | None:
    rows = _with_markets(db, _rows(db, _item_select().where(t.news_items.c.id == news_id)))
    return rows[0] if rows else None


def list_items(db: Db, market_id: int | None = None, tag: str | None = None,
               q: str | None = None, since_ms: int | None = None, until_ms: int | None = None,
               cursor: tuple[int, int] | None = None,
               limit: int = 50) -> tuple[list[Row], str | None]:
    """Items newest first (by published time, then id), filtered; the next page's cursor is
    "<published_ms>_<id>" of the last item, or None on the last page."""
    n = t.news_items.c
    stmt = _item_select()
    if market_id is not None:
        stmt = stmt.where(n.id.in_(sa.select(t.news_links.c.news_id).where(
            t.news_links.c.market_id == market_id, t.news_links.c.removed_ms.is_(None))))
    if tag is not None:
        stmt = stmt.where(n.id.in_(sa.select(t.news_tags.c.news_id)
                                   .where(t.news_tags.c.tag == tag)))
    if q is not None:
        terms = search_terms(q)
        if not terms:
            return [], None
        stmt = stmt.where(_matches(db, terms))
    if since_ms is not None:
        stmt = stmt.where(n.published_ms >= since_ms)
    if until_ms is not None:
        stmt = stmt.where(n.published_ms < until_ms)
    if cursor is not None:
        stmt = stmt.where(sa.tuple_(n.published_ms, n.id) < sa.tuple_(*cursor))
    limit = max(1, min(limit, limits.list_limit_max))
    rows = _rows(db, stmt.order_by(n.published_ms.desc(), n.id.desc()).limit(limit + 1))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = f"{rows[-1]['published_ms']}_{rows[-1]['id']}"
    return _with_markets(db, rows), next_cursor


def _matches(db: Db, terms: list[str]) -> sa.ColumnElement[bool] | sa.TextClause:
    dialect = db.dialect.name
    if dialect == "sqlite":
        query = " ".join(f'"{term}"' for term in terms)  # terms are \w+ only: no quotes inside
        return sa.text("news_items.id IN (SELECT rowid FROM news_fts WHERE news_fts MATCH "
                       ":fts_query)").bindparams(fts_query=query)
    if dialect == "postgresql":
        return sa.text(f"{PG_SEARCH_VECTOR} @@ plainto_tsquery('english'::regconfig, "
                       ":ts_query)").bindparams(ts_query=" ".join(terms))
    n = t.news_items.c  # any other database: every term somewhere in the text
    return sa.and_(*[sa.or_(n.title.icontains(term, autoescape=True),
                            n.summary.icontains(term, autoescape=True)) for term in terms])


def market_news(db: Db, market_id: int, limit: int = limits.news_per_market_detail) -> list[Row]:
    """The latest items linked to a market, newest first, without their other links."""
    n = t.news_items.c
    stmt = (sa.select(n.id, n.kind, n.title, n.source, n.link, n.published_ms,
                      t.news_links.c.how, t.news_links.c.reason)
            .join(t.news_links, t.news_links.c.news_id == n.id)
            .where(t.news_links.c.market_id == market_id, t.news_links.c.removed_ms.is_(None))
            .order_by(n.published_ms.desc(), n.id.desc()).limit(limit))
    return _rows(db, stmt)


def news_between(db: Db, market_id: int, start_ms: int, end_ms: int,
                 limit: int = 1_000) -> list[Row]:
    """{id, title, published_ms} of the items linked to a market and published in
    [start_ms, end_ms), oldest first (for annotating candles)."""
    n = t.news_items.c
    stmt = (sa.select(n.id, n.title, n.published_ms)
            .join(t.news_links, t.news_links.c.news_id == n.id)
            .where(t.news_links.c.market_id == market_id, t.news_links.c.removed_ms.is_(None),
                   n.published_ms >= start_ms, n.published_ms < end_ms)
            .order_by(n.published_ms, n.id).limit(limit))
    return _rows(db, stmt)


def _with_markets(db: Db, rows: list[Row]) -> list[Row]:
    """Items with decoded tags and their live links (market id, slug, how, why)."""
    if not rows:
        return rows
    c = t.news_links.c
    links = _rows(db, sa.select(c.news_id, c.market_id, t.markets.c.slug, c.how, c.reason)
                  .join(t.markets, t.markets.c.id == c.market_id)
                  .where(c.news_id.in_([r["id"] for r in rows]), c.removed_ms.is_(None))
                  .order_by(c.news_id, c.market_id))
    by_item: dict[int, list[Row]] = {}
    for link in links:
        by_item.setdefault(int(link.pop("news_id")), []).append(link)
    for r in rows:
        r["tags"] = json.loads(r["tags"])
        r["markets"] = by_item.get(int(r["id"]), [])
    return rows


def market_owner(db: Db, market_id: int) -> tuple[int | None, int | None] | None:
    """(creator_id, created_by) of a market, or None when the store has no such market."""
    m = t.markets.c
    rows = _rows(db, sa.select(m.creator_id, m.created_by).where(m.id == market_id))
    if not rows:
        return None
    return rows[0]["creator_id"], rows[0]["created_by"]


def market_ids_by_slug(db: Db, slugs: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return {}
    m = t.markets.c
    return {r["slug"]: int(r["id"]) for r in _rows(db, sa.select(m.slug, m.id)
                                                    .where(m.slug.in_(wanted)))}


# -- feeds ------------------------------------------------------------------------------------

def add_feed(db: sa.Engine, url: str, name: str, interval_s: int, now_ms: int,
             by: int | None) -> Row:
    """A new feed, due at once; raises Duplicate when the URL is already configured."""
    try:
        with db.begin() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(t.news_feeds)).scalar()
            if int(count or 0) >= limits.feeds_max:
                raise OverflowError(f"at most {limits.feeds_max} feeds")
            result = conn.execute(t.news_feeds.insert().values(
                url=url, name=name, interval_s=interval_s, enabled=True, failures=0,
                next_poll_ms=now_ms, items_total=0, created_ms=now_ms, created_by=by))
            key = result.inserted_primary_key
            assert key is not None
    except IntegrityError as exc:
        existing = feed_by_url(db, url)
        raise Duplicate(existing["id"] if existing else None) from exc
    feed = get_feed(db, int(key[0]))
    assert feed is not None
    return feed


def get_feed(db: Db, feed_id: int) -> Row | None:
    rows = _rows(db, sa.select(t.news_feeds).where(t.news_feeds.c.id == feed_id))
    return rows[0] if rows else None


def feed_by_url(db: Db, url: str) -> Row | None:
    rows = _rows(db, sa.select(t.news_feeds).where(t.news_feeds.c.url == url))
    return rows[0] if rows else None


def list_feeds(db: Db) -> list[Row]:
    return _rows(db, sa.select(t.news_feeds).order_by(t.news_feeds.c.id))


def delete_feed(db: sa.Engine, feed_id: int) -> bool:
    """Stop polling a feed; its items stay (they carry the source name)."""
    with db.begin() as conn:
        result = conn.execute(t.news_feeds.delete().where(t.news_feeds.c.id == feed_id))
    return bool(result.rowcount)


def due_feeds(db: Db, now_ms: int) -> list[int]:
    f = t.news_feeds.c
    return list(_scalars(db, sa.select(f.id).where(f.enabled.is_(True), f.next_poll_ms <= now_ms)
                         .order_by(f.next_poll_ms, f.id)))


def next_due_ms(db: Db) -> int | None:
    f = t.news_feeds.c
    value = _scalars(db, sa.select(sa.func.min(f.next_poll_ms)).where(f.enabled.is_(True)))
    return int(value[0]) if value and value[0] is not None else None


def record_poll(db: sa.Engine, feed_id: int, values: dict[str, Any]) -> None:
    with db.begin() as conn:
        conn.execute(t.news_feeds.update().where(t.news_feeds.c.id == feed_id).values(**values))


# -- helpers ----------------------------------------------------------------------------------

def _rows(db: Db, stmt: sa.Executable) -> list[Row]:
    if isinstance(db, sa.Engine):
        with db.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]
    return [dict(r) for r in db.execute(stmt).mappings()]


def _scalars(db: Db, stmt: sa.Executable) -> list[Any]:
    if isinstance(db, sa.Engine):
        with db.connect() as conn:
            return list(conn.execute(stmt).scalars())
    return list(db.execute(stmt).scalars())


def annotate_candles(db: Db, market_id: int, candles: list[Row], interval_s: int) -> None:
    """Give each candle (oldest first, with `start_ms`) a `news` list: {id, title,
    published_ms} of the market's items published inside it, at most `news_per_candle_max`."""
    for candle in candles:
        candle["news"] = []
    if not candles:
        return
    interval_ms = interval_s * 1000
    starts = [int(c["start_ms"]) for c in candles]
    items = news_between(db, market_id, starts[0], starts[-1] + interval_ms)
    by_start = {start: candle for start, candle in zip(starts, candles, strict=True)}
    for item in items:
        start = int(item["published_ms"]) // interval_ms * interval_ms
        bar = by_start.get(start)
        if bar is not None and len(bar["news"]) < limits.news_per_candle_max:
            bar["news"].append(item)
