"""Digest stage: render the stories of a digest as plain text and HTML (stories.py groups them).

Everything shown comes from untrusted feeds: HTML output escapes every value, keeps http(s) links only,
and has no images, scripts or remote resources; the styling is inline, as mail clients require.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .clock import local_time
from .parse import canonical_url
from .records import StoredItem
from .stories import Story
from .text import plural

SNIPPET = 280


@dataclass(kw_only=True)
class DigestContent:
    """Everything one digest shows."""
    title: str
    stories: list[Story]
    near_misses: list[StoredItem]
    failing_feeds: list[dict]
    tz: ZoneInfo
    new_terms: list[dict] = field(default_factory=list)  # Suggestion.as_dict() of rule suggestions
    plain: dict[str, str] = field(default_factory=dict)  # rule name -> the rule in plain words (rules.plain_words)

    def example(self, term: dict) -> str:
        """A headline showing the term that the digest does not list already (or none)."""
        listed = {i.title for s in self.stories for i in s.items}
        return next((t for t in term.get("examples", []) if t not in listed), "")


def why(item: StoredItem, plain: dict[str, str] | None = None, top: int = 3) -> str:
    """Why the item is here, for an analyst: what the rules that counted most found, in plain words
    ("names Turkey and Syria in the headline · talks or ties in the headline"), strongest first. The
    rule names and points stay in `classify` and items.explanation, for whoever tunes the rules.
    Without plain words (rules that have no `why`), the rule names and their points."""
    counted = sorted((h for h in item.explanation if h.get("points", 0) > 0), key=lambda h: -h["points"])
    if plain:
        words = list(dict.fromkeys(plain[h["rule"]] for h in counted if h["rule"] in plain))[:top]
        if words:
            return " · ".join(words)
    hits = sorted(item.explanation, key=lambda h: -abs(h.get("points", 0)))[:top]
    parts = [f"{h['rule']} ({h['points']:+g})" for h in hits]
    more = len(item.explanation) - len(hits)
    return (", ".join(parts) + (f" and {more} more" if more > 0 else "")) or f"score {item.score:g}"


def _lang_attrs(item: StoredItem) -> str:
    """lang for fonts and screen readers; dir=rtl for Arabic, since not every mail client honours auto."""
    if item.lang == "ar":
        return ' lang="ar" dir="rtl"'
    return f' lang="{html.escape(item.lang)}" dir="auto"' if item.lang else ' dir="auto"'



def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET].rsplit(" ", 1)[0] + " …"


def render_text(c: DigestContent) -> str:
    lines = [c.title, "=" * len(c.title), ""]
    for n, story in enumerate(c.stories, 1):
        lead = story.lead
        lines.append(f"{n}. {lead.title}")
        when = local_time(lead.published or lead.fetched, c.tz)
        lines.append(f"   {when} · {', '.join(story.sources)} · score {story.score:g}")
        if lead.summary:
            lines.append(f"   {_snippet(lead.summary)}")
        lines.append(f"   why: {why(lead, c.plain)}")
        for item in story.items:
            if item.link:
                lines.append(f"   - {item.feed_title or item.feed_url}: {item.link}")
        lines.append("")
    if not c.stories:
        lines += ["Nothing new.", ""]
    if c.near_misses:
        lines += ["Near misses (scored just under the threshold; for tuning the rules)", "-" * 67]
        for item in c.near_misses:
            lines.append(f"  {item.score:>5g}  {item.title}  ({item.feed_title or item.feed_url})"
                         + (f" {item.link}" if item.link else ""))
        lines.append("")
    if c.new_terms:
        lines += ["New near the story (words the rules do not know yet; for whoever tunes them)", "-" * 76]
        for t in c.new_terms:
            ex = c.example(t)
            example = f', e.g. "{ex}"' if ex else ""
            lines.append(f"  {t['term']}: {plural(t['items'], 'item')} in {plural(t['feeds'], 'feed')}, "
                         f"{t['background_items']} elsewhere{example}")
        lines += ["  Add one: newswatch rules suggest --accept TERM; never again: --reject TERM", ""]
    if c.failing_feeds:
        lines += ["Feeds failing for a day or more", "-" * 31]
        for f in c.failing_feeds:
            lines.append(f"  {f['title'] or f['url']}: {f['last_error']} ({f['error_count']} failures in a row, "
                         f"last success {f['last_success_at'] or 'never'}) <{f['url']}>")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _href(url: str | None) -> str | None:
    return canonical_url(url)  # None unless http(s): no javascript:, data: or mailto: links


def render_html(c: DigestContent) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{e(c.title)}</title></head>",
        ("<body style=\"margin:0;padding:12px;background:#f4f4f1;font-family:Georgia,'Times New Roman','Noto Naskh Arabic',Tahoma,serif;"
         "color:#222;\">"),
        "<div style=\"max-width:680px;margin:0 auto;background:#fff;padding:18px 20px;border-radius:6px;\">",
        f"<h1 style=\"font-size:20px;line-height:1.3;margin:0 0 12px;\">{e(c.title)}</h1>",
    ]
    for story in c.stories:
        lead = story.lead
        href = _href(lead.link)
        head = e(lead.title)
        if href:
            head = f"<a href=\"{e(href)}\" style=\"color:#0b4f8a;text-decoration:none;\">{head}</a>"
        when = e(local_time(lead.published or lead.fetched, c.tz))
        out.append("<div style=\"border-top:1px solid #ddd;padding:12px 0;overflow-wrap:anywhere;\">")
        out.append(f"<h2{_lang_attrs(lead)} style=\"font-size:17px;line-height:1.35;margin:0 0 4px;\">{head}</h2>")
        out.append(f"<div style=\"font-size:13px;color:#666;\">{when} · {e(', '.join(story.sources))} · "
                   f"<span style=\"white-space:nowrap;\">score {story.score:g}</span></div>")
        if lead.summary:
            out.append(f"<p{_lang_attrs(lead)} style=\"font-size:15px;line-height:1.45;margin:6px 0;\">"
                       f"{e(_snippet(lead.summary))}</p>")
        out.append(f"<div style=\"font-size:13px;color:#595959;\">why: {e(why(lead, c.plain))}</div>")
        links = [f"<a href=\"{e(h)}\" style=\"color:#0b4f8a;\">{e(i.feed_title or i.feed_url)}</a>"
                 for i in story.items if (h := _href(i.link))]
        if len(links) > 1:
            out.append(f"<div style=\"font-size:13px;margin-top:4px;\">{len(links)} sources: "
                       f"{' · '.join(links)}</div>")
        out.append("</div>")
    if not c.stories:
        out.append("<p>Nothing new.</p>")
    if c.near_misses:
        out.append("<h3 style=\"font-size:15px;margin:18px 0 6px;color:#555;\">Near misses "
                   "<span style=\"font-weight:normal;font-size:12px;\">(just under the threshold; for tuning "
                   "the rules)</span></h3><ul style=\"padding-left:18px;margin:0;font-size:13px;color:#555;\">")
        for item in c.near_misses:
            h = _href(item.link)
            t = f"<a href=\"{e(h)}\" style=\"color:#555;\">{e(item.title)}</a>" if h else e(item.title)
            out.append(f"<li{_lang_attrs(item)}>{t} · {e(item.feed_title or item.feed_url)} · {item.score:g}</li>")
        out.append("</ul>")
    if c.new_terms:
        out.append("<h3 style=\"font-size:15px;margin:18px 0 6px;color:#555;\">New near the story "
                   "<span style=\"font-weight:normal;font-size:12px;\">(words the rules do not know yet; for "
                   "whoever tunes them)</span></h3><ul style=\"padding-left:18px;margin:0;font-size:13px;color:#555;\">")
        for term in c.new_terms:
            ex = c.example(term)
            example = f" · e.g. “{e(ex)}”" if ex else ""
            out.append(f"<li><b>{e(term['term'])}</b>: {e(plural(term['items'], 'item'))} in "
                       f"{e(plural(term['feeds'], 'feed'))}, {term['background_items']} elsewhere{example}</li>")
        out.append("</ul><p style=\"font-size:12px;color:#666;margin:4px 0;\">Add one: <code>newswatch rules suggest "
                   "--accept TERM</code>; never again: <code>--reject TERM</code></p>")
    if c.failing_feeds:
        out.append("<h3 style=\"font-size:15px;margin:18px 0 6px;color:#8a3b0b;\">Feeds failing for a day or "
                   "more</h3><ul style=\"padding-left:18px;margin:0;font-size:13px;color:#555;\">")
        for f in c.failing_feeds:
            out.append(f"<li>{e(f['title'] or f['url'])}: {e(f['last_error'] or '')} "
                       f"({f['error_count']} failures in a row)</li>")
        out.append("</ul>")
    out.append("<p style=\"font-size:12px;color:#666;margin-top:16px;\">sent by newswatch</p>")
    out.append("</div></body></html>")
    return "\n".join(out) + "\n"
