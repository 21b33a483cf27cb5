"""The vendor's rate limit: requests per second and per minute for the whole workspace, sliding windows.

Instantly allows 100 requests/s and 6,000 requests/min per workspace, shared by every key. A request over either
limit is answered 429 and does not count against the windows (assumed: the vendor does not document whether
rejected requests count).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from leadsync.errors import SandboxError

_TERM = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*$")


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: int = 100
    per_minute: int = 6000

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`"100/s,6000/min"` (either part may be left out and keeps its default); `"off"` gives None."""
        if text.strip().lower() in {"off", "none", "0"}:
            return None
        default = cls()
        values = {"s": default.per_second, "m": default.per_minute}
        for term in text.split(","):
            match = _TERM.match(term)
            if not match or int(match.group(1)) < 1:
                raise SandboxError(f"invalid rate limit {text!r}: expected e.g. '100/s,6000/min' or 'off'")
            values[match.group(2)[0]] = int(match.group(1))
        return cls(per_second=values["s"], per_minute=values["m"])


class SlidingWindowLimiter:
    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()

    def allow(self, now: float) -> bool:
        while self._second and self._second[0] <= now - 1.0:
            self._second.popleft()
        while self._minute and self._minute[0] <= now - 60.0:
            self._minute.popleft()
        if len(self._second) >= self.limit.per_second or len(self._minute) >= self.limit.per_minute:
            return False
        self._second.append(now)
        self._minute.append(now)
        return True
