"""The terminal renderer: Terraform-like groups, capped lists, colour only on request, one summary line."""

from __future__ import annotations

import dataclasses
import re

import pytest

from leadsync.errors import UnsafePlanError
from leadsync.plan import Names, Plan, PlanContext, PoolWeights, Workspace, make_plan
from leadsync.render import render, render_markdown, render_text, summary_line
from leadsync.state import (
    Capabilities,
    Claim,
    Conflict,
    ConflictReason,
    DesiredLead,
    DesiredState,
    Policy,
    ReadCost,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)

INSTANTLY = Capabilities()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plan_of(
    desired: list[DesiredLead],
    remote: list[RemoteLead],
    caps: Capabilities = INSTANTLY,
    conflicts: tuple[Conflict, ...] = (),
    **policy: object,
) -> Plan:
    return make_plan(
        DesiredState(desired),
        ResolvedWorkspace(remote, {"enterprise", "nurture"}, conflicts),
        Policy(**policy),
        PlanContext(caps),
    )


def mixed() -> Plan:
    desired = [
        DesiredLead("new@x.test", "enterprise", "alice", "r"),
        DesiredLead("mover@x.test", "enterprise", "bob", "r"),
        DesiredLead("owner@x.test", "nurture", "bob", "r"),
        DesiredLead("held@x.test", "enterprise", "bob", "r"),
    ]
    remote = [
        RemoteLead("1", "mover@x.test", "nurture", "alice"),
        RemoteLead("2", "owner@x.test", "nurture", "alice"),
        RemoteLead("3", "held@x.test", "nurture", "alice", frozenset({"won"})),
        RemoteLead("4", "gone@x.test", "enterprise", "alice"),
    ]
    return plan_of(desired, remote, unmanaged=Unmanaged.REMOVE)


def test_changes_are_grouped_by_destination_with_their_symbols() -> None:
    text = render_text(mixed())
    assert text == (
        "enterprise (1 -> 2 leads; moves: 1 in, 0 out)\n"
        "  ~ mover@x.test  nurture -> enterprise  owner alice -> bob\n"
        "  + new@x.test  owner alice  (route r)\n"
        "  - gone@x.test  (lead 4)\n"
        "\n"
        "nurture (3 -> 2 leads; moves: 0 in, 1 out)\n"
        "  ~ mover@x.test  nurture -> enterprise  owner alice -> bob\n"
        "  * owner@x.test  owner alice -> bob\n"
        "  ! held@x.test  held (won): would move to enterprise (owner bob)\n"
        "\n"
        "Safety: over 30% but exempt, fewer than min_destination_size (10) leads: enterprise 100.0% of 1 lead, "
        "nurture 66.7% of 3 leads\n"
        "\n"
        "Plan: 1 to add, 1 to move, 1 to reassign, 1 to remove, 1 held.\n"
    )


def test_every_heading_lists_the_moves_out_as_well_as_in_so_before_and_after_add_up() -> None:
    desired = [DesiredLead(f"m{i}@x.test", "enterprise", None, "r") for i in range(3)]
    desired.append(DesiredLead("back@x.test", "nurture", "bob", "r"))
    remote = [RemoteLead(f"{i}", f"m{i}@x.test", "nurture", "alice") for i in range(3)]
    remote += [RemoteLead("9", "back@x.test", "enterprise", None), RemoteLead("8", "z@x.test", "nurture")]
    text = render_text(plan_of(desired, remote))
    nurture = text.split("nurture (", 1)[1].split("\n\n", 1)[0]
    assert nurture.startswith("4 -> 2 leads; moves: 1 in, 3 out)")
    assert "  ~ back@x.test  enterprise -> nurture  owner (unassigned) -> bob" in nurture
    assert all(f"  ~ m{i}@x.test  nurture -> enterprise\n" in nurture + "\n" for i in range(3))


def test_claimed_moves_show_the_outside_place_they_leave() -> None:
    p = plan_of(
        [DesiredLead("a@x.test", "enterprise", None, "r")],
        [RemoteLead("1", "a@x.test", "campaign:c9")],
        claim=Claim.MOVE,
    )
    assert "campaign:c9 (not managed)\n  ~ a@x.test  campaign:c9 -> enterprise\n" in render_text(p)


def test_held_leads_say_what_would_have_been_done() -> None:
    p = plan_of(
        [DesiredLead("h@x.test", "enterprise", "bob", "r")],
        [RemoteLead("5", "h@x.test", "enterprise", "alice", frozenset({"replied"}))],
    )
    assert "  ! h@x.test  held (replied): would reassign to bob\n" in render_text(p)


def test_the_safety_limit_is_shown_unrounded() -> None:
    remote = [RemoteLead(f"{i}", f"k{i}@x.test", "enterprise", "alice") for i in range(100)]
    desired = [DesiredLead(f"k{i}@x.test", "enterprise", "bob" if i < 4 else "alice", "r") for i in range(100)]
    p = plan_of(desired, remote, max_change_ratio=0.035)
    assert "  ! enterprise: 4 of 100 leads change (4.0% > 3.5%): moved out, re-owned or removed\n" in render_text(p)
    assert "(limit 3.5% for destinations" in render_markdown(p)
    with pytest.raises(UnsafePlanError, match=r"more than 3\.5% of destination enterprise"):
        p.raise_if_unsafe()
    # a ratio just over the limit is not rounded down to it either
    just_over = plan_of(desired, remote, max_change_ratio=0.0399)
    assert "(4.0% > 3.99%)" in render_text(just_over)
    close = [DesiredLead(f"k{i}@x.test", "enterprise", "bob" if i < 3 else "alice", "r") for i in range(1000)]
    many = [RemoteLead(f"{i}", f"k{i}@x.test", "enterprise", "alice") for i in range(1000)]
    assert "(0.3% > 0.29%)" in render_text(plan_of(close, many, max_change_ratio=0.0029))


@pytest.mark.parametrize(
    ("desired", "remote", "policy", "line"),
    [
        ([DesiredLead("a@x.test", "enterprise", None, "r")], [], {}, "Plan: 1 to add, 0 to move, 0 to reassign."),
        (
            [DesiredLead("a@x.test", "enterprise", None, "r"), DesiredLead("b@x.test", "enterprise", None, "r")],
            [RemoteLead("1", "b@x.test", "nurture"), RemoteLead("2", "b@x.test", "enterprise")],
            {},
            "Plan: 1 to add, 0 to move, 0 to reassign, 1 conflict.",
        ),
        (
            [DesiredLead("a@x.test", "enterprise", None, "r")],
            [
                RemoteLead("1", "b@x.test", "enterprise"),
                RemoteLead("2", "c@x.test", "enterprise"),
                RemoteLead("3", "x@x.test", "list:9"),
                RemoteLead("4", "y@x.test", "list:9"),
            ],
            {"unmanaged": Unmanaged.REMOVE},
            "Plan: 1 to add, 0 to move, 0 to reassign, 2 to remove.",
        ),
        ([], [], {}, "No changes."),
    ],
)
def test_the_summary_line_is_exact(
    desired: list[DesiredLead], remote: list[RemoteLead], policy: dict[str, object], line: str
) -> None:
    plan = plan_of(desired, remote, **policy)
    text = render_text(plan)
    assert text.endswith("\n" + line + "\n") or text == line + "\n"
    assert summary_line(plan) == line
    assert sum(1 for x in text.splitlines() if x.startswith(("Plan:", "No changes."))) == 1


def test_summary_line_with_every_part_in_its_fixed_order() -> None:
    desired = [DesiredLead(f"a{i}@x.test", "enterprise", None, "r") for i in range(12)]
    desired += [
        DesiredLead("c@x.test", "enterprise", None, "r"),
        DesiredLead("d@x.test", "enterprise", None, "r"),
        DesiredLead("h@x.test", "enterprise", None, "r"),
    ]
    remote = [
        RemoteLead("1", "c@x.test", "nurture"),
        RemoteLead("2", "c@x.test", "enterprise"),
        RemoteLead("3", "d@x.test", "nurture"),
        RemoteLead("4", "d@x.test", "enterprise"),
        RemoteLead("5", "h@x.test", "nurture", None, frozenset({"replied"})),
        RemoteLead("6", "z@x.test", "enterprise"),
    ]
    caps = Capabilities(remove=False)
    plan = plan_of(desired, remote, caps=caps, unmanaged=Unmanaged.REMOVE)
    assert summary_line(plan) == "Plan: 12 to add, 0 to move, 0 to reassign, 1 held, 2 conflicts, 1 unsupported."


def test_no_changes_even_with_held_leads_listed_above() -> None:
    plan = plan_of(
        [DesiredLead("h@x.test", "enterprise", None, "r")],
        [RemoteLead("5", "h@x.test", "nurture", None, frozenset({"replied"}))],
    )
    text = render_text(plan)
    assert text.endswith("\nNo changes.\n") and "! h@x.test  held (replied)" in text


def test_long_groups_are_capped() -> None:
    plan = plan_of([DesiredLead(f"a{i:03d}@x.test", "enterprise", None, "r") for i in range(130)], [])
    text = render_text(plan, limit=25)
    assert text.count("  + ") == 25 and "  ... and 105 more\n" in text
    assert "a000@x.test" in text and "a025@x.test" not in text


def test_colour_only_when_asked_and_never_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = render_text(mixed())
    assert not ANSI.search(plain)
    coloured = render_text(mixed(), color=True)
    assert "\x1b[32m+ new@x.test" in coloured and "\x1b[33m~ mover@x.test" in coloured
    assert ANSI.sub("", coloured) == plain
    monkeypatch.setenv("NO_COLOR", "1")
    assert render_text(mixed(), color=True) == coloured
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert render_text(mixed()) == plain
    assert render(mixed(), "text") == plain


def test_conflicts_unsupported_and_unrouted_are_listed() -> None:
    workspace = Conflict(None, ConflictReason.UNKNOWN_OWNER, "carol@acme.test is not a member", "carol")
    plan = make_plan(
        DesiredState(
            [DesiredLead("a@x.test", "enterprise", "carol", "r"), DesiredLead("b@x.test", "nurture", None, "r")],
            unrouted=["u@x.test"],
        ),
        ResolvedWorkspace([], {"enterprise", "nurture"}, (workspace,)),
        Policy(),
        PlanContext(Capabilities(add=False)),
    )
    text = render_text(plan)
    assert "Unresolved spec names (nothing routed to them is changed):\n  ! carol  unknown owner: carol@acme" in text
    assert "Conflicts (1 person, never guessed, left as they are):\n  ! a@x.test  unknown owner: owner carol" in text
    assert "Unsupported (the provider cannot make these changes):\n  ! b@x.test  nurture: the provider cannot" in text
    assert "Unrouted (1 lead matched no route, left as they are):\n  u@x.test" in text
    assert text.endswith("No changes.\n")


def test_conflicts_count_people_and_unresolved_spec_names_are_named_apart() -> None:
    names = (
        Conflict(None, ConflictReason.UNKNOWN_OWNER, "carol@acme.test is not a member", "carol"),
        Conflict(None, ConflictReason.AMBIGUOUS_DESTINATION, "2 campaigns match", "vip"),
    )
    desired = [DesiredLead(f"{c}@x.test", "enterprise", "carol", "r") for c in "ab"]
    desired.append(DesiredLead("n@x.test", "nurture", None, "r"))
    plan = plan_of(desired, [], conflicts=names)
    assert plan.summary.conflicts == 2
    line = "Plan: 1 to add, 0 to move, 0 to reassign, 2 conflicts, 2 unresolved spec names."
    assert summary_line(plan) == line
    assert "#### Conflicts (never guessed, left as they are): 2 people" in render_markdown(plan)
    assert "#### Unresolved spec names (nothing routed to them is changed): 2" in render_markdown(plan)


# -- masking for CI logs, the owner pools, the read ----------------------------------------------------------


def test_mask_hides_every_key_and_email_like_the_markdown() -> None:
    conflicts = (Conflict(None, ConflictReason.UNKNOWN_OWNER, "erin@acme.test is not a member", "erin"),)
    plan = make_plan(
        DesiredState(
            [
                DesiredLead("new@x.test", "enterprise", "alice", "r"),
                DesiredLead("mover@x.test", "enterprise", "bob", "r"),
                DesiredLead("jane-doe-4711", "enterprise", "alice", "r"),
                DesiredLead("twice@x.test", "enterprise", "alice", "r"),
            ],
            unrouted=["lost@y.test"],
        ),
        ResolvedWorkspace(
            [
                RemoteLead("1", "mover@x.test", "nurture", "alice"),
                RemoteLead("2", "gone@x.test", "enterprise", "alice"),
                RemoteLead("3", "twice@x.test", "enterprise"),
                RemoteLead("4", "twice@x.test", "nurture"),
                RemoteLead("5", "held@x.test", "nurture", None, frozenset({"won"})),
            ],
            {"enterprise", "nurture"},
            conflicts,
        ),
        Policy(unmanaged=Unmanaged.REMOVE),
        PlanContext(INSTANTLY),
    )
    plain = render_text(plan)
    masked = render_text(plan, mask=True)
    for email in ("new@x.test", "mover@x.test", "gone@x.test", "twice@x.test", "lost@y.test", "erin@acme.test"):
        assert email in plain and email not in masked
    assert "jane-doe-4711" in plain and "jane-doe-4711" not in masked and "  + j***  owner alice" in masked
    assert "  ~ m***@x***.test  nurture -> enterprise  owner alice -> bob" in masked
    assert "t***@x***.test  multiple records" in masked and "e***@a***.test is not a member" in masked
    assert "Unrouted (1 lead matched no route, left as they are):\n  l***@y***.test" in masked
    assert not re.search(r"[\w.+-]+@[\w-]{2,}\.", masked)
    assert render(plan, "text", mask=True) == masked and render(plan, "text") == plain
    assert ANSI.sub("", render_text(plan, color=True, mask=True)) == masked
    assert masked.endswith(summary_line(plan) + "\n")


def test_each_pool_shows_its_members_share_against_their_weights() -> None:
    desired = [
        DesiredLead("a1@x.test", "enterprise", "alice", "big"),
        DesiredLead("a2@x.test", "enterprise", "alice", "big"),
        DesiredLead("b1@x.test", "enterprise", "bob", "big"),
        DesiredLead("b2@x.test", "enterprise", "bob", "big"),
        DesiredLead("b3@x.test", "enterprise", "bob", "big"),
        DesiredLead("h1@x.test", "enterprise", "bob", "big"),
    ]
    remote = [
        RemoteLead("1", "a1@x.test", "enterprise", "alice"),
        RemoteLead("2", "b1@x.test", "enterprise", "alice"),
        RemoteLead("3", "h1@x.test", "nurture", "carol", frozenset({"replied"})),
    ]
    plan = make_plan(
        DesiredState(desired),
        ResolvedWorkspace(remote, {"enterprise", "nurture"}),
        Policy(),
        PlanContext(INSTANTLY, pools=[PoolWeights("ae", (("alice", 1.0), ("bob", 3.0)), ("big",), sticky=True)]),
    )
    text = render_text(plan)
    # after: alice a1 a2 = 2, bob b1 b2 b3 = 3 -> 40% vs 25% (+15.0), 60% vs 75% (-15.0); h1 held, still carol's
    # before: alice a1 b1 = 2, bob 0 -> 100% vs 25% (+75.0)
    assert (
        "\nPool ae (sticky, routes big): largest deviation alice +15.0 pts (before: alice +75.0 pts)\n"
        "  alice  2 -> 2  40.0% (weight 25.0%, +15.0 pts)\n"
        "  bob    0 -> 3  60.0% (weight 75.0%, -15.0 pts)\n"
        "  not members: 1 -> 1\n"
    ) in text
    assert text.endswith("\n\n" + summary_line(plan) + "\n")
    assert "Pool " not in render_text(mixed())


@pytest.mark.parametrize(
    ("read", "line"),
    [
        (ReadCost("none", 12), "Read: 12 calls; every routed person was in a managed destination."),
        (
            ReadCost("contacts", 812, 26, 26, 1234),
            "Read: 812 calls; 1,234 routed people not in managed destinations, looked up by email (26 calls).",
        ),
        (
            ReadCost("workspace", 60, 52, 130, 1),
            (
                "Read: 60 calls; 1 routed person not in managed destinations, found by paging the workspace "
                "(52 calls, look-ups by email would take 130 calls)."
            ),
        ),
        (
            ReadCost("workspace+contacts", 200, 150, 140, 9000),
            (
                "Read: 200 calls; 9,000 routed people not in managed destinations, searched by paging the workspace "
                "up to half the price of look-ups, then looking up the rest by email (150 calls; look-ups alone: "
                "140 calls)."
            ),
        ),
    ],
)
def test_the_read_says_what_it_cost_and_how_it_looked_outside(read: ReadCost, line: str) -> None:
    plan = make_plan(
        DesiredState([DesiredLead("a@x.test", "enterprise", "alice", "r")]),
        ResolvedWorkspace([], {"enterprise"}),
        Policy(),
        PlanContext(INSTANTLY, workspace=Workspace("instantly", read=read)),
    )
    text = render_text(plan)
    assert text.endswith(f"\n\n{line}\n\n{summary_line(plan)}\n")
    assert "Read:" not in render_text(mixed())  # a snapshot's plan (no read): nothing said


def named(places: dict[str, str] | None = None, members: dict[str, str] | None = None, **policy: object) -> Plan:
    """A claimed move out of an outside campaign and a reassign away from a member the spec does not name, a
    held record in an outside list and a person found only outside (claim: skip has no say here: claim move)."""
    return make_plan(
        DesiredState(
            [
                DesiredLead("a@x.test", "enterprise", "alice", "r"),
                DesiredLead("b@x.test", "nurture", "bob", "r"),
                DesiredLead("h@x.test", "enterprise", "bob", "r"),
                DesiredLead("two@x.test", "enterprise", "bob", "r"),
            ]
        ),
        ResolvedWorkspace(
            [
                RemoteLead("1", "a@x.test", "campaign:c-9", "u-zed"),
                RemoteLead("2", "b@x.test", "nurture", "u-zed"),
                RemoteLead("3", "h@x.test", "list:l-9", None, frozenset({"replied"})),
                RemoteLead("4", "two@x.test", "campaign:c-9"),
                RemoteLead("5", "two@x.test", "list:l-9"),
            ],
            {"enterprise", "nurture"},
        ),
        Policy(**{"claim": Claim.MOVE, **policy}),
        PlanContext(
            INSTANTLY,
            names=Names(
                {"campaign:c-9": "Old Outbound", "list:l-9": "Badge scans"} if places is None else places,
                {"u-zed": "zed.member@acme.test"} if members is None else members,
            ),
        ),
    )


def test_outside_places_and_unnamed_members_are_shown_by_their_workspace_names() -> None:
    text = render_text(named())
    assert 'campaign "Old Outbound" (not managed)\n' in text
    assert '  ~ a@x.test  campaign "Old Outbound" -> enterprise  owner zed.member@acme.test -> alice\n' in text
    assert "  * b@x.test  owner zed.member@acme.test -> bob\n" in text
    assert 'list "Badge scans" (not managed)\n  ! h@x.test  held (replied): would move to enterprise' in text
    # free text too: the conflict's detail names the places the records are in
    assert 'claim: move: campaign "Old Outbound" (4), list "Badge scans" (5)' in text
    assert "c-9" not in text and "l-9" not in text and "u-zed" not in text


def test_mask_masks_a_members_email_as_it_masks_lead_keys() -> None:
    text = render_text(named(), mask=True)
    assert '  ~ a***@x***.test  campaign "Old Outbound" -> enterprise  owner z***@a***.test -> alice\n' in text
    assert "  * b***@x***.test  owner z***@a***.test -> bob\n" in text
    assert "zed.member" not in text and "u-zed" not in text
    # even an address the free-text masking would not recognise as one
    local = render_text(named(members={"u-zed": "ops@localhost"}), mask=True)
    assert "ops@localhost" not in local and "owner o***@l*** -> bob" in local
    assert "ops@localhost" in render_text(named(members={"u-zed": "ops@localhost"}))  # the operator's own terminal


def test_without_names_the_ids_are_shown_as_before() -> None:
    text = render_text(named(places={}, members={}))  # a plan made without them, or an older plan file
    assert "  ~ a@x.test  campaign:c-9 -> enterprise  owner u-zed -> alice\n" in text
    assert "campaign:c-9 (not managed)" in text


def test_two_places_of_one_name_are_told_apart_by_their_ids_and_odd_names_stay_on_one_line() -> None:
    text = render_text(named(places={"campaign:c-9": "Outbound", "list:l-9": "Outbound"}))
    assert 'campaign "Outbound" -> enterprise' in text  # a campaign and a list: the kind tells them apart
    text = render_text(named(places={"campaign:c-9": "Q4\nOutbound", "list:l-9": "x" * 100}))
    assert 'campaign "Q4\\nOutbound" (not managed)' in text
    assert 'list "' + "x" * 59 + '…" (not managed)' in text
    p = make_plan(
        DesiredState(
            [DesiredLead("a@x.test", "enterprise", None, "r"), DesiredLead("b@x.test", "enterprise", None, "r")]
        ),
        ResolvedWorkspace(
            [RemoteLead("1", "a@x.test", "campaign:c-1"), RemoteLead("2", "b@x.test", "campaign:c-2")], {"enterprise"}
        ),
        Policy(claim=Claim.MOVE),
        PlanContext(
            INSTANTLY, names=Names({"campaign:c-1": "Outbound", "campaign:c-2": "Outbound", "campaign:c-10": "Ten"}, {})
        ),
    )
    text = render_text(p)
    assert '~ a@x.test  campaign "Outbound" (c-1) -> enterprise' in text
    assert '~ b@x.test  campaign "Outbound" (c-2) -> enterprise' in text


def test_a_reference_in_free_text_is_named_only_when_it_is_the_whole_id() -> None:
    p = plan_of(
        [DesiredLead("a@x.test", "enterprise", None, "r")],
        [RemoteLead("1", "a@x.test", "campaign:c-1"), RemoteLead("2", "a@x.test", "campaign:c-10")],
        claim=Claim.MOVE,
    )
    assert "campaign:c-1 (1), campaign:c-10 (2)" in p.conflicts[0].detail
    p = dataclasses.replace(p, names=Names({"campaign:c-1": "One"}, {}))  # c-10 has no name here
    assert 'campaign "One" (1), campaign:c-10 (2)' in render_text(p)


def test_a_small_destination_over_the_limit_is_said_to_be_exempt() -> None:
    """A new user set max_change_ratio: 0.1 and saw 50% of a destination change without a word: the limit did not
    apply (8 leads < min_destination_size 10), and now the plan says so (text and markdown)."""
    remote = [RemoteLead(f"{i}", f"k{i}@x.test", "enterprise", "alice") for i in range(8)]
    desired = [DesiredLead(f"k{i}@x.test", "enterprise", "bob" if i < 4 else "alice", "r") for i in range(8)]
    p = plan_of(desired, remote, max_change_ratio=0.1)
    assert p.safety.safe
    assert (
        "Safety: over 10% but exempt, fewer than min_destination_size (10) leads: enterprise 50.0% of 8 leads"
        in render_text(p)
    )
    assert "over the limit but exempt as smaller: enterprise 50.0% of 8 leads" in render_markdown(p)
    assert "exempt" not in render_text(plan_of(desired, remote, max_change_ratio=0.5))
