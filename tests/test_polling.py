"""Polite polling: conditional GET, publisher hints, backoff, redirects, 410, per-host cap."""

import sqlite3
import time
from datetime import UTC, datetime, timedelta

from scripted_server import Reply

from worker.feeds import read_opml
from worker.schedule import next_poll, publishing

from conftest import RELEVANT_ITEMS, newswatch, rss, write_config

FEED = rss(RELEVANT_ITEMS)


def feed_row(tmp_path, column_sql):
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    return db.execute(f"SELECT {column_sql} FROM feeds ORDER BY id").fetchall()


def seconds_until(iso_time):
    return (datetime.strptime(iso_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()


def test_301_updates_the_stored_url_and_the_feed_list(tmp_path, scripted_server):
    scripted_server.routes["/old"] = lambda h: Reply(301, b"", {"Location": f"{scripted_server.base_url}/new"})
    scripted_server.routes["/new"] = lambda h: Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/old"])
    assert "2 new items" in newswatch("--config", str(cfg), "poll").stdout
    assert [f.url for f in read_opml(tmp_path / "feeds.opml")] == [f"{scripted_server.base_url}/new"]
    assert "0 new items" in newswatch("--config", str(cfg), "poll", "--all").stdout
    assert feed_row(tmp_path, "url, moved_to") == [(f"{scripted_server.base_url}/new", None)]  # one feed, same items
    assert len(scripted_server.paths("/new")) == 2 and len(scripted_server.paths("/old")) == 1


def test_a_crash_after_a_301_does_not_duplicate_the_feed(tmp_path, scripted_server):
    scripted_server.routes["/old"] = lambda h: Reply(301, b"", {"Location": f"{scripted_server.base_url}/new"})
    scripted_server.routes["/new"] = lambda h: Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/old"])
    killed = newswatch("--config", str(cfg), "poll", env={"NEWSWATCH_KILL_AT": "store.feed.committed:1"})
    assert killed.returncode == -9
    assert [f.url for f in read_opml(tmp_path / "feeds.opml")] == [f"{scripted_server.base_url}/old"]  # not rewritten
    assert "0 new items" in newswatch("--config", str(cfg), "poll", "--all").stdout
    assert feed_row(tmp_path, "COUNT(*)") == [(1,)]
    assert [f.url for f in read_opml(tmp_path / "feeds.opml")] == [f"{scripted_server.base_url}/new"]


def test_a_feed_that_moved_and_is_gone_is_one_disabled_feed_under_its_new_url(tmp_path, scripted_server):
    scripted_server.routes["/old"] = lambda h: Reply(301, b"", {"Location": f"{scripted_server.base_url}/new"})
    scripted_server.routes["/new"] = lambda h: Reply(410, b"gone")
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/old"])
    newswatch("--config", str(cfg), "poll")
    assert [f.url for f in read_opml(tmp_path / "feeds.opml")] == [f"{scripted_server.base_url}/new"]
    newswatch("--config", str(cfg), "poll", "--all")
    assert len(scripted_server.paths("/old")) == 1 and len(scripted_server.paths("/new")) == 1  # not asked again
    assert feed_row(tmp_path, "url, last_status, disabled_reason LIKE 'HTTP 410%'") == [
        (f"{scripted_server.base_url}/new", "gone", 1)]  # one row, under the new URL, disabled


def test_410_deactivates_the_feed_with_a_visible_reason(tmp_path, scripted_server):
    scripted_server.routes["/gone"] = lambda h: Reply(410, b"gone")
    scripted_server.routes["/ok"] = lambda h: Reply(200, FEED)
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/gone", f"{scripted_server.base_url}/ok"])
    newswatch("--config", str(cfg), "poll")
    newswatch("--config", str(cfg), "poll", "--all")
    assert len(scripted_server.paths("/gone")) == 1 and len(scripted_server.paths("/ok")) == 2
    listing = newswatch("--config", str(cfg), "feeds", "list").stdout
    assert "disabled" in listing and "HTTP 410 Gone" in listing
    # the publisher brings it back; the user re-adds it: polled again
    scripted_server.routes["/gone"] = lambda h: Reply(200, FEED)
    assert newswatch("--config", str(cfg), "feeds", "remove", f"{scripted_server.base_url}/gone").returncode == 0
    assert newswatch("--config", str(cfg), "feeds", "add", f"{scripted_server.base_url}/gone").returncode == 0
    newswatch("--config", str(cfg), "poll", "--all")
    assert len(scripted_server.paths("/gone")) == 3  # `feeds add` fetches the feed once for its title, then the poll


def test_retry_after_cache_control_and_ttl_are_honoured(tmp_path, scripted_server):
    scripted_server.routes["/busy"] = lambda h: Reply(429, b"slow down", {"Retry-After": "7200"})
    scripted_server.routes["/cached"] = lambda h: Reply(200, FEED, {"Cache-Control": "public, max-age=5400"})
    scripted_server.routes["/ttl"] = lambda h: Reply(200, FEED.replace(b"<description>test</description>",
                                                              b"<description>test</description><ttl>180</ttl>"))
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/{p}" for p in ("busy", "cached", "ttl")])
    newswatch("--config", str(cfg), "poll")
    (busy,), (cached,), (ttl,) = feed_row(tmp_path, "next_poll_at")
    assert seconds_until(busy) >= 7200 * 0.89
    assert seconds_until(cached) >= 5400 * 0.89
    assert seconds_until(ttl) >= 180 * 60 * 0.89


def test_server_ignoring_conditional_get_is_not_parsed_again(tmp_path, scripted_server):
    scripted_server.routes["/noetag"] = lambda h: Reply(200, FEED)  # no ETag, no Last-Modified, same bytes
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/noetag"])
    newswatch("--config", str(cfg), "poll")
    out = newswatch("--config", str(cfg), "poll", "--all")
    assert "0 new items" in out.stdout and "(1 not modified)" in out.stdout
    assert feed_row(tmp_path, "last_status") == [("unchanged",)]


def test_conditional_get_sends_the_validators(tmp_path, scripted_server):
    def validating(h):
        if h.headers.get("If-None-Match") == '"v1"' and h.headers.get("If-Modified-Since") == "Wed, 21 Oct 2026 07:28:00 GMT":
            return Reply(304)
        return Reply(200, FEED, {"ETag": '"v1"', "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT"})
    scripted_server.routes["/v"] = validating
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/v"])
    newswatch("--config", str(cfg), "poll")
    newswatch("--config", str(cfg), "poll", "--all")
    assert feed_row(tmp_path, "last_status, http_status, etag") == [("not_modified", 304, '"v1"')]
    assert scripted_server.paths("/v")[0]["User-Agent"].startswith("newswatch/")


def test_failing_feed_backs_off_exponentially_and_is_never_dropped(tmp_path, scripted_server):
    scripted_server.routes["/down"] = lambda h: Reply(500, b"oops")
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/down"], interval=10)
    delays = []
    for _ in range(4):
        newswatch("--config", str(cfg), "poll", "--all")
        (errors, when, active), = feed_row(tmp_path, "error_count, next_poll_at, active")
        delays.append(seconds_until(when) / 60)
    assert errors == 4 and active == 1
    # 20, 40, 80, 160 minutes, each +-10%
    for n, minutes in enumerate(delays, 1):
        assert 10 * 2 ** n * 0.89 <= minutes <= 10 * 2 ** n * 1.11, delays
    listing = newswatch("--config", str(cfg), "feeds", "list").stdout
    assert "4 errors: HTTP 500" in listing


def test_per_host_cap(tmp_path, scripted_server):
    def slow(h):
        time.sleep(0.3)
        return Reply(200, FEED)
    for n in range(8):
        scripted_server.routes[f"/f{n}"] = slow
    cfg = write_config(tmp_path, [f"{scripted_server.base_url}/f{n}" for n in range(8)])
    cfg.write_text(cfg.read_text().replace("[poll]\n", "[poll]\nper_host = 2\n", 1))
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    assert scripted_server.max_active == 2


def test_publishing_rate_comes_from_the_span_the_items_cover():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    wire = [(now - timedelta(minutes=3 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(20)]  # 20 in 57 min
    rate, window = publishing(wire, now)
    assert 450 < rate < 520 and window == timedelta(minutes=57)
    when = next_poll(now, timedelta(minutes=15), rate=rate, window=window)
    assert when - now <= timedelta(minutes=15) * 1.11  # a busy feed is polled every interval
    weekly = [(now - timedelta(days=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(5)]
    rate, window = publishing(weekly, now)
    assert abs(rate - 1 / 7) < 0.01
    assert next_poll(now, timedelta(minutes=15), rate=rate, window=window) - now >= timedelta(minutes=60) * 0.89
    assert publishing([None, "garbage"], now) == (None, None)


def test_next_poll_adapts_to_publishing_rate():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    every = timedelta(minutes=15)
    busy = next_poll(now, every, rate=200)  # 200 items a day: every interval
    quiet = next_poll(now, every, rate=1)  # one a day: four intervals
    assert every * 0.89 <= busy - now <= every * 1.11
    assert every * 4 * 0.89 <= quiet - now <= every * 4 * 1.11
