"""Fakes shared by the plan tests, and tests of the fakes themselves.

An in-memory model of the vendor's write semantics, to apply plans to in tests (a fake, not a mock).

move: changes the destination of the given ids only when they are in the source, sets the owner if given;
add: creates new records; assign: sets the owner of the given ids in the destination; remove: deletes the
given ids in the destination. Like the vendor, ids that are not where the call says are silently skipped:
`misses` counts them, so a test can insist a plan never sends one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from leadsync.plan import AddLead, AddOp, AssignOp, MoveOp, Operation, Plan, PlanContext, RemoveOp, make_plan
from leadsync.providers import INSTANTLY
from leadsync.state import DesiredState, Policy, RemoteLead, ResolvedWorkspace


class FakeVendor:
    def __init__(self, remote: Iterable[RemoteLead]) -> None:
        self.records: dict[str, RemoteLead] = {r.id: r for r in remote}
        self.misses = 0
        self._next = 0

    def apply(self, plan: Plan) -> FakeVendor:
        for op in plan.operations:
            if isinstance(op, MoveOp):
                self._update(op.lead_ids, op.source, destination=op.target, owner=op.owner)
            elif isinstance(op, AddOp):
                for lead in op.leads:
                    self._next += 1
                    new_id = f"new-{self._next}"
                    self.records[new_id] = RemoteLead(new_id, lead.key, op.destination, lead.owner)
            elif isinstance(op, AssignOp):
                self._update(op.lead_ids, op.destination, owner=op.owner)
            elif isinstance(op, RemoveOp):
                for lead_id in op.lead_ids:
                    record = self.records.get(lead_id)
                    if record is None or record.destination != op.destination:
                        self.misses += 1
                    else:
                        del self.records[lead_id]
        return self

    def _update(
        self, ids: Iterable[str], where: str, *, destination: str | None = None, owner: str | None = None
    ) -> None:
        for lead_id in ids:
            r = self.records.get(lead_id)
            if r is None or r.destination != where:
                self.misses += 1
                continue
            self.records[lead_id] = RemoteLead(
                r.id, r.key, destination or r.destination, owner if owner is not None else r.owner, r.statuses
            )

    def remote(self) -> list[RemoteLead]:
        return sorted(self.records.values(), key=lambda r: r.id)


def test_the_fake_moves_only_ids_that_are_in_the_source() -> None:
    ws = FakeVendor([RemoteLead("1", "a@x.test", "d0", "alice"), RemoteLead("2", "b@x.test", "d1")])
    plan_ops = (MoveOp("d0", "d2", "bob", ("1", "2"), ("a@x.test", "b@x.test")),)
    ws.apply(_plan_with(plan_ops))
    assert ws.records["1"] == RemoteLead("1", "a@x.test", "d2", "bob")
    assert ws.records["2"] == RemoteLead("2", "b@x.test", "d1")
    assert ws.misses == 1


def test_the_fake_adds_assigns_and_removes() -> None:
    ws = FakeVendor([RemoteLead("1", "a@x.test", "d0", "alice"), RemoteLead("2", "b@x.test", "d1")])
    ws.apply(
        _plan_with(
            (
                AddOp("d0", (AddLead("c@x.test", "bob", "r"),)),
                AssignOp("carol", "d0", ("1",), ("a@x.test",)),
                RemoveOp("d1", ("2",), ("b@x.test",)),
                RemoveOp("d0", ("2",), ("b@x.test",)),
            )
        )
    )
    assert sorted((r.key, r.destination, r.owner) for r in ws.remote()) == [
        ("a@x.test", "d0", "carol"),
        ("c@x.test", "d0", "bob"),
    ]
    assert ws.misses == 1


def _plan_with(operations: tuple[Operation, ...]) -> Plan:
    return replace(
        make_plan(DesiredState([]), ResolvedWorkspace([], ()), Policy(), PlanContext(INSTANTLY)), operations=operations
    )
