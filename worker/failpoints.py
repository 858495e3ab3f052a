"""Named points where the crash test kills the process, as SQLite's and etcd's test harnesses do.

Inert unless the environment says otherwise (one dict lookup at import):
  NEWSWATCH_KILL_AT=NAME:N   SIGKILL this process the Nth time it reaches checkpoint NAME
  NEWSWATCH_CHECKPOINT_LOG=F append every checkpoint name reached to file F (to enumerate kill points)
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_KILL_AT = os.environ.get("NEWSWATCH_KILL_AT")
_LOG = os.environ.get("NEWSWATCH_CHECKPOINT_LOG")
ACTIVE = bool(_KILL_AT or _LOG)
_seen: Counter[str] = Counter()


def checkpoint(name: str) -> None:
    if not ACTIVE:
        return
    _seen[name] += 1
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    if _KILL_AT == f"{name}:{_seen[name]}":
        os.kill(os.getpid(), signal.SIGKILL)
