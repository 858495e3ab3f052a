"""Classify an item with a compiled RuleSet: find terms in folded text, score the rules, explain the verdict."""

from __future__ import annotations

import collections
import itertools
import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

from .jsonl import JsonLineError, read_objects
from .rules import Rule, RuleSet
from .text import SENTENCE_BREAK, fold, split_folded, strip_html


@dataclass(frozen=True)
class RuleHit:
    rule: str
    count: int
    weight: float
    points: float
    terms: list[str]


@dataclass
class Verdict:
    relevant: bool
    score: float
    matches: list[str] = field(default_factory=list)  # "concept:term", sorted
    explanation: list[RuleHit] = field(default_factory=list)

    def explanation_dicts(self) -> list[dict]:
        return [asdict(h) for h in self.explanation]

    def describe(self, threshold: float) -> str:
        """Human-readable account of how the score adds up."""
        verdict = "RELEVANT" if self.relevant else "not relevant"
        lines = [f"{verdict}: score {self.score:g} (threshold {threshold:g})"]
        for h in self.explanation:
            lines.append(f"  {h.points:+g}  {h.rule}: {h.count} x {h.weight:g}  [{', '.join(h.terms)}]")
        if not self.explanation:
            lines.append("  no rule fired" + ("" if self.matches else "; no term matched"))
        if self.matches:
            lines.append("  terms: " + ", ".join(self.matches))
        return "\n".join(lines)


MAX_FIELD = 100_000  # characters of a field classified: bounded work on hostile input

# A hit: (word position, sentence number, concept, term as written, "concept:term")
_Hit = tuple[int, int, str, str, str]


def _rest_matches(toks: list[str], i: int, rest: tuple[str, ...], stem: bool) -> bool:
    seg = toks[i + 1:i + 1 + len(rest)]
    if len(seg) != len(rest):
        return False
    if stem:
        return tuple(seg[:-1]) == rest[:-1] and seg[-1].startswith(rest[-1])
    return tuple(seg) == rest


def _find(ruleset: RuleSet, toks: list[str]) -> dict[str, list[_Hit]]:
    memo, shadows = ruleset.memo, ruleset.shadows
    found: dict[str, list[_Hit]] = {}
    covered: dict[str, int] = {}  # concept -> first word position after its last match
    sent = 0
    last = len(toks) - 1
    # Most words start no term: one comprehension keeps the few that do, and the sentence breaks.
    for i in [i for i, tok in enumerate(toks) if memo[tok]]:
        tok = toks[i]
        if tok == SENTENCE_BREAK:
            sent += 1
            continue
        pos = i - sent  # word position, sentence breaks not counted
        for rest, stem, concept, term, label in memo[tok]:  # longest phrases first
            if pos < covered.get(concept, 0):
                continue  # inside a longer match of this concept ("assad" in "al assad")
            if rest:
                # Most phrase candidates fail on the next word: test it before slicing.
                if i == last:
                    continue
                nxt = toks[i + 1]
                if len(rest) == 1:
                    if not (nxt.startswith(rest[0]) if stem else nxt == rest[0]):
                        continue
                elif nxt != rest[0] or not _rest_matches(toks, i, rest, stem):
                    continue
            found.setdefault(concept, []).append((pos, sent, concept, term, label))
            covered[concept] = end = pos + 1 + len(rest)
            for hidden in shadows.get(concept, ()):  # "syrian refugees" are people: not also "syria"
                if covered.get(hidden, 0) < end:
                    covered[hidden] = end
    return found


def _count(rule: Rule, hits: dict[str, list[_Hit]], used: set[str] | None) -> int:
    """Occurrences of the rule's first concept with every other concept in reach (all present).

    `used` collects the terms involved, for the explanation; without it counting stops at max_count.
    """
    anchors, others = hits[rule.concepts[0]], [hits[c] for c in rule.concepts[1:]]
    if not rule.sentence and rule.within is None:  # anywhere in the field: every anchor counts
        if used is not None:
            used.update(a[3] for a in anchors)
            used.update(lst[0][3] for lst in others)
        return len(anchors)
    count = 0
    for a in anchors:
        if used is None and count >= rule.max_count:
            break
        partners = []
        for lst in others:
            if rule.sentence:
                p = next((h for h in lst if h[1] == a[1]), None)
            elif rule.within is not None:
                p = next((h for h in lst if abs(h[0] - a[0]) <= rule.within), None)
            else:
                p = lst[0]
            if p is None:
                break
            partners.append(p)
        else:
            count += 1
            if used is not None:
                used.add(a[3])
                used.update(p[3] for p in partners)
    return count


def classify(ruleset: RuleSet, title: str | None, summary: str | None, content: str | None = None,
             explain: bool = True) -> Verdict:
    """Score an item's title and text (HTML allowed) against the rules; explain=False leaves the
    explanation out (same verdict, score and matches, less work)."""
    title_folded = fold(strip_html((title or "")[:MAX_FIELD], collapse=False))
    body = strip_html((summary or "")[:MAX_FIELD], collapse=False)
    if content:
        body = f"{body} . {strip_html(content[:MAX_FIELD], collapse=False)}"
    body_folded = fold(body)
    title_toks, body_toks = split_folded(title_folded), split_folded(body_folded)
    # Most news names neither side: no positive rule can fire, so answer without walking the tokens.
    anchors = ruleset.anchors
    if (anchors.isdisjoint(title_toks) and anchors.isdisjoint(body_toks)
            and not any(s in title_folded or s in body_folded for s in ruleset.anchor_stems)):
        return Verdict(False, 0.0)
    title_hits, body_hits = _find(ruleset, title_toks), _find(ruleset, body_toks)
    matches = sorted({h[4] for hits in (title_hits, body_hits) for lst in hits.values() for h in lst})
    title_present, body_present = frozenset(title_hits), frozenset(body_hits)
    score = 0.0
    explanation: list[RuleHit] = []
    for rule in ruleset.rules:
        # Most rules lack one of their concepts: the subset tests skip them without a Python loop.
        in_title = rule.in_title and rule.concept_set <= title_present
        in_body = rule.in_body and rule.concept_set <= body_present
        if not (in_title or in_body):
            continue
        used: set[str] | None = set() if explain else None
        count = (_count(rule, title_hits, used) if in_title else 0) + (_count(rule, body_hits, used) if in_body else 0)
        if count:
            count = min(count, rule.max_count)
            points = rule.weight * count
            score += points
            if explain:
                explanation.append(RuleHit(rule.name, count, rule.weight, points, sorted(used)))
    score = round(score, 3)
    return Verdict(score >= ruleset.threshold, score, matches, explanation)


# classify --jsonl: one verdict line per input line, in order; large inputs over worker processes.
TEXT_FIELDS = ("title", "summary", "content")
BLANK_VERDICT = '{"id": null, "relevant": false, "score": 0.0, "matches": []}'
BATCH_LINES = 2_000  # lines per task handed to a worker process
_worker_ruleset: RuleSet | None = None  # set in each worker process (inherited by fork)


def verdict_line(ruleset: RuleSet, obj: dict | None) -> str:
    """The JSON verdict of one parsed input line (None for a blank line), as the classify contract has it."""
    if obj is None:  # a blank line: still one output line per input line
        return BLANK_VERDICT
    v = classify(ruleset, obj.get("title"), obj.get("summary"), obj.get("content"), explain=False)
    return json.dumps({"id": obj.get("id"), "relevant": v.relevant, "score": v.score, "matches": v.matches},
                      ensure_ascii=False)


# A batch's verdict lines, and (line number, reason) of a bad line that ended it: plain values, which
# cross the process boundary where an exception with its own __init__ would not unpickle.
_BatchResult = tuple[list[str], tuple[int, str] | None]


def _classify_batch(ruleset: RuleSet, first: int, lines: list[str] | list[bytes]) -> _BatchResult:
    texts: list[str] = []
    not_utf8: int | None = None
    for i, line in enumerate(lines):  # bytes are decoded line by line, so an error names its line
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                not_utf8 = i
                break
        texts.append(line)
    out: list[str] = []
    try:
        for _, obj in read_objects(texts, TEXT_FIELDS):
            out.append(verdict_line(ruleset, obj))
    except JsonLineError as e:  # renumber: the batch starts at line `first`
        return out, (first + e.line - 1, e.reason)
    return out, (None if not_utf8 is None else (first + not_utf8, "not UTF-8 text"))


def _set_worker_ruleset(ruleset: RuleSet) -> None:
    global _worker_ruleset
    _worker_ruleset = ruleset


def _worker_batch(first: int, lines: list[str] | list[bytes]) -> _BatchResult:
    assert _worker_ruleset is not None
    return _classify_batch(_worker_ruleset, first, lines)


def _batches(lines: Iterable[str] | Iterable[bytes]) -> Iterator[tuple[int, list]]:
    """(first line number, up to BATCH_LINES lines)."""
    it = iter(lines)
    first = 1
    while batch := list(itertools.islice(it, BATCH_LINES)):
        yield first, batch
        first += len(batch)


def classify_lines(ruleset: RuleSet, lines: Iterable[str] | Iterable[bytes], write: Callable[[str], object],
                   workers: int | None = None) -> None:
    """Classify JSON lines ("title", "summary", optional "id" and "content"), writing one verdict line
    per input line, in input order. Raises JsonLineError for the first bad line, after writing the
    verdicts of every line before it. Give bytes (UTF-8), so that a line that is not UTF-8 is named
    like any other bad line; a text stream raises UnicodeDecodeError where its decoder fails.

    Past the first batch, batches go to `workers` processes (default: one per core; fork only), at
    most two per worker in flight, so memory stays bounded on an endless stream."""
    batches = _batches(lines)
    first = next(batches, None)
    if first is None:
        return
    workers = workers if workers is not None else (os.cpu_count() or 1)
    rest_pending = len(first[1]) == BATCH_LINES
    if workers < 2 or not rest_pending or "fork" not in mp.get_all_start_methods():
        for batch in itertools.chain([first], batches):
            _write_batch(_classify_batch(ruleset, *batch), write)
        return
    with mp.get_context("fork").Pool(workers, initializer=_set_worker_ruleset, initargs=(ruleset,)) as pool:
        in_flight: collections.deque = collections.deque()
        for batch in itertools.chain([first], batches):
            in_flight.append(pool.apply_async(_worker_batch, batch))
            if len(in_flight) >= 2 * workers:
                _write_batch(in_flight.popleft().get(), write)
        while in_flight:
            _write_batch(in_flight.popleft().get(), write)


def _write_batch(result: _BatchResult, write: Callable[[str], object]) -> None:
    out, error = result
    if out:
        write("\n".join(out) + "\n")
    if error is not None:
        raise JsonLineError(*error)
