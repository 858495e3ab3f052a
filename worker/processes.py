"""Worker processes for CPU-bound stages (parsing feeds, classifying large inputs): one per core, forked,
so that the work of a stage runs on every core instead of under one interpreter lock."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

MAX_DEFAULT_WORKERS = 8
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_fork() -> bool:
    """Whether worker processes can start from this process's memory (fork: Linux, macOS, BSDs)."""
    return "fork" in mp.get_all_start_methods()


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
    ignores Ctrl-C (the parent stops, which ends the pool),
    dies with its parent (on Linux) rather than live on as an orphan, and holds neither standard
    input nor output, so a reader of the parent's output gets its end of file when the parent ends.
    Then `initializer(*initargs)` runs in it."""
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_start_worker,
                               initargs=(initializer, initargs))
    pool.submit(int).result()  # forks every worker now (fork pools start them all on the first task)
    return pool


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    if initializer is not None:
        initializer(*initargs)
