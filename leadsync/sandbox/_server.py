"""Running the sandbox: in-process on a free port (tests, `provider: sandbox`), or blocking (the CLI).

The server is uvicorn, serving the sandbox's own small ASGI app (no web framework: routing is a dozen regexes).
Why uvicorn: it is a maintained, widely used HTTP/1.1 server whose only dependencies (h11, click) leadsync already
has; it keeps connections alive as the vendors' edges do, so a client's connection pool is exercised for real;
it starts inside a thread on a socket we bind (port 0, then read the port back) and leaves signal handling alone
there; and its HTTP protocol class can be extended, which is how the fault injector gets at the TCP connection to
drop it with no response at all. (Werkzeug's development server, the obvious alternative, closes every connection
after one response and exits the process when it cannot bind.) One event-loop thread runs every handler, so the
SQLite connection, the stats and the rate limiter need no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from leadsync.errors import SandboxError

from ._clock import Clock, SystemClock
from ._faults import FaultInjector, FaultSpec, parse_faults
from ._http import App
from ._ids import IdMaker
from ._instantly import Instantly
from ._ratelimit import RateLimit, SlidingWindowLimiter
from ._seed import read_seed
from ._sonarly import Sonarly
from ._store import Store, open_store

SeedArg = dict[str, Any] | str | os.PathLike[str] | None
RateLimitArg = bool | str | RateLimit | None


def _protocol(transports: dict[Any, asyncio.Transport]) -> type[H11Protocol]:
    class SandboxProtocol(H11Protocol):
        """uvicorn's h11 protocol, registering each connection's transport under the client address the ASGI scope
        carries, so that the app can abort a connection (the `drop` fault)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.client is not None:
                transports[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client is not None:
                transports.pop(self.client, None)
            super().connection_lost(exc)

    return SandboxProtocol


def _rate_limiter(rate_limit: RateLimitArg) -> SlidingWindowLimiter | None:
    if rate_limit is True:
        return SlidingWindowLimiter(RateLimit())
    if isinstance(rate_limit, str):
        parsed = RateLimit.parse(rate_limit)
        return SlidingWindowLimiter(parsed) if parsed else None
    if isinstance(rate_limit, RateLimit):
        return SlidingWindowLimiter(rate_limit)
    return None


def _check_host(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SandboxError(f"the sandbox serves on a loopback address only (127.0.0.1, ::1, localhost), not {host!r}")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the listening socket says
    # TCP, and without it every small answer on a kept-alive connection waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SandboxError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


class _Assembly:
    """The parts of one sandbox: its store, vendor, app and uvicorn server, on a bound socket."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        state: Any,
        seed: SeedArg,
        vendor: str | None,
        faults: str | FaultSpec | None,
        rate_limit: RateLimitArg,
        clock: Clock | None,
    ) -> None:
        _check_host(host)
        spec = parse_faults(faults)
        self.store: Store = open_store(state, seed, vendor)
        try:
            clock = clock or SystemClock()
            injector = FaultInjector(spec)
            ids = IdMaker(spec.seed)
            kind = Sonarly if self.store.vendor == "sonarly" else Instantly
            self.vendor = kind(self.store, ids, injector, clock)
            transports: dict[Any, asyncio.Transport] = {}
            app = App(self.vendor, self.store, injector, _rate_limiter(rate_limit), clock, transports)
            config = uvicorn.Config(
                app,
                http=_protocol(transports),
                loop="asyncio",
                lifespan="off",
                log_config=None,
                access_log=False,
                log_level="warning",
                server_header=False,
                timeout_graceful_shutdown=1,
            )
            self.server = uvicorn.Server(config)
            self.socket = _bind(host, port)
        except BaseException:
            self.store.close()
            raise
        bound_host, bound_port = self.socket.getsockname()[:2]
        self.url = f"http://[{bound_host}]:{bound_port}" if ":" in bound_host else f"http://{bound_host}:{bound_port}"

    def run(self) -> None:
        """Serve until told to exit, then let go of the port and the state file."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.store.close()

    def api_key(self) -> str | None:
        keys = self.store.objects("api_key")
        full = [k["key"] for k in keys if {"all:all", "all:*", "*"} & set(k.get("scopes", []))]
        chosen: str | None = (full or [k["key"] for k in keys] or [None])[0]
        return chosen


class RunningSandbox:
    """A sandbox serving in a background thread of this process. Stop it, or use it as a context manager."""

    def __init__(self, assembly: _Assembly, thread: threading.Thread) -> None:
        self._assembly, self._thread = assembly, thread
        self.url: str = assembly.url
        self.vendor: str = assembly.vendor.name
        #: a key of the workspace, preferring one with every scope: what `provider: sandbox` should use
        self.api_key: str | None = assembly.api_key()
        self.state_path: str | None = assembly.store.path

    def stats(self) -> dict[str, Any]:
        """What GET /_sandbox/stats answers: {"calls": {"POST /api/v2/leads/add": n, ...}}."""
        return self._get("/_sandbox/stats")

    def reset_stats(self) -> None:
        with httpx.Client(trust_env=False, headers=self._control_headers()) as client:
            client.delete(self.url + "/_sandbox/stats").raise_for_status()

    def _control_headers(self) -> dict[str, str]:
        """The controls need one of the workspace's keys."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def state(self) -> dict[str, Any]:
        """What GET /_sandbox/state answers: the whole state in the seed format."""
        return self._get("/_sandbox/state")

    def _get(self, path: str) -> dict[str, Any]:
        with httpx.Client(trust_env=False, timeout=30, headers=self._control_headers()) as client:
            response = client.get(self.url + path)
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

    def stop(self, *, wait: bool = True) -> None:
        """Stop serving. With wait=False, return at once: the server finishes on its own within a fraction of a
        second (its thread then frees the port and closes the state)."""
        self._assembly.server.should_exit = True
        if wait:
            self._thread.join(timeout=10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start(
    seed: SeedArg = None,
    *,
    state: str | os.PathLike[str] | None = None,
    vendor: str | None = None,
    faults: str | FaultSpec | None = None,
    port: int = 0,
    rate_limit: RateLimitArg = True,
    clock: Clock | None = None,
) -> RunningSandbox:
    """Start a sandbox on 127.0.0.1 (port 0: a free one) in a background thread; return once it accepts requests.

    `seed`: a dict or the path of a seed JSON (None: an empty workspace with the key `sandbox`). `state`: the
    SQLite file (None: memory); when it exists it is used as it is and the seed is ignored. `vendor`: instantly,
    sonarly, or None to infer it from the seed. `faults`: a faults spec (see docs/sandbox.md). `rate_limit`: True
    for the vendor's 100/s and 6,000/min, False to disable, "N/s,M/min", or a RateLimit. `clock`: for tests.
    """
    assembly = _Assembly(
        host="127.0.0.1",
        port=port,
        state=state,
        seed=seed,
        vendor=vendor,
        faults=faults,
        rate_limit=rate_limit,
        clock=clock,
    )
    thread = threading.Thread(target=assembly.run, name=f"leadsync-sandbox {assembly.url}", daemon=True)
    running = RunningSandbox(assembly, thread)  # reads the store before the server thread owns it
    thread.start()
    deadline = time.monotonic() + 10
    while not assembly.server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            assembly.server.should_exit = True
            thread.join(timeout=10)
            raise SandboxError(f"the sandbox did not start on {assembly.url}")
        time.sleep(0.005)
    return running


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    state: str | os.PathLike[str] | None = None,
    seed: SeedArg = None,
    vendor: str | None = None,
    faults: str | FaultSpec | None = None,
    rate_limit: RateLimitArg = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (SIGINT or SIGTERM); refuses a host that is not a loopback address.

    `on_ready(url)` is called once the server accepts requests, e.g. for the CLI to print where it listens.
    """
    assembly = _Assembly(
        host=host, port=port, state=state, seed=seed, vendor=vendor, faults=faults, rate_limit=rate_limit, clock=None
    )
    if on_ready is not None:
        threading.Thread(target=_announce, args=(assembly, on_ready), daemon=True).start()
    with _signals_end_serving():
        assembly.run()


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """Make SIGINT and SIGTERM end serve() by returning. uvicorn shuts down gracefully on them, restores the
    handlers it found, then raises the signal again; the handlers it finds are these no-ops, so serve() returns
    instead of the process dying (or the CLI seeing a KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _announce(assembly: _Assembly, on_ready: Callable[[str], None]) -> None:
    while not assembly.server.started and not assembly.server.should_exit:
        time.sleep(0.01)
    if assembly.server.started:
        on_ready(assembly.url)


def reset(state_path: str | os.PathLike[str], seed: SeedArg, *, vendor: str | None = None) -> None:
    """Start a state over from its seed: the file (and SQLite's side files) is replaced by the seed's state."""
    path = Path(state_path)
    read_seed(seed, vendor)  # a bad seed leaves the old state in place
    for leftover in (
        path,
        path.with_name(path.name + "-journal"),
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)
    open_store(path, seed, vendor).close()
