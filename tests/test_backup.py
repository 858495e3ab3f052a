"""`newswatch backup DEST`: an online copy, consistent while a poll writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from worker.clock import utcnow
from worker.records import FeedUpdate, NewItem
from worker.store import Store

from conftest import newswatch, write_config

BATCH = 25  # items per feed transaction, as a poll stores them


def _item(n: int) -> NewItem:
    return NewItem(dedup_key=f"key-{n}", guid=f"guid-{n}", link=f"https://news.example.org/{n}", title=f"Headline {n}",
                   summary="A summary long enough to make pages fill. " * 5, published=None, lang="en",
                   content_hash=f"hash-{n}", score=0.0, relevant=False, matches=[], explanation=[])


def _write_until(db: Path, stop: threading.Event, written: list[int]) -> None:
    """Store batches the way a poll cycle does (items and the feed's state in one transaction)."""
    with Store(db) as store:
        store.sync_feeds([(f"https://feeds.example.org/{f}", None, None) for f in range(4)])
        feeds = store.due_feeds(all_feeds=True)
        n = 0
        while not stop.is_set():
            feed = feeds[n // BATCH % len(feeds)]
            store.record_poll(feed, FeedUpdate(status="ok", next_poll=utcnow(), http_status=200, etag=f'"{n}"'),
                              [_item(i) for i in range(n, n + BATCH)])
            n += BATCH
            written.append(n)


def _check_copy(copy: Path) -> int:
    with sqlite3.connect(copy) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        c.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")  # raises if FTS disagrees
        items = c.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        # A consistent snapshot holds whole transactions only: every batch complete, and each feed's
        # ETag names the last batch it stored.
        assert items % BATCH == 0
        for (per_feed,) in c.execute("SELECT COUNT(*) FROM items GROUP BY feed_id"):
            assert per_feed % BATCH == 0
        for etag, last in c.execute("SELECT f.etag, MAX(CAST(substr(i.guid, 6) AS INTEGER)) FROM feeds f "
                                    "JOIN items i ON i.feed_id = f.id GROUP BY f.id"):
            assert etag == f'"{last - BATCH + 1}"'
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert not Path(f"{copy}-wal").exists()
    return items


def test_backup_while_a_poll_writes(tmp_path):
    cfg = write_config(tmp_path, [])
    db = tmp_path / "db" / "newswatch.db"
    Store(db).close()
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_until, args=(db, stop, written))
    writer.start()
    try:
        counts = []
        for k in range(3):
            while len(written) < 20 * (k + 1):  # let the database grow between copies
                stop.wait(0.05)
            copy = tmp_path / f"copy{k}.db"
            r = newswatch("--config", str(cfg), "backup", str(copy))
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip() == f"backed up {db} to {copy} ({copy.stat().st_size:,} bytes)"
            counts.append(_check_copy(copy))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert counts == sorted(counts) and counts[0] > 0
    assert written[-1] >= counts[-1]


def test_backup_refuses_to_overwrite_unless_forced(tmp_path):
    cfg = write_config(tmp_path, [])
    Store(tmp_path / "db" / "newswatch.db").close()
    dest = tmp_path / "copy.db"
    dest.write_text("precious")
    r = newswatch("--config", str(cfg), "backup", str(dest))
    assert r.returncode == 2
    assert r.stderr.strip() == f"newswatch: error: {dest} exists: give --force to overwrite it"
    assert dest.read_text() == "precious"
    r = newswatch("--config", str(cfg), "backup", str(dest), "--force")
    assert r.returncode == 0, r.stderr
    _check_copy(dest)
    r = newswatch("--config", str(cfg), "backup", str(tmp_path / "db" / "newswatch.db"), "--force")
    assert r.returncode == 2 and "is the database itself" in r.stderr


def test_backup_without_a_database_says_so(tmp_path):
    cfg = write_config(tmp_path, [])
    r = newswatch("--config", str(cfg), "backup", str(tmp_path / "copy.db"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "database not found" in line and not (tmp_path / "copy.db").exists()
