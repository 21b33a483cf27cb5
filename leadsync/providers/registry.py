"""The vendors leadsync speaks to, by name: the one list the rest of leadsync asks (docs/design.md, "Providers").

A vendor is one `Vendor` (`leadsync.providers.vendor`) declared by its own module and listed in `VENDORS`;
a snapshot (the sandbox seed format) is told apart and decoded by the vendor that claims it (`resolve_snapshot`).
Light to import: no HTTP code is loaded until a provider is connected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from leadsync.errors import SnapshotError
from leadsync.providers import instantly_records, sonarly_records
from leadsync.providers.vendor import Vendor
from leadsync.snapshot import read_snapshot
from leadsync.state import DestinationRef, KeyKind, ResolvedWorkspace

#: every vendor by name, in the order choices and messages list them
VENDORS: Mapping[str, Vendor] = {v.name: v for v in (instantly_records.VENDOR, sonarly_records.VENDOR)}
#: the vendor of a snapshot no vendor claims
DEFAULT: Vendor = next(v for v in VENDORS.values() if v.claims is None)


def vendor(name: str) -> Vendor:
    """The vendor named `name` (a spec's `workspace.provider`, `Spec.vendor`, a plan's `workspace.api`)."""
    try:
        return VENDORS[name]
    except KeyError:
        raise KeyError(f"no vendor {name!r}: leadsync knows {', '.join(VENDORS)}") from None


def vendor_names() -> tuple[str, ...]:
    """The vendors' names, as `--vendor` and the spec's schema offer them."""
    return tuple(VENDORS)


def vendor_of_key(key_kind: KeyKind) -> Vendor:
    """The vendor whose people are identified by `key_kind` (a sandbox speaks the API its destinations imply)."""
    return next(v for v in VENDORS.values() if v.key_kind is key_kind)


def vendor_of_snapshot(data: Mapping[str, Any]) -> Vendor:
    """The vendor a snapshot is of: the one that claims it, else the default."""
    return next((v for v in VENDORS.values() if v.claims is not None and v.claims(data)), DEFAULT)


def resolve_snapshot(
    data: Mapping[str, Any],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    key_kind: KeyKind,
    account_group: str | None = None,
    source: str = "snapshot",
) -> ResolvedWorkspace:
    """Remote state for a spec from snapshot `data`, decoded by the vendor it is of, which must be the one whose
    people are keyed by `key_kind`."""
    found = vendor_of_snapshot(data)
    if found.key_kind is not key_kind:
        raise SnapshotError(f"{source}: {found.snapshot_name} cannot serve a workspace keyed by {key_kind.value}")
    return found.decode(data, destinations=destinations, owners=owners, account_group=account_group, source=source)


def load_snapshot(
    path: str | os.PathLike[str],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    key_kind: KeyKind,
    account_group: str | None = None,
) -> ResolvedWorkspace:
    """`read_snapshot` then `resolve_snapshot`, errors naming the file."""
    return resolve_snapshot(
        read_snapshot(path),
        destinations=destinations,
        owners=owners,
        key_kind=key_kind,
        account_group=account_group,
        source=os.fspath(path),
    )
