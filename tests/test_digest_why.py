"""The digest says why an item is there in plain words; rule names stay where rules are tuned."""

from __future__ import annotations

import json
import sqlite3

import pytest

from worker.relevance.rules import RulesError, load_rules, plain_words

from conftest import RELEVANT_ITEMS, RULES, newswatch, rss, write_config


def test_the_why_line_is_plain_words_and_the_rule_names_stay_in_the_explanation(tmp_path, feed_server):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS[:1]), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"])
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    digest = newswatch("--config", str(cfg), "digest", "--dry-run").stdout
    why = next(line for line in digest.splitlines() if line.strip().startswith("why:"))
    assert "title:" not in why and "(+" not in why and " · " in why, why
    with sqlite3.connect(tmp_path / "db" / "newswatch.db") as db:
        explanation = json.loads(db.execute("SELECT explanation FROM items").fetchone()[0])
    assert any(h["rule"].startswith("title:") for h in explanation)
    html = newswatch("--config", str(cfg), "digest", "--dry-run", "--format", "html").stdout
    assert why.strip() in html.replace("&#x27;", "'")
    out = newswatch("classify", RELEVANT_ITEMS[0]["title"])
    assert "title:turkey+syria" in out.stdout


def test_every_rule_that_adds_points_has_plain_words():
    rules = load_rules(RULES, overlay=False)
    words = plain_words(rules)
    assert {r.name for r in rules.rules if r.weight > 0} <= set(words)


def test_why_must_be_a_string(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('threshold = 1\n[concepts.a]\nterms = ["x"]\n[[rules]]\nname = "a"\nall = ["a"]\nweight = 1\nwhy = 3\n')
    with pytest.raises(RulesError, match="why: must be a string"):
        load_rules(bad)
