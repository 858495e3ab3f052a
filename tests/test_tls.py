"""Feeds over HTTPS, from a real TLS server on 127.0.0.1. Its certificate (tests/data/tls, self-signed
for 127.0.0.1, valid until 2126) is trusted the way a user trusts a private CA: REQUESTS_CA_BUNDLE."""

from worker.config import PollConfig
from worker.fetch import Fetcher

from conftest import TLS, newswatch, timed_fetch, write_config


def test_a_feed_over_https_is_fetched_then_asked_conditionally(tls_server, monkeypatch):
    server, url = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(TLS / "cert.pem"))
    fetcher = Fetcher(PollConfig(timeout_seconds=5))
    try:
        first = fetcher.fetch(url)
        assert (first.status, first.error) == ("ok", None) and b"Moscow" in (first.body or b"")
        second = fetcher.fetch(url, etag=first.etag)  # on the same TLS connection, from the pool
        assert (second.status, second.http_status) == ("not_modified", 304)
    finally:
        fetcher.close()
    assert server.requests == [("/feed", 200), ("/feed", 304)]


def test_an_untrusted_certificate_is_a_tls_error(tls_server, monkeypatch):
    _, url = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    fetcher = Fetcher(PollConfig(timeout_seconds=5))
    try:
        result = fetcher.fetch(url)
    finally:
        fetcher.close()
    assert result.status == "error" and result.error.startswith("TLS error") and "CERTIFICATE_VERIFY_FAILED" in result.error


def test_poll_stores_the_items_of_an_https_feed(tls_server, tmp_path):
    _, url = tls_server
    cfg = write_config(tmp_path, [url])
    out = newswatch("--config", str(cfg), "poll", env={"REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")})
    assert out.returncode == 0 and out.stdout.startswith("polled 1 feed: 2 new items, 2 relevant, 0 errors"), out


def test_the_deadline_cuts_a_stalled_body_on_a_connection_the_server_closes(stalling_feed):
    """A response with Connection: close hands its socket from the connection to the response; the
    total deadline must still cut a body that stalls."""
    result, seconds = timed_fetch(stalling_feed, 0.8)
    assert result.status == "error" and "timed out" in (result.error or ""), result
    assert seconds < 1.2, seconds  # cut at the deadline (0.8 s), not when the last read times out (0.6 + 0.8 s)


def test_a_feed_moved_from_http_to_https_is_followed_and_the_list_updated(tls_server, tmp_path):
    """The common move of a real feed: its http:// address answers 301 to https://."""
    from scripted_server import Reply, ScriptedServer

    from worker.feeds import read_opml
    _, https_url = tls_server
    old = ScriptedServer()
    try:
        old.routes["/rss"] = lambda h: Reply(301, b"", {"Location": https_url})
        cfg = write_config(tmp_path, [f"{old.base_url}/rss"])
        out = newswatch("--config", str(cfg), "poll", env={"REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")})
        assert out.stdout.startswith("polled 1 feed: 2 new items, 2 relevant, 0 errors"), out
    finally:
        old.close()
    assert [f.url for f in read_opml(tmp_path / "feeds.opml")] == [https_url]


def test_feeds_add_reads_the_title_of_an_https_feed(tls_server, tmp_path):
    _, url = tls_server
    cfg = write_config(tmp_path, [])
    out = newswatch("--config", str(cfg), "feeds", "add", url, env={"REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")})
    assert out.returncode == 0 and "fetched it once: its title is 'Test feed'" in out.stdout, out
