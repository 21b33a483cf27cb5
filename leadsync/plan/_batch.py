"""From the changes people need to API calls: batching, and the lower bound it must meet.

The planner first records *changes* (who needs to be moved, added, re-owned, removed, grouped by what a
single call can share); `build_operations` turns them into calls, and `lower_bound` counts the fewest calls
those changes can take without looking at the calls. A test holds them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from leadsync.plan._model import AddLead, AddOp, AssignOp, MoveOp, Operation, RemoveOp
from leadsync.state import Capabilities

T = TypeVar("T")

#: (source, target, owner to set or None), (owner, destination), destination
MoveGroup = tuple[str, str, "str | None"]
AssignGroup = tuple[str, str]
Pair = tuple[str, str]  # (key, lead id): sorting pairs sorts by person first, so ids follow keys


class Changes:
    """What people need, grouped by what one call can carry. Filled by the planner, read by both consumers.

    - moves: one call carries one source, one target and one `assigned_to` (or none)
    - adds: one call carries one destination; every lead has its own owner, so owners never split a call
    - assigns: one call carries one owner, filtered to one destination
    - removes: one call carries one destination, always with ids
    """

    __slots__ = ("adds", "assigns", "moves", "removes")

    def __init__(self) -> None:
        self.moves: dict[MoveGroup, list[Pair]] = {}
        self.adds: dict[str, list[AddLead]] = {}
        self.assigns: dict[AssignGroup, list[Pair]] = {}
        self.removes: dict[str, list[Pair]] = {}


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _calls_for(count: int, chunk: int) -> int:
    chunk = max(1, chunk)
    return -(-count // chunk)


def _owner_order(owner: str | None) -> tuple[bool, str]:
    # None (no owner to set) sorts first and never compares with a string
    return (owner is not None, owner or "")


def _split(chunk: Sequence[Pair]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, ids) of a chunk of (key, id) pairs."""
    return tuple(key for key, _ in chunk), tuple(lead_id for _, lead_id in chunk)


def build_operations(changes: Changes, capabilities: Capabilities) -> tuple[Operation, ...]:
    """The calls for `changes`, in apply order (moves, adds, assigns, removes), each kind sorted."""
    ops: list[Operation] = []
    for source, target, owner in sorted(changes.moves, key=lambda g: (g[0], g[1], _owner_order(g[2]))):
        for chunk in _chunks(sorted(changes.moves[(source, target, owner)]), capabilities.move_chunk):
            keys, ids = _split(chunk)
            ops.append(MoveOp(source, target, owner, ids, keys))
    for destination in sorted(changes.adds):
        leads = sorted(changes.adds[destination], key=lambda lead: lead.key)
        ops.extend(AddOp(destination, tuple(chunk)) for chunk in _chunks(leads, capabilities.add_chunk))
    for owner, destination in sorted(changes.assigns):
        for chunk in _chunks(sorted(changes.assigns[(owner, destination)]), capabilities.assign_chunk):
            keys, ids = _split(chunk)
            ops.append(AssignOp(owner, destination, ids, keys))
    for destination in sorted(changes.removes):
        for chunk in _chunks(sorted(changes.removes[destination]), capabilities.remove_chunk):
            keys, ids = _split(chunk)
            ops.append(RemoveOp(destination, ids, keys))
    return tuple(ops)


def lower_bound(changes: Changes, capabilities: Capabilities) -> int:
    """The fewest write calls that can make `changes`, counted from the changes alone.

    Leads that need a different source, target or owner cannot share a move call, a call carries at most
    a chunk of ids, and so on for each kind: the bound is the sum over groups of ceil(size / chunk).
    """
    return (
        sum(_calls_for(len(v), capabilities.move_chunk) for v in changes.moves.values())
        + sum(_calls_for(len(v), capabilities.add_chunk) for v in changes.adds.values())
        + sum(_calls_for(len(v), capabilities.assign_chunk) for v in changes.assigns.values())
        + sum(_calls_for(len(v), capabilities.remove_chunk) for v in changes.removes.values())
    )
