"""The planner's promises, over random desired and remote states (DESIGN.md section 3).

Small key, destination and owner spaces make the awkward cases common: people with several records,
records outside managed destinations, held statuses, keyless records, unmanaged owners, tiny chunks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_fakes import FakeVendor

from leadsync.plan import MoveOp, Plan, make_plan
from leadsync.state import Capabilities, Claim, DesiredLead, Policy, RemoteLead, Unmanaged

KEYS = [f"k{i}@x.test" for i in range(8)]
MANAGED = ("d0", "d1", "d2")
OUTSIDE = ("campaign:c9", "list:l9")
OWNERS = ("alice", "bob", "user-9", None)
STATUSES = ("replied", "paused", "bounced")


@dataclass(frozen=True)
class Scenario:
    desired: list[DesiredLead]
    remote: list[RemoteLead]
    unrouted: list[str]
    policy: Policy
    caps: Capabilities

    def plan(self, remote: list[RemoteLead] | None = None) -> Plan:
        return make_plan(
            self.desired,
            self.remote if remote is None else remote,
            managed=frozenset(MANAGED),
            policy=self.policy,
            capabilities=self.caps,
            unrouted=self.unrouted,
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    keys = KEYS[: draw(st.integers(1, len(KEYS)))]
    record = st.tuples(
        st.sampled_from(MANAGED + OUTSIDE),
        st.sampled_from(OWNERS),
        st.frozensets(st.sampled_from(STATUSES), max_size=2),
    )
    rows = []
    for key in keys:  # most people have one record; some none, some several
        for where in draw(
            st.lists(record, max_size=3).filter(lambda xs: len(xs) < 3 or xs[0] != xs[1])
            if draw(st.integers(0, 4)) == 0
            else st.lists(record, min_size=1, max_size=1)
        ):
            rows.append((key, *where))
    rows += [(None, *where) for where in draw(st.lists(record, max_size=2))]
    order = draw(st.permutations(range(len(rows))))
    remote = [RemoteLead(f"id-{i:02d}", *rows[j]) for i, j in enumerate(order)]
    wanted = draw(
        st.dictionaries(
            st.sampled_from(keys), st.tuples(st.sampled_from(MANAGED), st.sampled_from(("alice", "bob", None)))
        )
    )
    desired = [DesiredLead(k, d, o, "r" + d[-1], {"n": i}) for i, (k, (d, o)) in enumerate(sorted(wanted.items()))]
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
    return Scenario(desired, remote, unrouted, policy, caps)


def _skipped_keys(plan: Plan) -> set[str]:
    return {h.key for h in plan.held} | {c.key for c in plan.conflicts if c.key} | {u.key for u in plan.unsupported}


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
        mine = [r for r in after if r.key == d.key and r.destination in MANAGED]
        assert len(mine) == 1, (d, mine)
        assert mine[0].destination == d.destination
        assert d.owner is None or mine[0].owner == d.owner
    if s.policy.unmanaged is Unmanaged.REMOVE:
        wanted = {d.key for d in s.desired} | set(s.unrouted) | skipped
        assert not [r for r in after if r.destination in MANAGED and r.key is not None and r.key not in wanted]


@settings(max_examples=500)
@given(scenarios())
def test_a_second_plan_after_apply_is_empty(s: Scenario) -> None:
    plan = s.plan()
    again = s.plan(FakeVendor(s.remote).apply(plan).remote())
    assert again.operations == ()
    assert again.summary.add == again.summary.move == again.summary.assign == again.summary.remove == 0


@settings(max_examples=500)
@given(scenarios())
def test_writes_equal_the_lower_bound_and_the_summary_matches_the_ops(s: Scenario) -> None:
    plan = s.plan()
    assert plan.calls.writes == len(plan.operations) == plan.calls.lower_bound
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


@settings(max_examples=500)
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_same_inputs_in_any_order_give_the_same_bytes(s: Scenario, rnd: random.Random) -> None:
    desired, remote, unrouted = list(s.desired), list(s.remote), list(s.unrouted)
    rnd.shuffle(desired)
    rnd.shuffle(remote)
    rnd.shuffle(unrouted)
    shuffled = make_plan(  # iterators too: the planner reads each input once
        iter(desired),
        iter(remote),
        managed=iter(reversed(MANAGED)),
        policy=s.policy,
        capabilities=s.caps,
        unrouted=iter(unrouted),
    )
    assert shuffled.to_json() == s.plan().to_json()


@settings(max_examples=500)
@given(scenarios())
def test_nothing_outside_managed_destinations_changes_unless_claim_move(s: Scenario) -> None:
    plan = s.plan()
    before = {r.id: r for r in s.remote if r.destination not in MANAGED}
    after = {r.id: r for r in FakeVendor(s.remote).apply(plan).remote() if r.destination not in MANAGED}
    moved_out = {
        i for op in plan.operations if isinstance(op, MoveOp) and op.source not in MANAGED for i in op.lead_ids
    }
    if s.policy.claim is not Claim.MOVE:
        assert not moved_out
    assert after == {i: r for i, r in before.items() if i not in moved_out}
    for op in plan.operations:
        assert set(op.destinations[-1:]) <= set(MANAGED), "every write lands in a managed destination"
        if op.op == "remove":
            assert s.policy.unmanaged is Unmanaged.REMOVE and op.lead_ids


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
