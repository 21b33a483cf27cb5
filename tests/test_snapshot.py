"""Snapshots in the sandbox seed format as remote state: resolution, statuses, emails, outside references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadsync.errors import PlanError, SnapshotError
from leadsync.plan import Names, PlanContext, make_plan
from leadsync.providers import INSTANTLY, load_snapshot, resolve_snapshot
from leadsync.providers.instantly_records import instantly_statuses
from leadsync.state import (
    Claim,
    ConflictReason,
    DesiredLead,
    DesiredState,
    DestinationRef,
    KeyKind,
    Policy,
    RemoteLead,
    ResolvedWorkspace,
)

DESTINATIONS = {
    "enterprise": DestinationRef("campaign", "Enterprise Q4"),
    "nurture": DestinationRef("list", "Nurture"),
    "by-id": DestinationRef("campaign", "c-3", by_id=True),
}
OWNERS = {"alice": "Alice@Acme.test", "bob": "bob@acme.test"}


def instantly_seed() -> dict[str, Any]:
    return {
        "api_keys": [{"key": "k", "scopes": ["all:*"]}],
        "members": [
            {"user_id": "u-alice", "email": "alice@acme.TEST"},
            {"user_id": "u-bob", "email": "bob@acme.test"},
            {"user_id": "u-zed", "email": "zed@acme.test"},
        ],
        "campaigns": [
            {"id": "c-1", "name": "Enterprise Q4"},
            {"id": "c-2", "name": "Other"},
            {"id": "c-3", "name": "Third"},
        ],
        "lists": [{"id": "l-1", "name": "Nurture"}, {"id": "l-2", "name": "Old list"}],
        "leads": [
            {"id": "1", "email": "  Jane@BigCo.test ", "campaign": "c-1", "assigned_to": "u-alice"},
            {"id": "2", "email": "joe@x.test", "list_id": "l-1", "assigned_to": "u-zed", "email_reply_count": 2},
            {"id": "3", "email": "amy@x.test", "campaign": "c-2", "lt_interest_status": 1},
            {"id": "4", "email": "not an email", "list_id": "l-2"},
            {"id": "5", "list_id": "l-1", "first_name": "Nameonly"},
            {"id": "6", "email": "kim@x.test", "campaign": "c-3", "status": -2},
        ],
    }


def resolve(
    data: dict[str, Any], destinations: dict[str, DestinationRef] = DESTINATIONS, owners: dict[str, str] = OWNERS
) -> Any:
    return resolve_snapshot(data, destinations=destinations, owners=owners, key_kind=KeyKind.EMAIL)


def test_an_instantly_snapshot_becomes_remote_state() -> None:
    ws = resolve(instantly_seed())
    assert ws.managed == {"enterprise", "nurture", "by-id"}
    assert ws.conflicts == ()
    assert ws.destination_refs == {"enterprise": "campaign:c-1", "nurture": "list:l-1", "by-id": "campaign:c-3"}
    assert ws.owner_ids == {"alice": "u-alice", "bob": "u-bob"}
    assert list(ws.remote) == [
        RemoteLead("1", "jane@bigco.test", "enterprise", "alice"),  # trimmed, lower-cased; member email any case
        RemoteLead("2", "joe@x.test", "nurture", "u-zed", frozenset({"replied"})),  # a member outside the spec
        RemoteLead("3", "amy@x.test", "campaign:c-2", None, frozenset({"interested"})),  # outside: a reference
        RemoteLead("4", None, "list:l-2"),  # no usable key
        RemoteLead("5", None, "nurture"),
        RemoteLead("6", "kim@x.test", "by-id", None, frozenset({"unsubscribed"})),
    ]


@pytest.mark.parametrize(
    ("lead", "statuses"),
    [
        ({"email_reply_count": 1}, {"replied"}),
        ({"email_reply_count": 0}, set()),
        ({"lt_interest_status": 1}, {"interested"}),
        ({"lt_interest_status": 2}, {"meeting_booked"}),
        ({"lt_interest_status": 3}, {"meeting_completed"}),
        ({"lt_interest_status": 4}, {"won"}),
        ({"lt_interest_status": 0}, {"out_of_office"}),
        ({"lt_interest_status": -1}, {"not_interested"}),
        ({"lt_interest_status": -2}, {"wrong_person"}),
        ({"lt_interest_status": -3}, {"lost"}),
        ({"lt_interest_status": -4}, {"no_show"}),
        ({"lt_interest_status": None}, set()),
        ({"status": 1}, set()),
        ({"status": -1}, {"bounced"}),
        ({"status": -2}, {"unsubscribed"}),
        ({"status": 3}, {"completed"}),
        ({"status": 2}, {"paused"}),
        ({"status": -3}, {"skipped"}),
        ({"status": True, "lt_interest_status": "x"}, set()),
        ({"status": -1, "lt_interest_status": 4, "email_reply_count": 3}, {"bounced", "won", "replied"}),
    ],
)
def test_instantly_statuses(lead: dict[str, Any], statuses: set[str]) -> None:
    assert instantly_statuses(lead) == statuses


def test_unknown_and_ambiguous_destinations_are_conflicts_and_not_managed() -> None:
    data = instantly_seed()
    data["campaigns"].append({"id": "c-9", "name": "Other"})
    ws = resolve(
        data,
        {
            "enterprise": DestinationRef("campaign", "Enterprise q4"),  # names match exactly: no guessing on case
            "other": DestinationRef("campaign", "Other"),
            "gone": DestinationRef("list", "l-404", by_id=True),
            "twin-a": DestinationRef("list", "Nurture"),
            "twin-b": DestinationRef("list", "l-1", by_id=True),
            "aud": DestinationRef("audience", "Founders"),
        },
    )
    assert ws.managed == frozenset()
    found = {(c.subject, c.reason) for c in ws.conflicts}
    assert found == {
        ("enterprise", ConflictReason.UNKNOWN_DESTINATION),
        ("other", ConflictReason.AMBIGUOUS_DESTINATION),
        ("gone", ConflictReason.UNKNOWN_DESTINATION),
        ("twin-a", ConflictReason.AMBIGUOUS_DESTINATION),
        ("twin-b", ConflictReason.AMBIGUOUS_DESTINATION),
        ("aud", ConflictReason.UNKNOWN_DESTINATION),
    }
    assert all(c.key is None for c in ws.conflicts)
    assert "c-2, c-9" in next(c.detail for c in ws.conflicts if c.subject == "other")
    # where each unresolved name may point: its records are not "outside", nobody may move them
    assert {c.subject: c.refs for c in ws.conflicts} == {
        "enterprise": (),
        "other": ("campaign:c-2", "campaign:c-9"),
        "gone": ("list:l-404",),
        "twin-a": ("list:l-1",),
        "twin-b": ("list:l-1",),
        "aud": (),
    }
    assert ws.blocked_refs == {"campaign:c-2", "campaign:c-9", "list:l-404", "list:l-1"}
    assert {r.destination for r in ws.remote} >= {"campaign:c-1", "list:l-1"}


def test_owner_emails_match_case_insensitively_and_unknown_or_shared_ones_conflict() -> None:
    data = instantly_seed()
    data["members"].append({"user_id": "u-bob2", "email": "BOB@acme.test"})
    ws = resolve(data, owners={"alice": "ALICE@acme.test", "bob": "bob@acme.test", "carol": "carol@acme.test"})
    assert ws.owner_ids == {"alice": "u-alice"}
    assert {(c.subject, c.reason) for c in ws.conflicts} == {
        ("bob", ConflictReason.AMBIGUOUS_OWNER),
        ("carol", ConflictReason.UNKNOWN_OWNER),
    }
    assert "carol@acme.test is not a member of the workspace" in {c.detail for c in ws.conflicts}


def test_two_owners_with_one_email_are_both_ambiguous() -> None:
    ws = resolve(instantly_seed(), owners={"alice": "alice@acme.test", "al": "Alice@acme.test"})
    assert ws.owner_ids == {}
    assert {(c.subject, c.reason) for c in ws.conflicts} == {
        ("al", ConflictReason.AMBIGUOUS_OWNER),
        ("alice", ConflictReason.AMBIGUOUS_OWNER),
    }
    assert ws.remote[0].owner == "u-alice"  # the raw user id: no owner name can be picked


def sonarly_seed() -> dict[str, Any]:
    return {
        "api_keys": [{"key": "k", "scopes": ["all"]}],
        "account_groups": [{"id": "g1", "name": "Growth Team"}, {"id": "g2", "name": "Other"}],
        "audiences": [
            {
                "id": "a1",
                "name": "Founders EU",
                "account_group_id": "g1",
                "type": "linkedin_search",
                "populating": False,
            },
            {"id": "a2", "name": "Busy", "account_group_id": "g1", "populating": True},
            {"id": "a3", "name": "Elsewhere", "account_group_id": "g1"},
            {"id": "a9", "name": "Founders EU", "account_group_id": "g2"},
        ],
        "prospects": [
            {"id": "p1", "audience_id": "a1", "publicIdentifier": "Jane-Doe-4711"},
            {"id": "p2", "audience_id": "a3", "linkedinUrl": "https://www.linkedin.com/in/joe-x/?trk=1"},
            {"id": "p3", "audience_id": "a9", "publicIdentifier": "other-group"},
            {"id": "p4", "audience_id": "a2", "publicIdentifier": "busy-one"},
            {"id": "p5", "audience_id": "a1"},
        ],
    }


@pytest.mark.parametrize("group", ["Growth Team", "g1"])
def test_a_sonarly_snapshot_in_one_account_group(group: str) -> None:
    ws = resolve_snapshot(
        sonarly_seed(),
        destinations={
            "founders": DestinationRef("audience", "Founders EU"),
            "busy": DestinationRef("audience", "Busy"),
        },
        owners={},
        key_kind=KeyKind.LINKEDIN,
        account_group=group,
    )
    assert ws.workspace_id == "g1"
    assert ws.managed == {"founders"}
    assert [(c.subject, c.reason, c.refs) for c in ws.conflicts] == [
        ("busy", ConflictReason.DESTINATION_NOT_READY, ("audience:a2",))
    ]
    assert list(ws.remote) == [
        RemoteLead("p1", "jane-doe-4711", "founders"),
        RemoteLead("p2", "joe-x", "audience:a3"),
        RemoteLead("p4", "busy-one", "audience:a2"),
        RemoteLead("p5", None, "founders"),
    ]


def test_a_sonarly_snapshot_needs_an_account_group_that_exists() -> None:
    with pytest.raises(SnapshotError, match="2 account groups; the spec must name one"):
        resolve_snapshot(sonarly_seed(), destinations={}, owners={}, key_kind=KeyKind.LINKEDIN)
    with pytest.raises(SnapshotError, match="no account group named 'Nope'"):
        resolve_snapshot(sonarly_seed(), destinations={}, owners={}, key_kind=KeyKind.LINKEDIN, account_group="Nope")


def test_a_snapshot_of_the_wrong_vendor_is_refused() -> None:
    with pytest.raises(
        SnapshotError, match=r"a Sonarly snapshot \(it has account_groups\) cannot serve a workspace keyed by email"
    ):
        resolve(sonarly_seed())
    with pytest.raises(SnapshotError, match="an Instantly snapshot cannot serve a workspace keyed by linkedin"):
        resolve_snapshot(instantly_seed(), destinations={}, owners={}, key_kind=KeyKind.LINKEDIN)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"seed\.json: not a snapshot: invalid JSON at line 1 column 2"),
        ("[]", r"seed\.json: not a snapshot: a JSON object is expected"),
        ('{"leads": {}}', r"seed\.json: leads: a list is expected"),
        ('{"leads": [{"id": "1"}, 7]}', r"seed\.json: leads\[1\]: an object is expected"),
        ('{"leads": [{"email": "a@x.test"}]}', r"seed\.json: leads\[0\]: 'id' is missing or not a string"),
        ('{"members": [{"email": "a@x.test"}]}', r"seed\.json: members\[0\]: 'user_id' is missing"),
    ],
)
def test_a_bad_snapshot_file_is_a_clear_error_naming_it(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "seed.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SnapshotError, match=message) as caught:
        load_snapshot(path, destinations=DESTINATIONS, owners=OWNERS, key_kind=KeyKind.EMAIL)
    assert isinstance(caught.value, PlanError)


def test_a_missing_snapshot_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"missing\.json: cannot read the snapshot"):
        load_snapshot(tmp_path / "missing.json", destinations={}, owners={}, key_kind=KeyKind.EMAIL)


def test_a_snapshot_from_a_file_plans_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(instantly_seed()), encoding="utf-8")
    ws = load_snapshot(path, destinations=DESTINATIONS, owners=OWNERS, key_kind=KeyKind.EMAIL)
    desired = [
        DesiredLead("jane@bigco.test", "nurture", "bob", "r"),
        DesiredLead("joe@x.test", "enterprise", "bob", "r"),
        DesiredLead("amy@x.test", "enterprise", None, "r"),
    ]
    plan = make_plan(
        DesiredState(desired), ResolvedWorkspace(ws.remote, ws.managed, ws.conflicts), Policy(), PlanContext(INSTANTLY)
    )
    assert [(op.op, op.keys) for op in plan.operations] == [("move", ("jane@bigco.test",))]
    assert [h.key for h in plan.held] == ["joe@x.test"]  # replied
    assert [(c.key, c.reason) for c in plan.conflicts] == [("amy@x.test", ConflictReason.OUTSIDE_ONLY)]


def test_claim_move_never_takes_a_lead_out_of_a_destination_the_spec_names_ambiguously() -> None:
    data = instantly_seed()  # amy is in c-2 ("Other"), which two spec names claim
    destinations = {
        **DESTINATIONS,
        "other": DestinationRef("campaign", "Other"),
        "also": DestinationRef("campaign", "c-2", by_id=True),
    }
    ws = resolve(data, destinations)
    assert "other" not in ws.managed and "campaign:c-2" in ws.blocked_refs
    plan = make_plan(
        DesiredState([DesiredLead("amy@x.test", "enterprise", None, "r")]),
        ResolvedWorkspace(ws.remote, ws.managed, ws.conflicts),
        Policy(claim=Claim.MOVE),
        PlanContext(INSTANTLY),
    )
    assert plan.operations == ()
    assert [(c.key, c.reason, c.subject) for c in plan.conflicts if c.key] == [
        ("amy@x.test", ConflictReason.AMBIGUOUS_DESTINATION, "also")
    ]
    assert plan.summary.conflicts == 1


@pytest.mark.parametrize("claim", [Claim.MOVE, Claim.ADD])
def test_a_prospect_in_an_audience_still_populating_is_left_alone(claim: Claim) -> None:
    ws = resolve_snapshot(
        sonarly_seed(),
        destinations={
            "founders": DestinationRef("audience", "Founders EU"),
            "busy": DestinationRef("audience", "Busy"),
        },
        owners={},
        key_kind=KeyKind.LINKEDIN,
        account_group="g1",
    )
    plan = make_plan(
        DesiredState([DesiredLead("busy-one", "founders", None, "r"), DesiredLead("joe-x", "founders", None, "r")]),
        ResolvedWorkspace(ws.remote, ws.managed, ws.conflicts),
        Policy(claim=claim),
        PlanContext(INSTANTLY),
    )
    assert all("busy-one" not in op.keys for op in plan.operations)
    assert ("busy-one", ConflictReason.DESTINATION_NOT_READY) in [(c.key, c.reason) for c in plan.conflicts]
    assert [op.keys for op in plan.operations] == [("joe-x",)]  # audience:a3 is truly outside: claimed


def test_a_busy_audience_no_destination_names_is_unseen_and_an_apply_cannot_call_that_converged() -> None:
    from leadsync.apply.applier import not_ready

    founders = {"founders": DestinationRef("audience", "Founders EU")}
    ws = resolve_snapshot(
        sonarly_seed(), destinations=founders, owners={}, key_kind=KeyKind.LINKEDIN, account_group="g1"
    )
    # people the spec routes may sit in Busy: nobody can see them, but that is no plan's business (a live read
    # never lists such an audience, so a plan from a snapshot must not say more) ...
    assert ws.unseen == {"audience:a2"} and ws.conflicts == ()
    assert not_ready(ws) == {"audience:a2"}  # ... only the apply's verification, which must not call it converged
    named = resolve_snapshot(
        sonarly_seed(),
        destinations={**founders, "busy": DestinationRef("audience", "Busy")},
        owners={},
        key_kind=KeyKind.LINKEDIN,
        account_group="g1",
    )
    assert named.unseen == frozenset() and not_ready(named) == {"busy"}


def test_an_instantly_snapshot_names_every_place_and_member_it_saw_for_display() -> None:
    data = instantly_seed()
    data["campaigns"].append({"id": "c-4"})  # no name: nothing to show but its id
    data["lists"].append({"id": "l-3", "name": "  Padded  "})
    data["members"].append({"user_id": "u-nomail"})
    ws = resolve(data)
    assert ws.place_names == {
        "campaign:c-1": "Enterprise Q4",
        "campaign:c-2": "Other",
        "campaign:c-3": "Third",
        "list:l-1": "Nurture",
        "list:l-2": "Old list",
        "list:l-3": "Padded",
    }
    # every member, in the spec or not, as the vendor spells the email; the planner keeps those it mentions
    assert ws.member_emails == {"u-alice": "alice@acme.TEST", "u-bob": "bob@acme.test", "u-zed": "zed@acme.test"}
    # display only: the remote state is what it was without the names
    assert ws.remote == resolve(instantly_seed()).remote


def test_a_sonarly_snapshot_names_the_audiences_of_its_account_group() -> None:
    ws = resolve_snapshot(sonarly_seed(), destinations={}, owners={}, key_kind=KeyKind.LINKEDIN, account_group="g1")
    assert ws.place_names == {"audience:a1": "Founders EU", "audience:a2": "Busy", "audience:a3": "Elsewhere"}
    assert ws.member_emails == {}  # Sonarly has no owners


def test_a_plan_from_a_snapshot_names_the_outside_place_and_the_member_it_mentions() -> None:
    ws = resolve(instantly_seed())
    plan = make_plan(
        DesiredState(
            [DesiredLead("amy@x.test", "enterprise", "alice", "r"), DesiredLead("joe@x.test", "nurture", "bob", "r")]
        ),
        ResolvedWorkspace(ws.remote, ws.managed, ws.conflicts),
        Policy(claim=Claim.MOVE, protect=frozenset()),
        PlanContext(INSTANTLY, names=Names(ws.place_names, ws.member_emails)),
    )
    assert [(op.op, getattr(op, "source", None)) for op in plan.operations] == [
        ("move", "campaign:c-2"),
        ("assign", None),
    ]
    # only what the plan mentions: not Old list, not Third (managed, named by the spec), not alice or bob
    assert plan.names == Names({"campaign:c-2": "Other"}, {"u-zed": "zed@acme.test"})


def test_statuses_tell_a_boolean_from_a_number_whatever_came_first() -> None:
    from leadsync.providers.instantly_records import instantly_statuses

    booleans = {"email_reply_count": True, "lt_interest_status": True}
    numbers = {"email_reply_count": 1, "lt_interest_status": 1}
    for first, _second in ((booleans, numbers), (numbers, booleans)):
        instantly_statuses(first)
        assert instantly_statuses(numbers) == {"replied", "interested"}
        assert instantly_statuses(booleans) == frozenset()
