"""The real news corpus for tests: read at run time from ../shared/corpus (never copied into the
repository); tests that need it skip, saying so, where it is missing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from worker.relevance.evaluate import corpus_dir, read_labeled

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
CORPUS = corpus_dir(REPO)

needs_corpus = pytest.mark.skipif(
    CORPUS is None, reason="needs the real news corpus in ../shared/corpus (or NEWSWATCH_CORPUS): not here")


def real_2023() -> list[dict]:
    """The 373 labeled real 2023 feed items naming both states."""
    assert CORPUS is not None
    with gzip.open(CORPUS / "real-2023-labeled.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def real_2025(split: str | None = None) -> list[dict]:
    """The real December 2024 – November 2025 items with this repository's labels; split "tune" or
    "heldout" (chosen by a hash of the link before any item was read)."""
    items = read_labeled(DATA / "real-2025-labels.jsonl")
    return [i for i in items if split is None or i["split"] == split]
