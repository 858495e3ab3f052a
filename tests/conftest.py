"""Real parts for the tests: a feed server and an SMTP server on 127.0.0.1, configs on disk, and the CLI
run through `main` exactly as the console script runs it (in a child process where one is needed)."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from scripted_server import ScriptedServer

from worker.cli import main
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


@pytest.fixture
def stalling_feed():
    """The URL of a feed (one request) whose answer, with Connection: close, drips a byte every 0.15 s
    for 0.6 s and then stalls: a read that starts 0.6 s in waits out its whole timeout."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"
                     b"Content-Length: 100000\r\n\r\n<rss>")
        for _ in range(4):
            time.sleep(0.15)
            conn.sendall(b" ")
        time.sleep(6)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    listener.close()


def timed_fetch(url: str, timeout_seconds: float):
    """(the FetchResult, seconds taken) of one fetch by a Fetcher of its own."""
    from worker.config import PollConfig
    from worker.fetch import Fetcher
    fetcher = Fetcher(PollConfig(timeout_seconds=timeout_seconds))
    started = time.monotonic()
    try:
        return fetcher.fetch(url), time.monotonic() - started
    finally:
        fetcher.close()


# A self-signed certificate for 127.0.0.1, valid until 2126: trusted by a test as a private CA is
# (REQUESTS_CA_BUNDLE for feeds, SSL_CERT_FILE for SMTP).
TLS = REPO / "tests" / "data" / "tls"


@pytest.fixture
def tls_server():
    """(the server, the https:// URL of its /feed: RELEVANT_ITEMS)."""
    with FeedServer({"/feed": (rss(RELEVANT_ITEMS), "application/rss+xml")}) as server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
        server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
        yield server, f"https://127.0.0.1:{server.httpd.server_address[1]}/feed"


@pytest.fixture
def scripted_server():
    """A server on 127.0.0.1 that answers each path with the replies a test scripts (scripted_server.py)."""
    s = ScriptedServer()
    yield s
    s.close()


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
              env: dict | None = None, process: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI as a user would, and return its exit code and output.

    In this process by default: click's CliRunner isolation around `main`, exactly as the console
    script calls it, with its own argv, environment, working directory, standard streams and logging;
    starting Python and importing feedparser for each of some 170 runs was most of the test loop.
    A child process where only a process will do: `process=True` (the daemon, signals, reads from a
    real pipe, worker processes), and every run with crash points (worker/failpoints.py reads them
    from the environment at import; NEWSWATCH_KILL_AT kills the process it runs in). `timeout`
    bounds child processes only."""
    env = dict(env or {})
    if process or {"NEWSWATCH_KILL_AT", "NEWSWATCH_CHECKPOINT_LOG"} & set(env):
        with _IN_PROCESS:  # the environment as it is between in-process runs, not inside one
            full_env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_CONFIG"}
        full_env.update(env)
        return subprocess.run([sys.executable, "-m", "worker", *args], check=False, cwd=cwd or REPO, input=input,
                              capture_output=True, text=True, timeout=timeout, env=full_env)
    with _IN_PROCESS:
        return _newswatch_in_process(list(args), cwd or REPO, input, env)


# An in-process run swaps what the whole process shares (argv, environment, working directory,
# standard streams, logging): two at once, from a test's threads (the crash test runs its cases two
# at a time), would run each other's commands. They take turns; child processes still run at once.
_IN_PROCESS = threading.Lock()


def _newswatch_in_process(args: list[str], cwd: Path, input: str | None,
                          env: dict) -> subprocess.CompletedProcess:
    root = logging.getLogger()
    saved = (sys.argv, os.getcwd(), root.handlers[:], root.level)
    with CliRunner().isolation(input=input, env={"NEWSWATCH_CONFIG": None, **env}) as streams:
        out, err = streams[0], streams[1]  # click 8.1 yields two streams, later versions three
        sys.argv = ["newswatch", *args]
        os.chdir(cwd)
        root.handlers = []  # pytest's own handlers would make the CLI's logging.basicConfig a no-op
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.argv = saved[0]
            os.chdir(saved[1])
            for handler in root.handlers:
                handler.close()
            root.handlers, root.level = saved[2], saved[3]
        return subprocess.CompletedProcess(["newswatch", *args], code, out.getvalue().decode("utf-8", "replace"),
                                           err.getvalue().decode("utf-8", "replace"))


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False
