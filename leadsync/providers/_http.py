"""The HTTP side every provider shares: base URLs, keys, a client-side rate limiter, retries, error mapping.

Reads and job polls are retried on 429, 5xx and connection errors, honouring Retry-After, with jittered
exponential backoff and a retry budget. A vendor never reached at all (connection refused, no such host, no
route) is tried twice more, quickly, and then named: "cannot reach the vendor at HOST:PORT (connection refused)".
Writes are sent once: a write whose answer is lost raises `AmbiguousWrite`, and the caller re-reads to learn what
happened (docs/design.md section 5).
The API key is only ever in the Authorization header; no message, log or exception carries it, and whatever the
vendor sends back is scrubbed of it (`_secrets.KeyScrubber`). Answers are bounded in size and time.
"""

from __future__ import annotations

import ipaddress
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from leadsync.errors import (
    AccessError,
    AmbiguousWrite,
    AnswerTooBig,
    AnswerTooSlow,
    AnswerUnreadable,
    CredentialsError,
    JsonTooDeep,
    ProviderError,
    UnavailableError,
)
from leadsync.jsontext import loads_bounded
from leadsync.progress import SILENT, Progress
from leadsync.providers._limiter import RateLimiter
from leadsync.providers._secrets import WITHHELD, KeyScrubber, key_problem, map_strings
from leadsync.providers.stats import CallStats as CallStats  # where the providers have always found it

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: the largest answer read (decoded): a page of 100 leads is about 100 KB, a vendor's biggest answer a few MB
MAX_BODY = 32 * 1024 * 1024
#: the most of a vendor's message put in an error line
MAX_MESSAGE = 500
MessageOf = Callable[[httpx.Response], str]


def check_base_url(url: str, *, setting: str) -> str:
    """`url` if it is https, or http on a loopback address (the sandbox, tests); else a clear error."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is no number raises here, not at the first request
    except ValueError as error:  # `http://[::1`, a port of letters: one line, never a traceback
        raise ProviderError(f"{setting}: {url!r} is not a URL ({error})") from None
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    raise ProviderError(f"{setting}: {url!r} must be an https URL, or http on a loopback address")


def origin(url: str | httpx.URL) -> str:
    """`scheme://host:port` of `url`, spelt one way: lower case, the default port written out, and every loopback
    name as 127.0.0.1 (`localhost`, `::1`), so that one server has one origin however its URL is written."""
    parts = urlsplit(str(url))
    host = (parts.hostname or "").lower()
    host = "127.0.0.1" if _is_loopback(host) else host
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.scheme}://{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    #: the longest Retry-After honoured; a vendor asking for more ends the call at once, saying so
    longest_wait: float = 120.0
    #: seconds one call may take, its attempts and waits together: a vendor silent or throttling for ever ends
    call_budget: float = 150.0
    #: the pauses before each new attempt to reach a vendor that was never reached (refused, no such host):
    #: it is most likely not there at all, and a whole backoff (13 s) only hid that
    unreachable: tuple[float, ...] = (0.25, 0.75)
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap * 4)
        ceiling = min(self.cap, self.base * 2.0**attempt)  # 2.0: an int power of an int types as Any
        return ceiling / 2 + self.rng.random() * ceiling / 2  # jitter: never two clients in lock-step


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, from a number or an HTTP date (a past date: 0); None when absent or not a valid
    value (negative, `nan`, garbage), for which the caller's own backoff applies, never a zero wait."""
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):  # HTTP says digits; float() would take "nan", "-1", "1e3"
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


class VendorClient:
    """One vendor workspace over HTTP: the key, the limiter, retries for reads, and error translation.

    Every answer is bounded: its body to `max_body` bytes (decoded: a compressed bomb counts as what it inflates
    to) and the whole exchange to `deadline` seconds (a body dripped a byte at a time never ends otherwise: the
    per-read `timeout` restarts with each byte). Every text the vendor sends back is scrubbed of the key."""

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
        deadline: float = 60.0,
        max_body: int = MAX_BODY,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Progress = SILENT,
        connect_timeout: float = 5.0,
    ) -> None:
        self.vendor = vendor
        self.progress = progress  # told of every call (`leadsync.progress`)
        self.reached = False  # whether the vendor ever answered: until it has, a refused connection fails fast
        self.key_source = key_source  # e.g. "$INSTANTLY_API_KEY": what messages name instead of the key
        problem = key_problem(api_key)
        if problem:
            raise CredentialsError(f"{vendor}: the key in {key_source} {problem}")
        self.scrubber = KeyScrubber(api_key)
        self.limiter = limiter
        self.message_of = message_of
        self.retry = retry or RetryPolicy()
        self.deadline, self.max_body = deadline, max_body
        self.sleep, self.clock = sleep, clock
        self.stats = CallStats()
        self._lock = threading.Lock()
        # httpx drops the Authorization header when a redirect leaves the origin; we follow none at all
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "leadsync", "Accept-Encoding": ENCODINGS},
            timeout=httpx.Timeout(min(timeout, deadline), connect=min(connect_timeout, timeout, deadline)),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    @property
    def origin(self) -> str:
        """The vendor's origin, one spelling of it (`origin()`)."""
        return origin(self.http.base_url)

    def scrub(self, text: str) -> str:
        """`text` with the key blanked, in any encoding it could be echoed in."""
        return self.scrubber.text(text)

    def said(self, text: str) -> str:
        """The vendor's words fit for an error line: the key blanked, on one line, at most MAX_MESSAGE long; all
        of them withheld when, blanked, they still betray the key (split, cut, wrapped, mixed encodings)."""
        scrubbed = self.scrub(text)
        if self.scrubber.betrays(scrubbed):
            return WITHHELD
        line = " ".join(scrubbed.split())
        return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"

    def _count(self, endpoint: str, retried: bool = False) -> None:
        with self._lock:
            self.stats.calls[endpoint] += 1
            if retried:
                self.stats.retries += 1

    def _exchange(self, method: str, path: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Send one request and read its whole answer, within `max_body` and `deadline`: `AnswerTooBig` or
        `AnswerTooSlow` when either is crossed (the request was sent: for a write, its outcome is open).

        The exchange runs on a daemon thread that the caller waits for up to the deadline: httpx's timeouts are
        per read, so a vendor dripping its status line or headers a byte at a time would hold a plain call for
        ever. An exchange given up on is left to its per-read timeout; it holds nothing the caller still needs."""
        done = threading.Event()
        outcome: list[httpx.Response | BaseException] = []

        def exchange() -> None:
            try:
                outcome.append(self._exchange_now(method, path, endpoint, **kwargs))
            except BaseException as error:
                outcome.append(error)
            finally:
                done.set()

        with self.limiter.hold():
            threading.Thread(target=exchange, name=f"leadsync {endpoint}", daemon=True).start()
            answered = done.wait(self.deadline + 1.0)
        self.progress.advanced("calls")  # once it is over: calls still queued in the limiter are not made yet
        if not answered:
            raise AnswerTooSlow(f"{self.vendor}: {endpoint}: no whole answer within {self.deadline:g} s")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        self.reached = True
        return outcome[0]

    def _exchange_now(self, method: str, path: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        started = self.clock()
        with self.http.stream(method, path, **kwargs) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body:
                raise AnswerTooBig(f"{self.vendor}: {endpoint}: the answer is {int(declared):,} bytes, over "
                                   f"leadsync's limit of {self.max_body:,}")  # fmt: skip
            chunks, size = [], 0
            for chunk in _decoded(response, endpoint, self.vendor):
                size += len(chunk)
                if size > self.max_body:
                    raise AnswerTooBig(f"{self.vendor}: {endpoint}: the answer is over leadsync's limit of "
                                       f"{self.max_body:,} bytes")  # fmt: skip
                if self.clock() - started > self.deadline:
                    raise AnswerTooSlow(f"{self.vendor}: {endpoint}: no whole answer within {self.deadline:g} s "
                                        f"({size:,} bytes came)")  # fmt: skip
                chunks.append(chunk)
        headers = [(k, v) for k, v in response.headers.items() if k not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                              request=response.request)  # fmt: skip

    def read(self, method: str, path: str, *, endpoint: str, **kwargs: Any) -> Any:
        """A read (or a job poll): retried on 429, 5xx and connection errors; the JSON body."""
        attempt, started = 0, self.clock()
        while True:
            self._count(endpoint, retried=attempt > 0)
            try:
                response = self._exchange(method, path, endpoint, **kwargs)
            except AnswerTooSlow as slow:
                raise UnavailableError(str(slow)) from None  # one such wait is enough: never again per attempt
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self._reach_or_give_up(endpoint, attempt, exc, started)
                attempt += 1
                continue
            except httpx.TransportError as exc:
                self._wait_or_give_up(endpoint, attempt, None, f"connection failed ({type(exc).__name__})", started)
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES:
                self._wait_or_give_up(endpoint, attempt, response, f"HTTP {response.status_code}", started)
                attempt += 1
                continue
            return self._json(response, endpoint)

    def write(self, method: str, path: str, *, endpoint: str, **kwargs: Any) -> Any:
        """A write, sent once. A lost answer raises AmbiguousWrite; a 429 (not applied) is waited out and resent."""
        attempt, started = 0, self.clock()
        while True:
            self._count(endpoint, retried=attempt > 0)
            try:
                response = self._exchange(method, path, endpoint, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # the request never reached the vendor: resending cannot apply it twice
                self._reach_or_give_up(endpoint, attempt, exc, started)
                attempt += 1
                continue
            except httpx.PoolTimeout as exc:  # never sent either
                self._wait_or_give_up(endpoint, attempt, None, f"connection failed ({type(exc).__name__})", started)
                attempt += 1
                continue
            except (AnswerTooBig, AnswerTooSlow, AnswerUnreadable) as unread:
                raise AmbiguousWrite(f"{unread}; it may or may not have been applied") from None
            except httpx.TransportError as exc:
                raise AmbiguousWrite(f"{endpoint}: the answer was lost ({type(exc).__name__})") from None
            if response.status_code == 429:  # refused before any work: safe to send again
                self._wait_or_give_up(endpoint, attempt, response, "HTTP 429", started)
                attempt += 1
                continue
            if response.status_code >= 500:
                raise AmbiguousWrite(f"{endpoint}: HTTP {response.status_code}; it may or may not have been applied")
            return self._json(response, endpoint)

    def _reach_or_give_up(self, endpoint: str, attempt: int, error: httpx.TransportError, started: float) -> None:
        """A connection that could not be made. To a vendor never reached: two quick retries
        (`RetryPolicy.unreachable`), then an UnavailableError naming where it was sought and why it failed. To
        one that answered before (a restart, a blip), the usual backoff."""
        why = unreachable_reason(error)
        if self.reached:
            self._wait_or_give_up(endpoint, attempt, None, f"connection failed ({why})", started)
            return
        pauses = self.retry.unreachable
        if attempt >= len(pauses):
            url = self.http.base_url
            port = url.port or {"https": 443, "http": 80}.get(url.scheme, 0)
            raise UnavailableError(f"{self.vendor}: cannot reach the vendor at {url.host}:{port} ({why}); {endpoint} "
                                   f"failed {attempt + 1} times in {self.clock() - started:.1f} s")  # fmt: skip
        self.sleep(pauses[attempt])

    def _wait_or_give_up(
        self, endpoint: str, attempt: int, response: httpx.Response | None, what: str, started: float
    ) -> None:
        """Sleep before the next attempt, or raise UnavailableError: when the attempts, the call's time or the
        client's retry budget are spent, or at once when the vendor asks for a longer wait than leadsync makes."""
        with self._lock:
            retries, calls = self.stats.retries, sum(self.stats.calls.values())
        where = f"{self.vendor}: {endpoint}: {what}"
        after = retry_after(response) if response is not None else None
        if after is not None and after > self.retry.longest_wait:
            raise UnavailableError(f"{where}; the vendor asks to wait {after:,.0f} s (Retry-After), longer than "
                                   f"leadsync waits ({self.retry.longest_wait:g} s): try again later")  # fmt: skip
        if attempt + 1 >= self.retry.attempts or retries >= self.retry.budget + self.retry.budget_ratio * calls:
            raise UnavailableError(f"{where}, still failing after {attempt + 1} attempts")
        pause = self.retry.backoff(attempt, after)
        spent = self.clock() - started
        if spent + pause > self.retry.call_budget:
            raise UnavailableError(f"{where}, still failing after {attempt + 1} attempts in {spent:.0f} s (leadsync "
                                   f"gives a call {self.retry.call_budget:g} s)")  # fmt: skip
        self.sleep(pause)

    def _json(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        if status < 300:
            if not response.content:
                return None
            try:
                text = response.content.decode("utf-8")
                found = loads_bounded(text)
            except JsonTooDeep as deep:
                raise ProviderError(f"{self.vendor}: {endpoint}: the answer is JSON nested deeper than leadsync "
                                    f"reads ({deep.msg}, HTTP {status})") from None  # fmt: skip
            except ValueError:
                raise ProviderError(f"{self.vendor}: {endpoint}: the answer is not JSON (HTTP {status})") from None
            # a key echoed in a record would reach plans and snapshots: JSON escapes hide it from a text search
            if self.scrubber.found_in_json(text):
                found = self.scrubber.value(found)
            if _LONE_SURROGATE.search(text):  # "\\ud800" parses, but no file or terminal takes it: U+FFFD instead
                found = map_strings(found, _mended)
            return found
        message = self.said(self.message_of(response))
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


def unreachable_reason(error: httpx.TransportError) -> str:
    """Why a connection could not be made, in a few words: `connection refused`, `host not found`, ..."""
    if isinstance(error, httpx.ConnectTimeout):
        return "no answer to the connection"
    text = str(error).lower()
    for words, reason in _UNREACHABLE:
        if any(word in text for word in words):
            return reason
    return " ".join(str(error).split())[:120] or type(error).__name__


_UNREACHABLE = (
    (("refused",), "connection refused"),
    (("name or service", "nodename nor servname", "getaddrinfo", "name resolution", "no address associated"),
     "host not found"),
    (("no route to host",), "no route to host"),
    (("network is unreachable",), "network unreachable"),
)  # fmt: skip
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _mended(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def error_body(response: httpx.Response) -> Any:
    """An error answer's JSON, within the nesting budget; None when it is not JSON (an edge's HTML page)."""
    try:
        return loads_bounded(response.content.decode("utf-8"))
    except ValueError:  # JsonTooDeep and UnicodeDecodeError are ValueErrors too
        return None


#: the Content-Encodings leadsync asks for, and so reads (inflated a bounded piece at a time)
ENCODINGS = "gzip, deflate"
_INFLATE = 64 * 1024


def _decoded(response: httpx.Response, endpoint: str, vendor: str) -> Iterator[bytes]:
    """The body's bytes as its Content-Encoding makes them, inflated at most 64 KB at a time: httpx's own
    decoders inflate each network chunk whole, so a few KB of stacked gzip became gigabytes before any size
    check ran. One gzip or deflate layer is read (what leadsync asks for); anything else is AnswerUnreadable."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    where = f"{vendor}: {endpoint}: the answer cannot be decoded"
    if encoding in ("", "identity"):
        yield from _raw(response)
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise AnswerUnreadable(f"{where} (Content-Encoding {encoding[:40]!r}: leadsync asks for {ENCODINGS})")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or zlib header, told apart by the data
    try:
        for raw in _raw(response):
            data = raw
            while data:
                yield inflater.decompress(data, _INFLATE)
                data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error:
        raise AnswerUnreadable(f"{where} (it is not the {encoding} it says, HTTP {response.status_code})") from None


def _raw(response: httpx.Response) -> Iterator[bytes]:
    """The body as it came; a response made whole in memory (a test transport's) has it already."""
    try:
        yield from response.iter_raw()
    except httpx.StreamConsumed:
        yield response.content
