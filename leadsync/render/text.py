"""The plan for a terminal, Terraform-like: changes grouped by destination, then one summary line.

    + add      ~ move      * reassign      - remove      ! held, conflict, unsupported

A move is listed under both the destination it leaves and the one it enters (`~ key  nurture -> enterprise`),
so that each heading's `before -> after` can be read off the lines under it.

Colour only when the caller asks (`color=True`): deciding it (a TTY, NO_COLOR) is the CLI's business.
Lead keys are shown in full (the operator's own terminal), unless `mask=True` (a CI log): then every key is
masked as in markdown (`j***@b***.test`) and every email-shaped string in free text too.

Places outside the managed destinations and members the spec does not name are shown by what the workspace
calls them (`Plan.names`): `campaign "Old Outbound"`, a member's email (masked too with `mask=True`), not by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import assert_never

from leadsync.plan import AddOp, AssignOp, DestinationStats, Held, MoveOp, Plan, RemoveOp
from leadsync.render._common import (
    Labels,
    change_ratio,
    count,
    exempt,
    largest_deviation,
    mask_key,
    mask_text,
    member_share,
    owner_change,
    percent,
    read_line,
    summary_line,
    visible,
)

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
    show: Callable[[str], str] = str  # how a lead key is shown: as it is, or masked
    labels: Labels | None = None  # how places and members named by vendor id are shown

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
        show, labels = self.show, self.labels
        owner_of = labels.owner if labels is not None else _same
        for op in (*self.moves_in, *self.moves_out):
            yield from _move_lines(op, show, labels)
        for add in self.adds:
            for lead in add.leads:
                owner = f"  owner {lead.owner}" if lead.owner else ""
                yield "+", f"{show(lead.key)}{owner}  (route {lead.route})"
        for assign in self.assigns:
            known = len(assign.previous_owners) == len(assign.keys)
            for i, key in enumerate(assign.keys):
                change = owner_change(owner_of(assign.previous_owners[i]) if known else None, assign.owner, known)
                yield "*", f"{show(key)}  {change}"
        for remove in self.removes:
            for key, lead_id in zip(remove.keys, remove.lead_ids, strict=True):
                yield "-", f"{show(key)}  (lead {lead_id})"
        for h in self.held:
            yield "!", f"{show(h.key)}  held ({', '.join(h.statuses)}): would {h.change}"


def _same(owner: str | None) -> str | None:
    return owner


def _move_lines(op: MoveOp, show: Callable[[str], str], labels: Labels | None = None) -> Iterator[tuple[str, str]]:
    known = len(op.previous_owners) == len(op.keys)
    source, target = (labels.place(op.source), labels.place(op.target)) if labels else (op.source, op.target)
    owner_of = labels.owner if labels is not None else _same
    for i, key in enumerate(op.keys):
        owner = ""
        if op.owner is not None and not (known and op.previous_owners[i] == op.owner):  # keepers ride along
            owner = "  " + owner_change(owner_of(op.previous_owners[i]) if known else None, op.owner, known)
        yield "~", f"{show(key)}  {source} -> {target}{owner}"


def _groups(plan: Plan, show: Callable[[str], str], labels: Labels | None = None) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}

    def group(name: str) -> _Group:
        found = groups.get(name)
        if found is None:
            found = groups[name] = _Group(show=show, labels=labels)
        return found

    for op in plan.operations:
        match op:
            case MoveOp():
                group(op.target).moves_in.append(op)
                group(op.source).moves_out.append(op)
            case AddOp():
                group(op.destination).adds.append(op)
            case AssignOp():
                group(op.destination).assigns.append(op)
            case RemoveOp():
                group(op.destination).removes.append(op)
            case _:
                assert_never(op)
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
        self.lines.append("  " + self.paint(symbol, f"{symbol} {visible(text)}"))

    def heading(self, text: str) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(self.paint("h", visible(text)))

    def line(self, text: str) -> None:
        """A line of its own, uncoloured: what it holds of the workspace's (keys, owners' ids) made visible."""
        self.lines.append(visible(text))

    def capped(self, entries: Iterator[tuple[str, str]], total: int, limit: int) -> None:
        for shown, (symbol, text) in enumerate(entries):
            if shown >= limit:
                break
            self.entry(symbol, text)
        if total > limit:
            self.line(f"  ... and {total - limit:,} more")


def _heading(name: str, stats: DestinationStats | None, labels: Labels) -> str:
    if stats is None:  # a place outside the managed destinations that claim: move takes leads from
        return f"{labels.place(name)} (not managed)"
    moves = f"; moves: {stats.move_in:,} in, {stats.move_out:,} out" if stats.move_in or stats.move_out else ""
    return f"{name} ({stats.before:,} -> {stats.after:,} leads{moves})"


def _plain(key: str | None) -> str:
    return key or "-"


def render_text(plan: Plan, *, color: bool = False, limit: int = DEFAULT_LIMIT, mask: bool = False) -> str:
    """The plan as terminal text, ending with exactly one summary line (and a newline).

    `mask=True` masks every lead key and every email-shaped string, as the markdown does: for CI logs.
    """
    out = _Out(color)
    show = mask_key if mask else _plain
    labels = Labels(plan, mask=mask)
    stats = {d.name: d for d in plan.destinations}
    groups = _groups(plan, show, labels)
    for name in sorted(groups):
        out.heading(_heading(name, stats.get(name), labels))
        out.capped(groups[name].lines(), groups[name].size(), limit)
    names = [c for c in plan.conflicts if c.key is None]
    if names:
        out.heading("Unresolved spec names (nothing routed to them is changed):")
        out.capped(
            (("!", f"{c.subject or '-'}  {c.reason.value.replace('_', ' ')}: {labels.text(c.detail)}") for c in names),
            len(names),
            limit,
        )
    people = [c for c in plan.conflicts if c.key is not None]
    if people:
        out.heading(
            f"Conflicts ({count(plan.summary.conflicts, 'person', 'people')}, never guessed, left as they are):"
        )
        out.capped(
            (("!", f"{show(c.key)}  {c.reason.value.replace('_', ' ')}: {labels.text(c.detail)}") for c in people),
            len(people),
            limit,
        )
    if plan.unsupported:
        out.heading("Unsupported (the provider cannot make these changes):")
        out.capped(
            (("!", f"{show(u.key)}  {labels.place(u.destination)}: {u.reason}") for u in plan.unsupported),
            len(plan.unsupported),
            limit,
        )
    if plan.unrouted:
        out.heading(f"Unrouted ({count(len(plan.unrouted), 'lead')} matched no route, left as they are):")
        out.line(
            "  "
            + ", ".join(show(k) for k in plan.unrouted[:limit])
            + (f" ... and {len(plan.unrouted) - limit:,} more" if len(plan.unrouted) > limit else "")
        )
    if plan.warnings:
        out.heading("Warnings:")
        out.capped(
            (("!", (f"{show(w.key)}  " if w.key is not None else "") + labels.text(w.message)) for w in plan.warnings),
            len(plan.warnings),
            limit,
        )
    if not plan.safety.safe:
        out.heading("Safety: apply needs --force:")
        for d in plan.destinations:
            if d.unsafe:
                limit_ratio = plan.safety.max_change_ratio
                out.entry(
                    "!",
                    f"{d.name}: {d.changed:,} of {d.before:,} leads change "
                    f"({change_ratio(d.changed / max(d.before, 1), limit_ratio)} > {percent(limit_ratio)}): "
                    "moved out, re-owned or removed"
                    + (f"; {d.add + d.move_in:,} arriving are growth, not counted" if d.add + d.move_in else ""),
                )
    small = exempt(plan)
    if small:
        out.heading(
            f"Safety: over {percent(plan.safety.max_change_ratio)} but exempt, fewer than "
            f"min_destination_size ({plan.safety.min_destination_size:,}) leads: {', '.join(small)}"
        )
    _pools(plan, out)
    _capacities(plan, out)
    if plan.workspace.read is not None:
        out.heading(f"Read: {read_line(plan.workspace.read)}.")
    if out.lines:
        out.lines.append("")
    out.lines.append(summary_line(plan))
    text = "\n".join(out.lines) + "\n"
    return mask_text(text) if mask else text


def _capacities(plan: Plan, out: _Out) -> None:
    """Owners with a capacity: what they hold in managed destinations before and after, against it."""
    capped = [o for o in plan.owners if o.capacity is not None]
    if not capped:
        return
    out.heading("Capacity (leads held in managed destinations, before -> after, of the most allowed):")
    width = max(len(o.owner or "") for o in capped)
    for o in capped:
        mark = "  over capacity" if o.after > (o.capacity or 0) else "  full" if o.after == o.capacity else ""
        out.line(f"  {o.owner or '':<{width}}  {o.before:,} -> {o.after:,} of {o.capacity:,}{mark}")


def _pools(plan: Plan, out: _Out) -> None:
    """Per pool: the members' share after the plan against their weights' share (see POOL_DEFINITION)."""
    for pool in plan.pools:
        sticky = "sticky, " if pool.sticky else ""
        routes = ", ".join(pool.routes) or "-"
        out.heading(f"Pool {pool.name} ({sticky}routes {routes}): largest deviation {largest_deviation(pool)}")
        width = max(len(m.owner) for m in pool.members) if pool.members else 0
        for m in pool.members:
            out.line(f"  {m.owner:<{width}}  {m.before:,} -> {m.after:,}  {member_share(pool, m)}")
        if pool.others_before or pool.others_after:
            out.line(f"  not members: {pool.others_before:,} -> {pool.others_after:,}")
