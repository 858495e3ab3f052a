"""classify --jsonl: one verdict line per input line, in input order, for streams of any size.

Large inputs are cut into batches (2,000 lines or 1 MiB, whichever comes first) classified by worker
processes, one per core (fork; at most 8 by default), with at most two batches per worker in flight:
memory stays bounded by bytes, not by lines. A regular file of 1 MiB or more goes to the workers at
once. A pipe or a terminal starts line by line, each verdict written before the next read that may
wait, so `tail -f items.jsonl | newswatch classify --jsonl -` answers each line as it comes; after
2,000 lines, if the input is backing up (a read fills the whole buffer), the rest goes to the workers,
which still write out what they have before each read that may wait. Either way a bad line stops the
run after the verdicts of every line before it.
"""

from __future__ import annotations

import codecs
import collections
import json
import os
import select
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import BinaryIO

from ..failpoints import checkpoint
from ..jsonl import JsonLineError, read_objects
from ..processes import can_fork, default_workers, worker_pool
from .classify import classify
from .rules import RuleSet

TEXT_FIELDS = ("title", "summary", "content")
BLANK_VERDICT = '{"id": null, "relevant": false, "score": 0.0, "matches": []}'
BATCH_LINES = 2_000
BATCH_BYTES = 1 << 20
PARALLEL_MIN_BYTES = 1 << 20  # smaller files are done before worker processes would have started
READ_SIZE = 1 << 16  # one read of a pipe
PAUSE = 0.05  # seconds without input after which the workers' verdicts are written out

Write = Callable[[str], object]
Flush = Callable[[], object]


class WorkerDied(RuntimeError):
    """A worker process ended without an answer (killed, out of memory)."""


def verdict_line(ruleset: RuleSet, obj: dict | None) -> str:
    """The JSON verdict of one parsed input line (None for a blank line), as the classify contract has it."""
    if obj is None:  # a blank line: still one output line per input line
        return BLANK_VERDICT
    v = classify(ruleset, obj.get("title"), obj.get("summary"), obj.get("content"), explain=False)
    return json.dumps({"id": obj.get("id"), "relevant": v.relevant, "score": v.score, "matches": v.matches},
                      ensure_ascii=False)


def classify_jsonl(ruleset: RuleSet, source: BinaryIO, write: Write, workers: int | None = None,
                   flush: Flush | None = None) -> None:
    """Classify the JSON lines of `source` ("title", "summary", optional "id" and "content"), writing
    one verdict line per input line in input order. From a pipe or a terminal, `flush` is called
    whenever the input has nothing more to read yet, so each verdict reaches a reader at once. Raises
    JsonLineError for the first bad line (not UTF-8, not JSON, not an object), after writing the
    verdicts of every line before it, and WorkerDied if a worker process is killed."""
    if workers is None:
        workers = default_workers()
    parallel = workers > 1 and can_fork()
    size = _file_size(source)
    if size is not None or flush is None:  # a file (or a stream nobody waits on): no reads that wait
        if parallel and size is not None and size >= PARALLEL_MIN_BYTES:
            _classify_parallel(ruleset, split_lines(source), write, workers)
        else:
            _classify_serial(ruleset, split_lines(source), write)
        return
    reader = _PipeReader(source.fileno())
    lines = split_lines(reader.lines())
    done = _classify_serial(ruleset, lines, write, flush, reader if parallel else None)
    if done is not None:  # the input backed up: the rest goes to the workers
        _classify_parallel(ruleset, lines, write, workers, first=done + 1, flush=flush, reader=reader)


def split_lines(chunks: Iterable[bytes | None]) -> Iterator[bytes | None]:
    """Lines ended by \\n, \\r\\n or a lone \\r (as text files read in universal-newline mode), from
    a binary stream's lines (which end at \\n only); a UTF-8 byte-order mark before the first is
    dropped. None (a pipe reader's "about to wait") passes through."""
    first = True
    for line in chunks:
        if first and line is not None:
            line, first = line.removeprefix(codecs.BOM_UTF8), False
        if line is None or b"\r" not in line:
            yield line
            continue
        parts = line.replace(b"\r\n", b"\n").split(b"\r")
        if parts[-1] == b"":  # "a\r" ends a line, it does not start an empty one ("\r\n" alone is blank)
            parts.pop()
        yield from parts


class _PipeReader:
    """The lines of a pipe or a terminal, read straight from its descriptor, with None before each read
    that may wait (so that the consumer can write out what it has first)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.backlog = False  # at the last None: more input was already waiting (the producer is ahead)

    def ready(self, timeout: float = 0) -> bool:
        """Whether input (or its end) is there to read, waiting at most `timeout` seconds."""
        return bool(select.select([self.fd], [], [], timeout)[0])

    def lines(self) -> Iterator[bytes | None]:
        partial: list[bytes] = []  # the start of a line that has not ended yet (a long line: many reads)
        while True:
            # Asked after the lines of the last read were taken, so a producer that kept writing while
            # we worked is seen as ahead, and one that paused is not.
            self.backlog = self.ready()
            yield None
            chunk = os.read(self.fd, READ_SIZE)
            if not chunk:
                break
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                partial.append(chunk[start:end + 1])
                yield b"".join(partial)
                partial = []
                start = end + 1
            if start < len(chunk):
                partial.append(chunk[start:])
        if partial:
            yield b"".join(partial)


def _classify_serial(ruleset: RuleSet, lines: Iterator[bytes | None], write: Write, flush: Flush | None = None,
                     switch: _PipeReader | None = None) -> int | None:
    """Classify line by line. With `switch`, stop once BATCH_LINES lines are done and the input backs
    up, and return how many lines were done (None when the input ended)."""
    done = 0

    def texts() -> Iterator[str]:
        for line in lines:
            if line is None:
                if switch is not None and done >= BATCH_LINES and switch.backlog:
                    return
                if flush is not None:
                    flush()
                continue
            yield line.decode("utf-8")  # read_objects names the line of a UnicodeDecodeError

    for done, obj in read_objects(texts(), TEXT_FIELDS):
        write(verdict_line(ruleset, obj) + "\n")
    return done if switch is not None and done >= BATCH_LINES and switch.backlog else None


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


def _classify_batch(first: int, lines: list[bytes]) -> _BatchResult:
    assert _worker_ruleset is not None
    checkpoint("classify.batch")  # the test of a worker that dies
    out: list[str] = []
    try:
        for _, obj in read_objects((line.decode("utf-8") for line in lines), TEXT_FIELDS):
            out.append(verdict_line(_worker_ruleset, obj))
    except JsonLineError as e:  # renumber: the batch starts at line `first`
        return out, (first + e.line - 1, e.reason)
    return out, None


def _classify_parallel(ruleset: RuleSet, lines: Iterator[bytes | None], write: Write, workers: int,
                       first: int = 1, flush: Flush | None = None, reader: _PipeReader | None = None) -> None:
    pool: ProcessPoolExecutor | None = None  # started with the first batch: a pipe may end at the switch
    in_flight: collections.deque = collections.deque()

    def write_next() -> None:
        out, error = in_flight.popleft().result()
        if out:
            write("\n".join(out) + "\n")
        if error is not None:
            raise JsonLineError(*error)

    def submit(batch: list[bytes]) -> None:
        nonlocal first, pool
        if pool is None:
            pool = worker_pool(workers, _start_worker, (ruleset,))
        in_flight.append(pool.submit(_classify_batch, first, batch))
        first += len(batch)
        if len(in_flight) >= 2 * workers:
            write_next()

    batch: list[bytes] = []
    size = 0
    try:
        for line in lines:
            if line is None:  # a read that may wait: unless input comes soon, hand out what we have
                if reader is not None and not reader.backlog and not reader.ready(PAUSE):
                    if batch:
                        submit(batch)
                        batch, size = [], 0
                    while in_flight:
                        write_next()
                    if flush is not None:
                        flush()
                continue
            batch.append(line)
            size += len(line)
            if len(batch) == BATCH_LINES or size >= BATCH_BYTES:
                submit(batch)
                batch, size = [], 0
        if batch:
            submit(batch)
        while in_flight:
            write_next()
        if pool is not None:
            pool.shutdown(wait=True)  # all answered; waiting avoids CPython gh-125451 (a traceback at exit)
    except BrokenProcessPool:  # from result(), or from submit() once the pool knows
        raise WorkerDied("a classify worker process died (killed, or out of memory?)") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
