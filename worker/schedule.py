"""When to poll a feed next: pure functions, apart from the work they schedule.

A healthy feed is polled every [poll] interval_minutes, less often when it publishes rarely (up to
4x the interval), and never sooner than the publisher asked (RSS <ttl>, Cache-Control max-age). A
failing feed backs off exponentially up to a day, and sooner than Retry-After never; it is never
dropped. Every delay gets +-10% jitter so that feeds added together do not stay in lockstep.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .clock import from_iso

MAX_DELAY = timedelta(hours=24)
SLOW_FEED_FACTOR = 4  # a feed that publishes rarely is polled at most this many intervals apart
JITTER = 0.10


def publishing(published: list[str | None], now: datetime) -> tuple[float | None, timedelta | None]:
    """(items per day, the time span the feed's items cover) from their UTC ISO times; None if unknown.

    A feed shows only its last N items, so the rate is N over the span they cover, not over a fixed
    week: a wire feed keeping 20 items of the last hour publishes 480 a day, not 3.
    """
    times = []
    for p in published:
        if p:
            try:
                t = from_iso(p)
            except ValueError:
                continue
            if t <= now + timedelta(hours=1):  # a future date says nothing about the pace
                times.append(t)
    if len(times) < 2:
        return None, None
    span = max(times) - min(times)
    if span < timedelta(minutes=1):
        return None, None
    return round((len(times) - 1) / (span / timedelta(days=1)), 3), span


def next_poll(now: datetime, interval: timedelta, *, errors: int = 0, rate: float | None = None,
              window: timedelta | None = None, ttl_minutes: int | None = None, max_age: int | None = None,
              retry_after: int | None = None, rng: random.Random | None = None) -> datetime:
    """The next poll time after a poll at `now`; `window` is the span the feed's items cover, and we
    come back within half of it, so nothing falls off the feed between two polls."""
    if errors:
        delay = min(interval * 2 ** min(errors, 10), MAX_DELAY)  # 2, 4, 8... intervals, at most a day
    else:
        delay = interval
        if rate is not None:
            # Poll about four times per expected new item, within [interval, 4 x interval].
            gap = timedelta(days=1) / max(rate, 0.01)
            delay = min(max(gap / 4, interval), interval * SLOW_FEED_FACTOR)
        if window is not None:
            delay = max(min(delay, window / 2), interval)
        if ttl_minutes:
            delay = max(delay, min(timedelta(minutes=ttl_minutes), MAX_DELAY))
        if max_age:
            delay = max(delay, min(timedelta(seconds=max_age), MAX_DELAY))
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_DELAY))
    delay = min(delay, MAX_DELAY)
    spread = (rng or random).uniform(-JITTER, JITTER)
    return now + delay * (1 + spread)
