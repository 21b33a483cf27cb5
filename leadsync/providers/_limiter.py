"""The client-side rate limiter every vendor client shares (docs/design.md section 5): a workspace's requests a
second and a minute, kept by all of leadsync's threads together."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["RateLimiter"]


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
        # at least one a window: a rate under 1/s (max_rate: 0.5) is kept by the minute's window
        self.windows = ((1.0, max(1, int(per_second))), (60.0, max(1, int(per_minute))))
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
                for (span, limit), sent in zip(self.windows, self.sent, strict=True):
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
