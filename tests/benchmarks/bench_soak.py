"""Soak: many poll cycles in one long-lived process, as the daemon runs them, watching for what grows.

    python tests/benchmarks/bench_soak.py                    # 200 feeds x 30 items, 60 cycles
    python tests/benchmarks/bench_soak.py --cycles 300 --feeds 500
    python tests/benchmarks/bench_soak.py --full-disk        # (root) the database on a tmpfs that fills
                                                             # mid-run and is given room again later

Each cycle calls poll_cycle() (the function the daemon's poll job calls) over every feed, served on
127.0.0.1 by a feed server whose feeds publish a few new items per cycle (a quarter stay unchanged:
304s). Per cycle it records the seconds, the process's RSS, open file descriptors, threads, and the
database and WAL sizes. It ends with the growth of each between the warm-up and the last cycle, and
exits 1 if file descriptors or threads leaked (they must not grow at all) or a cycle failed that
should not have.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from worker.config import ClassifierConfig, Config, DatabaseConfig, FeedsConfig, PollConfig
from worker.demo import FeedServer
from worker.feeds import FeedSpec, write_opml
from worker.poll import poll_cycle
from worker.store import DatabaseFailure

RULES = REPO / "config" / "rules" / "turkey-syria.toml"
TOPICS = ["Central bank holds rates as inflation eases", "Erdogan says he may meet Assad to normalise ties",
          "Football: derby ends in a draw", "Ankara and Damascus agree to reopen embassies",
          "Rain expected across the region this weekend"]


def rss(feed: int, first: int, count: int) -> bytes:
    items = "".join(
        f"<item><title>{TOPICS[(feed + n) % len(TOPICS)]} ({feed}-{n})</title>"
        f"<link>https://news.example.org/{feed}/{n}</link><guid>{feed}-{n}</guid>"
        f"<pubDate>Fri, 01 Mar 2024 10:00:00 +0000</pubDate>"
        f"<description>{'Officials said talks would continue next week. ' * 8}</description></item>"
        for n in range(first, first + count))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {feed}</title>'
            f"<link>https://example.org/</link><description>soak</description>{items}</channel></rss>").encode()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6 if path.exists() else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=30, help="items per feed document")
    ap.add_argument("--new", type=int, default=3, help="new items per changing feed per cycle")
    ap.add_argument("--cycles", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5, help="cycles before growth is measured from")
    ap.add_argument("--full-disk", action="store_true",
                    help="database on a small tmpfs (root) that fills up, then is given room at 2/3 of the run")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="newswatch-soak-"))
    dbdir = tmp / "db"
    dbdir.mkdir()
    mounted = False
    if args.full_disk:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(dbdir)], capture_output=True,
                           text=True, check=False)
        if r.returncode:
            print(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}", file=sys.stderr)
            return 2
        mounted = True
    db = dbdir / "newswatch.db"
    heads = dict.fromkeys(range(args.feeds), 0)
    docs = {f"/f{f}.xml": (rss(f, 0, args.items), "application/rss+xml") for f in heads}
    failures = unexpected = 0
    rows = []
    try:
        with FeedServer(docs) as server:
            write_opml(tmp / "feeds.opml", [FeedSpec(f"{server.base_url}/f{f}.xml", f"Feed {f}") for f in heads])
            cfg = replace(Config(), database=DatabaseConfig(str(db)), feeds=FeedsConfig(str(tmp / "feeds.opml")),
                          classifier=ClassifierConfig(str(RULES)), poll=PollConfig(timeout_seconds=10))
            stop = threading.Event()
            print(f"{'cycle':>5} {'sec':>6} {'feeds':>6} {'new':>6} {'rss MB':>7} {'fds':>4} {'thr':>4} "
                  f"{'db MB':>7} {'wal MB':>7}  note")
            for cycle in range(1, args.cycles + 1):
                if mounted and cycle == args.cycles * 2 // 3:
                    subprocess.run(["mount", "-o", "remount,size=512m", str(dbdir)], check=True)
                started = time.monotonic()
                note = ""
                try:
                    s = poll_cycle(cfg, all_feeds=True, stop=stop)
                    feeds, new = s.feeds, s.new_items
                except DatabaseFailure as e:
                    failures += 1
                    unexpected += not (mounted and e.full)
                    feeds = new = 0
                    note = str(e)[:60]
                seconds = time.monotonic() - started
                row = (cycle, seconds, feeds, new, rss_kb() / 1024, len(os.listdir("/proc/self/fd")),
                       threading.active_count(), size_mb(db), size_mb(Path(f"{db}-wal")))
                rows.append(row)
                print(f"{row[0]:>5} {row[1]:>6.2f} {row[2]:>6} {row[3]:>6} {row[4]:>7.1f} {row[5]:>4} {row[6]:>4} "
                      f"{row[7]:>7.1f} {row[8]:>7.1f}  {note}", flush=True)
                for f in heads:  # three quarters of the feeds publish; the rest answer 304
                    if (f + cycle) % 4:
                        heads[f] += args.new
                        server.documents[f"/f{f}.xml"] = (rss(f, heads[f], args.items), "application/rss+xml")
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(dbdir)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)

    base, last = rows[min(args.warmup, len(rows)) - 1], rows[-1]
    ok_rows = [r for r in rows if r[2]]
    print(f"\n{len(rows)} cycles, {failures} failed ({unexpected} unexpectedly); median cycle "
          f"{sorted(r[1] for r in ok_rows)[len(ok_rows) // 2]:.2f} s")
    print(f"after cycle {base[0]} -> {last[0]}: RSS {base[4]:.1f} -> {last[4]:.1f} MB, fds {base[5]} -> {last[5]}, "
          f"threads {base[6]} -> {last[6]}, db {base[7]:.1f} -> {last[7]:.1f} MB, wal max "
          f"{max(r[8] for r in rows):.1f} MB")
    leaked = last[5] > base[5] or last[6] > base[6]
    if leaked:
        print("LEAK: file descriptors or threads grew", file=sys.stderr)
    return 1 if leaked or unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
