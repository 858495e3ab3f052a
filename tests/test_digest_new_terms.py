"""The digest's "New near the story" section: rule suggestions with their counts, at most once a week,
configurable, off in the demo. Feeds on 127.0.0.1 -> poll -> SQLite -> digest in the outbox."""

import sqlite3
from email import message_from_bytes, policy

from conftest import newswatch, rss, write_config

STORY = [  # a new name the rules do not know, in three items of two feeds that name Syria or Turkey
    ("Syria's new envoy Zorbanek arrives in Ankara for talks", "a"),  # relevant: in the digest
    ("Zorbanek tours the old market of Aleppo", "b"),  # not relevant: the example the section shows
    ("Zorbanek in Damascus: a profile", "a"),
]


def items(rows, prefix):
    return [{"title": t, "link": f"https://{feed}.example.org/{prefix}{n}", "guid": f"{prefix}{n}",
             "pubDate": f"Mon, 07 Dec 2026 08:0{n}:00 +0000", "description": ""}  # in the order given
            for n, (t, feed) in enumerate(rows)]


def outbox_text(tmp_path) -> list[str]:
    out = []
    for eml in sorted((tmp_path / "outbox").glob("*.eml")):
        msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
        out.append(next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content())
    return out


def test_the_digest_offers_new_terms_once_a_week(tmp_path, feed_server):
    docs = items(STORY, "s")
    feed_server.documents["/a"] = (rss([d for d, (_, f) in zip(docs, STORY) if f == "a"]), "application/rss+xml")
    feed_server.documents["/b"] = (rss([d for d, (_, f) in zip(docs, STORY) if f == "b"]), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/a", f"{feed_server.base_url}/b"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    sent = newswatch("--config", str(cfg), "digest")
    assert sent.returncode == 0, sent.stderr
    [text] = outbox_text(tmp_path)
    section = text.split("New near the story", 1)[1]
    assert 'zorbanek: 3 items in 2 feeds, 0 elsewhere, e.g. "Zorbanek tours the old market of Aleppo"' in section, section
    assert "--accept TERM" in section
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT COUNT(*) FROM digests WHERE suggestions IS NOT NULL").fetchone()[0] == 1

    # A second digest the same week: new items, no section.
    feed_server.documents["/a"] = (rss(items([("Erdogan ready to meet Assad to restore ties with Damascus", "a")],
                                             "t")), "application/rss+xml")
    assert newswatch("--config", str(cfg), "poll", "--all").returncode == 0
    assert newswatch("--config", str(cfg), "digest").returncode == 0
    texts = outbox_text(tmp_path)
    assert len(texts) == 2 and "New near the story" not in texts[1]


def test_the_section_can_be_turned_off(tmp_path, feed_server):
    docs = items(STORY, "s")
    feed_server.documents["/a"] = (rss(docs), "application/rss+xml")
    feed_server.documents["/b"] = (rss(docs[1:]), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/a", f"{feed_server.base_url}/b"])
    cfg.write_text(cfg.read_text().replace("[digest]\n", "[digest]\nnew_terms = 0\n"))
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    assert newswatch("--config", str(cfg), "digest").returncode == 0
    [text] = outbox_text(tmp_path)
    assert "New near the story" not in text
    bad = tmp_path / "bad.toml"
    bad.write_text(cfg.read_text().replace("new_terms = 0", "new_terms = -1"))
    out = newswatch("--config", str(bad), "digest")
    assert out.returncode == 2 and "[digest] new_terms: must be 0 or more" in out.stderr
