"""Benchmark: querying a database that holds the December 2022 corpus (62,127 items), end to end
(process start included): search, export of the month, stats.

Each export is also set against a reference run in the same invocation: a bare Python script (start,
sqlite3, the same SELECT, one process) writing the same rows with the csv module, or SQLite's
json_object lines, as a one-file exporter would.

    python tests/benchmarks/bench_query.py
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Processes run as on a user's machine: Python caches the bytecode of newswatch's modules on the first
# run (an environment that sets PYTHONDONTWRITEBYTECODE, as this one does, would compile them all
# at every start, while the references import only installed, compiled packages).
AS_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
sys.path.insert(0, str(REPO))

from worker.clock import utcnow
from worker.item_columns import ITEM_COLUMNS, json_object_sql
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


# The bare reference: one process, the same query, csv.writer or SQLite's JSON lines.
REFERENCE = """
import csv, sqlite3, sys
db, fmt, columns, out_path = sys.argv[1:5]
conn = sqlite3.connect(db)
rows = conn.execute(f"SELECT {columns} FROM items i JOIN feeds f ON f.id = i.feed_id "
                    "LEFT JOIN labels l ON l.item_id = i.id WHERE COALESCE(i.published_at, i.fetched_at) >= ? "
                    "AND COALESCE(i.published_at, i.fetched_at) < ? "
                    "ORDER BY COALESCE(i.published_at, i.fetched_at) DESC, i.id DESC", ("2022-12-01", "2023-01-01"))
with open(out_path, "w", encoding="utf-8", newline="") as out:
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow([d[0] for d in rows.description])
        writer.writerows(rows)
    else:
        for (line,) in rows:
            out.write(line + "\\n")
"""


def reference(db: Path, fmt: str, out: str) -> float:
    columns = (json_object_sql() if fmt == "jsonl" else
               ", ".join(f"{expr} AS {name}" for name, expr in ITEM_COLUMNS))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", REFERENCE, str(db), fmt, columns, out], check=True, env=AS_INSTALLED)
    return time.perf_counter() - start


def timed(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "worker", *args], cwd=REPO, capture_output=True, text=True, env=AS_INSTALLED,
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
        for fmt in ("csv", "jsonl"):
            args = ["--db", str(db), "export", "--since", "2022-12-01", "--until", "2023-01-01", "--format", fmt,
                    "-o", f"{tmp}/month.{fmt}"]
            ours, ref = [], []
            for _ in range(5):  # interleaved, so that both see the same state of the machine
                ours.append(timed(*args)[0])
                ref.append(reference(db, fmt, f"{tmp}/reference.{fmt}"))
            print(f"  export the month, {fmt:5}: newswatch {min(ours):.2f} s, bare one-process reference "
                  f"{min(ref):.2f} s: {min(ours) / min(ref):.2f}x (best of 5 each)")
        rows = Path(f"{tmp}/month.jsonl").read_text(encoding="utf-8").count("\n")
        print(f"  (the month export holds {rows:,} rows)")


if __name__ == "__main__":
    main()
