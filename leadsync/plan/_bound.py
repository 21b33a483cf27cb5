"""The fewest write calls a plan's changes can take, counted from what each person needs.

The planner writes down one fact per changed person (`Needs`) next to, and independently of, the groups it
batches into calls (`_batch.Changes`). This module counts calls from those facts alone, by the rules of the
vendor's API, without looking at the planner's groups, so that `writes == lower_bound` is a real check:

- move: one call carries one source, one target and at most one `assigned_to`. Per (source, target), the
  people split into classes by the owner to SET: each owner a person must be given, and one class for the
  people whose owner does not change (no `assigned_to`). A person who keeps owner X may also ride in a call
  that sets X (a no-op for them): they fill the free room of that class's last chunk first, and only the
  rest need the no-owner class. Without `move_sets_owner` a move carries no owner at all (one class), and
  each re-owned person also needs an assign.
- add: one call per destination; every lead carries its own owner, so owners never split a call.
- assign: one call per (owner to set, destination).
- remove: one call per destination (records, not people: a person may have several).

Each class takes ceil(size / chunk) calls. This is the fewest under the plan's contract that a lead that moves
gets its new owner from its move (docs/design.md section 3): a move without `assigned_to` followed by a
bulk-assign in the target could sometimes share a call with people re-owned in place, but that assign would race
the move's background job. `tests/test_plan_minimal.py` holds the bound equal to an exhaustive search.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from leadsync.state import Capabilities

#: the class of people a move leaves with the owner they have
SAME_OWNER = object()


@dataclass(slots=True)
class Needs:
    """One entry per change a person needs, as plain facts (no grouping)."""

    #: (source, target, owner now, owner wanted: None when the spec does not manage it)
    moves: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    #: destination of each new record
    adds: list[str] = field(default_factory=list)
    #: (destination, owner now, owner wanted) of each person re-owned where they are
    reassigns: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    #: destination of each record removed
    removes: list[str] = field(default_factory=list)


def _calls(sizes: Iterable[int], chunk: int) -> int:
    chunk = max(1, chunk)
    return sum(-(-n // chunk) for n in sizes)


def lower_bound(needs: Needs, capabilities: Capabilities) -> int:
    """The fewest write calls that make `needs` with a provider of `capabilities` (see the module docstring)."""
    move_classes: Counter[tuple[str, str, Hashable]] = Counter()
    keepers: Counter[tuple[str, str, str | None]] = Counter()  # (source, target, the owner they keep)
    assign_classes: Counter[tuple[str | None, str]] = Counter()
    for source, target, now, wanted in needs.moves:
        reowned = wanted is not None and wanted != now
        if capabilities.move_sets_owner:
            if reowned:
                move_classes[(source, target, wanted)] += 1
            else:
                keepers[(source, target, now)] += 1
        else:
            move_classes[(source, target, SAME_OWNER)] += 1
            if reowned:
                assign_classes[(wanted, target)] += 1
    chunk = max(1, capabilities.move_chunk)
    for (source, target, kept), n in keepers.items():
        setting = move_classes.get((source, target, kept), 0) if kept is not None else 0
        riding = min(n, -setting % chunk) if setting else 0
        move_classes[(source, target, kept)] += riding
        if n > riding:
            move_classes[(source, target, SAME_OWNER)] += n - riding
    for destination, _now, wanted in needs.reassigns:
        assign_classes[(wanted, destination)] += 1
    return (
        _calls(move_classes.values(), capabilities.move_chunk)
        + _calls(Counter(needs.adds).values(), capabilities.add_chunk)
        + _calls(assign_classes.values(), capabilities.assign_chunk)
        + _calls(Counter(needs.removes).values(), capabilities.remove_chunk)
    )
