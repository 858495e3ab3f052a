"""Digest stage: group items into stories and render them as plain text and HTML.

Everything shown comes from untrusted feeds: HTML output escapes every value, keeps http(s) links only,
and has no images, scripts or remote resources.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .parse import canonical_url
from .store import StoredItem
from .text import fold

SNIPPET = 280
SIMILAR = 0.5  # Jaccard similarity of title words at which two items are the same story


@dataclass
class Story:
    items: list[StoredItem] = field(default_factory=list)

    @property
    def lead(self) -> StoredItem:
        return max(self.items, key=lambda i: (i.score, -i.id))

    @property
    def score(self) -> float:
        return max(i.score for i in self.items)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(i.feed_title or i.feed_url for i in self.items))


def _words(title: str) -> set[str]:
    return {w for w in fold(title).split() if len(w) > 2}


def group_stories(items: list[StoredItem]) -> list[Story]:
    """Near-duplicate items (same link, or titles sharing most words) form one story; best first."""
    stories: list[tuple[Story, set[str], set[str]]] = []
    for item in items:
        words = _words(item.title)
        link = item.link or f"#{item.id}"
        for story, story_words, links in stories:
            union = words | story_words
            if link in links or (union and len(words & story_words) / len(union) >= SIMILAR):
                story.items.append(item)
                story_words |= words
                links.add(link)
                break
        else:
            stories.append((Story([item]), set(words), {link}))
    out = [s for s, _, _ in stories]
    out.sort(key=lambda s: (-len(s.sources), -s.score))
    return out


def local_time(iso_utc: str | None, tz: ZoneInfo) -> str:
    if not iso_utc:
        return ""
    try:
        dt = datetime.strptime(iso_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return ""
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def why(item: StoredItem) -> str:
    parts = [f"{h['rule']} (+{h['points']:g})" for h in item.explanation if h.get("points", 0) > 0]
    return ", ".join(parts) or "score " + f"{item.score:g}"


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET].rsplit(" ", 1)[0] + " …"


def render_text(stories: list[Story], tz: ZoneInfo, title: str) -> str:
    lines = [title, "=" * len(title), ""]
    for n, story in enumerate(stories, 1):
        lead = story.lead
        lines.append(f"{n}. {lead.title}")
        when = local_time(lead.published or lead.fetched, tz)
        lines.append(f"   {when} · {', '.join(story.sources)} · score {story.score:g}")
        if lead.summary:
            lines.append(f"   {_snippet(lead.summary)}")
        lines.append(f"   why: {why(lead)}")
        for item in story.items:
            if item.link:
                lines.append(f"   - {item.feed_title or item.feed_url}: {item.link}")
        lines.append("")
    if not stories:
        lines.append("Nothing new.")
    return "\n".join(lines).rstrip() + "\n"


def _safe_href(url: str | None) -> str | None:
    return canonical_url(url)  # None unless http(s)


def render_html(stories: list[Story], tz: ZoneInfo, title: str) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{e(title)}</title></head>",
        "<body style=\"margin:0;padding:16px;background:#f6f6f4;font-family:Georgia,serif;color:#222;\">",
        "<div style=\"max-width:680px;margin:0 auto;background:#fff;padding:20px;border-radius:6px;\">",
        f"<h1 style=\"font-size:20px;margin:0 0 16px;\">{e(title)}</h1>",
    ]
    for story in stories:
        lead = story.lead
        href = _safe_href(lead.link)
        head = e(lead.title)
        if href:
            head = f"<a href=\"{e(href)}\" style=\"color:#0b4f8a;text-decoration:none;\">{head}</a>"
        when = e(local_time(lead.published or lead.fetched, tz))
        out.append("<div style=\"border-top:1px solid #ddd;padding:12px 0;\">")
        out.append(f"<h2 dir=\"auto\" style=\"font-size:17px;margin:0 0 4px;\">{head}</h2>")
        out.append(f"<div style=\"font-size:13px;color:#666;\">{when} · {e(', '.join(story.sources))}</div>")
        if lead.summary:
            out.append(f"<p dir=\"auto\" style=\"font-size:15px;line-height:1.4;margin:6px 0;\">{e(_snippet(lead.summary))}</p>")
        out.append(f"<div style=\"font-size:12px;color:#888;\">why: {e(why(lead))}</div>")
        links = []
        for item in story.items:
            h = _safe_href(item.link)
            if h:
                links.append(f"<a href=\"{e(h)}\" style=\"color:#0b4f8a;\">{e(item.feed_title or item.feed_url)}</a>")
        if len(links) > 1:
            out.append(f"<div style=\"font-size:13px;margin-top:4px;\">sources: {' · '.join(links)}</div>")
        out.append("</div>")
    if not stories:
        out.append("<p>Nothing new.</p>")
    out.append("<p style=\"font-size:12px;color:#999;margin-top:16px;\">sent by newswatch</p>")
    out.append("</div></body></html>")
    return "\n".join(out) + "\n"
