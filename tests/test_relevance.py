"""Quality floors of the shipped rules, on labeled data (tests/data/LABELING.md) and on real news."""

import gzip
import json

import pytest

from worker.relevance.classify import classify
from worker.relevance.evaluate import evaluate, read_labeled
from worker.relevance.rules import load_rules

from conftest import REPO, RULES, newswatch
from real_news import CORPUS, needs_corpus

DATA = REPO / "tests" / "data"
RULESET = load_rules(RULES)


@needs_corpus  # 79 of its items are real December 2022 news, read from the corpus
def test_dev_set_floors():
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-dev.jsonl"))
    assert ev.overall.f1 >= 0.95 and ev.overall.precision >= 0.95 and ev.overall.recall >= 0.95
    for lang, scores in ev.groups["lang"].items():
        assert scores.f1 >= 0.93, (lang, scores.line())
    for era, scores in ev.groups["era"].items():
        assert scores.f1 >= 0.93, (era, scores.line())


def test_training_set_floor():
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-train.jsonl"))
    assert ev.overall.f1 >= 0.93 and ev.overall.precision >= 0.96, ev.overall.line()


def test_second_training_set_floor():
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-train2.jsonl"))
    assert ev.overall.f1 >= 0.96 and ev.overall.recall >= 0.96, ev.overall.line()


def test_2023_feed_items_floors():
    # 2023 news as the corpus's English and Polish feeds carried it, mostly hard negatives (the
    # earthquake, strikes, other states' thaws, refugee politics). F1 0.954 at first sight, then tuned on.
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-feeds23.jsonl"))
    assert ev.overall.f1 >= 0.97 and ev.overall.precision >= 0.96 and ev.overall.recall >= 0.96, ev.overall.line()
    assert ev.groups["lang"]["pl"].f1 >= 0.95, ev.groups["lang"]["pl"].line()


@pytest.mark.parametrize(("title", "relevant"), [
    # February 2023: feeds with an empty summary carried quake headlines that never say "earthquake".
    ("Turkey, Syria rescue teams race against time as survivors pulled from collapsed buildings", False),
    ("Biden calls Erdogan, offers help to Turkey and Syria", False),
    ("UK sends emergency teams to Turkey and Syria", False),
    ("Families in Turkey and Syria search for loved ones in freezing cold", False),
    ("Aid trickles into Syria as Turkey toll tops 30,000", False),
    ("Zbiórka dla Turcji i Syrii. Jak pomóc?", False),
    ("Türkiye ve Suriye'de arama kurtarma çalışmaları sürüyor", False),
    ("Turkey and Syria hold first talks in Moscow", True),
    ("Turkey says Syria talks collapsed", True),
    ("Turcja i Syria: pierwsze rozmowy ministrów w Moskwie", True),
])
def test_headline_only_items(title, relevant):
    assert classify(RULESET, title, "").relevant is relevant


@pytest.mark.parametrize(("title", "summary", "relevant"), [
    # A third state with Turkey and Syria: Syria as a topic is not the story (5.5 and 4 before the
    # third-party rule), the Syrian side as a party is.
    ("Fidan and Rubio meet in Washington, Syria on the agenda",
     "Turkey's foreign minister and the US secretary of state held talks on Syria and bilateral relations.", False),
    ("Turkish and Israeli officials hold talks on Syria in Baku",
     "The talks between Turkey and Israel aimed at a deconfliction mechanism in Syria.", False),
    ("Fidan and Shaibani condemn Israeli strikes on Damascus", "The Turkish and Syrian foreign ministers met in Ankara.",
     True),
    ("Washington warns Ankara against Syria rapprochement", "", True),  # a third state on the thaw itself
    # Turkish news leaves the Turkish side implied: a bank, the ministry's sources, "with Damascus".
    ("Ziraat Bankası Şam'da şube açtı", "", True),
    ("Dışişleri kaynakları: Şam ile teknik temaslar sürüyor", "", True),
    # ... but another state's dealings "with Syria", or another state's minister, are not Turkey's.
    ("Lübnan, Suriye ile sınır anlaşması imzaladı",
     "Lübnan ve Suriye, iki ülke arasındaki kara sınırının belirlenmesi için bir anlaşma imzaladı.", False),
    ("Suriye Sağlık Bakanı hastaneleri ziyaret etti", "", False),
    # "Since Assad's fall" is a date, not the Syrian state; "after Assad signals" is the state.
    ("Esad'ın düşüşünden bu yana 600 bin Suriyeli döndü", "", False),
    ("Turkey hopeful of talks after Assad signals openness to Erdogan meeting", "", True),
    # Common words: Palmyra is also "destroys" in Arabic, Pegasus also the spyware.
    ("طائرات تركية تدمر مواقع لقسد شمال سوريا", "", False),
    ("Pegasus spyware targeted Syrian diplomats, researchers say", "", False),
])
def test_who_is_a_party(title, summary, relevant):
    assert classify(RULESET, title, summary).relevant is relevant


def test_third_holdout_floor():
    # Written without sight of the rules or the other sets, not tuned on (its aggregate was watched
    # while tuning on the other sets at 74b0eda; 19 of its items are near-copies of train2 items).
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-holdout3.jsonl"))
    assert ev.overall.f1 >= 0.92 and ev.overall.precision >= 0.91, ev.overall.line()


def test_mixed_tuning_half_floor():
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-mixtune.jsonl"))
    assert ev.overall.f1 >= 0.97, ev.overall.line()


def test_turkish_arabic_2024_26_floor():
    ev = evaluate(RULESET, read_labeled(DATA / "labeled-artr.jsonl"))
    assert ev.overall.f1 >= 0.94, ev.overall.line()


@pytest.mark.parametrize("name", ["labeled-trnews.jsonl", "labeled-arnews.jsonl"])
def test_turkish_and_arabic_feed_style_floors(name):
    # Tuned on since 1a5b1f9 (0.927 and 0.939 at first sight, 0.976 and 0.955 at 446f0d6): floors
    # under both, so that a rules edit that loses Turkish or Arabic news fails.
    ev = evaluate(RULESET, read_labeled(DATA / name))
    assert ev.overall.f1 >= 0.94, ev.overall.line()


@pytest.mark.parametrize("name", ["labeled-tune5.jsonl", "labeled-tune6.jsonl"])
def test_mixed_tuning_floors(name):
    # Mixed en/tr/ar feed items, tuned on since 7799063 (0.953 and 0.919 at first sight).
    ev = evaluate(RULESET, read_labeled(DATA / name))
    assert ev.overall.f1 >= 0.92, ev.overall.line()
    for lang, scores in ev.groups["lang"].items():
        assert scores.f1 >= 0.90, (lang, scores.line())


@pytest.mark.parametrize(("name", "floor"), [
    # Written blind to the rules and to every other set, not tuned on. Floors under what they measured
    # (feedsho 0.972, realho 0.970, mixho 0.959, blind4 0.956, blind5 0.974, blind6 0.953, blind7 0.951),
    # so that a rules edit that loses unseen quality fails.
    ("labeled-feedsho.jsonl", 0.95), ("labeled-realho.jsonl", 0.95), ("labeled-mixho.jsonl", 0.93),
    ("labeled-blind4.jsonl", 0.93), ("labeled-blind5.jsonl", 0.95), ("labeled-blind6.jsonl", 0.93),
    ("labeled-blind7.jsonl", 0.93),
])
def test_blind_held_out_floors(name, floor):
    ev = evaluate(RULESET, read_labeled(DATA / name))
    assert ev.overall.f1 >= floor, ev.overall.line()


@pytest.mark.parametrize("name", [pytest.param("labeled-holdout.jsonl", marks=needs_corpus), "labeled-holdout2.jsonl"])
def test_holdout_set_floors(name):
    # Written apart from the rules and not tuned on (each looked at a few times): floors, not targets.
    ev = evaluate(RULESET, read_labeled(DATA / name))
    assert ev.overall.f1 >= 0.95 and ev.overall.precision >= 0.95, ev.overall.line()
    for lang, scores in ev.groups["lang"].items():
        assert scores.f1 >= 0.90, (lang, scores.line())


@needs_corpus
@pytest.mark.slow  # classifies the 62,127 items of a month
def test_real_month_of_news_flags_the_story_and_little_else():
    # Every corpus item any labeled set carries, English and Polish (a fifth of the real feeds).
    labeled = [r for f in sorted(DATA.glob("labeled-*.jsonl")) for r in read_labeled(f)
               if r.get("source") == "corpus-2022-12"]
    relevant_titles = {r["title"] for r in labeled if r["relevant"]}
    assert any(not t.isascii() for t in relevant_titles)  # the Polish report of the Moscow meeting
    flagged = []
    with gzip.open(CORPUS / "news-2022-12.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if classify(RULESET, item["title"], item["summary"], explain=False).relevant:
                flagged.append(item["title"])
    assert len(relevant_titles & set(flagged)) >= 0.85 * len(relevant_titles)
    # Of 62,127 real items, everything flagged is either labeled relevant or one of at most two
    # borderline items (an Erdogan–Putin call about a Syria corridor).
    assert len(set(flagged) - relevant_titles) <= 2, sorted(set(flagged) - relevant_titles)


@needs_corpus
def test_rules_eval_command_on_several_files(tmp_path):
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"title": "Turkey and Syria hold talks in Moscow", "summary": "", "relevant": false, '
                     '"source": "written"}\n{"title": "Rain in Istanbul", "summary": "", "relevant": false, '
                     '"source": "written"}\n')
    out = newswatch("rules", "eval", str(wrong), str(DATA / "labeled-corpuspl.jsonl"))
    assert out.returncode == 0, out.stderr
    table, first, second = out.stdout.split("\n\n== ")
    # The table leads with the real set (the Polish corpus items), then the written one.
    rows = table.splitlines()[1:]
    assert rows[0].split()[:3] == [str(DATA / "labeled-corpuspl.jsonl"), "real", "10"], rows
    assert rows[1].split()[:3] == [str(wrong), "written", "2"], rows
    assert first.startswith(f"{wrong} (written text)\nprecision 0.000  recall 1.000  F1 0.000  (n 2: tp 0, fp 1, fn 0, tn 1)")
    assert "Turkey and Syria hold talks in Moscow" in first.split("false positives (1):")[1]
    assert second.startswith(f"{DATA / 'labeled-corpuspl.jsonl'} (real text)\nprecision 1.000  recall 1.000")
