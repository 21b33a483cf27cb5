"""The plan for a terminal, Terraform-like: changes grouped by destination, then one summary line.

    + add      ~ move      * reassign      - remove      ! held, conflict, unsupported

A move is listed under both the destination it leaves and the one it enters (`~ key  nurture -> enterprise`),
so that each heading's `before -> after` can be read off the lines under it.

Colour only when the caller asks (`color=True`): deciding it (a TTY, NO_COLOR) is the CLI's business.
Lead keys are shown in full: this output is for the operator's own terminal, not for sharing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from leadsync.plan import AddOp, AssignOp, DestinationStats, Held, MoveOp, Plan, RemoveOp
from leadsync.render._common import change_ratio, count, owner_change, percent, summary_line

#: lines shown per group before "... and N more"
DEFAULT_LIMIT = 20

_COLOURS = {"+": "32", "~": "33", "*": "36", "-": "31", "!": "35", "h": "1"}


@dataclass
class _Group:
    """What happens in one destination: the ops and held records that land there, in display order."""

    moves_in: list[MoveOp] = field(default_factory=list)
    moves_out: list[MoveOp] = field(default_factory=list)
    adds: list[AddOp] = field(default_factory=list)
    assigns: list[AssignOp] = field(default_factory=list)
    removes: list[RemoveOp] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)

    def size(self) -> int:
        return (
            sum(len(op.keys) for op in self.moves_in)
            + sum(len(op.keys) for op in self.moves_out)
            + sum(len(op.leads) for op in self.adds)
            + sum(len(op.keys) for op in self.assigns)
            + sum(len(op.keys) for op in self.removes)
            + len(self.held)
        )

    def lines(self) -> Iterator[tuple[str, str]]:
        """(symbol, text) per lead, lazily: a big group is only formatted as far as it is shown."""
        for op in (*self.moves_in, *self.moves_out):
            yield from _move_lines(op)
        for add in self.adds:
            for lead in add.leads:
                owner = f"  owner {lead.owner}" if lead.owner else ""
                yield "+", f"{lead.key}{owner}  (route {lead.route})"
        for assign in self.assigns:
            known = len(assign.previous_owners) == len(assign.keys)
            for i, key in enumerate(assign.keys):
                yield "*", f"{key}  {owner_change(assign.previous_owners[i] if known else None, assign.owner, known)}"
        for remove in self.removes:
            for key, lead_id in zip(remove.keys, remove.lead_ids, strict=True):
                yield "-", f"{key}  (lead {lead_id})"
        for h in self.held:
            yield "!", f"{h.key}  held ({', '.join(h.statuses)}): would {h.change}"


def _move_lines(op: MoveOp) -> Iterator[tuple[str, str]]:
    known = len(op.previous_owners) == len(op.keys)
    for i, key in enumerate(op.keys):
        owner = ""
        if op.owner is not None:
            owner = "  " + owner_change(op.previous_owners[i] if known else None, op.owner, known)
        yield "~", f"{key}  {op.source} -> {op.target}{owner}"


def _groups(plan: Plan) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}

    def group(name: str) -> _Group:
        return groups.setdefault(name, _Group())

    for op in plan.operations:
        if isinstance(op, MoveOp):
            group(op.target).moves_in.append(op)
            group(op.source).moves_out.append(op)
        elif isinstance(op, AddOp):
            group(op.destination).adds.append(op)
        elif isinstance(op, AssignOp):
            group(op.destination).assigns.append(op)
        else:
            group(op.destination).removes.append(op)
    for h in plan.held:
        group(h.destination).held.append(h)
    return groups


class _Out:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def paint(self, symbol: str, text: str) -> str:
        return f"\x1b[{_COLOURS[symbol]}m{text}\x1b[0m" if self.color else text

    def entry(self, symbol: str, text: str) -> None:
        self.lines.append("  " + self.paint(symbol, f"{symbol} {text}"))

    def heading(self, text: str) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(self.paint("h", text))

    def capped(self, entries: Iterator[tuple[str, str]], total: int, limit: int) -> None:
        for shown, (symbol, text) in enumerate(entries):
            if shown >= limit:
                break
            self.entry(symbol, text)
        if total > limit:
            self.lines.append(f"  ... and {total - limit:,} more")


def _heading(name: str, stats: DestinationStats | None) -> str:
    if stats is None:  # a place outside the managed destinations that claim: move takes leads from
        return f"{name} (not managed)"
    moves = f"; moves: {stats.move_in:,} in, {stats.move_out:,} out" if stats.move_in or stats.move_out else ""
    return f"{name} ({stats.before:,} -> {stats.after:,} leads{moves})"


def render_text(plan: Plan, *, color: bool = False, limit: int = DEFAULT_LIMIT) -> str:
    """The plan as terminal text, ending with exactly one summary line (and a newline)."""
    out = _Out(color)
    stats = {d.name: d for d in plan.destinations}
    groups = _groups(plan)
    for name in sorted(groups):
        out.heading(_heading(name, stats.get(name)))
        out.capped(groups[name].lines(), groups[name].size(), limit)
    names = [c for c in plan.conflicts if c.key is None]
    if names:
        out.heading("Unresolved spec names (nothing routed to them is changed):")
        out.capped(
            (("!", f"{c.subject or '-'}  {c.reason.value.replace('_', ' ')}: {c.detail}") for c in names),
            len(names),
            limit,
        )
    people = [c for c in plan.conflicts if c.key is not None]
    if people:
        out.heading(
            f"Conflicts ({count(plan.summary.conflicts, 'person', 'people')}, never guessed, left as they are):"
        )
        out.capped(
            (("!", f"{c.key}  {c.reason.value.replace('_', ' ')}: {c.detail}") for c in people), len(people), limit
        )
    if plan.unsupported:
        out.heading("Unsupported (the provider cannot make these changes):")
        out.capped(
            (("!", f"{u.key}  {u.destination}: {u.reason}") for u in plan.unsupported), len(plan.unsupported), limit
        )
    if plan.unrouted:
        out.heading(f"Unrouted ({count(len(plan.unrouted), 'lead')} matched no route, left as they are):")
        out.lines.append(
            "  "
            + ", ".join(plan.unrouted[:limit])
            + (f" ... and {len(plan.unrouted) - limit:,} more" if len(plan.unrouted) > limit else "")
        )
    if plan.warnings:
        out.heading("Warnings:")
        out.capped((("!", f"{w.key or '-'}  {w.message}") for w in plan.warnings), len(plan.warnings), limit)
    if not plan.safety.safe:
        out.heading("Safety: apply needs --force:")
        for d in plan.destinations:
            if d.unsafe:
                limit_ratio = plan.safety.max_change_ratio
                out.entry(
                    "!",
                    f"{d.name}: {d.changed:,} of {d.before:,} leads change "
                    f"({change_ratio(d.changed / max(d.before, 1), limit_ratio)} > {percent(limit_ratio)})",
                )
    if out.lines:
        out.lines.append("")
    out.lines.append(summary_line(plan))
    return "\n".join(out.lines) + "\n"
