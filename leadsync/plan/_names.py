"""The display names a plan carries: of the outside places and the unnamed members it mentions, and no more.

A workspace may have thousands of campaigns and members; a plan keeps the names of those it names by vendor
id somewhere (an operation, a held record, a conflict, the owner load), so that the document stays small and
two reads of one workspace that plan alike give equal plans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from leadsync.plan._model import AssignOp, MoveOp, Names
from leadsync.plan._plan import Plan

#: a place reference inside free text (conflict details, warning messages): "campaign:<id>" and the like
REF_IN_TEXT = re.compile(r"\b(?:campaign|list|audience):[^\s,;()]+")


def _refs_in(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        if ":" in text:
            for match in REF_IN_TEXT.findall(text):
                found.add(match)
                found.add(match.rstrip(".:"))  # "campaign:c-2:" at the end of a clause
    return found


def mentioned_names(plan: Plan, places: Mapping[str, str], members: Mapping[str, str]) -> Names:
    """Of `places` (ref -> name) and `members` (user id -> email), those `plan` mentions, sorted."""
    where: set[str] = set()
    users: set[str | None] = set()
    if places:
        for op in plan.operations:
            where.update(op.destinations)
        where.update(h.destination for h in plan.held)
        where.update(u.destination for u in plan.unsupported)
        where.update(w.destination for w in plan.warnings if w.destination is not None)
        for c in plan.conflicts:
            where.update(c.refs)
        where |= _refs_in(c.detail for c in plan.conflicts)
        where |= _refs_in(w.message for w in plan.warnings)
    if members:
        for op in plan.operations:
            if isinstance(op, (MoveOp, AssignOp)):
                users.update(op.previous_owners)
        users.update(o.owner for o in plan.owners)
    return Names(
        places={ref: places[ref] for ref in sorted(r for r in where if r in places)},
        members={user: members[user] for user in sorted(u for u in users if u is not None and u in members)},
    )
