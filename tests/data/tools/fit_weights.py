#!/usr/bin/env python3
"""Suggest rule weights for a rules file by logistic regression on labeled sets.

Each rule is a feature (how many times it counted for an item, after max_count); the fit keeps every
weight at the sign it has in the file (an exclusion stays an exclusion), picks the threshold with
the best F1 on the training items, and rescales the weights so the threshold stays what the file
says. A person copies the weights worth having into the rules file and measures the result on sets
that were not used here.

    python tests/data/tools/fit_weights.py config/rules/turkey-syria.toml \
        tests/data/labeled-dev.jsonl tests/data/labeled-train.jsonl [--apply]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from worker.relevance.classify import classify
from worker.relevance.evaluate import read_labeled
from worker.relevance.rules import load_rules


def features(ruleset, items: list[dict]) -> list[list[float]]:
    names = [r.name for r in ruleset.rules]
    rows = []
    for item in items:
        counts = dict.fromkeys(names, 0.0)
        for hit in classify(ruleset, item.get("title"), item.get("summary"), item.get("content")).explanation:
            counts[hit.rule] = float(hit.count)
        rows.append([counts[n] for n in names])
    return rows


def fit(x: list[list[float]], y: list[int], signs: list[float], l2: float, epochs: int,
        negative_weight: float = 1.0) -> tuple[list[float], float]:
    m = len(x[0])
    w = [0.5 * s for s in signs]
    b = -2.0
    rate = 0.05
    for _ in range(epochs):
        gw = [0.0] * m
        gb = 0.0
        for row, label in zip(x, y, strict=True):
            z = b + sum(wi * xi for wi, xi in zip(w, row, strict=True))
            p = 1 / (1 + math.exp(-max(min(z, 30), -30)))
            d = (p - label) * (1.0 if label else negative_weight)
            gb += d
            for j, xi in enumerate(row):
                if xi:
                    gw[j] += d * xi
        n = len(x)
        for j in range(m):
            w[j] -= rate * (gw[j] / n + l2 * w[j])
            if w[j] * signs[j] < 0:  # keep the sign the rule has in the file
                w[j] = 0.0
        b -= rate * gb / n
    return w, b


def f1_at(scores: list[float], y: list[int], t: float) -> float:
    tp = sum(1 for s, label in zip(scores, y, strict=True) if s >= t and label)
    fp = sum(1 for s, label in zip(scores, y, strict=True) if s >= t and not label)
    fn = sum(1 for s, label in zip(scores, y, strict=True) if s < t and label)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rules")
    parser.add_argument("labeled", nargs="+")
    parser.add_argument("--l2", type=float, default=0.002)
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--apply", action="store_true", help="write the rounded weights into the rules file")
    parser.add_argument("--negative-weight", type=float, default=1.0,
                        help="how much more a false positive costs than a false negative in the fit")
    args = parser.parse_args()
    ruleset = load_rules(args.rules)
    items = [i for f in args.labeled for i in read_labeled(f)]
    x = features(ruleset, items)
    y = [int(i["relevant"]) for i in items]
    signs = [1.0 if r.weight >= 0 else -1.0 for r in ruleset.rules]
    w, b = fit(x, y, signs, args.l2, args.epochs, args.negative_weight)
    scores = [sum(wi * xi for wi, xi in zip(w, row, strict=True)) for row in x]
    best_t = max(sorted(set(scores)), key=lambda t: f1_at(scores, y, t))
    scale = ruleset.threshold / best_t if best_t > 0 else 1.0
    print(f"fitted on {len(items)} items; F1 at the best threshold {f1_at(scores, y, best_t):.3f} "
          f"(bias {b:.2f}, threshold {best_t:.3f}, scaled x{scale:.2f} to keep threshold {ruleset.threshold:g})")
    new = {}
    for rule, weight in zip(ruleset.rules, w, strict=True):
        new[rule.name] = round(weight * scale * 4) / 4
        print(f"  {rule.name:32} {rule.weight:>6g} -> {new[rule.name]:>6g}")
    if args.apply:
        text = Path(args.rules).read_text(encoding="utf-8")
        for name, weight in new.items():
            text = re.sub(rf'(name = "{re.escape(name)}"\n(?:(?!\[\[rules\]\]).*\n)*?weight = )-?[\d.]+',
                          lambda m, v=weight: f"{m.group(1)}{v:g}", text)
        Path(args.rules).write_text(text, encoding="utf-8")
        print(f"wrote {args.rules}")


if __name__ == "__main__":
    main()
