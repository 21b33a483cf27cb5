"""From the changes people need to API calls: batching.

The planner records *changes* (who needs to be moved, added, re-owned, removed, grouped by what a single
call can share); `build_operations` turns them into calls. The fewest calls those changes can take is
counted elsewhere (`_bound.py`), from per-person facts rather than from these groups; a property test holds
both equal to an exhaustive search over every grouping the vendor's API allows.

A move's `assigned_to` is a no-op for a person who already has that owner, so people who keep owner X may
ride in the call that gives other people X (`_fold_keepers`): it fills that call's last chunk before a call
without `assigned_to` is spent on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from leadsync.plan._model import AddLead, AddOp, AssignOp, MoveOp, Operation, RemoveOp
from leadsync.state import Capabilities

T = TypeVar("T")

#: (source, target, owner to set or None: None when the owner does not change), (owner, destination)
MoveGroup = tuple[str, str, "str | None"]
AssignGroup = tuple[str, str]
Pair = tuple[str, str]  # (key, lead id): sorting pairs sorts by person first, so ids follow keys
Entry = tuple[str, str, "str | None"]  # (key, lead id, current owner)


class Changes:
    """What people need, grouped by what one call can carry. Filled by the planner, read by both consumers.

    - moves: one call carries one source, one target and one `assigned_to` (or none: owners unchanged)
    - adds: one call carries one destination; every lead has its own owner, so owners never split a call
    - assigns: one call carries one owner, filtered to one destination
    - removes: one call carries one destination, always with ids
    """

    __slots__ = ("adds", "assigns", "moves", "removes")

    def __init__(self) -> None:
        self.moves: dict[MoveGroup, list[Entry]] = {}
        self.adds: dict[str, list[AddLead]] = {}
        self.assigns: dict[AssignGroup, list[Entry]] = {}
        self.removes: dict[str, list[Pair]] = {}


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _owner_order(owner: str | None) -> tuple[bool, str]:
    # None (no owner to set) sorts first and never compares with a string
    return (owner is not None, owner or "")


def _entry_order(entry: Entry) -> tuple[str, str]:
    return entry[0], entry[1]  # by person, then id; the owner (maybe None) never takes part


def _split(chunk: Sequence[Pair]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, ids) of a chunk of (key, id) pairs."""
    return tuple(key for key, _ in chunk), tuple(lead_id for _, lead_id in chunk)


def _split3(chunk: Sequence[Entry]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str | None, ...]]:
    """(keys, ids, current owners) of a chunk of entries."""
    return tuple(e[0] for e in chunk), tuple(e[1] for e in chunk), tuple(e[2] for e in chunk)


def _fold_keepers(moves: dict[MoveGroup, list[Entry]], chunk: int) -> dict[MoveGroup, list[Entry]]:
    """People who keep their owner X, moved into the free room of the last chunk of the call of the same
    source and target that sets X (a no-op for them), so that fewer of them need a call without an owner.

    Filling only free room is optimal: beyond it, each `chunk` people more in X's calls cost one call there
    and save at most one among the keepers' calls. The smallest keys go first, so input order never shows.
    """
    chunk = max(1, chunk)
    folded = {group: list(entries) for group, entries in moves.items()}
    for (source, target, owner), entries in moves.items():
        if owner is not None or not entries:
            continue
        staying: list[Entry] = []
        for entry in sorted(entries, key=_entry_order):
            calls = folded.get((source, target, entry[2])) if entry[2] is not None else None
            if calls is not None and len(calls) % chunk:
                calls.append(entry)
            else:
                staying.append(entry)
        if staying:
            folded[(source, target, None)] = staying
        else:
            del folded[(source, target, None)]
    return folded


def build_operations(changes: Changes, capabilities: Capabilities) -> tuple[Operation, ...]:
    """The calls for `changes`, in apply order (moves, adds, assigns, removes), each kind sorted."""
    ops: list[Operation] = []
    moves = _fold_keepers(changes.moves, capabilities.move_chunk) if capabilities.move_sets_owner else changes.moves
    for source, target, owner in sorted(moves, key=lambda g: (g[0], g[1], _owner_order(g[2]))):
        for chunk in _chunks(sorted(moves[(source, target, owner)], key=_entry_order), capabilities.move_chunk):
            keys, ids, previous = _split3(chunk)
            ops.append(MoveOp(source, target, owner, ids, keys, previous))
    for destination in sorted(changes.adds):
        leads = sorted(changes.adds[destination], key=lambda lead: lead.key)
        ops.extend(AddOp(destination, tuple(chunk)) for chunk in _chunks(leads, capabilities.add_chunk))
    for owner, destination in sorted(changes.assigns):
        for chunk in _chunks(
            sorted(changes.assigns[(owner, destination)], key=_entry_order), capabilities.assign_chunk
        ):
            keys, ids, previous = _split3(chunk)
            ops.append(AssignOp(owner, destination, ids, keys, previous))
    for destination in sorted(changes.removes):
        for pairs in _chunks(sorted(changes.removes[destination]), capabilities.remove_chunk):
            keys, ids = _split(pairs)
            ops.append(RemoveOp(destination, ids, keys))
    return tuple(ops)
