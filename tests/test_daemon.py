"""`newswatch run`: polls at start, stops cleanly on SIGTERM/SIGINT, one daemon per database."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import RELEVANT_ITEMS, REPO, newswatch, rss, wait_for, write_config


def start_daemon(cfg):
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "run"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def polled(db_path):
    if not db_path.exists():
        return False
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT COUNT(*) FROM feeds WHERE last_polled_at IS NOT NULL").fetchone()[0] > 0
    except sqlite3.OperationalError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_polls_then_stops_on_signal(tmp_path, feed_server, sig):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    proc = start_daemon(cfg)
    try:
        db_path = tmp_path / "db" / "newswatch.db"
        assert wait_for(lambda: polled(db_path), timeout=20), "daemon did not poll"
        sent = time.monotonic()
        proc.send_signal(sig)
        rc = proc.wait(timeout=10)
        assert time.monotonic() - sent < 5
    finally:
        proc.kill()
    _, err = proc.communicate()
    assert rc == 0, err
    assert "Traceback" not in err
    assert "polled 1 feed: 2 new items, 2 relevant" in err and "daemon stopped" in err
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2


@pytest.mark.slow
def test_second_daemon_on_same_database_refuses(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    first = start_daemon(cfg)
    try:
        assert wait_for(lambda: polled(tmp_path / "db" / "newswatch.db"), timeout=20)
        second = newswatch("--config", str(cfg), "run", timeout=20, process=True)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1].startswith(
            f"newswatch: error: another newswatch daemon (pid {first.pid}) is already running")
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)
    # once the first is gone, the lock is free again
    again = start_daemon(cfg)
    try:
        time.sleep(1.5)
        assert again.poll() is None
    finally:
        again.terminate()
        assert again.wait(timeout=10) == 0


def test_daemon_logs_one_json_line_per_cycle(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "run", "--log-format", "json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: polled(tmp_path / "db" / "newswatch.db"), timeout=20)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    lines = [json.loads(line) for line in proc.stderr.read().splitlines()]
    polls = [x for x in lines if x.get("event") == "poll"]
    assert len(polls) == 1 and polls[0]["new_items"] == 2 and polls[0]["level"] == "info"
    assert {"time", "message", "feeds", "errors", "seconds"} <= set(polls[0])
