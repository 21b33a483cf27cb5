"""Spec names the workspace cannot meet, as located problems: a spec that cannot be met is an error.

A destination that names no campaign, list or audience (or several), and an owner whose email is no member
(or several members', or another owner's), would leave every person routed there undone. Reported as
conflicts, a plan of the rest would exit 0 and an apply would say "Converged" while those people were
skipped; so `plan` (live or `--remote`) and `apply` stop before anything is written, each name at its place
in the spec, with the workspace's closest names as suggestions.

An audience known to be populating (`destination_not_ready`: named by id, or seen before) is not a mistake in
the spec: it stays a conflict of the plan, and an apply waits for it. One named by name that Sonarly does not
list even after the provider's wait is an error like any unknown name: the vendor's list leaves out audiences
being populated, so it may be absent or busy, and the message says both; a plan of the rest would skip its
people, which is what this module exists to prevent. Run again once it is ready.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from leadsync.errors import Problem
from leadsync.spec import LoadedSpec
from leadsync.state import Conflict, ConflictReason, ResolvedWorkspace

#: what resolving may find that the spec, not the workspace's moment, gets wrong
UNMET = frozenset(
    {
        ConflictReason.UNKNOWN_DESTINATION,
        ConflictReason.AMBIGUOUS_DESTINATION,
        ConflictReason.UNKNOWN_OWNER,
        ConflictReason.AMBIGUOUS_OWNER,
    }
)


def unmet_names(loaded: LoadedSpec, resolved: ResolvedWorkspace) -> list[Problem]:
    """One located problem per spec destination or owner the workspace cannot resolve, sorted by place."""
    problems = []
    for conflict in resolved.conflicts:
        if conflict.key is not None or conflict.subject is None or conflict.reason not in UNMET:
            continue
        if conflict.reason in (ConflictReason.UNKNOWN_OWNER, ConflictReason.AMBIGUOUS_OWNER):
            problems.append(_owner_problem(loaded, resolved, conflict))
        else:
            problems.append(_destination_problem(loaded, resolved, conflict))
    return sorted(set(problems))


def _destination_problem(loaded: LoadedSpec, resolved: ResolvedWorkspace, conflict: Conflict) -> Problem:
    name = str(conflict.subject)
    destination = loaded.spec.destinations.get(name)
    if destination is None:  # resolution only knows the spec's names; keep the message whatever happens
        return Problem(loaded.positions.of(("destinations",)), f"destination '{name}': {conflict.detail}")
    field, value = destination.ref
    where = loaded.positions.of(("destinations", name, field))
    kind = destination.kind
    if conflict.reason is ConflictReason.AMBIGUOUS_DESTINATION:
        # one place several spec names resolve to, or one name several places have
        fix = "keep one destination per place" if len(conflict.refs) == 1 else f"name it by id ({kind}_id: ...)"
        return Problem(where, f"destination '{name}': {conflict.detail}; {fix}")
    if field.endswith("_id"):
        message = f"destination '{name}': no {kind} with id '{value}' in the workspace"
        return Problem(where, message + _notes(_extra(conflict.detail, f"no {kind}_id")))
    names = sorted({n for ref, n in resolved.place_names.items() if ref.partition(":")[0] == kind})
    notes = _notes(_extra(conflict.detail, f"no {kind} "), _suggest(value, names, f"{kind}_id"))
    return Problem(where, f"destination '{name}': no {kind} '{value}' in the workspace{notes}")


def _owner_problem(loaded: LoadedSpec, resolved: ResolvedWorkspace, conflict: Conflict) -> Problem:
    name = str(conflict.subject)
    owner = loaded.spec.owners.get(name)
    if owner is None:
        return Problem(loaded.positions.of(("owners",)), f"owner '{name}': {conflict.detail}")
    where = loaded.positions.of(("owners", name, "email"))
    if conflict.reason is ConflictReason.AMBIGUOUS_OWNER:
        return Problem(where, f"owner '{name}': {conflict.detail}")
    emails = sorted(set(resolved.member_emails.values()))
    return Problem(
        where, f"owner '{name}': {owner.email} is not a member of the workspace" + _notes(_suggest(owner.email, emails))
    )


def _notes(*notes: str) -> str:
    """` (a; b)` of the notes that say something, or nothing."""
    said = [note for note in notes if note]
    return f" ({'; '.join(said)})" if said else ""


def _suggest(value: str, candidates: Iterable[str], by_id: str | None = None) -> str:
    """`did you mean 'X'?` for the closest candidate, compared without case. A candidate that looks the same
    (the workspace's name differs in spaces around it, which are not shown, or in Unicode form) is said so."""
    pool = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(value.lower(), list(pool), n=1, cutoff=0.6)
    if not close:
        return ""
    found = pool[close[0]]
    if unicodedata.normalize("NFC", found) == unicodedata.normalize("NFC", value.strip()):
        return (
            "the workspace has one whose name differs from this only in spaces around it or in its Unicode "
            f"form: copy the name from the workspace{f', or name it by id ({by_id}: ...)' if by_id else ''}"
        )
    return f"did you mean '{found}'?"


def _extra(detail: str, plain: str) -> str:
    """What the provider added to a plain 'not found' (e.g. how long it looked), without its parentheses."""
    start = detail.rfind(" (")
    if detail.endswith(")") and start > 0 and detail.startswith(plain):
        return detail[start + 2 : -1]
    return ""
