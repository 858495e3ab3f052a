"""Benchmark: full `newswatch poll` cycles against feed servers on 127.0.0.x, with a bare reference
measured in the same run (16 threads + requests + feedparser.parse on the same URLs; no classify,
no store).

    python tests/benchmarks/bench_poll.py synthetic            # 1,000 feeds x 50 items, 50 ms latency: on one host
                                                               # (per-host cap = concurrency), then on 16 hosts
    python tests/benchmarks/bench_poll.py synthetic --hosts 1  # only one of them
    python tests/benchmarks/bench_poll.py replay               # the December 2022 corpus as its ~250 feeds, by day

Reports, for the reference and each newswatch cycle: wall time and CPU-seconds (user + system, of the
process and its worker processes), and for newswatch the peak RSS of the main process and of its
largest worker. Cycles: the first, the unchanged second (poll --all: every feed asked, 304s) with its
latency floor (feeds x latency / concurrency) and a bare reference of it (requests alone, as a whole
process), the same cycle inside a running daemon, and a plain second `poll` (nothing due yet).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Processes run as on a user's machine: Python caches the bytecode of newswatch's modules on the first
# run (an environment that sets PYTHONDONTWRITEBYTECODE, as this one does, would compile them all
# at every start, while the references import only installed, compiled packages).
AS_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CORPUS = REPO.parent / "shared" / "corpus" / "news-2022-12.jsonl.gz"
ALL_HOSTS = [f"127.0.0.{n}" for n in range(1, 17)]  # distinct hosts (--hosts 16), so the per-host cap is not the limit
HOSTS = ALL_HOSTS

REFERENCE = r"""
import json, sys, time, requests, feedparser
from concurrent.futures import ThreadPoolExecutor
urls = open(sys.argv[1]).read().split()
session = requests.Session()
session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=16))
etags = {}
def one(url):
    resp = session.get(url, timeout=20)
    etags[url] = resp.headers.get("ETag")
    return len(feedparser.parse(resp.content).entries)
start = time.perf_counter()
with ThreadPoolExecutor(16) as pool:
    items = sum(pool.map(one, urls))
print(time.perf_counter() - start, items)
json.dump(etags, open(sys.argv[2], "w"))
"""

# The bare reference of an unchanged cycle, as a whole process (start included, as `poll --all` is
# measured): the same conditional GETs, nothing else.
REFERENCE_UNCHANGED = r"""
import json, sys, requests
from concurrent.futures import ThreadPoolExecutor
etags = json.load(open(sys.argv[1]))
session = requests.Session()
session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=16))
def one(url):
    return session.get(url, headers={"If-None-Match": etags[url]}, timeout=20).status_code
with ThreadPoolExecutor(16) as pool:
    print(sum(code == 304 for code in pool.map(one, etags)))
"""

# The daemon's view of an unchanged cycle: one long-lived process, so no start-up, and rules already
# compiled by an earlier cycle. Every feed is asked (as poll --all), since none is due yet.
DAEMON_CYCLE = r"""
import resource, sys, time
from worker.config import load_config
from worker.poll import FeedParser, poll_cycle
def cpu():  # this process, and the worker processes it has ended
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
cfg = load_config(sys.argv[1])
parser = FeedParser(processes=True)  # the daemon's, started with it and kept
poll_cycle(cfg, all_feeds=True, parser=parser)  # an earlier cycle of the same daemon
start, cpu_start = time.perf_counter(), cpu()
summary = poll_cycle(cfg, all_feeds=True, parser=parser)
wall = time.perf_counter() - start
parser.close()  # its workers' CPU counts once they have ended
print(summary.line())
print(wall, cpu() - cpu_start)
"""


def rss(title: str, items: list[dict]) -> bytes:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{html.escape(title)}</title>',
             "<link>https://example.org/</link><description>bench</description>"]
    for it in items:
        parts.append(f"<item><title>{html.escape(it['title'])}</title><link>{html.escape(it['link'])}</link>"
                     f"<guid>{html.escape(it['link'])}</guid><pubDate>{it.get('pubDate', '')}</pubDate>"
                     f"<description>{html.escape(it['summary'])}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(documents: dict, latency: float, sent, ready, day) -> None:
    """Server process: one ThreadingHTTPServer per host; `documents[day][path]` is the current body."""
    import threading

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(latency)
            body = documents[day.value].get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with sent.get_lock():
                sent.value += len(body)

        def log_message(self, *args):
            pass

    servers = []
    for host in HOSTS:
        s = ThreadingHTTPServer((host, PORT), Handler)
        s.daemon_threads = True
        s.request_queue_size = 256
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
    ready.set()
    while True:
        time.sleep(3600)


PORT = 18480


def _hwm_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])


def peak_rss_mb(pid: int, done: threading.Event, result: list) -> None:
    """The process's own VmHWM and the largest of its children's, read until it exits. (ru_maxrss of a
    child is no good here: Linux carries the parent's high-water mark across fork and exec, and this
    parent holds the corpus.)"""
    peak = child_peak = 0
    while not done.is_set():
        try:
            peak = max(peak, _hwm_kb(pid))
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            child_peak = max([child_peak, *(_hwm_kb(int(c)) for c in children)])
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    result.extend([peak // 1024, child_peak // 1024])


def run_timed(argv: list[str]) -> tuple[float, float, str, list[int]]:
    """(wall seconds, CPU-seconds with its reaped worker processes, standard output, [peak RSS MB of the
    process, of its largest child]) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=AS_INSTALLED)
    done, peak = threading.Event(), []
    watcher = threading.Thread(target=peak_rss_mb, args=(proc.pid, done, peak))
    watcher.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # its rusage includes the children it waited for
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    watcher.join()
    return elapsed, usage.ru_utime + usage.ru_stime, out.strip(), peak


def run_newswatch(cfg: Path, *args: str) -> tuple[float, float, list[int], str]:
    """(seconds, CPU-seconds, [peak RSS MB of newswatch, of its largest worker], summary line)."""
    elapsed, cpu, out, peak = run_timed([sys.executable, "-m", "worker", "--config", str(cfg), *args])
    return elapsed, cpu, peak, out


def run_reference(urls: list[str], tmp: Path) -> tuple[float, float]:
    """(seconds of its fetch-and-parse, CPU-seconds of the whole process)."""
    (tmp / "urls.txt").write_text("\n".join(urls))
    _, cpu, out, _ = run_timed([sys.executable, "-c", REFERENCE, str(tmp / "urls.txt"), str(tmp / "etags.json")])
    return float(out.split()[0]), cpu


def run_reference_unchanged(tmp: Path) -> tuple[float, float, str]:
    """(seconds, CPU-seconds, how many answered 304) of the bare unchanged cycle, process start included."""
    wall, cpu, out, _ = run_timed([sys.executable, "-c", REFERENCE_UNCHANGED, str(tmp / "etags.json")])
    return wall, cpu, out


def write_config(tmp: Path, urls: list[str], concurrency: int = 16, per_host: int = 4) -> Path:
    outlines = "".join(f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls))
    (tmp / "feeds.opml").write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
    cfg = tmp / "bench.toml"
    cfg.write_text(f'[database]\npath = "{tmp}/bench.db"\n[feeds]\nopml = "{tmp}/feeds.opml"\n'
                   f'[classifier]\nrules = "{REPO}/config/rules/turkey-syria.toml"\n'
                   f'[poll]\nconcurrency = {concurrency}\nper_host = {per_host}\n')
    return cfg


def corpus_lines() -> list[dict]:
    if not CORPUS.exists():
        return []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def synthetic_documents(feeds: int, per_feed: int) -> tuple[dict, list[str]]:
    corpus = corpus_lines()
    docs, urls = {}, []
    for f in range(feeds):
        items = []
        for i in range(per_feed):
            src = corpus[(f * per_feed + i) % len(corpus)] if corpus else {}
            items.append({"title": src.get("title") or f"Headline {f}-{i}",
                          "summary": (src.get("summary") or "Lorem ipsum " * 30)[:600],
                          "link": f"https://site{f}.example.org/a/{i}", "pubDate": "Wed, 28 Dec 2022 17:10:00 +0000"})
        path = f"/feed/{f}.xml"
        docs[path] = rss(f"feed {f}", items)
        urls.append(f"http://{HOSTS[f % len(HOSTS)]}:{PORT}{path}")
    return {0: docs}, urls


def replay_documents() -> tuple[dict, list[str], list[str]]:
    by_day_feed: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for o in corpus_lines():
        by_day_feed[o["day"]][o["feed"]].append({"title": o["title"] or "", "summary": o["summary"] or "",
                                                 "link": o["link"] or ""})
    feeds = sorted({f for d in by_day_feed.values() for f in d})
    paths = {f: f"/replay/{n}.xml" for n, f in enumerate(feeds)}
    days = sorted(by_day_feed)
    docs = {n: {paths[f]: rss(f, by_day_feed[d].get(f, [])) for f in feeds} for n, d in enumerate(days)}
    urls = [f"http://{HOSTS[n % len(HOSTS)]}:{PORT}{paths[f]}" for n, f in enumerate(feeds)]
    return docs, urls, days


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["synthetic", "replay"])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=3, help="replay: how many days to replay")
    parser.add_argument("--concurrency", type=int, default=16, help="[poll] concurrency for newswatch")
    parser.add_argument("--hosts", type=int, choices=range(1, 17), metavar="1-16",
                        help="loopback hosts serving the feeds (default: synthetic runs 1, then 16; replay 16); "
                             "with 1, [poll] per_host = concurrency")
    args = parser.parse_args()
    for hosts in [args.hosts] if args.hosts else ([1, 16] if args.mode == "synthetic" else [16]):
        run_case(args, hosts)


def run_case(args: argparse.Namespace, hosts: int) -> None:
    """Every cycle of one mode, with the feeds served from `hosts` loopback addresses."""
    global HOSTS
    HOSTS = ALL_HOSTS[:hosts]  # the server process forks with it; the documents' URLs use it
    per_host = args.concurrency if hosts == 1 else 4
    if args.mode == "synthetic":
        docs, urls = synthetic_documents(args.feeds, args.items)
        days = ["synthetic"]
    else:
        docs, urls, days = replay_documents()
        days = days[:args.days]
    sent = mp.Value("q", 0)
    day = mp.Value("i", 0)
    ready = mp.Event()
    server = mp.Process(target=serve, args=(docs, args.latency, sent, ready, day), daemon=True)
    server.start()
    ready.wait(30)
    try:
        with tempfile.TemporaryDirectory() as t:
            tmp = Path(t)
            cfg = write_config(tmp, urls, args.concurrency, per_host)
            reference, ref_cpu = run_reference(urls, tmp)
            sent.value = 0
            print(f"{args.mode}: {len(urls)} feeds on {len(HOSTS)} loopback host(s), {args.latency * 1000:.0f} ms latency, "
                  f"newswatch [poll] concurrency {args.concurrency}, per_host {per_host}; {os.cpu_count()} cores")
            print(f"  reference (16 threads + requests + feedparser.parse, no classify/store): {reference:.2f} s "
                  f"= {len(urls) / reference:.0f} feeds/s, {ref_cpu:.2f} CPU-s")
            first, cpu1, rss, line = run_newswatch(cfg, "poll", "--all")
            print(f"  first cycle: {first:.2f} s = {len(urls) / first:.0f} feeds/s, {cpu1:.2f} CPU-s, "
                  f"{sent.value / 1e6:.1f} MB sent, peak RSS {rss[0]} MB (largest worker {rss[1]} MB); "
                  f"{first / reference:.2f}x the reference; [{line}]")
            sent.value = 0
            second, cpu2, rss2, line = run_newswatch(cfg, "poll", "--all")
            floor = len(urls) * args.latency / args.concurrency
            print(f"  unchanged second cycle (poll --all, conditional GET): {second:.2f} s = "
                  f"{second / floor:.2f}x the latency floor of {floor:.2f} s; {cpu2:.2f} CPU-s = "
                  f"{cpu1 / cpu2:.1f}x fewer than the first; {sent.value / 1e6:.2f} MB sent, peak RSS {rss2[0]} MB; [{line}]")
            bare, bare_cpu, not_modified = run_reference_unchanged(tmp)
            print(f"  bare unchanged cycle (requests, 16 threads, conditional GET; process start included): {bare:.2f} s "
                  f"= {bare / floor:.2f}x the latency floor, {bare_cpu:.2f} CPU-s, {not_modified} answered 304; "
                  f"newswatch's is {second / bare:.2f}x it")
            _, _, out, _ = run_timed([sys.executable, "-c", DAEMON_CYCLE, str(cfg)])
            wall, cpu = (float(x) for x in out.split()[-2:])
            print(f"  the same unchanged cycle inside a running daemon (no process start): {wall:.2f} s = "
                  f"{wall / floor:.2f}x the latency floor; {cpu:.2f} CPU-s = {cpu1 / cpu:.1f}x fewer than the first; "
                  f"[{out.splitlines()[0]}]")
            third, cpu3, _, line = run_newswatch(cfg, "poll")
            print(f"  plain second poll (feeds not due yet): {third:.2f} s, {cpu3:.2f} CPU-s; [{line}]")
            for n in range(1, len(days)):
                day.value = n
                sent.value = 0
                t_day, cpu_d, rss_d, line = run_newswatch(cfg, "poll", "--all")
                print(f"  day {days[n]}: {t_day:.2f} s, {cpu_d:.2f} CPU-s, {sent.value / 1e6:.1f} MB sent, "
                      f"peak RSS {rss_d[0]} MB; [{line}]")
    finally:
        server.kill()



if __name__ == "__main__":
    main()
