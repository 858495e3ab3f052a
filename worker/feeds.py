"""The feed list, kept as OPML (the format every feed reader imports and exports)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .text import where


class FeedListError(UsageError):
    """An OPML file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class FeedSpec:
    url: str
    title: str | None = None
    language: str | None = None
    category: str | None = None


def _parse(path: Path) -> ET.ElementTree:
    # Comments are kept, so that rewriting the file (a feed moved) leaves the user's notes in place.
    return ET.parse(path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))


def read_opml(path: str | Path) -> list[FeedSpec]:
    """Every outline with an xmlUrl, in document order, the first of duplicate URLs kept."""
    path = Path(path)
    try:
        tree = _parse(path)
    except FileNotFoundError:
        raise FeedListError(f"feed list not found: {where(path)}") from None
    except ET.ParseError as e:
        raise FeedListError(f"feed list {path}: not valid OPML/XML: {e}") from None
    except OSError as e:
        raise FeedListError(f"feed list {path}: {e.strerror}") from None
    root = tree.getroot()
    if root.tag != "opml":
        raise FeedListError(f"feed list {path}: not OPML (root element <{root.tag}>)")
    body = root.find("body")
    feeds: dict[str, FeedSpec] = {}

    def walk(node: ET.Element, category: str | None) -> None:
        for child in node.findall("outline"):
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            name = child.get("title") or child.get("text")
            if url:
                if url.startswith(("http://", "https://")) and url not in feeds:
                    feeds[url] = FeedSpec(url, name, child.get("language"), category)
            else:
                walk(child, name or category)

    if body is not None:
        walk(body, None)
    return list(feeds.values())


def replace_urls(path: str | Path, moved: dict[str, str]) -> int:
    """Point the outlines of moved feeds (old URL -> new URL) at their new URL; returns how many."""
    path = Path(path)
    tree = _parse(path)
    changed = 0
    for outline in tree.iter("outline"):
        old = outline.get("xmlUrl")
        if old in moved:
            outline.set("xmlUrl", moved[old])
            changed += 1
    if changed:
        _write(tree, path)
    return changed


def _write(tree: ET.ElementTree, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tree.write(tmp, encoding="UTF-8", xml_declaration=True)
    tmp.replace(path)


def write_opml(path: str | Path, feeds: list[FeedSpec], title: str = "newswatch feeds") -> None:
    """Write the feed list, grouped by category, atomically (a crash leaves the old file)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[str | None, ET.Element] = {}
    for f in feeds:
        parent = body
        if f.category:
            if f.category not in groups:
                groups[f.category] = ET.SubElement(body, "outline", text=f.category, title=f.category)
            parent = groups[f.category]
        attrs = {"type": "rss", "text": f.title or f.url, "title": f.title or f.url, "xmlUrl": f.url}
        if f.language:
            attrs["language"] = f.language
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    _write(ET.ElementTree(root), Path(path))
