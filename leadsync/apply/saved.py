"""`apply PLANFILE` carries out the saved plan and nothing else.

Round one sends the saved plan's operations as they are. Every later round re-plans from the spec against a fresh
read, as any apply does (so its rules still hold: a lead that became protected meanwhile is held), and what that
residual asks for must be work the saved plan has: the same change (op, from, to, owner) of the same record (or,
for an add, person). Changes are compared per record, not per call, so a residual chunked differently still
matches. One allowance: an assign that finishes a saved move or add of that person into that destination, with
that owner (a record that arrived without its owner). Anything else (the spec edited since the plan, someone
else's change in the workspace) stops the apply before it is sent: `PlanDiverged`.

The other way round too: a change of the saved plan not yet seen in the workspace must still be in the residual;
one a fresh plan no longer makes (the spec edited, a lead held meanwhile) would never be carried out, so the apply
stops there as well, rather than call a plan "converged" that did not happen. Not while a place is unreadable
(being populated): its records cannot be seen, and the apply is not converged anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import assert_never

from leadsync.errors import PlanDiverged
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, Plan, PlanPolicy, RemoveOp
from leadsync.snapshot import ResolvedWorkspace
from leadsync.state import RemoteLead

#: what is done to one record: (op, from, to, owner); an add has no `from`, a remove no `to`
Change = tuple[str, str | None, str | None, str | None]
#: the record (person key, lead id; None for an add) and its change
Item = tuple[str, str | None, Change]
SHOWN = 3  # example changes an error names

__all__ = ["PlanDiverged", "SavedPlanGuard", "done", "items", "untrusted"]


def untrusted(saved: Plan, *, provider: str, api: str, policy: PlanPolicy, workspace: ResolvedWorkspace) -> str | None:
    """What a saved plan says that the spec and a fresh read contradict, or None (issue #25: a saved plan is checked,
    not trusted): its workspace and vendor must be the spec's, its policy the spec's (a plan made with
    `protect: []` must not move what the spec protects), and every lead id it names must be, in the fresh read,
    the record of the key named beside it."""
    if (saved.workspace.provider, saved.workspace.api) != (provider, api):
        return (
            f"it is for a {saved.workspace.provider} workspace ({saved.workspace.api} API), and the spec's is a "
            f"{provider} workspace ({api} API)"
        )
    if saved.workspace.id != workspace.workspace_id:
        return f"it is for workspace {saved.workspace.id!r}, and the spec's is {workspace.workspace_id!r}"
    if saved.policy != policy:
        differs = [
            f"{name}: {getattr(saved.policy, name)!r} in the plan, {getattr(policy, name)!r} in the spec"
            for name in ("unmanaged", "claim", "protect")
            if getattr(saved.policy, name) != getattr(policy, name)
        ]
        return f"its policy is not the spec's ({'; '.join(differs)})"
    key_of = {record.id: record.key for record in workspace.remote}
    for op in saved.operations:
        if isinstance(op, AddOp):
            continue
        for lead_id, key in zip(op.lead_ids, op.keys, strict=True):
            found = key_of.get(lead_id)
            if found is not None and found != key:
                return f"it names lead {lead_id} as {key}, and the workspace's record {lead_id} is {found}"
    return None


def items(operations: Iterable[Operation]) -> Iterator[Item]:
    """Every record-level change the operations make."""
    for op in operations:
        match op:
            case MoveOp():
                # a person who already has the owner a move sets only rides along (the planner folds such keepers
                # into owner-setting calls): for them the change is a plain move, however a round groups them
                kept = op.previous_owners if len(op.previous_owners) == len(op.keys) else (None,) * len(op.keys)
                for ident, key, previous in zip(op.lead_ids, op.keys, kept, strict=True):
                    owner = None if previous is not None and previous == op.owner else op.owner
                    yield key, ident, ("move", op.source, op.target, owner)
            case AssignOp():
                for ident, key in zip(op.lead_ids, op.keys, strict=True):
                    yield key, ident, ("assign", op.destination, op.destination, op.owner)
            case AddOp():
                for lead in op.leads:
                    yield lead.key, None, ("add", None, op.destination, lead.owner)
            case RemoveOp():
                for ident, key in zip(op.lead_ids, op.keys, strict=True):
                    yield key, ident, ("remove", op.destination, None, None)
            case _:
                assert_never(op)


def describe(item: Item) -> str:
    key, _, (op, source, target, owner) = item
    if op == "move":
        return f"{key}: move {source} -> {target}" + (f", owner {owner}" if owner else "")
    if op == "assign":
        return f"{key}: owner -> {owner} in {target}"
    if op == "add":
        return f"{key}: add to {target}" + (f", owner {owner}" if owner else "")
    return f"{key}: remove from {source}"


def _changes(n: int) -> str:
    return f"{n} change{'s' if n != 1 else ''}"


def _examples(found: list[Item]) -> str:
    shown = "; ".join(describe(item) for item in found[:SHOWN])
    return shown + (f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else "")


def _ends(found: Iterable[Item]) -> set[tuple[str, str | None, str | None]]:
    """(person, destination, owner) that moves, adds and assigns with an owner leave a record in."""
    return {(key, change[2], change[3]) for key, _, change in found if change[0] != "remove" and change[3] is not None}


class SavedPlanGuard:
    """Turns each round's fresh residual into what may be sent of the saved plan, or raises PlanDiverged."""

    def __init__(self, saved: Plan) -> None:
        self.saved = saved
        self._items = list(items(saved.operations))
        self._known = set(self._items)
        self._ends = _ends(self._items)
        self._adds = {
            (op.destination, lead.key): lead for op in saved.operations if isinstance(op, AddOp) for lead in op.leads
        }

    def _allowed(self, item: Item) -> bool:
        key, _, change = item
        return item in self._known or (change[0] == "assign" and (key, change[2], change[3]) in self._ends)

    def __call__(self, residual: Plan, workspace: ResolvedWorkspace | None = None, busy: bool = False) -> Plan:
        """The residual as the saved plan has it (an add's lead as saved: fields, route), when it asks only for
        saved work and, given the `workspace` it was planned from and nothing unreadable, leaves none of it out."""
        found = list(items(residual.operations))
        beyond = [item for item in found if not self._allowed(item)]
        # every saved change shows: only new work is left
        if (
            beyond
            and len(beyond) == len(found)
            and workspace is not None
            and not busy
            and not self._left_out(found, workspace)
        ):
            raise PlanDiverged(
                f"the saved plan was carried out in full, but the spec, its sources or the workspace changed "
                f"since it was made: a fresh plan has {len(beyond)} more {_changes(len(beyond)).split()[1]} "
                f"({_examples(beyond)}); run leadsync plan again to review them"
            )
        if beyond:
            raise PlanDiverged(
                f"the remaining work differs from the saved plan: a fresh plan of the workspace has "
                f"{_changes(len(beyond))} the saved plan does not have ({_examples(beyond)}); nothing "
                "beyond the saved plan was sent; run leadsync plan again"
            )
        if workspace is not None and not busy:
            left_out = self._left_out(found, workspace)
            if left_out:
                raise PlanDiverged(
                    f"the remaining work differs from the saved plan: {_changes(len(left_out))} of it "
                    f"did not happen, and a fresh plan of the workspace no longer makes "
                    f"{'them' if len(left_out) != 1 else 'it'} ({_examples(left_out)}); run leadsync "
                    "plan again"
                )
        return replace(residual, operations=tuple(self._as_saved(op) for op in residual.operations))

    def _left_out(self, found: list[Item], workspace: ResolvedWorkspace) -> list[Item]:
        """Saved changes the workspace does not show and the residual does not make (in any allowed form)."""
        wanted, ends = set(found), _ends(item for item in found if item[2][0] == "assign")
        records = {record.id: record for record in workspace.remote}
        placed: dict[tuple[str | None, str], list[RemoteLead]] = {}
        for record in workspace.remote:
            placed.setdefault((record.key, record.destination), []).append(record)
        return [
            item
            for item in self._items
            if item not in wanted and (item[0], item[2][2], item[2][3]) not in ends and not done(item, records, placed)
        ]

    def _as_saved(self, op: Operation) -> Operation:
        if isinstance(op, AddOp):
            return replace(op, leads=tuple(self._adds.get((op.destination, lead.key), lead) for lead in op.leads))
        return op


def done(item: Item, records: dict[str, RemoteLead], placed: dict[tuple[str | None, str], list[RemoteLead]]) -> bool:
    """Whether the workspace shows the change (records by id; by (person, destination))."""
    key, ident, (op, source, target, owner) = item
    if op == "add":
        return any(owner is None or r.owner == owner for r in placed.get((key, str(target)), ()))
    record = records.get(str(ident))
    if op == "remove":
        return record is None or record.destination != source
    return record is not None and record.destination == target and (owner is None or record.owner == owner)
