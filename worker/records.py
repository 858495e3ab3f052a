"""The records that cross modules: what a poll hands the store, and what the store hands back.

Every record is a keyword-only dataclass: with a dozen fields of the same types, a positional call
that swapped two of them would still run. The feed statuses are listed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# What one fetch gave (fetch.FetchResult.status).
FetchStatus = Literal["ok", "not_modified", "error"]
# What one poll recorded for a feed (feeds.last_status): a fetch status, or "warning" (malformed but
# gave items), "unchanged" (the same bytes as last time) or "gone" (HTTP 410: not polled again).
FeedStatus = Literal["ok", "warning", "not_modified", "unchanged", "error", "gone"]
FAILED_STATUSES: tuple[FeedStatus, ...] = ("error", "gone")  # the statuses that count as a failed poll
# A feed of the list as `feeds list` shows it: its last status, why it has none, or "blocked (403)"
# for a failing feed whose site refuses automated readers.
FeedHealthStatus = FeedStatus | Literal["disabled", "never polled", "blocked (403)"]
DigestStatus = Literal["pending", "sent"]


@dataclass(kw_only=True)
class FeedState:
    """A feed due for polling, with what the next request needs."""
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    error_count: int
    body_hash: str | None = None
    language: str | None = None  # from the feed list


@dataclass(kw_only=True)
class FeedUpdate:
    """What one poll learned about a feed."""
    status: FeedStatus
    next_poll: datetime
    http_status: int | None = None
    error: str | None = None  # the error, or the warning of a feed that still gave items
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    items_per_day: float | None = None
    disabled_reason: str | None = None  # set: the feed is not polled again until re-added
    new_url: str | None = None  # a permanent redirect


@dataclass(kw_only=True)
class NewItem:
    """An item with its verdict, ready to store."""
    dedup_key: str
    guid: str | None
    link: str | None
    title: str
    summary: str
    published: str | None
    lang: str | None
    content_hash: str
    score: float
    relevant: bool
    matches: list[str]
    explanation: list[dict]


@dataclass(kw_only=True)
class ItemFilter:
    """Which stored items a search or an export wants."""
    relevant: bool | None = None
    since: str | None = None  # UTC ISO date or time, inclusive
    until: str | None = None  # exclusive
    feed: str | None = None  # a feed URL, or part of a feed's title or URL
    lang: str | None = None
    max_id: int | None = None  # none stored after this one (the parts of one export agree)


@dataclass(kw_only=True)
class StoredItem:
    """An item as stored, with the name of its feed."""
    id: int
    feed_id: int
    feed_title: str | None
    feed_url: str
    title: str
    summary: str
    link: str | None
    published: str | None
    fetched: str
    lang: str | None
    score: float
    relevant: bool
    matches: list[str]
    explanation: list[dict]
    story_id: int | None = None  # the first item of its story (stories.assign_stories); None: not yet assigned


@dataclass(kw_only=True)
class DigestRecord:
    """A digest recorded in the store, with the items it claimed."""
    id: int
    message_id: str
    status: DigestStatus
    attempts: int
    item_ids: list[int]
    refusals: int = 0  # runs in a row the server refused this very message (content or size)
    suggestions: list[dict] | None = None  # the "New near the story" section it carries, if any
