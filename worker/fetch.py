"""HTTP stage: conditional GET of one feed with a socket timeout, a total deadline and a size cap.

Knows nothing of parsing or storage: it takes a URL and the validators from the last fetch and gives
back bytes (or why there are none).
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import urllib3
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from .config import PollConfig
from .records import FetchStatus

CHUNK = 64 * 1024
_current = threading.local()  # the Watch of the fetch running on this thread


class Watch:
    """A fetch's total deadline: when it fires, the socket is shut down, so whatever read is blocked
    (headers dripping a byte at a time, a stalled body) fails at once instead of waiting for the
    next per-read timeout. Also fired by Fetcher.abort() when the daemon stops."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None  # the fetch's socket, once it has one
        self.fired = False
        self.over = False  # the fetch ended first

    def fire(self) -> None:
        if self.over:
            return
        self.fired = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Deadlines:
    """One thread that fires each fetch's Watch at its deadline: a timer thread per fetch cost more
    CPU than the whole fetch of a 304."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, watch: Watch, seconds: float) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()

    def stop(self, watch: Watch) -> None:
        """The fetch is over: its deadline no longer fires (the entry leaves the heap when due)."""
        with self._cond:
            watch.over = True

    @contextmanager
    def stopped_on_exit(self, watch: Watch) -> Iterator[None]:
        """Stops the watch on leaving, before an enclosing response gives its connection back to the
        pool: a deadline firing later would shut a socket another fetch is using."""
        try:
            yield
        finally:
            self.stop(watch)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                while self._heap and (self._heap[0][0] <= now or self._heap[0][2].over):
                    watch = heapq.heappop(self._heap)[2]
                    if not watch.over:
                        watch.fire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


class _Tracked:
    """Tells the fetch's Watch (this thread's) which socket its connection reads from. A mixin, so
    that super() is HTTPConnection's in one class and HTTPSConnection's in the other: a method of
    the HTTP class borrowed by the HTTPS one made every HTTPS request a TypeError. The socket itself
    is kept, not only the connection: a response that ends the connection (Connection: close) takes
    the socket from it, and the deadline must still be able to shut it."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._tell_watch()

    def request(self, *args, **kwargs):
        self._tell_watch()
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _tell_watch(self) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None and self.sock is not None:
            watch.sock = self.sock


class _TrackedHTTPConnection(_Tracked, urllib3.connection.HTTPConnection):
    pass


class _TrackedHTTPSConnection(_Tracked, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with pools whose connections tell the fetch's Watch their socket: directly,
    and through an HTTP proxy (a SOCKS proxy brings connections of its own, left as they are)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


# Sites behind bot protection answer feed readers with 403 whatever they ask; the feed list marks those known.
BLOCKED = "blocked (403): the site refuses automated readers"


@dataclass(kw_only=True)
class FetchResult:
    """What one fetch of a feed gave."""
    url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    content_type: str | None = None
    error: str | None = None
    moved_to: str | None = None  # the new URL after permanent redirects (301, 308) only
    max_age: int | None = None  # Cache-Control max-age, seconds
    retry_after: int | None = None  # Retry-After on 429 / 503, seconds
    size: int = 0  # bytes received (decoded)


def _environment_per_request() -> bool:
    """Whether requests must consult the environment per request: a proxy is named (no_proxy is per
    host), or a netrc file may hold a feed's credentials."""
    netrc = [os.path.expanduser(os.environ.get("NETRC", "")),
             *(os.path.expanduser(f"~/{n}") for n in (".netrc", "_netrc"))]
    return bool(urllib.request.getproxies()) or any(n and os.path.exists(n) for n in netrc)


class Fetcher:
    """One requests.Session (connection reuse) shared by the threads of a poll cycle."""

    def __init__(self, poll: PollConfig):
        self.timeout = poll.timeout_seconds
        self.max_bytes = poll.max_bytes
        self.per_host = poll.per_host
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        self.session = requests.Session()
        self._watches: set[Watch] = set()
        self._watches_lock = threading.Lock()
        self._deadlines = _Deadlines()
        adapter = _WatchedAdapter(pool_connections=poll.concurrency, pool_maxsize=poll.concurrency, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if not _environment_per_request():
            # requests reads proxy variables, CA bundle variables and ~/.netrc on every request (a
            # third of the CPU of a cycle of 304s); where none names a proxy or a netrc file, the CA
            # bundle is the one setting left, and it is read once here.
            self.session.trust_env = False
            self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.headers.update({
            "User-Agent": poll.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        })

    def close(self) -> None:
        self._deadlines.close()
        self.session.close()

    def abort(self) -> None:
        """End every fetch in flight now (the daemon is stopping)."""
        with self._watches_lock:
            watches = list(self._watches)
        for watch in watches:
            watch.fire()

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        host = urlsplit(url).hostname or ""
        with self._hosts_lock:
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(self.per_host)
            return self._hosts[host]

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """One GET, at most [poll] per_host at a time to the same host (politeness)."""
        with self._host_slot(url):
            return self._fetch(url, etag, last_modified)

    def _fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        watch = Watch()
        _current.watch = watch
        with self._watches_lock:
            self._watches.add(watch)
        self._deadlines.start(watch, self.timeout)
        try:
            result = self._get(url, etag, last_modified, watch)
        finally:
            self._deadlines.stop(watch)
            _current.watch = None
            with self._watches_lock:
                self._watches.discard(watch)
        if watch.fired:
            # Whatever the cut-off read returned is not the answer: headers dripped a byte at a time
            # and cut by the deadline end at EOF, which http.client takes for a 200 with no body.
            result.status, result.body, result.size = "error", None, 0
            result.error = f"timed out after {self.timeout:g}s (total deadline)"
        return result

    def _get(self, url: str, etag: str | None, last_modified: str | None, watch: Watch) -> FetchResult:
        start = time.monotonic()
        deadline = start + self.timeout
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = FetchResult(url=url, status="error")
        try:
            with self.session.get(url, headers=headers, stream=True, allow_redirects=True,
                                  timeout=(min(10.0, self.timeout), self.timeout)) as resp, \
                    self._deadlines.stopped_on_exit(watch):
                result.http_status = resp.status_code
                result.final_url = resp.url
                if resp.history and all(r.status_code in (301, 308) for r in resp.history):
                    result.moved_to = resp.url
                result.max_age = _max_age(resp.headers.get("Cache-Control"))
                if resp.status_code in (429, 503):
                    result.retry_after = _retry_after(resp.headers.get("Retry-After"))
                if resp.status_code == 304:
                    if not resp.raw.chunked:  # no body: reading none puts the connection back for reuse
                        _ = resp.content  # (a chunked 304 has one, unbounded: that connection is closed)
                    result.status = "not_modified"
                    result.etag, result.last_modified = etag, last_modified
                    return result
                if resp.status_code == 403:  # said plainly: it is the site's choice, not a fault to chase here
                    result.error = BLOCKED
                    return result
                if resp.status_code >= 400:
                    result.error = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
                    return result
                declared = resp.headers.get("Content-Length")
                if declared and declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
                    result.error = f"body too large: Content-Length {declared} > max_bytes {self.max_bytes}"
                    return result
                result.body = self._read_body(resp, deadline)
                result.size = len(result.body)
                result.status = "ok"
                result.etag = resp.headers.get("ETag")
                result.last_modified = resp.headers.get("Last-Modified")
                result.content_type = resp.headers.get("Content-Type")
        except _BodyError as e:
            result.error = str(e)
        except requests.exceptions.SSLError as e:
            result.error = f"TLS error: {_reason(e)}"
        except requests.exceptions.Timeout:
            result.error = f"timed out after {self.timeout:g}s"
        except requests.exceptions.TooManyRedirects:
            result.error = "too many redirects"
        except requests.exceptions.ConnectionError as e:
            result.error = f"connection failed: {_reason(e)}"
        except requests.exceptions.InvalidURL as e:
            result.error = f"invalid URL: {e}"
        except (requests.exceptions.RequestException, OSError, ssl.SSLError) as e:
            result.error = f"{type(e).__name__}: {_reason(e)}"
        return result

    def _read_body(self, resp: requests.Response, deadline: float) -> bytes:
        # read1 returns what one socket read gives (decoded, bounded by CHUNK), so a server that drips
        # a byte a second is cut off at the deadline instead of blocking until a full chunk arrives.
        parts: list[bytes] = []
        size = 0
        raw = resp.raw
        while True:
            if time.monotonic() > deadline:
                raise _BodyError(f"timed out after {self.timeout:g}s (total deadline) reading the body")
            try:
                chunk = raw.read1(CHUNK, decode_content=True)
            except TimeoutError:
                raise _BodyError(f"timed out after {self.timeout:g}s reading the body") from None
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError, zlib.error,
                    ValueError) as e:
                raise _BodyError(f"body unreadable: {_reason(e)}") from None
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise _BodyError(f"body too large: over max_bytes {self.max_bytes}")
            parts.append(chunk)
        return b"".join(parts)


class _BodyError(Exception):
    pass


MAX_HINT = 7 * 86400  # publisher hints (max-age, Retry-After) above a week are read as a week


def _max_age(cache_control: str | None) -> int | None:
    m = re.search(r"max-age\s*=\s*([0-9]{1,12})", cache_control or "")
    return min(int(m.group(1)), MAX_HINT) if m else None


def _retry_after(value: str | None) -> int | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value[:12]), MAX_HINT)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0, int((when - datetime.now(UTC)).total_seconds())), MAX_HINT)


def _reason(e: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain, on one line."""
    text = str(e)
    inner = e.__context__ or e.__cause__
    while inner is not None and not text:
        text = str(inner)
        inner = inner.__context__ or inner.__cause__
    if "Connection refused" in text:
        return "connection refused"
    if any(m in text for m in ("Name or service not known", "nodename nor servname", "getaddrinfo",
                               "Temporary failure in name resolution", "No address associated")):
        return "DNS lookup failed"
    text = " ".join(text.split())
    return text[:300]
