"""The two units of work the daemon schedules and the CLI runs: poll_cycle() and send_digest().

Each wires the stages together with plain data: fetch -> parse -> classify -> store, and
store -> digest -> deliver -> store.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from .clock import iso, parse_iso, utcnow
from .config import Config
from .deliver import DeliveryError, build_message, new_message_id, post_webhook, send, write_outbox
from .digest import (
    DigestContent,
    StoryKey,
    group_stories,
    local_time,
    render_html,
    render_text,
    same_story,
    story_key,
    why,
)
from .errors import NewswatchError
from .failpoints import checkpoint
from .feeds import read_opml, replace_urls
from .fetch import Fetcher, FetchResult
from .health import record_poll_outcome, reserve_poll_status
from .locks import FileLock
from .parse import ParsedFeed, parse_feed
from .records import DigestRecord, FeedState, FeedStatus, FeedUpdate, NewItem, StoredItem
from .relevance.classify import classify
from .relevance.rules import RuleSet, load_rules, plain_words
from .schedule import MAX_DELAY, next_poll, publishing
from .store import DatabaseFailure, Store, database_failure
from .text import plural

log = logging.getLogger("newswatch")


@dataclass
class PollSummary:
    feeds: int = 0
    new_items: int = 0
    relevant: int = 0
    errors: int = 0
    not_modified: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    bytes: int = 0  # received, decoded
    stopped: bool = False  # the daemon was asked to stop before every due feed was polled
    moved: list[tuple[str, str]] = field(default_factory=list)  # permanent redirects: (old, new)

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


@dataclass
class DigestSummary:
    digests_sent: int = 0
    items_delivered: int = 0
    errors: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    preview: str | None = None
    notes: list[str] = field(default_factory=list)
    pruned: int = 0
    diverted: list[str] = field(default_factory=list)  # refused by SMTP run after run, saved in the outbox

    def line(self) -> str:
        parts = []
        if self.digests_sent:
            where = f" -> {', '.join(self.paths)}" if self.paths else ""
            notes = f" ({'; '.join(self.notes)})" if self.notes else ""
            parts.append(f"delivered {plural(self.items_delivered, 'item')} in "
                         f"{plural(self.digests_sent, 'e-mail')}{where}{notes}")
        parts += self.diverted
        if self.errors:
            parts.append(f"delivery failed, items kept for the next run: {self.errors[-1]}")
        return "digest: " + ("; ".join(parts) or "nothing new to deliver")


def poll_cycle(cfg: Config, all_feeds: bool = False, stop: threading.Event | None = None,
               ruleset: RuleSet | None = None, progress: Callable[[int, int], None] | None = None) -> PollSummary:
    """Poll the feeds that are due (all active ones with all_feeds) and store what is new.

    A cycle always ends. When the database refuses a write (a full disk, an I/O error, a lock held
    past the busy timeout) the fetches stop at once and DatabaseFailure says so on one line; what was
    stored stays, and every feed not stored keeps its old validators, so the next cycle fetches it
    again in full. The outcome is recorded beside the database for `newswatch health`.
    """
    summary = PollSummary()
    try:
        _poll(cfg, all_feeds, stop, ruleset, progress, summary)
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
          progress: Callable[[int, int], None] | None, summary: PollSummary) -> None:
    ruleset = ruleset or load_rules(cfg.classifier.rules)
    feed_list = read_opml(cfg.feeds.opml)
    with Store(cfg.database.path) as store:
        reserve_poll_status(cfg.database.path)  # while there is room: a full disk can still be reported
        store.sync_feeds((f.url, f.title, f.language) for f in feed_list)
        due = store.due_feeds(all_feeds=all_feeds)
        fetcher = Fetcher(cfg.poll)
        # Threads fetch and parse (feedparser); this thread classifies and stores, one feed at a time,
        # so the store has one writer and a feed's items land in one transaction. SQLite releases the
        # GIL, so storing one feed overlaps parsing the next. `slots` bounds the feeds fetched but not
        # yet stored, which bounds memory however fast the network is.
        slots = threading.BoundedSemaphore(cfg.poll.concurrency * 2)
        # `halt` is this cycle's own: set when the daemon stops, and also when this thread leaves the
        # store loop for any reason, so no fetch thread waits forever for a slot nobody will release.
        halt = threading.Event()
        pool = ThreadPoolExecutor(max_workers=cfg.poll.concurrency, thread_name_prefix="fetch")
        pending: dict[Future[Fetched | None], FeedState] = {
            pool.submit(_fetch_and_parse, fetcher, feed, slots, halt): feed for feed in due}
        try:
            while pending:
                if stop is not None and stop.is_set():
                    halt.set()
                    break
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    feed = pending.pop(fut)
                    fetched = fut.result()
                    if fetched is not None:
                        feeds_before = summary.feeds
                        try:
                            try:
                                _store_result(store, cfg, ruleset, feed, fetched, summary)
                            except sqlite3.Error:
                                raise  # the database itself is in trouble: nothing else can be stored either
                            except Exception as e:
                                log.exception("feed %s: unexpected error", feed.url)
                                error = f"internal error: {type(e).__name__}: {e}"
                                summary.errors += 1
                                store.record_poll(feed, FeedUpdate(status="error", next_poll=next_poll(
                                    utcnow(), timedelta(minutes=cfg.poll.interval_minutes),
                                    errors=feed.error_count + 1), error=error[:500]))
                        except sqlite3.Error:
                            summary.feeds = feeds_before  # this feed was not stored: the summary says so
                            raise
                        slots.release()
                        if progress:
                            progress(summary.feeds, len(due))
        finally:
            halt.set()
            if pending:
                # Stopping (or the store failed): end the fetches in flight now (their feeds, never
                # stored, are due again next time) so that the process can exit within a second.
                fetcher.abort()
            pool.shutdown(wait=True, cancel_futures=True)
            fetcher.close()
        if summary.moved:  # even when stopped: the store already knows these feeds moved
            replace_urls(cfg.feeds.opml, dict(summary.moved))
        if pending:
            summary.stopped = True
            return
        if summary.relevant:
            assign_stories(store)
        if cfg.alerts.webhook_url:
            summary.alerts_sent, summary.alerts_failed = send_alerts(cfg, store)


@dataclass
class Fetched:
    result: FetchResult
    parsed: ParsedFeed | None = None  # None: not parsed (an error, or a body identical to the last)
    body_hash: str | None = None


def _fetch_and_parse(fetcher: Fetcher, feed: FeedState, slots: threading.BoundedSemaphore,
                     halt: threading.Event) -> Fetched | None:
    while not slots.acquire(timeout=0.5):
        if halt.is_set():
            return None
    if halt.is_set():  # the cycle ended while this feed waited for its slot: nobody will store it
        return None
    try:
        return _fetch_and_parse_one(fetcher, feed)
    except Exception as e:
        log.exception("feed %s: unexpected error", feed.url)
        return Fetched(FetchResult(url=feed.url, status="error", error=f"internal error: {type(e).__name__}: {e}"))


def _fetch_and_parse_one(fetcher: Fetcher, feed: FeedState) -> Fetched:
    result = fetcher.fetch(feed.url, feed.etag, feed.last_modified)
    if result.status != "ok":
        return Fetched(result)
    body_hash = hashlib.sha256(result.body or b"").hexdigest()
    if body_hash == feed.body_hash:
        result.body = None  # a server that ignores conditional GET: same bytes, nothing to parse
        return Fetched(result, None, body_hash)
    parsed = parse_feed(result.body or b"", result.final_url or feed.url, result.content_type, feed.language)
    result.body = None  # parsed: the bytes are no longer needed
    return Fetched(result, parsed, body_hash)


def _store_result(store: Store, cfg: Config, ruleset: RuleSet, feed: FeedState, fetched: Fetched,
                  summary: PollSummary) -> None:
    checkpoint("poll.fetched")
    result, parsed = fetched.result, fetched.parsed
    summary.feeds += 1
    summary.bytes += result.size
    now = utcnow()
    interval = timedelta(minutes=cfg.poll.interval_minutes)
    moved = result.moved_to if result.moved_to and result.moved_to != feed.url else None
    if moved:
        summary.moved.append((feed.url, moved))
    if result.http_status == 410:
        summary.errors += 1
        reason = ("HTTP 410 Gone: the publisher removed this feed; it is not polled again "
                  "(`newswatch feeds remove` it, or re-add it to try again)")
        store.record_poll(feed, FeedUpdate(status="gone", next_poll=now + MAX_DELAY, http_status=410, error=reason,
                                           disabled_reason=reason))
        return
    if result.status == "error" or (parsed is not None and parsed.error):
        error = result.error if result.status == "error" else parsed.error
        summary.errors += 1
        log.warning("feed %s: %s", feed.url, error)
        when = next_poll(now, interval, errors=feed.error_count + 1, retry_after=result.retry_after)
        store.record_poll(feed, FeedUpdate(status="error", next_poll=when, http_status=result.http_status,
                                           error=error, new_url=moved))
        return
    if result.status == "not_modified" or parsed is None:
        summary.not_modified += 1
        status: FeedStatus = "not_modified" if result.status == "not_modified" else "unchanged"
        when = next_poll(now, interval, max_age=result.max_age)
        store.record_poll(feed, FeedUpdate(status=status, next_poll=when, http_status=result.http_status, etag=result.etag,
                                           last_modified=result.last_modified, body_hash=fetched.body_hash,
                                           new_url=moved))
        return
    checkpoint("poll.parsed")
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


STORY_WINDOW = timedelta(days=7)


def assign_stories(store: Store) -> None:
    """Give each new relevant item the story id of an earlier near-duplicate (else its own id), so that
    `items.story_id` groups the same event across outlets for people querying the store."""
    known: list[tuple[int, StoryKey]] = []
    for item_id, story_id, title, summary, _link in store.recent_stories(iso(utcnow() - STORY_WINDOW)):
        key = story_key(title, summary)
        if story_id is None:
            story_id = next((s for s, k in known if same_story(key, k)), item_id)
            store.set_story(item_id, story_id)
        known.append((story_id, key))


ALERT_WINDOW = timedelta(days=2)  # a newly configured webhook does not replay the archive


def send_alerts(cfg: Config, store: Store) -> tuple[int, int]:
    """Post every relevant item at or above [alerts] min_score not yet alerted; (sent, failed).

    Bookkeeping as for digests: an item is marked alerted only after the webhook answered 2xx; a
    failure is recorded and retried next cycle, up to max_attempts. Window: a crash between the
    answer and the mark posts the item again, with the same Idempotency-Key.
    """
    a = cfg.alerts
    tz = ZoneInfo(cfg.digest.timezone)
    since = iso(utcnow() - ALERT_WINDOW)
    sent = failed = 0
    for item in store.pending_alerts(a.min_score, a.max_attempts, since):
        payload = alert_payload(item, tz)
        error = ""
        for attempt in range(a.retries + 1):
            if attempt:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
            checkpoint("alert.before_post")
            try:
                post_webhook(a.webhook_url, payload, a.timeout_seconds, cfg.poll.user_agent,
                             f"newswatch-item-{item.id}-{item.feed_id}")
            except DeliveryError as e:
                error = str(e)
                continue
            checkpoint("alert.posted")
            store.alert_sent(item.id)
            sent += 1
            break
        else:
            store.alert_failed(item.id, error)
            log.warning("alert for item %d: %s", item.id, error)
            failed += 1
            break  # the receiver is down: the other items wait for the next cycle, no attempt spent
    return sent, failed


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_payload(item: StoredItem, tz: ZoneInfo) -> dict:
    """Slack-compatible: `text` is the message; `newswatch` carries the fields for other receivers."""
    source = item.feed_title or item.feed_url
    # Slack reads <!channel>, <url|text> and & in `text` as markup: escape what came from the feed.
    text = f"newswatch: {_slack_escape(item.title)} ({_slack_escape(source)}, score {item.score:g})"
    if item.link:
        text += f" {_slack_escape(item.link)}"
    return {"text": text, "newswatch": {
        "id": item.id, "title": item.title, "link": item.link, "source": source, "score": item.score,
        "published": item.published, "published_local": local_time(item.published or item.fetched, tz),
        "why": why(item)}}


def _subject(cfg: Config, count: int) -> str:
    """[digest] subject with {count} (a number) or {items} ("1 new item", "3 new items") filled in."""
    return cfg.digest.subject.replace("{items}", plural(count, "new item")).replace("{count}", str(count))


def _render(cfg: Config, store: Store, items: list[StoredItem], ruleset: RuleSet,
            new_terms: list[dict] | None = None) -> tuple[str, str, str]:
    d = cfg.digest
    near = (store.near_misses(ruleset.threshold - d.near_miss_margin, store.last_digest_at(), d.near_misses)
            if d.near_misses else [])
    failing = store.failing_feeds(iso(utcnow() - timedelta(hours=d.failing_feed_hours)))
    content = DigestContent(_subject(cfg, len(items)), group_stories(items), near, failing,
                            ZoneInfo(d.timezone), new_terms or [], plain_words(ruleset))
    return content.title, render_text(content), render_html(content)


def _new_terms(cfg: Config, store: Store, ruleset: RuleSet) -> list[dict]:
    """The "New near the story" section when it is due (at most once in [digest] new_terms_days), else
    nothing. Suggestions are a help for whoever tunes the rules: a failure leaves them out of the
    digest, never the digest out."""
    d = cfg.digest
    last = store.last_suggestions_at()
    if not d.new_terms or (last and utcnow() - parse_iso(last) < timedelta(days=d.new_terms_days)):
        return []
    from .relevance.suggest import suggest_from_store
    try:
        return [s.as_dict() for s in suggest_from_store(store, ruleset, limit=d.new_terms)]
    except (NewswatchError, sqlite3.Error, OSError, ValueError) as e:
        log.warning("digest: no rule suggestions this time: %s", e)
        return []


def send_digest(cfg: Config, dry_run: bool = False, fmt: str = "text") -> DigestSummary:
    """Deliver every relevant item not yet delivered; with dry_run, only render the preview.

    Bookkeeping: a digest and its items are recorded before sending; they are marked delivered only
    after the SMTP server (or the outbox) accepted the message. A digest that failed is retried with
    the same items and the same Message-ID before anything new is sent.
    """
    summary = DigestSummary()
    ruleset = load_rules(cfg.classifier.rules)
    with Store(cfg.database.path, create=False) as store:
        if dry_run:
            items = [i for d in store.unsent_digests() for i in store.items_by_id(d.item_ids)]
            items += store.undelivered_relevant(cfg.digest.max_items)
            _, text, html = _render(cfg, store, items, ruleset, _new_terms(cfg, store, ruleset))
            summary.preview = html if fmt == "html" else text
            return summary
        cfg.check_smtp_password()  # a config error, before anything is claimed
        with FileLock(f"{cfg.database.path}.digest.lock"):  # `newswatch digest` and the daemon's job never overlap
            for record in store.unsent_digests():
                if not _deliver(cfg, store, record, summary, ruleset):
                    return summary
            first = True
            while True:  # a backlog larger than max_items goes out in several digests, all now
                record = store.claim_digest(new_message_id(cfg.digest.from_), cfg.digest.max_items,
                                            allow_empty=first and cfg.digest.send_empty)
                if record is not None and first and (terms := _new_terms(cfg, store, ruleset)):
                    store.set_digest_suggestions(record.id, terms)
                    record = replace(record, suggestions=terms)
                first = False
                if record is None or not _deliver(cfg, store, record, summary, ruleset):
                    break
                if len(record.item_ids) < cfg.digest.max_items:
                    break
        if cfg.retention.irrelevant_days:  # retention runs with the daily digest
            summary.pruned = store.prune(cfg.retention.irrelevant_days)
    return summary


REFUSALS_BEFORE_OUTBOX = 3  # runs in a row (days, for the daily digest) the server refused one digest


def outbox_name(record: DigestRecord) -> str:
    """Stable per digest (a retry rewrites the same file), distinct across databases sharing an outbox."""
    return f"digest-{record.id:06d}-{hashlib.sha1(record.message_id.encode()).hexdigest()[:8]}"


def _deliver(cfg: Config, store: Store, record: DigestRecord, summary: DigestSummary, ruleset: RuleSet) -> bool:
    items = store.items_by_id(record.item_ids)
    subject, text, html = _render(cfg, store, items, ruleset, record.suggestions)
    msg = build_message(cfg, subject, text, html, record.message_id)
    checkpoint("digest.before_send")
    if record.refusals >= REFUSALS_BEFORE_OUTBOX:  # decided in a run that died before the file was written
        return _divert(cfg, store, record, msg, summary, record.refusals, None)
    try:
        transport, path, note = send(msg, cfg, outbox_name(record))
    except DeliveryError as e:
        # Recorded before anything else: a crash from here on cannot lose the count.
        refusals = store.digest_failed(record.id, str(e), refused=e.refused)
        if e.refused and refusals >= REFUSALS_BEFORE_OUTBOX:
            return _divert(cfg, store, record, msg, summary, refusals, str(e))
        summary.errors.append(str(e))
        log.error("digest %d: %s", record.id, e)
        return False
    # The documented window: the message is out, the database does not know it yet. A crash here
    # resends this digest with the same Message-ID.
    checkpoint("digest.sent")
    store.digest_sent(record.id, transport, path, note)
    if note:
        summary.notes.append(note)
        log.warning("digest %d: %s", record.id, note)
    summary.digests_sent += 1
    summary.items_delivered += len(items)
    if path:
        summary.paths.append(path)
    return True


def _divert(cfg: Config, store: Store, record: DigestRecord, msg: EmailMessage, summary: DigestSummary,
            refusals: int, error: str | None) -> bool:
    """The server refused this message run after run: it would block every newer digest forever.
    Keep it where the user can read it (a retry rewrites the same file), and let the next ones go."""
    note = (f"digest {record.id} saved to the outbox: the server refused it {refusals} times in a row"
            + (f" ({error})" if error else ""))
    try:
        path = str(write_outbox(msg, Path(cfg.digest.outbox), outbox_name(record)))
    except DeliveryError as e:
        summary.errors.append(f"{note}, but {e}")
        log.error("%s, but %s", note, e)
        return False
    store.digest_sent(record.id, "outbox", path, note)
    summary.diverted.append(f"{note} -> {path}")
    log.error("%s -> %s", note, path)
    return True
