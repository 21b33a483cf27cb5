"""The HTTP side every provider shares: base URLs, keys, a client-side rate limiter, retries, error mapping.

Reads and job polls are retried on 429, 5xx and connection errors, honouring Retry-After, with jittered
exponential backoff and a retry budget. Writes are sent once: a write whose answer is lost raises
`AmbiguousWrite`, and the caller re-reads to learn what happened (docs/design.md section 5).
The API key is only ever in the Authorization header; no message, log or exception carries it.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from leadsync.errors import AccessError, CredentialsError, ProviderError, UnavailableError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MessageOf = Callable[[httpx.Response], str]


def check_base_url(url: str, *, setting: str) -> str:
    """`url` if it is https, or http on a loopback address (the sandbox, tests); else a clear error."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    raise ProviderError(f"{setting}: {url!r} must be an https URL, or http on a loopback address")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimiter:
    """At most `per_second` requests in any second and `per_minute` in any minute, shared by threads.

    A request taken with `hold()` occupies a place from when it is sent until one window after its answer came
    back: the vendor counts it when it arrives, some time between the two, so a limiter that counted send times
    only would let latency squeeze two windows' worth of requests into one of the vendor's, and be answered 429.
    `acquire()` counts a request at the moment it is called, for callers that do not report when it is done.
    """

    def __init__(
        self,
        per_second: float,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.windows = ((1.0, int(per_second)), (60.0, int(per_minute)))
        self.sent: tuple[deque[float], deque[float]] = (deque(), deque())  # when each finished request ended
        self.flying = 0  # requests held and not yet answered
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()

    def acquire(self) -> None:
        self._take()
        self._give()

    @contextmanager
    def hold(self) -> Iterator[None]:
        self._take()
        try:
            yield
        finally:
            self._give()

    def _take(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                wait = 0.0
                for (span, limit), sent in zip(self.windows, self.sent):
                    while sent and sent[0] <= now - span:
                        sent.popleft()
                    if limit > 0 and len(sent) + self.flying >= limit:
                        # the oldest finished request leaves the window then; if the window is all requests in
                        # flight, look again shortly: one of them will be answered
                        wait = max(wait, sent[0] + span - now if sent else 0.005)
                if wait <= 0:
                    self.flying += 1
                    return
            self.sleep(wait)

    def _give(self) -> None:
        with self.lock:
            self.flying -= 1
            now = self.clock()
            for sent in self.sent:
                sent.append(now)


@dataclass
class RetryPolicy:
    """How often and how long to retry. The budget is shared by every request of a client: `budget` retries,
    plus `budget_ratio` of the calls made so far, so that a long apply through a bad patch may retry its
    share while a vendor that is down is not hammered forever."""

    attempts: int = 6  # per request
    budget: int = 200  # retries per client, all requests together ...
    budget_ratio: float = 0.1  # ... plus this share of every call made
    base: float = 0.5  # seconds, doubled each attempt
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap * 4)
        ceiling = min(self.cap, self.base * 2**attempt)
        return ceiling / 2 + self.rng.random() * ceiling / 2  # jitter: never two clients in lock-step


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, from a number or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class AmbiguousWrite(ProviderError):
    """A write whose outcome is unknown (timeout, dropped connection, 5xx): re-read before acting again."""


@dataclass
class CallStats:
    calls: Counter[str] = field(default_factory=Counter)  # by endpoint template, e.g. "POST /api/v2/leads/add"
    retries: int = 0


class VendorClient:
    """One vendor workspace over HTTP: the key, the limiter, retries for reads, and error translation."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        vendor: str,
        key_source: str,
        limiter: RateLimiter,
        message_of: MessageOf,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.vendor = vendor
        self.key_source = key_source  # e.g. "$INSTANTLY_API_KEY": what messages name instead of the key
        self.limiter = limiter
        self.message_of = message_of
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.stats = CallStats()
        self._lock = threading.Lock()
        # httpx drops the Authorization header when a redirect leaves the origin; we follow none at all
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "leadsync"},
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def _count(self, endpoint: str, retried: bool = False) -> None:
        with self._lock:
            self.stats.calls[endpoint] += 1
            if retried:
                self.stats.retries += 1

    def read(self, method: str, path: str, *, endpoint: str, **kwargs: Any) -> Any:
        """A read (or a job poll): retried on 429, 5xx and connection errors; the JSON body."""
        attempt = 0
        while True:
            self._count(endpoint, retried=attempt > 0)
            try:
                with self.limiter.hold():
                    response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                self._wait_or_give_up(endpoint, attempt, None, f"connection failed ({type(exc).__name__})")
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES:
                self._wait_or_give_up(endpoint, attempt, retry_after(response), f"HTTP {response.status_code}")
                attempt += 1
                continue
            return self._json(response, endpoint)

    def write(self, method: str, path: str, *, endpoint: str, **kwargs: Any) -> Any:
        """A write, sent once. A lost answer raises AmbiguousWrite; a 429 (not applied) is waited out and resent."""
        attempt = 0
        while True:
            self._count(endpoint, retried=attempt > 0)
            try:
                with self.limiter.hold():
                    response = self.http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # the request never reached the vendor: resending cannot apply it twice
                self._wait_or_give_up(endpoint, attempt, None, f"connection failed ({type(exc).__name__})")
                attempt += 1
                continue
            except httpx.TransportError as exc:
                raise AmbiguousWrite(f"{endpoint}: the answer was lost ({type(exc).__name__})") from None
            if response.status_code == 429:  # refused before any work: safe to send again
                self._wait_or_give_up(endpoint, attempt, retry_after(response), "HTTP 429")
                attempt += 1
                continue
            if response.status_code >= 500:
                raise AmbiguousWrite(f"{endpoint}: HTTP {response.status_code}; it may or may not have been applied")
            return self._json(response, endpoint)

    def _wait_or_give_up(self, endpoint: str, attempt: int, after: float | None, what: str) -> None:
        with self._lock:
            retries, calls = self.stats.retries, sum(self.stats.calls.values())
        if attempt + 1 >= self.retry.attempts or retries >= self.retry.budget + self.retry.budget_ratio * calls:
            raise UnavailableError(f"{self.vendor}: {endpoint}: {what}, still failing after {attempt + 1} attempts")
        self.sleep(self.retry.backoff(attempt, after))

    def _json(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        if status < 300:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise ProviderError(f"{self.vendor}: {endpoint}: the answer is not JSON (HTTP {status})") from None
        message = self.message_of(response)
        where = f"{self.vendor}: {endpoint}"
        if 300 <= status < 400:
            raise ProviderError(f"{where}: unexpected redirect (HTTP {status}); leadsync follows none")
        if status == 401:
            raise CredentialsError(f"{where}: the key in {self.key_source} was refused (401): {message}")
        if status == 402:
            raise AccessError(f"{where}: the workspace's plan does not allow this (402): {message}")
        if status == 403:
            raise AccessError(f"{where}: the key in {self.key_source} lacks a scope (403): {message}")
        if status == 404:
            raise AccessError(f"{where}: not found (404): {message}")
        raise ProviderError(f"{where}: HTTP {status}: {message}")


def paginate_items(
    fetch: Callable[[str | None], Mapping[str, Any]], *, cursor_field: str, max_pages: int | None = None
) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated listing: stops on an empty page (the last page may still carry a
    cursor), on a missing or repeated cursor, and keeps the first of any repeated id. With `max_pages`, raises
    `PageBudgetSpent` (carrying what was read) instead of fetching page `max_pages + 1`."""
    items: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    seen: set[str] = set()
    pages = 0
    while True:
        if max_pages is not None and pages >= max_pages:
            raise PageBudgetSpent(list(items.values()))
        page = fetch(cursor)
        pages += 1
        batch = page.get("items") or []
        for item in batch:
            items.setdefault(str(item.get("id")), item)
        cursor = page.get(cursor_field)
        if not batch or not cursor or cursor in seen or page.get("hasMore") is False:
            return list(items.values())
        seen.add(cursor)


class PageBudgetSpent(Exception):
    """A listing that had more pages than it was allowed: `items`, what the allowed pages held."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(f"stopped after reading {len(items)} items")
        self.items = items
