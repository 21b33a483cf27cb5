"""Vendors behind a narrow interface. For now: what each vendor's API can do, as data the planner reads."""

from leadsync.providers.capabilities import INSTANTLY, SONARLY, capabilities_for

__all__ = ["INSTANTLY", "SONARLY", "capabilities_for"]
