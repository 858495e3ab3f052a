"""Derive a rules draft from seed articles: the words and phrases that are distinctive of the seeds
against a background of ordinary news, each with its evidence, for a person to curate.

The background is relevance/background.py: the bundled word counts of ordinary news, or your own.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .background import Background
from .classify import find_terms
from .folding import fold
from .rules import RuleSet

_WORD_RE = re.compile(r"[^\W\d_]+")  # letters only: each word folds to exactly one token


class SeedError(UsageError):
    """A seed file that cannot be used; the message names it."""


@dataclass
class Candidate:
    term: str  # as written in the seeds, lower-cased
    folded: str
    seeds: int  # how many seed articles contain it
    occurrences: int
    background: float  # share of background items containing it (a phrase: its rarer word)
    score: float
    example: str
    group: str  # "names", "vocabulary", or "known:<concept>" when the rules already have it


def read_seed(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SeedError(f"seed {path}: {e}") from None


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?؟])\s+|\n+", text) if s.strip()]


def derive(seed_texts: list[str], background: Background, ruleset: RuleSet | None = None,
           per_group: int = 40) -> dict[str, list[Candidate]]:
    """Candidate terms grouped for curation, best first."""
    n = len(seed_texts)
    min_seeds = 2 if n >= 3 else 1
    seeds_with: dict[str, set[int]] = defaultdict(set)
    occurrences: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    capitalized: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for i, text in enumerate(seed_texts):
        for sentence in _sentences(text):
            words = _WORD_RE.findall(sentence)
            folded = [fold(w).strip() for w in words]
            for j, (w, f) in enumerate(zip(words, folded, strict=True)):
                if len(f) < 3:
                    continue
                grams = [(w, f)]
                if j + 1 < len(words) and len(folded[j + 1]) >= 3:
                    grams.append((f"{w} {words[j + 1]}", f"{f} {folded[j + 1]}"))
                for surface, key in grams:
                    seeds_with[key].add(i)
                    occurrences[key] += 1
                    surfaces[key][surface.lower()] += 1
                    capitalized[key] += surface[:1].isupper() and j > 0
                    examples.setdefault(key, sentence[:160])
    out: dict[str, list[Candidate]] = defaultdict(list)
    for key, where_found in seeds_with.items():
        share = len(where_found) / n
        if len(where_found) < min_seeds:
            continue
        bg = background.rate(key)
        if " " in key:
            rates = [background.rate(w) for w in key.split()]
            if max(rates) > 0.02:
                continue  # a phrase with a function word ("of the") says nothing
            bg = min(rates)  # no phrase counts in the background: its rarer word bounds it
        score = share * math.log2(share / bg)
        if score <= 1.0:
            continue
        group = "names" if capitalized[key] >= 0.6 * occurrences[key] else "vocabulary"
        if ruleset is not None:
            hits = find_terms(ruleset, key.split())
            if hits:
                group = "known:" + ",".join(sorted(hits))
        out[group].append(Candidate(surfaces[key].most_common(1)[0][0], key, len(where_found),
                                    occurrences[key], bg, round(score, 2), examples[key], group))
    return {group: sorted(cands, key=lambda c: -c.score)[:per_group] for group, cands in out.items()}


def draft_toml(groups: dict[str, list[Candidate]], seed_names: list[str], background: Background) -> str:
    """A valid rules file: the new candidates as concepts, known ones listed in comments."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [
        f"# Draft rules derived by `newswatch rules seed` from {len(seed_names)} seed articles",
        (f"# ({', '.join(seed_names)}) against {background.documents:,} background news items from "
        f"{background.source}."),
        "# score = share of seeds containing the term x log2(that share / share of background items);",
        "# bg = background items per 10,000. Curate: move names into the concept of their side, delete",
        "# noise, add translations and inflections, then measure:",
        "#   newswatch rules eval LABELED.jsonl --rules THIS_FILE",
        "",
        "threshold = 3.0",
        "window = 20",
        "",
    ]
    descriptions = {"names": "Proper names distinctive of the seeds: people, places, institutions",
                    "vocabulary": "Words and phrases distinctive of the seeds"}
    for group in ("names", "vocabulary"):
        lines += [f"[concepts.{group}]", f"description = {q(descriptions[group])}", "terms = ["]
        for c in groups.get(group, []):
            lines.append(f"  {q(c.term)},  # score {c.score:g}, in {c.seeds}/{len(seed_names)} seeds, "
                         f"bg {c.background * 10000:.1f}: {c.example[:90]!r}")
        lines += ["]", ""]
    known = sorted((c for g, cs in groups.items() if g.startswith("known:") for c in cs), key=lambda c: -c.score)
    if known:
        lines.append("# Already in the rules given with --rules (concept: term, score):")
        lines += [f"#   {c.group[6:]}: {c.term} ({c.score:g})" for c in known]
        lines.append("")
    lines += ["[[rules]]", 'name = "names+vocabulary"', 'all = ["names", "vocabulary"]', "within = 20",
              "weight = 1.0", "max_count = 5", ""]
    return "\n".join(lines)
