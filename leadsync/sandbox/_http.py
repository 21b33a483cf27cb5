"""The sandbox's ASGI application: routing, stats, faults, auth, the rate limit, bodies; the vendors do the rest.

Order of a request, as the vendors' edge and framework (Fastify, for Instantly) would take it: counted in the stats;
injected faults (latency, a dropped connection, a 429 or 5xx "before"); settle the background work that is due;
unknown route (404); API key (401); rate limit (429); scope (403); JSON body (400/415); the handler, whose writes
commit as one SQLite transaction; injected faults "after" (the write is committed, the answer is lost).

All of it runs on the server's one event-loop thread: the handlers are short synchronous SQLite work, so there are
no locks, and an injected latency (an asyncio sleep) holds up only its own request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs

from leadsync.errors import ApiError
from leadsync.jsontext import nesting_error

from ._clock import Clock, SystemClock
from ._faults import Decision, FaultInjector
from ._ratelimit import SlidingWindowLimiter
from ._store import Store

log = logging.getLogger("leadsync.sandbox")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class Reply:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None  # a non-JSON body (an edge's HTML 502)


@dataclass(slots=True)
class Call:
    """One request as a handler sees it."""

    route: Route
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    key: dict[str, Any]
    now: float

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


Handler = Callable[[Call], Reply]


@dataclass(slots=True)
class Route:
    method: str
    template: str
    handler: Handler
    scope: str | None  # "resource:action"; None: any valid key
    write: bool = False
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template)) + "$")


class Vendor(Protocol):
    name: str
    routes: list[Route]

    def error_body(self, error: ApiError, route: Route | None) -> Any: ...
    def settle(self, now: float) -> None: ...
    def next_due(self) -> float: ...
    def before(self, route: Route) -> None: ...
    def dump(self) -> dict[str, Any]: ...


def scope_allows(scopes: list[str], needed: str) -> bool:
    """Whether a key's scopes grant `resource:action`: exact, `resource:all`, `all:action` or `all:all` (`*` = all)."""
    resource, _, action = needed.partition(":")
    for granted in scopes:
        have_resource, _, have_action = granted.replace("*", "all").partition(":")
        if have_resource in (resource, "all") and have_action in (action, "all"):
            return True
    return False


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _loopback_host(host: bytes) -> bool:
    """Whether a Host header names this machine's loopback (with any port), as leadsync and its tests do."""
    name = host.decode("latin-1").strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1]
    else:
        name = name.rpartition(":")[0] if name.count(":") == 1 else name
    if name in _LOOPBACK:
        return True
    try:  # 127.0.0.2 is the loopback too; 127.0.0.1.evil.test is a name, not an address
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class App:
    def __init__(
        self,
        vendor: Vendor,
        store: Store,
        faults: FaultInjector,
        limiter: SlidingWindowLimiter | None,
        clock: Clock,
        transports: dict[Any, asyncio.Transport],
    ) -> None:
        self.vendor, self.store, self.faults, self.limiter, self.clock = vendor, store, faults, limiter, clock
        self.transports = transports
        self.calls: Counter[str] = Counter()
        self._wake: tuple[float, asyncio.TimerHandle] | None = None  # when the background work is settled next
        self._routes: dict[str, list[Route]] = {}
        for route in vendor.routes:
            self._routes.setdefault(route.method, []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        headers = dict(scope.get("headers") or [])
        if not _loopback_host(headers.get(b"host", b"")):
            # a page on a DNS name rebound to 127.0.0.1 reaches the port, but names its own host: refused
            await self._send(
                send,
                Reply(
                    421,
                    {
                        "statusCode": 421,
                        "error": "Misdirected Request",
                        "message": "the sandbox answers requests to a loopback host only",
                    },
                ),
            )
            return  # fmt: skip
        if path.startswith("/_sandbox/"):
            if not self._controller(headers.get(b"authorization", b"")):
                await self._send(
                    send,
                    Reply(
                        401,
                        {
                            "statusCode": 401,
                            "error": "Unauthorized",
                            "message": "the sandbox's controls need one of its keys",
                        },
                    ),
                )
                return  # fmt: skip
            await self._send(send, self._control(method, path))
            return
        route, params = self._match(method, path)
        template = route.template if route else path
        self.calls[f"{method} {template}"] += 1
        write = route.write if route else method not in ("GET", "HEAD")
        decision = self.faults.for_request(template, write)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.drop == "before":
            await self._drop(scope)
            return
        if decision.status and decision.when == "before":
            await self._send(send, self._injected(decision, route))
            return
        reply = self._process(scope, route, params, body)
        self._wake_when_due()
        if decision.drop == "after":
            await self._drop(scope)
            return
        if decision.status:
            reply = self._injected(decision, route)
        await self._send(send, reply)

    def _wake_when_due(self) -> None:
        """On the wall clock, settle background work (move jobs, bulk-assigns) when it falls due, between requests,
        as the vendor's workers do, instead of at the start of the next request, which would then answer late.
        (The next request still settles whatever is due first, so what a client can see does not change. A test's
        ManualClock has no timers: its work is settled by requests alone, deterministically.)"""
        if not isinstance(self.clock, SystemClock):
            return
        due = self.vendor.next_due()
        delay = max(0.0, due - self.clock.now())
        if delay > 86_400 or (self._wake is not None and self._wake[0] <= due):
            return  # nothing waiting (or only a stalled job, due never), or a wake-up already set in time
        if self._wake is not None:
            self._wake[1].cancel()
        self._wake = (due, asyncio.get_running_loop().call_later(delay, self._settle_due))

    def _settle_due(self) -> None:
        self._wake = None
        try:
            with self.store.transaction():
                self.vendor.settle(self.clock.now())
        except ApiError:  # the state cannot be written (a full disk): the next request answers so, in one line
            return
        except Exception:  # a bug in the sandbox: the next request meets it again and answers 500
            log.exception("sandbox error settling background work")
            return
        self._wake_when_due()

    def _known_path(self, path: str) -> bool:
        """Whether some route, of any method, serves `path` (so that it is the vendor's, under another method)."""
        return any(route.pattern.match(path) for routes in self._routes.values() for route in routes)

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes.get(method, ()):
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _process(self, scope: Scope, route: Route | None, params: dict[str, str], raw: bytes) -> Reply:
        now = self.clock.now()
        try:
            self.vendor.settle(now)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if route is None:
                if self._known_path(scope["path"]):  # a vendor route the sandbox does not emulate: the vendor
                    self._authenticate(headers.get("authorization"))  # would answer 401 to a missing key first
                raise ApiError(404, f"Route {scope['method']}:{scope['path']} not found", code="NOT_FOUND")
            key = self._authenticate(headers.get("authorization"))
            if self.limiter is not None and not self.limiter.allow(now):
                raise ApiError(429, "Rate limit exceeded", code="RATE_LIMITED")
            if route.scope and not scope_allows(key.get("scopes", []), route.scope):
                raise ApiError(403, f"This API key does not have the required scope ({route.scope})", code="FORBIDDEN")
            self.vendor.before(route)
            body = _parse_body(route, headers.get("content-type", ""), raw)
            query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            call = Call(route, params, query, body, key, now)
            with self.store.transaction():
                return route.handler(call)
        except ApiError as error:
            return Reply(error.status, self.vendor.error_body(error, route))
        except Exception as error:  # a bug in the sandbox: answer as the vendor would, and say so in the log
            log.exception("sandbox error on %s %s", scope["method"], scope["path"])
            return Reply(
                500,
                self.vendor.error_body(ApiError(500, f"Internal server error: {error}", code="INTERNAL_ERROR"), route),
            )

    def _authenticate(self, header: str | None) -> dict[str, Any]:
        if not header:
            raise ApiError(401, "Missing Authorization header", code="UNAUTHORIZED")
        scheme, _, token = header.partition(" ")
        key = self.store.get_object("api_key", token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise ApiError(401, "Invalid API key", code="UNAUTHORIZED")
        return key

    def _injected(self, decision: Decision, route: Route | None) -> Reply:
        status = decision.status or 500
        headers = []
        if decision.retry_after is not None:  # either form RFC 9110 allows: delta-seconds or an HTTP-date
            if decision.retry_format == "date":
                value = formatdate(self.clock.now() + decision.retry_after, usegmt=True)
            else:
                value = str(decision.retry_after)
            headers.append(("retry-after", value))
        if status in (502, 504):  # these come from the edge in front of the vendor: HTML, not the vendor's JSON
            phrase = HTTPStatus(status).phrase
            page = f"<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1></body></html>"
            return Reply(status, None, headers, raw=page.encode())
        message = "Rate limit exceeded" if status == 429 else "Internal server error"
        code = "RATE_LIMITED" if status == 429 else "INTERNAL_ERROR"
        return Reply(status, self.vendor.error_body(ApiError(status, message, code=code), route), headers)

    async def _drop(self, scope: Scope) -> None:
        transport = self.transports.get(scope.get("client"))
        if transport is None:
            log.warning("cannot drop the connection of %s: not found", scope.get("client"))
            return
        transport.abort()  # no response bytes at all, and no graceful close: as when a proxy or the network fails
        for _ in range(3):  # let the protocol see the connection lost before this request's task ends
            await asyncio.sleep(0)

    def _controller(self, authorization: bytes) -> bool:
        """Whether a request to the controls (`/_sandbox/...`) carries one of the workspace's keys (Bearer)."""
        given = authorization.decode("latin-1").removeprefix("Bearer ").strip()
        return bool(given) and any(given == key.get("key") for key in self.store.objects("api_key"))

    def _control(self, method: str, path: str) -> Reply:
        if path == "/_sandbox/stats" and method == "GET":
            return Reply(200, {"calls": dict(sorted(self.calls.items()))})
        if path == "/_sandbox/stats" and method == "DELETE":
            self.calls.clear()
            return Reply(200, {"calls": {}})
        if path == "/_sandbox/state" and method == "GET":
            with self.store.transaction():
                self.vendor.settle(self.clock.now())
            return Reply(200, self.vendor.dump())
        return Reply(404, {"statusCode": 404, "error": "Not Found", "message": f"Route {method}:{path} not found"})

    @staticmethod
    async def _send(send: Send, reply: Reply) -> None:
        if reply.raw is not None:
            content, kind = reply.raw, b"text/html; charset=utf-8"
        else:
            content = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
            kind = b"application/json; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(content)).encode())]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _parse_body(route: Route, content_type: str, raw: bytes) -> Any:
    """The JSON body as Fastify parses it (its error codes and messages)."""
    if route.method in ("GET", "HEAD"):
        return None
    is_json = content_type.split(";")[0].strip().lower() == "application/json"
    if not raw.strip():
        if is_json:
            raise ApiError(
                400,
                "Body cannot be empty when content-type is set to 'application/json'",
                code="FST_ERR_CTP_EMPTY_JSON_BODY",
            )
        return None
    if not is_json:
        raise ApiError(
            415, f"Unsupported Media Type: {content_type or '(none)'}", code="FST_ERR_CTP_INVALID_MEDIA_TYPE"
        )
    try:
        text = raw.decode("utf-8")
        if nesting_error(text, max_depth=MAX_BODY_DEPTH) is not None:
            raise ValueError("nested too deep")
        body = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # a number literal too long for int() is a ValueError too
        raise ApiError(
            400,
            "Body is not valid JSON but content-type is set to 'application/json'",
            code="FST_ERR_CTP_INVALID_JSON_BODY",
        ) from None
    return _well_formed(body) if _SURROGATE_ESCAPE.search(raw) else body


#: deeper than any body the vendor's schemas describe (4 levels); past it, json.loads would recurse without bound.
#: Assumed: answered as invalid JSON (V8's JSON.parse copes; the vendor's limit is not documented).
MAX_BODY_DEPTH = 64
#: a \uD800-\uDFFF escape: json.loads joins a valid pair into one character, so any left in a string is lone
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(name: str) -> Any:
    """`Infinity`, `-Infinity` and `NaN` are JavaScript, not JSON: JSON.parse refuses them, so Fastify does."""
    raise ValueError(f"{name} is not JSON")


def _well_formed(value: Any) -> Any:
    """The value with lone surrogates replaced by U+FFFD, as Node does when it encodes a string as UTF-8 (the
    vendor's storage), so that nothing later fails to encode it (SQLite, the answer)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_well_formed(item) for item in value]
    if isinstance(value, dict):
        return {_well_formed(k): _well_formed(v) for k, v in value.items()}
    return value
