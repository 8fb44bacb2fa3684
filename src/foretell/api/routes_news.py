"""The news feed API: items (list, search, read, post), market links, and the supervisor's feeds.

Items are public like market data. Posting and linking need the `trade` scope and the creator
or supervisor role (creators link only to their own markets); feeds are supervisor-only. New
items are also pushed on the `news` WebSocket channel and on `market:<id>` of linked markets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query
from pydantic import Field

from foretell.api.deps import Admin, Anyone, Ascii, IdPath, Svc, Trader
from foretell.news import limits
from foretell.news.desk import Actor, NewsDesk, desk
from foretell.news.store import list_items
from foretell.news.text import clean_tag
from foretell.services import Services
from foretell.services.auth import Principal
from foretell.services.requests import Strict

router = APIRouter(tags=["news"])
T = TypeVar("T")
Tag = Annotated[str, Field(min_length=1, max_length=limits.tag_chars_max)]
MarketId = Annotated[int, Field(ge=1, le=2**53)]


class NewsIn(Strict):
    title: str = Field(min_length=1, max_length=limits.title_chars_max)
    summary: str = Field(default="", max_length=4 * limits.summary_chars_max)
    link: str | None = Field(default=None, max_length=limits.link_chars_max)
    tags: list[Tag] = Field(default=[], max_length=limits.tags_per_item_max)
    kind: Literal["report", "analysis"] = "analysis"
    market_ids: list[MarketId] = Field(default=[], max_length=limits.posts_market_ids_max)


class FeedIn(Strict):
    url: str = Field(min_length=1, max_length=limits.feed_url_chars_max)
    name: str | None = Field(default=None, max_length=limits.source_chars_max)
    interval_s: int = Field(default=limits.poll_interval_s_default,
                            ge=limits.poll_interval_s_min, le=limits.poll_interval_s_max)


def _news(svc: Services) -> NewsDesk:
    return desk(svc)


def _actor(p: Principal) -> Actor:
    return Actor(p.user_id, p.role)


def _run(work: Callable[[], T]) -> T:
    """The desk's refusals are `Refused`: `errors.install` answers them with their status."""
    return work()


# -- items ------------------------------------------------------------------------------------

@router.get("/news")
def news(market_id: Annotated[int | None, Query(ge=1, le=2**53), Ascii] = None,
         tag: str | None = Query(None, min_length=1, max_length=limits.tag_chars_max),
         q: str | None = Query(None, min_length=1, max_length=200),
         since_ms: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
         until_ms: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
         cursor: str | None = Query(None, pattern=r"^[0-9]{1,16}_[0-9]{1,16}$"),
         limit: Annotated[int, Query(ge=1, le=limits.list_limit_max), Ascii] = 50,
         svc: Services = Svc, _: Any = Anyone) -> dict[str, Any]:
    """News newest first (by published time). `q` is a full-text search (all words must
    match; stemmed, so "listing" finds "listed"); `since_ms` is inclusive, `until_ms`
    exclusive. Pass `next_cursor` back as `cursor` for the next page."""
    after: tuple[int, int] | None = None
    if cursor is not None:
        published, _sep, news_id = cursor.partition("_")
        after = (int(published), int(news_id))
    tag_key = clean_tag(tag) if tag is not None else None
    rows, next_cursor = list_items(svc.db, market_id=market_id, tag=tag_key, q=q,
                                   since_ms=since_ms, until_ms=until_ms, cursor=after,
                                   limit=limit)
    return {"news": rows, "next_cursor": next_cursor}


@router.get("/news/{news_id}")
def news_item(news_id: IdPath, svc: Services = Svc, _: Any = Anyone) -> dict[str, Any]:
    return _run(lambda: _news(svc).item(news_id))


@router.post("/news", status_code=201)
async def post_news(body: NewsIn, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    """Post a news item or an analysis note (creators and supervisors). Text is stored as
    plain text (any HTML is stripped); `market_ids` must be the poster's own markets unless
    the poster is a supervisor; more links are added by tags and text, as for feed items."""
    return await _news(svc).post(_actor(p), body.title, body.summary, body.link, body.tags,
                                 body.kind, body.market_ids)


@router.post("/news/{news_id}/links/{market_id}")
def add_link(news_id: IdPath, market_id: IdPath, p: Principal = Trader,
             svc: Services = Svc) -> dict[str, Any]:
    """Link an item to a market by hand (creators: their own markets; supervisors: any)."""
    return _run(lambda: _news(svc).link(news_id, market_id, _actor(p), active=True))


@router.delete("/news/{news_id}/links/{market_id}")
def remove_link(news_id: IdPath, market_id: IdPath, p: Principal = Trader,
                svc: Services = Svc) -> dict[str, Any]:
    """Remove a link; automatic linking will not bring it back."""
    return _run(lambda: _news(svc).link(news_id, market_id, _actor(p), active=False))


# -- feeds (supervisors) ----------------------------------------------------------------------

@router.get("/admin/feeds", tags=["admin"])
def feeds(p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    return {"feeds": _news(svc).feeds()}


@router.post("/admin/feeds", status_code=201, tags=["admin"])
def add_feed(body: FeedIn, p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Add an RSS 2.0 or Atom feed: an http(s) URL, or a local file path (or file:// URL).
    It is polled at once and then every `interval_s`, backing off after failures."""
    return _run(lambda: _news(svc).add_feed(body.url, body.name, body.interval_s, _actor(p)))


@router.delete("/admin/feeds/{feed_id}", tags=["admin"])
def delete_feed(feed_id: IdPath, p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Stop polling a feed; the items it brought stay."""
    _run(lambda: _news(svc).delete_feed(feed_id))
    return {"id": feed_id, "deleted": True}


@router.post("/admin/feeds/{feed_id}/poll", tags=["admin"])
async def poll_feed(feed_id: IdPath, p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Poll a feed now: status (ok, not_modified, error), items inserted, updated, duplicate
    and rejected, and the next scheduled poll."""
    return await _news(svc).poll(feed_id)
