"""The planner's public surface and its purity: what the CLI may import, and what the planner may not."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_fakes import FakeVendor
from test_plan_properties import Scenario, scenarios

import leadsync.plan
import leadsync.render
from leadsync.plan import (
    Names,
    Plan,
    PlanContext,
    PoolLoad,
    PoolMember,
    PoolWeights,
    Workspace,
    load_plan,
    make_plan,
    plan_digest,
    pool_weights,
    remote_fingerprint,
)
from leadsync.providers import INSTANTLY, SONARLY
from leadsync.spec.loader import load_spec
from leadsync.state import DesiredLead, DesiredState, Policy, RemoteLead, ResolvedWorkspace

PACKAGE = Path(leadsync.plan.__file__).resolve().parents[1]
ROOT = PACKAGE.parent


def test_the_public_names_are_deliberate() -> None:
    for module in (leadsync.plan, leadsync.render):
        # isort order (constants, classes, functions), as ruff keeps it
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
        assert all(hasattr(module, name) for name in module.__all__)
    assert {"make_plan", "load_plan", "Plan", "UnsafePlanError", "remote_fingerprint"} <= set(leadsync.plan.__all__)
    assert {"render", "render_text", "render_markdown", "render_json"} <= set(leadsync.render.__all__)


def test_plan_and_render_do_no_io_of_their_own() -> None:
    forbidden = re.compile(
        r"^\s*(?:import|from)\s+(?:httpx|click|random|time|datetime|leadsync\.spec|leadsync\.providers|"
        r"leadsync\.cli)\b|os\.environ|getenv",
        re.MULTILINE,
    )
    files = [*(PACKAGE / "plan").glob("*.py"), *(PACKAGE / "render").glob("*.py"), PACKAGE / "snapshot.py"]
    assert len(files) > 8
    for path in files:
        assert not forbidden.search(path.read_text(encoding="utf-8")), path


def test_the_workspace_names_its_api() -> None:
    assert Workspace("instantly").api == "instantly" and Workspace().api == "instantly"
    assert Workspace("sonarly", "g1").api == "sonarly"
    assert Workspace("sandbox", "", "sonarly").api == "sonarly"


def test_a_sonarly_plan_counts_sonarly_endpoints_and_no_job_polls() -> None:
    plan = make_plan(
        DesiredState([DesiredLead("jane-doe", "founders", None, "r")]),
        ResolvedWorkspace([RemoteLead("p1", "jane-doe", "other")], {"founders", "other"}),
        Policy(),
        PlanContext(SONARLY, workspace=Workspace("sonarly", "g1")),
    )
    assert plan.calls.by_endpoint == {
        "GET /v1/accounts": 1,
        "GET /v1/accounts/{accountGroupId}/audiences": 1,
        "GET /v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects": 2,
        "POST /v1/accounts/{accountGroupId}/audiences/{audienceId}/move-leads": 1,
    }


def test_a_fingerprint_stays_unambiguous_when_values_hold_its_separators() -> None:
    plain = [RemoteLead("1", "a@x.test", "d"), RemoteLead("2", None, "d")]
    odd = [RemoteLead("1\x1fa@x.test", None, "d"), RemoteLead("2", None, "d")]
    assert remote_fingerprint(odd, managed={"d"}) != remote_fingerprint(plain, managed={"d"})
    assert remote_fingerprint(odd, managed={"d"}) == remote_fingerprint(list(reversed(odd)), managed=["d"])
    assert re.fullmatch(r"[0-9a-f]{64}", remote_fingerprint(iter(plain), managed={"d"}))


# -- owner pools: each pool's load against its weights -------------------------------------------------------

POOL = PoolWeights("ae", (("alice", 1.0), ("bob", 2.0)), ("big",))


def pool_plan(pools: tuple[PoolWeights, ...] = (POOL,)) -> Plan:
    """Eight people, each a case of the pool definition (see the comments), checked by hand below."""
    desired = [
        DesiredLead("p1@x.test", "enterprise", "alice", "big"),  # in place: alice -> alice
        DesiredLead("p2@x.test", "enterprise", "bob", "big"),  # moved and re-owned: alice -> bob
        DesiredLead("p3@x.test", "enterprise", "bob", "big"),  # added: - -> bob
        DesiredLead("p4@x.test", "enterprise", "bob", "big"),  # held (replied): carol -> carol (not a member)
        DesiredLead("p5@x.test", "enterprise", "alice", "big"),  # reassigned: unassigned -> alice
        DesiredLead("p6@x.test", "enterprise", "bob", "big"),  # two managed records: a conflict, not counted
        DesiredLead("p7@x.test", "nurture", "carol", "rest"),  # another route: not the pool's
        DesiredLead("p8@x.test", "enterprise", "bob", "big"),  # in place: bob -> bob
    ]
    remote = [
        RemoteLead("1", "p1@x.test", "enterprise", "alice"),
        RemoteLead("2", "p2@x.test", "nurture", "alice"),
        RemoteLead("4", "p4@x.test", "nurture", "carol", frozenset({"replied"})),
        RemoteLead("5", "p5@x.test", "enterprise", None),
        RemoteLead("6a", "p6@x.test", "enterprise", "bob"),
        RemoteLead("6b", "p6@x.test", "nurture", "bob"),
        RemoteLead("7", "p7@x.test", "nurture", "alice"),
        RemoteLead("8", "p8@x.test", "enterprise", "bob"),
    ]
    return make_plan(
        DesiredState(desired),
        ResolvedWorkspace(remote, {"enterprise", "nurture"}),
        Policy(),
        PlanContext(INSTANTLY, pools=pools),
    )


def test_a_pools_load_before_and_after_against_its_weights_by_hand() -> None:
    (pool,) = pool_plan().pools
    assert pool == PoolLoad(
        "ae",
        ("big",),
        (PoolMember("alice", 1.0, before=2, after=2), PoolMember("bob", 2.0, before=1, after=3)),
        sticky=False,
        others_before=2,  # p4 (carol) and p5 (unassigned)
        others_after=1,  # p4, held
    )
    alice, bob = pool.members
    assert pool.total() == 5 and pool.total(after=False) == 3
    assert pool.weight_share(alice) == pytest.approx(1 / 3) and pool.weight_share(bob) == pytest.approx(2 / 3)
    assert pool.share(alice) == pytest.approx(0.4) and pool.share(bob) == pytest.approx(0.6)
    assert pool.deviation(alice) == pytest.approx(100 * (0.4 - 1 / 3))  # +6.67 points
    assert pool.deviation(bob) == pytest.approx(100 * (0.6 - 2 / 3))  # -6.67 points
    assert pool.deviation(alice, after=False) == pytest.approx(100 * (2 / 3 - 1 / 3))  # +33.3 points
    member, points = pool.largest_deviation() or (None, 0.0)
    assert member == alice and points == pytest.approx(6.6667, abs=1e-4)  # a tie with bob: the first member
    assert make_plan(DesiredState([]), ResolvedWorkspace([], {"d"}), Policy(), PlanContext(INSTANTLY)).pools == ()


def test_a_pool_whose_members_own_nobody_has_no_shares() -> None:
    empty = PoolLoad("p", (), (PoolMember("alice", 1.0, 0, 0),), others_before=3, others_after=3)
    assert empty.share(empty.members[0]) is None and empty.deviation(empty.members[0]) is None
    assert empty.largest_deviation() is None and empty.weight_share(empty.members[0]) == 1.0
    (pool,) = pool_plan((PoolWeights("unused", (("bob", 1.0),), ("no-such-route",), sticky=True),)).pools
    assert pool == PoolLoad("unused", ("no-such-route",), (PoolMember("bob", 1.0, 0, 0),), sticky=True)


def test_pool_weights_read_a_spec() -> None:
    loaded = load_spec(ROOT / "specs" / "examples" / "quickstart.yaml")
    assert pool_weights(loaded.spec) == (
        PoolWeights("ae-team", (("alice", 1.0), ("bob", 2.0)), ("big-companies",), sticky=True),
    )


@given(
    st.lists(st.tuples(st.floats(0.01, 100), st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=8)
)
def test_the_shares_of_a_pools_members_sum_to_100_percent_and_the_deviations_to_0(
    members: list[tuple[float, int, int]],
) -> None:
    pool = PoolLoad("p", ("r",), tuple(PoolMember(f"m{i}", w, b, a) for i, (w, b, a) in enumerate(members)))
    assert sum(pool.weight_share(m) for m in pool.members) == pytest.approx(1.0)
    for after in (True, False):
        shares = [pool.share(m, after) for m in pool.members]
        if pool.total(after) == 0:
            assert shares == [None] * len(members) and pool.largest_deviation(after) is None
            continue
        assert sum(s for s in shares if s is not None) == pytest.approx(1.0)
        deviations = [pool.deviation(m, after) or 0.0 for m in pool.members]
        assert sum(deviations) == pytest.approx(0.0, abs=1e-6)
        found = pool.largest_deviation(after)
        assert found is not None and abs(found[1]) == pytest.approx(max(map(abs, deviations)))


@settings(max_examples=300)
@given(scenarios())
def test_a_pools_after_counts_are_the_owners_found_once_the_plan_is_applied(s: Scenario) -> None:
    """Recounted from the workspace the fake vendor holds after applying the plan, the definition's way:
    the pool's people (routed down r0 or r1) with one record in a managed destination, by its owner."""
    pool = PoolWeights("p", (("alice", 1.0), ("bob", 3.0)), ("r0", "r1"))
    plan = make_plan(
        DesiredState(s.desired, unrouted=s.unrouted),
        ResolvedWorkspace(s.remote, frozenset(s.managed), s.conflicts),
        s.policy,
        PlanContext(s.caps, pools=[pool]),
    )
    wishes: dict[str, list[DesiredLead]] = {}
    for d in s.desired:
        wishes.setdefault(d.key, []).append(d)
    people = {
        key
        for key, found in wishes.items()
        if len({(d.destination, d.owner) for d in found}) == 1 and min(d.route for d in found) in pool.routes
    }

    def owners(records: list[RemoteLead]) -> Counter[str | None]:
        mine: dict[str, list[RemoteLead]] = {}
        for r in records:
            if r.key in people and r.destination in s.managed:
                mine.setdefault(r.key, []).append(r)
        return Counter(found[0].owner for key, found in mine.items() if len(found) == 1 and key not in several)

    several = {k for k in people if sum(r.key == k and r.destination in s.managed for r in s.remote) > 1}
    before, after = owners(s.remote), owners(FakeVendor(s.remote).apply(plan).remote())
    (load,) = plan.pools
    assert {m.owner: m.before for m in load.members} == {m: before.pop(m, 0) for m in ("alice", "bob")}
    assert {m.owner: m.after for m in load.members} == {m: after.pop(m, 0) for m in ("alice", "bob")}
    assert (load.others_before, load.others_after) == (sum(before.values()), sum(after.values()))
    assert load_plan(plan.to_json()) == plan


# -- display names: carried, never decisive -------------------------------------------------------------------

ALL_NAMES = Names(
    {"campaign:c9": "Old Outbound", "list:l9": "Badge scans", "campaign:never": "Unused"},
    {"user-9": "nine@acme.test", "user-never": "never@acme.test"},
)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_names_are_only_carried_and_only_those_the_plan_mentions(s: Scenario) -> None:
    bare = s.plan()
    plan = make_plan(
        DesiredState(s.desired, unrouted=s.unrouted),
        ResolvedWorkspace(s.remote, frozenset(s.managed), s.conflicts),
        s.policy,
        PlanContext(s.caps, names=ALL_NAMES),
    )
    # the names change nothing else: not the operations, not the fingerprint, not the digest
    assert replace(plan, names=Names()) == bare
    assert plan.fingerprint == bare.fingerprint and plan_digest(plan) == plan_digest(bare)
    text = bare.to_json()  # the plan names an id somewhere iff its name is kept
    for ref, name in ALL_NAMES.places.items():
        assert (plan.names.place(ref) == name) == (f'"{ref}"' in text or f"{ref} (" in text)
    for user, email in ALL_NAMES.members.items():
        assert (plan.names.member(user) == email) == (f'"{user}"' in text)
    assert load_plan(plan.to_json()) == plan


def test_make_plan_without_names_has_none() -> None:
    plan = pool_plan()
    assert plan.names == Names() and not plan.names and "names" not in plan.to_document()
