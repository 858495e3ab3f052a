"""Parse: feedparser on bytes -> clean, canonical, UTC items."""

from worker.parse import canonical_url, parse_feed

from conftest import rss


def test_canonical_url():
    assert canonical_url("HTTPS://News.Example.org:443/a/b?utm_source=rss&id=5&fbclid=x#top") == \
        "https://news.example.org/a/b?id=5"
    assert canonical_url("javascript:alert(1)") is None
    assert canonical_url("ftp://x/y") is None
    assert canonical_url("") is None


def test_items_are_clean_utc_and_identified():
    body = rss([
        {"title": "A &lt;b&gt;bold&lt;/b&gt; title", "link": "https://x.example/1?utm_medium=feed",
         "guid": "urn:x:g1", "pubDate": "Wed, 28 Dec 2022 20:10:00 +0300",
         "description": "&lt;p&gt;Hello &amp;amp; &lt;a href='x'&gt;world&lt;/a&gt;&lt;/p&gt;"},
        {"title": "No guid, no link, no date", "description": "text only"},
    ])
    parsed = parse_feed(body, "https://x.example/feed", "application/rss+xml")
    assert parsed.error is None
    first, second = parsed.items
    assert first.title == "A bold title" and first.summary == "Hello & world"
    assert first.link == "https://x.example/1" and first.guid == "urn:x:g1"
    assert first.published == "2022-12-28T17:10:00Z"
    assert second.guid is None and second.link is None and second.published is None
    assert second.dedup_key().startswith("hash:")


def test_language_from_script_or_feed():
    parsed = parse_feed(rss([{"title": "Şam'da görüşme", "guid": "1"}, {"title": "وزير الخارجية", "guid": "2"},
                             {"title": "Plain", "guid": "3"}]))
    assert [i.lang for i in parsed.items] == ["tr", "ar", None]


def test_not_a_feed_and_empty_body():
    assert parse_feed(b"").error == "empty body"
    assert parse_feed(b"<html><head></head><body>hi</body></html>").error == "not a feed (an HTML page)"
    truncated = rss([{"title": "one", "guid": "1"}, {"title": "two", "guid": "2"}])[:-40]
    parsed = parse_feed(truncated)
    assert parsed.error is None and parsed.warning and [i.title for i in parsed.items][:1] == ["one"]


def test_the_feed_lists_language_when_the_feed_declares_none():
    parsed = parse_feed(rss([{"title": "Plain English", "guid": "1"}]), list_language="en")
    assert parsed.items[0].lang == "en"
