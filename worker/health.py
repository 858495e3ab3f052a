"""Health: of each feed in the list (`feeds list`), and of polling as a whole (`health`, for monitoring)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .clock import from_iso, iso, utcnow
from .config import Config
from .feeds import FeedSpec, read_opml
from .records import FeedHealthStatus
from .store import Store
from .text import plural

FEED_TABLE_HEADER = (f"{'STATUS':12} {'HTTP':>4} {'ERR':>4} {'ITEMS':>6}  {'LAST SUCCESS':16}  {'NEXT POLL':16}  "
                     "FEED")


@dataclass(frozen=True)
class FeedHealth:
    """A feed of the list with what the database knows of it (nothing yet: "never polled")."""

    spec: FeedSpec
    status: FeedHealthStatus
    http_status: int | None = None
    error_count: int = 0
    items: int = 0
    last_success_at: str | None = None
    next_poll_at: str | None = None
    last_error: str | None = None
    disabled_reason: str | None = None
    stored_name: str | None = None  # what the database calls it: the list's name, else its own title

    @property
    def note(self) -> str | None:
        """Why the feed is disabled, failing or warned about, for the line under it."""
        if self.disabled_reason:
            return f"disabled: {self.disabled_reason}"
        if self.error_count:
            return f"{plural(self.error_count, 'error')}: {self.last_error}"
        if self.status == "warning":
            return f"warning: {self.last_error}"
        return None

    def lines(self) -> list[str]:
        """The feed's row of the `feeds list` table (under FEED_TABLE_HEADER), and its note if any."""
        next_poll = _short_time(self.next_poll_at) if self.status != "disabled" else ""
        row = (f"{self.status:12} {self.http_status or '':>4} {self.error_count:>4} {self.items:>6}  "
               f"{_short_time(self.last_success_at):16}  {next_poll:16}  {self.spec.title or ''} <{self.spec.url}>")
        note = self.note
        return [row, f"{'':14}{note}"] if note else [row]


def listed_feeds(cfg: Config) -> list[FeedHealth]:
    """The feed list's rows with their health, each under the name a person reads: the list's own
    name for it, else the feed's title as last fetched."""
    shown = []
    for row in feed_health(cfg):
        name = row.spec.title or row.stored_name
        if name == row.spec.url:
            name = None
        status: FeedHealthStatus = "blocked (403)" if row.http_status == 403 and row.status == "error" else row.status
        shown.append(replace(row, spec=replace(row.spec, title=name), status=status))
    return shown


def feed_health(cfg: Config) -> list[FeedHealth]:
    """Every feed of the feed list, in its order, with its health; no database yet means never polled."""
    specs = read_opml(cfg.feeds.opml)
    known: dict[str, dict] = {}
    if Path(cfg.database.path).exists():
        with Store(cfg.database.path) as store:
            known = {h["url"]: h for h in store.feed_health()}
    rows = []
    for spec in specs:
        h = known.get(spec.url, {})
        status: FeedHealthStatus = ("disabled" if h.get("disabled_reason")
                                    else h.get("last_status") or "never polled")  # feeds.last_status: FeedStatus
        rows.append(FeedHealth(spec=spec, status=status, http_status=h.get("http_status"),
                               error_count=h.get("error_count") or 0, items=h.get("items", 0),
                               last_success_at=h.get("last_success_at"), next_poll_at=h.get("next_poll_at"),
                               last_error=h.get("last_error"), disabled_reason=h.get("disabled_reason"),
                               stored_name=h.get("title")))
    return rows


# The outcome of the last poll cycle, kept beside the database rather than in it: a cycle that failed
# because the database cannot be written (a full disk) must still be able to say so. The file has a
# fixed size and is rewritten in place, so once it exists, recording an outcome needs no new disk space.
STATUS_SIZE = 1024


def status_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.poll-status")


def record_poll_outcome(db_path: str | Path, error: str | None) -> None:
    """Remember whether the last poll cycle worked (error None) or why it failed; best effort."""
    entry = {"at": iso(utcnow()), "error": error}
    data = json.dumps(entry, ensure_ascii=False).encode()
    if len(data) > STATUS_SIZE - 1:
        entry["error"] = (error or "")[:STATUS_SIZE // 4]  # a UTF-8 character takes at most 4 bytes
        data = json.dumps(entry, ensure_ascii=False).encode()
    try:
        fd = os.open(status_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return  # no directory yet, or no room for a new file: health falls back to the poll times
    try:
        os.pwrite(fd, data.ljust(STATUS_SIZE - 1) + b"\n", 0)
    except OSError:
        pass
    finally:
        os.close(fd)


def reserve_poll_status(db_path: str | Path) -> None:
    """Create the status file at its full size if it is missing (while there is room for it)."""
    try:
        fd = os.open(status_path(db_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return  # there already, or no room: nothing to do either way
    try:
        os.write(fd, b"{}".ljust(STATUS_SIZE - 1) + b"\n")
    except OSError:
        pass
    finally:
        os.close(fd)


def read_poll_outcome(db_path: str | Path) -> tuple[str, str | None] | None:
    """(when, error or None) of the last poll cycle recorded, None if none is."""
    try:
        entry = json.loads(status_path(db_path).read_bytes())
        return str(entry["at"]), entry.get("error")
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class PollingHealth:
    """Whether polling is current (stale when no active feed was polled for `limit_minutes`) and
    working (failing when every feed's last poll failed: no network, a proxy, a blocked host)."""

    stale: bool
    limit_minutes: int
    last_poll_at: str | None = None  # None: never polled (or no database)
    age_minutes: float | None = None
    feeds: int = 0
    failing_feeds: int = 0
    undelivered: int = 0
    missing_database: str | None = None  # the path, when there is no database there
    cycle_error: str | None = None  # why the last poll cycle failed as a whole (a full disk), if it did
    cycle_failed_at: str | None = None

    @property
    def failing(self) -> bool:
        return self.cycle_error is not None or (self.feeds > 0 and self.failing_feeds == self.feeds)

    @property
    def healthy(self) -> bool:
        return not (self.stale or self.failing)

    @property
    def message(self) -> str:
        """One line: "ok: ...", "stale: ..." or "failing: ...", with the age of the last poll and the
        feeds failing."""
        if self.cycle_error is not None:
            return f"failing: the last poll cycle ({self.cycle_failed_at}) failed: {self.cycle_error}"
        if self.missing_database is not None:
            return f"stale: no database at {self.missing_database} (never polled)"
        if self.last_poll_at is None:
            return "stale: never polled"
        line = (f"last poll {self.age_minutes:.0f} min ago (limit {self.limit_minutes}); {self.failing_feeds} of "
                f"{plural(self.feeds, 'feed')} failing; {plural(self.undelivered, 'relevant item')} not yet delivered")
        return f"{'stale' if self.stale else 'failing' if self.failing else 'ok'}: {line}"


def polling_health(cfg: Config, max_age_minutes: int | None = None, now: datetime | None = None) -> PollingHealth:
    """Is polling current? Stale after `max_age_minutes` without a poll (default: 3 poll intervals)."""
    limit = max_age_minutes or 3 * cfg.poll.interval_minutes
    outcome = read_poll_outcome(cfg.database.path)
    error, failed_at = (outcome[1], outcome[0]) if outcome and outcome[1] else (None, None)
    if not Path(cfg.database.path).exists():
        return PollingHealth(True, limit, missing_database=str(cfg.database.path), cycle_error=error,
                             cycle_failed_at=failed_at)
    with Store(cfg.database.path, create=False) as store:
        last = store.last_poll_at()
        totals = store.stats(1)["totals"]
    if failed_at and last and last > failed_at:
        error = failed_at = None  # a feed was stored after that failure: polling works again
    if last is None:
        return PollingHealth(True, limit, cycle_error=error, cycle_failed_at=failed_at)
    now = now or datetime.now(UTC)
    age = (now - from_iso(last)).total_seconds() / 60
    return PollingHealth(age > limit, limit, last, age, totals["feeds"], totals["failing_feeds"],
                         totals["undelivered"], cycle_error=error, cycle_failed_at=failed_at)


def _short_time(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] if iso else "never"
