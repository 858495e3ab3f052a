"""Stories: the same wire story or event from several outlets, recognised once for the store and the digest.

assign_stories() gives each new relevant item the `items.story_id` of an earlier near-duplicate (for
people querying the store); group_stories() makes the digest's entries, keeping items that share a
story id together and applying the same test to the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from .clock import iso, utcnow
from .records import StoredItem
from .relevance.folding import fold
from .store import Store

SAME_TITLE = 0.5  # Jaccard similarity of title words at which two items are the same story
SIMILAR_TITLE, SAME_LEDE = 0.3, 0.5  # or: somewhat similar titles and the same opening of the text
STORY_WINDOW = timedelta(days=7)  # a new item joins a story whose items were fetched this recently
_OUTLET_SUFFIX = re.compile(r"\s+[-|–—]\s+[^-|–—]{2,40}$")  # "... - Reuters", "... | Al Jazeera"


@dataclass(frozen=True)
class StoryKey:
    """What two items are compared on: title words (outlet suffix removed), words of the lede, link."""
    title: frozenset[str]
    lede: frozenset[str]
    link: str | None


def _words(text: str, limit: int | None = None) -> frozenset[str]:
    words = [w for w in fold(text).split() if len(w) > 2]
    return frozenset(words[:limit])


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def story_key(title: str, summary: str, link: str | None = None) -> StoryKey:
    """The key same_story() compares."""
    return StoryKey(_words(_OUTLET_SUFFIX.sub("", title)), _words(summary, 30), link)


def same_story(a: StoryKey, b: StoryKey) -> bool:
    """The same wire story or event: the same link, most title words shared, or some and the same opening."""
    if a.link is not None and a.link == b.link:
        return True
    t = _jaccard(a.title, b.title)
    return t >= SAME_TITLE or (t >= SIMILAR_TITLE and _jaccard(a.lede, b.lede) >= SAME_LEDE)


def assign_stories(store: Store) -> None:
    """Give each new relevant item the story id of an earlier near-duplicate (else its own id), so that
    `items.story_id` groups the same event across outlets for people querying the store."""
    known: list[tuple[int, StoryKey]] = []
    for item_id, story_id, title, summary, link in store.recent_stories(iso(utcnow() - STORY_WINDOW)):
        key = story_key(title, summary, link)
        if story_id is None:
            story_id = next((s for s, k in known if same_story(key, k)), item_id)
            store.set_story(item_id, story_id)
        known.append((story_id, key))


@dataclass
class Story:
    """One entry of the digest: the items of one story."""
    items: list[StoredItem] = field(default_factory=list)
    keys: list[StoryKey] = field(default_factory=list)
    story_ids: set[int] = field(default_factory=set)

    @property
    def lead(self) -> StoredItem:
        """The best-scored item; among equals the shortest headline (usually without an outlet suffix)."""
        return min(self.items, key=lambda i: (-i.score, len(i.title)))

    @property
    def score(self) -> float:
        return max(i.score for i in self.items)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(i.feed_title or i.feed_url for i in self.items))

    def takes(self, item: StoredItem, key: StoryKey) -> bool:
        """Whether the item belongs here: its stored story, or the same story as one of the items."""
        return item.story_id in self.story_ids or any(same_story(key, k) for k in self.keys)

    def add(self, item: StoredItem, key: StoryKey) -> None:
        self.items.append(item)
        self.keys.append(key)
        if item.story_id is not None:
            self.story_ids.add(item.story_id)


def group_stories(items: list[StoredItem]) -> list[Story]:
    """Near-duplicates (the same stored story, the same link, the same wire story or event from several
    outlets) form one story; stories with more sources first, then by score."""
    stories: list[Story] = []
    # A fixed order (not the order fetches happened to finish) gives the same digest every time.
    for item in sorted(items, key=lambda i: (i.published or i.fetched, i.feed_title or i.feed_url, i.id)):
        key = story_key(item.title, item.summary, item.link)
        story = next((s for s in stories if s.takes(item, key)), None)
        if story is None:
            story = Story()
            stories.append(story)
        story.add(item, key)
    stories.sort(key=lambda s: (-len(s.sources), -s.score))
    return stories
