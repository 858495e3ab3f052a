"""Offline tour: bundled sample feeds served on 127.0.0.1 -> throwaway database -> digest in the outbox."""

from __future__ import annotations

import hashlib
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Self

from .config import AlertsConfig, Config, DatabaseConfig, FeedsConfig, SmtpConfig
from .delivery import DigestSummary, send_digest
from .feeds import FeedSpec, write_opml
from .poll import PollSummary, poll_cycle
from .records import StoredItem
from .store import Store

DEMO_FEEDS = (
    ("world-wire.xml", "Demo World Wire (RSS, English)", "application/rss+xml; charset=utf-8"),
    ("gundem.xml", "Demo Gündem (Atom, Turkish)", "application/atom+xml; charset=utf-8"),
    ("akhbar.xml", "Demo Akhbar (RSS, Arabic)", "application/rss+xml; charset=utf-8"),
)


class FeedServer:
    """A static feed server on 127.0.0.1 with ETag / If-None-Match (304), in a background thread."""

    def __init__(self, documents: dict[str, tuple[bytes, str]]):
        self.documents = documents  # path -> (body, content type)
        self.requests: list[tuple[str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # else ~40 ms per response from delayed ACKs

            def do_GET(self) -> None:
                doc = server.documents.get(self.path)
                if doc is None:
                    self._reply(404, b"not found", "text/plain")
                    return
                body, ctype = doc
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", ctype, etag)
                else:
                    self._reply(200, body, ctype, etag)

            def _reply(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
                server.requests.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                # A client that hung up mid-response (a poll cut short) is not the server's problem.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # shutdown() waits up to one poll interval for the loop to notice: 0.05 s, not the default 0.5.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class DemoResult:
    poll: PollSummary
    items: list[StoredItem]
    digest: DigestSummary


def demo_documents() -> dict[str, tuple[bytes, str]]:
    data = resources.files("worker") / "demo_data"
    return {f"/{name}": ((data / name).read_bytes(), ctype) for name, _, ctype in DEMO_FEEDS}


def run_demo(cfg: Config, outbox: str | None = None) -> DemoResult:
    """Poll the bundled feeds into a temporary database and write the digest to the outbox."""
    with tempfile.TemporaryDirectory(prefix="newswatch-demo-") as tmp, FeedServer(demo_documents()) as server:
        opml = Path(tmp) / "feeds.opml"
        write_opml(opml, [FeedSpec(f"{server.base_url}/{name}", title) for name, title, _ in DEMO_FEEDS],
                   title="newswatch demo feeds")
        demo_cfg = replace(
            cfg, database=DatabaseConfig(str(Path(tmp) / "demo.db")), feeds=FeedsConfig(str(opml)),
            smtp=SmtpConfig(host=""),  # the demo never sends mail
            alerts=AlertsConfig(webhook_url=""),  # nor posts to a real webhook
            digest=replace(cfg.digest, outbox=outbox or cfg.digest.outbox, new_terms=0,  # a tour, not a review
                           subject="newswatch demo digest: {items}"))
        poll = poll_cycle(demo_cfg, all_feeds=True)
        with Store(demo_cfg.database.path) as store:
            items = store.all_items()
        digest = send_digest(demo_cfg)
    return DemoResult(poll, items, digest)
