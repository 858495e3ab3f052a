"""Rule suggestions from the stream: the words and phrases that the items near the story use far more
than the rest of the stream, and that the rules do not know yet (`newswatch rules suggest`).

The method is that of King, Lam & Roberts (2017, "computer-assisted keyword discovery"): contrast the
documents the query caught, or nearly caught, with the rest, and offer the terms that tell them apart
for a person to accept or reject. Terms are ranked by the log-odds ratio with an informative Dirichlet
prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words"), as a z-score, which is robust to rare words
and to a small foreground against a large background:

    delta = log((y_f + a) / (n_f + a0 - y_f - a)) - log((y_b + a) / (n_b + a0 - y_b - a))
    z     = delta / sqrt(1 / (y_f + a) + 1 / (y_b + a))

where y_f counts the foreground items holding the term among n_f, and y_b the background items
(the rest of the window) among n_b. The prior a = a0 * (the term's share of ordinary news, by the
bundled word counts of 62,127 items of December 2022), with a0 = 500, pulls a word that ordinary news
uses ("forces", "fall") toward its everyday rate, while a name the news did not have before keeps
its full weight; in the variance the background's count is at least one, so that a name absent from
everything else is what is looked for, not a term to distrust. The z-score is multiplied by the
term's novelty: its share of this window's items against the window before it (1 for a term new in
this window, about 0.5 for one as common as before), so that the story's new names rise and its old
vocabulary does not.

Foreground: the window's items judged relevant, those scored just under the threshold (near misses),
and those a person labeled relevant. Background: every other item of the window. Candidates: words
and two- and three-word phrases of the foreground, folded as the rules fold them; never a stop word,
never a term the rules already match, never a term a person rejected; kept with support (at least 3
items from at least 2 feeds).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from ..clock import iso, parse_iso, utcnow
from ..errors import UsageError
from ..store import Store
from ..text import plural, strip_html
from .background import Background, load_background
from .classify import classify, find_terms
from .folding import SENTENCE_BREAK, fold, split_folded
from .rules import ARABIC_PREFIXES, RulesError, RuleSet, load_rules, overlay_path

NEAR_MISS = 0.2  # of the threshold: items scored from here up to it are near misses (the story's
# evidence outweighs the counter-evidence, but not enough)
MIN_ITEMS = 3
MIN_FEEDS = 2
PRIOR_STRENGTH = 500.0  # a0 of the Dirichlet prior: ordinary news weighs as much as 500 items
MAX_EXAMPLES = 3
STOP_SHARE = 0.02  # a word in more than 2% of ordinary news items is a function word for our purpose

# Function words of the languages the bundled word counts barely hold (Turkish, Arabic), and words
# every news item has; English and Polish function words are the bundled counts' commonest words.
STOP_WORDS = frozenset("""
ve ile bir bu da de ki ne icin olarak daha cok en gibi sonra kadar ama veya ya hem o su her
olan oldu olacak ise diye uzere karsi yeni son ilk iki uc gore once bin milyon yil yili gun
في من على الى عن مع ان التي الذي الذين هذا هذه ذلك تلك بعد قبل بين حول خلال كما قد لا ما او ثم
وقد كان كانت يكون اليوم امس عام
said says say told new first one two three also would could may will year years week day days
news live latest update updates video watch photos read more report reports reported according
al el es""".split())  # noqa: SIM905  (a list of words reads better as words)
# Articles that begin a name ("al Sharaa", "el Beşir", "eş Şara"): never a word alone, but a phrase
# may start with one.
ARTICLES = frozenset({"al", "el", "es", "as", "ash", "ad", "an", "ar", "az"})
# Common words that open a phrase of the story all the same ("new administration", "yeni yönetim").
OPENERS = ARTICLES | {"new", "yeni", "interim", "transitional"}

_WORD_RE = re.compile(r"^[^\W\d_]{2,}$")  # letters only, two or more
_ARABIC_RE = re.compile(r"[\u0600-\u06FF]")
_TURKISH_RE = re.compile(r"[ğşıİçöüĞŞÇÖÜ]")
_LONG_PREFIXES = sorted((p for p in ARABIC_PREFIXES if p), key=len, reverse=True)


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """A term the rules do not know, with its evidence."""
    term: str  # as the news most often writes it, lower-cased
    folded: str  # the key its spellings share (variant_key)
    forms: list[str]  # every spelling seen, commonest first: what --accept adds
    kind: str  # word, phrase, or name (a phrase written in capitals)
    lang: str
    score: float  # z * novelty: the rank
    z: float
    novelty: float
    items: int  # foreground items holding it
    background_items: int  # other items of the window holding it
    feeds: int  # feeds among the foreground items
    concept: str  # the concept of the rules found next to it most often: where it would join
    examples: list[str]  # foreground headlines

    def as_dict(self) -> dict:
        return {"term": self.term, "forms": self.forms, "score": round(self.score, 3), "z": round(self.z, 3),
                "novelty": round(self.novelty, 3), "items": self.items, "background_items": self.background_items,
                "feeds": self.feeds, "concept": self.concept, "lang": self.lang, "kind": self.kind,
                "folded": self.folded, "examples": self.examples}


_REPEAT_RE = re.compile(r"([a-z])\1+")


@functools.lru_cache(maxsize=200_000)  # news repeats its words: most tokens are seen before
def variant_key(token: str) -> str:
    """The key that spellings of one name share: Arabic without attached prepositions (arabic_base),
    Latin with doubled letters single, as transliterations differ there (Sharaa and Shara, Shaibani
    and Shaybani do not: that is a person's call)."""
    return arabic_base(_REPEAT_RE.sub(r"\1", token))


def folded_tokens(item: dict) -> list[str]:
    """An item's title and text as folded words, with sentence breaks."""
    return split_folded(fold(f"{strip_html(item.get('title'), collapse=False)} . "
                             f"{strip_html(item.get('summary'), collapse=False)}"))


def arabic_base(token: str) -> str:
    """An Arabic word without an attached article or preposition (والشرع, بالشرع -> شرع), so that
    one term stands for the forms the rules would match; other words unchanged."""
    if not _ARABIC_RE.match(token):
        return token
    for prefix in _LONG_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 3:
            return token[len(prefix):]
    return token


@dataclass
class _Item:
    tokens: list[str]  # folded, with sentence breaks
    surface: list[str]  # the same words as written (lower-cased), where they line up
    title: str
    feed: str
    lang: str | None
    concepts_at: dict[int, str]  # word index -> concept matched there
    covered: set[int]  # token indices inside a match of the rules' terms


_SURFACE_TABLE = {ord(ch): " " for ch in "\"“”„«»‹›,:()[]{}<>/\\-–—_+=*&^%$#@~،؛'’‘`´ʼ"}
_SURFACE_TABLE.update({ord(ch): f" {SENTENCE_BREAK} " for ch in ".!?؟;…"})


def _prepare(item: dict, ruleset: RuleSet) -> _Item:
    text = f"{strip_html(item.get('title'))} . {strip_html(item.get('summary'))}"
    tokens = split_folded(fold(text))
    surface = text.lower().translate(_SURFACE_TABLE).split()
    if len(surface) != len(tokens):  # a fold that changed the word count: show the folded words
        surface = tokens
    # find_terms counts word positions without sentence breaks: map them back to token indices
    index_of_word = [i for i, t in enumerate(tokens) if t != SENTENCE_BREAK]
    concepts_at: dict[int, str] = {}
    covered: set[int] = set()
    for concept, hits in find_terms(ruleset, tokens).items():
        for pos, _, _, _, label in hits:
            start = index_of_word[pos]
            concepts_at.setdefault(start, concept)
            length = max((len(e[0]) + 1 for e in ruleset.memo[tokens[start]] if e[4] == label), default=1)
            covered.update(index_of_word[pos:pos + length])
    return _Item(tokens, surface, item.get("title") or "", item.get("feed_url") or item.get("feed") or "",
                 item.get("lang"), concepts_at, covered)


def _ngrams(tokens: list[str], stop: frozenset[str]) -> dict[tuple[str, ...], int]:
    """Candidate n-grams (1-3 words, within a sentence) of one item -> the token index of its first occurrence."""
    found: dict[tuple[str, ...], int] = {}
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok == SENTENCE_BREAK or not _WORD_RE.match(tok):
            continue
        starts_phrase = tok not in stop or tok in OPENERS
        if tok not in stop:
            found.setdefault((variant_key(tok),), i)
        if not starts_phrase:
            continue
        for size in (2, 3):
            if i + size > n:
                break
            gram = tokens[i:i + size]
            if any(t == SENTENCE_BREAK or not _WORD_RE.match(t) for t in gram):
                break
            if gram[-1] in stop:
                continue
            found.setdefault(tuple(variant_key(t) for t in gram), i)
    return found


def _known(ruleset: RuleSet, gram: tuple[str, ...], stop: frozenset[str]) -> bool:
    """Whether the rules already match the term: a word of it (not a stop word or an article) lies
    inside a match of one of the rules' terms ("ahmed al sharaa" where the rules know "al sharaa").
    Such a phrase would only match where the rules match already."""
    tokens = list(gram)
    covered: set[int] = set()
    for hits in find_terms(ruleset, tokens).values():
        for pos, _, _, _, label in hits:
            length = max((len(e[0]) + 1 for e in ruleset.memo[tokens[pos]] if e[4] == label), default=1)
            covered.update(range(pos, pos + length))
    return any(i in covered for i, w in enumerate(gram) if w not in stop and w not in ARTICLES)


def _log_odds_z(y_f: int, n_f: int, y_b: int, n_b: int, prior: float) -> float:
    a = PRIOR_STRENGTH * prior
    a0 = PRIOR_STRENGTH
    delta = (math.log((y_f + a) / (n_f + a0 - y_f - a)) - math.log((y_b + a) / (n_b + a0 - y_b - a)))
    # The background's count is at least one in the variance: a name absent from ordinary news and
    # from the rest of the window is what we look for, not a term to distrust.
    return delta / math.sqrt(1 / (y_f + a) + 1 / max(y_b + a, 1.0))


def is_foreground(item: dict, ruleset: RuleSet) -> bool:
    """Near the story: labeled relevant by a person (and not labeled irrelevant), judged relevant,
    scored just under the threshold, or naming one of the story's sides (the rules' `sides`), where
    the story's new names appear before the rules know them."""
    label = item.get("label")
    if label is not None:
        return bool(label)
    if item.get("relevant") or float(item.get("score") or 0) >= NEAR_MISS * ruleset.threshold:
        return True
    matches = item.get("matches") or ()
    if isinstance(matches, str):  # as stored, a JSON list of "concept:term": test the text, unparsed
        return any(f'"{side}:' in matches for side in ruleset.sides)
    return any(m.split(":", 1)[0] in ruleset.sides for m in matches)


def suggest(ruleset: RuleSet, items: Iterable[dict], background: Background, *,
            previous: Iterable[dict] = (), rejected: Iterable[str] = (), limit: int = 20) -> list[Suggestion]:
    """The best `limit` new terms of the window's `items` (dicts as Store.query_items gives them:
    title, summary, feed_url, lang, score, relevant, label), against `previous`, the window before it."""
    stop = STOP_WORDS | {w for w, df in background.df.items() if df > STOP_SHARE * background.documents}
    rejected_keys = {tuple(variant_key(t) for t in split_folded(fold(r))) for r in rejected}
    fg: list[_Item] = []
    bg_texts: list[list[str]] = []
    for item in items:
        if is_foreground(item, ruleset):
            fg.append(_prepare(item, ruleset))
        else:
            bg_texts.append(folded_tokens(item))
    if not fg:
        return []

    # Foreground counts, with the evidence each suggestion shows.
    fg_items: Counter[tuple[str, ...]] = Counter()
    feeds: dict[tuple[str, ...], set[str]] = defaultdict(set)
    examples: dict[tuple[str, ...], list[str]] = defaultdict(list)
    surfaces: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    langs: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    near: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    inside: Counter[tuple[str, ...]] = Counter()  # items where it lies within a match of the rules
    for it in fg:
        for gram, i in _ngrams(it.tokens, stop).items():
            fg_items[gram] += 1
            if any(j in it.covered for j in range(i, i + len(gram)) if it.tokens[j] not in stop):
                inside[gram] += 1
            feeds[gram].add(it.feed)
            if len(examples[gram]) < MAX_EXAMPLES and it.title and it.title not in examples[gram]:
                examples[gram].append(it.title)
            surfaces[gram][" ".join(it.surface[i:i + len(gram)])] += 1
            if it.lang:
                langs[gram][it.lang.split("-")[0].lower()] += 1
            for j in range(max(0, i - 4), min(len(it.tokens), i + len(gram) + 4)):
                if j in it.concepts_at and not i <= j < i + len(gram):
                    near[gram][it.concepts_at[j]] += 1
    candidates = [g for g, c in fg_items.items() if c >= MIN_ITEMS and len(feeds[g]) >= MIN_FEEDS]
    # Known: the rules match the term itself, or the text around it ("recep tayyip" in "Recep Tayyip
    # Erdoğan") in most of the items that hold it.
    candidates = [g for g in candidates if g not in rejected_keys and inside[g] * 2 < fg_items[g]
                  and not any(_known(ruleset, tuple(split_folded(fold(form))), stop) for form in surfaces[g])]
    if not candidates:
        return []

    # Background and previous-window counts of the candidates only.
    wanted = set(candidates)
    bg_counts = _count(bg_texts, wanted)
    previous_texts = [folded_tokens(p) for p in previous]
    prev_counts = _count(previous_texts, wanted)
    n_f, n_b, n_p = len(fg), len(bg_texts), len(previous_texts)
    n_now = n_f + n_b

    positive = {c for r in ruleset.rules if r.weight > 0 for c in r.concepts}
    out: list[Suggestion] = []
    for gram in candidates:
        # The prior: the term's share of ordinary news; for a phrase, its rarest word's (an upper
        # bound, so a phrase is not favoured for lack of phrase counts).
        y_f, y_b = fg_items[gram], bg_counts[gram]
        forms = [form for form, _ in surfaces[gram].most_common()]
        words = split_folded(fold(forms[0])) or list(gram)
        z = _log_odds_z(y_f, n_f, y_b, n_b, min(background.rate(w) for w in words))
        if z <= 0:
            continue
        now_rate = (y_f + bg_counts[gram]) / n_now
        prev_rate = prev_counts[gram] / n_p if n_p else 0.0
        novelty = now_rate / (now_rate + prev_rate)
        surface = forms[0]
        concept = next((c for c, _ in near[gram].most_common() if c in positive), "")
        out.append(Suggestion(term=surface, folded=" ".join(gram), forms=forms, kind="",
                              lang=_language(surface, langs[gram]), score=z * novelty, z=z, novelty=novelty,
                              items=y_f, background_items=y_b, feeds=len(feeds[gram]), concept=concept,
                              examples=examples[gram]))
    out.sort(key=lambda s: (-s.score, s.folded))
    kept = _drop_overlaps(out, limit)
    return [replace(s, kind=_kind(tuple(s.folded.split()), fg, s.term)) for s in kept]


def _count(texts: list[list[str]], wanted: set[tuple[str, ...]]) -> Counter[tuple[str, ...]]:
    """How many of the texts (folded_tokens) hold each wanted n-gram (of variant keys)."""
    counts: Counter[tuple[str, ...]] = Counter()
    vocabulary: set[str] = set()
    for tokens in texts:
        vocabulary.update(tokens)
    # The spellings in these texts of a candidate's first word. A text holds a word candidate when
    # it holds one of its spellings (a set intersection, in C); only texts holding the first word of
    # a phrase are read word by word.
    words = {g[0] for g in wanted if len(g) == 1}
    phrase_firsts = {g[0] for g in wanted if len(g) > 1}
    key_of = {t: k for t in vocabulary if (k := variant_key(t)) in words or k in phrase_firsts}
    word_leads = {t for t, k in key_of.items() if k in words}
    phrase_leads = {t for t, k in key_of.items() if k in phrase_firsts}
    for tokens in texts:
        seen: set[tuple[str, ...]] = {(key_of[t],) for t in word_leads.intersection(tokens)}
        if not phrase_leads.isdisjoint(tokens):
            n = len(tokens)
            for i, t in enumerate(tokens):
                if t in phrase_leads:
                    first = key_of[t]
                    for size in (2, 3):
                        if i + size <= n:
                            gram = (first, *(variant_key(x) for x in tokens[i + 1:i + size]))
                            if gram in wanted:
                                seen.add(gram)
        counts.update(seen)
    return counts


def _drop_overlaps(ranked: list[Suggestion], limit: int) -> list[Suggestion]:
    """A phrase and the word it is built on rank together ("ahmed al sharaa", "al sharaa", "sharaa"):
    keep the first of them, so that the list offers ten terms, not one name three times."""
    kept: list[Suggestion] = []
    for s in ranked:
        if len(kept) == limit:
            break
        words = s.folded.split()
        if any(_inside(words, k.folded.split()) or _inside(k.folded.split(), words) for k in kept):
            continue
        kept.append(s)
    return kept


def _inside(short: list[str], long: list[str]) -> bool:
    core = [w for w in short if w not in ARTICLES]
    n = len(core)
    return bool(core) and any(long[i:i + n] == core for i in range(len(long) - n + 1))


def _kind(gram: tuple[str, ...], fg: list[_Item], surface: str) -> str:
    if len(gram) == 1:
        return "word"
    return "name" if any(w[:1].isupper() for w in _surface_case(fg, gram)) else "phrase"


def _surface_case(fg: list[_Item], gram: tuple[str, ...]) -> list[str]:
    """The words of the first title that holds the phrase, as capitalized there."""
    for it in fg:
        words = it.title.replace("-", " ").split()
        folded = [variant_key(fold(w).strip(" |")) for w in words]
        for i in range(len(folded) - len(gram) + 1):
            if tuple(folded[i:i + len(gram)]) == gram:
                return [w for w in words[i:i + len(gram)] if fold(w) not in ARTICLES]
    return []


def _language(surface: str, langs: Counter[str]) -> str:
    if _ARABIC_RE.search(surface):
        return "ar"
    if _TURKISH_RE.search(surface):
        return "tr"
    return langs.most_common(1)[0][0] if langs else "en"


def accept(rules_path: str | Path, term: str, concept: str, evidence: Suggestion | None = None,
           when: str = "") -> Path:
    """Add the term to the concept in the rules file's local overlay (rules.overlay_path), with its
    evidence as a comment; the overlay is checked as the classifier will load it, and left as it
    was when the result would not load. Returns the overlay's path."""
    if not term.strip():
        raise RulesError("--accept needs a term")
    base = load_rules(rules_path)
    if concept not in base.concepts:
        raise RulesError(f"unknown concept {concept!r} (the rules have: {', '.join(sorted(base.concepts))})")
    path = overlay_path(rules_path)
    before = path.read_text(encoding="utf-8") if path.exists() else None
    lines = [] if before else [
        f"# Local additions to {Path(rules_path).name}, merged with it wherever newswatch loads it.",
        "# `newswatch rules suggest --accept TERM` appends here; edit it as any rules file (worker/relevance/rules.py).",
    ]
    lines += ["", "[[accepted]]", f"term = {json.dumps(term.strip(), ensure_ascii=False)}",
              f"concept = {json.dumps(concept)}"]
    if evidence is not None:
        lines.append(f"# accepted {when}: score {evidence.score:.2f} (z {evidence.z:.2f}, novelty {evidence.novelty:.2f}), "
                     f"{plural(evidence.items, 'item')} near the story in {plural(evidence.feeds, 'feed')}, "
                     f"{evidence.background_items} elsewhere")
        lines += [f"#   e.g. {title[:150]}" for title in evidence.examples]
    elif when:
        lines.append(f"# accepted {when}")
    path.parent.mkdir(parents=True, exist_ok=True)  # packaged rules: config/rules/ of this directory
    path.write_text((before or "") + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_rules(rules_path)
    except RulesError:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
        raise
    return path


DEFAULT_WINDOW = timedelta(days=14)


def window_bounds(since: str | None, until: str | None = None, now: datetime | None = None) -> tuple[str, str, str]:
    """(start of the window before, start, end) as UTC ISO text: the window is `since` (default 14
    days ago) to `until` (default now); the window before it has the same length."""
    end = parse_iso(until) if until else (now or utcnow())
    start = parse_iso(since) if since else end - DEFAULT_WINDOW
    if start >= end:
        raise UsageError("--since must be before the end of the window")
    return iso(start - (end - start)), iso(start), iso(end)


MIN_WINDOW_ITEMS = 1000


def default_window(store: Store) -> tuple[str | None, str | None]:
    """(since, until) when none is given: the 14 days up to the newest stored item, widened back to
    hold at least MIN_WINDOW_ITEMS items where the store has them (an archive, or a new store)."""
    newest = store.item_time()
    if newest is None:
        return None, None
    end = parse_iso(newest) + timedelta(seconds=1)
    floor = parse_iso(store.item_time(MIN_WINDOW_ITEMS) or store.oldest_item_time() or newest)
    start = min(end - DEFAULT_WINDOW, floor)
    return iso(start), iso(end)


def suggest_from_store(store: Store, ruleset: RuleSet, since: str | None = None, until: str | None = None,
                       limit: int = 20, background: Background | None = None) -> list[Suggestion]:
    """Suggestions over the stored items published in the window, against the window before it,
    never a term a person rejected (Store.reject_term). With no window given: default_window."""
    if since is None and until is None:
        since, until = default_window(store)
    before, start, end = window_bounds(since, until)
    items = store.window_items(start, end)
    previous = store.window_items(before, start)
    return suggest(ruleset, items, background or load_background(), previous=previous,
                   rejected=store.rejected_terms(), limit=limit)


def apply_rules(store: Store, ruleset: RuleSet, since: str | None = None) -> tuple[int, int, int]:
    """Re-classify the stored items published since then with these rules: (items checked, verdicts
    changed, of which newly relevant). Scores are updated too; delivery state is not touched."""
    checked = changed = now_relevant = 0
    updates: list[tuple[int, float, bool, list[str], list[dict]]] = []
    for item_id, title, summary, score, relevant in store.verdicts(since):
        checked += 1
        v = classify(ruleset, title, summary)
        if v.relevant != bool(relevant) or abs(v.score - (score or 0.0)) > 1e-9:
            updates.append((item_id, v.score, v.relevant, v.matches, v.explanation_dicts()))
            if v.relevant != bool(relevant):
                changed += 1
                now_relevant += v.relevant
    if updates:
        store.update_verdicts(updates)
    return checked, changed, now_relevant
