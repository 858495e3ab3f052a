"""Benchmark: rule suggestions. (1) The full replay (tests/suggest_replay.py): the real 2024-25 stream
over the 12 busiest real December 2022 feeds, polled through the pipeline with the rules of 2023;
for each name on the list written before the first run (suggest_replay.TARGETS), the day it is first
offered in the top 10 against the day it first appears, and the precision of the daily top 10
against that list. (2) Recall on the labeled 2024-26 items with the 2023 rules, before and after
accepting the names the replay offered. (3) Speed: `rules suggest` over a store of the 62,127-item
December 2022 month, end to end (process start included), against `newswatch stats` on the same
store as the reference.

    python tests/benchmarks/bench_suggest.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "benchmarks")]

from bench_query import build

from worker.relevance.evaluate import evaluate, read_labeled
from worker.relevance.folding import fold
from worker.relevance.rules import load_rules
from worker.relevance.suggest import accept

from real_news import CORPUS
from suggest_replay import RULES_2023, SHARAA, TARGETS, replay, target_of


def target_of_form(term: str) -> str | None:
    words = fold(term).split()
    return next((name for name, forms in TARGETS.items()
                 if any(fold(f).split() == words[i:i + len(fold(f).split())]
                        for f in forms for i in range(len(words)))), None)


def labeled_2024_26() -> list[dict]:
    """Every labeled item of 2024-26: the written sets' items of those eras and the real 2024-25 items."""
    items = [i for f in sorted((REPO / "tests" / "data").glob("labeled-*.jsonl")) for i in read_labeled(f)
             if i.get("era") in ("2024", "2025-26")]
    return items + read_labeled(REPO / "tests" / "data" / "real-2025-labels.jsonl")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        days = replay(tmp, CORPUS, background_feeds=12)
        print(f"replay: {len(days)} days, {days[-1].items:,} items stored, {time.perf_counter() - start:.0f} s")
        first_seen = next(d.day for d in days if d.sharaa_in_stream)
        print(f"al-Sharaa first in the stream on day {first_seen}")
        for name, forms in TARGETS.items():
            hit = next(((d.day, d.rank_of(forms)) for d in days if d.rank_of(forms)), None)
            print(f"  {name:24} first in the top 10 on day {hit[0]} at rank {hit[1]}" if hit
                  else f"  {name:24} never in the top 10")
        sharaa = next((d for d in days if d.rank_of(SHARAA)), None)
        if sharaa:
            print(f"al-Sharaa: {sharaa.day - first_seen} days after his first appearance, rank {sharaa.rank_of(SHARAA)}")
        tops = [d.suggestions for d in days if d.suggestions]
        on_list = sum(1 for top in tops for s in top if target_of(s))
        shown = sum(len(top) for top in tops)
        print(f"precision of the daily top 10 against the list: {on_list}/{shown} = {on_list / shown:.2f}")

        # A person accepts the names the replay offered that are on the list, into the concept offered.
        rules = tmp / "rules-2023.toml"
        shutil.copy(RULES_2023, rules)
        items = labeled_2024_26()
        before = evaluate(load_rules(rules), items).overall
        accepted: dict[str, str] = {}
        for d in days:
            for s in d.suggestions:
                if target_of(s) and s.term not in accepted and s.concept:
                    for form in s.forms:
                        accepted.setdefault(form, s.concept)
        for term, concept in accepted.items():
            accept(rules, term, concept, when="replay")
        after = evaluate(load_rules(rules), items).overall
        print(f"labeled 2024-26 items ({before.n}), rules of 2023: recall {before.recall:.3f} "
              f"(precision {before.precision:.3f})")
        print(f"  after accepting {len(accepted)} offered forms into the concept offered "
              f"({', '.join(f'{t} -> {c}' for t, c in accepted.items())}): "
              f"recall {after.recall:.3f} (precision {after.precision:.3f})")
        # The same names where a person who knows them puts them: the Syrian side as a party.
        shutil.copy(RULES_2023, rules)
        rules.with_name("rules-2023.local.toml").unlink()
        names = [t for t in accepted if target_of_form(t) in ("al-Sharaa", "al-Shaibani", "Abu Qasra", "HTS")]
        for term in names:
            accept(rules, term, "syria_actor", when="replay")
        actor = evaluate(load_rules(rules), items).overall
        print(f"  after accepting the offered names ({', '.join(names)}) into syria_actor: recall {actor.recall:.3f} "
              f"(precision {actor.precision:.3f})")

        # Speed over a store of the whole month.
        db = tmp / "month.db"
        n = build(db)
        cfg = tmp / "month.toml"
        cfg.write_text(f'[database]\npath = "{db}"\n[classifier]\nrules = "{REPO / "config" / "rules" / "turkey-syria.toml"}"\n',
                       encoding="utf-8")

        def timed(*args: str) -> float:
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "worker", "--config", str(cfg), *args], cwd=REPO,
                               check=True, capture_output=True)
                best = min(best, time.perf_counter() - t)
            return best

        suggest_s = timed("rules", "suggest", "--since", "2022-12-01", "--format", "json")
        stats_s = timed("stats")
        out = subprocess.run([sys.executable, "-m", "worker", "--config", str(cfg), "rules", "suggest", "--since",
                              "2022-12-01", "--format", "json"], cwd=REPO, check=True, capture_output=True, text=True)
        top = [s["term"] for s in json.loads(out.stdout)][:5]
        print(f"rules suggest over {n:,} items (window: the whole month): {suggest_s:.2f} s end to end, best of 3 "
              f"(stats on the same store: {stats_s:.2f} s); top 5: {top}")


if __name__ == "__main__":
    main()
