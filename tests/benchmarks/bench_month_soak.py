"""Soak on real news: the December 2022 month (62,127 items of ~250 real feeds, ../shared/corpus) replayed
day by day through the daemon's own jobs, on an accelerated clock: each simulated day the feed server
on 127.0.0.1 serves that day's items, the poll cycle runs over every feed (a day later every feed is
due) and then the daily digest (send_digest, to the outbox), the two functions the daemon's jobs call. Per day: the process's peak memory that day,
the database size, items stored and relevant. At the end: every relevant item was delivered exactly
once (its link in exactly one digest in the outbox, and marked delivered in the database).

    python tests/benchmarks/bench_month_soak.py [--days 31]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from email import message_from_bytes, policy
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from worker.config import load_config
from worker.daemon import poll_cycle, send_digest
from worker.demo import FeedServer
from worker.relevance.evaluate import corpus_dir

CORPUS = (corpus_dir(REPO) or REPO.parent / "shared" / "corpus") / "news-2022-12.jsonl.gz"


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset_peak(), in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: start a new peak RSS (VmHWM) from now


def rss(day: str, items: list[dict]) -> bytes:
    pub = f"{int(day[-2:]):02d} Dec 2022 12:00:00 +0000"
    body = "".join(f"<item><title>{escape(i['title'] or '')}</title><link>{escape(i['link'])}</link>"
                   f"<guid>{escape(i['link'])}</guid><pubDate>Thu, {pub}</pubDate>"
                   f"<description>{escape(i['summary'] or '')}</description></item>" for i in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>replay</title>'
            f"<link>https://example.org/</link><description>d</description>{body}</channel></rss>").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args()
    by_day: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            by_day[item["day"]][item["feed"]].append(item)
    days = sorted(by_day)[: args.days]
    feeds = sorted({feed for d in by_day.values() for feed in d})
    paths = {feed: f"/feed/{n}" for n, feed in enumerate(feeds)}
    with tempfile.TemporaryDirectory() as tmp, FeedServer({}) as server:
        tmp = Path(tmp)
        outlines = "".join(f'<outline type="rss" text="feed {n}" xmlUrl="{server.base_url}{p}"/>'
                           for n, p in enumerate(paths.values()))
        (tmp / "feeds.opml").write_text(f'<?xml version="1.0"?><opml version="2.0"><head><title>month</title>'
                                        f"</head><body>{outlines}</body></opml>", encoding="utf-8")
        (tmp / "newswatch.toml").write_text(
            f'[database]\npath = "{tmp / "month.db"}"\n[feeds]\nopml = "{tmp / "feeds.opml"}"\n'
            f'[poll]\ntimeout_seconds = 20\n[classifier]\nrules = "{REPO / "config" / "rules" / "turkey-syria.toml"}"\n'
            f'[digest]\noutbox = "{tmp / "outbox"}"\n', encoding="utf-8")
        cfg = load_config(str(tmp / "newswatch.toml"))
        stop = threading.Event()
        print(f"RSS before the first day (the month's items held for the feed server): {peak_rss_mb():.1f} MB")
        print(f"{'day':10} {'items':>7} {'relevant':>8} {'db MB':>7} {'peak MB':>8} {'poll s':>7} {'digest s':>8}")
        start = time.perf_counter()
        for day in days:
            server.documents = {paths[f]: (rss(day, by_day[day].get(f, [])), "application/rss+xml") for f in feeds}
            reset_peak()
            t = time.perf_counter()
            poll_cycle(cfg, all_feeds=True, stop=stop)
            polled = time.perf_counter() - t
            t = time.perf_counter()
            summary = send_digest(cfg)
            if summary.errors:
                raise SystemExit(f"{day}: digest failed: {summary.errors}")
            digested = time.perf_counter() - t
            db = sqlite3.connect(cfg.database.path)
            items, relevant = db.execute("SELECT COUNT(*), COALESCE(SUM(relevant), 0) FROM items").fetchone()
            db.close()
            size = sum(p.stat().st_size for p in tmp.glob("month.db*")) / 1e6
            print(f"{day:10} {items:>7,} {relevant:>8} {size:>7.1f} {peak_rss_mb():>8.1f} {polled:>7.1f} {digested:>8.1f}")
        print(f"{len(days)} days in {time.perf_counter() - start:.0f} s")

        # Every relevant item delivered exactly once: its link in exactly one digest, and marked so.
        db = sqlite3.connect(cfg.database.path)
        relevant_links = [r[0] for r in db.execute("SELECT link FROM items WHERE relevant = 1")]
        undelivered = db.execute("SELECT COUNT(*) FROM items WHERE relevant = 1 AND delivered_at IS NULL").fetchone()[0]
        seen: Counter[str] = Counter()
        for eml in sorted((tmp / "outbox").glob("*.eml")):
            msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
            text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
            seen.update(set(re.findall(r"^   - .*?: (\S+)$", text, re.MULTILINE)))
        counts = Counter(seen[link] for link in relevant_links)
        print(f"relevant items: {len(relevant_links)}; in exactly one digest: {counts[1]}; in none: {counts[0]}; "
              f"in more than one: {sum(v for k, v in counts.items() if k > 1)}; not marked delivered: {undelivered}; "
              f"digests: {len(list((tmp / 'outbox').glob('*.eml')))}")
        if counts[1] != len(relevant_links) or undelivered:
            raise SystemExit("a relevant item was not delivered exactly once")


if __name__ == "__main__":
    main()
