"""A cycle of many feeds: parsed in worker processes (one per core; the daemon's for its life), a worker
that dies costs only the feeds it had in hand, and feeds that answer 304 are recorded a batch at a time."""

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from worker.poll import PARSE_IN_PROCESSES_MIN_FEEDS, POLLS_PER_TRANSACTION
from worker.processes import can_fork, default_workers

from conftest import REPO, free_port, newswatch, rss, wait_for, write_config

FEEDS = 40
PER_FEED = 5
pytestmark = pytest.mark.skipif(not can_fork() or default_workers() < 2,
                                reason="worker processes need fork and two cores")


def serve_feeds(feed_server) -> list[str]:
    for f in range(FEEDS):
        items = [{"title": f"Turkey and Syria hold normalization talks, report {f}-{i}" if i == 0 else
                  f"Local weather report {f}-{i}", "link": f"https://news{f}.example.org/{i}", "guid": f"{f}-{i}",
                  "description": "Ankara and Damascus met in Moscow." if i == 0 else "Rain."} for i in range(PER_FEED)]
        feed_server.documents[f"/f{f}"] = (rss(items, title=f"Feed {f}"), "application/rss+xml")
    return [f"{feed_server.base_url}/f{f}" for f in range(FEEDS)]


def checkpoints(log) -> Counter:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def stored(tmp_path) -> tuple[int, int]:
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    return db.execute("SELECT COUNT(*), COUNT(DISTINCT feed_id || ' ' || dedup_key) FROM items").fetchone()


def test_many_feeds_are_parsed_in_worker_processes_and_unchanged_ones_recorded_in_one_transaction(
        tmp_path, feed_server):
    assert FEEDS >= PARSE_IN_PROCESSES_MIN_FEEDS and FEEDS < POLLS_PER_TRANSACTION
    cfg = write_config(tmp_path, serve_feeds(feed_server))
    log = tmp_path / "checkpoints.log"
    out = newswatch("--config", str(cfg), "poll", env={"NEWSWATCH_CHECKPOINT_LOG": str(log)})
    assert out.returncode == 0 and f"{FEEDS * PER_FEED} new items, {FEEDS} relevant, 0 errors" in out.stdout, out
    first = checkpoints(log)
    assert first["poll.parse_in_worker"] == FEEDS and first["store.feed.committed"] == FEEDS
    log.unlink()
    out = newswatch("--config", str(cfg), "poll", "--all", env={"NEWSWATCH_CHECKPOINT_LOG": str(log)})
    assert f"0 new items, 0 relevant, 0 errors ({FEEDS} not modified)" in out.stdout, out
    second = checkpoints(log)
    assert second["poll.parse_in_worker"] == 0 and second["store.feed.committed"] == 0
    assert second["store.polls.committed"] == 1  # forty 304s, one commit
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT last_status, COUNT(*) FROM feeds GROUP BY 1").fetchall() == [("not_modified", FEEDS)]
    assert stored(tmp_path) == (FEEDS * PER_FEED, FEEDS * PER_FEED)


@pytest.mark.slow  # a kill point, in a process of its own
def test_a_parse_worker_that_dies_costs_only_the_feeds_it_had(tmp_path, feed_server):
    cfg = write_config(tmp_path, serve_feeds(feed_server))
    # Each worker dies at its first parse: the pool breaks, and the feeds in flight are left as they
    # were (never polled, so due), while the rest of the cycle parses in the fetch threads.
    out = newswatch("--config", str(cfg), "poll", env={"NEWSWATCH_KILL_AT": "poll.parse_in_worker:1"})
    assert out.returncode == 0 and "Traceback" not in out.stderr, out
    assert "a parse worker process died" in out.stderr
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    left = db.execute("SELECT COUNT(*) FROM feeds WHERE last_polled_at IS NULL").fetchone()[0]
    # What was in flight, no more: each of the 16 fetch threads ([poll] concurrency) waits on its own parse.
    assert 1 <= left <= 16, out.stdout
    assert f"polled {FEEDS - left} feeds: {(FEEDS - left) * PER_FEED} new items" in out.stdout, out.stdout
    assert db.execute("SELECT COUNT(*) FROM feeds WHERE last_error IS NOT NULL").fetchone()[0] == 0
    out = newswatch("--config", str(cfg), "poll", process=True)  # only those are due
    assert out.returncode == 0 and f"polled {left} feed" in out.stdout, out
    assert stored(tmp_path) == (FEEDS * PER_FEED, FEEDS * PER_FEED)


def test_the_daemon_parses_in_workers_it_keeps_and_ends_with_it(tmp_path, feed_server):
    cfg = write_config(tmp_path, serve_feeds(feed_server))
    log = tmp_path / "checkpoints.log"
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "run"], cwd=REPO,
                            env={**env, "NEWSWATCH_CHECKPOINT_LOG": str(log)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: checkpoints(log)["store.feed.committed"] == FEEDS, timeout=30)
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], check=False, capture_output=True,
                                 text=True).stdout.split()
        assert len(workers) == default_workers()  # forked at start, before the scheduler's threads
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert rc == 0 and "Traceback" not in err, err
    assert checkpoints(log)["poll.parse_in_worker"] == FEEDS
    assert f"polled {FEEDS} feeds: {FEEDS * PER_FEED} new items" in err
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), timeout=5), \
        "a parse worker outlived the daemon"


def test_an_outage_over_many_feeds_is_recorded_in_one_transaction(tmp_path):
    port = free_port()  # nothing listens there: every fetch is refused
    cfg = write_config(tmp_path, [f"http://127.0.0.1:{port}/f{f}" for f in range(FEEDS)])
    log = tmp_path / "checkpoints.log"
    out = newswatch("--config", str(cfg), "poll", env={"NEWSWATCH_CHECKPOINT_LOG": str(log)})
    assert out.returncode == 0 and f"0 new items, 0 relevant, {FEEDS} errors" in out.stdout, out
    assert checkpoints(log)["store.polls.committed"] == 1 and checkpoints(log)["store.feed.committed"] == 0
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT last_status, error_count, COUNT(*) FROM feeds GROUP BY 1, 2").fetchall() == \
        [("error", 1, FEEDS)]
    assert db.execute("SELECT COUNT(*) FROM feeds WHERE last_error LIKE 'connection failed%' "
                      "AND next_poll_at > last_polled_at").fetchone() == (FEEDS,)


def test_a_feed_that_takes_too_long_to_parse_is_an_error_and_holds_up_nobody(tmp_path, feed_server):
    """3 MB of broken tags takes feedparser about half a minute here: the worker gives up after twice
    timeout_seconds, and goes on parsing the other feeds."""
    urls = serve_feeds(feed_server)
    feed_server.documents["/f0"] = (b"<rss><channel><title>t</title><item><title>" + b"<a " * 1_000_000,
                                    "application/rss+xml")
    cfg = write_config(tmp_path, urls)
    cfg.write_text(cfg.read_text().replace("timeout_seconds = 5", "timeout_seconds = 0.5"))
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 0 and f"{(FEEDS - 1) * PER_FEED} new items, {FEEDS - 1} relevant, 1 error" in out.stdout, out
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    assert db.execute("SELECT last_error FROM feeds WHERE url = ?", (urls[0],)).fetchone() == (
        "parsing took over 1s (twice timeout_seconds): not parsed",)
