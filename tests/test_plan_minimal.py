"""Minimal means minimal: the plan's writes are the true fewest, found by exhaustive search (issue #11).

`exhaustive_minimum` knows nothing of the planner's groups or of `_bound.py`. From the scenario's own
people it lists, for each change a person needs, every call that could carry it under the vendor's API and
the plan's contract (docs/design.md section 3: a move call is one source, one target and one `assigned_to`
or none; an add call one destination; a bulk-assign one owner and one destination; a delete one
destination; and a lead that moves gets its new owner from its move, never from a later bulk-assign: the
assign, filtered to the target, would race the move's background job, and a move plus an assign is the split
the contract rules out), keeping the calls after which the person is where and with whom routing wants them.
Then it tries every way of choosing one call per person and keeps the cheapest, each call kind chunked. Only
who the plan had to leave alone (held, conflicts, unsupported) is taken from the plan.

The scenario generator here mixes what the happy path never has: many owners kept and changed inside one
move, people whose owner the spec does not manage (routed without an owner), owners the spec does not know
(vendor user ids), unassigned people, records outside managed destinations with `claim: move`, tiny chunks.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_fakes import FakeVendor

from leadsync.plan import MoveOp, Plan, PlanContext, make_plan
from leadsync.providers import INSTANTLY
from leadsync.state import (
    Capabilities,
    Claim,
    DesiredLead,
    DesiredState,
    Policy,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)

#: a call a person can be in: (kind, *what the call is bound to)
Call = tuple[str | None, ...]
#: one way of making a person's change: the calls the person is in (two when a move cannot set the owner)
Option = tuple[Call, ...]

SEARCH_LIMIT = 1 << 14  # ways to try; hypothesis scenarios stay well below


def _chunk(call: Call, caps: Capabilities) -> int:
    return {"move": caps.move_chunk, "add": caps.add_chunk, "assign": caps.assign_chunk, "remove": caps.remove_chunk}[
        str(call[0])
    ]


def person_options(
    record: RemoteLead | None,
    destination: str,
    wanted_owner: str | None,
    owners: Sequence[str | None],
    caps: Capabilities,
) -> list[Option]:
    """Every way the vendor's calls can put a person where routing wants them, with the right owner.

    `owners` are the values a call's owner field can take (None: the field left out)."""
    if record is None:
        return [(("add", destination),)]
    final = wanted_owner if wanted_owner is not None else record.owner
    if record.destination == destination:
        return [] if final == record.owner else [(("assign", final, destination),)]
    if not caps.move_sets_owner:
        move: Call = ("move", record.destination, destination, None)
        return [(move,)] if final == record.owner else [(move, ("assign", final, destination))]
    # a move with assigned_to=a leaves the person with a (or with the owner they had, without one)
    return [
        (("move", record.destination, destination, a),)
        for a in owners
        if (a if a is not None else record.owner) == final
    ]


def cheapest(options: Sequence[Sequence[Option]], caps: Capabilities) -> int:
    """The fewest calls when each person takes one of their options; every combination is tried."""
    fixed: Counter[Call] = Counter()
    free: list[Sequence[Option]] = []
    for person in options:
        if len(person) == 1:
            fixed.update(person[0])
        elif person:
            free.append(person)
    assert math.prod(len(p) for p in free) <= SEARCH_LIMIT, "scenario too big for an exhaustive search"
    best = math.inf
    for choice in itertools.product(*free):
        calls = fixed.copy()
        for option in choice:
            calls.update(option)
        best = min(best, sum(math.ceil(n / _chunk(call, caps)) for call, n in calls.items()))
    return int(best)


def skipped_keys(plan: Plan) -> set[str]:
    return {h.key for h in plan.held} | {c.key for c in plan.conflicts if c.key} | {u.key for u in plan.unsupported}


def exhaustive_minimum(
    desired: Sequence[DesiredLead],
    remote: Sequence[RemoteLead],
    managed: frozenset[str],
    policy: Policy,
    caps: Capabilities,
    plan: Plan,
    unrouted: Sequence[str] = (),
) -> int:
    """The fewest write calls that reach the desired state (see the module docstring)."""
    skipped = skipped_keys(plan)
    conflicted = {c.key for c in plan.conflicts if c.key}
    owners: list[str | None] = sorted(
        {d.owner for d in desired if d.owner is not None} | {r.owner for r in remote if r.owner is not None}
    )
    owners.append(None)
    wishes: dict[str, set[tuple[str, str | None]]] = {}
    for d in desired:
        wishes.setdefault(d.key, set()).add((d.destination, d.owner))
    people: list[list[Option]] = []
    for key, found in wishes.items():
        if key in skipped:
            continue
        ((destination, owner),) = found  # two different wishes for one person are a conflict, so skipped
        records = [r for r in remote if r.key == key and r.destination in managed]
        if not records:
            outside = [r for r in remote if r.key == key and r.destination not in managed]
            records = outside if outside and policy.claim is Claim.MOVE else []
        (record,) = records or [None]  # several records are a conflict, so skipped
        people.append(person_options(record, destination, owner, owners, caps))
    if policy.unmanaged is Unmanaged.REMOVE and caps.remove:
        for r in remote:
            unwanted = r.key is not None and r.key not in wishes and r.key not in unrouted
            if unwanted and r.destination in managed and r.key not in conflicted and not r.statuses & policy.protect:
                people.append([(("remove", r.destination),)])
    return cheapest(people, caps)


# -- a scenario generator the planner's own tests never had --------------------------------------------------

SOURCES = ("nurture", "smb", "campaign:c9")  # the last is outside the managed destinations
TARGETS = ("enterprise", "smb")
SPEC_OWNERS = ("alice", "bob", "carol")
CURRENT = (*SPEC_OWNERS, "user-9", None)  # user-9: a member the spec does not name; None: unassigned
MANAGED = frozenset({"enterprise", "nurture", "smb"})


@dataclass(frozen=True)
class Case:
    desired: list[DesiredLead]
    remote: list[RemoteLead]
    policy: Policy
    caps: Capabilities

    def plan(self) -> Plan:
        return make_plan(
            DesiredState(self.desired), ResolvedWorkspace(self.remote, MANAGED), self.policy, PlanContext(self.caps)
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 12))
    desired, remote = [], []
    for i in range(n):
        key = f"p{i:02d}@x.test"
        where = draw(st.sampled_from((*SOURCES, "enterprise", None)))  # None: no record yet
        now = draw(st.sampled_from(CURRENT))
        if where is not None:
            remote.append(RemoteLead(f"id{i:02d}", key, where, now, frozenset()))
        target = draw(st.sampled_from(TARGETS))
        # keep the current owner, take another spec owner, or leave the owner to whoever has it
        kind = draw(st.sampled_from(("keep", "keep", "change", "unmanaged")))
        if kind == "keep" and now in SPEC_OWNERS:
            owner: str | None = now
        elif kind == "unmanaged":
            owner = None
        else:
            owner = draw(st.sampled_from(SPEC_OWNERS))
        desired.append(DesiredLead(key, target, owner, "r"))
    small = st.integers(1, 4)
    caps = Capabilities(
        move_sets_owner=draw(st.sampled_from((True, True, True, False))),
        add_chunk=draw(small),
        move_chunk=draw(small),
        assign_chunk=draw(small),
        remove_chunk=draw(small),
    )
    policy = Policy(claim=draw(st.sampled_from((Claim.MOVE, Claim.MOVE, Claim.SKIP))), protect=frozenset())
    return Case(desired, remote, policy, caps)


@settings(max_examples=600, deadline=None)
@given(cases())
def test_writes_equal_the_exhaustive_minimum_on_mixed_moves(case: Case) -> None:
    plan = case.plan()
    fewest = exhaustive_minimum(case.desired, case.remote, MANAGED, case.policy, case.caps, plan)
    assert plan.calls.writes == len(plan.operations) == fewest, "the plan makes more calls than it needs"
    assert plan.calls.lower_bound == fewest, "the plan's lower bound is not the true minimum"


@settings(max_examples=600, deadline=None)
@given(cases())
def test_the_folded_moves_still_reach_the_desired_state_and_never_change_a_kept_owner(case: Case) -> None:
    plan = case.plan()
    before = {r.id: r for r in case.remote}
    ws = FakeVendor(case.remote).apply(plan)
    assert ws.misses == 0
    after = {r.key: r for r in ws.remote() if r.destination in MANAGED}
    skipped = skipped_keys(plan)
    for d in case.desired:
        if d.key in skipped:
            continue
        assert after[d.key].destination == d.destination
        assert after[d.key].owner == (
            d.owner if d.owner is not None else next((r.owner for r in case.remote if r.key == d.key), None)
        )
    for op in plan.operations:  # a move's owner is set only where it changes, or where the person has it already
        if isinstance(op, MoveOp) and op.owner is not None:
            assert all(
                before[i].owner == op.owner or _wants(case, k) == op.owner
                for i, k in zip(op.lead_ids, op.keys, strict=True)
            )


def _wants(case: Case, key: str) -> str | None:
    return next(d.owner for d in case.desired if d.key == key)


# -- named cases ------------------------------------------------------------------------------------------


def test_people_who_keep_owner_x_ride_in_the_call_that_gives_others_x() -> None:
    """nurture -> enterprise: two people are given alice, three keep alice, two keep bob (a sticky pool).
    Before: 3 calls (alice; no owner; ...). Now: alice's call carries the keepers of alice, bob's keepers
    ride with nobody (no call sets bob), so 2 calls."""
    remote = [
        RemoteLead(f"{i}", f"k{i}@x.test", "nurture", o)
        for i, o in enumerate(["bob", "carol", "alice", "alice", "alice", "bob", "bob"])
    ]
    desired = [
        DesiredLead(f"k{i}@x.test", "enterprise", o, "r")
        for i, o in enumerate(["alice", "alice", "alice", "alice", None, "bob", None])
    ]
    plan = make_plan(DesiredState(desired), ResolvedWorkspace(remote, MANAGED), Policy(), PlanContext(INSTANTLY))
    calls = [(op.source, op.target, op.owner, op.lead_ids) for op in plan.operations if isinstance(op, MoveOp)]
    assert calls == [
        ("nurture", "enterprise", None, ("5", "6")),
        ("nurture", "enterprise", "alice", ("0", "1", "2", "3", "4")),
    ]
    assert plan.calls.writes == plan.calls.lower_bound == 2
    assert plan.summary.move == 7
    ws = FakeVendor(remote).apply(plan)
    assert {r.key: r.owner for r in ws.remote()} == {
        "k0@x.test": "alice",
        "k1@x.test": "alice",
        "k2@x.test": "alice",
        "k3@x.test": "alice",
        "k4@x.test": "alice",
        "k5@x.test": "bob",
        "k6@x.test": "bob",
    }


def test_keepers_fill_only_the_free_room_of_the_last_chunk() -> None:
    """Chunks of 3: one person given alice leaves room for two keepers of alice; the other three keepers
    share the no-owner call (1 + 1 calls, not 1 + 2 or 2 + 1)."""
    remote = [RemoteLead(f"{i}", f"k{i}@x.test", "nurture", "bob" if i == 0 else "alice") for i in range(6)]
    desired = [DesiredLead(f"k{i}@x.test", "enterprise", "alice", "r") for i in range(6)]
    plan = make_plan(
        DesiredState(desired), ResolvedWorkspace(remote, MANAGED), Policy(), PlanContext(Capabilities(move_chunk=3))
    )
    assert [(op.owner, op.lead_ids) for op in plan.operations if isinstance(op, MoveOp)] == [
        (None, ("3", "4", "5")),
        ("alice", ("0", "1", "2")),
    ]
    assert plan.calls.writes == plan.calls.lower_bound == 2


def test_the_exhaustive_search_finds_what_the_old_grouping_missed() -> None:
    """The search itself is not the planner's rule again: on the case the old grouping split in two, it
    finds one call."""
    remote = [RemoteLead("1", "a@x.test", "nurture", "bob"), RemoteLead("2", "b@x.test", "nurture", "alice")]
    desired = [DesiredLead("a@x.test", "enterprise", "alice", "r"), DesiredLead("b@x.test", "enterprise", None, "r")]
    plan = make_plan(DesiredState(desired), ResolvedWorkspace(remote, MANAGED), Policy(), PlanContext(INSTANTLY))
    assert exhaustive_minimum(desired, remote, MANAGED, Policy(), Capabilities(), plan) == 1
    assert plan.calls.writes == 1
