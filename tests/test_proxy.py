"""Polling through a proxy named by HTTP_PROXY / HTTPS_PROXY, as an analyst behind an institution's
proxy does: a real proxy on 127.0.0.1 (forwarding GETs for http:// feeds, tunnelling CONNECT for
https:// ones) between newswatch and the feed servers."""

import base64
import socket
import socketserver
import ssl
import threading
from urllib.parse import urlsplit

import pytest
from scripted_server import Reply

from conftest import RELEVANT_ITEMS, TLS, newswatch, rss, timed_fetch, write_config


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline().decode("latin-1").strip()
            if not line:
                return
            method, target, _ = line.split(" ", 2)
            headers = {}
            while (header := self.rfile.readline().decode("latin-1").strip()):
                name, _, value = header.partition(":")
                headers[name.strip()] = value.strip()
            self.server.seen.append(f"{method} {target}")
            if method == "CONNECT":
                self._tunnel(target)
            else:
                self._forward(method, target, headers)
            return

    def _forward(self, method: str, target: str, headers: dict) -> None:
        """The request to the feed's server, and its answer relayed as it comes (the feed servers
        here end the connection after each answer)."""
        url = urlsplit(target)
        upstream = socket.create_connection((url.hostname, url.port), timeout=10)
        lines = [f"{method} {url.path or '/'} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()
                                                             if k.lower() not in ("proxy-connection", "connection")]
        upstream.sendall(("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1"))
        try:
            while data := upstream.recv(65536):
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            pass
        upstream.close()
        self.server.shutdown_request(self.request)  # the answer ends with the connection

    def _tunnel(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=5)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        other = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
        other.start()
        pump(self.connection, upstream)
        other.join(5)
        upstream.close()


def _serving(server: _Proxy, scheme: str):
    """(the proxy, its URL) while it serves."""
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server, f"{scheme}://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy():
    yield from _serving(_Proxy(), "http")


def test_feeds_are_polled_through_the_proxy_the_environment_names(tmp_path, feed_server, tls_server, proxy):
    server, proxy_url = proxy
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS[:1]), "application/rss+xml")
    http_url = f"{feed_server.base_url}/rss"
    _, https_url = tls_server
    cfg = write_config(tmp_path, [http_url, https_url])
    env = {"HTTP_PROXY": proxy_url, "HTTPS_PROXY": proxy_url, "NO_PROXY": "", "no_proxy": "",
           "REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")}
    out = newswatch("--config", str(cfg), "poll", env=env)
    assert out.stdout.startswith("polled 2 feeds: 3 new items, 3 relevant, 0 errors"), out
    assert sorted(server.seen) == sorted([f"GET {http_url}", f"CONNECT {urlsplit(https_url).netloc}"])


def test_the_deadline_holds_through_the_proxy(proxy, stalling_feed, monkeypatch):
    """The proxy relays a body that drips, then stalls: the fetch still ends at its deadline."""
    server, proxy_url = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    result, seconds = timed_fetch(stalling_feed, 0.8)
    assert server.seen == [f"GET {stalling_feed}"]
    assert result.status == "error" and "timed out" in (result.error or ""), result
    assert seconds < 1.2, seconds  # cut at the deadline (0.8 s), not when the last read times out (0.6 + 0.8 s)


@pytest.fixture
def tls_proxy():
    """The same proxy, spoken to over TLS (an https:// proxy) with the test certificate."""
    server = _Proxy()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serving(server, "https")


def test_an_https_proxy_is_trusted_through_the_same_ca_bundle(tmp_path, feed_server, tls_server, tls_proxy):
    """The proxy's own certificate is checked against REQUESTS_CA_BUNDLE, as the feeds' are."""
    server, proxy_url = tls_proxy
    feed_server.documents["/rss"] = (rss(RELEVANT_ITEMS[:1]), "application/rss+xml")
    _, https_url = tls_server
    cfg = write_config(tmp_path, [f"{feed_server.base_url}/rss", https_url])
    env = {"HTTP_PROXY": proxy_url, "HTTPS_PROXY": proxy_url, "NO_PROXY": "", "no_proxy": "",
           "REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")}
    out = newswatch("--config", str(cfg), "poll", env=env)
    assert out.stdout.startswith("polled 2 feeds: 3 new items, 3 relevant, 0 errors"), out
    assert len(server.seen) == 2


def test_credentials_in_a_feed_url_reach_its_server_but_not_the_proxy_request_line(proxy, scripted_server,
                                                                                   monkeypatch):
    """A proxy logs its request lines: the user and password go in the Authorization header only."""
    server, proxy_url = proxy
    expected = "Basic " + base64.b64encode(b"analyst:s3cret").decode()
    scripted_server.routes["/private"] = lambda h: (Reply(200, rss(RELEVANT_ITEMS)) if h.headers.get("Authorization")
                                                    == expected else Reply(401, b"who are you?"))
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    netloc = urlsplit(scripted_server.base_url).netloc
    result, _ = timed_fetch(f"http://analyst:s3cret@{netloc}/private", 5)
    assert result.status == "ok", result
    assert server.seen == [f"GET http://{netloc}/private"]
