"""The terminal renderer: Terraform-like groups, capped lists, colour only on request, one summary line."""

from __future__ import annotations

import re

import pytest

from leadsync.plan import Plan, make_plan
from leadsync.render import render, render_text, summary_line
from leadsync.state import Capabilities, Conflict, ConflictReason, DesiredLead, Policy, RemoteLead, Unmanaged

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
        desired,
        remote,
        managed={"enterprise", "nurture"},
        policy=Policy(**policy),  # type: ignore[arg-type]
        capabilities=caps,
        conflicts=conflicts,
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
        "enterprise (1 -> 2 leads)\n"
        "  ~ mover@x.test  nurture -> enterprise  owner bob\n"
        "  + new@x.test  owner alice  (route r)\n"
        "  - gone@x.test  (lead 4)\n"
        "\n"
        "nurture (3 -> 2 leads)\n"
        "  * owner@x.test  owner -> bob\n"
        "  ! held@x.test  held (won): not move to enterprise (owner bob)\n"
        "\n"
        "Plan: 1 to add, 1 to move, 1 to reassign, 1 to remove, 1 held.\n"
    )


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
        [DesiredLead("a@x.test", "enterprise", "carol", "r"), DesiredLead("b@x.test", "nurture", None, "r")],
        [],
        managed={"enterprise", "nurture"},
        policy=Policy(),
        capabilities=Capabilities(add=False),
        conflicts=(workspace,),
        unrouted=["u@x.test"],
    )
    text = render_text(plan)
    assert "Conflicts (never guessed, left as they are):\n  ! carol  unknown owner: carol@acme.test" in text
    assert "  ! a@x.test  unknown owner: owner carol: carol@acme.test is not a member" in text
    assert "Unsupported (the provider cannot make these changes):\n  ! b@x.test  nurture: the provider cannot" in text
    assert "Unrouted (1 lead matched no route, left as they are):\n  u@x.test" in text
    assert text.endswith("No changes.\n")
