"""The digest: stories from several outlets, untrusted text rendered inert, near misses."""

import re

from conftest import newswatch, rss, write_config


def poll_and_preview(tmp_path, feed_server, docs, fmt="html"):
    feed_server.documents.update(docs)
    cfg = write_config(tmp_path, [f"{feed_server.base_url}{p}" for p in docs])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    out = newswatch("--config", str(cfg), "digest", "--dry-run", "--format", fmt)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_hostile_item_renders_inert(tmp_path, feed_server):
    hostile = [{"title": "&lt;script&gt;alert(1)&lt;/script&gt; Turkey and Syria agree to normalize ties",
                "link": "javascript:alert(document.cookie)", "guid": "x1",
                "description": "&lt;img src=x onerror=alert(2)&gt;Ankara and Damascus &lt;b&gt;talks&lt;/b&gt;"}]
    page = poll_and_preview(tmp_path, feed_server, {"/evil": (rss(hostile), "application/rss+xml")})
    assert "Turkey and Syria agree to normalize ties" in page
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    assert "onerror" not in page and "<img" not in page.lower()
    assert re.findall(r"<(\w+)", page.lower()) and set(re.findall(r"<(\w+)", page.lower())) <= {
        "html", "head", "meta", "title", "body", "div", "h1", "h2", "h3", "p", "a", "span", "ul", "li"}
    assert all(h.startswith(("http://", "https://")) for h in re.findall(r'href="([^"]*)"', page))


def test_same_story_from_several_feeds_is_one_entry_with_all_sources(tmp_path, feed_server):
    story = "Turkish and Syrian defence ministers meet in Moscow"
    docs = {}
    for n, outlet in enumerate(["Wire A", "Wire B", "Wire C"]):
        suffix = f" - {outlet}" if n else ""
        docs[f"/f{n}"] = (rss([{"title": f"{story}{suffix}", "link": f"https://{n}.example.org/s", "guid": "s",
                                "description": "The first official talks between Ankara and Damascus since 2011."},
                               {"title": ["Erdogan invites Assad to Ankara for talks",
                                          "Syria sets withdrawal of Turkish troops as condition for normalization",
                                          "Turkish exports to Syria surge after border crossings reopen"][n],
                                "link": f"https://{n}.example.org/o", "guid": "o",
                                "description": "A separate story on Ankara and Damascus."}],
                              title=outlet), "application/rss+xml")
    text = poll_and_preview(tmp_path, feed_server, docs, fmt="text")
    assert text.count("defence ministers meet in Moscow") == 1
    assert text.count("\n1. ") == 1 and "\n4. " in text  # 4 stories from 6 items
    entry = text.split("\n1. ", 1)[1].split("\n\n")[0]
    # sources are named as in the feed list (write_config names them "Feed N")
    assert all(f"- Feed {n}: https://{n}.example.org/s" in entry for n in range(3))
    assert "Feed 0, Feed 1, Feed 2" in entry


def test_near_misses_are_listed_apart(tmp_path, feed_server):
    items = [{"title": "Turkey and Syria agree to normalize relations", "link": "https://x.example/1", "guid": "1",
              "description": "Ankara and Damascus agreed in Moscow."},
             {"title": "Turkey comments on Syria", "link": "https://x.example/2", "guid": "2",
              "description": "A comment."}]
    text = poll_and_preview(tmp_path, feed_server, {"/f": (rss(items), "application/rss+xml")}, fmt="text")
    assert "Near misses" in text
    near = text.split("Near misses", 1)[1]
    assert "Turkey comments on Syria" in near
    assert "agree to normalize relations" not in near
