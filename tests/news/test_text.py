"""Untrusted text made safe: plain text, links, tags, keywords and search terms (pure)."""

from __future__ import annotations

import pytest

from foretell.news.text import (
    clean_link,
    clean_tag,
    clean_tags,
    is_plain,
    keywords,
    plain_text,
    search_terms,
    title_key,
)

PLAIN = [
    ("<p>Hello <b>world</b></p>", "Hello world"),
    ("<script>alert(1)</script>Safe", "Safe"),
    ("<style>p{color:red}</style><p>Styled</p>", "Styled"),
    ("AT&amp;T &#8211; &quot;quoted&quot;", "AT&T \u2013 \"quoted\""),
    ("&lt;script&gt;alert(1)&lt;/script&gt;After", "After"),  # escaped once
    ("&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;", "bold"),  # escaped twice
    ("<img src=x onerror=alert(1)>image", "image"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ("<\x00script>alert(1)</script>", ""),  # a NUL cannot hide a tag
    ("<\u202escript>alert(1)</script>", ""),  # nor can a bidi override
    ("line\none\r\n\ttwo   three", "line one two three"),
    ("a < b > c", "a < b > c"),  # text that merely looks like markup stays
    ("<p>one</p><p>two</p><br>three", "one two three"),
    ("nul\x00byte", "nulbyte"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), PLAIN)
def test_plain_text_strips_markup_and_keeps_the_words(raw: str, expected: str) -> None:
    out = plain_text(raw, 1_000)
    assert out == expected
    assert is_plain(out)


def test_plain_text_caps_length_at_a_word_boundary() -> None:
    out = plain_text("word " * 1_000, 100)
    assert len(out) <= 100 and out.endswith("word\u2026")
    assert plain_text("x" * 5_000, 50) == "x" * 49 + "\u2026"
    assert plain_text(None, 10) == "" and plain_text(42, 10) == ""


LINKS = [
    ("https://Example.COM/a?b=1#frag", None, "https://example.com/a?b=1"),
    ("http://example.com:80/x", None, "http://example.com/x"),
    ("https://example.com:8443/x", None, "https://example.com:8443/x"),
    ("HTTP://x.org", None, "http://x.org/"),
    ("javascript:alert(1)", None, None),
    (" JavaScript:alert(1)", "https://base.example/", None),
    ("data:text/html,<b>x</b>", None, None),
    ("vbscript:x", None, None),
    ("/relative/path", None, None),
    ("/relative/path", "https://base.example/feed/", "https://base.example/relative/path"),
    ("https://user:pw@example.com/", None, None),
    ("https://exa mple.com/", None, None),
    ("https://example.com/\x00", None, None),
    ("https://" + "a" * 2_100 + ".com/", None, None),
    ("ftp://example.com/file", None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("raw", "base", "expected"), LINKS)
def test_only_absolute_http_links_are_kept(raw: str | None, base: str | None,
                                           expected: str | None) -> None:
    assert clean_link(raw, base) == expected


def test_tags_are_normalized_and_capped() -> None:
    assert clean_tag(" Claude Code ") == "claude-code"
    assert clean_tag("<b>IPO</b>") == "ipo"
    assert clean_tag("M&A / Deals") == "ma-deals"
    assert clean_tag("!!!") == ""
    assert clean_tags(["IPO", "ipo", "", "Funding", None, 3]) == ["ipo", "funding"]
    assert len(clean_tags([f"t{i}" for i in range(50)])) == 20
    assert len(clean_tag("x" * 500)) == 64


def test_titles_match_whatever_their_case_spacing_or_punctuation() -> None:
    assert title_key("Wire", "Bank stocks slip") == title_key("WIRE ", "BANK STOCKS -- slip!")
    assert title_key("Wire", "Bank stocks slip") != title_key("Other", "Bank stocks slip")


def test_keywords_ignore_stop_words_dates_and_numbers() -> None:
    assert keywords("Will Anthropic's shares start trading on a US exchange by 30 June 2027?") \
        == {"anthropic", "share", "trad", "exchange"}
    assert keywords("listing listed lists") == {"list"}
    assert keywords("a $900B round, 50% up") == {"900b", "round"}


def test_search_terms_are_plain_words_only() -> None:
    assert search_terms('the "IPO" AND( valuation* OR -x') == ["ipo", "valuation", "x"]
    assert search_terms("'; DROP TABLE news_items; --") == ["drop", "table", "news_items"]
    assert search_terms("the and of") == []
    assert len(search_terms(" ".join(f"w{i}" for i in range(30)))) == 10
