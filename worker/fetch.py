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
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
import urllib3.connection
import urllib3.connectionpool

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


_TRACKED_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}
MAX_REDIRECTS = 30  # as requests allows
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class _TooManyRedirects(Exception):
    pass


class _Unfetchable(Exception):
    """This machine's settings keep the feed from being fetched; the message says how."""


class _Environment:
    """What the environment says about fetching, with the variables and files requests honours, so
    that a setup made for it works here: proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY; the
    system's on macOS and Windows), credentials in a netrc file, and a CA bundle (REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE). Whether there is any proxy or netrc file, and the CA bundle, are read once per
    Fetcher; where there are some, requests' own helpers read them for each URL, as requests did
    (most machines have neither, and import nothing for them)."""

    def __init__(self) -> None:
        self.ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
        if sys.platform in ("darwin", "win32"):  # the system's settings too: asked of urllib, as requests does
            import urllib.request
            self.proxies = any(scheme != "no" for scheme in urllib.request.getproxies())
        else:  # NO_PROXY alone (common in containers) sends nothing through a proxy
            self.proxies = any(name.lower().endswith("_proxy") and name.lower() != "no_proxy" and value
                               for name, value in os.environ.items())
        netrc = [os.path.expanduser(os.environ.get("NETRC", "")),
                 *(os.path.expanduser(f"~/{n}") for n in (".netrc", "_netrc"))]
        self.netrc = any(n and os.path.exists(n) for n in netrc)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for this URL (NO_PROXY honoured), or None to go direct."""
        if not self.proxies:
            return None
        from requests.utils import get_environ_proxies, prepend_scheme_if_needed, select_proxy
        proxy = select_proxy(url, get_environ_proxies(url))
        return prepend_scheme_if_needed(proxy, "http") if proxy else None

    def authorization(self, url: str) -> str | None:
        """A Basic Authorization header from the netrc file's entry for the URL's host, if any."""
        if not self.netrc:
            return None
        from requests.utils import get_netrc_auth
        auth = get_netrc_auth(url)
        return _basic_auth(*auth) if auth else None


def _basic_auth(username: str | None, password: str | None) -> str:
    """A Basic Authorization header's value; the parts as a URL gives them, %-escapes undone."""
    return urllib3.make_headers(basic_auth=f"{unquote(username or '')}:{unquote(password or '')}")["authorization"]


def _redirect_target(url: str, location: str) -> str:
    """Where a redirect's Location leads from `url`, as requests resolved it: read as UTF-8 (servers
    send it so, http.client reads Latin-1), made absolute, escaped where a URL may not hold the
    character as it is, and keeping the old fragment when it names none."""
    try:
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    try:
        target = urllib3.util.parse_url(urljoin(url, location)).url
    except ValueError:  # urllib3's LocationParseError is one too
        raise urllib3.exceptions.LocationParseError(f"redirect to {location[:200]!r}") from None
    fragment = urlsplit(url).fragment
    return f"{target}#{fragment}" if fragment and not urlsplit(target).fragment else target


def _same_site_for_credentials(url: str, target: str) -> bool:
    """Whether credentials sent to `url` may follow a redirect to `target`, by requests' rule: the
    same host, and the same scheme and port, or http to https on the default ports."""
    old, new = urlsplit(url), urlsplit(target)
    if old.hostname != new.hostname:
        return False
    defaults = {"http": 80, "https": 443}
    old_port, new_port = old.port or defaults.get(old.scheme), new.port or defaults.get(new.scheme)
    if (old.scheme, old_port, new.scheme, new_port) == ("http", 80, "https", 443):
        return True
    return old.scheme == new.scheme and old_port == new_port


class Fetcher:
    """urllib3 pool managers (connection reuse: one direct, one per proxy) shared by the threads of a
    poll cycle.

    urllib3, on which requests is built, is spoken to directly: requests' own work per request
    (settings merged from the environment, cookies, hooks, redirects re-resolved) was half the CPU of
    a feed that answered 304, taken under the one interpreter lock the fetch threads share."""

    def __init__(self, poll: PollConfig):
        self.timeout = poll.timeout_seconds
        self.max_bytes = poll.max_bytes
        self.per_host = poll.per_host
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        self._watches: set[Watch] = set()
        self._watches_lock = threading.Lock()
        self._deadlines = _Deadlines()
        self._env = _Environment()
        self._url_timeout = urllib3.Timeout(connect=min(10.0, self.timeout), read=self.timeout)
        self._headers = {"User-Agent": poll.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
        self._pool_kwargs: dict = {"num_pools": poll.concurrency, "maxsize": poll.concurrency, "block": False,
                                   "retries": False}
        self._direct = urllib3.PoolManager(**self._pool_kwargs)
        self._direct.pool_classes_by_scheme = _TRACKED_POOLS
        self._proxied: dict[str, urllib3.PoolManager] = {}
        self._managers_lock = threading.Lock()

    def close(self) -> None:
        self._deadlines.close()
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()

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

    def _manager(self, url: str) -> urllib3.PoolManager:
        """The direct pool manager, or the one through the URL's proxy. Connections through an HTTP
        proxy are the tracked ones too, so the deadline holds; a SOCKS proxy brings connections of its
        own (and needs PySocks, as requests does), left as they are."""
        proxy = self._env.proxy_for(url)
        tls = url[:6].lower() == "https:" or (proxy or "")[:6].lower() == "https:"
        if tls and "ssl_context" not in self._pool_kwargs:
            self._start_tls()
        if proxy is None:
            return self._direct
        with self._managers_lock:
            manager = self._proxied.get(proxy)
            if manager is None:
                from requests.utils import get_auth_from_url
                username, password = get_auth_from_url(proxy)
                if proxy.lower().startswith("socks"):
                    try:
                        from urllib3.contrib.socks import SOCKSProxyManager
                    except ImportError:
                        raise _Unfetchable(f"the SOCKS proxy {proxy} needs PySocks "
                                           "(pip install requests[socks])") from None
                    manager = SOCKSProxyManager(proxy, username=username or None, password=password or None,
                                                **self._pool_kwargs)
                else:
                    headers = urllib3.make_headers(proxy_basic_auth=f"{username}:{password}") if username else None
                    # An https:// proxy's own certificate is checked against the same CA bundle.
                    manager = urllib3.ProxyManager(proxy, proxy_headers=headers,
                                                   proxy_ssl_context=self._pool_kwargs.get("ssl_context"),
                                                   **self._pool_kwargs)
                    manager.pool_classes_by_scheme = _TRACKED_POOLS
                self._proxied[proxy] = manager
            return manager

    def _start_tls(self) -> None:
        """One TLS context for every connection, made at the first https:// URL: loading the CA
        bundle takes 50 ms, and a context per connection would load it each time."""
        with self._managers_lock:
            if "ssl_context" in self._pool_kwargs:
                return
            context = _tls_context(self._env.ca_bundle)
            for manager in (self._direct, *self._proxied.values()):
                manager.connection_pool_kw["ssl_context"] = context
            self._pool_kwargs["ssl_context"] = context

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
        deadline = time.monotonic() + self.timeout
        headers = dict(self._headers)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = FetchResult(url=url, status="error")
        try:
            resp = self._open(url, headers, result)
            read_through = False
            try:
                read_through = self._answer(resp, result, etag, last_modified, deadline)
            finally:
                # The deadline stops before the connection goes back to the pool: firing later, it
                # would shut a socket another fetch is using.
                self._deadlines.stop(watch)
                if not read_through:
                    resp.close()  # what is left unread ends with the connection
                resp.release_conn()
        except (_BodyError, _Unfetchable) as e:
            result.error = str(e)
        except urllib3.exceptions.SSLError as e:
            result.error = f"TLS error: {_reason(e)}"
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProxyError,
                urllib3.exceptions.ProtocolError) as e:  # (a NewConnectionError is also a timeout error)
            result.error = f"connection failed: {_reason(e)}"
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            result.error = f"timed out after {self.timeout:g}s"
        except _TooManyRedirects:
            result.error = "too many redirects"
        except urllib3.exceptions.LocationValueError as e:
            result.error = f"invalid URL: {_reason(e)}"
        except (urllib3.exceptions.HTTPError, OSError, ssl.SSLError) as e:
            result.error = f"{type(e).__name__}: {_reason(e)}"
        return result

    def _open(self, url: str, headers: dict[str, str], result: FetchResult) -> urllib3.BaseHTTPResponse:
        """The answer at the end of the redirects; sets result.final_url and result.moved_to.

        As requests did: credentials go to their own site only. A netrc entry goes to its host; those
        written in the feed's URL go in a header (never in the request line, which an HTTP proxy
        logs), until a redirect leaves the URL's host, port or scheme (http to https on the default
        ports excepted). Cookies a redirect sets go back to its origin on the next hops (sites that
        check for cookies redirect to the same URL until they get one). Nothing is kept from one
        fetch to the next."""
        statuses = []
        parts = urllib3.util.parse_url(url)
        user, _, password = (parts.auth or "").partition(":")
        url_auth = _basic_auth(user, password) if parts.auth else None
        cookies: dict[tuple[str, str, int | None], dict[str, str]] = {}  # origin -> name -> value
        for _ in range(MAX_REDIRECTS + 1):
            origin = (parts.scheme or "", parts.host or "", parts.port)
            hop_headers = dict(headers)
            authorization = self._env.authorization(url) or url_auth
            if authorization:
                hop_headers["Authorization"] = authorization
            if cookies.get(origin):
                hop_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies[origin].items())
            resp = self._manager(url).urlopen("GET", parts._replace(auth=None).url, headers=hop_headers,
                                              redirect=False, retries=False, preload_content=False,
                                              decode_content=True, timeout=self._url_timeout)
            location = resp.get_redirect_location()
            if not location:
                break
            resp.close()  # a redirect's body is not read: that connection ends
            resp.release_conn()
            statuses.append(resp.status)
            for cookie in resp.headers.getlist("Set-Cookie"):
                name, _, value = cookie.split(";", 1)[0].partition("=")
                if name.strip():
                    cookies.setdefault(origin, {})[name.strip()] = value.strip()
            target = _redirect_target(url, location)
            if url_auth and not _same_site_for_credentials(url, target):
                url_auth = None
            url = target
            parts = urllib3.util.parse_url(url)
        else:
            raise _TooManyRedirects
        result.final_url = url
        if statuses and all(s in (301, 308) for s in statuses):
            result.moved_to = url
        return resp

    def _answer(self, resp: urllib3.BaseHTTPResponse, result: FetchResult, etag: str | None,
                last_modified: str | None, deadline: float) -> bool:
        """Fill result from the answer; whether it was read to its end (its connection can serve again)."""
        result.http_status = resp.status
        result.max_age = _max_age(resp.headers.get("Cache-Control"))
        if resp.status in (429, 503):
            result.retry_after = _retry_after(resp.headers.get("Retry-After"))
        if resp.status == 304:
            result.status = "not_modified"
            result.etag, result.last_modified = etag, last_modified
            if resp.chunked:  # a chunked 304 has a body, unbounded: that connection is closed
                return False
            resp.read()  # no body: reading none puts the connection back for reuse
            return True
        if resp.status == 403:  # said plainly: it is the site's choice, not a fault to chase here
            result.error = BLOCKED
            return False
        if resp.status >= 400:
            result.error = f"HTTP {resp.status} {resp.reason or ''}".strip()
            return False
        declared = resp.headers.get("Content-Length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            result.error = f"body too large: Content-Length {declared} > max_bytes {self.max_bytes}"
            return False
        result.body = self._read_body(resp, deadline)
        result.size = len(result.body)
        result.status = "ok"
        result.etag = resp.headers.get("ETag")
        result.last_modified = resp.headers.get("Last-Modified")
        result.content_type = resp.headers.get("Content-Type")
        return True

    def _read_body(self, resp: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        # read1 returns what one socket read gives (decoded, bounded by CHUNK), so a server that drips
        # a byte a second is cut off at the deadline instead of blocking until a full chunk arrives.
        parts: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise _BodyError(f"timed out after {self.timeout:g}s (total deadline) reading the body")
            try:
                chunk = resp.read1(CHUNK, decode_content=True)
            except (TimeoutError, urllib3.exceptions.TimeoutError):
                raise _BodyError(f"timed out after {self.timeout:g}s reading the body") from None
            except (urllib3.exceptions.HTTPError, OSError, zlib.error, ValueError) as e:
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
    """The innermost useful message of an urllib3 exception chain, on one line."""
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


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificates verified against the CA bundle the environment names, else certifi's (the one
    requests uses), a file or a directory."""
    import certifi
    from urllib3.util.ssl_ import create_urllib3_context
    context = create_urllib3_context()
    where = ca_bundle or certifi.where()
    try:
        if os.path.isdir(where):
            context.load_verify_locations(capath=where)
        else:
            context.load_verify_locations(cafile=where)
    except (OSError, ssl.SSLError) as e:  # named in the feed's error, as a TLS error
        raise urllib3.exceptions.SSLError(f"CA bundle {where}: {e.strerror or e}") from None
    return context
