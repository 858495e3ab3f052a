"""The database in the ecosystem: Datasette's full-text search and canned queries work, and readers
never see "database is locked" while newswatch writes."""

import json
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scripted_server import Reply, ScriptedServer

from conftest import REPO, free_port, newswatch, rss, wait_for, write_config

NOW = datetime.now(UTC)
ITEMS = [
    {"title": "Turkish and Syrian defence ministers meet in Moscow", "link": "https://a.example/1", "guid": "1",
     "pubDate": format_datetime(NOW - timedelta(days=1)), "description": "Ankara and Damascus talk."},
    {"title": "Turkish and Syrian defence ministers meet in Moscow - Wire", "link": "https://b.example/1",
     "guid": "b1", "pubDate": format_datetime(NOW - timedelta(days=1)), "description": "Ankara and Damascus talk."},
    {"title": "Markets close higher", "link": "https://a.example/2", "guid": "2",
     "pubDate": format_datetime(NOW - timedelta(days=2)), "description": "Stocks rose."},
]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def datasette_db(tmp_path, feed_server):
    feed_server.documents["/a"] = (rss(ITEMS[::2], title="A"), "application/rss+xml")
    feed_server.documents["/b"] = (rss(ITEMS[1:2], title="B"), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/a", f"{feed_server.base_url}/b"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    db = tmp_path / "db" / "newswatch.db"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(db), "-h", "127.0.0.1", "-p", str(port),
                             "-m", str(REPO / "config" / "datasette-metadata.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/newswatch"

    def up():
        try:
            get(f"{base}.json")
            return True
        except OSError:
            return False

    assert wait_for(up, timeout=30), proc.stderr.read1().decode() if proc.poll() is not None else "no answer"
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_datasette_full_text_search_and_canned_queries(datasette_db):
    rows = get(f"{datasette_db}/items.json?_search=damascus&_shape=array")
    assert {r["link"] for r in rows} == {"https://a.example/1", "https://b.example/1"}
    assert get(f"{datasette_db}/items.json?_search=stocks&_shape=array")[0]["link"] == "https://a.example/2"
    recent = get(f"{datasette_db}/relevant_last_7_days.json?_shape=array")
    assert {r["link"] for r in recent} == {"https://a.example/1", "https://b.example/1"}
    stories = get(f"{datasette_db}/stories.json?_shape=array")
    assert len(stories) == 1 and stories[0]["items"] == 2 and stories[0]["sources"] == 2
    health = get(f"{datasette_db}/feed_health.json?_shape=array")
    assert {h["last_status"] for h in health} == {"ok"}


@pytest.mark.slow
def test_readers_never_see_a_lock_while_polling_writes(tmp_path):
    server = ScriptedServer()
    counter = {"n": 0}

    def fresh(h):  # every poll gets 3,000 new items: a long write transaction
        counter["n"] += 1
        n = counter["n"]
        return Reply(200, rss([{"title": f"Item {n}-{i} Turkey Syria talks", "guid": f"{n}-{i}",
                                "description": "Ankara and Damascus."} for i in range(3000)]))
    server.routes["/big"] = fresh
    cfg = write_config(tmp_path, [f"{server.base_url}/big"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    db_path = tmp_path / "db" / "newswatch.db"
    errors, reads = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                # Almost no busy timeout: a reader that had to wait for the writer would fail here.
                with sqlite3.connect(db_path, timeout=0.05) as db:
                    reads.append(db.execute("SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH 'damascus'")
                                 .fetchone()[0])
            except sqlite3.OperationalError as e:
                errors.append(str(e))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(4):
            assert newswatch("--config", str(cfg), "poll", "--all").returncode == 0
            search = newswatch("--config", str(cfg), "search", "damascus", "--limit", "1")
            assert search.returncode == 0 and "locked" not in search.stderr
    finally:
        stop.set()
        thread.join()
        server.close()
    assert errors == []
    assert len(reads) > 20 and reads[-1] == 15000 and reads == sorted(reads)
