"""The poll cycle: poll_cycle() fetches the feeds that are due, parses and classifies what they give,
stores it, then groups new relevant items into stories and posts alerts.

fetch runs in threads, parse in worker processes (one per core) for a cycle of many feeds; classify ->
store run in the calling thread, one feed at a time. Feeds that gave no items (304s, errors) are
recorded a batch at a time.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import signal
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta

from .clock import utcnow
from .config import Config
from .errors import NewswatchError
from .failpoints import checkpoint
from .feeds import read_opml, replace_urls
from .fetch import Fetcher, FetchResult
from .health import record_poll_outcome, reserve_poll_status
from .parse import ParsedFeed, parse_feed
from .processes import can_fork, default_workers, worker_pool
from .records import FAILED_STATUSES, FeedState, FeedUpdate, NewItem
from .relevance.rules import RuleSet, RulesText, compile_rules, read_rules
from .schedule import MAX_DELAY, next_poll, publishing
from .store import DatabaseFailure, Store, database_failure
from .text import plural

log = logging.getLogger("newswatch")

Progress = Callable[[int, int], None]  # (feeds stored, feeds due)
Polls = list[tuple[FeedState, FeedUpdate]]


@dataclass(kw_only=True)
class PollSummary:
    """What one poll cycle did, for its log line and the CLI."""
    feeds: int = 0
    new_items: int = 0
    relevant: int = 0
    errors: int = 0
    not_modified: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    bytes: int = 0  # received, decoded
    stopped: bool = False  # the daemon was asked to stop before every due feed was polled

    def line(self) -> str:
        if self.stopped:
            line = f"stopped after {plural(self.feeds, 'feed')}: {plural(self.new_items, 'new item')} stored"
        elif not self.feeds:
            line = "polled 0 feeds: none is due yet (`newswatch poll --all` polls every feed now)"
        else:
            line = (f"polled {plural(self.feeds, 'feed')}: {plural(self.new_items, 'new item')}, "
                    f"{self.relevant} relevant, {plural(self.errors, 'error')} ({self.not_modified} not modified)")
        if self.alerts_sent or self.alerts_failed:
            line += f"; {plural(self.alerts_sent, 'alert')} sent" + (
                f", {self.alerts_failed} failed (retried next cycle)" if self.alerts_failed else "")
        return line


def poll_cycle(cfg: Config, all_feeds: bool = False, stop: threading.Event | None = None,
               ruleset: RuleSet | None = None, progress: Progress | None = None,
               parser: FeedParser | None = None) -> PollSummary:
    """Poll the feeds that are due (all active ones with all_feeds) and store what is new.

    `parser`: the daemon's own, kept for its life; without one, a cycle of many feeds starts its own
    worker processes and ends them.

    A cycle always ends. When the database refuses a write (a full disk, an I/O error, a lock held
    past the busy timeout) the fetches stop at once and DatabaseFailure says so on one line; what was
    stored stays, and every feed not stored keeps its old validators, so the next cycle fetches it
    again in full. The outcome is recorded beside the database for `newswatch health`.
    """
    summary = PollSummary()
    try:
        _poll(cfg, all_feeds, stop, ruleset, progress, summary, parser)
    except (sqlite3.Error, NewswatchError) as e:
        failure = database_failure(cfg.database.path, e) if isinstance(e, sqlite3.Error) else e
        if isinstance(failure, DatabaseFailure) and summary.feeds:
            failure = DatabaseFailure(
                f"{failure}; poll stopped after {plural(summary.feeds, 'feed')} ({plural(summary.new_items, 'new item')} "
                "stored), the others are fetched again next cycle", full=failure.full)
        record_poll_outcome(cfg.database.path, str(failure))
        if failure is e:
            raise
        raise failure from None
    record_poll_outcome(cfg.database.path, None)
    return summary


def _poll(cfg: Config, all_feeds: bool, stop: threading.Event | None, ruleset: RuleSet | None,
          progress: Progress | None, summary: PollSummary, parser: FeedParser | None) -> None:
    rules = ruleset or read_rules(cfg.classifier.rules)  # compiled when a feed first changes
    feed_list = read_opml(cfg.feeds.opml)
    with Store(cfg.database.path) as store:
        reserve_poll_status(cfg.database.path)  # while there is room: a full disk can still be reported
        store.sync_feeds((f.url, f.title, f.language) for f in feed_list)
        due = store.due_feeds(all_feeds=all_feeds)
        moved, finished = _fetch_and_store(cfg, store, rules, due, stop, progress, summary, parser)
        if moved:  # even when stopped: the store already knows these feeds moved
            replace_urls(cfg.feeds.opml, moved)
        if not finished:
            summary.stopped = True
            return
        if summary.relevant:
            from .stories import assign_stories  # imported when needed: most cycles find nothing relevant
            assign_stories(store)
        if cfg.alerts.webhook_url:
            from .alerts import send_alerts  # imported when configured (it brings the digest's rendering)
            summary.alerts_sent, summary.alerts_failed = send_alerts(cfg, store)


POLLS_PER_TRANSACTION = 250  # polls without items (304s, errors) recorded in one transaction
PARSE_IN_PROCESSES_MIN_FEEDS = 16  # fewer feeds are parsed before worker processes would have started
# A parse in a worker gets twice the fetch's deadline: a 10 MB feed parses in about 4 s here, while
# broken markup can take feedparser 9 s a megabyte. The bound is wall time, so it has room for load.
PARSE_TIME_FACTOR = 2


def _fetch_and_store(cfg: Config, store: Store, rules: RuleSet | RulesText, due: list[FeedState],
                     stop: threading.Event | None, progress: Progress | None,
                     summary: PollSummary, parser: FeedParser | None) -> tuple[dict[str, str], bool]:
    """Fetch and parse the due feeds in threads, store each as it arrives; (the feeds that moved
    permanently, old URL -> new, and whether every due feed was handled before a stop)."""
    if not due:
        return {}, True  # nothing to fetch, so no rules to compile (a fifth of a second)
    moved: dict[str, str] = {}
    batch: Polls = []  # polls without items, not yet recorded
    fetcher = Fetcher(cfg.poll)
    own_parser = parser is None
    if parser is None:  # started first, before any fetch thread: worker processes fork from this memory
        parser = FeedParser(processes=len(due) >= PARSE_IN_PROCESSES_MIN_FEEDS)
    else:
        parser.renew()
    # Threads fetch, and parse (in worker processes, one per core, for a cycle of many feeds); this
    # thread classifies and stores, one feed at a time, so the store has one writer and a feed's items
    # land in one transaction. `slots` bounds the feeds fetched but not yet stored, which bounds memory
    # however fast the network is. Each fetch thread hands its feed over through `arrived`.
    slots = threading.BoundedSemaphore(cfg.poll.concurrency * 2)
    # `halt` is this cycle's own: set when the daemon stops, and also when this thread leaves the
    # store loop for any reason, so no fetch thread waits forever for a slot nobody will release.
    halt = threading.Event()
    arrived: queue.SimpleQueue[tuple[FeedState, Fetched | None]] = queue.SimpleQueue()
    pool = ThreadPoolExecutor(max_workers=cfg.poll.concurrency, thread_name_prefix="fetch")
    for feed in due:
        pool.submit(_fetch_and_parse, fetcher, parser, feed, slots, halt, arrived)
    waiting = len(due)
    # Compiled when a feed first brings something new to parse: compiling takes 0.2-0.3 s of this
    # process's one interpreter lock, under which the fetch threads wait, and a cycle in which no
    # feed changed (a cron job's usual poll) needs no rules. Rules that do not compile stop the cycle
    # before any item is stored; polls that found nothing new may already be recorded.
    ruleset = rules if isinstance(rules, RuleSet) else None
    try:
        while waiting:
            if stop is not None and stop.is_set():
                halt.set()
                break
            try:
                feed, fetched = arrived.get(timeout=0.5)
            except queue.Empty:
                continue
            waiting -= 1
            if fetched is None:
                continue
            if ruleset is None and fetched.parsed is not None:
                ruleset = compile_rules(rules) if isinstance(rules, RulesText) else rules
            new_url = _store_feed(store, cfg, ruleset, feed, fetched, summary, batch)
            if new_url:
                moved[feed.url] = new_url
            if len(batch) >= POLLS_PER_TRANSACTION:
                _record_batch(store, batch, summary)
            slots.release()
            if progress:
                progress(summary.feeds, len(due))
        _record_batch(store, batch, summary)
    finally:
        halt.set()
        if waiting:
            # Stopping (or the store failed): end the fetches in flight now (their feeds, never
            # stored, are due again next time) so that the process can exit within a second.
            fetcher.abort()
        pool.shutdown(wait=True, cancel_futures=True)
        if own_parser:
            parser.close()
        fetcher.close()
    return moved, not waiting


def _record_batch(store: Store, batch: Polls, summary: PollSummary) -> None:
    if not batch:
        return
    try:
        store.record_polls(batch)
    except sqlite3.Error:  # not recorded: these feeds are polled again next cycle
        summary.feeds -= len(batch)
        summary.errors -= sum(update.status in FAILED_STATUSES for _, update in batch)
        summary.not_modified -= sum(update.status in ("not_modified", "unchanged") for _, update in batch)
        raise
    batch.clear()


class ParserDied(RuntimeError):
    """A parse worker process died (killed, out of memory) with this feed in hand."""


class FeedParser:
    """parse_feed, in worker processes (one per core) when asked and there is more than one core,
    else in the calling thread. A worker that dies (out of memory?) breaks the pool: the feeds in
    flight raise ParserDied, and the rest of the cycle parses in the fetch threads.

    The daemon starts its parser before the scheduler's threads exist; renew() forks from a job
    thread (only after a worker died), and the workers only parse: they take none of its locks."""

    def __init__(self, processes: bool) -> None:
        self.wanted = processes and default_workers() > 1 and can_fork()
        self.broken: list[ProcessPoolExecutor] = []
        self.lock = threading.Lock()
        self.pool = self._start() if self.wanted else None

    def _start(self) -> ProcessPoolExecutor | None:
        try:
            return worker_pool(default_workers())
        except OSError as e:  # a process limit, no memory: parse here this time
            # (a worker that dies after its fork is found at its first parse, as one that dies later)
            log.warning("parsing in this process: worker processes did not start (%s)", e)
            return None

    def renew(self) -> None:
        """New workers in place of a pool a dead worker broke (the daemon keeps one parser for its
        life); call it between cycles."""
        if self.wanted and self.pool is None:
            self.close()
            self.broken.clear()
            self.pool = self._start()

    def parse(self, body: bytes, url: str, content_type: str | None, language: str | None,
              seconds: float) -> ParsedFeed:
        """The feed's items; in a worker process, an error instead if parsing takes over `seconds`
        (a hostile feed of broken tags takes feedparser about 9 s a megabyte). In this process,
        unbounded: a thread cannot be interrupted."""
        pool = self.pool
        if pool is None:
            return parse_feed(body, url, content_type, language)
        try:
            return pool.submit(_parse_in_worker, body, url, content_type, language, seconds).result()
        except ParseTooLong:  # the alarm rang just as the parse ended
            return _took_too_long(seconds)
        except BrokenProcessPool:
            with self.lock:
                if self.pool is pool:
                    self.pool = None
                    self.broken.append(pool)
                    log.warning("a parse worker process died (out of memory?): the feeds it had are "
                                "fetched again next cycle, the others are parsed in this process")
            raise ParserDied(url) from None

    def close(self) -> None:
        for pool in (self.pool, *self.broken):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


class ParseTooLong(BaseException):
    """A parse worker's time ran out. Not an Exception: no `except Exception` in feedparser (or in
    parse_feed) may take it for a parser error and carry on."""


def _parse_in_worker(body: bytes, url: str, content_type: str | None, language: str | None,
                     seconds: float) -> ParsedFeed:
    checkpoint("poll.parse_in_worker")  # the tests of a worker that dies, and of who parsed
    signal.signal(signal.SIGALRM, _time_is_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return parse_feed(body, url, content_type, language)
    except ParseTooLong:
        return _took_too_long(seconds)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _time_is_up(signum: int, frame: object) -> None:
    raise ParseTooLong


def _took_too_long(seconds: float) -> ParsedFeed:
    return ParsedFeed(error=f"parsing took over {seconds:g}s (twice timeout_seconds): not parsed")


@dataclass(kw_only=True)
class Fetched:
    """A feed's fetch, and its parse when there was something new to parse."""
    result: FetchResult
    parsed: ParsedFeed | None = None  # None: not parsed (an error, or a body identical to the last)
    body_hash: str | None = None


def _fetch_and_parse(fetcher: Fetcher, parser: FeedParser, feed: FeedState, slots: threading.BoundedSemaphore,
                     halt: threading.Event, arrived: queue.SimpleQueue) -> None:
    fetched = None
    try:
        fetched = _fetch_and_parse_slot(fetcher, parser, feed, slots, halt)
    finally:
        arrived.put((feed, fetched))


def _fetch_and_parse_slot(fetcher: Fetcher, parser: FeedParser, feed: FeedState, slots: threading.BoundedSemaphore,
                          halt: threading.Event) -> Fetched | None:
    while not slots.acquire(timeout=0.5):
        if halt.is_set():
            return None
    if halt.is_set():  # the cycle ended while this feed waited for its slot: nobody will store it
        return None
    try:
        return _fetch_and_parse_one(fetcher, parser, feed)
    except ParserDied:
        slots.release()  # nothing to store: the feed stays as it was, due, fetched again next cycle
        return None
    except Exception as e:
        log.exception("feed %s: unexpected error", feed.url)
        return Fetched(result=FetchResult(url=feed.url, status="error",
                                          error=f"internal error: {type(e).__name__}: {e}"))


def _fetch_and_parse_one(fetcher: Fetcher, parser: FeedParser, feed: FeedState) -> Fetched:
    result = fetcher.fetch(feed.url, feed.etag, feed.last_modified)
    if result.status != "ok":
        return Fetched(result=result)
    body_hash = hashlib.sha256(result.body or b"").hexdigest()
    if body_hash == feed.body_hash:
        result.body = None  # a server that ignores conditional GET: same bytes, nothing to parse
        return Fetched(result=result, body_hash=body_hash)
    parsed = parser.parse(result.body or b"", result.final_url or feed.url, result.content_type, feed.language,
                          PARSE_TIME_FACTOR * fetcher.timeout)
    result.body = None  # parsed: the bytes are no longer needed
    return Fetched(result=result, parsed=parsed, body_hash=body_hash)


def _store_feed(store: Store, cfg: Config, ruleset: RuleSet | None, feed: FeedState, fetched: Fetched,
                summary: PollSummary, batch: Polls) -> str | None:
    """Store one feed's outcome; an unexpected error is recorded as the feed's. Returns the feed's new
    URL when it moved permanently."""
    feeds_before = summary.feeds
    try:
        return _store_result(store, cfg, ruleset, feed, fetched, summary, batch)
    except sqlite3.Error:
        summary.feeds = feeds_before  # the database itself is in trouble: this feed was not stored
        raise
    except Exception as e:
        log.exception("feed %s: unexpected error", feed.url)
        error = f"internal error: {type(e).__name__}: {e}"
        summary.errors += 1
        try:
            store.record_poll(feed, FeedUpdate(status="error", next_poll=next_poll(
                utcnow(), timedelta(minutes=cfg.poll.interval_minutes), errors=feed.error_count + 1),
                error=error[:500]))
        except sqlite3.Error:
            summary.feeds = feeds_before
            raise
        return None


def _record(store: Store, feed: FeedState, update: FeedUpdate, batch: Polls) -> None:
    """A poll that gave no items: recorded with others in one transaction (Store.record_polls), unless
    the feed moved: that is recorded at once, before the feed list names its new URL (Store.record_poll)."""
    if update.new_url:
        store.record_poll(feed, update)
    else:
        batch.append((feed, update))


def _store_result(store: Store, cfg: Config, ruleset: RuleSet | None, feed: FeedState, fetched: Fetched,
                  summary: PollSummary, batch: Polls) -> str | None:
    """`ruleset` is None only while no feed has brought anything new to parse."""
    checkpoint("poll.fetched")
    result, parsed = fetched.result, fetched.parsed
    summary.feeds += 1
    summary.bytes += result.size
    now = utcnow()
    interval = timedelta(minutes=cfg.poll.interval_minutes)
    moved = result.moved_to if result.moved_to and result.moved_to != feed.url else None
    if result.http_status == 410:
        summary.errors += 1
        reason = ("HTTP 410 Gone: the publisher removed this feed; it is not polled again "
                  "(`newswatch feeds remove` it, or re-add it to try again)")
        _record(store, feed, FeedUpdate(status="gone", next_poll=now + MAX_DELAY, http_status=410, error=reason,
                                        disabled_reason=reason, new_url=moved), batch)
        return moved
    if result.status == "error" or (parsed is not None and parsed.error):
        error = parsed.error if result.status != "error" and parsed is not None else result.error
        summary.errors += 1
        log.warning("feed %s: %s", feed.url, error)
        when = next_poll(now, interval, errors=feed.error_count + 1, retry_after=result.retry_after)
        _record(store, feed, FeedUpdate(status="error", next_poll=when, http_status=result.http_status,
                                        error=error, new_url=moved), batch)
        return moved
    if result.status == "not_modified" or parsed is None:
        summary.not_modified += 1
        when = next_poll(now, interval, max_age=result.max_age)
        _record(store, feed, FeedUpdate(
            status="not_modified" if result.status == "not_modified" else "unchanged", next_poll=when,
            http_status=result.http_status, etag=result.etag, last_modified=result.last_modified,
            body_hash=fetched.body_hash, new_url=moved), batch)
        return moved
    checkpoint("poll.parsed")
    from .relevance.classify import classify  # here: a cycle in which no feed changed needs none of it
    assert ruleset is not None  # compiled by _fetch_and_store for the first feed parsed
    items = []
    for it in parsed.items:
        v = classify(ruleset, it.title, it.summary, it.content)
        checkpoint("poll.classified")
        items.append(NewItem(dedup_key=it.dedup_key(), guid=it.guid, link=it.link, title=it.title,
                             summary=it.summary, published=it.published, lang=it.lang,
                             content_hash=it.content_hash, score=v.score, relevant=v.relevant,
                             matches=v.matches, explanation=v.explanation_dicts()))
    rate, window = publishing([it.published for it in parsed.items], now)
    when = next_poll(now, interval, rate=rate, window=window, ttl_minutes=parsed.ttl_minutes,
                     max_age=result.max_age)
    new, relevant = store.record_poll(feed, FeedUpdate(
        status="warning" if parsed.warning else "ok", next_poll=when, http_status=result.http_status,
        error=parsed.warning, etag=result.etag, last_modified=result.last_modified,
        body_hash=fetched.body_hash, title=parsed.title, items_per_day=rate, new_url=moved), items)
    summary.new_items += new
    summary.relevant += relevant
    return moved
