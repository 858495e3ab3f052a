"""The feed list, kept as OPML (the format every feed reader imports and exports)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .config import Config, FeedsConfig, PollConfig, is_packaged
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


def _parse(path: Path) -> ET.ElementTree[ET.Element]:
    # Comments are kept, so that rewriting the file (a feed moved) leaves the user's notes in place.
    return ET.parse(path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))


def read_opml(path: str | Path) -> list[FeedSpec]:
    """Every outline with an xmlUrl, in document order, the first of duplicate URLs kept."""
    return _specs(_parse_opml(Path(path)))


def _parse_opml(path: Path) -> ET.ElementTree[ET.Element]:
    """The feed list's tree, or a FeedListError saying why it cannot be one."""
    try:
        tree = _parse(path)
    except FileNotFoundError:
        raise FeedListError(f"feed list not found: {where(path)}") from None
    except ET.ParseError as e:
        raise FeedListError(f"feed list {path}: not valid OPML/XML: {e}") from None
    except LookupError as e:  # <?xml encoding="..."?> names an encoding Python does not know
        raise FeedListError(f"feed list {path}: not valid OPML/XML: {e}") from None
    except ValueError as e:  # a NUL in the path; expat's "multi-byte encodings are not supported"
        raise FeedListError(f"feed list {path!r}: {e}") from None
    except OSError as e:
        raise FeedListError(f"feed list {path}: {e.strerror}") from None
    root = tree.getroot()
    if root.tag != "opml":
        raise FeedListError(f"feed list {path}: not OPML (root element <{root.tag}>)")
    return tree


def _specs(tree: ET.ElementTree[ET.Element]) -> list[FeedSpec]:
    body = tree.getroot().find("body")
    feeds: dict[str, FeedSpec] = {}

    def walk(node: ET.Element, category: str | None) -> None:
        for child in node.findall("outline"):
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            name = child.get("title") or child.get("text")
            if url and name and name.strip() == url:
                name = None  # no name given (`feeds add URL`, many exports): the feed's own title is shown
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


def _write(tree: ET.ElementTree[ET.Element], path: Path) -> None:
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


def _open_for_adding(path: Path) -> tuple[ET.ElementTree[ET.Element], set[str]]:
    """The list and its URLs; a list that does not exist yet starts empty (rss2email's `add` makes
    its own file too)."""
    if not path.exists():
        root = ET.Element("opml", version="2.0")
        ET.SubElement(ET.SubElement(root, "head"), "title").text = "newswatch feeds"
        ET.SubElement(root, "body")
        path.parent.mkdir(parents=True, exist_ok=True)
        return ET.ElementTree(root), set()
    tree = _parse_opml(path)  # rejects a file that is not OPML, and leaves it untouched
    return tree, {f.url for f in _specs(tree)}


def _body(tree: ET.ElementTree[ET.Element]) -> ET.Element:
    body = tree.getroot().find("body")
    if body is None:
        body = ET.SubElement(tree.getroot(), "body")
    return body


def _group(body: ET.Element, category: str | None) -> ET.Element:
    if not category:
        return body
    for outline in body.findall("outline"):
        if not outline.get("xmlUrl") and (outline.get("title") or outline.get("text")) == category:
            return outline
    return ET.SubElement(body, "outline", text=category, title=category)


def _check_url(url: str) -> str:
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise FeedListError(f"not a feed URL (http or https): {url!r}")
    return url


def add_feed(path: str | Path, url: str, title: str | None = None, category: str | None = None,
             language: str | None = None) -> bool:
    """Add a feed to the list (into its category group); False if it is already there."""
    path = Path(path)
    url = _check_url(url)
    tree, present = _open_for_adding(path)
    if url in present:
        return False
    attrs = {"type": "rss", "text": title or url, "title": title or url, "xmlUrl": url}
    if language:
        attrs["language"] = language
    ET.SubElement(_group(_body(tree), category), "outline", attrs)
    ET.indent(tree)
    _write(tree, path)
    return True


def remove_feed(path: str | Path, url: str) -> bool:
    """Remove every outline of the feed; False if it was not in the list."""
    path = Path(path)
    tree = _parse(path)
    removed = False
    for parent in tree.iter():
        for child in list(parent):
            if child.tag == "outline" and child.get("xmlUrl") == url.strip():
                parent.remove(child)
                removed = True
    if removed:
        _write(tree, path)
    return removed


def import_opml(path: str | Path, source: str | Path) -> tuple[int, int]:
    """Add the feeds of another OPML file (a feed reader's export), keeping their categories;
    returns (added, already present)."""
    incoming = read_opml(source)
    if not incoming:
        raise FeedListError(f"feed list {source}: no feeds (outlines with xmlUrl) in it")
    path = Path(path)
    tree, present = _open_for_adding(path)
    body = _body(tree)
    added = 0
    for f in incoming:
        if f.url in present:
            continue
        attrs = {"type": "rss", "text": f.title or f.url, "title": f.title or f.url, "xmlUrl": f.url}
        if f.language:
            attrs["language"] = f.language
        ET.SubElement(_group(body, f.category), "outline", attrs)
        present.add(f.url)
        added += 1
    if added:
        ET.indent(tree)
        _write(tree, path)
    return added, len(incoming) - added


def fetch_title(url: str, poll: PollConfig) -> tuple[str | None, str]:
    """Fetch a feed once for its own title: (title, "") or (None, why there is none)."""
    from .fetch import Fetcher
    from .parse import parse_feed
    fetcher = Fetcher(poll)
    try:
        result = fetcher.fetch(url)
    finally:
        fetcher.close()
    if result.status != "ok":
        return None, result.error or result.status
    parsed = parse_feed(result.body or b"", result.final_url or url, result.content_type)
    if parsed.title:
        return parsed.title, ""
    return None, parsed.error or "the feed has no title"


def editable_list(cfg: Config) -> Path:
    """The feed list that `feeds add` and `feeds import` write: the config's own; on the packaged
    defaults, config/feeds.opml of the working directory (a new list: the shipped one is read-only)."""
    return Path(FeedsConfig().opml) if is_packaged(cfg.feeds.opml) else Path(cfg.feeds.opml)


def check_removable(cfg: Config) -> None:
    if is_packaged(cfg.feeds.opml):
        raise FeedListError(f"the feed list in use is the one shipped with newswatch ({cfg.feeds.opml}): "
                            "`newswatch init` writes a copy here to edit")
