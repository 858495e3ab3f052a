"""A poll cycle ends, always: the database on a filesystem that fills up mid-cycle.

Real full disk: a 4 MB tmpfs mounted for the test (needs root; skipped with the reason otherwise),
later remounted at 64 MB to give room back. Many feeds served on 127.0.0.1 hold more than fits.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from worker.config import load_config
from worker.daemon import poll_job
from worker.demo import FeedServer
from worker.health import polling_health
from worker.store import Store

from conftest import RELEVANT_ITEMS, newswatch, rss, write_config

pytestmark = pytest.mark.slow  # fills a filesystem, waits out a busy timeout

FEEDS = 60
ITEMS_PER_FEED = 100  # 6,000 items of ~600 characters: about 5 times what fits in 4 MB with the FTS index


def _documents() -> dict[str, tuple[bytes, str]]:
    docs = {}
    for f in range(FEEDS):
        items = [{"title": f"Feed {f} item {i}: the central bank and the weather", "guid": f"g{f}-{i}",
                  "link": f"https://news.example.org/{f}/{i}", "pubDate": "Fri, 01 Mar 2024 10:00:00 +0000",
                  "description": "Markets were calm as the rain went on. " * 14 + f"({f}-{i})"}
                 for i in range(ITEMS_PER_FEED)]
        if f % 10 == 0:  # a few relevant ones, so stories and verdicts are stored too
            items += [dict(it, guid=f"{it['guid']}-{f}", link=f"{it['link']}/{f}") for it in RELEVANT_ITEMS]
        docs[f"/feed{f}.xml"] = (rss(items, title=f"Feed {f}"), "application/rss+xml")
    return docs


@pytest.fixture(scope="module")
def server():
    with FeedServer(_documents()) as s:
        yield s


@pytest.fixture(scope="module")
def config(server, tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("cfg"), [f"{server.base_url}/feed{f}.xml" for f in range(FEEDS)])


def _items(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as c:
        return sorted(c.execute("SELECT f.url, i.link FROM items i JOIN feeds f ON f.id = i.feed_id"))


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory) -> list[tuple[str, str]]:
    """What one `poll --all` stores on a roomy disk."""
    db = tmp_path_factory.mktemp("roomy") / "newswatch.db"
    r = newswatch("--config", str(config), "--db", str(db), "poll", "--all")
    assert r.returncode == 0, r.stderr
    items = _items(db)
    assert len(items) == FEEDS * ITEMS_PER_FEED + len(RELEVANT_ITEMS) * (FEEDS // 10)
    return items


class SmallDisk:
    """A tmpfs of `size` mounted on `path`; grow() gives room back without touching the files."""

    def __init__(self, path: Path, size: str = "4m"):
        self.path = path
        path.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, text=True, check=False)
        if r.returncode:
            pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {r.stderr.strip() or r.returncode}")

    def grow(self, size: str = "64m") -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    disk = SmallDisk(tmp_path / "small")
    yield disk
    disk.unmount()


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA integrity_check").fetchone()[0]


def _feeds_with_validators(db: Path) -> tuple[set[str], set[str]]:
    """(feeds that have items, feeds that kept an ETag)."""
    with sqlite3.connect(db) as c:
        stored = {r[0] for r in c.execute("SELECT DISTINCT f.url FROM items i JOIN feeds f ON f.id = i.feed_id")}
        etags = {r[0] for r in c.execute("SELECT url FROM feeds WHERE etag IS NOT NULL")}
    return stored, etags


def test_poll_on_a_full_disk_ends_with_one_line_and_recovers(config, reference, small_disk):
    db = small_disk.path / "newswatch.db"
    started = time.monotonic()
    r = newswatch("--config", str(config), "--db", str(db), "poll", "--all", timeout=60)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert elapsed < 30, f"took {elapsed:.1f} s to give up"
    assert "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"newswatch: error: database full: no space left on device for {db}"), line
    assert r.stdout == ""

    assert _integrity(db) == "ok"
    partial = _items(db)
    assert len(partial) < len(reference) and set(partial) <= set(reference)
    # A feed whose items were not stored kept no validators: the next cycle fetches it in full.
    stored, etags = _feeds_with_validators(db)
    assert etags <= stored

    h = newswatch("--config", str(config), "--db", str(db), "health")
    assert h.returncode == 1 and "database full" in h.stderr, h.stderr

    small_disk.grow()
    again = newswatch("--config", str(config), "--db", str(db), "poll", "--all", timeout=60)
    assert again.returncode == 0, again.stderr
    assert _integrity(db) == "ok"
    assert _items(db) == reference  # everything, once each
    h = newswatch("--config", str(config), "--db", str(db), "health")
    assert h.returncode == 0, h.stderr


def test_daemon_poll_job_logs_the_failure_and_the_next_cycle_recovers(config, reference, small_disk, caplog):
    # The daemon's own poll job, in process: the scheduler only calls it every interval (minutes).
    db = small_disk.path / "newswatch.db"
    cfg = load_config(str(config), str(db))
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="newswatch")
    started = time.monotonic()
    done: list[bool] = []
    job = threading.Thread(target=lambda: done.append(poll_job(cfg, stop)))
    job.start()
    job.join(timeout=60)
    assert not job.is_alive(), "the poll job never returned"
    assert done == [False]
    assert time.monotonic() - started < 30
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.getMessage().startswith("poll failed")]
    assert len(failures) == 1 and "database full: no space left on device" in failures[0].getMessage()
    assert failures[0].exc_info is None  # one line, no traceback
    health = polling_health(cfg)
    assert not health.healthy and "database full" in health.message
    assert not stop.is_set()  # the daemon's own stop event is not the cycle's: it keeps running

    small_disk.grow()
    caplog.clear()
    assert poll_job(cfg, stop) is True
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert _integrity(db) == "ok"
    assert _items(db) == reference
    assert polling_health(cfg).healthy


def test_a_lock_held_past_the_busy_timeout_ends_the_cycle_with_one_line(config, tmp_path):
    # Another process (here, another connection) holds the write lock longer than the 10 s busy timeout.
    db = tmp_path / "newswatch.db"
    assert newswatch("--config", str(config), "--db", str(db), "health").returncode == 1  # no database yet
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        r = newswatch("--config", str(config), "--db", str(db), "poll", "--all", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 1 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"newswatch: error: database locked: {db} stayed locked"), line
    assert elapsed < 40
    h = newswatch("--config", str(config), "--db", str(db), "health")
    assert h.returncode == 1 and "database locked" in h.stderr, h.stderr
