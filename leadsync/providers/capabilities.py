"""What each vendor's API can do and how much per call (reference/README.md), as planner input."""

from __future__ import annotations

import math
from dataclasses import replace

from leadsync.state import Capabilities

#: Instantly API v2: add 1,000 leads a call; move and bulk-assign take lists of ids (their maximum is
#: undocumented: 1,000 keeps a call's body small); bulk delete takes up to 10,000 but we stay at 1,000;
#: 100 requests/s and 6,000/min per workspace; pages of 100.
INSTANTLY = Capabilities()

#: Sonarly API v1: prospects can only be moved between audiences (no add, no remove, no owners).
SONARLY = Capabilities(
    add=False,
    move=True,
    assign=False,
    remove=False,
    move_sets_owner=False,
    requests_per_second=10.0,  # undocumented: a conservative default
    requests_per_minute=600.0,
)


def capabilities_for(api: str, max_rate: float | None = None) -> Capabilities:
    """The capabilities of the vendor API `api` ("instantly" or "sonarly"), with leadsync's own request rate
    capped at `max_rate` per second (and 60 times that a minute) when given: a share of the vendor's limit."""
    caps = SONARLY if api == "sonarly" else INSTANTLY
    if max_rate is None:
        return caps
    # whole requests per window, rounded down, as the limiter counts them: never faster than asked, and the
    # plan's predicted time is the limiter's (1.5/s runs at 1 a second, 90 a minute)
    return replace(caps, requests_per_second=min(caps.requests_per_second, max(1, math.floor(max_rate))),
                   requests_per_minute=min(caps.requests_per_minute, math.floor(max_rate * 60)))  # fmt: skip
