"""RSS 2.0 and Atom documents to clean entries, with feedparser; pure (time is an argument).

Owned here: what an untrusted feed document may turn into. Every `Entry` holds plain text
within the field limits, an http(s) link or none, and a published time that is neither before
`published_ms_min` nor in the future (a missing, unparseable or impossible date becomes the
arrival time). Nothing here touches the network or the file system: the document arrives as
bytes and is handed to feedparser as a stream (given a str or bytes, feedparser would treat a
document that looks like a path or URL as one and open it).
"""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import feedparser  # type: ignore[import-untyped]

from foretell.news import limits
from foretell.news.text import clean_link, clean_tags, plain_text

Kind = Literal["report", "analysis"]
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_EMAIL_NAME = re.compile(r"^\s*[^\s@()]+@[^\s()]+\s*\((.+)\)\s*$")
_TIME_FIELDS = ("published_parsed", "updated_parsed", "created_parsed")


@dataclass(frozen=True, slots=True)
class Entry:
    """One news item as it may be stored (all fields already clean)."""

    title: str
    summary: str
    link: str | None
    guid: str | None
    author: str
    tags: tuple[str, ...]
    published_ms: int
    kind: Kind = "report"


@dataclass(slots=True)
class ParsedFeed:
    title: str = ""
    entries: list[Entry] = field(default_factory=list)
    rejected: int = 0  # entries without a usable title or text, or that failed to parse
    skipped: int = 0  # entries beyond `entries_per_poll_max`
    error: str | None = None  # the document as a whole was refused (nothing to store)
    bozo: str | None = None  # feedparser's complaint about a document it still read


def parse_feed(document: bytes, now_ms: int, base_url: str | None = None,
               content_type: str | None = None) -> ParsedFeed:
    """The entries of an RSS or Atom document, newest first as the feed lists them."""
    if len(document) > limits.feed_bytes_max:
        return ParsedFeed(error="feed too large")
    if _ENTITY_DECL.search(document):
        # Entity declarations are how XML bombs and external-entity reads start; real feeds
        # do not need them.
        return ParsedFeed(error="entity declarations are not accepted")
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(io.BytesIO(document), response_headers=headers,
                                  sanitize_html=True, resolve_relative_uris=False)
    except Exception as exc:  # feedparser is lenient, but a hostile document must not escape
        return ParsedFeed(error=f"unreadable feed: {type(exc).__name__}")
    out = ParsedFeed()
    feed = dict.get(parsed, "feed") or {}
    out.title = plain_text(dict.get(feed, "title"), limits.source_chars_max)
    if dict.get(parsed, "bozo"):
        out.bozo = plain_text(str(dict.get(parsed, "bozo_exception", "")), 200) or "malformed"
    raw_entries = list(dict.get(parsed, "entries") or [])
    if not raw_entries and not dict.get(parsed, "version"):
        out.error = f"not a feed: {out.bozo or 'no RSS or Atom document found'}"
        return out
    out.skipped = max(0, len(raw_entries) - limits.entries_per_poll_max)
    for raw in raw_entries[:limits.entries_per_poll_max]:
        try:
            entry = _entry(raw, now_ms, base_url)
        except Exception:  # one bad entry is counted and skipped, never fatal
            entry = None
        if entry is None:
            out.rejected += 1
        else:
            out.entries.append(entry)
    return out


def _entry(raw: Any, now_ms: int, base_url: str | None) -> Entry | None:
    title = plain_text(dict.get(raw, "title"), limits.title_chars_max)
    summary = plain_text(_body(raw), limits.summary_chars_max)
    if not title and not summary:
        return None
    if not title:
        title = plain_text(summary, min(120, limits.title_chars_max))
    guid = plain_text(dict.get(raw, "id"), limits.guid_chars_max) or None
    link = clean_link(dict.get(raw, "link"), base_url)
    if link is None and guid is not None:
        link = clean_link(guid, None) if guid.startswith(("http://", "https://")) else None
    tags = clean_tags([t.get("term") if isinstance(t, dict) else None
                       for t in (dict.get(raw, "tags") or [])][:limits.tags_per_item_max * 2])
    author = plain_text(_author(raw), limits.author_chars_max)
    return Entry(title=title, summary=summary, link=link, guid=guid, author=author,
                 tags=tuple(tags), published_ms=published_ms(raw, now_ms),
                 kind="analysis" if "analysis" in tags else "report")


def _author(raw: Any) -> str:
    """The author's name: RSS gives "e-mail (Name)", of which only the name is kept."""
    text = dict.get(raw, "author")
    if not isinstance(text, str) or not text.strip():
        detail = dict.get(raw, "author_detail")
        name = detail.get("name") if isinstance(detail, dict) else None
        return name if isinstance(name, str) else ""
    match = _EMAIL_NAME.match(text)
    return match.group(1) if match else text


def _body(raw: Any) -> str:
    summary = dict.get(raw, "summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    for content in dict.get(raw, "content") or []:
        value = content.get("value") if isinstance(content, dict) else None
        if isinstance(value, str) and value.strip():
            return value
    return ""


def published_ms(raw: Any, now_ms: int) -> int:
    """The entry's own time if it is plausible, else `now_ms` (the arrival time)."""
    for name in _TIME_FIELDS:
        value = dict.get(raw, name)
        if value is None:
            continue
        try:
            ms = calendar.timegm(value) * 1000
        except (TypeError, ValueError, OverflowError):
            continue
        if limits.published_ms_min <= ms <= now_ms + limits.future_skew_ms:
            return min(ms, now_ms)
        return now_ms  # a date is given but impossible: do not look further
    return now_ms
