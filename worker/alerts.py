"""Alerts: a webhook post, at once, for each relevant item scoring at least [alerts] min_score."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from .clock import iso, local_time, utcnow
from .config import Config
from .digest import why
from .failpoints import checkpoint
from .records import StoredItem
from .store import Store
from .transport import DeliveryError, post_webhook

log = logging.getLogger("newswatch")

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
        error = _post(cfg, item, alert_payload(item, tz))
        if error is None:
            store.alert_sent(item.id)
            sent += 1
        else:
            store.alert_failed(item.id, error)
            log.warning("alert for item %d: %s", item.id, error)
            failed += 1
            break  # the receiver is down: the other items wait for the next cycle, no attempt spent
    return sent, failed


def _post(cfg: Config, item: StoredItem, payload: dict) -> str | None:
    """Post with [alerts] retries; None once the receiver took it, else the last error."""
    a = cfg.alerts
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
        return None
    return error


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
