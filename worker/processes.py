"""Worker processes for CPU-bound stages (parsing feeds, classifying large inputs): one per core, forked,
so that the work of a stage runs on every core instead of under one interpreter lock."""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

MAX_DEFAULT_WORKERS = 8
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_fork() -> bool:
    """Whether worker processes can start from this process's memory (fork: Linux, macOS, BSDs)."""
    return hasattr(os, "fork")


def default_workers() -> int:
    """One worker per core this process may run on, at most MAX_DEFAULT_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of forked worker processes, all started now, before the pool's own threads or any the
    caller starts next (a thread holding a lock at fork leaves it held in the child). Each worker
    ignores Ctrl-C (the parent stops, which ends the pool), dies with its parent (on Linux) rather
    than live on as an orphan, and holds neither standard input nor output, so a reader of the
    parent's output gets its end of file when the parent ends. Then `initializer(*initargs)` runs in
    it."""
    import multiprocessing as mp  # here: a command that forks no pool need not import it
    from concurrent.futures import ProcessPoolExecutor
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_start_worker,
                               initargs=(initializer, initargs))
    # A fork pool forks every worker within its first submit, in the calling thread, before it starts
    # its own threads: waiting for the task's answer as well cost a start-up 20 ms of nothing.
    pool.submit(int)
    return pool


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # here, in the worker: no command need import it to start
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    if initializer is not None:
        initializer(*initargs)


class ForkedCallFailed(Exception):
    """A forked call raised, or its process died: the message says which."""


class ForkedCall:
    """`fn(*args)` running in a forked child process; result() waits for it. For work that is
    done once (one slice of an export): no pool to start, nothing to import. The child must not
    touch the parent's open connections or threads; it ends with os._exit, running no cleanup of
    the parent's (so fn flushes what it writes)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child
            os.close(read_end)
            status = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the whole group: just end
                outcome: tuple[bool, Any] = (True, fn(*args))
                status = 0
            except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
                outcome = (False, str(e) or type(e).__name__)
            try:
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump(outcome, pipe)
            finally:
                os._exit(status)
        os.close(write_end)
        self._read_end: int | None = read_end
        self._reaped = False

    def result(self) -> Any:
        """What fn returned; ForkedCallFailed with its error, or with how its process ended."""
        assert self._read_end is not None, "result() is asked once"
        try:
            with os.fdopen(self._read_end, "rb") as pipe:
                data = pipe.read()
        finally:
            self._read_end = None  # closed, even when Ctrl-C cut the read
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if not data:
            raise ForkedCallFailed(f"worker process {self.pid} ended ({_how_it_ended(status)}) before its result")
        ok, value = pickle.loads(data)
        if not ok:
            raise ForkedCallFailed(value)
        return value

    def stop(self) -> None:
        """End the call if it is still running (its result no longer wanted), and reap its process."""
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None
        if self._reaped:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self._reaped = True


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
