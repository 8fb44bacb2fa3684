"""Feed documents to clean entries (pure): RSS 2.0, Atom, malformed and hostile documents."""

from __future__ import annotations

from collections.abc import Callable

from foretell.news import limits
from foretell.news.parse import Entry, parse_feed
from foretell.news.text import is_plain

NOW = 1_795_608_000_000  # 2026-11-25T12:00:00Z
MB = 1024 * 1024


def rss(items: str, title: str = "Hostile Wire") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title>{items}</channel></rss>").encode()


def hostile_feed() -> bytes:
    """Script in every field, dangerous links, a 1 MB entry and dates of every wrong kind."""
    huge = "<p>" + "breaking " * (MB // 9) + "</p>"
    return rss(f"""
      <item><title>&lt;script&gt;alert("t")&lt;/script&gt;Acme &lt;b&gt;soars&lt;/b&gt;</title>
        <link>javascript:alert(document.cookie)</link>
        <description><![CDATA[<script>steal()</script><img src=x onerror="alert(1)">Shares
          <a href="javascript:alert(2)">jump</a> &amp;lt;iframe src=evil&amp;gt;]]></description>
        <pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>
        <category>&lt;script&gt;x&lt;/script&gt;IPO</category></item>
      <item><title>Huge entry</title><link>https://hostile.example/huge</link>
        <description><![CDATA[{huge}]]></description>
        <pubDate>yesterday, around noon</pubDate></item>
      <item><title>Ancient date</title><link>data:text/html;base64,PHNjcmlwdD4=</link>
        <pubDate>Mon, 01 Jan 1900 00:00:00 GMT</pubDate></item>
      <item><title>Nearly now</title><link>https://hostile.example/near</link>
        <pubDate>Wed, 25 Nov 2026 12:02:00 GMT</pubDate></item>
      <item><title><![CDATA[<script>only script</script>]]></title></item>
      <item><title>   </title><description>   </description></item>
    """)


def test_rss_entries_are_read_exactly(feed_file: Callable[[str], str]) -> None:
    parsed = parse_feed(feed_file("rss_valid.xml").encode(), NOW)
    assert (parsed.title, parsed.error, parsed.bozo, parsed.rejected) == ("Wire One", None, None, 0)
    assert parsed.entries[0] == Entry(
        title="Acme Robotics files confidentially for a Nasdaq listing",
        summary="Acme Robotics has filed a draft registration, people familiar said & bankers "
                "expect a spring debut.",
        link="https://wire.example/acme-files", guid="wire-1", author="Ana Ruiz",
        tags=("ipo",), published_ms=1_795_512_600_000, kind="report")  # 2026-11-24T09:30Z
    assert [e.guid for e in parsed.entries] == ["wire-1", "wire-2", "wire-3"]
    assert parsed.entries[1].published_ms == 1_795_518_000_000  # "GMT" zone, 11:00Z


def test_atom_entries_are_read_exactly(feed_file: Callable[[str], str]) -> None:
    parsed = parse_feed(feed_file("atom_valid.xml").encode(), NOW)
    assert parsed.title == "Deal Desk" and parsed.error is None
    assert parsed.entries == [
        Entry(title="Acme Robotics in talks for a Series C round",
              summary="Investors weigh a valuation near $6B.",
              link="https://deals.example/acme-series-c", guid="urn:deal:1", author="Ben Ode",
              tags=("funding",), published_ms=1_795_511_700_000),  # 10:15+01:00 = 09:15Z
        Entry(title="Analysis: what a Zenith\u2013Harbor deal means for depositors",
              summary="Deposits would move to the merged bank.",
              link="https://deals.example/zenith-analysis", guid="urn:deal:2", author="",
              tags=("analysis",), published_ms=1_795_525_200_000,  # no <published>: <updated>
              kind="analysis"),
    ]


def test_malformed_xml_is_read_leniently(feed_file: Callable[[str], str]) -> None:
    parsed = parse_feed(feed_file("malformed.xml").encode(), NOW)
    assert parsed.error is None and parsed.bozo is not None
    assert [(e.title, e.summary, e.link, e.published_ms) for e in parsed.entries] == [
        ("Acme & Zenith both rally", "An unclosed bold and a bare & sign",
         "https://broken.example/rally", NOW),  # no date: the arrival time
        ("Second item, never closed", "", "https://broken.example/second", 1_795_536_000_000),
    ]


def test_documents_that_are_not_feeds_are_refused() -> None:
    for garbage in (b"", b"not a feed at all", b"\x00\xff\xfe garbage \x89PNG",
                    b"<html><body><p>a web page</p></body></html>"):
        parsed = parse_feed(garbage, NOW)
        assert parsed.entries == []
        assert parsed.error is not None and parsed.error.startswith("not a feed")


def test_hostile_entries_are_stored_safe() -> None:
    document = hostile_feed()
    assert MB < len(document) < limits.feed_bytes_max
    parsed = parse_feed(document, NOW)
    assert parsed.error is None and parsed.rejected == 2  # script-only title, blank entry
    first, huge, ancient, near = parsed.entries
    assert first.title == "Acme soars"
    assert first.summary == "Shares jump"
    assert first.link is None  # javascript: is not a link
    assert first.tags == ("ipo",)
    assert first.published_ms == NOW  # 2100 is in the future
    assert huge.summary.startswith("breaking breaking")
    assert len(huge.summary) <= limits.summary_chars_max and huge.summary.endswith("\u2026")
    assert huge.published_ms == NOW  # unparseable
    assert (ancient.link, ancient.published_ms) == (None, NOW)  # data: link; before 1995
    assert near.published_ms == NOW  # two minutes ahead: within the skew, but never future
    for e in parsed.entries:
        for text in (e.title, e.summary, e.author, *e.tags):
            assert is_plain(text) and "<" not in text and "script" not in text.lower()


def test_entity_declarations_and_oversized_documents_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<rss version="2.0"><channel><title>&b;</title></channel></rss>')
    assert parse_feed(bomb, NOW).error == "entity declarations are not accepted"
    external = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>')
    assert parse_feed(external, NOW).error == "entity declarations are not accepted"
    assert parse_feed(b" " * (limits.feed_bytes_max + 1), NOW).error == "feed too large"


def test_a_document_that_names_a_local_file_is_not_opened() -> None:
    # Given bytes or a str, feedparser would open a path; we always hand it a stream.
    parsed = parse_feed(b"/etc/passwd", NOW)
    assert parsed.entries == [] and parsed.error is not None


def test_entries_beyond_the_cap_are_skipped() -> None:
    items = "".join(f"<item><title>Item {i}</title><link>https://x.example/{i}</link></item>"
                    for i in range(limits.entries_per_poll_max + 7))
    parsed = parse_feed(rss(items), NOW)
    assert len(parsed.entries) == limits.entries_per_poll_max and parsed.skipped == 7
