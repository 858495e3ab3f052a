"""Real parts for the tests: a feed server and an SMTP server on 127.0.0.1, configs on disk, the CLI
run as a subprocess exactly as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from worker.demo import FeedServer

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "config" / "rules" / "turkey-syria.toml"


def rss(items: list[dict], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; each item dict may have title, link, guid, description, pubDate."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>',
             "<link>https://example.org/</link><description>test</description>"]
    for it in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in it:
                parts.append(f"<{key}>{it[key]}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def atom(entries: list[dict], title: str = "Test atom") -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>{title}</title><id>urn:test:{title}</id><updated>2024-12-22T00:00:00Z</updated>"]
    for e in entries:
        parts.append(f"<entry><title>{e['title']}</title><id>{e['id']}</id>"
                     f"<link href=\"{e['link']}\"/><updated>{e.get('updated', '2024-12-22T10:00:00Z')}</updated>"
                     f"<summary>{e.get('summary', '')}</summary></entry>")
    parts.append("</feed>")
    return "".join(parts).encode()


RELEVANT_ITEMS = [
    {"title": "Turkish and Syrian defence ministers meet in Moscow", "link": "https://news.example.org/a1?utm_source=rss",
     "guid": "a1", "pubDate": "Wed, 28 Dec 2022 17:10:00 +0000",
     "description": "&lt;p&gt;Ankara and Damascus held their first official talks in a decade.&lt;/p&gt;"},
    {"title": "Erdogan says he may meet Assad to normalize ties with Syria", "link": "https://news.example.org/a2",
     "guid": "a2", "pubDate": "Thu, 05 Jan 2023 09:30:00 +0000",
     "description": "The Turkish president said a meeting with Syria's president could follow talks."},
]
OTHER_ITEMS = [
    {"title": "Central bank holds rates", "link": "https://news.example.org/b1", "guid": "b1",
     "pubDate": "Fri, 01 Mar 2024 10:00:00 +0000", "description": "Rates unchanged."},
    {"title": "Turkey and Armenia agree steps toward normalization", "link": "https://news.example.org/b2",
     "guid": "b2", "pubDate": "Fri, 01 Jul 2022 12:00:00 +0000",
     "description": "Ankara and Yerevan agreed to open the border to third-country nationals."},
]


@pytest.fixture
def feed_server():
    with FeedServer({}) as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpSink:
    """aiosmtpd handler: keeps every message; `reply` set to e.g. '554 ...' refuses them."""
    messages: list[Message] = field(default_factory=list)
    reply: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def write_config(tmp_path: Path, feed_urls: list[str], smtp_port: int | None = None,
                 extra: str = "", interval: int = 15) -> Path:
    outlines = "".join(f'<outline type="rss" text="Feed {i}" xmlUrl="{u}"/>' for i, u in enumerate(feed_urls))
    (tmp_path / "feeds.opml").write_text(
        f'<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>{outlines}</body></opml>')
    smtp = (f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout_seconds = 5\n'
            if smtp_port else "")
    cfg = tmp_path / "newswatch.toml"
    cfg.write_text(f"""
[database]
path = "{tmp_path / 'db' / 'newswatch.db'}"
[feeds]
opml = "{tmp_path / 'feeds.opml'}"
[poll]
interval_minutes = {interval}
timeout_seconds = 5
[classifier]
rules = "{RULES}"
[digest]
to = ["analyst@example.org"]
from = "newswatch@example.org"
outbox = "{tmp_path / 'outbox'}"
{smtp}{extra}
""")
    return cfg


def newswatch(*args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 60,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a child process, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "worker", *args], check=False, cwd=cwd or REPO, input=input,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False
