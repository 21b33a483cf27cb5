"""The pull-request renderer: tables, masking of every email, and the 60,000-character ceiling."""

from __future__ import annotations

import re

import pytest

from leadsync.plan import Names, Plan, PlanContext, PoolWeights, Workspace, make_plan
from leadsync.providers import INSTANTLY
from leadsync.render import mask_email, mask_key, mask_text, render, render_markdown
from leadsync.state import (
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

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DESTINATIONS = [f"dest-{i}" for i in range(12)]
OWNERS = ["alice", "bob", "carol", "dave"]


def huge(n: int = 100_000) -> tuple[Plan, set[str]]:
    """n people in 12 destinations: moves, adds, reassigns, removes, held, conflicts, unrouted, all in bulk."""
    desired, remote, unrouted = [], [], []
    for i in range(n):
        key = f"person.{i}@company{i % 97}.example.test"
        home, there = DESTINATIONS[i % 12], DESTINATIONS[(i * 5 + 1) % 12]  # never equal
        owner = OWNERS[i % 4]
        kind = i % 10
        if kind == 9:
            unrouted.append(key)
            continue
        desired.append(DesiredLead(key, there, owner, "route-a"))
        if kind == 0:
            continue  # a new lead
        statuses = frozenset({"replied"}) if kind == 1 else frozenset()
        remote.append(
            RemoteLead(
                f"id-{i}", key, home if kind in (2, 1) else there, OWNERS[(i + 1) % 4] if kind == 3 else owner, statuses
            )
        )
        if kind == 4:
            remote.append(RemoteLead(f"dup-{i}", key, home))  # a conflict when home != there
        if kind == 5:
            remote.append(RemoteLead(f"gone-{i}", f"gone.{i}@old{i % 13}.test", home))
    conflicts = [Conflict(None, ConflictReason.UNKNOWN_OWNER, "erin@acme.test is not a member", "erin")]
    plan = make_plan(
        DesiredState(desired, unrouted=unrouted),
        ResolvedWorkspace(remote, set(DESTINATIONS), conflicts),
        Policy(unmanaged=Unmanaged.REMOVE),
        PlanContext(INSTANTLY),
    )
    emails = {d.key for d in desired} | {r.key for r in remote if r.key} | set(unrouted) | {"erin@acme.test"}
    return plan, emails


@pytest.fixture(scope="module")
def big() -> tuple[Plan, str, set[str]]:
    plan, emails = huge()
    return plan, render_markdown(plan), emails


def test_a_100000_lead_plan_stays_under_60000_characters_and_says_what_it_cut(big: tuple[Plan, str, set[str]]) -> None:
    plan, text, _ = big
    assert plan.summary.move >= 10_000 and plan.summary.conflicts >= 10_000
    assert len(text) < 60_000
    assert re.search(r"… [\d,]+ more unrouted leads not shown", text)
    assert re.search(r"… [\d,]+ more conflicts not shown", text)
    assert f"… {plan.summary.move - 10:,} more not shown" in text


def test_no_email_of_the_input_appears_unmasked(big: tuple[Plan, str, set[str]]) -> None:
    _, text, emails = big
    found = set(EMAIL.findall(text))
    assert not found & emails
    assert all(re.fullmatch(r".\*\*\*@.\*\*\*\.\w+", e) for e in re.findall(r"\S+@\S+\.test", text.replace("`", " ")))


def test_the_comment_has_the_reviewers_tables(big: tuple[Plan, str, set[str]]) -> None:
    plan, text, _ = big
    # where the writes go comes first: a pull request that switches the workspace cannot look like a normal plan
    assert text.startswith("### leadsync plan\n\n**Workspace:** the embedded sandbox (emulating the instantly API)")
    assert "\n\n**Plan: " in text
    assert "| destination | before | add | move in | move out | reassign | remove | held | after | change |" in text
    assert "| owner | before | after | Δ |" in text
    assert "#### Moves (from → to)" in text
    assert "#### Held (protected status, not touched): " in text
    assert "#### Predicted API calls" in text and "| POST /api/v2/leads/move |" in text
    assert "<details><summary>Sample of changes (keys masked)</summary>" in text and text.rstrip().endswith(
        "</details>"
    )
    assert "**Safety:** ⚠️ needs `--force`" in text and "`dest-0`" in text
    assert plan.summary.unsupported == 0


def test_masking() -> None:
    assert mask_email("jane.doe@bigco.example.test") == "j***@b***.test"
    assert mask_email("j@b.test") == "j***@b***.test"
    assert mask_key("jane-doe-4711") == "j***"
    assert mask_key(None) == "-"
    assert mask_text("owner Alice.X@Acme.io and j***@b***.test, (bob@x.test)") == (
        "owner A***@A***.io and j***@b***.test, (b***@x***.test)"
    )


def test_a_small_plan_is_shown_whole_and_safe() -> None:
    plan = make_plan(
        DesiredState([DesiredLead("jane@bigco.test", "enterprise", "alice", "strategic")]),
        ResolvedWorkspace([RemoteLead("1", "jane@bigco.test", "nurture", "bob")], {"enterprise", "nurture"}),
        Policy(claim=Claim.MOVE),
        PlanContext(INSTANTLY),
    )
    text = render(plan, "markdown")
    assert "**Plan: 0 to add, 1 to move, 0 to reassign.**" in text
    assert "**Safety:** ✅ safe: no destination of at least 10 leads changes more than 30% of its leads" in text
    assert "| from \\ to | enterprise |\n|---|--:|\n| nurture | 1 |" in text
    assert "- `j***@b***.test` nurture → enterprise (owner bob → alice)" in text
    assert "jane@bigco.test" not in text and "not shown" not in text


def test_no_changes() -> None:
    plan = make_plan(DesiredState([]), ResolvedWorkspace([], {"enterprise"}), Policy(), PlanContext(INSTANTLY))
    text = render_markdown(plan)
    assert "**No changes.**" in text and "<details>" not in text


def test_a_cut_comment_closes_its_details_and_says_so(big: tuple[Plan, str, set[str]]) -> None:
    plan, _, emails = big
    text = render_markdown(plan, limit=5_000)
    assert len(text) <= 5_000
    assert re.search(r"… [\d,]+ more lines not shown: the comment is limited to 5,000 characters", text)
    assert text.count("<details>") == text.count("</details>")
    assert not set(EMAIL.findall(text)) & emails


# -- owner pools against their weights, and the read ---------------------------------------------------------


def pooled(read: ReadCost | None = None, pools: int = 1, operations: bool = True) -> Plan:
    """alice (weight 1) and bob (weight 2): after the plan alice owns a1 a2 and bob b1 b2 b3 b4 b5 (2 of 7 =
    28.6% vs 33.3%: -4.8 pts; 5 of 7 = 71.4% vs 66.7%: +4.8 pts); before, alice owned a1 b1 (100%: +66.7 pts);
    h1 is held with carol, outside the pool."""
    desired = [
        DesiredLead(f"{k}@x.test", "enterprise", "alice" if k[0] == "a" else "bob", "big")
        for k in ("a1", "a2", "b1", "b2", "b3", "b4", "b5", "h1")
    ]
    remote = [
        RemoteLead("1", "a1@x.test", "enterprise", "alice"),
        RemoteLead("2", "b1@x.test", "enterprise", "alice"),
        RemoteLead("3", "h1@x.test", "nurture", "carol", frozenset({"replied"})),
    ]
    if not operations:
        desired, remote = desired[:1], remote[:1]
    weights = [
        PoolWeights(f"pool-{i:03d}" if i else "ae", (("alice", 1.0), ("bob", 2.0)), ("big",)) for i in range(pools)
    ]
    return make_plan(
        DesiredState(desired),
        ResolvedWorkspace(remote, {"enterprise", "nurture"}),
        Policy(),
        PlanContext(INSTANTLY, workspace=Workspace("instantly", read=read), pools=weights),
    )


def test_each_pool_has_a_table_of_its_members_shares_against_their_weights() -> None:
    text = render_markdown(pooled())
    assert "#### Owner pools: load against the weights" in text
    assert "A pool's leads are the people routed down its routes." in text  # the definition, stated once
    assert (
        "**`ae`** (routes `big`): largest deviation after the plan **alice -4.8 pts (before: alice +66.7 pts)**" in text
    )
    assert (
        "| member | weight | before | after | Δ | share after | weight share | deviation |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|\n"
        "| alice | 1 | 2 | 2 | +0 | 28.6% | 33.3% | -4.8 pts |\n"
        "| bob | 2 | 0 | 5 | +5 | 71.4% | 66.7% | +4.8 pts |\n"
        "| (not members) |  | 1 | 1 | +0 |  |  |  |\n"
    ) in text
    assert text.index("#### Owner load") < text.index("#### Owner pools") < text.index("#### Held")
    assert "Owner pools" not in render_markdown(pooled(pools=0))


def test_a_plan_without_changes_still_shows_its_pools() -> None:
    text = render_markdown(pooled(operations=False))
    assert "**No changes.**" in text and "#### Destinations" not in text
    assert "| alice | 1 | 1 | 1 | +0 | 100.0% | 33.3% | +66.7 pts |" in text


def test_many_pools_are_capped_and_the_comment_stays_under_its_limit() -> None:
    plan = pooled(pools=60)
    text = render_markdown(plan)
    assert text.count("| member | weight |") == 20 and "… 40 more pools not shown" in text
    assert len(render_markdown(plan, limit=3_000)) <= 3_000


def test_the_read_is_stated_with_the_calls() -> None:
    read = ReadCost("contacts", 812, 26, 26, 1234)
    text = render_markdown(pooled(read))
    assert (
        "#### Predicted API calls\n\n**Read to make this plan:** 812 calls; 1,234 routed people not in managed "
        "destinations, looked up by email (26 calls).\n\n"
    ) in text
    assert "Read to make this plan" not in render_markdown(pooled())  # a snapshot's plan: nothing said


MEMBER_EMAILS = {"u-zed": "zed.member@acme.test", "u-ops": "ops@localhost"}


def named() -> Plan:
    """Moves out of outside places, from members the spec does not name, a held record and a conflict outside."""
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
                RemoteLead("2", "b@x.test", "nurture", "u-ops"),
                RemoteLead("3", "h@x.test", "list:l-9", None, frozenset({"replied"})),
                RemoteLead("4", "two@x.test", "campaign:c-9"),
                RemoteLead("5", "two@x.test", "list:l-<b>"),
            ],
            {"enterprise", "nurture"},
        ),
        Policy(claim=Claim.MOVE),
        PlanContext(
            INSTANTLY,
            names=Names(
                {"campaign:c-9": "Old Outbound", "list:l-9": "Badge scans", "list:l-<b>": "<b>from jo@acme.test</b>"},
                MEMBER_EMAILS,
            ),
        ),
    )


def test_outside_places_are_named_and_members_shown_by_their_masked_email() -> None:
    plan = named()
    assert plan.names.members == MEMBER_EMAILS  # the plan (and its JSON) keeps them as they are
    text = render_markdown(plan)
    # a vendor's names and members' emails are code spans (issue #25): no markup of theirs can render
    assert '| campaign `"Old Outbound"` | 1 |' in text  # the moves matrix
    assert '- `h***@x***.test` in list `"Badge scans"`, replied: would move to enterprise' in text
    assert '- `a***@x***.test` campaign `"Old Outbound"` → enterprise (owner `z***@a***.test` → alice)' in text
    assert "- `b***@x***.test` in nurture: owner `o***@l***` → bob" in text
    assert "| `o***@l***` | 1 | 0 | -1 |" in text  # the owner load (of managed destinations: zed's was outside)
    # a vendor's name is text, never HTML, and an email in it is masked like any other
    assert 'list `"<b>from j***@a***.test</b>"` (5)' in text
    for raw in ("c-9", "l-9", "u-zed", "u-ops"):
        assert raw not in text


def test_no_members_email_appears_unmasked_in_markdown() -> None:
    text = render(named(), "markdown")
    for email in [*MEMBER_EMAILS.values(), "jo@acme.test"]:
        assert email not in text
    assert EMAIL.findall(text) == [e for e in EMAIL.findall(text) if "***" in e]
