"""Feed on 127.0.0.1 -> `newswatch poll` -> SQLite -> `newswatch digest` -> a real SMTP server."""

import sqlite3
import subprocess
import sys

from conftest import OTHER_ITEMS, RELEVANT_ITEMS, REPO, atom, newswatch, rss, write_config


def test_feed_to_email_once(tmp_path, feed_server, smtp_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS + OTHER_ITEMS), "application/rss+xml")
    feed_server.documents["/atom"] = (atom([
        {"title": "Fidan visits Damascus, meets Syria's al-Sharaa on trade and refugees",
         "id": "urn:x:1", "link": "https://other.example.org/fidan",
         "summary": "Turkey's foreign minister held talks with the new Syrian administration."},
        {"title": "Football: derby ends in a draw", "id": "urn:x:2", "link": "https://other.example.org/f"},
    ]), "application/atom+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss", f"{feed_server.base_url}/atom"],
                       smtp_port=smtp_server.port)

    polled = newswatch("--config", str(cfg), "poll")
    assert polled.returncode == 0, polled.stderr
    assert polled.stdout.strip() == "polled 2 feeds: 6 new items, 3 relevant, 0 errors (0 not modified)"

    sent = newswatch("--config", str(cfg), "digest")
    assert sent.returncode == 0, sent.stderr
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == "analyst@example.org" and msg["Message-ID"]
    assert msg.is_multipart()
    types = {p.get_content_type() for p in msg.walk()}
    assert {"text/plain", "text/html"} <= types
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
    assert "defence ministers meet in Moscow" in text and "Fidan visits Damascus" in text
    assert "Erdogan says he may meet Assad" in text
    assert "Armenia" not in text and "Central bank" not in text
    assert "utm_source" not in text  # canonical links

    again = newswatch("--config", str(cfg), "digest")
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert len(smtp_server.messages) == 1

    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT COUNT(*) FROM items WHERE relevant = 1 AND delivered_at IS NOT NULL").fetchone()[0] == 3
    assert db.execute("SELECT status, item_count FROM digests").fetchall() == [("sent", 3)]


def test_second_poll_is_answered_304_and_stores_nothing(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    first = newswatch("--config", str(cfg), "poll")
    assert "2 new items" in first.stdout
    second = newswatch("--config", str(cfg), "poll", "--all")
    assert second.stdout.strip() == "polled 1 feed: 0 new items, 0 relevant, 0 errors (1 not modified)"
    assert [s for _, s in feed_server.requests] == [200, 304]
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2
    assert db.execute("SELECT last_status, http_status FROM feeds").fetchone() == ("not_modified", 304)


def test_poll_without_all_skips_feeds_not_due(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    newswatch("--config", str(cfg), "poll")
    again = newswatch("--config", str(cfg), "poll")
    assert again.stdout.startswith("polled 0 feeds: none is due yet")
    assert len(feed_server.requests) == 1


def test_digest_goes_to_outbox_without_smtp(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    newswatch("--config", str(cfg), "poll")
    out = newswatch("--config", str(cfg), "digest")
    assert out.returncode == 0
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1 and b"Message-ID:" in files[0].read_bytes()
    assert "nothing new" in newswatch("--config", str(cfg), "digest").stdout
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_dry_run_delivers_nothing(tmp_path, feed_server, smtp_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"], smtp_port=smtp_server.port)
    newswatch("--config", str(cfg), "poll")
    preview = newswatch("--config", str(cfg), "digest", "--dry-run", "--format", "html")
    assert preview.returncode == 0 and preview.stdout.startswith("<!DOCTYPE html>")
    assert "Erdogan says he may meet Assad" in preview.stdout
    assert smtp_server.messages == []
    assert newswatch("--config", str(cfg), "digest").returncode == 0
    assert len(smtp_server.messages) == 1


def test_failing_feed_is_recorded_and_others_are_stored(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    feed_server.documents["/html"] = (b"<html><body>Not a feed</body></html>", "text/html")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss", f"{feed_server.base_url}/missing",
                                  f"{feed_server.base_url}/html", "http://127.0.0.1:9/refused"])
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert out.stdout.strip() == "polled 4 feeds: 2 new items, 2 relevant, 3 errors (0 not modified)"
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    errors = dict(db.execute("SELECT url, last_error FROM feeds WHERE last_status = 'error'").fetchall())
    assert errors[f"{feed_server.base_url}/missing"] == "HTTP 404 Not Found"
    assert errors[f"{feed_server.base_url}/html"] == "not a feed (an HTML page)"
    assert errors["http://127.0.0.1:9/refused"] == "connection failed: connection refused"
    listing = newswatch("--config", str(cfg), "feeds", "list").stdout
    assert "1 error: HTTP 404 Not Found" in listing and "200    0      2  " in listing


def test_malformed_feed_without_items_is_an_error_not_an_empty_feed(tmp_path, feed_server):
    feed_server.documents["/bad"] = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><ite',
                                     "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/bad"])
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 0 and "1 error" in out.stdout
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    status, error = db.execute("SELECT last_status, last_error FROM feeds").fetchone()
    assert status == "error" and error.startswith("malformed feed, no items")


def test_output_into_a_closed_pipe_is_quiet(tmp_path):
    lines = "".join('{"title": "Turkey and Syria talk", "summary": ""}\n' for _ in range(20000))
    proc = subprocess.run(f"{sys.executable} -m worker classify --jsonl - | head -1", shell=True, input=lines,
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""
