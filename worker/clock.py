"""Time: the current UTC time, and the one ISO format times are stored and compared in."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# Every time the store keeps (and compares as text) is UTC in this format, so text order is time order.
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """A datetime as stored: UTC, ISO_FORMAT."""
    return dt.astimezone(UTC).strftime(ISO_FORMAT)


def from_iso(text: str) -> datetime:
    """A time in exactly ISO_FORMAT as an aware UTC datetime; ValueError for anything else."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)


def parse_iso(text: str) -> datetime:
    """A stored time (iso(), or a date alone) as an aware UTC datetime."""
    text = text.rstrip("Z")
    dt = datetime.fromisoformat(text if "T" in text else f"{text}T00:00:00")
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def local_time(iso_utc: str | None, tz: ZoneInfo) -> str:
    """A stored time shown in `tz` ("2022-12-28 20:00 +03"); empty when there is none or it is malformed."""
    if not iso_utc:
        return ""
    try:
        dt = from_iso(iso_utc)
    except ValueError:
        return ""
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
