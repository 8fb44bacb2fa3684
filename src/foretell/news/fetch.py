"""Getting a feed document: over HTTP(S) with conditional requests, or from a local file or a
package resource. Owned here: what a feed URL may be, and the byte cap on every fetch.

Sources, as stored in `news_feeds.url`:
  - `http://...`, `https://...`: GET with If-None-Match / If-Modified-Since from the last
    response's ETag / Last-Modified; 304 means "not modified"; redirects are followed (at most
    `redirects_max`); a body over `feed_bytes_max` is refused while it streams in;
  - `file:///abs/path` (a plain absolute or relative path is turned into one): the file's size
    and mtime serve as its ETag;
  - `package://dotted.package/relative/path`: a file shipped inside an installed package (the
    demo feed), found again wherever the package is installed; its content hash is its ETag.
Every failure becomes `Fetched(status="error")` with a short reason; nothing here raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from foretell.news import limits
from foretell.news.text import clean_link

Status = Literal["ok", "not_modified", "error"]
USER_AGENT = "Foretell-News/0.1 (+https://foretell.local)"
_PACKAGE = re.compile(r"^package://([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)/([\w.\-/]+)$")


@dataclass(frozen=True, slots=True)
class Fetched:
    status: Status
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    base_url: str | None = None  # where relative links in the document resolve (http only)
    error: str | None = None


def normalize_feed_url(raw: str) -> str:
    """The stored form of a feed location, or ValueError saying what is wrong with it."""
    text = raw.strip()
    if not text or len(text) > limits.feed_url_chars_max:
        raise ValueError("a feed URL must have 1 to 2000 characters")
    if not text.isascii() or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError("a feed URL must be printable ASCII without spaces")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        link = clean_link(text)
        if link is None:
            raise ValueError("not a valid http(s) URL (credentials are not allowed)")
        return link
    if lowered.startswith("package://"):
        match = _PACKAGE.match(text)
        if match is None or ".." in match.group(2).split("/"):
            raise ValueError("package URLs look like package://dotted.package/path/file.xml")
        return text
    if lowered.startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ValueError("file URLs must be local (file:///absolute/path)")
        text = unquote(parts.path)
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", text):
        raise ValueError("feed URLs are http(s)://, file:// or package:// (or a file path)")
    return Path(text).resolve().as_uri()


async def fetch(url: str, etag: str | None = None, last_modified: str | None = None,
                timeout_s: float = limits.fetch_timeout_s) -> Fetched:
    """The document at `url`, unless it is unchanged since `etag` / `last_modified`."""
    try:
        if url.startswith(("http://", "https://")):
            return await _http(url, etag, last_modified, timeout_s)
        if url.startswith("file://"):
            return await asyncio.to_thread(_file, Path(unquote(urlsplit(url).path)), etag)
        if url.startswith("package://"):
            return await asyncio.to_thread(_package, url, etag)
        return Fetched("error", error="unsupported feed URL")
    except Exception as exc:  # a feed may fail in any way; the poller records it and backs off
        return Fetched("error", error=_reason(exc))


async def _http(url: str, etag: str | None, last_modified: str | None,
                timeout_s: float) -> Fetched:
    headers = {"User-Agent": USER_AGENT,
               "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                         "text/xml;q=0.8, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True,
                                 max_redirects=limits.redirects_max) as client:
        async with asyncio.timeout(timeout_s * 2):  # bounds a server that trickles bytes
            async with client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Fetched("not_modified", etag=etag, last_modified=last_modified)
                if response.status_code != 200:
                    return Fetched("error", error=f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.feed_bytes_max:
                    return Fetched("error", error="feed too large")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limits.feed_bytes_max:
                        return Fetched("error", error="feed too large")
                return Fetched("ok", bytes(body), _header(response, "etag", 500),
                               _header(response, "last-modified", 100),
                               _header(response, "content-type", 200), str(response.url))


def _header(response: httpx.Response, name: str, chars_max: int) -> str | None:
    value = response.headers.get(name)
    if not isinstance(value, str) or len(value) > chars_max or not value.isprintable():
        return None
    return value


def _file(path: Path, etag: str | None) -> Fetched:
    stat = path.stat()
    if not path.is_file():
        return Fetched("error", error="not a regular file")
    if stat.st_size > limits.feed_bytes_max:
        return Fetched("error", error="feed too large")
    version = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    if etag == version:
        return Fetched("not_modified", etag=etag)
    with path.open("rb") as f:
        body = f.read(limits.feed_bytes_max + 1)
    if len(body) > limits.feed_bytes_max:
        return Fetched("error", error="feed too large")
    return Fetched("ok", body, etag=version)


def _package(url: str, etag: str | None) -> Fetched:
    match = _PACKAGE.match(url)
    if match is None:
        return Fetched("error", error="bad package URL")
    resource = importlib.resources.files(match.group(1)).joinpath(match.group(2))
    body = resource.read_bytes()
    if len(body) > limits.feed_bytes_max:
        return Fetched("error", error="feed too large")
    version = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag == version:
        return Fetched("not_modified", etag=etag)
    return Fetched("ok", body, etag=version)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return "timed out"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, (ModuleNotFoundError, IsADirectoryError, PermissionError)):
        return f"cannot read: {type(exc).__name__}"
    if isinstance(exc, (httpx.TransportError, OSError)):
        return f"connection failed: {type(exc).__name__}"
    return f"fetch failed: {type(exc).__name__}"


def describe(url: str) -> str:
    """A default source name for a feed with no name and no title: its host or file name."""
    if url.startswith(("http://", "https://")):
        return urlsplit(url).hostname or url[:200]
    return os.path.basename(urlsplit(url).path)[:200] or url[:200]
