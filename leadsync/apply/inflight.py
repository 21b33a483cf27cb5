"""Writes the vendor took whose effect this apply could not see: never sent again by the same apply.

A move whose background job is still pending past the wait (or whose polls went unanswered) may still run: a
second move of the same leads would be a second job racing it, and the job that loses becomes a write from the
past. A bulk-assign answered 202 whose owners never read back was taken by the vendor: sending it again every
round only repeats a request it already has. So the people of either are left out of the rounds that follow
(`withhold`); the apply ends not converged, saying what is open (`InFlight.describe`), and the next apply settles
it: it waits for the job first (the journal lists it), and reads the workspace before it sends anything.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from leadsync.errors import AssignNotVisible, JobStalled, LeadsyncError
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, Plan, RemoveOp


def leads(n: int) -> str:
    return f"{n} lead{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class InFlight:
    """An accepted write of this run still open: the operation, why, and its job (a move's)."""

    op: Operation
    error: LeadsyncError
    job: str | None = None

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.op.keys)

    def describe(self, left: int) -> str:
        """What is open, for `left` of its people still not where the plan puts them."""
        if isinstance(self.op, MoveOp):
            where = f"move job {self.job} ({self.op.source} -> {self.op.target}, {leads(left)})"
            if isinstance(self.error, JobStalled):
                return f"{where} still pending after {self.error.waited:g} s; the next apply waits for it"
            return f"{where} not seen to finish ({self.error}); the next apply waits for it"
        reads = self.error.reads + 1 if isinstance(self.error, AssignNotVisible) else 1  # + the round's re-read
        owner = self.op.owner if isinstance(self.op, AssignOp) else "?"
        return (
            f"bulk-assign of {leads(left)} to {owner} accepted but not visible after {reads} re-reads; the "
            "next apply reads them again and sends only what is still not done"
        )


def withhold(plan: Plan, keys: Collection[str]) -> Plan:
    """`plan` without any change to the people `keys` (an operation left with nobody is dropped)."""
    if not keys:
        return plan
    kept: list[Operation] = []
    for op in plan.operations:
        if isinstance(op, AddOp):
            new = tuple(lead for lead in op.leads if lead.key not in keys)
            if new:
                kept.append(op if len(new) == len(op.leads) else replace(op, leads=new))
            continue
        assert isinstance(op, (MoveOp, AssignOp, RemoveOp))  # every other kind names its records by id
        keep = [i for i, key in enumerate(op.keys) if key not in keys]
        if len(keep) == len(op.keys):
            kept.append(op)
        elif keep:
            fields: dict[str, tuple[str | None, ...]] = {
                "lead_ids": tuple(op.lead_ids[i] for i in keep),
                "keys": tuple(op.keys[i] for i in keep),
            }
            if isinstance(op, (MoveOp, AssignOp)) and op.previous_owners:
                fields["previous_owners"] = tuple(op.previous_owners[i] for i in keep)
            kept.append(replace(op, **fields))  # type: ignore[arg-type]
    return replace(plan, operations=tuple(kept))
