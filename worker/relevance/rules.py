"""The rules file: format, loading with errors that name the line and key, and compilation to a term index.

A rules file (TOML) has concept groups of terms and weighted rules over them:

    threshold = 6.0          # an item is relevant when its score reaches this
    window = 30              # default co-occurrence window, in words
    sides = ["turkey", "syria"]  # the story's parties: `rules suggest` looks for new terms in items
                                 # that name one (optional)

    [concepts.turkey]
    terms = ["turkey", "türkiye", "erdoğan", "suriye{,li,liler}", "normaliz*", "تركيا"]

    [concepts.syrian_people]
    terms = ["syrian refugees", "suriyeliler"]
    shadows = ["syria"]       # where these match, the same words do not also count as "syria"

    [[rules]]
    name = "relation"
    all = ["turkey", "syria", "relation"]   # every concept must occur ...
    within = 30                              # ... within 30 words ("sentence", or "item" for anywhere)
    in = "any"                               # "title", "body", "any" (either), "item" (both as one)
    weight = 3.0                             # points per co-occurrence (negative lowers the score)
    max_count = 3                            # at most this many co-occurrences count
    unless = ["other_party"]                 # not counted in a field where one of these occurs
    group = "relation"                       # one piece of evidence: of the rules of a group that
                                             # fire, only the one with the most points counts
    why = "talks"                            # the rule in plain words, for the digest (optional)

Term syntax, all matched on folded text (case, Turkish dotted/dotless i, diacritics and Arabic letter
forms unified; see text.fold): a word; a phrase of several words; `{a,b}` alternatives
(`suriye{,li,liler}` is suriye, suriyeli, suriyeliler); a trailing `*` makes the last word a stem
that matches any word it begins (`görüş*`: görüşme, görüştü, görüşmemiz; at least 4 letters for a
one-word term). Arabic-script terms also match with the attached article and prepositions
(ال، و، ف، ب، ل، ك), so `سوريا` matches `وسوريا` and `لسوريا`.

Speed: only items that contain an anchor are matched in full. For each rule with a positive weight,
one of its concepts is an anchor (the one with the fewest stems, then the rarest words in ordinary
news, by the bundled word counts that `rules seed` uses); an item with none of their words (for a
phrase, its rarest whole word), and none of their stems anywhere in its text, cannot reach a
positive score and scores 0 at once.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..text import where
from .background import load_background
from .folding import SENTENCE_BREAK, fold

ARABIC_PREFIXES = ("", "ال", "و", "وال", "ف", "فال", "ب", "بال", "ل", "لل", "ك", "كال", "وب", "وبال",
                   "ول", "ولل", "فب", "فل")
_ARABIC_RE = re.compile(r"[\u0600-\u06FF]")
_BRACES_RE = re.compile(r"\{([^{}]*)\}")

FIELDS = ("title", "body", "any", "item")  # "any": title or body; "item": both as one text


class RulesError(UsageError):
    """A rules file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Rule:
    name: str
    concepts: tuple[str, ...]
    within: int | None  # words; None with sentence=False means anywhere in the field
    sentence: bool
    field: str
    weight: float
    max_count: int
    description: str = ""
    concept_set: frozenset[str] = frozenset()
    in_title: bool = True  # from `field`, kept as flags for the hot loop
    in_body: bool = True
    in_item: bool = False  # title and body as one text: a headline's subject, the summary's context
    unless: frozenset[str] = frozenset()  # concepts whose presence in the field cancels the rule
    group: str = ""  # rules of one group are one piece of evidence: only the strongest counts
    why: str = ""  # the rule in plain words for a reader of the digest ("talks", "Damascus as a party")


# (remaining folded tokens, last of them is a stem, concept, term as written, "concept:term")
Entry = tuple[tuple[str, ...], bool, str, str, str]
STEM_HEAD = 4  # one-word stems are looked up by their first letters
MEMO_LIMIT = 500_000  # distinct tokens remembered by RuleSet.entries


def entry_order(e: Entry, shadows: dict[str, tuple[str, ...]]) -> tuple[int, bool]:
    """Match order: longest phrases first, then concepts that shadow others."""
    return (-len(e[0]), e[2] not in shadows)


class _TokenMemo(dict):
    """token -> the entries it can start, computed on first sight (news repeats its words, so most
    tokens cost one C-level dict lookup). The sentence-break token maps to a non-empty marker, so
    that one pass over the tokens keeps the words with entries and the breaks between sentences."""

    def __init__(self, ruleset: RuleSet) -> None:
        super().__init__()
        self.ruleset = ruleset
        self[SENTENCE_BREAK] = SENTENCE_MARK

    def __missing__(self, token: str) -> tuple[Entry, ...]:
        found = self.ruleset.entries(token)
        if len(self) > MEMO_LIMIT:
            self.clear()
            self[SENTENCE_BREAK] = SENTENCE_MARK
        self[token] = found
        return found


SENTENCE_MARK: tuple[Entry, ...] = (((), False, "", SENTENCE_BREAK, ""),)


@dataclass
class RuleSet:
    path: str
    threshold: float
    concepts: dict[str, list[str]]
    rules: list[Rule]
    shadows: dict[str, tuple[str, ...]] = field(default_factory=dict)  # concept -> concepts it hides
    sides: tuple[str, ...] = ()  # the story's parties: an item naming one is near the story (suggest)
    index: dict[str, list[Entry]] = field(default_factory=dict)  # first folded token -> entries
    stems: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # head -> (stem, concept, term)
    anchors: frozenset[str] = frozenset()  # words of the anchor concepts
    anchor_stems: tuple[str, ...] = ()  # their stems, tested as substrings of the folded text
    memo: _TokenMemo = field(init=False, repr=False)  # entries(), memoized, for the matcher

    def __post_init__(self) -> None:
        self.memo = _TokenMemo(self)

    def entries(self, token: str) -> tuple[Entry, ...]:
        """Every entry a token can start, in match order: exact words and phrases, and the stems it begins with."""
        exact = tuple(self.index.get(token, ()))
        stems = tuple(((), False, concept, term, f"{concept}:{term}")
                      for stem, concept, term in self.stems.get(token[:STEM_HEAD], ()) if token.startswith(stem))
        return tuple(sorted(exact + stems, key=lambda e: entry_order(e, self.shadows)))


def expand_term(term: str) -> list[tuple[tuple[str, ...], bool]]:
    """Every folded token sequence a term stands for, and whether its last token is a stem."""
    variants = [""]
    pos = 0
    for m in _BRACES_RE.finditer(term):
        variants = [v + term[pos:m.start()] + alt for v in variants for alt in m.group(1).split(",")]
        pos = m.end()
    variants = [v + term[pos:] for v in variants]
    out: list[tuple[tuple[str, ...], bool]] = []
    for v in variants:
        stem = v.endswith("*")
        words = fold(v.rstrip("*")).split()
        if not words:
            continue
        if _ARABIC_RE.search(words[0]):
            base = words[0][2:] if words[0].startswith("ال") and len(words[0]) > 4 else words[0]
            out.extend(((p + base, *words[1:]), stem) for p in ARABIC_PREFIXES)
        else:
            out.append((tuple(words), stem))
    return list(dict.fromkeys(out))


def _line_of(source: str, table: str | None, key: str, item: int | None = None) -> int | None:
    """Best-effort line number of `key` inside `[table]`, or inside the item-th `[[rules]]` (tomllib
    reports none for valid TOML); for a rule without the key, the line of its `[[rules]]` header."""
    current: str | None = None
    rules_seen = 0
    header: int | None = None
    for n, line in enumerate(source.splitlines(), 1):
        s = line.strip()
        if s.startswith("["):
            current = s.strip("[] ")
            if s.replace(" ", "") == "[[rules]]":
                current = f"rules#{rules_seen}"
                rules_seen += 1
                if item is not None and current == f"rules#{item}":
                    header = n
            continue
        wanted = f"rules#{item}" if item is not None else table
        if current == wanted and re.match(rf"{re.escape(key)}\s*=", s):
            return n
    return header


def overlay_path(path: str | Path) -> Path:
    """The local overlay of a rules file: FILE.local.toml beside FILE (turkey-syria.local.toml); for
    the rules shipped in the package, config/rules/ of the working directory, where the database is
    too: the installed package is not the user's to write."""
    from ..config import is_packaged  # config does not import rules; imported here to keep it so
    path = Path(path)
    name = f"{path.name.removesuffix('.toml')}.local.toml"
    return Path("config/rules", name) if is_packaged(path) else path.with_name(name)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"{what} not found: {where(path)}") from None
    except UnicodeDecodeError as e:
        raise RulesError(f"{what} {path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise RulesError(f"{what} {path}: {e.strerror}") from None


def _parse_toml(source: str, path: Path, what: str) -> dict:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{what} {path}: invalid TOML: {e}") from None


def load_rules(path: str | Path, overlay: bool = True) -> RuleSet:
    """The rules file, merged with its local overlay (overlay_path) when there is one."""
    return compile_rules(read_rules(path, overlay))


@dataclass(frozen=True)
class RulesText:
    """A rules file's text and its overlay's, read but not yet compiled."""
    path: Path
    source: str
    local: Path
    extra_source: str | None


def read_rules(path: str | Path, overlay: bool = True) -> RulesText:
    """The texts of a rules file and its overlay: a file that is missing or unreadable fails here, in
    a millisecond; one that does not compile fails in compile_rules."""
    path = Path(path)
    source = _read_text(path, "rules file")
    local = overlay_path(path)
    extra_source = _read_text(local, "rules overlay") if overlay and local.exists() else None
    return RulesText(path, source, local, extra_source)


def compile_rules(text: RulesText) -> RuleSet:
    """The rule set of texts read by read_rules."""
    return _compile(text.path, text.source, text.local, text.extra_source)


# The daemon reloads the rules every cycle and each CLI command loads them: compiling takes ~0.2 s,
# so a file whose text (and overlay's) is unchanged gets the rule set compiled last time. Errors are
# not cached: a broken file is read and reported again.
@functools.lru_cache(maxsize=8)
def _compile(path: Path, source: str, local: Path, extra_source: str | None) -> RuleSet:
    data = _parse_toml(source, path, "rules file")
    if extra_source is None:
        return parse_rules(data, str(path), source)
    extra = _parse_toml(extra_source, local, "rules overlay")
    merged = merge_overlay(data, extra, str(local))
    if extra.get("rules"):  # its rules alone first, so that errors name the overlay's lines
        parse_rules(extra_check(extra, merged), str(local), extra_source)
    return parse_rules(merged, f"{path} + {local.name}", source)


OVERLAY_KEYS = ("description", "concepts", "rules", "accepted")


def merge_overlay(data: dict, extra: dict, path: str = "<overlay>") -> dict:
    """The rules with an overlay's additions: its [concepts.NAME] terms join (or start) those concepts,
    its [[rules]] follow the file's, and each [[accepted]] entry (term, concept) adds its term to its
    concept. An overlay adds; it cannot change the threshold or remove a term."""
    for key in extra:
        if key not in OVERLAY_KEYS:
            raise RulesError(f"rules overlay {path}: {key}: unknown key (an overlay may hold "
                             f"{', '.join(OVERLAY_KEYS)}; the threshold stays in the rules file)")
    concepts = {name: dict(body) for name, body in data.get("concepts", {}).items()}
    for name, body in extra.get("concepts", {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("terms", []), list):
            raise RulesError(f"rules overlay {path}: [concepts.{name}] must be a table with a terms list")
        merged = concepts.setdefault(name, {"terms": []})
        merged["terms"] = [*merged.get("terms", []), *body.get("terms", [])]
    accepted = extra.get("accepted", [])
    if not isinstance(accepted, list):
        raise RulesError(f"rules overlay {path}: accepted must be [[accepted]] tables")
    for n, entry in enumerate(accepted, 1):
        term, concept = (entry.get("term"), entry.get("concept")) if isinstance(entry, dict) else (None, None)
        if not isinstance(term, str) or not term.strip() or not isinstance(concept, str):
            raise RulesError(f"rules overlay {path}: [[accepted]] #{n}: needs a term and a concept (strings)")
        if concept not in concepts:
            raise RulesError(f"rules overlay {path}: [[accepted]] #{n} {term!r}: unknown concept {concept!r}")
        concepts[concept]["terms"] = [*concepts[concept].get("terms", []), term]
    rules = [*data.get("rules", []), *extra.get("rules", [])]
    return {**data, "concepts": concepts, "rules": rules}


def extra_check(extra: dict, merged: dict) -> dict:
    """The overlay as a rules file of its own, for errors that name its lines: its rules over the
    merged concepts, at the merged threshold."""
    return {"threshold": merged.get("threshold", 1), "window": merged.get("window", 30),
            "concepts": merged["concepts"], "rules": extra["rules"]}


def parse_rules(data: dict, path: str = "<rules>", source: str = "") -> RuleSet:
    def fail(table: str | None, key: str, msg: str, item: int | None = None) -> RulesError:
        line = _line_of(source, table, key, item)
        where = f"line {line}: " if line else ""
        name = f"[{table}] {key}" if table else key
        if item is not None:
            name = f"[[rules]] #{item + 1} {key}"
        return RulesError(f"rules file {path}: {where}{name}: {msg}")

    allowed_top = {"name", "description", "threshold", "window", "concepts", "rules", "sides"}
    for key in data:
        if key not in allowed_top:
            raise fail(None, key, f"unknown key (expected one of {', '.join(sorted(allowed_top))})")
    threshold = data.get("threshold")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold <= 0:
        raise fail(None, "threshold", "required, a number greater than 0")
    window = data.get("window", 30)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise fail(None, "window", "must be a positive integer (words)")

    concepts: dict[str, list[str]] = {}
    shadowed: dict[str, tuple[str, ...]] = {}
    raw_concepts = data.get("concepts")
    if not isinstance(raw_concepts, dict) or not raw_concepts:
        raise fail(None, "concepts", "required: at least one [concepts.NAME] table")
    for cname, body in raw_concepts.items():
        table = f"concepts.{cname}"
        if not isinstance(body, dict):
            raise fail(None, cname, "a concept must be a table with `terms`")
        for key in body:
            if key not in ("terms", "description", "shadows"):
                raise fail(table, key, "unknown key (expected terms, description, shadows)")
        terms = body.get("terms")
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            raise fail(table, "terms", "must be a list of non-empty strings")
        concepts[cname] = terms
        shadows = body.get("shadows", [])
        if not isinstance(shadows, list) or not all(isinstance(x, str) for x in shadows):
            raise fail(table, "shadows", "must be a list of concept names")
        if shadows:
            shadowed[cname] = tuple(shadows)

    rules: list[Rule] = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise fail(None, "rules", "required: at least one [[rules]] table")
    rule_keys = {"name", "description", "all", "within", "in", "weight", "max_count", "unless", "group", "why"}

    def concept_names(r: dict, i: int, key: str, default: list | None) -> list[str]:
        """A rule's list of concepts under `key` (one name alone is a list of one); required without a default."""
        value = r.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or (default is None and not value) or not all(isinstance(n, str) for n in value):
            raise fail(None, key, "must be a list of concept names", i)
        for n in value:
            if n not in concepts:
                raise fail(None, key, f"unknown concept {n!r}", i)
        return value

    for i, r in enumerate(raw_rules):
        for key in r:
            if key not in rule_keys:
                raise fail(None, key, f"unknown key (expected one of {', '.join(sorted(rule_keys))})", i)
        name = r.get("name", f"rule-{i + 1}")
        names = concept_names(r, i, "all", None)
        within = r.get("within", window if len(names) > 1 else "item")
        sentence = within == "sentence"
        if within in ("sentence", "item"):
            within_words = None
        elif isinstance(within, int) and not isinstance(within, bool) and within > 0:
            within_words = within
        else:
            raise fail(None, "within", 'must be a number of words, "sentence" or "item"', i)
        fld = r.get("in", "any")
        if fld not in FIELDS:
            raise fail(None, "in", f"must be one of {', '.join(FIELDS)}", i)
        if fld == "item" and (within_words is not None or sentence):
            raise fail(None, "within", 'must be "item" when in = "item" (words are not counted across fields)', i)
        weight = r.get("weight")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise fail(None, "weight", "required, a number", i)
        max_count = r.get("max_count", 1)
        if not isinstance(max_count, int) or isinstance(max_count, bool) or max_count < 1:
            raise fail(None, "max_count", "must be a positive integer", i)
        unless = concept_names(r, i, "unless", [])
        for n in unless:
            if n in names:  # the rule could never count
                raise fail(None, "unless", f"{n!r} is also in all", i)
        group = r.get("group", "")
        if not isinstance(group, str):
            raise fail(None, "group", "must be a string (the name of the group)", i)
        why = r.get("why", "")
        if not isinstance(why, str):
            raise fail(None, "why", "must be a string (the rule in plain words, for the digest)", i)
        rules.append(Rule(str(name), tuple(names), within_words, sentence, fld, float(weight), max_count,
                          str(r.get("description", "")), frozenset(names), fld in ("title", "any"),
                          fld in ("body", "any"), fld == "item", frozenset(unless), group,
                          why.strip()))

    for cname, hidden in shadowed.items():
        for other in hidden:
            if other not in concepts:
                raise fail(f"concepts.{cname}", "shadows", f"unknown concept {other!r}")
    sides = data.get("sides", [])
    if not isinstance(sides, list) or not all(isinstance(x, str) for x in sides):
        raise fail(None, "sides", "must be a list of concept names")
    for side in sides:
        if side not in concepts:
            raise fail(None, "sides", f"unknown concept {side!r}")
    ruleset = RuleSet(path, float(threshold), concepts, rules, shadowed, sides=tuple(sides))
    df = load_background().df  # words in 62,127 real news items: the pre-filter keys on rare ones
    seen: set[tuple[tuple[str, ...], bool, str]] = set()
    keys_of: dict[str, set[str]] = {c: set() for c in concepts}
    stems_of: dict[str, set[str]] = {c: set() for c in concepts}
    for cname, terms in concepts.items():
        for term in terms:
            for seq, stem in expand_term(term):
                # "erdogan" and "erdoğan" fold to the same tokens: one entry, credited to the first.
                if (seq, stem, cname) in seen:
                    continue
                seen.add((seq, stem, cname))
                if stem and len(seq) == 1:
                    if len(seq[0]) < STEM_HEAD:
                        raise fail(f"concepts.{cname}", "terms",
                                   f"stem {term!r} is shorter than {STEM_HEAD} letters")
                    ruleset.stems.setdefault(seq[0][:STEM_HEAD], []).append((seq[0], cname, term))
                    stems_of[cname].add(seq[0])
                else:
                    ruleset.index.setdefault(seq[0], []).append((seq[1:], stem, cname, term, f"{cname}:{term}"))
                    # The pre-filter needs one word every match must contain: a phrase's rarest whole
                    # word in ordinary news ("regime" in "with the regime", "syrian" in "syrian children").
                    keys_of[cname].add(min(seq[:-1] if stem else seq, key=lambda w: (df.get(w, 0), -len(w))))
    # Longest phrases first, so "foreign minister" is tried before "foreign"; at equal length a
    # shadowing concept first, so that "syrians" (people) is seen before "syrians" could count as "syria".
    for entries in ruleset.index.values():
        entries.sort(key=lambda e: entry_order(e, shadowed))
    anchors: set[str] = set()
    anchor_stems: set[str] = set()
    # A rule's anchor: its concept with the fewest stems, then the rarest keys, then the fewest keys.
    cost = {c: (len(stems_of[c]), sum(df.get(k, 0) for k in keys_of[c]), len(keys_of[c])) for c in concepts}
    for rule in rules:
        if rule.weight > 0:
            anchor = min(rule.concepts, key=cost.__getitem__)
            anchors |= keys_of[anchor]
            anchor_stems |= stems_of[anchor]
    ruleset.anchors = frozenset(anchors)
    ruleset.anchor_stems = tuple(sorted(anchor_stems))
    return ruleset


def plain_words(ruleset: RuleSet) -> dict[str, str]:
    """Rule name -> its `why` (the rule in plain words), for the rules that have one."""
    return {r.name: r.why for r in ruleset.rules if r.why}
