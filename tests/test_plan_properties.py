"""The planner's promises, over random desired and remote states (docs/design.md section 3).

Small key, destination and owner spaces make the awkward cases common: people with several records,
records outside managed destinations, held statuses, keyless records, unmanaged owners, tiny chunks,
duplicate wishes for one person, spec names the workspace could not resolve (a destination whose records
sit in a place the planner must not touch, an owner), and routes to a destination that is not managed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_fakes import FakeVendor
from test_plan_minimal import exhaustive_minimum, skipped_keys

from leadsync.plan import MoveOp, Plan, PlanContext, make_plan
from leadsync.state import (
    Capabilities,
    Claim,
    Conflict,
    ConflictReason,
    DesiredLead,
    DesiredState,
    Policy,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)

KEYS = [f"k{i}@x.test" for i in range(8)]
MANAGED = ("d0", "d1", "d2")  # what the spec names; a scenario may leave d2 unresolved
OUTSIDE = ("campaign:c9", "list:l9")
NOT_IN_WORKSPACE = "d9"  # a destination routing names that the workspace does not have
OWNERS = ("alice", "bob", "user-9", None)
STATUSES = ("replied", "paused", "bounced")
BLOCKING = (
    ConflictReason.UNKNOWN_DESTINATION,
    ConflictReason.AMBIGUOUS_DESTINATION,
    ConflictReason.DESTINATION_NOT_READY,
)


@dataclass(frozen=True)
class Scenario:
    desired: list[DesiredLead]
    remote: list[RemoteLead]
    unrouted: list[str]
    policy: Policy
    caps: Capabilities
    conflicts: tuple[Conflict, ...] = ()
    managed: tuple[str, ...] = MANAGED  # the spec's destinations that resolved

    def plan(self, remote: list[RemoteLead] | None = None) -> Plan:
        return make_plan(
            DesiredState(self.desired, unrouted=self.unrouted),
            ResolvedWorkspace(self.remote if remote is None else remote, frozenset(self.managed), self.conflicts),
            self.policy,
            PlanContext(self.caps),
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    keys = KEYS[: draw(st.integers(1, len(KEYS)))]
    record = st.tuples(
        st.sampled_from(MANAGED + OUTSIDE),
        st.sampled_from(OWNERS),
        st.frozensets(st.sampled_from(STATUSES), max_size=2),
    )
    # a cohort moving together, each keeping an owner of their own (a sticky pool): the case where moves of
    # one (source, target) must not split by current owner
    cohort = keys[: draw(st.sampled_from((0, 0, 2, 3)))] if len(keys) > 1 else []
    source, target = draw(st.permutations(MANAGED[:2]))
    rows = []
    for key in keys:  # most people have one record; some none, some several
        if key in cohort:
            rows.append((key, source, OWNERS[keys.index(key) % 3], frozenset()))
            continue
        for where in draw(
            st.lists(record, max_size=3).filter(lambda xs: len(xs) < 3 or xs[0] != xs[1])
            if draw(st.integers(0, 4)) == 0
            else st.lists(record, min_size=1, max_size=1)
        ):
            rows.append((key, *where))
    rows += [(None, *where) for where in draw(st.lists(record, max_size=2))]
    order = draw(st.permutations(range(len(rows))))
    remote = [RemoteLead(f"id-{i:02d}", *rows[j]) for i, j in enumerate(order)]
    place = st.tuples(st.sampled_from(MANAGED * 3 + (NOT_IN_WORKSPACE,)), st.sampled_from(("alice", "bob", None)))
    wanted = {key: draw(place) for key in keys if key not in cohort and draw(st.integers(0, 4))}  # most people
    for key in cohort:
        wanted[key] = (target, draw(st.sampled_from((OWNERS[keys.index(key) % 3], None))))
    if not wanted:
        wanted[keys[-1]] = draw(place)
    desired = [DesiredLead(k, d, o, "r" + d[-1], {"n": i}) for i, (k, (d, o)) in enumerate(sorted(wanted.items()))]
    for d in draw(st.lists(st.sampled_from(desired), max_size=2, unique_by=lambda d: d.key)):
        # routing may wish twice for one person: the same place with other fields (or route), or another place
        if draw(st.booleans()):
            route = draw(st.sampled_from(("r0", d.route)))
            desired.append(DesiredLead(d.key, d.destination, d.owner, route, {"n": -1}))
        else:
            other = draw(st.sampled_from([m for m in MANAGED if m != d.destination]))
            desired.append(DesiredLead(d.key, other, d.owner, d.route, d.fields))
    unrouted = draw(
        st.lists(st.sampled_from([k for k in keys if k not in wanted] or ["nobody@x.test"]), max_size=3, unique=True)
    )
    policy = Policy(
        unmanaged=draw(st.sampled_from(list(Unmanaged))),
        claim=draw(st.sampled_from(list(Claim))),
        protect=draw(st.frozensets(st.sampled_from(STATUSES), max_size=2)),  # often none held
    )
    small = st.integers(1, 3)
    mostly = st.sampled_from([True, True, True, False])  # a missing capability is the exception
    caps = Capabilities(
        add=draw(mostly),
        move=draw(mostly),
        assign=draw(mostly),
        remove=draw(mostly),
        move_sets_owner=draw(st.booleans()),
        add_chunk=draw(small),
        move_chunk=draw(small),
        assign_chunk=draw(small),
        remove_chunk=draw(small),
    )
    unresolved = draw(st.sampled_from((None, None, "destination", "owner")))
    conflicts: tuple[Conflict, ...] = ()
    managed = MANAGED
    if unresolved == "destination":  # d2 did not resolve: its records are there, in a place no one may touch
        reason = draw(st.sampled_from(BLOCKING))
        conflicts = (Conflict(None, reason, "d2 did not resolve", "d2", ("d2",)),)
        managed = ("d0", "d1")
    elif unresolved == "owner":
        reason = draw(st.sampled_from((ConflictReason.UNKNOWN_OWNER, ConflictReason.AMBIGUOUS_OWNER)))
        conflicts = (Conflict(None, reason, "bob did not resolve", "bob"),)
    return Scenario(desired, remote, unrouted, policy, caps, conflicts, managed)


def _skipped_keys(plan: Plan) -> set[str]:
    return skipped_keys(plan)


def fewest_writes(s: Scenario, plan: Plan) -> int:
    """The fewest write calls that can reach the desired state: an exhaustive search over every grouping the
    vendor's API allows (test_plan_minimal), never the planner's own rules counted again."""
    return exhaustive_minimum(s.desired, s.remote, frozenset(s.managed), s.policy, s.caps, plan, s.unrouted)


@settings(max_examples=500)
@given(scenarios())
def test_applying_the_plan_reaches_the_desired_state(s: Scenario) -> None:
    plan = s.plan()
    ws = FakeVendor(s.remote).apply(plan)
    assert ws.misses == 0, "every id an op names is where the op says"
    skipped = _skipped_keys(plan)
    after = ws.remote()
    for d in s.desired:
        if d.key in skipped:
            continue
        mine = [r for r in after if r.key == d.key and r.destination in s.managed]
        assert len(mine) == 1, (d, mine)
        assert mine[0].destination == d.destination
        assert d.owner is None or mine[0].owner == d.owner
    if s.policy.unmanaged is Unmanaged.REMOVE:
        wanted = {d.key for d in s.desired} | set(s.unrouted) | skipped
        assert not [r for r in after if r.destination in s.managed and r.key is not None and r.key not in wanted]


@settings(max_examples=500)
@given(scenarios())
def test_a_second_plan_after_apply_is_empty(s: Scenario) -> None:
    plan = s.plan()
    again = s.plan(FakeVendor(s.remote).apply(plan).remote())
    assert again.operations == ()
    assert again.summary.add == again.summary.move == again.summary.assign == again.summary.remove == 0


@settings(max_examples=500)
@given(scenarios())
def test_writes_equal_the_fewest_calls_counted_independently_and_the_summary_matches_the_ops(s: Scenario) -> None:
    plan = s.plan()
    fewest = fewest_writes(s, plan)
    assert plan.calls.writes == len(plan.operations) == fewest, "the plan makes more calls than it needs"
    assert plan.calls.lower_bound == fewest, "the plan's own lower bound is not the fewest calls"
    ops = plan.operations
    assert plan.summary.add == sum(len(op.keys) for op in ops if op.op == "add")
    assert plan.summary.move == sum(len(op.keys) for op in ops if op.op == "move")
    assert plan.summary.remove == len({k for op in ops if op.op == "remove" for k in op.keys})
    order = [op.op for op in ops]
    assert order == sorted(order, key=["move", "add", "assign", "remove"].index)
    for op in ops:
        limit = {
            "move": s.caps.move_chunk,
            "add": s.caps.add_chunk,
            "assign": s.caps.assign_chunk,
            "remove": s.caps.remove_chunk,
        }[op.op]
        assert 1 <= len(op.keys) <= limit
        if isinstance(op, MoveOp) and op.owner is not None:  # an owner only where it changes, or is already
            before = {r.id: r.owner for r in s.remote}
            assert any(before[i] != op.owner for i in op.lead_ids), "a call that sets an owner nobody needs"


@settings(max_examples=500)
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_same_inputs_in_any_order_give_the_same_bytes(s: Scenario, rnd: random.Random) -> None:
    desired, remote, unrouted = list(s.desired), list(s.remote), list(s.unrouted)
    rnd.shuffle(desired)  # duplicate wishes for one person (other fields, other route) included
    rnd.shuffle(remote)
    rnd.shuffle(unrouted)
    shuffled = make_plan(
        DesiredState(iter(desired), unrouted=iter(unrouted)),
        ResolvedWorkspace(iter(remote), iter(reversed(s.managed)), iter(s.conflicts)),
        s.policy,
        PlanContext(s.caps),
    )
    assert shuffled.to_json() == s.plan().to_json()


@settings(max_examples=500)
@given(scenarios())
def test_nothing_outside_managed_destinations_changes_unless_claim_move(s: Scenario) -> None:
    plan = s.plan()
    before = {r.id: r for r in s.remote if r.destination not in s.managed}
    after = {r.id: r for r in FakeVendor(s.remote).apply(plan).remote() if r.destination not in s.managed}
    moved_out = {
        i for op in plan.operations if isinstance(op, MoveOp) and op.source not in s.managed for i in op.lead_ids
    }
    if s.policy.claim is not Claim.MOVE:
        assert not moved_out
    assert after == {i: r for i, r in before.items() if i not in moved_out}
    for op in plan.operations:
        assert set(op.destinations[-1:]) <= set(s.managed), "every write lands in a managed destination"
        if op.op == "remove":
            assert s.policy.unmanaged is Unmanaged.REMOVE and op.lead_ids


@settings(max_examples=500)
@given(scenarios())
def test_people_with_a_record_where_an_unresolved_destination_points_are_never_touched(s: Scenario) -> None:
    plan = s.plan()
    blocked = {ref for c in s.conflicts for ref in c.refs}
    there = {r.key for r in s.remote if r.destination in blocked and r.key is not None}
    touched = {k for op in plan.operations for k in op.keys}
    assert not there & touched
    assert there & {d.key for d in s.desired} <= {c.key for c in plan.conflicts}


@settings(max_examples=500)
@given(scenarios())
def test_held_and_keyless_records_are_in_no_operation(s: Scenario) -> None:
    plan = s.plan()
    touched_ids = {i for op in plan.operations for i in getattr(op, "lead_ids", ())}
    touched_keys = {k for op in plan.operations for k in op.keys}
    protected = {r.id for r in s.remote if r.statuses & s.policy.protect}
    assert not touched_ids & protected
    assert not touched_ids & {r.id for r in s.remote if r.key is None}
    assert {h.lead_id for h in plan.held} <= protected
    desired_keys = {d.key for d in s.desired}
    assert not {h.key for h in plan.held if h.key in desired_keys} & touched_keys
    assert not {c.key for c in plan.conflicts} & touched_keys
    assert not set(s.unrouted) & touched_keys
