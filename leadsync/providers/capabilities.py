"""What each vendor's API can do and how much per call (reference/README.md), as planner input."""

from __future__ import annotations

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


def capabilities_for(api: str) -> Capabilities:
    """The capabilities of the vendor API `api` ("instantly" or "sonarly")."""
    return SONARLY if api == "sonarly" else INSTANTLY
