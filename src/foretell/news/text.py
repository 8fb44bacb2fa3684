"""Untrusted text made safe: plain-text fields, checked links, normalized tags and titles, keywords.

Invariant kept by `plain_text`: its result contains no markup. Sanitizing it again and
unescaping gives the same string back (`unescape(clean(s)) == s`), so the stored text renders
as text whatever the client does with it, and it holds no control characters, no NUL (which
PostgreSQL refuses) and no bidirectional overrides.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import urljoin, urlsplit, urlunsplit

import nh3

from foretell.news import limits

# Elements whose content is code or metadata, never readable text: dropped with their content.
_DROP_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "embed",
                      "svg", "math", "head", "title", "textarea", "select"}
# Block-level elements: their boundaries become spaces so that words do not run together.
_BLOCK_TAG = re.compile(r"<\s*/?\s*(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|hr|"
                        r"section|article|header|footer|dt|dd)\b[^>]*>", re.IGNORECASE)
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                       0x061C, 0xFEFF])
# ECMA-48 sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-character escapes.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])"
                   r"|\x9b[0-?]*[ -/]*[@-~]")
_WS = re.compile(r"\s+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_sanitize_rounds_max = 4


def plain_text(raw: object, chars_max: int) -> str:
    """Plain text from untrusted HTML or text: tags stripped (scripts with their content),
    entities unescaped, control characters removed, whitespace collapsed, capped to
    `chars_max` characters (cut at a word boundary where one is near, with an ellipsis)."""
    if not isinstance(raw, str) or not raw:
        return ""
    # Invisible characters go first: removed later, they could join "<" and a tag name.
    text = _BLOCK_TAG.sub(" ", _visible(raw[:limits.raw_field_chars_max]))
    # Unescaping can reveal markup that was escaped once (or twice): repeat until stable.
    for _ in range(_sanitize_rounds_max):
        cleaned = html.unescape(nh3.clean(text, tags=set(), clean_content_tags=_DROP_WITH_CONTENT,
                                          strip_comments=True))
        if cleaned == text:
            break
        text = cleaned
    else:
        text = text.replace("<", " ").replace(">", " ")
    text = _cap(_WS.sub(" ", _visible(text)).strip(), chars_max)
    if not is_plain(text):  # cannot happen after a stable round; kept as the invariant's guard
        text = _WS.sub(" ", text.replace("<", " ").replace(">", " ")).strip()
    return text


def _visible(text: str) -> str:
    return strip_invisible(text)


def strip_invisible(text: str, keep_lines: bool = False) -> str:
    """`text` without terminal escape sequences (ANSI colours, cursor moves, titles), NUL and
    other control characters, bidirectional overrides and isolates, surrogates, private-use
    and unassigned code points: the one cleaning of every free text a user or a feed gives.

    Whitespace controls become a space; with `keep_lines` (descriptions, rules, evidence),
    line breaks become "\n" and tabs stay."""
    if text.isascii() and text.isprintable():  # the usual case, and the cheap one
        return text
    text = _ANSI.sub("", text)
    if keep_lines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text.translate(_BIDI):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn"):
            out.append(ch if keep_lines and ch in "\n\t" else
                       " " if ch in "\t\n\r\f\v" else "")
        else:
            out.append(ch)
    return "".join(out)


def _cap(text: str, chars_max: int) -> str:
    if len(text) <= chars_max:
        return text
    cut = text[:chars_max - 1]
    space = cut.rfind(" ")
    if space >= chars_max * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


def is_plain(text: str) -> bool:
    """True when `text` holds no markup (the invariant of `plain_text`)."""
    return html.unescape(nh3.clean(text, tags=set())) == text


def clean_link(raw: object, base: str | None = None) -> str | None:
    """An absolute http(s) link, or None: javascript:, data:, relative (without a base),
    credentials in the URL, whitespace or control characters and over-long links are refused.
    Scheme and host are lower-cased and the fragment dropped."""
    if not isinstance(raw, str):
        return None
    link = raw.strip()
    if not link or len(link) > limits.link_chars_max:
        return None
    if base and base.startswith(("http://", "https://")) and not _SCHEME.match(link):
        link = urljoin(base, link)
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in link):
        return None
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    out = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    return out if len(out) <= limits.link_chars_max else None


def clean_tag(raw: object) -> str:
    """A tag as stored and compared: plain text, case-folded, spaces as hyphens, only letters,
    digits, hyphens and underscores; "" when nothing is left."""
    text = plain_text(raw, limits.tag_chars_max * 2).casefold()
    text = re.sub(r"[\s/]+", "-", text)
    text = re.sub(r"[^\w\-]", "", text).strip("-_")
    return text[:limits.tag_chars_max].strip("-_")


def clean_tags(raw: object) -> list[str]:
    """Distinct clean tags in their first order, at most `tags_per_item_max`."""
    out: list[str] = []
    if isinstance(raw, (list, tuple)):
        for item in raw:
            tag = clean_tag(item)
            if tag and tag not in out:
                out.append(tag)
            if len(out) >= limits.tags_per_item_max:
                break
    return out


def title_key(source: str, title: str) -> str:
    """Identity of a title from a source: the same words in any case, spacing or punctuation
    from the same source are the same title (so a re-published item is a duplicate)."""
    return _digest(_normal(source) + "\x1f" + _normal(title))


def link_key(link: str) -> str:
    return _digest(link)


def guid_key(source: str, guid: str) -> str:
    return _digest(_normal(source) + "\x1f" + guid)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# -- keywords ---------------------------------------------------------------------------------

STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can could did do does doing down during each even ever every few
for from further had has have having he her here hers herself him himself his how i if in into is
isn't it its itself just least less let like may me might more most much must my myself near no
nor not now of off on once only or other ought our ours ourselves out over own per same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up upon us very via was we were what when where whether which while who
whom whose why will with within without would yes yet you your yours yourself yourselves
reach reached reaches end start finish first last new next say says said report reported reports
get gets got make makes made take takes one two three four five six seven eight nine ten
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec week weeks month months year years day days
quarter today
""".split())
_TOKEN = re.compile(r"[\w$%.]+")


def keywords(text: str) -> set[str]:
    """Significant words of `text`: lower-cased, crudely stemmed ("listing", "listed" and
    "lists" all become "list"), without stop words, dates, bare numbers or one-letter words.
    Amounts such as "$900B" stay, as "900b"."""
    out = set()
    for raw in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        word = raw.strip("$%.")
        if len(word) < 2 or word in STOP_WORDS or word.replace(".", "").isdigit():
            continue
        word = _stem(word)
        if word not in STOP_WORDS and len(word) >= 2:
            out.add(word)
    return out


def _stem(word: str) -> str:
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def search_terms(q: str) -> list[str]:
    """The words of a search box query, safe to hand to FTS5 and to PostgreSQL: letters and
    digits only, stop words dropped, at most `search_terms_max` of them, in order."""
    out: list[str] = []
    for word in re.findall(r"\w+", unicodedata.normalize("NFKC", q).casefold()):
        word = word.strip("_")[:40]
        if word and word not in STOP_WORDS and word not in out:
            out.append(word)
        if len(out) >= limits.search_terms_max:
            break
    return out
