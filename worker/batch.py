"""classify --jsonl: one verdict line per input line, in input order, for streams of any size.

A pipe or a terminal is classified line by line as it arrives, so `tail -f items.jsonl | newswatch
classify --jsonl -` answers each line at once. A regular file of 1 MiB or more is cut into batches
(2,000 lines or 1 MiB, whichever comes first) classified by worker processes, one per core (fork;
at most 8 by default), with at most two batches per worker in flight: memory stays bounded by
bytes, not by lines. Either way a bad line stops the run after the verdicts of every line before it.
"""

from __future__ import annotations

import codecs
import collections
import itertools
import json
import multiprocessing as mp
import os
import signal
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import BinaryIO

from .classify import classify
from .failpoints import checkpoint
from .jsonl import JsonLineError, read_objects
from .rules import RuleSet

TEXT_FIELDS = ("title", "summary", "content")
BLANK_VERDICT = '{"id": null, "relevant": false, "score": 0.0, "matches": []}'
BATCH_LINES = 2_000
BATCH_BYTES = 1 << 20
PARALLEL_MIN_BYTES = 1 << 20  # smaller files are done before worker processes would have started
MAX_DEFAULT_WORKERS = 8


class WorkerDied(RuntimeError):
    """A worker process ended without an answer (killed, out of memory)."""


def verdict_line(ruleset: RuleSet, obj: dict | None) -> str:
    """The JSON verdict of one parsed input line (None for a blank line), as the classify contract has it."""
    if obj is None:  # a blank line: still one output line per input line
        return BLANK_VERDICT
    v = classify(ruleset, obj.get("title"), obj.get("summary"), obj.get("content"), explain=False)
    return json.dumps({"id": obj.get("id"), "relevant": v.relevant, "score": v.score, "matches": v.matches},
                      ensure_ascii=False)


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines ended by \\n, \\r\\n or a lone \\r (as text files read in universal-newline mode), from
    a binary stream's lines (which end at \\n only); a UTF-8 byte-order mark before the first is dropped."""
    chunks = iter(chunks)
    first = next(chunks, b"")
    chunks = itertools.chain([first.removeprefix(codecs.BOM_UTF8)] if first else [], chunks)
    for line in chunks:
        if b"\r" not in line:
            yield line
            continue
        parts = line.replace(b"\r\n", b"\n").split(b"\r")
        if not parts[-1].strip(b"\n"):  # "a\r" ends a line, it does not start an empty one
            parts.pop()
        yield from parts


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    for line in lines:
        yield line.decode("utf-8")  # read_objects names the line of a UnicodeDecodeError


def classify_jsonl(ruleset: RuleSet, source: BinaryIO, write: Callable[[str], object],
                   workers: int | None = None, flush: Callable[[], object] | None = None) -> None:
    """Classify the JSON lines of `source` ("title", "summary", optional "id" and "content"), writing
    one verdict line per input line in input order; `flush` is called after each verdict when the
    source is a pipe or a terminal, so the verdict reaches a reader at once. Raises JsonLineError for
    the first bad line (not UTF-8, not JSON, not an object), after writing the verdicts of every line
    before it, and WorkerDied if a worker process is killed."""
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    size = _file_size(source)
    if workers > 1 and size is not None and size >= PARALLEL_MIN_BYTES and "fork" in mp.get_all_start_methods():
        _classify_parallel(ruleset, split_lines(source), write, workers)
        return
    if size is not None:
        flush = None
    for _, obj in read_objects(_decoded(split_lines(source)), TEXT_FIELDS):
        write(verdict_line(ruleset, obj) + "\n")
        if flush is not None:
            flush()


def _file_size(source: BinaryIO) -> int | None:
    """The size of a regular file; None for a pipe, a terminal or an in-memory stream."""
    try:
        st = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


# A batch's verdict lines, and (line number, reason) of a bad line that ended it: plain values, which
# cross the process boundary where an exception with its own __init__ would not unpickle.
_BatchResult = tuple[list[str], tuple[int, str] | None]
_worker_ruleset: RuleSet | None = None  # set in each worker process (inherited by fork)


def _start_worker(ruleset: RuleSet) -> None:
    global _worker_ruleset
    _worker_ruleset = ruleset
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which ends the pool


def _classify_batch(first: int, lines: list[bytes]) -> _BatchResult:
    assert _worker_ruleset is not None
    checkpoint("classify.batch")  # the test of a worker that dies
    out: list[str] = []
    try:
        for _, obj in read_objects(_decoded(lines), TEXT_FIELDS):
            out.append(verdict_line(_worker_ruleset, obj))
    except JsonLineError as e:  # renumber: the batch starts at line `first`
        return out, (first + e.line - 1, e.reason)
    return out, None


def _batches(lines: Iterator[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    """(first line number, lines): at most BATCH_LINES lines or about BATCH_BYTES bytes."""
    first, batch, size = 1, [], 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if len(batch) == BATCH_LINES or size >= BATCH_BYTES:
            yield first, batch
            first, batch, size = first + len(batch), [], 0
    if batch:
        yield first, batch


def _classify_parallel(ruleset: RuleSet, lines: Iterator[bytes], write: Callable[[str], object],
                       workers: int) -> None:
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_start_worker,
                               initargs=(ruleset,))
    in_flight: collections.deque = collections.deque()

    def write_next() -> None:
        out, error = in_flight.popleft().result()
        if out:
            write("\n".join(out) + "\n")
        if error is not None:
            raise JsonLineError(*error)

    try:
        for first, batch in _batches(lines):
            in_flight.append(pool.submit(_classify_batch, first, batch))
            if len(in_flight) >= 2 * workers:
                write_next()
        while in_flight:
            write_next()
    except BrokenProcessPool:  # from result(), or from submit() once the pool knows
        raise WorkerDied("a classify worker process died (killed, or out of memory?)") from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
