"""Benchmark: querying a database that holds the December 2022 corpus (62,127 items), end to end
(process start included): search, export of the month, stats.

    python tests/benchmarks/bench_query.py
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from worker.clock import utcnow
from worker.parse import canonical_url
from worker.records import FeedUpdate, NewItem
from worker.relevance.classify import classify
from worker.relevance.rules import load_rules
from worker.store import Store
from worker.text import strip_html

CORPUS = REPO.parent / "shared" / "corpus" / "news-2022-12.jsonl.gz"


def build(db: Path) -> int:
    ruleset = load_rules(REPO / "config" / "rules" / "turkey-syria.toml")
    by_feed: dict[str, list[dict]] = defaultdict(list)
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            by_feed[o["feed"]].append(o)
    n = 0
    with Store(db) as store:
        store.sync_feeds((url, None, None) for url in by_feed)
        for feed in store.due_feeds(all_feeds=True):
            items = []
            for o in by_feed[feed.url]:
                title, summary = strip_html(o["title"]) or "(untitled)", strip_html(o["summary"])[:2000]
                v = classify(ruleset, title, summary)
                published = (o["published"] or o["day"])[:19].replace(" ", "T") + "Z"
                link = canonical_url(o["link"])
                items.append(NewItem(dedup_key=f"link:{link}", guid=None, link=link, title=title, summary=summary,
                                     published=published, lang=(o["lang"] or "")[:2],
                                     content_hash=str(hash((title, summary))), score=v.score, relevant=v.relevant,
                                     matches=v.matches, explanation=v.explanation_dicts()))
            new, _ = store.record_poll(feed, FeedUpdate(status="ok", next_poll=utcnow() + timedelta(minutes=15), http_status=200), items)
            n += new
    return n


def timed(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "worker", *args], cwd=REPO, capture_output=True, text=True,
                         check=True)
    return time.perf_counter() - start, (out.stdout.strip().splitlines() or [""])[0][:90]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "corpus.db"
        start = time.perf_counter()
        n = build(db)
        print(f"database: {n:,} items from the December 2022 corpus, built in {time.perf_counter() - start:.1f} s, "
              f"{db.stat().st_size / 1e6:.0f} MB")
        runs = [
            ("search 'turkey syria'", ["--db", str(db), "search", "turkey syria"]),
            ("search damascus --relevant --format json", ["--db", str(db), "search", "damascus", "--relevant",
                                                          "--format", "json"]),
            ("search ukraine --since 2022-12-15 --lang en", ["--db", str(db), "search", "ukraine", "--since",
                                                             "2022-12-15", "--lang", "en"]),
            ("export the month, CSV", ["--db", str(db), "export", "--since", "2022-12-01", "--until", "2023-01-01",
                                       "-o", f"{tmp}/month.csv"]),
            ("export the month, JSON lines", ["--db", str(db), "export", "--since", "2022-12-01", "--until",
                                              "2023-01-01", "--format", "jsonl", "-o", f"{tmp}/month.jsonl"]),
            ("stats (all 31 days)", ["--db", str(db), "stats", "--days", "100000"]),
            ("health", ["--db", str(db), "health", "--max-age", "10000000"]),
        ]
        for name, args in runs:
            best = min(timed(*args)[0] for _ in range(3))
            print(f"  {name:45} {best:.2f} s (best of 3, process start included)")
        rows = Path(f"{tmp}/month.jsonl").read_text(encoding="utf-8").count("\n")
        print(f"  (the month export holds {rows:,} rows)")


if __name__ == "__main__":
    main()
