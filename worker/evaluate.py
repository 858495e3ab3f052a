"""Measure a RuleSet on labeled items: precision, recall, F1, and the items it gets wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .classify import Verdict, classify
from .errors import UsageError
from .rules import RuleSet


class LabeledDataError(UsageError):
    """A labeled file that cannot be used; the message names the file and line."""


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}  "
                f"(n {self.n}: tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})")


@dataclass
class Evaluation:
    overall: Scores = field(default_factory=Scores)
    groups: dict[str, dict[str, Scores]] = field(default_factory=dict)  # field -> value -> scores
    false_positives: list[tuple[dict, Verdict]] = field(default_factory=list)
    false_negatives: list[tuple[dict, Verdict]] = field(default_factory=list)


def read_labeled(path: str | Path) -> list[dict]:
    """JSON lines with title, summary (strings) and relevant (boolean); other fields are kept."""
    path = Path(path)
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LabeledDataError(f"labeled file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LabeledDataError(f"labeled file {path}: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise LabeledDataError(f"{path} line {n}: invalid JSON ({e.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("relevant"), bool):
            raise LabeledDataError(f"{path} line {n}: needs a boolean \"relevant\"")
        if not all(isinstance(obj.get(k, ""), str) for k in ("title", "summary")):
            raise LabeledDataError(f"{path} line {n}: \"title\" and \"summary\" must be strings")
        items.append(obj)
    return items


def evaluate(ruleset: RuleSet, items: list[dict], group_by: tuple[str, ...] = ("lang", "era")) -> Evaluation:
    ev = Evaluation()
    for item in items:
        verdict = classify(ruleset, item.get("title"), item.get("summary"), item.get("content"))
        truth = item["relevant"]
        ev.overall.add(truth, verdict.relevant)
        for key in group_by:
            if key in item:
                ev.groups.setdefault(key, {}).setdefault(str(item[key]), Scores()).add(truth, verdict.relevant)
        if verdict.relevant and not truth:
            ev.false_positives.append((item, verdict))
        elif truth and not verdict.relevant:
            ev.false_negatives.append((item, verdict))
    return ev


def report(ev: Evaluation, show: int = 50) -> str:
    lines = [ev.overall.line()]
    for key, values in ev.groups.items():
        for value, scores in sorted(values.items()):
            lines.append(f"  {key}={value:8} {scores.line()}")

    def listing(title: str, rows: list[tuple[dict, Verdict]]) -> None:
        lines.append(f"{title} ({len(rows)}):")
        for item, v in sorted(rows, key=lambda r: -r[1].score)[:show]:
            rules = ", ".join(f"{h.rule} {h.points:+g}" for h in v.explanation) or "no rule"
            lines.append(f"  {v.score:>6g}  {item.get('id', '')}  {item.get('title', '')[:100]}  [{rules}]")
        if len(rows) > show:
            lines.append(f"  ... and {len(rows) - show} more")

    listing("false positives", ev.false_positives)
    listing("false negatives", ev.false_negatives)
    return "\n".join(lines)
