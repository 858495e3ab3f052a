"""Benchmark: items per second through `newswatch classify --jsonl`, end to end (process start, JSON in
and out), with its default of one worker process per core and with --workers 1, on two streams: the real December 2022 corpus (2% of items name Turkey or Syria), and a
worst case where most items do (the labeled dev set repeated to ~60k items, all matched in full).
Each with a reference measured in the same run: a process that only reads, parses and writes the same
JSON lines (the floor any classifier pays).

    python tests/benchmarks/bench_classify.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from worker.relevance.evaluate import read_labeled

CORPUS = REPO.parent / "shared" / "corpus" / "news-2022-12.jsonl.gz"
REFERENCE = (
    "import json, sys\n"
    "out = sys.stdout\n"
    "for line in sys.stdin:\n"
    "    o = json.loads(line)\n"
    "    out.write(json.dumps({'id': o.get('id'), 'relevant': False, 'score': 0.0, 'matches': []}) + '\\n')\n"
)


def timed(cmd: list[str], data: Path) -> float:
    with open(data, "rb") as f:
        start = time.perf_counter()
        subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, check=True, cwd=REPO)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # The dev set with every item's text: its real items are read from the corpus by link hash.
    dev = "".join(json.dumps({"id": i["id"], "title": i["title"], "summary": i["summary"]}, ensure_ascii=False) + "\n"
                  for i in read_labeled(REPO / "tests" / "data" / "labeled-dev.jsonl")).encode()
    streams = {"real news, December 2022": gzip.decompress(CORPUS.read_bytes()),
               "topical worst case, labeled dev set x130": dev * 130}
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in streams.items():
            data = Path(tmp) / "items.jsonl"
            data.write_bytes(body)
            n = body.count(b"\n")
            command = [sys.executable, "-m", "worker", "classify", "--jsonl", "-"]
            classify = min(timed(command, data) for _ in range(args.repeat))
            single = min(timed(command + ["--workers", "1"], data) for _ in range(args.repeat))
            reference = min(timed([sys.executable, "-c", REFERENCE], data) for _ in range(args.repeat))
            print(f"{name}: {n:,} items (best of {args.repeat})")
            print(f"  newswatch classify --jsonl: {classify:.2f} s = {n / classify:,.0f} items/s")
            print(f"  ... --workers 1:            {single:.2f} s = {n / single:,.0f} items/s")
            print(f"  reference (JSON in/out only, one process): {reference:.2f} s = {n / reference:,.0f} items/s")
            print(f"  classify / reference time: {classify / reference:.2f}x ({single / reference:.2f}x with one worker)")


if __name__ == "__main__":
    main()
