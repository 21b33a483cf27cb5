"""Vendors behind a narrow interface (docs/design.md, "Providers: the vendor interface").

The registry (`VENDORS`, `vendor(name)`) holds one `Vendor` per vendor: its capabilities and call model as data,
its destination kinds and settings, the decoding of its snapshots, and the factory of its live `Provider`
(`leadsync.providers.base`). Importing this package loads no HTTP code. The remote state a provider reads into
(`DestinationRef`, `ResolvedWorkspace`) is `leadsync.state`'s, named here too.
"""

from leadsync.providers.capabilities import INSTANTLY, SONARLY, capabilities_for
from leadsync.providers.registry import (
    DEFAULT,
    VENDORS,
    load_snapshot,
    resolve_snapshot,
    vendor,
    vendor_names,
    vendor_of_key,
    vendor_of_snapshot,
)
from leadsync.providers.stats import CallStats
from leadsync.providers.vendor import Vendor
from leadsync.snapshot import read_snapshot
from leadsync.state import DestinationRef, ResolvedWorkspace

__all__ = [
    "DEFAULT",
    "INSTANTLY",
    "SONARLY",
    "VENDORS",
    "CallStats",
    "DestinationRef",
    "ResolvedWorkspace",
    "Vendor",
    "capabilities_for",
    "load_snapshot",
    "read_snapshot",
    "resolve_snapshot",
    "vendor",
    "vendor_names",
    "vendor_of_key",
    "vendor_of_snapshot",
]
