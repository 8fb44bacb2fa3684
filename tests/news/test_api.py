"""The news API on a real server: uvicorn with `create_app` on a temporary data directory (demo
off), on SQLite and on PostgreSQL. REST through httpx; WebSocket through `websockets`: a new item
ingested from a feed is pushed to subscribers of `news` and of its market's channel."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from foretell.store import schema as t

if TYPE_CHECKING:
    from conftest import FeedServer, Server


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    return str(response.json()["error"]["code"])


def make_market(server: Server, tags: list[str], creator: str | None = None,
                question: str | None = None) -> int:
    slug = f"m-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"slug": slug, "tags": tags,
                            "question": question or f"Will the {slug} event happen by 2027?"}
    if creator:
        body["creator_id"] = server.uid(creator)
    market_id = int(ok(server.as_("root").post("/admin/markets", json=body), 201)["id"])
    wait_for(lambda: server.anonymous().get(f"/markets/{market_id}").status_code == 200)
    return market_id


def wait_for(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def rss(title: str, tag: str, guid: str) -> str:
    now = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 60))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Live</title><item>'
            f"<title>{title}</title><link>https://live.example/{guid}</link><guid>{guid}</guid>"
            f"<pubDate>{now}</pubDate><category>{tag}</category>"
            f"<description>&lt;p&gt;Fresh &lt;b&gt;news&lt;/b&gt;&lt;/p&gt;</description>"
            f"</item></channel></rss>")


def test_news_is_pushed_to_the_news_and_market_channels(server: Server,
                                                         feeds: FeedServer) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    market_id = make_market(server, [tag])
    other_market = make_market(server, ["unrelated"])
    url = feeds.serve(f"/{tag}/live.xml", rss("Breaking: the event happens", tag, tag))
    feed = ok(server.as_("root").post("/admin/feeds", json={"url": url, "name": "Live Wire",
                                                            "interval_s": 600}), 201)

    async def scenario() -> list[dict[str, Any]]:
        ws_url = server.base.replace("http", "ws") + "/api/v1/ws"
        async with websockets.connect(ws_url) as a, websockets.connect(ws_url) as b, \
                websockets.connect(ws_url) as c:
            for sock, channel in ((a, "news"), (b, f"market:{market_id}"),
                                  (c, f"market:{other_market}")):
                await sock.send(json.dumps({"op": "subscribe", "channels": [channel], "id": 1}))
                assert json.loads(await sock.recv())["type"] == "subscribed"
            poll = await asyncio.to_thread(server.as_("root").post,
                                           f"/admin/feeds/{feed['id']}/poll")
            assert poll.json()["inserted"] == 1, poll.text
            got = [json.loads(await asyncio.wait_for(sock.recv(), 10)) for sock in (a, b)]
            with pytest.raises(TimeoutError):  # nothing for the unrelated market
                await asyncio.wait_for(c.recv(), 0.3)
            return got

    on_news, on_market = asyncio.run(scenario())
    assert on_news["type"] == "news" and on_news["channel"] == "news"
    assert on_market["channel"] == f"market:{market_id}" and on_market["market_id"] == market_id
    item = on_news["item"]
    assert on_market["item"] == item
    assert (item["title"], item["summary"], item["source"], item["tags"]) == (
        "Breaking: the event happens", "Fresh news", "Live Wire", [tag])
    assert [(m["market_id"], m["how"]) for m in item["markets"]] == [(market_id, "tag")]
    assert ok(server.anonymous().get(f"/news/{item['id']}")) == item


def test_list_search_and_market_detail(server: Server) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    market_id = make_market(server, [tag], creator="lena")
    root = server.as_("root")
    posted = [ok(root.post("/news", json={"title": f"Quarterly {tag} update {i}",
                                          "summary": f"Zeppelin{i} figures", "tags": [tag],
                                          "kind": "report"}), 201) for i in range(3)]
    anyone = server.anonymous()
    listed = ok(anyone.get("/news", params={"tag": tag.upper(), "limit": 2}))
    assert [n["id"] for n in listed["news"]] == [posted[2]["id"], posted[1]["id"]]
    rest = ok(anyone.get("/news", params={"tag": tag, "cursor": listed["next_cursor"]}))
    assert [n["id"] for n in rest["news"]] == [posted[0]["id"]] and rest["next_cursor"] is None
    assert [n["id"] for n in ok(anyone.get("/news", params={"q": "zeppelin1"}))["news"]] == [
        posted[1]["id"]]
    assert [n["id"] for n in ok(anyone.get("/news", params={"market_id": market_id}))[
        "news"]] == [p["id"] for p in reversed(posted)]
    detail = ok(anyone.get(f"/markets/{market_id}"))
    assert [n["id"] for n in detail["news"]] == [p["id"] for p in reversed(posted)]
    assert detail["news"][0]["how"] == "tag"
    assert error(anyone.get("/news", params={"cursor": "nope"}), 422) == "invalid_request"
    assert error(anyone.get("/news/999999"), 404) == "unknown_news"


def test_posting_and_linking_permissions(server: Server) -> None:
    mine = make_market(server, ["alpha"], creator="lena")
    theirs = make_market(server, ["beta"], creator="omar")
    lena, omar, tara = server.as_("lena"), server.as_("omar"), server.as_("tara")
    note = ok(lena.post("/news", json={"title": "<script>x</script>My <b>analysis</b>",
                                       "summary": "Plain <i>text</i> only",
                                       "market_ids": [mine]}), 201)
    assert (note["title"], note["summary"], note["kind"], note["author"]) == (
        "My analysis", "Plain text only", "analysis", "Lena")
    assert [m["market_id"] for m in note["markets"]] == [mine]
    assert error(lena.post("/news", json={"title": "Elsewhere", "market_ids": [theirs]}),
                 403) == "forbidden"
    assert error(tara.post("/news", json={"title": "A trader's scoop"}), 403) == "forbidden"
    assert error(server.anonymous().post("/news", json={"title": "Anonymous"}),
                 401) == "unauthenticated"
    assert error(lena.post("/news", json={"title": "My analysis!"}), 409) == "duplicate_news"
    assert error(lena.post("/news", json={"title": "x", "extra": 1}), 422) == "invalid_request"
    path = f"/news/{note['id']}/links/{theirs}"
    assert error(lena.post(path), 403) == "forbidden"
    assert [m["market_id"] for m in ok(omar.post(path))["markets"]] == sorted([mine, theirs])
    assert [m["market_id"] for m in ok(omar.delete(path))["markets"]] == [mine]
    assert error(tara.delete(f"/news/{note['id']}/links/{mine}"), 403) == "forbidden"
    assert [m["market_id"] for m in ok(server.as_("root").delete(
        f"/news/{note['id']}/links/{mine}"))["markets"]] == []
    assert error(omar.post(f"/news/{note['id']}/links/999999"), 404) == "unknown_market"


def test_feeds_admin(server: Server, feeds: FeedServer, tmp_path: Path) -> None:
    root, lena = server.as_("root"), server.as_("lena")
    assert error(lena.get("/admin/feeds"), 403) == "forbidden"
    local = tmp_path / "local.xml"
    local.write_text(rss("Local file news", "local", f"l{uuid.uuid4().hex[:6]}"))
    feed = ok(root.post("/admin/feeds", json={"url": str(local), "interval_s": 60}), 201)
    assert (feed["url"], feed["name"], feed["failures"]) == (local.as_uri(), "local.xml", 0)
    assert error(root.post("/admin/feeds", json={"url": local.as_uri()}), 409) == \
        "duplicate_feed"
    assert error(root.post("/admin/feeds", json={"url": "javascript:alert(1)"}), 422) == \
        "invalid_feed_url"
    assert error(root.post("/admin/feeds", json={"url": "https://x.example", "interval_s": 1}),
                 422) == "invalid_request"
    assert feed["id"] in [f["id"] for f in ok(root.get("/admin/feeds"))["feeds"]]
    polled = ok(root.post(f"/admin/feeds/{feed['id']}/poll"))
    assert (polled["status"], polled["inserted"]) == ("ok", 1)
    assert ok(root.post(f"/admin/feeds/{feed['id']}/poll"))["status"] == "not_modified"
    ok(root.delete(f"/admin/feeds/{feed['id']}"))
    assert error(root.delete(f"/admin/feeds/{feed['id']}"), 404) == "unknown_feed"
    assert error(root.post(f"/admin/feeds/{feed['id']}/poll"), 404) == "unknown_feed"
    assert ok(server.anonymous().get("/news", params={"q": "local file"}))["news"][0][
        "source"] == "local.xml"  # items outlive their feed


def test_candles_carry_the_news_that_arrived_in_them(server: Server) -> None:
    market_id = make_market(server, ["gamma"])
    root = server.as_("root")
    for name in ("lena", "omar"):
        ok(root.post("/admin/credit", json={"account_id": server.uid(name), "amount": "100",
                                            "reason": "test funds"}))
    item = ok(root.post("/news", json={"title": "Gamma moves", "market_ids": [market_id]}), 201)
    ok(server.as_("lena").post("/orders", json={"market_id": market_id, "outcome": "yes",
                                                "side": "buy", "price": "0.40", "size": 5}), 201)
    ok(server.as_("omar").post("/orders", json={"market_id": market_id, "outcome": "no",
                                                "side": "buy", "price": "0.60", "size": 5}), 201)
    contract = ok(server.anonymous().get(f"/markets/{market_id}"))["contracts"][0]["id"]

    def day_bar() -> list[dict[str, Any]]:
        return list(ok(server.anonymous().get(f"/contracts/{contract}/candles",
                                              params={"interval": "1d"}))["candles"])

    wait_for(lambda: len(day_bar()) == 1)
    bar = day_bar()[0]
    assert bar["news"] == [{"id": item["id"], "title": "Gamma moves",
                            "published_ms": item["published_ms"]}]
    with server.svc.db.connect() as conn:  # the bar's day holds the item's publication time
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.candles)) >= 1
    assert bar["start_ms"] <= item["published_ms"] < bar["start_ms"] + 86_400_000
