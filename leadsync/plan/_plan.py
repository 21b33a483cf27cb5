"""The Plan value: everything the plan document holds, with the few questions callers ask of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from leadsync.errors import UnsafePlanError
from leadsync.plan._fingerprint import dated, remote_fingerprint
from leadsync.plan._model import (
    Calls,
    DestinationStats,
    Held,
    Names,
    Operation,
    OwnerLoad,
    PlanPolicy,
    PlanWarning,
    PoolLoad,
    Safety,
    SpecRef,
    Summary,
    Unsupported,
    Workspace,
)
from leadsync.plan._safety import unsafe_message
from leadsync.state import Conflict, RemoteLead

FORMAT_VERSION = 2  # 2: destinations[].changed and ratio count existing records only (issue #11)


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan: the operations, in apply order, and the facts and verdicts around them. Frozen and sorted."""

    leadsync_version: str
    spec: SpecRef
    workspace: Workspace
    fingerprint: str
    managed: tuple[str, ...]
    summary: Summary
    calls: Calls
    operations: tuple[Operation, ...]
    held: tuple[Held, ...]
    conflicts: tuple[Conflict, ...]
    unrouted: tuple[str, ...]
    unsupported: tuple[Unsupported, ...]
    warnings: tuple[PlanWarning, ...]
    safety: Safety
    destinations: tuple[DestinationStats, ...]
    owners: tuple[OwnerLoad, ...]
    policy: PlanPolicy = field(default_factory=PlanPolicy)
    format_version: int = FORMAT_VERSION
    #: each spec pool's members before and after, next to their weights (empty: the planner was given none)
    pools: tuple[PoolLoad, ...] = ()
    #: the vendor's names of the outside places and unnamed members the plan mentions by id (display only)
    names: Names = field(default_factory=Names)
    #: the date owners' absences were read at (`plan --at`, ISO), when the spec has any; part of the fingerprint
    at: str | None = None

    @property
    def has_changes(self) -> bool:
        """True when applying the plan would write anything."""
        return bool(self.operations)

    def raise_if_unsafe(self, force: bool = False) -> None:
        """Raise UnsafePlanError when a destination changes more than the policy allows, unless `force`."""
        if self.safety.unsafe and not force:
            raise UnsafePlanError(unsafe_message(self.destinations, self.safety))

    def touched_keys(self) -> frozenset[str]:
        """Every person the plan does or refuses something about: whose outside records the fingerprint covers."""
        keys: set[str] = set()
        for op in self.operations:
            keys.update(op.keys)
        keys.update(h.key for h in self.held)
        keys.update(c.key for c in self.conflicts if c.key is not None)
        keys.update(u.key for u in self.unsupported)
        return frozenset(keys)

    def is_stale(self, remote: Iterable[RemoteLead]) -> bool:
        """True when `remote` (fetched now) differs from the facts this plan was made from."""
        now = remote_fingerprint(
            remote, managed=self.managed, outside_keys=self.touched_keys(), protect=self.policy.protect
        )
        return dated(now, self.at) != self.fingerprint

    def to_document(self) -> dict[str, Any]:
        """The plan document (docs/design.md section 3) as plain JSON data."""
        from leadsync.plan._document import plan_to_document

        return plan_to_document(self)

    def to_json(self) -> str:
        """The canonical JSON text: sorted keys, compact, UTF-8 safe, one trailing newline; byte-stable."""
        from leadsync.plan._document import dump_plan

        return dump_plan(self)
