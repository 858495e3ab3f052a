"""Reading JSON lines: one object per line, each error naming its line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

NOT_AN_OBJECT = "expected a JSON object"


class JsonLineError(ValueError):
    """A line that is not UTF-8, not JSON, not an object, or has a text field that is not text."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def read_objects(lines: Iterable[str], text_fields: tuple[str, ...] = ()) -> Iterator[tuple[int, dict | None]]:
    """(line number from 1, the line's JSON object) for each line, None for a blank one. Streams: reads
    a line only when the caller asks for the next. Each of text_fields, when present and not null,
    must be a string."""
    *others, last = text_fields or ("",)
    must_be_strings = f"{', '.join(others)} and {last} must be strings" if others else f"{last} must be strings"
    lines = iter(lines)
    n = 0
    loads = json.loads
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError:  # a text file (or stdin) decoded as it is read
            raise JsonLineError(n + 1, "not UTF-8 text") from None
        n += 1
        if not line.strip():
            yield n, None
            continue
        try:
            obj = loads(line)
        except json.JSONDecodeError as e:
            raise JsonLineError(n, f"invalid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise JsonLineError(n, NOT_AN_OBJECT)
        for k in text_fields:
            v = obj.get(k)
            if v is not None and not isinstance(v, str):
                raise JsonLineError(n, must_be_strings)
        yield n, obj
