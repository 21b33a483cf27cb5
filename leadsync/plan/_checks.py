"""What a plan must mean, beyond its shape: the checks `load_plan` runs after the schema.

A plan file is an input like any other (edited by hand, merged badly, made by another tool), and apply
carries it out. So a loaded plan must not write outside its managed destinations, must run in apply
order, must name each lead once, and its counts (summary, calls, per-destination stats, which the safety
rule reads) must be those of its operations: a plan cannot under-report what it changes to pass the
safety check. Each problem is one short sentence; the caller names the file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import assert_never

from leadsync.plan._model import OP_ORDER, AddOp, AssignOp, MoveOp, RemoveOp
from leadsync.plan._plan import Plan
from leadsync.state import Claim, Unmanaged

_KINDS = ("move", "add", "assign", "remove")


def _first_duplicate(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def plan_problems(plan: Plan, *, declared_safe: bool | None = None) -> list[str]:
    """Every way `plan` contradicts itself (empty when it is consistent). `declared_safe` is the document's
    safety.safe, which the Plan value derives rather than stores."""
    problems: list[str] = []
    managed = frozenset(plan.managed)
    problems += _operations(plan, managed)
    problems += _counts(plan, managed)
    problems += _safety(plan, managed, declared_safe)
    problems += _pools(plan)
    return problems


def _pools(plan: Plan) -> list[str]:
    """Each pool names a member once, with a finite weight: shares and deviations are computed from these."""
    problems: list[str] = []
    for pool in plan.pools:
        twice = _first_duplicate(m.owner for m in pool.members)
        if twice is not None:
            problems.append(f"pools.{pool.name} lists member {twice!r} more than once")
        if any(not math.isfinite(m.weight) for m in pool.members):
            problems.append(f"pools.{pool.name} has a weight that is not a finite number")
    return problems


def _operations(plan: Plan, managed: frozenset[str]) -> list[str]:
    problems: list[str] = []
    policy = plan.policy
    rank = 0
    for i, op in enumerate(plan.operations):
        where = f"operations/{i} ({op.op})"
        if OP_ORDER[op.op] < rank:
            problems.append(f"{where} comes after a later kind: apply order is moves, adds, assigns, removes")
        rank = max(rank, OP_ORDER[op.op])
        if isinstance(op, MoveOp):
            if op.target not in managed:
                problems.append(f"{where} moves into {op.target!r}, which is not a managed destination")
            if op.source not in managed and policy.claim is not Claim.MOVE:
                problems.append(f"{where} moves out of {op.source!r}, which is not managed (only under claim: move)")
            if op.source == op.target:
                problems.append(f"{where} moves from {op.source!r} to itself")
        elif op.destination not in managed:
            problems.append(f"{where} writes into {op.destination!r}, which is not a managed destination")
        if isinstance(op, RemoveOp) and policy.unmanaged is not Unmanaged.REMOVE:
            problems.append(f"{where} removes leads, which only unmanaged: remove allows")
        if isinstance(op, AddOp):
            if any(not lead.key for lead in op.leads):
                problems.append(f"{where} adds a lead with an empty key")
            continue
        if len(op.lead_ids) != len(op.keys):
            problems.append(f"{where} needs as many keys as lead_ids ({len(op.keys)} keys, {len(op.lead_ids)} ids)")
        if isinstance(op, (MoveOp, AssignOp)) and op.previous_owners and len(op.previous_owners) != len(op.keys):
            problems.append(f"{where} needs as many previous_owners as keys")
        if "" in op.lead_ids or "" in op.keys:
            problems.append(f"{where} has an empty lead id or key")
    problems += _identities(plan)
    return problems


def _identities(plan: Plan) -> list[str]:
    """Each lead id at most once per kind of operation; removed and held records in no other operation."""
    problems: list[str] = []
    ids: dict[str, set[str]] = {kind: set() for kind in _KINDS}
    for kind in ("move", "assign", "remove"):
        listed = [i for op in plan.operations if op.op == kind for i in op.lead_ids]  # type: ignore[union-attr]
        ids[kind] = set(listed)
        if len(ids[kind]) != len(listed):
            problems.append(f"lead id {_first_duplicate(listed)!r} is in more than one {kind}")
    added = [lead.key for op in plan.operations if isinstance(op, AddOp) for lead in op.leads]
    if len(set(added)) != len(added):
        problems.append(f"{_first_duplicate(added)!r} is added more than once")
    written = {k for op in plan.operations if not isinstance(op, AddOp) for k in op.keys}
    both = written.intersection(added)
    if both:
        problems.append(f"{min(both)!r} is added and also moved, re-owned or removed")
    removed_and_more = ids["remove"] & (ids["move"] | ids["assign"])
    if removed_and_more:
        problems.append(f"lead id {min(removed_and_more)!r} is removed and also moved or re-owned")
    held = [h.lead_id for h in plan.held]
    if "" in held or any(not h.key for h in plan.held):
        problems.append("a held entry has an empty lead id or key")
    touched = ids["move"] | ids["assign"] | ids["remove"]
    held_and_touched = touched.intersection(held)
    if held_and_touched:
        problems.append(f"lead id {min(held_and_touched)!r} is held and also in an operation")
    return problems


def _counts(plan: Plan, managed: frozenset[str]) -> list[str]:
    """summary, calls, per-destination stats and owner load, recounted from the operations."""
    problems: list[str] = []
    ops, s, c = plan.operations, plan.summary, plan.calls
    moved = {k for op in ops if isinstance(op, MoveOp) for k in op.keys}
    expected = {
        "add": sum(len(op.leads) for op in ops if isinstance(op, AddOp)),
        "move": len(moved),
        "assign": len({k for op in ops if isinstance(op, AssignOp) for k in op.keys} - moved),
        "remove": len({k for op in ops if isinstance(op, RemoveOp) for k in op.keys}),
        "held": len({h.key for h in plan.held}),
        "unrouted": len(plan.unrouted),
        "conflicts": len({x.key for x in plan.conflicts if x.key is not None}),
        "unsupported": len({u.key for u in plan.unsupported}),
    }
    for name, count in expected.items():
        if getattr(s, name) != count:
            problems.append(f"summary.{name} is {getattr(s, name)}, but the plan lists {count}")
    if c.writes != len(ops):
        problems.append(f"calls.writes is {c.writes}, but there are {len(ops)} operations")
    if c.lower_bound > c.writes:
        problems.append(f"calls.lower_bound {c.lower_bound} is more than calls.writes {c.writes}")
    if sum(c.by_endpoint.values()) != c.writes + c.reads:
        problems.append("calls.by_endpoint does not add up to calls.writes + calls.reads")
    problems += _stats(plan, managed)
    return problems


def _stats(plan: Plan, managed: frozenset[str]) -> list[str]:
    problems: list[str] = []
    stats = {d.name: d for d in plan.destinations}
    if set(stats) != managed:
        problems.append("destinations must list exactly the managed destinations")
    tally: dict[str, Counter[str]] = {name: Counter() for name in stats}
    moved_ids: set[str] = set()
    arriving = 0  # records new to managed destinations: adds and claimed moves, minus removes
    for op in plan.operations:
        match op:
            case MoveOp():
                moved_ids.update(op.lead_ids)
                if op.target in tally:
                    tally[op.target]["move_in"] += len(op.lead_ids)
                if op.source in tally:
                    tally[op.source]["move_out"] += len(op.lead_ids)
                else:
                    arriving += len(op.lead_ids)
            case AddOp():
                arriving += len(op.leads)
                if op.destination in tally:
                    tally[op.destination]["add"] += len(op.leads)
            case RemoveOp():
                arriving -= len(op.lead_ids)
                if op.destination in tally:
                    tally[op.destination]["remove"] += len(op.lead_ids)
            case AssignOp():
                pass  # counted below, once every move is known: a moved lead's owner change is part of its move
            case _:
                assert_never(op)
    for op in plan.operations:
        if isinstance(op, AssignOp) and op.destination in tally:
            tally[op.destination]["reassign"] += sum(1 for i in op.lead_ids if i not in moved_ids)
    for name, d in sorted(stats.items()):
        t = tally[name]
        for field in ("add", "move_in", "move_out", "reassign", "remove"):
            if getattr(d, field) != t[field]:
                problems.append(f"destinations.{name}.{field} is {getattr(d, field)}, the operations make {t[field]}")
        changed = d.move_out + d.reassign + d.remove  # existing records changed; arrivals are growth
        if d.changed != changed:
            problems.append(f"destinations.{name}.changed is {d.changed}, not {changed}")
        if d.after != d.before - d.move_out - d.remove + d.move_in + d.add:
            problems.append(f"destinations.{name}.after does not follow from before and the changes")
    owners = {o.owner for o in plan.owners}
    named: set[str] = set()
    for op in plan.operations:
        if isinstance(op, AddOp):
            named.update(lead.owner for lead in op.leads if lead.owner is not None)
        elif isinstance(op, (MoveOp, AssignOp)) and op.owner is not None:
            named.add(op.owner)
    unknown = {owner for owner in named if owner not in owners}
    if unknown:
        problems.append(f"owner {min(unknown)!r} gets leads but is not in the owner load")
    if sum(o.after - o.before for o in plan.owners) != arriving:
        problems.append("the owner load does not change by the leads the operations add, claim and remove")
    return problems


def _safety(plan: Plan, managed: frozenset[str], declared_safe: bool | None) -> list[str]:
    problems: list[str] = []
    safety = plan.safety
    if declared_safe is not None and declared_safe != (not safety.unsafe):
        problems.append(f"safety.safe is {str(declared_safe).lower()} but safety.unsafe lists {list(safety.unsafe)}")
    breaking = []
    for d in plan.destinations:
        unsafe = d.before >= safety.min_destination_size and d.changed / max(d.before, 1) > safety.max_change_ratio
        if d.unsafe != unsafe:
            problems.append(f"destinations.{d.name}.unsafe is {str(d.unsafe).lower()}, the safety rule says otherwise")
        if unsafe:
            breaking.append(d.name)
    if list(safety.unsafe) != sorted(breaking):
        problems.append(f"safety.unsafe lists {list(safety.unsafe)}, the safety rule finds {sorted(breaking)}")
    return problems
