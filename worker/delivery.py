"""Digest delivery: send_digest() claims the relevant items not yet delivered, renders them, sends the
message through the transport and records the outcome in the store.

Bookkeeping: a digest and its items are recorded before sending; they are marked delivered only
after the SMTP server (or the outbox) accepted the message. A digest that failed is retried with
the same items and the same Message-ID before anything new is sent.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from .clock import iso, parse_iso, utcnow
from .config import Config
from .digest import DigestContent, render_html, render_text
from .errors import NewswatchError
from .failpoints import checkpoint
from .locks import FileLock
from .records import DigestRecord, StoredItem
from .relevance.rules import RuleSet, load_rules, plain_words
from .store import Store
from .stories import group_stories
from .text import plural
from .transport import DeliveryError, build_message, new_message_id, send, write_outbox

log = logging.getLogger("newswatch")

REFUSALS_BEFORE_OUTBOX = 3  # runs in a row (days, for the daily digest) the server refused one digest


@dataclass(kw_only=True)
class DigestSummary:
    """What one digest run did, for its log line and the CLI."""
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


def send_digest(cfg: Config, dry_run: bool = False, fmt: str = "text") -> DigestSummary:
    """Deliver every relevant item not yet delivered; with dry_run, only render the preview."""
    summary = DigestSummary()
    # The rules give the near-miss threshold and the why lines; a rules file that cannot be read
    # stops the run before anything is claimed.
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
            for record in store.unsent_digests():  # a digest that failed goes first, unchanged
                if not _deliver(cfg, store, record, summary, ruleset):
                    return summary
            first = True
            while True:  # a backlog larger than max_items goes out in several digests, all now
                claimed = _claim(cfg, store, ruleset, first)
                first = False
                if claimed is None or not _deliver(cfg, store, claimed, summary, ruleset):
                    break
                if len(claimed.item_ids) < cfg.digest.max_items:
                    break
        if cfg.retention.irrelevant_days:  # retention runs with the daily digest
            summary.pruned = store.prune(cfg.retention.irrelevant_days)
    return summary


def _claim(cfg: Config, store: Store, ruleset: RuleSet, first: bool) -> DigestRecord | None:
    """Record the next digest with its items (the first of a run may be empty, and carries the rule
    suggestions when they are due); None when there is nothing to send."""
    record = store.claim_digest(new_message_id(cfg.digest.from_), cfg.digest.max_items,
                                allow_empty=first and cfg.digest.send_empty)
    if record is not None and first and (terms := _new_terms(cfg, store, ruleset)):
        store.set_digest_suggestions(record.id, terms)
        record = replace(record, suggestions=terms)
    return record


def _subject(cfg: Config, count: int) -> str:
    """[digest] subject with {count} (a number) or {items} ("1 new item", "3 new items") filled in."""
    return cfg.digest.subject.replace("{items}", plural(count, "new item")).replace("{count}", str(count))


def _render(cfg: Config, store: Store, items: list[StoredItem], ruleset: RuleSet,
            new_terms: list[dict] | None = None) -> tuple[str, str, str]:
    d = cfg.digest
    near = (store.near_misses(ruleset.threshold - d.near_miss_margin, store.last_digest_at(), d.near_misses)
            if d.near_misses else [])
    failing = store.failing_feeds(iso(utcnow() - timedelta(hours=d.failing_feed_hours)))
    content = DigestContent(title=_subject(cfg, len(items)), stories=group_stories(items), near_misses=near,
                            failing_feeds=failing, tz=ZoneInfo(d.timezone), new_terms=new_terms or [],
                            plain=plain_words(ruleset))
    return content.title, render_text(content), render_html(content)


def _new_terms(cfg: Config, store: Store, ruleset: RuleSet) -> list[dict]:
    """The "New near the story" section when it is due (at most once in [digest] new_terms_days), else
    nothing. Suggestions are a help for whoever tunes the rules: a failure leaves them out of the
    digest, never the digest out."""
    d = cfg.digest
    last = store.last_suggestions_at()
    if not d.new_terms or (last and utcnow() - parse_iso(last) < timedelta(days=d.new_terms_days)):
        return []
    from .relevance.suggest import suggest_from_store  # the word counts it loads are for this section only
    try:
        return [s.as_dict() for s in suggest_from_store(store, ruleset, limit=d.new_terms)]
    except (NewswatchError, sqlite3.Error, OSError, ValueError) as e:
        log.warning("digest: no rule suggestions this time: %s", e)
        return []


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
