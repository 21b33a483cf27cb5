"""The pure planner: (desired state, remote state, policy, capabilities) -> Plan. No I/O, no clock, no randomness.

Identity first: records are indexed by lead key, then each person's one record in a managed destination is
compared with where routing wants them (destination, then owner). The hot path is one dict lookup and two
comparisons per person on plain attributes; everything unusual goes to `_Planner._person`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from operator import attrgetter
from typing import Any

from leadsync._gc import paused_gc
from leadsync.plan._batch import Changes, build_operations
from leadsync.plan._bound import Needs, lower_bound
from leadsync.plan._calls import predict_calls
from leadsync.plan._fingerprint import dated, remote_fingerprint
from leadsync.plan._index import RemoteIndex, index_remote
from leadsync.plan._model import (
    AddLead,
    Held,
    Names,
    OwnerLoad,
    PlanContext,
    PlanPolicy,
    PlanWarning,
    SpecRef,
    Summary,
    Unsupported,
    Workspace,
    lead_fields,
)
from leadsync.plan._names import mentioned_names
from leadsync.plan._plan import Plan
from leadsync.plan._pools import PoolTally
from leadsync.plan._safety import ADD, HELD, MOVE_IN, MOVE_OUT, REASSIGN, REMOVE, TALLY_SIZE, destination_stats
from leadsync.state import (
    Capabilities,
    Claim,
    Conflict,
    ConflictReason,
    DesiredLead,
    DesiredState,
    Policy,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)


def make_plan(desired: DesiredState, remote: ResolvedWorkspace, policy: Policy, context: PlanContext) -> Plan:
    """The plan that turns `remote` into `desired` under `policy`, within what `context.capabilities` allow.

    `desired` is routing's outcome: where each person should be, who no route matches (`unrouted`: reported,
    never touched) and whom routing could not place (its `conflicts`). `remote` is the workspace resolved
    against the spec: its records, the `managed` destination names that resolved, and the conflicts found while
    resolving (a conflict with key None and a `subject` blocks that destination or owner; its `refs` are places
    that destination may name: a person with a record there is a conflict, never touched). `context` is what the
    plan is for and told beside them (`PlanContext`): its `pools` make the plan report each pool's load against
    its weights (`Plan.pools`); its `names` (default: the workspace's own, `remote.place_names` and
    `remote.member_emails`) are for display only; `at` (an ISO date) is the day owners' absences were read at,
    kept in the plan and its fingerprint. Each input is read once (iterators will do).
    """
    records = remote.remote if isinstance(remote.remote, (list, tuple)) else list(remote.remote)
    names = context.names if context.names is not None else Names(remote.place_names, remote.member_emails)
    with paused_gc():
        managed_names = frozenset(remote.managed)
        index = index_remote(records, managed_names)
        conflicts = (*remote.conflicts, *desired.conflicts)
        planner = _Planner(managed_names, policy, context.capabilities, conflicts, index, PoolTally(context.pools))
        unrouted_keys = frozenset(desired.unrouted)
        planner.plan(desired.leads, unrouted_keys)
        version = context.leadsync_version or _version()
        plan = planner.result(unrouted_keys, context.spec, context.workspace, version)
        fingerprint = remote_fingerprint(
            records, managed=planner.managed, outside_keys=plan.touched_keys(), protect=plan.policy.protect
        )
    shown = mentioned_names(plan, names.places, names.members) if names else Names()
    return replace(plan, fingerprint=dated(fingerprint, context.at), names=shown, at=context.at)


def _version() -> str:
    from leadsync import __version__  # late: leadsync/__init__ may one day import the planner

    return __version__


def _protected(record: RemoteLead, protect: frozenset[str]) -> bool:
    return bool(record.statuses) and not protect.isdisjoint(record.statuses)


def _refs(records: Iterable[RemoteLead]) -> str:
    return ", ".join(sorted(f"{r.destination} ({r.id})" for r in records))


def _wish_order(d: DesiredLead) -> tuple[str, str]:
    """Which of several equal wishes for one person (same destination and owner) the plan uses: the smallest
    route, then the smallest fields in canonical JSON, so that input order never shows in the plan."""
    fields = json.dumps(lead_fields(d.fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return d.route, fields


class _Planner:
    """One planning run's working state. Not reused."""

    def __init__(
        self,
        managed: frozenset[str],
        policy: Policy,
        capabilities: Capabilities,
        conflicts: tuple[Conflict, ...],
        index: RemoteIndex,
        pools: PoolTally | None = None,
    ) -> None:
        self.managed = managed
        self.single, self.multi, self.outside = index.single, index.multi, index.outside
        self.sizes, self.owners_before, self.outside_count = index.sizes, index.owners, index.outside_count
        self.policy = policy
        self.caps = capabilities
        self.protect = frozenset(policy.protect)
        self.changes = Changes()
        self.needs = Needs()  # the same changes, one fact per person, for the independent lower bound
        self.conflicts: set[Conflict] = set(conflicts)
        self.conflict_keys = frozenset(c.key for c in conflicts if c.key is not None)
        self.blocked_destinations = {
            c.subject: c for c in conflicts if c.key is None and c.subject and c.reason.blocks_destination
        }
        self.blocked_owners = {c.subject: c for c in conflicts if c.key is None and c.subject and c.reason.blocks_owner}
        # places an unresolved spec destination may name: whoever has a record there is not ours to move
        self.blocked_refs: dict[str, Conflict] = {}
        for c in sorted(self.blocked_destinations.values(), key=lambda c: (c.subject or "", c.detail)):
            for ref in c.refs:
                self.blocked_refs.setdefault(ref, c)
        self.usable = managed - self.blocked_destinations.keys()
        self.held: list[Held] = []
        self.held_keys: set[str] = set()
        self.unsupported: dict[tuple[str, str], Unsupported] = {}
        self.warnings: list[PlanWarning] = []
        self.tallies: dict[str, list[int]] = {name: [0] * TALLY_SIZE for name in managed}
        self.owner_delta: dict[str | None, int] = {}
        self.unchanged = self.moved = self.added = self.assigned = 0
        self.removed_keys: set[str] = set()
        self.pools = pools or PoolTally(())

    # -- the desired side ------------------------------------------------------------------------------------

    def plan(self, desired: Iterable[DesiredLead], unrouted: frozenset[str]) -> None:
        wanted = self._wanted(desired)
        single, multi, blocked = self.single, self.multi, self.blocked_destinations
        self.pools.note(wanted, single, multi, self.outside, self.policy.claim is Claim.MOVE)
        for key in self.conflict_keys:  # a conflict found while resolving: this person is left alone
            wanted.pop(key, None)
            single.pop(key, None)
            multi.pop(key, None)
        if self.blocked_refs:
            self._blocked_people(wanted, unrouted)
        unchanged = 0
        person = self._person
        for key, d in wanted.items():
            r = single.pop(key, None)
            # the hot path: one record, already in place, owner right or not managed
            if r is not None and r.destination == d.destination:
                owner = d.owner
                if (
                    (owner is None or owner == r.owner)
                    and (not multi or key not in multi)
                    and (not blocked or d.destination not in blocked)
                ):
                    unchanged += 1
                    continue
            person(d, r)
        self.unchanged += unchanged
        if self.policy.unmanaged is not Unmanaged.KEEP:
            for key, r in single.items():  # what is left: people no route wants
                if key in unrouted:  # reported as unrouted, never touched
                    continue
                for record in sorted(multi.get(key) or [r], key=lambda x: x.id):
                    self._unwanted(key, record)

    def _wanted(self, desired: Iterable[DesiredLead]) -> dict[str, DesiredLead]:
        """Desired state by key. Wishes for one person that differ in destination or owner are a conflict;
        otherwise one of them is used, the same one whatever the input order (`_wish_order`)."""
        leads = desired if isinstance(desired, (list, tuple)) else list(desired)
        wanted = dict(zip(map(attrgetter("key"), leads), leads, strict=True))  # in C: a million leads
        if len(wanted) == len(leads):
            return wanted
        wishes: dict[str, list[DesiredLead]] = {}
        for d in leads:
            wishes.setdefault(d.key, []).append(d)
        for key, found in wishes.items():
            if len(found) < 2:
                continue
            if len({(w.destination, w.owner) for w in found}) == 1:
                wanted[key] = min(found, key=_wish_order)
                continue
            del wanted[key]
            self.single.pop(key, None)
            self.multi.pop(key, None)
            detail = "routing wants this person in several ways: " + "; ".join(
                sorted({f"{w.destination} (owner {w.owner}, route {w.route})" for w in found})
            )
            self.conflicts.add(Conflict(key, ConflictReason.DUPLICATE_KEY, detail))
        return wanted

    def _blocked_people(self, wanted: dict[str, DesiredLead], unrouted: frozenset[str]) -> None:
        """People with a record in a place an unresolved spec destination names: conflicts, left alone.

        Such a record is not "outside": the spec claims that place, it just could not tell which one it is
        (ambiguous), find it, or read it yet (a Sonarly audience still populating). Moving it under claim: move,
        adding a second record, or removing the person's other records would all be guesses.
        """
        blocked = self.blocked_refs
        for key, records in self.outside.items():
            there = [r for r in records if r.destination in blocked]
            if not there:
                continue
            d = wanted.pop(key, None)
            mine = self.single.pop(key, None)
            self.multi.pop(key, None)
            if d is None and (mine is None or self.policy.unmanaged is Unmanaged.KEEP or key in unrouted):
                continue  # nothing would be done about this person anyway: nothing to report
            blocker = blocked[min(r.destination for r in there)]
            detail = (
                f"has a record in {_refs(there)}, which spec destination {blocker.subject} may mean "
                f"({blocker.detail}): left alone until it resolves"
            )
            self.conflicts.add(Conflict(key, blocker.reason, detail, blocker.subject))

    def _person(self, d: DesiredLead, first: RemoteLead | None) -> None:
        key = d.key
        records = self.multi.pop(key, None) or ([first] if first is not None else [])
        if d.destination not in self.usable:
            blocker = self.blocked_destinations.get(d.destination)
            reason = blocker.reason if blocker else ConflictReason.UNKNOWN_DESTINATION
            why = blocker.detail if blocker else "not a destination of this workspace"
            self._conflict(d, reason, f"routed to {d.destination}: {why}", d.destination)
        elif d.owner is not None and d.owner in self.blocked_owners:
            blocker = self.blocked_owners[d.owner]
            self._conflict(d, blocker.reason, f"owner {d.owner}: {blocker.detail}", d.owner)
        elif len(records) > 1:
            self._conflict(d, ConflictReason.MULTIPLE_RECORDS, f"records in managed destinations {_refs(records)}")
        elif records:
            self._change(d, records[0])
        else:
            self._claim(d, self.outside.get(key))

    def _claim(self, d: DesiredLead, outside: list[RemoteLead] | None) -> None:
        """A desired person with no record in a managed destination."""
        claim = self.policy.claim
        if not outside:
            self._add(d)
        elif claim is Claim.SKIP:
            where = _refs(outside)
            self._conflict(
                d, ConflictReason.OUTSIDE_ONLY, f"found only outside managed destinations: {where} (claim: skip)"
            )
        elif claim is Claim.ADD:
            # a new record is no touch of the old one, but a protected person (replied, unsubscribed, ...)
            # must not be put into another sequence either
            protected = [r for r in outside if _protected(r, self.protect)]
            for r in protected:
                self._hold(d.key, r, f"add to {d.destination}")
            if not protected:
                self._add(d)
        elif len(outside) > 1:
            self._conflict(
                d,
                ConflictReason.MULTIPLE_RECORDS,
                f"several records outside managed destinations, none to pick for claim: move: {_refs(outside)}",
            )
        else:
            self._change(d, outside[0])

    def _change(self, d: DesiredLead, r: RemoteLead) -> None:
        """Move and/or re-own the one record `r` of a desired person."""
        key, target, owner = d.key, d.destination, d.owner
        move = r.destination != target
        reown = owner is not None and owner != r.owner
        if not move and not reown:
            self.unchanged += 1
            return
        if _protected(r, self.protect):
            change = f"move to {target}" if move else f"reassign to {owner}"
            self._hold(key, r, change + (f" (owner {owner})" if move and reown else ""))
            return
        caps, entry = self.caps, (key, r.id, r.owner)
        if move:
            split = reown and not caps.move_sets_owner  # a move that cannot carry the owner: move, then assign
            if not caps.move:
                self._unsupported(key, target, "the provider cannot move leads")
                return
            if split and not caps.assign:  # all or nothing: never half a change
                self._unsupported(key, target, "the provider cannot set the owner of a lead")
                return
            # assigned_to only when the owner changes: people who keep their owner share one call whoever
            # owns them, and a call that sets an owner carries only people who get that owner
            group = (r.destination, target, owner if reown and caps.move_sets_owner else None)
            self._append(self.changes.moves, group, entry)
            if split:
                self._append(self.changes.assigns, (owner, target), entry)
            self.needs.moves.append((r.destination, target, r.owner, owner))
            source = self.tallies.get(r.destination)
            if source is not None:
                source[MOVE_OUT] += 1
                self._owner(r.owner, -1)
            self.tallies[target][MOVE_IN] += 1
            self._owner(owner if owner is not None else r.owner, 1)
            self.moved += 1
        else:
            if not caps.assign:
                self._unsupported(key, target, "the provider cannot set the owner of a lead")
                return
            self._append(self.changes.assigns, (owner, target), entry)
            self.needs.reassigns.append((target, r.owner, owner))
            self.tallies[target][REASSIGN] += 1
            self._owner(r.owner, -1)
            self._owner(owner, 1)
            self.assigned += 1

    def _add(self, d: DesiredLead) -> None:
        if not self.caps.add:
            self._unsupported(d.key, d.destination, "the provider cannot add leads")
            return
        self.changes.adds.setdefault(d.destination, []).append(AddLead(d.key, d.owner, d.route, lead_fields(d.fields)))
        self.needs.adds.append(d.destination)
        self.tallies[d.destination][ADD] += 1
        self._owner(d.owner, 1)
        self.added += 1

    def _unwanted(self, key: str, r: RemoteLead) -> None:
        """A record in a managed destination that no route wants (`unmanaged: report` or `remove`)."""
        if self.policy.unmanaged is Unmanaged.REPORT:
            message = f"in {r.destination}, but no route wants this lead (unmanaged: report)"
            self.warnings.append(PlanWarning("unmanaged", key, r.destination, r.id, message))
        elif _protected(r, self.protect):
            self._hold(key, r, "remove")
        elif not self.caps.remove:
            self._unsupported(key, r.destination, "the provider cannot remove leads")
        else:
            self._append(self.changes.removes, r.destination, (key, r.id))
            self.needs.removes.append(r.destination)
            self.tallies[r.destination][REMOVE] += 1
            self._owner(r.owner, -1)
            self.removed_keys.add(key)

    # -- bookkeeping -----------------------------------------------------------------------------------------

    @staticmethod
    def _append(groups: dict[Any, list[Any]], group: Any, item: Any) -> None:
        found = groups.get(group)
        if found is None:
            groups[group] = [item]
        else:
            found.append(item)

    def _owner(self, owner: str | None, delta: int) -> None:
        self.owner_delta[owner] = self.owner_delta.get(owner, 0) + delta

    def _conflict(self, d: DesiredLead, reason: ConflictReason, detail: str, subject: str | None = None) -> None:
        self.conflicts.add(Conflict(d.key, reason, detail, subject))

    def _hold(self, key: str, r: RemoteLead, change: str) -> None:
        statuses = tuple(sorted(self.protect.intersection(r.statuses)))
        self.held.append(Held(key, r.id, r.destination, statuses, change))
        self.held_keys.add(key)
        tally = self.tallies.get(r.destination)
        if tally is not None:
            tally[HELD] += 1

    def _unsupported(self, key: str, destination: str, reason: str) -> None:
        self.unsupported.setdefault((key, destination), Unsupported(key, destination, reason))

    # -- the result ------------------------------------------------------------------------------------------

    def result(self, unrouted: frozenset[str], spec: SpecRef, workspace: Workspace, version: str) -> Plan:
        caps = self.caps
        operations = build_operations(self.changes, caps)
        conflicts = tuple(
            sorted(
                self.conflicts,
                key=lambda c: (c.key is not None, c.key or "", c.reason.value, c.subject or "", c.detail),
            )
        )
        unrouted_keys = tuple(sorted(unrouted))
        unsupported = tuple(self.unsupported[k] for k in sorted(self.unsupported))
        stats, safety = destination_stats(self.managed, self.sizes, self.tallies, self.policy)
        summary = Summary(
            add=self.added,
            move=self.moved,
            assign=self.assigned,
            remove=len(self.removed_keys),
            unchanged=self.unchanged,
            held=len(self.held_keys),
            unrouted=len(unrouted_keys),
            conflicts=len({c.key for c in conflicts if c.key is not None}),  # people, like every count here
            unsupported=len({u.key for u in unsupported}),
        )
        calls = predict_calls(
            operations,
            destination_sizes=self.sizes,
            outside_records=self.outside_count,
            capabilities=caps,
            lower_bound=lower_bound(self.needs, caps),
        )
        return Plan(
            leadsync_version=version,
            spec=spec,
            workspace=workspace,
            fingerprint="",
            managed=tuple(sorted(self.managed)),
            summary=summary,
            calls=calls,
            operations=operations,
            held=tuple(sorted(self.held, key=lambda h: (h.key, h.lead_id))),
            conflicts=conflicts,
            unrouted=unrouted_keys,
            unsupported=unsupported,
            warnings=tuple(
                sorted(self.warnings, key=lambda w: (w.kind, w.key or "", w.destination or "", w.lead_id or ""))
            ),
            safety=safety,
            destinations=stats,
            owners=self._owner_loads(),
            policy=PlanPolicy.of(self.policy),
            pools=self.pools.loads(self._unsettled(conflicts, unsupported)) if self.pools.pools else (),
        )

    def _unsettled(self, conflicts: tuple[Conflict, ...], unsupported: tuple[Unsupported, ...]) -> frozenset[str]:
        """The people the plan leaves as they are although routing wants a change: held, conflicts, unsupported."""
        keys = set(self.held_keys)
        keys.update(c.key for c in conflicts if c.key is not None)
        keys.update(u.key for u in unsupported)
        return frozenset(keys)

    def _owner_loads(self) -> tuple[OwnerLoad, ...]:
        owners = set(self.owners_before) | set(self.owner_delta)
        loads = []
        for owner in sorted(owners, key=lambda o: (o is not None, o or "")):
            before = self.owners_before.get(owner, 0)
            after = before + self.owner_delta.get(owner, 0)
            if before or after:
                loads.append(OwnerLoad(owner, before, after))
        return tuple(loads)
