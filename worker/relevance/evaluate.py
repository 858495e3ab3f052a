"""Measure a RuleSet on labeled items: precision, recall, F1, and the items it gets wrong.

A labeled line carries its text (title, summary) or, for real news that may not be copied into the
repository, only a reference to it: `link_sha1`, the SHA-1 of the item's link (full, or its first 12
hex digits as the line's `id`), looked up in the real news corpus (`news-2022-12.jsonl.gz` and
`real-2025/items.jsonl`) of the directory NEWSWATCH_CORPUS names, else of `shared/corpus` beside
the repository.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..jsonl import NOT_AN_OBJECT, JsonLineError, read_objects
from .classify import Verdict, classify
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


CORPUS_FILES = ("news-2022-12.jsonl.gz", "real-2025/items.jsonl")


def corpus_dir(near: str | Path | None = None) -> Path | None:
    """The real news corpus: $NEWSWATCH_CORPUS, else `shared/corpus` beside a parent of `near` (or of
    this package); None when there is none."""
    if os.environ.get("NEWSWATCH_CORPUS"):
        return Path(os.environ["NEWSWATCH_CORPUS"])
    starts = [Path(near).resolve()] if near else []
    starts.append(Path(__file__).resolve())
    for start in starts:
        for parent in start.parents:
            candidate = parent / "shared" / "corpus"
            if (candidate / CORPUS_FILES[0]).is_file():
                return candidate
    return None


@functools.cache
def corpus_index(directory: Path) -> dict[str, dict]:
    """SHA-1 of the link (full and its first 12 hex digits) -> the corpus entry, for every corpus file present."""
    index: dict[str, dict] = {}
    for name in CORPUS_FILES:
        path = directory / name
        if not path.is_file():
            continue
        with (gzip.open(path, "rt", encoding="utf-8") if name.endswith(".gz") else open(path, encoding="utf-8")) as f:
            for line in f:
                entry = json.loads(line)
                digest = hashlib.sha1(entry["link"].encode()).hexdigest()
                index[digest] = index.setdefault(digest[:12], entry)
    return index


def read_labeled(path: str | Path) -> list[dict]:
    """JSON lines (gzipped where the name ends .gz) with title, summary (strings) and relevant (boolean), or a `link_sha1` (or 12-hex
    `id`) naming a corpus item whose text is read from the corpus; other fields are kept."""
    path = Path(path)
    items = []
    try:
        raw = path.read_bytes()
        lines = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8").splitlines()
    except FileNotFoundError:
        raise LabeledDataError(f"labeled file not found: {path}") from None
    except (gzip.BadGzipFile, EOFError):
        raise LabeledDataError(f"labeled file {path}: not a gzip file") from None
    except UnicodeDecodeError:
        raise LabeledDataError(f"labeled file {path}: not UTF-8 text") from None
    except OSError as e:
        raise LabeledDataError(f"labeled file {path}: {e.strerror}") from None
    try:
        for n, obj in read_objects(lines):
            if obj is None:
                continue
            if not isinstance(obj.get("relevant"), bool):
                raise LabeledDataError(f"{path} line {n}: needs a boolean \"relevant\"")
            if "title" not in obj:
                obj = _from_corpus(obj, path, n)
            if not all(isinstance(obj.get(k, ""), str) for k in ("title", "summary")):
                raise LabeledDataError(f"{path} line {n}: \"title\" and \"summary\" must be strings")
            items.append(obj)
    except JsonLineError as e:  # the line's own wording; a value that is not an object lacks "relevant" too
        reason = "needs a boolean \"relevant\"" if e.reason == NOT_AN_OBJECT else e.reason
        raise LabeledDataError(f"{path} line {e.line}: {reason}") from None
    return items


def _from_corpus(obj: dict, path: Path, n: int) -> dict:
    """A line that names a corpus item instead of carrying its text, with the text filled in."""
    key = obj.get("link_sha1") or obj.get("id")
    if not isinstance(key, str):
        raise LabeledDataError(f"{path} line {n}: needs a \"title\" or a \"link_sha1\" naming a corpus item")
    directory = corpus_dir(path)
    if directory is None:
        raise LabeledDataError(f"{path} line {n}: its text is in the real news corpus, which is not here "
                               "(set NEWSWATCH_CORPUS to the shared/corpus directory)")
    entry = corpus_index(directory).get(key)
    if entry is None:
        raise LabeledDataError(f"{path} line {n}: no item with link hash {key} in {directory}")
    return {**obj, "title": entry.get("title") or "", "summary": entry.get("summary") or "",
            "feed": entry.get("feed"), "published": entry.get("published")}


def evaluate(ruleset: RuleSet, items: list[dict], group_by: tuple[str, ...] = ("lang", "era", "split")) -> Evaluation:
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


def provenance(items: list[dict]) -> str:
    """'real' when every item is real feed text, 'written' when every item was written for the set,
    'mixed' otherwise (a line's `source` says "written" for a written item)."""
    written = sum(1 for i in items if i.get("source") == "written")
    return "written" if written == len(items) else "real" if not written else "mixed"


def summary_table(rows: list[tuple[str, str, Scores]]) -> str:
    """One line per labeled set, real sets first: what quality tables lead with."""
    order = {"real": 0, "mixed": 1, "written": 2}
    width = max([3] + [len(name) for name, _, _ in rows])
    lines = [f"{'set':{width}} {'text':8} {'items':>6} {'rel':>4}  {'P':>5}  {'R':>5}  {'F1':>5}  fp  fn"]
    for name, kind, sc in sorted(rows, key=lambda r: order[r[1]]):
        lines.append(f"{name:{width}} {kind:8} {sc.n:>6} {sc.tp + sc.fn:>4}  {sc.precision:.3f}  {sc.recall:.3f}  "
                     f"{sc.f1:.3f} {sc.fp:>3} {sc.fn:>3}")
    return "\n".join(lines)


def report(ev: Evaluation, show: int = 50) -> str:
    lines = [ev.overall.line()]
    for key, values in ev.groups.items():
        for value, scores in sorted(values.items()):
            lines.append(f"  {key}={value:8} {scores.line()}")

    def listing(title: str, rows: list[tuple[dict, Verdict]]) -> None:
        lines.append(f"{title} ({len(rows)}):")
        for item, v in sorted(rows, key=lambda r: -r[1].score)[:show]:
            # The rules that decided: those a stronger rule of their group outdid added nothing.
            rules = ", ".join(f"{h.rule} {h.points:+g}" for h in v.explanation if h.points) or "no rule"
            lines.append(f"  {v.score:>6g}  {item.get('id', '')}  {item.get('title', '')[:100]}  [{rules}]")
        if len(rows) > show:
            lines.append(f"  ... and {len(rows) - show} more")

    listing("false positives", ev.false_positives)
    listing("false negatives", ev.false_negatives)
    return "\n".join(lines)
