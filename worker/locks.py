"""An exclusive lock file beside the database (flock: the OS releases it if the process dies)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Self


class FileLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.file: IO[str] | None = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock (waiting for it, or not); False if another process holds it and wait is off."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 -- held open while locked: the open file is the lock
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))  # for the message of whoever finds it taken
        f.flush()
        self.file = f
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        if self.file:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None

    def __enter__(self) -> Self:
        self.acquire(wait=True)
        return self

    def __exit__(self, *exc) -> None:
        self.release()
