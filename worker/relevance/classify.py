"""Classify an item with a compiled RuleSet: find terms in folded text, score the rules, explain the verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..text import strip_html
from .folding import SENTENCE_BREAK, fold, split_folded
from .rules import Rule, RuleSet


@dataclass(frozen=True)
class RuleHit:
    rule: str
    count: int
    weight: float
    points: float  # what the rule added to the score: 0 where a stronger rule of its group counted
    terms: list[str]
    group: str = ""


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
            note = f"  (group {h.group}: a stronger rule counted)" if h.group and not h.points else ""
            lines.append(f"  {h.points:+g}  {h.rule}: {h.count} x {h.weight:g}  [{', '.join(h.terms)}]{note}")
        if not self.explanation:
            lines.append("  no rule fired" + ("" if self.matches else "; no term matched"))
        if self.matches:
            lines.append("  terms: " + ", ".join(self.matches))
        return "\n".join(lines)


MAX_FIELD = 100_000  # characters of a field classified: bounded work on hostile input

# A hit: (word position, sentence number, concept, term as written, "concept:term")
Hit = tuple[int, int, str, str, str]


def _rest_matches(toks: list[str], i: int, rest: tuple[str, ...], stem: bool) -> bool:
    seg = toks[i + 1:i + 1 + len(rest)]
    if len(seg) != len(rest):
        return False
    if stem:
        return tuple(seg[:-1]) == rest[:-1] and seg[-1].startswith(rest[-1])
    return tuple(seg) == rest


def find_terms(ruleset: RuleSet, toks: list[str]) -> dict[str, list[Hit]]:
    """Every match of the rules' terms in folded tokens (split_folded), by concept, in text order."""
    memo, shadows = ruleset.memo, ruleset.shadows
    found: dict[str, list[Hit]] = {}
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


def _count(rule: Rule, hits: dict[str, list[Hit]], used: set[str] | None) -> int:
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
    title_hits, body_hits = find_terms(ruleset, title_toks), find_terms(ruleset, body_toks)
    matches = sorted({h[4] for hits in (title_hits, body_hits) for lst in hits.values() for h in lst})
    title_present, body_present = frozenset(title_hits), frozenset(body_hits)
    item_present = title_present | body_present  # for the rules that read both as one
    score = 0.0
    explanation: list[RuleHit] = []
    strongest: dict[str, tuple[float, int]] = {}  # group -> (points of its strongest rule, its hit's index)
    for rule in ruleset.rules:
        # Most rules lack one of their concepts: the subset tests skip them without a Python loop.
        in_title = rule.in_title and rule.concept_set <= title_present
        in_body = rule.in_body and rule.concept_set <= body_present
        if rule.unless:  # a field where an excepted concept occurs does not count
            in_title = in_title and rule.unless.isdisjoint(title_present)
            in_body = in_body and rule.unless.isdisjoint(body_present)
        if rule.in_item and rule.concept_set <= item_present and rule.unless.isdisjoint(item_present):
            used: set[str] | None = set() if explain else None
            count = _count(rule, {c: title_hits.get(c, []) + body_hits.get(c, []) for c in rule.concepts}, used)
        elif not (in_title or in_body):
            continue
        else:
            used = set() if explain else None
            count = (_count(rule, title_hits, used) if in_title else 0) + (_count(rule, body_hits, used) if in_body else 0)
        if count:
            count = min(count, rule.max_count)
            points = rule.weight * count
            if rule.group:
                # One piece of evidence counts once: the group adds its strongest rule's points.
                best = strongest.get(rule.group)
                if best is not None and abs(points) <= abs(best[0]):
                    points = 0.0
                else:
                    if best is not None:  # outdone: it no longer adds, and its hit says so
                        score -= best[0]
                        if used is not None:
                            explanation[best[1]] = replace(explanation[best[1]], points=0.0)
                    strongest[rule.group] = (points, len(explanation))
            score += points
            if used is not None:  # explain
                explanation.append(RuleHit(rule.name, count, rule.weight, points, sorted(used), rule.group))
    score = round(score, 3)
    return Verdict(score >= ruleset.threshold, score, matches, explanation)

