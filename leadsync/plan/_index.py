"""Remote records indexed by lead key: identity first, before anything is compared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from leadsync.state import RemoteLead

_KEY = attrgetter("key")
_WHERE = attrgetter("destination", "owner")


@dataclass(slots=True)
class RemoteIndex:
    """The remote side as the planner reads it. Mutable: the planner pops people off `single` as it goes."""

    single: dict[str, RemoteLead]  # each person's record in a managed destination (the first, if several)
    multi: dict[str, list[RemoteLead]]  # people with several records in managed destinations: all of them
    outside: dict[str, list[RemoteLead]]  # records outside managed destinations, by key
    sizes: dict[str, int]  # records per managed destination, keyless ones included
    owners: dict[str | None, int]  # records in managed destinations per owner (None: unassigned)
    outside_count: int  # records outside managed destinations, keyless ones included


def index_remote(remote: Sequence[RemoteLead], managed: frozenset[str]) -> RemoteIndex:
    """Index `remote` by key, and count it per destination and owner. Keyless records are only counted."""
    # counting and keying run in C (Counter, map, attrgetter, dict(zip)): a Python loop per record would be
    # most of the planner's time at a million records
    sizes = dict.fromkeys(managed, 0)
    owners: dict[str | None, int] = {}
    outside_count = 0
    for (destination, owner), n in Counter(map(_WHERE, remote)).items():
        if destination in sizes:
            sizes[destination] += n
            owners[owner] = owners.get(owner, 0) + n
        else:
            outside_count += n
    mine = [r for r in remote if r.destination in managed and r.key is not None]
    single: dict[str, RemoteLead] = dict(zip(map(_KEY, mine), mine, strict=True))
    multi: dict[str, list[RemoteLead]] = {}
    if len(single) != len(mine):  # someone has several records in managed destinations
        grouped: dict[str, list[RemoteLead]] = {}
        for r in mine:
            grouped.setdefault(r.key, []).append(r)  # type: ignore[arg-type]
        multi = {key: found for key, found in grouped.items() if len(found) > 1}
        for key, found in multi.items():
            single[key] = found[0]
    outside: dict[str, list[RemoteLead]] = {}
    if outside_count:
        for r in remote:
            if r.key is not None and r.destination not in managed:
                outside.setdefault(r.key, []).append(r)
    return RemoteIndex(single, multi, outside, sizes, owners, outside_count)
