"""What the renderers share: the one-line summary, masking of lead keys, number formatting."""

from __future__ import annotations

import re

from leadsync.plan import Plan


def count(n: int, one: str, many: str | None = None) -> str:
    """`1 conflict`, `2,000 conflicts`."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def percent(ratio: float) -> str:
    """A ratio as a percentage, unrounded to 4 significant digits: 0.035 -> `3.5%` (never `4%`)."""
    return f"{ratio * 100:.4g}%"


def change_ratio(ratio: float, limit: float) -> str:
    """A destination's change ratio next to a limit: one decimal, unless that would hide that it is over."""
    text = f"{ratio:.1%}"
    return text if ratio <= limit or round(ratio * 100, 1) > limit * 100 else percent(ratio)


def unresolved_names(plan: Plan) -> list[str]:
    """The spec names (destinations, owners) the workspace could not resolve, sorted, each once."""
    return sorted({c.subject or "-" for c in plan.conflicts if c.key is None})


def summary_line(plan: Plan) -> str:
    """`Plan: 12 to add, 3 to move, 5 to reassign, 2 held.`, or `No changes.` when there is nothing to write.

    add, move and reassign always show; remove, held, conflicts, unresolved spec names and unsupported only
    when non-zero, in that order. People are counted (a moved and re-owned person is one move); spec names
    the workspace could not resolve are not people, and are named apart from the conflicts.
    """
    if not plan.operations:
        return "No changes."
    s = plan.summary
    parts = [f"{s.add:,} to add", f"{s.move:,} to move", f"{s.assign:,} to reassign"]
    if s.remove:
        parts.append(f"{s.remove:,} to remove")
    if s.held:
        parts.append(f"{s.held:,} held")
    if s.conflicts:
        parts.append(count(s.conflicts, "conflict"))
    names = unresolved_names(plan)
    if names:
        parts.append(count(len(names), "unresolved spec name"))
    if s.unsupported:
        parts.append(f"{s.unsupported:,} unsupported")
    return "Plan: " + ", ".join(parts) + "."


def owner_change(previous: str | None, owner: str, known: bool = True) -> str:
    """`owner alice -> bob`; `owner (unassigned) -> bob`; `owner -> bob` when the old owner is not known."""
    if not known:
        return f"owner -> {owner}"
    return f"owner {previous or '(unassigned)'} -> {owner}"


def mask_email(email: str) -> str:
    """`jane.doe@bigco.example.test` -> `j***@b***.test`: first character of the local part and of the
    domain, and the top-level domain. Idempotent, so masking masked text changes nothing."""
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    tld = "." + labels[-1] if len(labels) > 1 else ""
    return f"{local[:1]}***@{domain[:1]}***{tld}"


def mask_key(key: str | None) -> str:
    """A lead key as it may appear in shared output: emails as above, other keys (LinkedIn) `j***`."""
    if key is None:
        return "-"
    if "@" in key:
        return mask_email(key)
    return key[:1] + "***"


# anything email-shaped, masked again as a last line of defence over free text (conflict details, ...)
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"'`|]+@[^\s@<>()\[\],;:\"'`|]+\.[^\s@<>()\[\],;:\"'`|.]+")


def mask_text(text: str) -> str:
    """`text` with every email-shaped substring masked."""
    return _EMAIL.sub(lambda m: mask_email(m.group()), text)
