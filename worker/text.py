"""Text helpers: the visible text of HTML (for storage and matching), plurals, paths in messages.
Folding for matching is in relevance/folding.py."""

from __future__ import annotations

import html
import re
from pathlib import Path

_TAG_RE = re.compile(r"<[^>]*>")
_HIDDEN_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
_WS_RE = re.compile(r"\s+")



def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def where(path: object) -> str:
    """A path as the user should read it in an error: relative ones say what they are relative to."""
    p = Path(str(path))
    return str(p) if p.is_absolute() else f"{p} (relative to the working directory {Path.cwd()})"


def strip_html(text: str | None, collapse: bool = True) -> str:
    """Visible text of an HTML fragment, entities decoded; whitespace collapsed unless collapse=False."""
    if not text:
        return ""
    if "<" in text:
        if "<!--" in text or "<s" in text or "<S" in text:
            text = _HIDDEN_RE.sub(" ", text)
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return _WS_RE.sub(" ", text).strip() if collapse else text
