"""Writing query results: a terminal table, CSV, a JSON array, or JSON lines; and parsing date filters."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TextIO

from .errors import UsageError

FORMATS = ("table", "csv", "json", "jsonl")
TABLE_COLUMNS = (("id", 7), ("published_at", 16), ("score", 6), ("relevant", 3), ("feed", 22), ("title", 0))
_RELATIVE = re.compile(r"^(\d+)([dhw])$")


def parse_when(value: str | None, option: str) -> str | None:
    """A date filter as UTC ISO text: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], or 7d / 12h / 2w ago."""
    if not value:
        return None
    value = value.strip()
    m = _RELATIVE.match(value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]
        return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return dt.strftime("%Y-%m-%d") if fmt == "%Y-%m-%d" else dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise UsageError(f"{option}: not a date: {value!r} (use YYYY-MM-DD, YYYY-MM-DDTHH:MM, or 7d / 12h / 2w)")


def _decoded(row: dict) -> dict:
    """JSON columns as JSON, 0/1 as booleans: what a program reading the export wants."""
    out = dict(row)
    for key in ("matches", "explanation"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    for key in ("relevant", "label"):
        if out.get(key) is not None:
            out[key] = bool(out[key])
    return out


def write_rows(rows: Iterable[dict], fmt: str, out: TextIO, columns: tuple[str, ...] | None = None) -> int:
    """Write rows in `fmt`; returns how many. Streams: memory stays flat however many rows."""
    count = 0
    if fmt == "table":
        for row in rows:
            cells = []
            for name, width in TABLE_COLUMNS:
                value = row.get(name)
                if name == "relevant":
                    value = "*" if value else ""
                elif name == "published_at":
                    value = (value or "").replace("T", " ")[:16]
                elif name == "score":
                    value = f"{value:g}" if value is not None else ""
                text = str(value if value is not None else "")
                cells.append(text if not width else (text[:width - 1] + "…" if len(text) > width else text).ljust(width))
            out.write(" ".join(cells).rstrip() + "\n")
            count += 1
        return count
    if fmt == "csv":
        writer: csv.DictWriter | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(columns or row), extrasaction="ignore")
                writer.writeheader()
            writer.writerow(row)
            count += 1
        if writer is None and columns:
            csv.DictWriter(out, fieldnames=list(columns)).writeheader()
        return count
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(_decoded(row), ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n" + json.dumps(_decoded(row), ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    raise UsageError(f"--format: one of {', '.join(FORMATS)}")


def counted(rows: Iterable[dict], tick) -> Iterator[dict]:
    """Pass rows through, calling tick() for each (a progress bar)."""
    for row in rows:
        tick()
        yield row
