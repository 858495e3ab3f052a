"""Writing query results: a terminal table, CSV, a JSON array, or JSON lines; and parsing date filters."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from .clock import ISO_FORMAT, iso, utcnow
from .errors import NewswatchError, UsageError
from .failpoints import checkpoint
from .item_columns import CSV_HEADER
from .processes import ForkedCall, ForkedCallFailed, can_fork

if TYPE_CHECKING:
    from .records import ItemFilter
    from .store import Store

log = logging.getLogger(__name__)
TABLE_COLUMNS = (("id", 7), ("published_at", 16), ("score", 6), ("relevant", 3), ("feed", 22), ("title", 0))
_RELATIVE = re.compile(r"^([0-9]{1,9})([dhw])$")
# An export of at least this many items (by the time index) is written by a process per core: for
# fewer, starting the processes costs more than they save.
PARALLEL_MIN_ITEMS = 20_000


class ExportFailed(NewswatchError):
    """A process writing part of an export failed."""


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


def export_items(db_path: Path, flt: ItemFilter, fts: str | None, fmt: str, out: IO[bytes], workers: int = 1,
                 progress: Callable[[int], object] | None = None, spool_dir: Path | None = None,
                 min_parallel: int = PARALLEL_MIN_ITEMS) -> int:
    """Write the items matching the filter to `out` in `fmt` (UTF-8), newest first, or best first with
    a full-text query `fts`; returns how many. `progress(n)` hears of rows as they are written.

    CSV and JSON lines are built by SQLite (Store.item_lines), which then keeps one core busy. So a
    large export by time into a file is cut into a run of times per worker: the newest run is written
    here while forked processes write the others, each to an unnamed file in `spool_dir` (by default
    the output's own directory), copied to `out` in order. The bytes are those one process writes,
    and no run includes an item stored after the export began. An export into a pipe or a terminal,
    a JSON array, an export with `fts`, and one on a single core are written by one process."""
    from .store import Store
    with Store(db_path, create=False) as store:
        if fmt not in ("csv", "jsonl"):
            names, rows = store.query_rows(flt, fts=fts, as_json=fmt == "json")
            with _text(out) as text:
                return write_rows(names, rows if progress is None else _ticking(rows, progress), fmt, text)
        cuts: list[str] = []
        if workers > 1 and fts is None and can_fork() and _is_regular_file(out):
            cuts = store.time_splits(flt, workers, min_parallel)
        if not cuts:
            return write_lines(store, flt, fmt, out, fts, progress, header=True)
        flt = dataclasses.replace(flt, max_id=store.last_item_id())
    # The database is closed before the fork: a child inherits none of this process's SQLite state.
    runs = [dataclasses.replace(flt, since=since, until=until)
            for since, until in zip([*cuts, flt.since], [flt.until, *cuts], strict=True)]
    with ExitStack() as cleanup:
        try:
            spool_dir = spool_dir or _directory_of(out)
            spools = [cleanup.enter_context(tempfile.TemporaryFile(dir=spool_dir)) for _ in runs[1:]]
        except OSError as e:  # a directory we may not write: this process writes it all
            log.info("export in one process: no files for its parts in %s (%s)", spool_dir, e.strerror)
            runs, spools = [flt], []
        calls: list[ForkedCall] = []
        cleanup.callback(_stop, calls)  # if the export fails or is interrupted
        for run, spool in zip(runs[1:], spools, strict=True):
            calls.append(ForkedCall(_write_forked_run, db_path, run, fmt, spool))
        with Store(db_path, create=False) as store:
            count = write_lines(store, runs[0], fmt, out, None, progress, header=True)
        for call, spool in zip(calls, spools, strict=True):
            try:
                n = call.result()
            except ForkedCallFailed as e:
                raise ExportFailed(f"export: a process writing part of it failed: {e}") from None
            _copy_out(spool, out)
            count += n
            if progress:
                progress(n)
        return count


def write_lines(store: Store, flt: ItemFilter, fmt: str, out: IO[bytes], fts: str | None = None,
                progress: Callable[[int], object] | None = None, limit: int | None = None,
                header: bool = False) -> int:
    """Write the items matching the filter as CSV records (after a header line if `header`) or JSON
    lines; returns how many."""
    if fmt == "csv" and header:
        out.write(CSV_HEADER.encode())
    count = 0
    for lines in store.item_lines(flt, fmt, fts, limit):
        out.write(b"".join(lines))
        count += len(lines)
        if progress:
            progress(len(lines))
    return count


def _write_forked_run(db_path: Path, flt: ItemFilter, fmt: str, spool: IO[bytes]) -> int:
    """In a forked process: write one run of an export to `spool`, flushed (the process ends with
    os._exit, which flushes nothing)."""
    from .store import Store
    checkpoint("export.part")
    with Store(db_path, create=False) as store:
        n = write_lines(store, flt, fmt, spool)
    spool.flush()
    return n


def _copy_out(spool: IO[bytes], out: IO[bytes]) -> None:
    """Append the spool's bytes to `out`: by the kernel where it can (copy_file_range: the bytes never
    pass through this process, a third of the time of a read and write for the month), else read and
    written (another system, an output opened for appending)."""
    out.flush()
    size = os.fstat(spool.fileno()).st_size
    copied = 0
    if hasattr(os, "copy_file_range"):
        try:
            while copied < size:
                n = os.copy_file_range(spool.fileno(), out.fileno(), size - copied, copied)
                if not n:
                    break
                copied += n
        except OSError:
            pass  # the rest is copied below
    spool.seek(copied)
    shutil.copyfileobj(spool, out, 1 << 20)


def _directory_of(out: IO[bytes]) -> Path | None:
    """The directory of the file `out` writes to (on Linux, also for a standard output sent to a file
    or -o /dev/stdout), so that an export's parts wait on the disk that will hold it; None where
    that cannot be told (the temporary directory then)."""
    link = Path(f"/proc/self/fd/{out.fileno()}")
    try:
        return Path(os.path.realpath(link)).parent if link.exists() else None
    except OSError:
        return None


def _is_regular_file(out: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(out.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both OSError and ValueError
        return False


def _stop(calls: list[ForkedCall]) -> None:
    for call in calls:
        try:
            call.stop()
        except OSError:
            pass  # gone already: the others still need stopping


def _ticking(rows: Iterable[tuple], progress: Callable[[int], object]) -> Iterator[tuple]:
    for row in rows:
        progress(1)
        yield row


@contextmanager
def _text(out: IO[bytes]) -> Iterator[TextIO]:
    """`out` as UTF-8 text for the time of a write, left open."""
    text = io.TextIOWrapper(out, encoding="utf-8", errors="backslashreplace", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()


def write_rows(names: list[str], rows: Iterable[tuple], fmt: str, out: TextIO) -> int:
    """Write rows (tuples in the order of `names`) as a table or a JSON array ("json": the rows are one
    column, the item as JSON text, from Store.query_rows with as_json=True); returns how many.
    Streams: memory stays flat however many rows."""
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
    if fmt == "json":
        out.write("[")
        for (line,) in rows:
            out.write(("," if count else "") + "\n" + line)
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    raise UsageError("--format: table or json here (CSV and JSON lines are written by write_lines)")
