"""HTTP stage: conditional GET of one feed with a socket timeout, a total deadline and a size cap.

Knows nothing of parsing or storage: it takes a URL and the validators from the last fetch and gives
back bytes (or why there are none).
"""

from __future__ import annotations

import ssl
import time
import zlib
from dataclasses import dataclass

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .config import PollConfig

CHUNK = 64 * 1024


@dataclass
class FetchResult:
    url: str
    status: str  # "ok", "not_modified" or "error"
    http_status: int | None = None
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    content_type: str | None = None
    error: str | None = None
    elapsed: float = 0.0


class Fetcher:
    """One requests.Session (connection reuse) shared by the threads of a poll cycle."""

    def __init__(self, poll: PollConfig):
        self.timeout = poll.timeout_seconds
        self.max_bytes = poll.max_bytes
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=poll.concurrency, pool_maxsize=poll.concurrency, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({
            "User-Agent": poll.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        })

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
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
                                  timeout=(min(10.0, self.timeout), self.timeout)) as resp:
                result.http_status = resp.status_code
                result.final_url = resp.url
                if resp.status_code == 304:
                    result.status = "not_modified"
                    result.etag, result.last_modified = etag, last_modified
                    return result
                if resp.status_code >= 400:
                    result.error = f"HTTP {resp.status_code} {resp.reason or ''}".strip()
                    return result
                declared = resp.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    result.error = f"body too large: Content-Length {declared} > max_bytes {self.max_bytes}"
                    return result
                result.body = self._read_body(resp, deadline)
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
        finally:
            result.elapsed = time.monotonic() - start
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


def _reason(e: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain, on one line."""
    text = str(e)
    inner = e.__context__ or e.__cause__
    while inner is not None and not text:
        text = str(inner)
        inner = inner.__context__ or inner.__cause__
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "DNS lookup failed"
    text = " ".join(text.split())
    return text[:300]
