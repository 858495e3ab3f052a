"""What the fetcher does as requests did before: NO_PROXY beside a proxy; credentials from a netrc
file or written in the feed's URL, sent to their own site only; cookies and targets of redirects;
redirects that never end. Real servers on 127.0.0.1 and 127.0.0.2."""

import base64

import pytest
from scripted_server import Reply, ScriptedServer

from worker.fetch import _same_site_for_credentials

from conftest import RELEVANT_ITEMS, rss, timed_fetch

FEED = rss(RELEVANT_ITEMS)


def fetch(url: str):
    return timed_fetch(url, 5)[0]


def test_no_proxy_sends_a_host_around_the_proxy(scripted_server, monkeypatch):
    scripted_server.routes["/feed"] = lambda h: Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: used, it would fail
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    result = fetch(f"{scripted_server.base_url}/feed")
    assert result.status == "ok" and result.body == FEED, result
    monkeypatch.setenv("NO_PROXY", "")
    assert fetch(f"{scripted_server.base_url}/feed").error == "connection failed: connection refused"


def test_netrc_credentials_go_to_their_host_and_not_across_a_redirect(tmp_path, scripted_server, monkeypatch):
    other = ScriptedServer(host="127.0.0.2")
    try:
        expected = "Basic " + base64.b64encode(b"analyst:s3cret").decode()
        scripted_server.routes["/private"] = lambda h: (Reply(200, FEED) if h.headers.get("Authorization") == expected
                                               else Reply(401, b"who are you?"))
        scripted_server.routes["/moved"] = lambda h: Reply(302, b"", {"Location": f"{other.base_url}/feed"})
        other.routes["/feed"] = lambda h: Reply(200, FEED)
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login analyst password s3cret\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        assert fetch(f"{scripted_server.base_url}/private").status == "ok"
        moved = fetch(f"{scripted_server.base_url}/moved")
        assert moved.status == "ok" and moved.final_url == f"{other.base_url}/feed" and moved.moved_to is None
        assert scripted_server.paths("/moved")[0]["Authorization"] == expected
        assert "Authorization" not in other.paths("/feed")[0]
        monkeypatch.setenv("NETRC", str(tmp_path / "none"))
        monkeypatch.setenv("HOME", str(tmp_path))
        assert fetch(f"{scripted_server.base_url}/private").error == "HTTP 401 Unauthorized"
    finally:
        other.close()


def test_a_redirect_loop_ends_as_too_many_redirects(scripted_server):
    scripted_server.routes["/a"] = lambda h: Reply(301, b"", {"Location": "/b"})
    scripted_server.routes["/b"] = lambda h: Reply(301, b"", {"Location": "/a"})
    result = fetch(f"{scripted_server.base_url}/a")
    assert result.status == "error" and result.error == "too many redirects", result
    assert len(scripted_server.requests) == 31  # the first request and 30 redirects, as requests allowed


def test_credentials_written_in_the_feed_url_go_to_its_host(scripted_server):
    expected = "Basic " + base64.b64encode(b"analyst:s3 cret").decode()
    scripted_server.routes["/private"] = lambda h: (Reply(200, FEED) if h.headers.get("Authorization") == expected
                                           else Reply(401, b"who are you?"))
    host, port = scripted_server.httpd.server_address[:2]
    assert fetch(f"http://analyst:s3%20cret@{host}:{port}/private").status == "ok"


def test_credentials_written_in_the_feed_url_do_not_follow_a_redirect_to_another_port(scripted_server):
    other = ScriptedServer()
    try:
        scripted_server.routes["/moved"] = lambda h: Reply(302, b"", {"Location": f"{other.base_url}/feed"})
        other.routes["/feed"] = lambda h: Reply(200, FEED)
        host, port = scripted_server.httpd.server_address[:2]
        result = fetch(f"http://analyst:s3cret@{host}:{port}/moved")
        assert result.status == "ok" and result.final_url == f"{other.base_url}/feed", result
        assert scripted_server.paths("/moved")[0]["Authorization"].startswith("Basic ")
        assert "Authorization" not in other.paths("/feed")[0]
    finally:
        other.close()


@pytest.mark.parametrize("url, target, kept", [
    ("http://a.example/feed", "http://a.example/new", True),
    ("http://a.example/feed", "https://a.example/feed", True),  # to TLS on the default ports
    ("http://a.example:80/feed", "https://a.example:443/feed", True),
    ("https://a.example/feed", "http://a.example/feed", False),  # from TLS to plain text
    ("http://a.example:8080/feed", "https://a.example/feed", False),
    ("http://a.example/feed", "http://a.example:8080/feed", False),
    ("http://a.example/feed", "http://b.example/feed", False),
])
def test_which_redirects_keep_the_credentials_of_a_feed_url(url, target, kept):
    assert _same_site_for_credentials(url, target) is kept


def test_a_cookie_a_redirect_sets_goes_back_to_its_host(scripted_server):
    """A site's cookie check: it redirects to the same URL, setting a cookie, until the cookie comes back."""
    scripted_server.routes["/feed"] = lambda h: (Reply(200, FEED) if "seen=1" in (h.headers.get("Cookie") or "")
                                        else Reply(302, b"", {"Location": "/feed", "Set-Cookie": "seen=1; Path=/"}))
    result = fetch(f"{scripted_server.base_url}/feed")
    assert result.status == "ok" and len(scripted_server.requests) == 2, result


def test_a_redirect_target_is_escaped_and_a_broken_one_is_an_invalid_url(scripted_server):
    scripted_server.routes["/old"] = lambda h: Reply(301, b"", {"Location": "/new feed"})
    scripted_server.routes["/new%20feed"] = lambda h: Reply(200, FEED)
    result = fetch(f"{scripted_server.base_url}/old")
    assert result.status == "ok" and result.moved_to == f"{scripted_server.base_url}/new%20feed", result
    scripted_server.routes["/broken"] = lambda h: Reply(302, b"", {"Location": "http://[::1/x"})
    assert fetch(f"{scripted_server.base_url}/broken").error.startswith("invalid URL: ")
