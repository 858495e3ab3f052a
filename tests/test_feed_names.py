"""Feeds are shown by name: the name given in the feed list, else the feed's own title, fetched by
`feeds add` and kept current by each poll; a feed refusing automated readers says "blocked (403)"."""

from __future__ import annotations

import json
import sqlite3

from conftest import RULES, newswatch, rss, write_config

STORY = {"title": "Turkish and Syrian defence ministers meet in Moscow", "pubDate": "Wed, 28 Dec 2022 17:10:00 +0000",
         "description": "Ankara and Damascus held their first official talks in a decade."}
OWN_TITLES = ["Anatolia Wire", "Levant Daily", "Bosphorus Post"]


def serve_three(feed_server) -> list[str]:
    urls = []
    for n, title in enumerate(OWN_TITLES):
        item = dict(STORY, link=f"https://news{n}.example.org/moscow-talks", guid=f"g{n}")
        feed_server.documents[f"/feed/{n}"] = (rss([item], title=title), "application/rss+xml")
        urls.append(f"{feed_server.base_url}/feed/{n}")
    return urls


def test_feeds_added_by_url_show_their_own_titles_everywhere(tmp_path, feed_server):
    urls = serve_three(feed_server)
    cfg = write_config(tmp_path, [])
    args = ("--config", str(cfg))
    for url in urls:
        out = newswatch(*args, "feeds", "add", url)
        assert out.returncode == 0, out.stderr
        assert "fetched it once: its title is" in out.stdout
    listed = newswatch(*args, "feeds", "list").stdout
    for title, url in zip(OWN_TITLES, urls, strict=True):
        assert f"{title} <{url}>" in listed
    exported = newswatch(*args, "feeds", "export").stdout  # another reader gets the names, not URLs
    assert all(f'text="{title}" title="{title}" xmlUrl="{url}"' in exported
               for title, url in zip(OWN_TITLES, urls, strict=True)), exported
    assert newswatch(*args, "poll", "--all").returncode == 0
    digest = newswatch(*args, "digest", "--dry-run").stdout
    assert digest.count(STORY["title"]) == 1, digest
    sources = next(line for line in digest.splitlines() if "score" in line and "·" in line)
    assert all(title in sources for title in OWN_TITLES) and "http://" not in sources
    assert "why: names Turkey and Syria in the headline" in digest
    rows = json.loads(newswatch(*args, "export", "--format", "json").stdout)
    assert {r["feed"] for r in rows} == set(OWN_TITLES) and {r["feed_url"] for r in rows} == set(urls)
    found = newswatch(*args, "search", "Moscow", "--feed", "Levant").stdout
    assert "Levant Daily" in found
    stats = newswatch(*args, "stats").stdout
    assert all(title in stats for title in OWN_TITLES)


def test_a_name_given_in_the_list_wins_and_a_changed_title_is_refreshed(tmp_path, feed_server):
    urls = serve_three(feed_server)
    cfg = write_config(tmp_path, [])
    args = ("--config", str(cfg))
    assert newswatch(*args, "feeds", "add", urls[0], "--title", "My wire").returncode == 0
    assert newswatch(*args, "feeds", "add", urls[1]).returncode == 0
    feed_server.documents["/feed/1"] = (rss([dict(STORY, link="https://x.example.org/1", guid="x")],
                                            title="Levant Daily (renamed)"), "application/rss+xml")
    assert newswatch(*args, "poll", "--all").returncode == 0
    listed = newswatch(*args, "feeds", "list").stdout
    assert f"My wire <{urls[0]}>" in listed and f"Levant Daily (renamed) <{urls[1]}>" in listed
    with sqlite3.connect(tmp_path / "db" / "newswatch.db") as db:  # the feed's own title is kept too
        assert db.execute("SELECT title FROM feeds WHERE url = ?", (urls[0],)).fetchone()[0] == "Anatolia Wire"


def test_feeds_add_says_when_it_could_not_read_a_title(tmp_path, feed_server):
    cfg = write_config(tmp_path, [])
    out = newswatch("--config", str(cfg), "feeds", "add", f"{feed_server.base_url}/missing")
    assert out.returncode == 0 and "could not read its title (HTTP 404" in out.stdout


def test_a_feed_that_refuses_automated_readers_is_listed_as_blocked(tmp_path, feed_server):
    from http.server import BaseHTTPRequestHandler

    from worker.fetch import BLOCKED
    assert BLOCKED.startswith("blocked (403)")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/feed/0"])
    serve_three(feed_server)
    handler = feed_server.httpd.RequestHandlerClass
    original = handler.do_GET

    def refuse(self: BaseHTTPRequestHandler) -> None:
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    handler.do_GET = refuse
    try:
        assert newswatch("--config", str(cfg), "poll", "--all").returncode == 0
    finally:
        handler.do_GET = original
    listed = newswatch("--config", str(cfg), "feeds", "list").stdout
    assert listed.splitlines()[1].startswith("blocked (403)") and "the site refuses automated readers" in listed


def test_the_shipped_list_marks_the_feeds_known_to_refuse_readers():
    from worker.feeds import read_opml
    text = (RULES.parents[1] / "feeds.opml").read_text(encoding="utf-8")
    assert text.count('<outline type="rss" category="blocked-403"') == 3
    urls = {f.url for f in read_opml(RULES.parents[1] / "feeds.opml")}
    assert {"https://www.aljazeera.net/rss", "https://www.aa.com.tr/en/rss/default?cat=turkiye",
            "https://www.hurriyetdailynews.com/rss/news", "https://sana.sy/en/feed/"} <= urls
