"""Export of many items: CSV and JSON lines built by SQLite, written by a process per core. The bytes
must be those one process writes with Python's csv and json modules, whatever the items hold and
however the runs are cut; a part that fails must fail the export."""

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from worker.clock import utcnow
from worker.export import PARALLEL_MIN_ITEMS, export_items
from worker.records import FeedUpdate, ItemFilter, NewItem
from worker.store import Store

from conftest import newswatch

# Cells that test the CSV quoting and the formula guard: separators, quotes, line ends, formula starts.
HOSTILE = ["plain", "nul\x00inside", "a, comma", 'a "quote"', "line\nbreak", "cr\rhere", "crlf\r\nend", "=SUM(A1:A2)", "+1", "-1",
           "@cmd", "\tTab", "\rCR first", "=a, \"both\"", "", "Şam'da görüşme — “quotes”", "emoji 🇹🇷🇸🇾"]
FEEDS = ["https://a.example/feed", "https://b.example/=feed", "https://c.example/rss"]


def fill(db, n: int) -> None:
    """n items over three feeds, with hostile text, and many sharing one time (a cut falls among them)."""
    with Store(db) as store:
        store.sync_feeds((url, name, None) for url, name in zip(FEEDS, ["A, the feed", "=B", None], strict=True))
        feeds = store.due_feeds(all_feeds=True)
        for f, feed in enumerate(feeds):
            items = []
            for k in range(f, n, len(feeds)):
                text = HOSTILE[k % len(HOSTILE)]
                # a third of the items share a time with 500 others; the rest are a minute apart
                published = f"2024-12-{1 + k % 3:02d}T12:00:00Z" if k % 3 == 0 else \
                    f"2024-12-{1 + (k // 1440) % 28:02d}T{(k // 60) % 24:02d}:{k % 60:02d}:00Z"
                items.append(NewItem(dedup_key=f"k:{k}", guid=str(k), link=f"https://x.example/{k}?a=1,2",
                                     title=f"{text} {k}" if k % 5 else text, summary=HOSTILE[(k * 7) % len(HOSTILE)],
                                     published=published if k % 11 else None, lang=["en", "tr", "=x", ""][k % 4],
                                     content_hash=str(k), score=round((k % 1000) / 1000, 3), relevant=k % 4 == 0,
                                     matches=["turkey", 'say "hi", now'] if k % 4 == 0 else [],
                                     explanation=[{"rule": "r", "points": 0.5}] if k % 4 == 0 else []))
            store.record_poll(feed, FeedUpdate(status="ok", next_poll=utcnow() + timedelta(minutes=15),
                                               http_status=200), items)
        for item_id in (1, 2, 3):
            store.label(str(item_id), item_id % 2 == 0)


@pytest.fixture(scope="module")
def items_db(tmp_path_factory):
    """Enough items for runs cut among ties; the library tests cut them whatever their number."""
    db = tmp_path_factory.mktemp("export") / "items.db"
    fill(db, 3_000)
    return db


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    """Enough items for the CLI to cut an export into runs by itself."""
    db = tmp_path_factory.mktemp("export") / "big.db"
    fill(db, PARALLEL_MIN_ITEMS + 1_500)
    return db


def python_csv(store: Store, flt: ItemFilter) -> bytes:
    """What Python's csv module writes for the same rows, formula starts defused: the reference."""
    names, rows = store.query_rows(flt)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(names)
    text_columns = {"feed", "feed_url", "title", "summary", "link", "lang"}
    for row in rows:
        writer.writerow(["'" + v if n in text_columns and isinstance(v, str) and v[:1] in set("=+-@\t\r") else v
                         for n, v in zip(names, row, strict=True)])
    return out.getvalue().encode("utf-8")


def exported(db, flt: ItemFilter, fmt: str, workers: int, tmp_path) -> bytes:
    """The export into a real file (into a pipe, one process writes it), its parts spooled apart."""
    path, spool = tmp_path / f"out.{fmt}", tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    with path.open("wb") as out:
        n = export_items(db, flt, None, fmt, out, workers, spool_dir=spool, min_parallel=1)
    data = path.read_bytes()
    path.unlink()
    assert n == (data.count(b"\n") if fmt == "jsonl" else len(list(csv.reader(io.StringIO(data.decode())))) - 1)
    assert not list(spool.iterdir())  # the parts' files are gone
    return data


FILTERS = [ItemFilter(), ItemFilter(relevant=True), ItemFilter(since="2024-12-02", until="2024-12-03T12:00:00Z"),
           ItemFilter(feed="=B", lang="tr"), ItemFilter(until="2024-12-01T12:00:00Z")]


@pytest.mark.parametrize("flt", FILTERS, ids=["all", "relevant", "window", "feed+lang", "until-a-tie"])
def test_csv_and_json_lines_are_what_one_python_process_writes(items_db, flt, tmp_path):
    with Store(items_db, create=False) as store:  # closed before the export forks
        assert len(store.time_splits(flt, 3, 1)) == 2  # so three runs, two of them forked
        expected_csv = python_csv(store, flt)
        _, rows = store.query_rows(flt, as_json=True)
        expected_jsonl = "".join(line + "\n" for (line,) in rows).encode("utf-8")
        names, plain = store.query_rows(flt)
        objects = [dict(zip(names, row, strict=True)) | {
            "relevant": bool(row[10]), "label": None if row[11] is None else bool(row[11]),
            "matches": json.loads(row[15]), "explanation": json.loads(row[16])} for row in plain]
    for workers in (1, 3):  # 3: the newest run here, two in forked processes
        assert exported(items_db, flt, "csv", workers, tmp_path) == expected_csv
        assert exported(items_db, flt, "jsonl", workers, tmp_path) == expected_jsonl
    # and the JSON says what the columns hold: booleans, a label or null, the lists as lists
    assert [json.loads(line) for line in expected_jsonl.splitlines()] == objects


def test_a_small_export_cut_into_runs_keeps_every_tail(tmp_path):
    """Each run ends in a block smaller than a file buffer: a forked part must flush it."""
    db = tmp_path / "small.db"
    fill(db, 10)
    for fmt in ("csv", "jsonl"):
        one = exported(db, ItemFilter(), fmt, 1, tmp_path)
        assert exported(db, ItemFilter(), fmt, 3, tmp_path) == one and one.count(b"https://x.example/") == 10


def test_an_export_into_a_pipe_is_the_same(items_db, tmp_path):
    read_end, write_end = os.pipe()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_end, 1 << 16), b"")))
    reader.start()
    with os.fdopen(write_end, "wb") as out:
        n = export_items(items_db, ItemFilter(), None, "jsonl", out, 3, spool_dir=tmp_path, min_parallel=1)
    reader.join()
    os.close(read_end)
    assert b"".join(chunks) == exported(items_db, ItemFilter(), "jsonl", 1, tmp_path)
    assert n == 3_000


def test_an_export_appended_to_a_file_follows_what_it_held(items_db, tmp_path):
    """`export >> file`: the kernel's copy of a part refuses a file opened for appending, and the
    part is read and written instead."""
    whole = exported(items_db, ItemFilter(), "jsonl", 1, tmp_path)
    path = tmp_path / "appended.jsonl"
    path.write_bytes(b"kept\n")
    with path.open("ab") as out:
        assert export_items(items_db, ItemFilter(), None, "jsonl", out, 3, spool_dir=tmp_path, min_parallel=1) == 3_000
    assert path.read_bytes() == b"kept\n" + whole


def test_runs_cut_at_times_add_up_to_the_whole_export(items_db):
    with Store(items_db, create=False) as store:
        cuts = store.time_splits(ItemFilter(), 4, 1)
        assert len(cuts) == 3 and cuts == sorted(cuts, reverse=True)
        whole = [r[0] for r in store.query_rows(ItemFilter())[1]]
        runs = [dataclasses.replace(ItemFilter(), since=s, until=u)
                for s, u in zip([*cuts, None], [None, *cuts], strict=True)]
        pieces = [[r[0] for r in store.query_rows(run)[1]] for run in runs]
        assert [i for piece in pieces for i in piece] == whole  # in order, none twice, none lost: ties at a cut stay together
        assert all(pieces)  # uneven where hundreds of items share a time, but none empty
        assert store.time_splits(ItemFilter(), 4, len(whole) + 1) == []  # too few for processes


@pytest.mark.slow  # 21,500 items and five exports, four of them in their own process
def test_the_cli_export_matches_and_a_dead_part_fails_it(big_db, tmp_path):
    from worker.processes import default_workers
    if default_workers() < 2:
        pytest.skip("one core here: export forks no process")
    out = tmp_path / "month.jsonl"
    done = newswatch("--db", str(big_db), "export", "--format", "jsonl", "-o", str(out), process=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"exported {PARALLEL_MIN_ITEMS + 1_500} items to {out}"
    lines = out.read_bytes().splitlines()
    assert len(lines) == PARALLEL_MIN_ITEMS + 1_500 and len({json.loads(x)["id"] for x in lines}) == len(lines)
    for args in ([], ["-o", "/dev/stdout"]):  # `export > file`: standard output is a file, cut into runs too
        redirected = tmp_path / "redirected.jsonl"
        with redirected.open("wb") as f:
            subprocess.run([sys.executable, "-m", "worker", "--db", str(big_db), "export", "--format", "jsonl", *args],
                           stdout=f, check=True, cwd=tmp_path)
        assert redirected.read_bytes() == out.read_bytes()

    killed = newswatch("--db", str(big_db), "export", "-o", str(tmp_path / "month.csv"),
                       env={"NEWSWATCH_KILL_AT": "export.part:1"})
    assert killed.returncode == 1
    assert len(killed.stderr.strip().splitlines()) == 1, killed.stderr
    assert "a process writing part of it failed" in killed.stderr and "SIGKILL" in killed.stderr
