"""Writing query results: a terminal table, CSV, a JSON array, or JSON lines; and parsing date filters."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TextIO

from .clock import ISO_FORMAT, iso, utcnow
from .errors import UsageError

FORMATS = ("table", "csv", "json", "jsonl")
TABLE_COLUMNS = (("id", 7), ("published_at", 16), ("score", 6), ("relevant", 3), ("feed", 22), ("title", 0))
_RELATIVE = re.compile(r"^([0-9]{1,9})([dhw])$")
# CSV formula injection: a spreadsheet runs a cell that starts with one of these as a formula. The
# columns below hold text a feed chose (or a URL it redirected to); the other columns are numbers, or
# dates and JSON we write, which never start so.
FORMULA_START = frozenset("=+-@\t\r")
CSV_TEXT_COLUMNS = frozenset({"feed", "feed_url", "title", "summary", "link", "lang"})


def parse_when(value: str | None, option: str) -> str | None:
    """A date filter as UTC ISO text: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], or 7d / 12h / 2w ago."""
    if not value:
        return None
    value = value.strip()
    m = _RELATIVE.match(value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        try:
            delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]
            return iso(utcnow() - delta)
        except OverflowError:
            raise UsageError(f"{option}: {value!r} reaches before year 1") from None
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", ISO_FORMAT):
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return dt.strftime("%Y-%m-%d") if fmt == "%Y-%m-%d" else dt.strftime(ISO_FORMAT)
    raise UsageError(f"{option}: not a date: {value!r} (use YYYY-MM-DD, YYYY-MM-DDTHH:MM, or 7d / 12h / 2w)")


def write_rows(names: list[str], rows: Iterable[tuple], fmt: str, out: TextIO) -> int:
    """Write rows (tuples in the order of `names`) in `fmt`; returns how many. Streams: memory stays
    flat however many rows. For json and jsonl the rows are one column, the item as JSON text
    (Store.query_rows with as_json=True)."""
    count = 0
    if fmt == "table":
        index = {n: i for i, n in enumerate(names)}
        header = {"id": "ID", "published_at": "PUBLISHED (UTC)", "score": "SCORE", "relevant": "REL",
                  "feed": "FEED", "title": "TITLE"}
        heading = " ".join(header[n].ljust(w) if w else header[n] for n, w in TABLE_COLUMNS)
        for row in rows:
            if not count:
                out.write(heading + "\n")
            cells = []
            for name, width in TABLE_COLUMNS:
                value = row[index[name]]
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
        writer = csv.writer(out)
        writer.writerow(names)
        text_columns = [i for i, n in enumerate(names) if n in CSV_TEXT_COLUMNS]
        for row in rows:  # plain tuples straight from SQLite: the csv module does the rest in C
            out_row: Sequence[object] = row
            for i in text_columns:
                cell = row[i]
                if cell and cell[0] in FORMULA_START:  # rare: copy the row only then
                    out_row = [csv_cell(v) if j in text_columns else v for j, v in enumerate(row)]
                    break
            writer.writerow(out_row)
            count += 1
        return count
    if fmt == "jsonl":
        for (line,) in rows:
            out.write(line + "\n")
            count += 1
        return count
    if fmt == "json":
        out.write("[")
        for (line,) in rows:
            out.write(("," if count else "") + "\n" + line)
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    raise UsageError(f"--format: one of {', '.join(FORMATS)}")


def csv_cell(value: object) -> object:
    """A text cell as a spreadsheet shows it rather than runs it: one that starts with =, +, -, @, tab
    or carriage return gets a leading single quote (OWASP's advice on CSV injection)."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def counted(rows: Iterable[tuple], tick) -> Iterator[tuple]:
    """Pass rows through, calling tick() for each (a progress bar)."""
    for row in rows:
        tick()
        yield row
