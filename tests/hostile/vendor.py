"""A hostile vendor: a loopback HTTP server in front of a sandbox that forwards every request to it, except those
a rule picks, which it answers the way a broken or malicious vendor might.

    with sandbox.start(seed) as upstream, HostileVendor(upstream.url) as vendor:
        vendor.on("POST", "/api/v2/leads/list", echo_key(401))     # every matching request, until cleared
        vendor.on("GET", "/api/v2/campaigns", body(200, b"[]"), times=1)
        ... LEADSYNC_INSTANTLY_BASE_URL=vendor.url ...

A rule is (method, path pattern, action, times). Actions get the request and either answer it themselves or
forward it and bend the answer. They misbehave at the HTTP level (bodies, headers, timing), so whatever leadsync
does with an answer is what it would do with a real vendor's: nothing of leadsync is mocked.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    #: when set, the body is streamed from this iterator (chunked) instead of `body`
    stream: Iterator[bytes] | None = None
    #: when set, the status line and headers are sent a byte at a time, this many seconds apart
    drip_head: float | None = None


#: what a rule does with a request: answer it (Answer), or None to forward it unchanged
Action = Callable[[Request, "HostileVendor"], Answer | None]


@dataclass
class Rule:
    method: str
    pattern: re.Pattern[str]
    action: Action
    times: int | None  # None: every matching request
    fired: int = 0


class HostileVendor:
    """The server. `on(...)` adds a rule; `clear()` removes them; `seen` lists every request that came in."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.seen: list[Request] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=self.upstream, timeout=30.0, trust_env=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileVendor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def on(self, method: str, path: str, action: Action, *, times: int | None = None) -> HostileVendor:
        """Misbehave on requests whose method is `method` ("*": any) and whose path (no query) matches the regex."""
        with self._lock:
            self.rules.append(Rule(method, re.compile(path), action, times))
        return self

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def forward(self, request: Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type")}
        return self._client.request(request.method, request.path, headers=headers, content=request.body)

    def _rule_for(self, request: Request) -> Rule | None:
        path = request.path.split("?", 1)[0]
        with self._lock:
            self.seen.append(request)
            for rule in self.rules:
                if rule.method in ("*", request.method) and rule.pattern.fullmatch(path):
                    if rule.times is not None and rule.fired >= rule.times:
                        continue
                    rule.fired += 1
                    return rule
        return None

    def answer(self, request: Request) -> Answer:
        rule = self._rule_for(request)
        made = rule.action(request, self) if rule else None
        if made is not None:
            return made
        response = self.forward(request)
        return Answer(
            response.status_code, response.content, {"content-type": response.headers.get("content-type", "")}
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = vendor.answer(Request(self.command, self.path, headers, body))
                try:
                    if answer.drip_head is not None:
                        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
                        for byte in head:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.drip_head)
                        self.wfile.write(b"{}")
                        return
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.stream is None:
                        self.send_header("content-length", str(len(answer.body)))
                        self.end_headers()
                        self.wfile.write(answer.body)
                        return
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for chunk in answer.stream:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up on us: the point of most streams

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

        return Handler


# -- actions ------------------------------------------------------------------------------------------------


def encoded(secret: str, how: str) -> str:
    """`secret` as a vendor might echo it back: raw, url (percent-encoded), base64, hex, json (\\u-escaped)."""
    raw = secret.encode()
    if how == "raw":
        return secret
    if how == "url":
        return quote(secret, safe="")
    if how == "url-all":  # every byte percent-encoded, as some edges log it
        return "".join(f"%{b:02X}" for b in raw)
    if how == "base64":
        return base64.b64encode(b"Bearer " + raw).decode()
    if how == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if how == "hex":
        return raw.hex()
    if how == "HEX":
        return raw.hex().upper()
    if how == "json":
        return "".join(f"\\u{ord(c):04x}" for c in secret)
    raise ValueError(how)


def echo_key(status: int, how: str = "raw", *, html: bool = False, vendor: str = "instantly") -> Action:
    """An error answer whose message carries the request's Authorization header, encoded `how`."""

    def act(request: Request, _: HostileVendor) -> Answer:
        echoed = encoded(request.headers.get("authorization", ""), how)
        if html:
            page = f"<html><body><h1>{status}</h1><p>bad key {echoed}</p></body></html>".encode()
            return Answer(status, page, {"content-type": "text/html"})
        if vendor == "sonarly":
            text = (
                '{"success": false, "data": null, "error": {"code": "UNAUTHORIZED", "message": "bad key %s", '
                '"details": "header was %s"}, "traceId": "%s"}'
            ) % (echoed, echoed, echoed)
        else:
            text = '{"statusCode": %d, "error": "Refused", "message": "bad key %s"}' % (status, echoed)
        return Answer(status, text.encode())

    return act


def body(status: int, content: bytes, content_type: str = "application/json", **headers: str) -> Action:
    """A fixed answer."""

    def act(_: Request, __: HostileVendor) -> Answer:
        return Answer(status, content, {"content-type": content_type, **headers})

    return act


def bend(change: Callable[[Any, Request], Any]) -> Action:
    """Forward the request and answer the vendor's JSON as `change(answer, request)` makes it."""

    def act(request: Request, vendor: HostileVendor) -> Answer:
        response = vendor.forward(request)
        return Answer(response.status_code, json.dumps(change(response.json(), request)).encode())

    return act


def endless_body(chunk: bytes = b" " * 65536) -> Action:
    """A 200 whose body never ends (JSON whitespace forever)."""

    def act(_: Request, __: HostileVendor) -> Answer:
        def forever() -> Iterator[bytes]:
            yield b'{"items": ['
            while True:
                yield chunk

        return Answer(200, stream=forever())

    return act


def drip(every: float = 2.0, content: bytes = b'{"items": [], "next_starting_after": null}') -> Action:
    """A 200 whose body comes one byte every `every` seconds: each read is quick, the whole never is."""

    def act(_: Request, __: HostileVendor) -> Answer:
        def slowly() -> Iterator[bytes]:
            for byte in content:
                time.sleep(every)
                yield bytes([byte])

        return Answer(200, stream=slowly())

    return act


def drip_headers(every: float = 2.0) -> Action:
    """A 200 whose status line and headers come one byte every `every` seconds."""

    def act(_: Request, __: HostileVendor) -> Answer:
        return Answer(200, drip_head=every)

    return act


def deep_json(depth: int = 100_000) -> Action:
    """A 200 whose JSON is nested `depth` lists deep."""
    return body(200, b'{"items": ' + b"[" * depth + b"]" * depth + b"}")


ENCODINGS = ("raw", "url", "url-all", "base64", "base64url", "hex", "HEX", "json")


def echo_all(status: int, *, html: bool = False, vendor: str = "instantly") -> Action:
    """An error answer whose message carries the Authorization header in every encoding of `ENCODINGS` at once."""

    def act(request: Request, _: HostileVendor) -> Answer:
        header = request.headers.get("authorization", "")
        echoed = " ".join(f"{how}={encoded(header, how)}" for how in ENCODINGS)
        if html:
            page = f"<html><body><h1>{status}</h1><p>bad key {echoed}</p></body></html>".encode()
            return Answer(status, page, {"content-type": "text/html"})
        if vendor == "sonarly":
            text = (
                '{"success": false, "data": null, "error": {"code": "UNAUTHORIZED", "message": "bad key %s", '
                '"details": "header was %s"}, "traceId": "%s"}'
            ) % (echoed, echoed, encoded(header, "raw"))
        else:
            text = '{"statusCode": %d, "error": "Refused", "message": "bad key %s"}' % (status, echoed)
        return Answer(status, text.encode())

    return act


def endless_pages(*, grow: bool = False, same_cursor: bool = False) -> Action:
    """A page of leads that never ends: the same lead with a fresh cursor each time; with `grow`, a page one lead
    longer each time, all new; with `same_cursor`, the same cursor every time."""
    count = [0]

    def act(request: Request, _: HostileVendor) -> Answer:
        count[0] += 1
        n = count[0]
        size = n if grow else 1
        leads = [
            {
                "id": f"1ead{n:08x}-0000-4000-8000-{i:012d}" if grow else "1ead0000-0000-4000-8000-000000000001",
                "email": f"loop{i}@loop.test",
                "campaign": (request.json() or {}).get("campaign"),
            }
            for i in range(size)
        ]
        cursor = "c0ffee" if same_cursor else f"{n:024x}"
        return Answer(200, json.dumps({"items": leads, "next_starting_after": cursor}).encode())

    return act


def gzip_bomb(inflated: int = 2 * 1024**3, layers: int = 1) -> Action:
    """A 200 whose body is a few KB of gzip (stacked `layers` deep) that inflates to `inflated` bytes of spaces."""
    import gzip

    def build() -> bytes:
        import zlib

        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        out = [packer.compress(b'{"items": [')]
        block = b" " * (1024 * 1024)
        for _ in range(inflated // len(block)):
            out.append(packer.compress(block))
        out.append(packer.compress(b"]}"))
        out.append(packer.flush())
        packed = b"".join(out)
        for _ in range(layers - 1):
            packed = gzip.compress(packed, 9)
        return packed

    packed = build()

    def act(_: Request, __: HostileVendor) -> Answer:
        encoding = ", ".join(["gzip"] * layers)
        return Answer(200, packed, {"content-type": "application/json", "content-encoding": encoding})

    return act
