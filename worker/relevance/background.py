"""The background: how many items of ordinary news contain each folded word. The bundled table
(worker/data/background-df.tsv.gz) counts the 62,127 items of the December 2022 news corpus (words
in at least 5 items); `rules seed --background FILE` takes a JSON-lines corpus or another table.
rules uses it to key its pre-filter on rare words, seed and suggest to tell distinctive terms."""

from __future__ import annotations

import functools
import gzip
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..jsonl import JsonLineError, read_objects
from ..text import strip_html
from .folding import SENTENCE_BREAK, fold, split_folded

BUNDLED = "background-df.tsv.gz"


class BackgroundError(UsageError):
    """A background file that cannot be used; the message names it."""


@dataclass
class Background:
    documents: int
    df: dict[str, int]
    source: str

    def rate(self, word: str) -> float:
        """Smoothed share of background items containing the word."""
        return (self.df.get(word, 0) + 1) / (self.documents + 2)


def load_background(path: str | Path | None = None) -> Background:
    """A word table or a corpus of items at `path`; without one, the bundled table, read once per
    process (compiling rules and suggesting terms both use it)."""
    return _bundled() if path is None else _read(path)


@functools.cache
def _bundled() -> Background:
    return _read(None)


def _read(path: str | Path | None) -> Background:
    try:
        if path is None:
            # beside the package's modules, as config.packaged_file finds the defaults
            raw = (Path(__file__).parent.parent / "data" / BUNDLED).read_bytes()
            source = "the bundled December 2022 news corpus"
        else:
            raw = Path(path).read_bytes()
            source = str(path)
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:  # zlib.error: a corrupt gzip file
        raise BackgroundError(f"background {path}: {e}") from None
    if text.lstrip().startswith("{"):  # a corpus of items, not a frequency table
        return _background_from_items(text.splitlines(), source)
    df: dict[str, int] = {}
    documents = 0
    for n, line in enumerate(text.splitlines(), 1):
        word, _, count = line.partition("\t")
        if not count.strip().isdigit():
            raise BackgroundError(f"background {source} line {n}: expected WORD<TAB>COUNT")
        if word == "# documents":
            documents = int(count)
        else:
            df[word] = int(count)
    if not documents:
        raise BackgroundError(f"background {source}: no '# documents' line")
    return Background(documents, df, source)


def _background_from_items(lines: list[str], source: str) -> Background:
    df: Counter[str] = Counter()
    documents = 0
    try:
        for _, obj in read_objects(lines, ("title", "summary")):
            if obj is None:
                continue
            documents += 1
            text = f"{strip_html(obj.get('title'))} . {strip_html(obj.get('summary'))}"
            df.update({w for w in split_folded(fold(text)) if w != SENTENCE_BREAK and not w.isdigit()})
    except JsonLineError as e:
        raise BackgroundError(f"background {source} {e}") from None
    return Background(documents, dict(df), source)
