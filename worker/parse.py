"""Parse stage: fetched bytes -> plain Items (clean text, canonical link, UTC time, language).

feedparser only ever sees bytes here; it never fetches anything itself.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import io
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .clock import ISO_FORMAT
from .text import strip_html


@functools.cache
def _feedparser() -> Any:
    """feedparser, imported at the first parse: a cycle of 304s needs none (80 ms of every start)."""
    import feedparser.api
    # feedparser asks SAX for "drv_libxml2" first on every parse; it is never installed, and the failing
    # import scans sys.path under the import lock each time (~3 s in a 1,000-feed cycle). Use expat.
    feedparser.api.PREFERRED_XML_PARSERS = []
    return feedparser

MAX_TITLE = 500
MAX_SUMMARY = 2000
MAX_CONTENT = 10000
MAX_RAW = 100_000  # characters of a field looked at at all: HTML stripping is not linear on hostile input
MAX_ITEMS = 20_000  # items in one feed; more is a hostile or broken feed

# Query parameters that only track the reader; two links differing in these are the same article.
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|"
                       r"_hsenc|_hsmi|ocid|cmpid|ref_src|rss|rss_source|at_medium|at_campaign|at_.*)$", re.IGNORECASE)
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_TURKISH = re.compile(r"[ğĞışŞİ]")


@dataclass
class Item:
    title: str
    summary: str
    link: str | None = None
    guid: str | None = None
    published: str | None = None  # UTC, ISO 8601 with Z
    lang: str | None = None
    content: str = ""  # full text when the feed carries it; used for matching, not stored
    content_hash: str = ""

    def dedup_key(self) -> str:
        """Identity within a feed: guid, else link, else a hash of the text."""
        if self.guid:
            return "guid:" + self.guid
        if self.link:
            return "link:" + self.link
        return "hash:" + self.content_hash


@dataclass
class ParsedFeed:
    items: list[Item] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    ttl_minutes: int | None = None  # RSS <ttl>: how long the publisher asks us to wait
    warning: str | None = None  # the feed was malformed but gave items
    error: str | None = None  # nothing usable in it


def canonical_url(url: str | None) -> str | None:
    """http(s) URL with lower-case host, no fragment, no tracking parameters; None for other schemes."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc.lower()
    if parts.scheme.lower() == "http" and netloc.endswith(":80"):
        netloc = netloc[:-3]
    elif parts.scheme.lower() == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def detect_language(text: str, declared: str | None) -> str | None:
    """Script-based guess for the languages we care about, else the feed's declared language."""
    if _ARABIC.search(text):
        return "ar"
    if _TURKISH.search(text):
        return "tr"
    if declared:
        return declared.split("-")[0].lower()[:8] or None
    return None


def _utc_iso(struct: time.struct_time | None) -> str | None:
    if not struct:
        return None
    try:
        return time.strftime(ISO_FORMAT, time.gmtime(calendar.timegm(struct)))
    except (OverflowError, ValueError):
        return None


def _content_hash(title: str, summary: str) -> str:
    return hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:32]


_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)


def parse_feed(body: bytes, url: str = "", content_type: str | None = None,
               list_language: str | None = None) -> ParsedFeed:
    """Items of a feed; `list_language` (from the feed list) is used when the feed declares none."""
    if not body or not body.strip():
        return ParsedFeed(error="empty body")
    items = body.count(b"<item") + body.count(b"<entry")
    if items > MAX_ITEMS:
        return ParsedFeed(error=f"too many items ({items:,} > {MAX_ITEMS:,}): not parsed")
    defused = None
    if b"<!ENTITY" in body[:65536]:
        # Entity declarations are how XML bombs expand (a "billion laughs"); feeds have no use for them.
        body, n = _INTERNAL_SUBSET.subn(b"", body, count=1)
        defused = "the feed declares XML entities; they were ignored" if n else None
    # No content-location: feedparser would resolve every link and guid against it with urljoin, about
    # half its parse time; feed links are almost always absolute, and _item resolves the others.
    headers = {"content-type": content_type} if content_type else {}
    try:
        d = _feedparser().parse(io.BytesIO(body), response_headers=headers,
                             sanitize_html=False, resolve_relative_uris=False)
    except Exception as e:  # noqa: BLE001 -- a parser bug on one hostile feed must not end the cycle
        return ParsedFeed(error=f"parser failed: {type(e).__name__}: {e}")
    feed = d.get("feed", {})
    declared = feed.get("language") or list_language
    ttl = str(feed.get("ttl") or "").strip()
    out = ParsedFeed(title=strip_html(feed.get("title")) or None, language=declared,
                     ttl_minutes=min(int(ttl[:8]), 7 * 1440) if ttl.isascii() and ttl.isdigit() else None)
    for entry in d.get("entries", []):
        item = _item(entry, declared, url)
        if item is not None:
            out.items.append(item)
    exc = d.get("bozo_exception") if d.get("bozo") else None
    why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300] if exc else ""
    if not d.get("version") and not out.items:
        head = body[:2048].lower()
        out.error = "not a feed (an HTML page)" if b"<html" in head else f"not a feed ({why})" if why else "not a feed"
    elif d.get("bozo"):
        if out.items:
            out.warning = f"malformed feed, {len(out.items)} items recovered ({why or 'malformed feed'})"
        else:
            out.error = f"malformed feed, no items ({why or 'malformed feed'})"
    if defused and not out.error:
        out.warning = f"{out.warning}; {defused}" if out.warning else defused
    return out


def _item(entry, declared_lang: str | None, feed_url: str) -> Item | None:
    title = strip_html((entry.get("title") or "")[:MAX_RAW // 10])[:MAX_TITLE]
    raw_summary = (entry.get("summary") or "")[:MAX_RAW]
    contents = entry.get("content") or []
    content = strip_html((contents[0].get("value") or "")[:MAX_RAW] if contents else "")[:MAX_CONTENT]
    summary = strip_html(raw_summary)[:MAX_SUMMARY] or content[:MAX_SUMMARY]
    if not title and not summary:
        return None
    if not title:
        title = summary[:120]
    link = entry.get("link") or ""
    if link and "://" not in link[:12] and feed_url:
        link = urljoin(feed_url, link)  # a relative link ("/world/123")
    link = canonical_url(link)
    guid = (entry.get("id") or "").strip()[:1000] or None
    published = _utc_iso(entry.get("published_parsed") or entry.get("updated_parsed"))
    lang = detect_language(f"{title} {summary}", entry.get("language") or declared_lang)
    return Item(title=title, summary=summary, link=link, guid=guid, published=published, lang=lang,
                content=content if content != summary else "", content_hash=_content_hash(title, summary))
