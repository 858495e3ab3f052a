"""The daemon: an APScheduler BlockingScheduler that calls poll_cycle() and send_digest(), nothing else."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config
from .delivery import send_digest
from .errors import NewswatchError
from .feeds import read_opml
from .locks import FileLock
from .poll import PARSE_TIME_FACTOR, FeedParser, poll_cycle
from .relevance.rules import load_rules

log = logging.getLogger("newswatch")

DIGEST_GRACE_SECONDS = 6 * 3600  # a digest missed while the machine slept still goes out that morning


class DaemonError(NewswatchError):
    pass


def poll_job(cfg: Config, stop: threading.Event, parser: FeedParser | None = None) -> bool:
    """The daemon's poll job: one cycle and its log line. A cycle that fails as a whole (the database
    is full or locked, the rules file was broken by an edit) is logged on one line and the job
    returns normally, so the next interval tries again; poll_cycle has recorded it for `health`. (A
    rules file that no longer compiles fails the first cycle in which a feed changes, before its
    items are stored: until then there is nothing to classify and the rules are not compiled.)
    Returns whether the cycle worked."""
    # Rules are re-read each cycle so an edited rules file takes effect without a restart.
    started = time.monotonic()
    try:
        s = poll_cycle(cfg, stop=stop, parser=parser)
    except NewswatchError as e:
        log.error("poll failed: %s (tried again next cycle)", e, extra={"fields": {
            "event": "poll", "error": str(e), "seconds": round(time.monotonic() - started, 2)}})
        return False
    log.info("poll: %s", s.line(), extra={"fields": {
        "event": "poll", "feeds": s.feeds, "new_items": s.new_items, "relevant": s.relevant, "errors": s.errors,
        "not_modified": s.not_modified, "alerts_sent": s.alerts_sent, "bytes": s.bytes,
        "seconds": round(time.monotonic() - started, 2)}})
    return True


def run_daemon(cfg: Config) -> None:
    """Run until SIGTERM or SIGINT; the first poll starts at once."""
    # Fail at start, not at the first job, on rules or a feed list that cannot be read.
    load_rules(cfg.classifier.rules)
    read_opml(cfg.feeds.opml)
    cfg.check_smtp_password()
    # One daemon per database; released by the OS if this process dies.
    lock = FileLock(f"{cfg.database.path}.lock")
    if not lock.acquire(wait=False):
        raise DaemonError(f"another newswatch daemon (pid {lock.holder()}) is already running on this database "
                          f"({cfg.database.path}); stop it first")
    stop = threading.Event()
    # Worker processes for parsing, forked now, before any other thread exists, and kept for the
    # daemon's life: no fork per cycle, and none from the scheduler's threads.
    parser = FeedParser(processes=True)
    tz = ZoneInfo(cfg.digest.timezone)
    scheduler = BlockingScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1})

    def job() -> None:
        poll_job(cfg, stop, parser)

    def digest_job() -> None:
        s = send_digest(cfg)
        log.log(logging.ERROR if s.errors or s.diverted else logging.INFO, "%s", s.line(), extra={"fields": {
            "event": "digest", "digests_sent": s.digests_sent, "items_delivered": s.items_delivered,
            "errors": s.errors, "diverted": s.diverted}})

    def on_error(event: JobExecutionEvent) -> None:
        log.error("job %s failed: %s", event.job_id, event.exception)

    interval = cfg.poll.interval_minutes
    hour, minute = (int(x) for x in cfg.digest.time.split(":"))
    scheduler.add_job(job, IntervalTrigger(minutes=interval, timezone=tz), id="poll",
                      next_run_time=datetime.now(tz), misfire_grace_time=interval * 60)
    scheduler.add_job(digest_job, CronTrigger(hour=hour, minute=minute, timezone=tz), id="digest",
                      misfire_grace_time=DIGEST_GRACE_SECONDS)
    scheduler.add_listener(on_error, EVENT_JOB_ERROR)

    def on_signal(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()
        if scheduler.running:  # a second signal while stopping is not an error
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    target = (f"SMTP {cfg.smtp.host}:{cfg.smtp.port} to {', '.join(cfg.digest.to)}" if cfg.smtp.host
              else f"the outbox {cfg.digest.outbox}")
    log.info("newswatch daemon started: polling every %d min, digest daily at %s %s to %s, database %s",
             interval, cfg.digest.time, cfg.digest.timezone, target, cfg.database.path)
    try:
        scheduler.start()
    finally:
        # A running poll sees `stop` and ends once its in-flight fetches hit their deadline and its
        # parses in flight end (within twice that); a digest ends once SMTP answers or times out. Wait
        # for them before giving up the lock, so a new daemon never overlaps this one's last job.
        limit = time.monotonic() + PARSE_TIME_FACTOR * cfg.poll.timeout_seconds + cfg.smtp.timeout_seconds + 5
        for t in threading.enumerate():
            if t.name.startswith("ThreadPoolExecutor") and t is not threading.current_thread():
                t.join(timeout=max(0.0, limit - time.monotonic()))
        parser.close()
        lock.release()
        log.info("newswatch daemon stopped")
