"""One named test per planner rule (docs/design.md section 3): held, conflicts, unmanaged, claim, unsupported,
batching."""

from __future__ import annotations

from typing import Any

import pytest
from test_plan_fakes import FakeVendor

from leadsync.errors import PlanError, UnsafePlanError
from leadsync.plan import AddLead, AddOp, AssignOp, MoveOp, Plan, PlanContext, RemoveOp, load_plan, make_plan
from leadsync.providers import INSTANTLY
from leadsync.state import (
    DEFAULT_PROTECT,
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

MANAGED = frozenset({"enterprise", "nurture"})
SONARLY = Capabilities(add=False, assign=False, remove=False, move_sets_owner=False)


def want(key: str, destination: str = "enterprise", owner: str | None = "alice", route: str = "r") -> DesiredLead:
    return DesiredLead(key, destination, owner, route)


def rec(
    lead_id: str, key: str | None, destination: str = "nurture", owner: str | None = "alice", *statuses: str
) -> RemoteLead:
    return RemoteLead(lead_id, key, destination, owner, frozenset(statuses))


def plan(
    desired: list[DesiredLead],
    remote: list[RemoteLead],
    *,
    caps: Capabilities = INSTANTLY,
    conflicts: tuple[Conflict, ...] = (),
    unrouted: tuple[str, ...] = (),
    **policy: Any,
) -> Plan:
    return make_plan(
        DesiredState(desired, unrouted=unrouted),
        ResolvedWorkspace(remote, MANAGED, conflicts),
        Policy(**policy),
        PlanContext(caps),
    )


def reasons(p: Plan) -> list[tuple[str | None, ConflictReason]]:
    return [(c.key, c.reason) for c in p.conflicts]


# -- the plain changes ---------------------------------------------------------------------------------------


def test_nothing_to_do_is_an_empty_plan() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "enterprise")])
    assert p.operations == () and not p.has_changes
    assert p.summary.unchanged == 1


def test_a_moved_and_reowned_lead_is_one_move_carrying_the_owner() -> None:
    p = plan([want("a@x.test", owner="bob")], [rec("1", "a@x.test", "nurture", "alice")])
    assert p.operations == (MoveOp("nurture", "enterprise", "bob", ("1",), ("a@x.test",)),)
    assert (p.summary.move, p.summary.assign) == (1, 0)


def test_without_move_sets_owner_a_move_is_followed_by_an_assign() -> None:
    p = plan(
        [want("a@x.test", owner="bob")],
        [rec("1", "a@x.test", "nurture", "alice")],
        caps=Capabilities(move_sets_owner=False),
    )
    assert p.operations == (
        MoveOp("nurture", "enterprise", None, ("1",), ("a@x.test",)),
        AssignOp("bob", "enterprise", ("1",), ("a@x.test",)),
    )
    assert (p.summary.move, p.summary.assign) == (1, 0)  # counted once, as a move


def test_a_reowned_lead_in_place_is_an_assign() -> None:
    p = plan([want("a@x.test", owner="bob")], [rec("1", "a@x.test", "enterprise", "alice")])
    assert p.operations == (AssignOp("bob", "enterprise", ("1",), ("a@x.test",)),)


def test_owner_none_keeps_whatever_owner_the_record_has_and_adds_carry_none() -> None:
    p = plan(
        [want("a@x.test", owner=None), want("b@x.test", "nurture", owner=None)],
        [rec("1", "a@x.test", "enterprise", "zed")],
    )
    assert p.operations == (AddOp("nurture", (AddLead("b@x.test", None, "r"),)),)
    assert p.summary.unchanged == 1


def test_adds_are_one_call_per_destination_each_lead_with_its_own_owner() -> None:
    desired = [want(f"k{i:04d}@x.test", owner=("alice", "bob", None)[i % 3]) for i in range(2500)]
    p = plan(desired, [])
    assert [(op.op, len(op.keys)) for op in p.operations] == [("add", 1000), ("add", 1000), ("add", 500)]
    assert {lead.owner for op in p.operations for lead in op.leads} == {"alice", "bob", None}
    assert p.calls.writes == p.calls.lower_bound == 3


def test_moves_are_grouped_per_source_target_and_owner_to_set_and_chunked() -> None:
    desired = [want(f"a{i}@x.test", owner="alice") for i in range(5)] + [want("b@x.test", owner="bob")]
    remote = [rec(f"{i}", f"a{i}@x.test", owner=("alice", "bob")[i % 2]) for i in range(5)]
    remote.append(rec("9", "b@x.test"))
    p = plan(desired, remote, caps=Capabilities(move_chunk=2))
    # a0, a2, a4 keep alice: no owner to set; a1, a3 go from bob to alice; b from alice to bob
    assert [(op.source, op.target, op.owner, op.lead_ids) for op in p.operations] == [
        ("nurture", "enterprise", None, ("0", "2")),
        ("nurture", "enterprise", None, ("4",)),
        ("nurture", "enterprise", "alice", ("1", "3")),
        ("nurture", "enterprise", "bob", ("9",)),
    ]
    assert p.calls.writes == p.calls.lower_bound == 4


def test_a_move_sets_the_owner_only_when_it_changes_so_kept_owners_share_one_call() -> None:
    # a sticky pool: everyone keeps their owner, five owners, one move call (not one per current owner)
    owners = ["alice", "bob", "carol", "dave", "erin"]
    remote = [rec(f"{i}", f"k{i}@x.test", "nurture", owners[i % 5]) for i in range(50)]
    p = plan([want(f"k{i}@x.test", owner=owners[i % 5]) for i in range(50)], remote)
    assert [(op.op, op.source, op.target, op.owner, len(op.keys)) for op in p.operations] == [
        ("move", "nurture", "enterprise", None, 50)
    ]
    assert p.calls.writes == p.calls.lower_bound == 1
    ws = FakeVendor(remote).apply(p)
    assert {r.id: r.owner for r in ws.remote()} == {r.id: r.owner for r in remote}  # nobody re-owned


def test_records_without_a_key_are_never_touched() -> None:
    p = plan([], [rec("1", None, "enterprise")], unmanaged=Unmanaged.REMOVE)
    assert p.operations == () and p.destinations[0].before == 1


# -- held --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", DEFAULT_PROTECT)
def test_a_protected_lead_is_held_not_moved(status: str) -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "nurture", "alice", status)])
    assert p.operations == ()
    assert [(h.key, h.lead_id, h.statuses, h.change) for h in p.held] == [
        ("a@x.test", "1", (status,), "move to enterprise")
    ]
    assert p.summary.held == 1


@pytest.mark.parametrize("status", DEFAULT_PROTECT)
def test_a_protected_lead_is_not_reassigned_nor_removed(status: str) -> None:
    p = plan(
        [want("a@x.test", owner="bob")],
        [rec("1", "a@x.test", "enterprise", "alice", status), rec("2", "z@x.test", "enterprise", None, status)],
        unmanaged=Unmanaged.REMOVE,
    )
    assert p.operations == ()
    assert [h.change for h in p.held] == ["reassign to bob", "remove"]


def test_a_protected_lead_already_in_place_is_unchanged_not_held() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "enterprise", "alice", "replied")])
    assert p.held == () and p.summary.unchanged == 1


def test_only_the_policys_protected_statuses_hold() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "nurture", "alice", "replied")], protect=frozenset())
    assert len(p.operations) == 1 and p.held == ()


# -- conflicts ---------------------------------------------------------------------------------------------


def test_a_person_in_two_managed_destinations_is_a_conflict_and_untouched() -> None:
    p = plan([want("a@x.test", owner="bob")], [rec("1", "a@x.test", "enterprise"), rec("2", "a@x.test", "nurture")])
    assert p.operations == ()
    assert reasons(p) == [("a@x.test", ConflictReason.MULTIPLE_RECORDS)]
    assert "enterprise (1)" in p.conflicts[0].detail and "nurture (2)" in p.conflicts[0].detail


def test_claim_skip_a_person_only_outside_is_a_conflict() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "campaign:c9")], claim=Claim.SKIP)
    assert p.operations == () and reasons(p) == [("a@x.test", ConflictReason.OUTSIDE_ONLY)]


@pytest.mark.parametrize("reason", [ConflictReason.UNKNOWN_DESTINATION, ConflictReason.AMBIGUOUS_DESTINATION])
def test_an_unresolved_destination_makes_everyone_routed_to_it_a_conflict(reason: ConflictReason) -> None:
    workspace = Conflict(None, reason, "no campaign named 'Big'", "big")
    p = make_plan(
        DesiredState([want("a@x.test", "big"), want("b@x.test")]),
        ResolvedWorkspace([rec("1", "a@x.test")], {"enterprise", "nurture"}, (workspace,)),
        Policy(),
        PlanContext(INSTANTLY),
    )
    assert reasons(p) == [(None, reason), ("a@x.test", reason)]
    assert p.conflicts[1].subject == "big" and "no campaign named 'Big'" in p.conflicts[1].detail
    assert [op.keys for op in p.operations] == [("b@x.test",)]
    assert p.summary.conflicts == 1  # people: the spec name is listed, not counted


def test_summary_conflicts_counts_people_not_spec_names() -> None:
    unknown = Conflict(None, ConflictReason.UNKNOWN_OWNER, "carol@acme.test is not a member", "carol")
    p = plan([want(f"{c}@x.test", owner="carol") for c in "abc"], [], conflicts=(unknown,))
    assert len(p.conflicts) == 4 and p.summary.conflicts == 3


def test_a_destination_that_is_not_managed_is_a_conflict_even_unannounced() -> None:
    p = plan([want("a@x.test", "elsewhere")], [])
    assert reasons(p) == [("a@x.test", ConflictReason.UNKNOWN_DESTINATION)] and p.operations == ()


def test_an_unknown_owner_makes_its_leads_conflicts() -> None:
    workspace = Conflict(None, ConflictReason.UNKNOWN_OWNER, "carol@acme.test is not a member", "carol")
    p = plan([want("a@x.test", owner="carol"), want("b@x.test", owner=None)], [], conflicts=(workspace,))
    assert reasons(p) == [(None, ConflictReason.UNKNOWN_OWNER), ("a@x.test", ConflictReason.UNKNOWN_OWNER)]
    assert [op.keys for op in p.operations] == [("b@x.test",)]


def test_a_person_conflict_found_while_resolving_leaves_that_person_alone() -> None:
    given = Conflict("a@x.test", ConflictReason.MULTIPLE_RECORDS, "seen twice")
    p = plan([want("a@x.test")], [rec("1", "a@x.test")], conflicts=(given,), unmanaged=Unmanaged.REMOVE)
    assert p.operations == () and p.conflicts == (given,)


def test_two_different_wishes_for_one_person_are_a_conflict_equal_ones_are_one() -> None:
    p = plan([want("a@x.test"), want("a@x.test", "nurture"), want("b@x.test"), want("b@x.test")], [])
    assert reasons(p) == [("a@x.test", ConflictReason.DUPLICATE_KEY)]
    assert [op.keys for op in p.operations] == [("b@x.test",)]


def test_wishes_that_differ_only_in_fields_or_route_give_one_lead_whatever_the_order() -> None:
    jane = DesiredLead("jane@x.test", "enterprise", "alice", "r", {"first_name": "Jane"})
    janet = DesiredLead("jane@x.test", "enterprise", "alice", "r", {"first_name": "Janet"})
    other_route = DesiredLead("jane@x.test", "enterprise", "alice", "q", {"first_name": "Zed"})
    other_owner = (
        DesiredLead("joe@x.test", "enterprise", "bob", "r"),
        DesiredLead("joe@x.test", "enterprise", "alice", "r"),
    )
    plans = [plan([*order, *other_owner], []) for order in ([jane, janet], [janet, jane])]
    assert plans[0].to_json() == plans[1].to_json()
    (add,) = plans[0].operations
    assert isinstance(add, AddOp) and add.leads == (AddLead("jane@x.test", "alice", "r", {"first_name": "Jane"}),)
    assert reasons(plans[0]) == [("joe@x.test", ConflictReason.DUPLICATE_KEY)]  # another owner: a conflict
    (add,) = plan([janet, other_route, jane], []).operations
    assert isinstance(add, AddOp) and add.leads[0].route == "q"  # the smallest route, then the smallest fields


# -- destinations that did not resolve --------------------------------------------------------------------


def _blocked(reason: ConflictReason, *refs: str) -> Conflict:
    return Conflict(None, reason, "campaign:c-big is named by several destinations: big, vip", "big", refs)


@pytest.mark.parametrize(
    "reason",
    [
        ConflictReason.AMBIGUOUS_DESTINATION,
        ConflictReason.UNKNOWN_DESTINATION,
        ConflictReason.DESTINATION_NOT_READY,
    ],
)
@pytest.mark.parametrize("claim", list(Claim))
def test_a_record_where_an_unresolved_destination_points_is_not_outside(reason: ConflictReason, claim: Claim) -> None:
    p = plan(
        [want("a@x.test"), want("b@x.test")],
        [rec("1", "a@x.test", "campaign:c-big", None), rec("2", "b@x.test", "campaign:c9", None)],
        conflicts=(_blocked(reason, "campaign:c-big"),),
        claim=claim,
    )
    assert all("a@x.test" not in op.keys for op in p.operations), "never moved out of it, nor added elsewhere"
    (person,) = [c for c in p.conflicts if c.key == "a@x.test"]
    assert (person.reason, person.subject) == (reason, "big")
    assert "campaign:c-big (1)" in person.detail
    if claim is Claim.MOVE:  # a record truly outside is still claimed
        assert [(op.op, op.keys) for op in p.operations] == [("move", ("b@x.test",))]


def test_a_person_with_a_record_where_an_unresolved_destination_points_is_not_removed_elsewhere() -> None:
    p = plan(
        [],
        [rec("1", "z@x.test", "enterprise"), rec("2", "z@x.test", "list:l-2"), rec("3", "y@x.test", "enterprise")],
        conflicts=(_blocked(ConflictReason.AMBIGUOUS_DESTINATION, "list:l-1", "list:l-2"),),
        unmanaged=Unmanaged.REMOVE,
    )
    assert p.operations == (RemoveOp("enterprise", ("3",), ("y@x.test",)),)
    assert [(c.key, c.reason) for c in p.conflicts if c.key] == [("z@x.test", ConflictReason.AMBIGUOUS_DESTINATION)]
    assert p.summary.conflicts == 1


def test_people_no_one_would_touch_are_not_listed_for_an_unresolved_destination() -> None:
    p = plan(
        [],
        [
            rec("1", "z@x.test", "campaign:c-big"),
            rec("2", "y@x.test", "enterprise"),
            rec("3", "y@x.test", "campaign:c-big"),
        ],
        conflicts=(_blocked(ConflictReason.AMBIGUOUS_DESTINATION, "campaign:c-big"),),
    )
    assert p.operations == () and [c.key for c in p.conflicts] == [None]  # unmanaged: keep touches neither


# -- unmanaged ---------------------------------------------------------------------------------------------


def test_unmanaged_keep_leaves_unwanted_records_alone_silently() -> None:
    p = plan([], [rec("1", "z@x.test", "enterprise")], unmanaged=Unmanaged.KEEP)
    assert p.operations == () and p.warnings == ()


def test_unmanaged_report_lists_them_as_warnings() -> None:
    p = plan([], [rec("1", "z@x.test", "enterprise"), rec("2", "y@x.test", "campaign:c9")], unmanaged=Unmanaged.REPORT)
    assert p.operations == ()
    assert [(w.kind, w.key, w.destination, w.lead_id) for w in p.warnings] == [
        ("unmanaged", "z@x.test", "enterprise", "1")
    ]


def test_unmanaged_remove_removes_them_with_ids_but_never_unrouted_leads() -> None:
    p = plan(
        [],
        [rec("1", "z@x.test", "enterprise"), rec("2", "u@x.test", "enterprise"), rec("3", "y@x.test", "campaign:c9")],
        unmanaged=Unmanaged.REMOVE,
        unrouted=("u@x.test",),
    )
    assert p.operations == (RemoveOp("enterprise", ("1",), ("z@x.test",)),)
    assert p.unrouted == ("u@x.test",) and p.summary.unrouted == 1


# -- claim -------------------------------------------------------------------------------------------------


def test_claim_move_moves_the_outside_record_in() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "campaign:c9", None)], claim=Claim.MOVE)
    assert p.operations == (MoveOp("campaign:c9", "enterprise", "alice", ("1",), ("a@x.test",)),)


def test_claim_move_with_several_outside_records_is_a_conflict() -> None:
    p = plan(
        [want("a@x.test")], [rec("1", "a@x.test", "campaign:c9"), rec("2", "a@x.test", "list:l9")], claim=Claim.MOVE
    )
    assert p.operations == () and reasons(p) == [("a@x.test", ConflictReason.MULTIPLE_RECORDS)]


def test_claim_add_adds_a_new_record_and_leaves_the_outside_one() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "campaign:c9")], claim=Claim.ADD)
    assert p.operations == (AddOp("enterprise", (AddLead("a@x.test", "alice", "r"),)),)


def test_claim_add_holds_a_person_protected_elsewhere() -> None:
    p = plan([want("a@x.test")], [rec("1", "a@x.test", "campaign:c9", None, "unsubscribed")], claim=Claim.ADD)
    assert p.operations == () and [h.change for h in p.held] == ["add to enterprise"]


# -- unsupported -------------------------------------------------------------------------------------------


def test_a_provider_that_cannot_add_lists_the_person_as_unsupported() -> None:
    p = plan([want("a@x.test", owner=None)], [], caps=SONARLY)
    assert p.operations == ()
    assert [(u.key, u.destination, u.reason) for u in p.unsupported] == [
        ("a@x.test", "enterprise", "the provider cannot add leads")
    ]
    assert p.summary.unsupported == 1


def test_a_provider_that_cannot_assign_lists_a_reowned_person_as_unsupported_but_still_moves() -> None:
    p = plan(
        [want("a@x.test", owner="bob"), want("b@x.test", owner=None)],
        [rec("1", "a@x.test", "enterprise"), rec("2", "b@x.test")],
        caps=SONARLY,
    )
    assert [u.key for u in p.unsupported] == ["a@x.test"]
    assert p.operations == (MoveOp("nurture", "enterprise", None, ("2",), ("b@x.test",)),)


def test_a_provider_that_cannot_remove_lists_unwanted_records_as_unsupported() -> None:
    p = plan([], [rec("1", "z@x.test", "enterprise")], caps=SONARLY, unmanaged=Unmanaged.REMOVE)
    assert p.operations == () and [u.reason for u in p.unsupported] == ["the provider cannot remove leads"]


# -- safety ------------------------------------------------------------------------------------------------


def _big_move(size: int, moved: int, **policy: Any) -> Plan:
    remote = [rec(f"{i}", f"k{i}@x.test", "nurture") for i in range(size)]
    desired = [want(f"k{i}@x.test", "enterprise" if i < moved else "nurture") for i in range(size)]
    return plan(desired, remote, **policy)


def test_an_unsafe_plan_is_refused_without_force_and_passes_with_it() -> None:
    p = _big_move(20, 8)  # nurture: 8 of 20 leave = 40% > 30%
    assert p.safety.unsafe == ("nurture",) and not p.safety.safe
    with pytest.raises(UnsafePlanError) as caught:
        p.raise_if_unsafe(force=False)
    assert isinstance(caught.value, PlanError)
    assert "nurture (8 of 20 leads, 40.0%)" in str(caught.value) and "--force" in str(caught.value)
    p.raise_if_unsafe(force=True)
    stats = {d.name: d for d in p.destinations}
    assert (stats["nurture"].before, stats["nurture"].after, stats["nurture"].ratio) == (20, 12, 0.4)
    assert stats["enterprise"].unsafe is False  # 8 arrive in an empty destination: below min_destination_size


def test_a_change_at_the_ratio_is_safe() -> None:
    _big_move(20, 6).raise_if_unsafe()  # exactly 30%


def test_destinations_smaller_than_min_destination_size_are_exempt() -> None:
    assert _big_move(9, 9).safety.safe
    assert not _big_move(9, 9, min_destination_size=9).safety.safe


# -- calls and fingerprint ---------------------------------------------------------------------------------


def test_calls_predict_writes_reads_job_polls_and_time() -> None:
    remote = [rec(f"{i}", f"k{i}@x.test", "nurture") for i in range(250)] + [rec("x", "o@x.test", "list:l9")]
    p = plan([want("k0@x.test")], remote)
    assert p.calls.by_endpoint == {
        "GET /api/v2/background-jobs/{id}": 1,
        "GET /api/v2/campaigns": 1,
        "GET /api/v2/lead-lists": 1,
        "GET /api/v2/workspace-members": 1,
        "POST /api/v2/leads/list": 5,  # nurture: 3 pages, enterprise (empty): 1, outside records: 1
        "POST /api/v2/leads/move": 1,
    }
    assert (p.calls.writes, p.calls.reads, p.calls.seconds) == (1, 9, 0.1)


def test_the_fingerprint_covers_only_protected_statuses() -> None:
    remote = [rec("1", "a@x.test", "nurture", "alice", "paused"), rec("2", "b@x.test", "enterprise")]
    p = plan([want("a@x.test")], remote)
    completed = rec("1", "a@x.test", "nurture", "alice", "completed")
    assert not p.is_stale([completed, remote[1]]), "paused -> completed changes nothing the plan depends on"
    assert not p.is_stale([remote[0], rec("2", "b@x.test", "enterprise", "alice", "paused")])
    assert p.is_stale([rec("1", "a@x.test", "nurture", "alice", "replied"), remote[1]]), "now it would be held"
    assert p.is_stale([remote[0], rec("2", "b@x.test", "enterprise", "alice", "bounced")])
    assert p.is_stale([rec("1", "a@x.test", "nurture", "bob", "paused"), remote[1]])  # owner
    assert p.is_stale([rec("1", "a@x.test", "enterprise", "alice", "paused"), remote[1]])  # destination
    assert p.is_stale([*remote, rec("3", "c@x.test", "nurture")])  # a record appears
    assert p.is_stale(remote[:1])  # ... or disappears
    # a saved plan keeps its protect list, so that apply recomputes the same fingerprint
    again = load_plan(p.to_json())
    assert again.policy.protect == tuple(sorted(DEFAULT_PROTECT))
    assert not again.is_stale([completed, remote[1]]) and again.is_stale(remote[:1])
    narrow = plan([want("a@x.test")], remote, protect=frozenset({"won"}))
    assert not narrow.is_stale([rec("1", "a@x.test", "nurture", "alice", "replied"), remote[1]])
    assert narrow.fingerprint != p.fingerprint


def test_the_fingerprint_follows_the_remote_facts_and_detects_a_stale_plan() -> None:
    remote = [rec("1", "a@x.test"), rec("2", "b@x.test", "enterprise"), rec("3", "c@x.test", "campaign:c9")]
    p = plan([want("a@x.test")], remote)
    assert not p.is_stale(reversed(remote))
    assert not p.is_stale([*remote, rec("4", "zz@x.test", "campaign:c9")])  # outside, nobody the plan names
    assert p.is_stale([*remote, rec("4", "a@x.test", "campaign:c9")])  # outside, but a person the plan moves
    assert p.is_stale([rec("1", "a@x.test", owner="bob"), *remote[1:]])
    assert p.is_stale(remote[1:])
    assert not p.is_stale(remote[:2])  # the outside record of a person the plan does not name
