"""The rule-suggestion replay: the real December 2024 – November 2025 items, one capture day a day,
over a background of real December 2022 days, polled through the real pipeline from a feed server
on 127.0.0.1 into a real database, with the rules of 2023 (tests/data/rules-2023.toml). After each
day, `rules suggest` over the last 14 days: when, and how high, are the story's new names offered?

Used by tests/test_suggest_replay.py (a small background) and tests/benchmarks/bench_suggest.py.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from worker.config import load_config
from worker.demo import FeedServer
from worker.poll import poll_cycle
from worker.relevance.background import load_background
from worker.relevance.folding import fold
from worker.relevance.rules import load_rules
from worker.relevance.suggest import Suggestion, suggest
from worker.store import ItemFilter, Store

REPO = Path(__file__).resolve().parent.parent
RULES_2023 = REPO / "tests" / "data" / "rules-2023.toml"

# Written before the first run: the names and phrases that entered the story after 2023, as the
# folded forms a suggestion may take. A suggestion counts as a hit when its folded form holds one.
TARGETS: dict[str, tuple[str, ...]] = {
    "al-Sharaa": ("sharaa", "shara", "sara", "شرع", "الشرع", "jolani", "julani", "جولاني"),
    "al-Shaibani": ("shaibani", "seybani", "شيباني", "الشيباني"),
    "HTS": ("hts", "tahrir al sham", "hayat tahrir", "tahrir", "هيئه تحرير الشام", "تحرير"),
    "Abu Qasra": ("qasra", "kasra", "قصره"),
    "the new administration": ("new administration", "new authorities", "new government", "transitional",
                               "interim", "caretaker", "yeni yonetim", "الاداره الجديده", "new syrian"),
    "Assad's fall": ("fall", "ouster", "toppled", "toppling", "overthrow", "post assad", "سقوط", "regime",
                     "rebels", "rebel"),
}
SHARAA = TARGETS["al-Sharaa"]


def holds(s: Suggestion, forms: tuple[str, ...]) -> bool:
    """Whether one of the target's forms is, word for word, inside the suggestion or its spellings."""
    texts = [s.folded.split(), *(fold(f).split() for f in s.forms)]
    for form in forms:
        words = fold(form).split()
        if any(text[i:i + len(words)] == words for text in texts for i in range(len(text) - len(words) + 1)):
            return True
    return False


def target_of(s: Suggestion) -> str | None:
    return next((name for name, forms in TARGETS.items() if holds(s, forms)), None)


@dataclass
class Day:
    day: int
    date: str
    items: int  # stored by the end of the day
    new_items: int
    sharaa_in_stream: bool  # an item of the day names him
    suggestions: list[Suggestion] = field(default_factory=list)

    def rank_of(self, forms: tuple[str, ...]) -> int | None:
        return next((n for n, s in enumerate(self.suggestions, 1) if holds(s, forms)), None)


def _rss(title: str, items: list[dict], when: datetime) -> bytes:
    pub = format_datetime(when)
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>',
             "<link>https://example.org/</link><description>replay</description>"]
    for it in items:
        parts.append(f"<item><title>{escape(it['title'] or '')}</title><link>{escape(it['link'])}</link>"
                     f"<guid>{escape(it['link'])}</guid><pubDate>{pub}</pubDate>"
                     f"<description>{escape(it.get('summary') or '')}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def load_stream(corpus: Path, background_feeds: int, per_feed_day: int | None = None) -> tuple[list[str], dict[str, dict[str, list[dict]]],
                                                                dict[str, dict[str, list[dict]]]]:
    """(the 2025 capture days, day -> feed -> items of 2025, December 2022 day -> feed -> items)."""
    story: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for line in (corpus / "real-2025" / "items.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        story[item["day"]][item["feed"]].append(item)
    per_feed: dict[str, int] = defaultdict(int)
    month: list[dict] = []
    with gzip.open(corpus / "news-2022-12.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            per_feed[item["feed"]] += 1
            month.append(item)
    # The busiest feeds of the month: a background of ordinary news that has something every day.
    chosen = set(sorted(per_feed, key=lambda u: -per_feed[u])[:background_feeds])
    background: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for item in month:
        if item["feed"] in chosen:
            todays = background[item["day"]][item["feed"]]
            if per_feed_day is None or len(todays) < per_feed_day:
                todays.append(item)
    return sorted(story), story, background


def replay(tmp: Path, corpus: Path, background_feeds: int = 12, per_feed_day: int | None = None,
           window_days: int = 14, limit: int = 10) -> list[Day]:
    days, story, background = load_stream(corpus, background_feeds, per_feed_day)
    background_days = sorted(background)
    story_feeds = sorted({feed for d in story.values() for feed in d})
    bg_feeds = sorted({feed for d in background.values() for feed in d})
    paths = {feed: f"/story/{n}" for n, feed in enumerate(story_feeds)}
    paths.update({feed: f"/background/{n}" for n, feed in enumerate(bg_feeds)})
    rules = tmp / "rules-2023.toml"
    shutil.copy(RULES_2023, rules)
    ruleset = load_rules(rules)
    prior = load_background()
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    out: list[Day] = []
    with FeedServer({}) as server:
        base = server.base_url
        outlines = "".join(f'<outline type="rss" text="{escape(feed)}" xmlUrl="{base}{path}"/>'
                           for feed, path in paths.items())
        (tmp / "feeds.opml").write_text(f'<?xml version="1.0"?><opml version="2.0"><head><title>replay</title>'
                                        f"</head><body>{outlines}</body></opml>", encoding="utf-8")
        (tmp / "newswatch.toml").write_text(
            f'[database]\npath = "{tmp / "replay.db"}"\n[feeds]\nopml = "{tmp / "feeds.opml"}"\n'
            f'[poll]\ntimeout_seconds = 10\n[classifier]\nrules = "{rules}"\n'
            f'[digest]\nto = ["analyst@example.org"]\nfrom = "newswatch@example.org"\noutbox = "{tmp / "outbox"}"\n',
            encoding="utf-8")
        cfg = load_config(str(tmp / "newswatch.toml"))
        stored = 0
        for n, day in enumerate(days):
            when = start + timedelta(days=n)
            bg_day = background.get(background_days[n % len(background_days)], {})
            server.documents = {path: (_rss(feed, story.get(day, {}).get(feed, []) if path.startswith("/story")
                                            else bg_day.get(feed, []), when), "application/rss+xml")
                                for feed, path in paths.items()}
            poll_cycle(cfg, all_feeds=True, ruleset=ruleset)
            since = (when - timedelta(days=window_days - 1)).date().isoformat()
            until = (when + timedelta(days=1)).date().isoformat()
            before = (when - timedelta(days=2 * window_days - 1)).date().isoformat()
            with Store(cfg.database.path, create=False) as store:
                window = list(store.query_items(ItemFilter(since=since, until=until)))
                previous = list(store.query_items(ItemFilter(since=before, until=since)))
                total = store.counts()["items"]
            todays = [i for f in story.get(day, {}).values() for i in f]
            named = any(any(form in (i["title"] + " " + i["summary"]).lower() for form in ("sharaa", "shara", "الشرع"))
                        for i in todays)
            out.append(Day(n + 1, when.date().isoformat(), total, total - stored, named,
                           suggest(ruleset, window, prior, previous=previous, limit=limit)))
            stored = total
    return out
