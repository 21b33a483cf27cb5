"""The safety threshold means what octoDNS users expect (issue #11): `max_change_ratio` is the share of a
destination's *existing* leads the plan moves out, re-owns or removes; arrivals (adds, moves in) are growth,
reported per destination and never counted."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from test_plan_properties import Scenario, scenarios

from leadsync.plan import Plan, PlanContext, make_plan
from leadsync.providers import INSTANTLY
from leadsync.state import DesiredLead, DesiredState, Policy, RemoteLead, ResolvedWorkspace, Unmanaged

MANAGED = frozenset({"enterprise", "nurture"})


def _plan(desired: list[DesiredLead], remote: list[RemoteLead], **policy: Any) -> Plan:
    return make_plan(
        DesiredState(desired), ResolvedWorkspace(remote, MANAGED), Policy(**policy), PlanContext(INSTANTLY)
    )


def test_a_routine_import_of_new_leads_needs_no_force() -> None:
    """100 leads in enterprise, 1,000 new ones arrive: the destination grows elevenfold, nothing existing
    changes, so the plan is safe at the default 30% (before: ratio 10.0, unsafe, and no setting allowed it)."""
    remote = [RemoteLead(f"e{i}", f"old{i}@x.test", "enterprise", "alice") for i in range(100)]
    desired = [DesiredLead(f"old{i}@x.test", "enterprise", "alice", "r") for i in range(100)]
    desired += [DesiredLead(f"new{i}@x.test", "enterprise", "bob", "r") for i in range(1000)]
    plan = _plan(desired, remote)
    (enterprise,) = [d for d in plan.destinations if d.name == "enterprise"]
    assert (enterprise.before, enterprise.add, enterprise.after) == (100, 1000, 1100)
    assert enterprise.changed == 0 and enterprise.ratio == 0.0 and not enterprise.unsafe
    assert plan.safety.safe
    plan.raise_if_unsafe(force=False)


def test_moves_in_are_growth_but_moves_out_count_at_their_source() -> None:
    """40 of nurture's 50 leads move to enterprise (20 leads): nurture loses 80% (unsafe), enterprise only
    grows (safe, 0%)."""
    remote = [RemoteLead(f"n{i}", f"n{i}@x.test", "nurture", "alice") for i in range(50)]
    remote += [RemoteLead(f"e{i}", f"e{i}@x.test", "enterprise", "alice") for i in range(20)]
    desired = [DesiredLead(f"n{i}@x.test", "enterprise" if i < 40 else "nurture", None, "r") for i in range(50)]
    desired += [DesiredLead(f"e{i}@x.test", "enterprise", None, "r") for i in range(20)]
    plan = _plan(desired, remote)
    stats = {d.name: d for d in plan.destinations}
    assert (stats["nurture"].changed, stats["nurture"].ratio, stats["nurture"].unsafe) == (40, 0.8, True)
    assert (stats["enterprise"].move_in, stats["enterprise"].changed, stats["enterprise"].unsafe) == (40, 0, False)
    assert plan.safety.unsafe == ("nurture",)


def test_reowned_and_removed_leads_count() -> None:
    remote = [RemoteLead(f"e{i}", f"e{i}@x.test", "enterprise", "alice") for i in range(20)]
    desired = [DesiredLead(f"e{i}@x.test", "enterprise", "bob" if i < 4 else "alice", "r") for i in range(16)]
    plan = _plan(desired, remote, unmanaged=Unmanaged.REMOVE)
    (enterprise,) = [d for d in plan.destinations if d.name == "enterprise"]
    assert (enterprise.reassign, enterprise.remove, enterprise.changed, enterprise.ratio) == (4, 4, 8, 0.4)
    assert enterprise.unsafe


@settings(max_examples=500)
@given(scenarios())
def test_the_ratio_counts_existing_leads_only_and_never_exceeds_one(s: Scenario) -> None:
    plan = s.plan()
    for d in plan.destinations:
        assert d.changed == d.move_out + d.reassign + d.remove
        assert d.changed <= d.before
        assert 0 <= d.ratio <= 1
        assert d.unsafe == (
            d.before >= s.policy.min_destination_size and d.changed / max(d.before, 1) > s.policy.max_change_ratio
        )
