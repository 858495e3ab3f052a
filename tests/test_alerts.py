"""Instant alerts: items above [alerts] min_score are posted to a webhook (Slack-compatible JSON),
retried, and marked only once the receiver said 2xx."""

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import OTHER_ITEMS, RELEVANT_ITEMS, newswatch, rss, write_config


class Webhook:
    """A receiver on 127.0.0.1; `fail` answers that many requests with 500 first."""

    def __init__(self):
        self.posts: list[dict] = []
        self.keys: list[str] = []
        self.fail = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail > 0:
                    hook.fail -= 1
                    self.send_response(500)
                else:
                    hook.posts.append(json.loads(body))
                    hook.keys.append(self.headers["Idempotency-Key"])
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.httpd.shutdown()


def config(tmp_path, feed_server, url, min_score=8.0):
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS + OTHER_ITEMS), "application/rss+xml")
    return write_config(tmp_path, [f"{feed_server.base_url}/rss"],
                        extra=f'[alerts]\nwebhook_url = "{url}"\nmin_score = {min_score}\nretries = 2\n')


def test_alerts_are_posted_once_with_slack_text(tmp_path, feed_server, webhook):
    cfg = config(tmp_path, feed_server, webhook.url)
    webhook.fail = 2  # two 500s: the third try within the cycle succeeds
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 0 and "2 alerts sent" in out.stdout, out.stdout + out.stderr
    assert len(webhook.posts) == 2 and len(set(webhook.keys)) == 2
    first = webhook.posts[0]
    assert first["text"].startswith("newswatch: ") and "https://news.example.org/a1" in first["text"]
    assert {"id", "title", "link", "source", "score", "why"} <= set(first["newswatch"])
    newswatch("--config", str(cfg), "poll", "--all")
    assert len(webhook.posts) == 2  # never twice


def test_receiver_down_then_up(tmp_path, feed_server, webhook):
    cfg = config(tmp_path, feed_server, webhook.url)
    webhook.fail = 100
    out = newswatch("--config", str(cfg), "poll")
    assert out.returncode == 0 and "1 failed (retried next cycle)" in out.stdout
    db = sqlite3.connect(tmp_path / "db" / "newswatch.db")
    # the first item spent its tries; the second was not tried against a receiver known to be down
    assert db.execute("SELECT alert_attempts, alert_error FROM items WHERE relevant = 1 ORDER BY id").fetchall() == \
        [(1, f"webhook {webhook.url} answered HTTP 500"), (0, None)]
    webhook.fail = 0
    out = newswatch("--config", str(cfg), "poll")  # no feed due; the pending alerts still go
    assert "2 alerts sent" in out.stdout
    assert len(webhook.posts) == 2
    assert db.execute("SELECT COUNT(*) FROM items WHERE alerted_at IS NOT NULL").fetchone()[0] == 2


def test_below_min_score_no_alert(tmp_path, feed_server, webhook):
    cfg = config(tmp_path, feed_server, webhook.url, min_score=99)
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    assert webhook.posts == []


def test_feed_text_cannot_inject_slack_markup(tmp_path, feed_server, webhook):
    items = [{"title": "&amp;lt;!channel&amp;gt; Turkey and Syria agree to normalize ties &lt;http://evil|click&gt;",
              "link": "https://news.example.org/x", "guid": "x",
              "description": "Ankara and Damascus held normalization talks in Moscow."}]
    feed_server.documents["/rss"] = (rss(items), "application/rss+xml")
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss"],
                       extra=f'[alerts]\nwebhook_url = "{webhook.url}"\nmin_score = 5\n')
    assert newswatch("--config", str(cfg), "poll").returncode == 0
    text = webhook.posts[0]["text"]
    assert "<!channel>" not in text and "<http" not in text and "&lt;!channel&gt;" in text


def test_demo_never_posts_to_the_configured_webhook(tmp_path, webhook):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[alerts]\nwebhook_url = "{webhook.url}"\nmin_score = 1\n')
    assert newswatch("--config", str(cfg), "demo", "--outbox", str(tmp_path / "out")).returncode == 0
    assert webhook.posts == []
