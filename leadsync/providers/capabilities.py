"""What each vendor's API can do and how much per call (reference/README.md), as planner input: each vendor's
module declares its own (`Vendor.capabilities`); these names are kept for the callers that ask for them."""

from __future__ import annotations

from leadsync.providers.instantly_records import CAPABILITIES as INSTANTLY
from leadsync.providers.registry import vendor
from leadsync.providers.sonarly_records import CAPABILITIES as SONARLY
from leadsync.state import Capabilities

__all__ = ["INSTANTLY", "SONARLY", "capabilities_for"]


def capabilities_for(api: str, max_rate: float | None = None) -> Capabilities:
    """The capabilities of the vendor API `api` (a registry name), with leadsync's own request rate capped at
    `max_rate` per second (and 60 times that a minute) when given: a share of the vendor's limit."""
    return vendor(api).capped(max_rate)
