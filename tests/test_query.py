"""Querying the store: search, export, stats, label + rules eval --from-db, health, prune."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import REPO, newswatch, rss, write_config

ITEMS = [
    {"title": "Turkey and Syria agree to normalize ties in Moscow talks", "link": "https://a.example/1", "guid": "1",
     "pubDate": "Wed, 28 Dec 2022 17:00:00 +0000", "description": "Ankara and Damascus met for the first time."},
    {"title": "Fidan visits Damascus, meets al-Sharaa on trade", "link": "https://a.example/2", "guid": "2",
     "pubDate": "Sun, 22 Dec 2024 12:00:00 +0000", "description": "Turkey and the new Syrian government."},
    {"title": "Football: derby in Istanbul ends in a draw", "link": "https://a.example/3", "guid": "3",
     "pubDate": "Sun, 22 Dec 2024 13:00:00 +0000", "description": "Sports news from Turkey."},
    {"title": "Türkiye ile Suriye arasında normalleşme görüşmesi", "link": "https://a.example/4", "guid": "4",
     "pubDate": "Mon, 23 Dec 2024 09:00:00 +0000", "description": "Ankara ve Şam heyetleri bir araya geldi."},
]


@pytest.fixture
def polled(tmp_path, feed_server):
    feed_server.documents["/a"] = (rss(ITEMS, title="A"), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/a"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    return cfg


def run(cfg, *args):
    out = newswatch("--config", str(cfg), *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_search_filters_and_formats(polled):
    rows = json.loads(run(polled, "search", "damascus OR normalleşme", "--format", "json"))
    assert {r["link"] for r in rows} == {"https://a.example/1", "https://a.example/2", "https://a.example/4"}
    assert rows[0]["relevant"] is True and isinstance(rows[0]["explanation"], list)
    assert [r["link"] for r in json.loads(run(polled, "search", "damascus", "--since", "2024-01-01",
                                              "--format", "json"))] == ["https://a.example/2"]
    assert [r["link"] for r in json.loads(run(polled, "search", "ankara OR turkey", "--lang", "tr",
                                              "--format", "json"))] == ["https://a.example/4"]
    assert [r["link"] for r in json.loads(run(polled, "search", "turkey", "--irrelevant",
                                              "--format", "json"))] == ["https://a.example/3"]
    table = run(polled, "search", "Fidan")
    assert "Fidan visits Damascus" in table and "*" in table
    rows = list(csv.DictReader(io.StringIO(run(polled, "search", "turkey", "--format", "csv"))))
    assert rows and {"id", "published_at", "feed", "title", "link", "score", "relevant"} <= set(rows[0])
    assert run(polled, "search", '"unbalanced') == ""  # bad FTS syntax: searched as words, no crash


def test_export_csv_json_jsonl(polled, tmp_path):
    out = tmp_path / "items.csv"
    assert newswatch("--config", str(polled), "export", "-o", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 4 and rows[0]["published_at"] >= rows[-1]["published_at"]  # newest first
    jsonl = [json.loads(x) for x in run(polled, "export", "--format", "jsonl", "--relevant").splitlines()]
    assert len(jsonl) == 3 and all(r["relevant"] for r in jsonl)
    month = json.loads(run(polled, "export", "--format", "json", "--since", "2024-12-01", "--until", "2025-01-01"))
    assert {r["link"] for r in month} == {"https://a.example/2", "https://a.example/3", "https://a.example/4"}
    bad = newswatch("--config", str(polled), "export", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since: not a date: 'last tuesday'" in bad.stderr


def test_stats(polled):
    data = json.loads(run(polled, "stats", "--days", "100000", "--format", "json"))
    assert data["totals"]["items"] == 4 and data["totals"]["relevant"] == 3
    assert {d["day"]: d["items"] for d in data["per_day"]} == {"2022-12-28": 1, "2024-12-22": 2, "2024-12-23": 1}
    assert data["per_feed"][0]["items"] == 4 and data["per_feed"][0]["last_status"] == "ok"
    assert "all stored: 4 items, 3 relevant" in run(polled, "stats")
    # The window is by publication date (2022-24 here): the table says so instead of looking empty.
    table = run(polled, "stats", "--days", "7")
    assert "per day, last 7 days by publication date" in table and "  none\n" in table


def test_stats_counts_a_feeds_errors_in_words(polled, tmp_path):
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    for count, words in ((1, "error, 1 error "), (2, "error, 2 errors ")):
        db.execute("UPDATE feeds SET last_status = 'error', error_count = ?", (count,))
        db.commit()
        assert words in run(polled, "stats", "--days", "100000")


def test_label_and_rules_eval_from_db(polled, tmp_path):
    out = run(polled, "label", "https://a.example/3", "relevant", "--note", "sport, but say it counts")
    assert out.startswith("labeled item 3 relevant (disagrees with the rules)")
    assert run(polled, "label", "1", "relevant").startswith("labeled item 1 relevant (agrees")
    report = run(polled, "rules", "eval", "--from-db")
    assert report.startswith("precision 1.000  recall 0.500  F1 0.667  (n 2: tp 1, fp 0, fn 1, tn 0)")
    missing = newswatch("--config", str(polled), "label", "999", "relevant")
    assert missing.returncode == 1 and "no item '999'" in missing.stderr


def test_health_ok_then_stale(polled, tmp_path):
    ok = newswatch("--config", str(polled), "health")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: last poll 0 min ago")
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    db.execute("UPDATE feeds SET last_polled_at = '2020-01-01T00:00:00Z'")
    db.commit()
    stale = newswatch("--config", str(polled), "health")
    assert stale.returncode == 1 and "stale: last poll" in stale.stderr


def test_prune_keeps_relevant_items(polled, tmp_path):
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    db.execute("UPDATE items SET fetched_at = '2020-01-01T00:00:00Z'")
    db.commit()
    assert run(polled, "prune", "--days", "30").startswith("pruned 1 irrelevant item older than 30 days")
    assert [r[0] for r in db.execute("SELECT link FROM items ORDER BY id")] == [
        "https://a.example/1", "https://a.example/2", "https://a.example/4"]
    assert json.loads(run(polled, "search", "football", "--format", "json")) == []  # gone from the index too


def test_csv_cells_are_not_formulas(tmp_path, feed_server):
    # A spreadsheet runs a cell starting with = + - @ tab or CR; feeds choose titles and their own name.
    items = [{"title": '=HYPERLINK("http://x","y")', "link": "https://b.example/1", "guid": "1",
              "pubDate": "Wed, 28 Dec 2022 17:00:00 +0000", "description": "@SUM(1+1)"},
             {"title": "-2 dead", "link": "https://b.example/2", "guid": "2",
              "pubDate": "Tue, 27 Dec 2022 17:00:00 +0000", "description": "Plain text."}]
    feed_server.documents["/b"] = (rss(items), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/b"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    with sqlite3.connect(tmp_path / "db" / "newswatch.db") as db:  # the feed's name, as a feed could give it
        db.execute("UPDATE feeds SET title = '+Feed', list_title = NULL")
    db.close()
    out = tmp_path / "items.csv"
    assert newswatch("--config", str(cfg), "export", "-o", str(out)).returncode == 0
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["title"] for r in rows] == ['\'=HYPERLINK("http://x","y")', "'-2 dead"]
    assert rows[0]["summary"] == "'@SUM(1+1)" and rows[1]["summary"] == "Plain text."
    assert {r["feed"] for r in rows} == {"'+Feed"}
    # what we generate stays as it is: ids, dates, numbers, links, JSON
    assert rows[0]["id"].isdigit() and rows[0]["published_at"] == "2022-12-28T17:00:00Z"
    assert float(rows[0]["score"]) >= 0 and rows[0]["link"] == "https://b.example/1"
    assert rows[0]["matches"].startswith("[")
    searched = list(csv.DictReader(io.StringIO(run(cfg, "search", "dead", "--format", "csv"))))
    assert [r["title"] for r in searched] == ["'-2 dead"]
    # JSON and JSON lines keep the text exactly
    assert [r["title"] for r in json.loads(run(cfg, "export", "--format", "json"))] == [
        '=HYPERLINK("http://x","y")', "-2 dead"]
    assert [json.loads(x)["feed"] for x in run(cfg, "export", "--format", "jsonl").splitlines()] == ["+Feed"] * 2


def test_data_formats_are_utf8_whatever_the_terminal(polled):
    latin1 = {"PYTHONIOENCODING": "latin-1"}
    for args in (["export", "--format", "jsonl"], ["search", "suriye", "--format", "json"],
                 ["export", "--format", "csv"], ["stats", "--format", "json"]):
        out = subprocess.run([sys.executable, "-m", "worker", "--config", str(polled), *args], cwd=REPO, check=False,
                             capture_output=True, timeout=60, env={**os.environ, **latin1})
        assert out.returncode == 0, out.stderr
        text = out.stdout.decode("utf-8")  # not Latin-1, not \u escapes
        if args[0] != "stats":
            assert "Türkiye ile Suriye" in text and "Şam" in text, args
    table = subprocess.run([sys.executable, "-m", "worker", "--config", str(polled), "search", "suriye"], cwd=REPO,
                           check=False, capture_output=True, timeout=60, env={**os.environ, **latin1})
    assert table.returncode == 0 and "T\xfcrkiye".encode("latin-1") in table.stdout  # the table is for reading
