"""The promises of routing and owner pools, as properties."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.routing import Member, OwnerPool, Router
from leadsync.spec import LoadedSpec, load_leads
from leadsync.state import Lead

names = st.from_regex(r"[a-z]{3,10}", fullmatch=True)


def keys(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"p{rng.getrandbits(48):x}.{i}@c{i % 977}.test" for i in range(n)]


def pool(members: list[str], weights: list[float] | None = None, sticky: bool = False) -> OwnerPool:
    weights = weights or [1.0] * len(members)
    return OwnerPool("p", [Member(m, f"{m}@acme.test", w) for m, w in zip(members, weights, strict=True)], sticky)


def owners(p: OwnerPool, ks: list[str]) -> list[str]:
    return [p.pick(k)[0] for k in ks]


@settings(max_examples=30)
@given(st.lists(names, min_size=1, max_size=6, unique=True), names, st.integers(0, 1000))
def test_adding_a_member_moves_only_its_share_to_it(members: list[str], newcomer: str, seed: int) -> None:
    if newcomer in members:
        return
    ks = keys(10_000, seed)
    before = owners(pool(members), ks)
    after = owners(pool([*members, newcomer]), ks)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert all(a == newcomer for _, a in changed), "a lead moved between two old members"
    share = len(changed) / len(ks)
    assert abs(share - 1 / (len(members) + 1)) <= 0.05


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_adding_a_member_to_a_pool_of_n_re_owns_one_in_n_plus_one(n: int) -> None:
    members = ["ana", "ben", "cyd", "dee", "eve"][:n]
    ks = keys(10_000)
    before, after = owners(pool(members), ks), owners(pool([*members, "fox"]), ks)
    share = sum(b != a for b, a in zip(before, after, strict=True)) / len(ks)
    assert abs(share - 1 / (n + 1)) <= 0.05 / (n + 1)  # within 5% of the expected share


@settings(max_examples=30)
@given(st.lists(names, min_size=2, max_size=6, unique=True), st.data())
def test_removing_a_member_re_owns_only_its_leads(members: list[str], data: st.DataObject) -> None:
    leaving = data.draw(st.sampled_from(members))
    weights = data.draw(st.lists(st.floats(0.1, 10), min_size=len(members), max_size=len(members)))
    ks = keys(3_000, seed=len(members))
    before = owners(pool(members, weights), ks)
    remaining = [(m, w) for m, w in zip(members, weights, strict=True) if m != leaving]
    after = owners(pool([m for m, _ in remaining], [w for _, w in remaining]), ks)
    for b, a in zip(before, after, strict=True):
        assert b in (a, leaving)


@pytest.mark.parametrize("weights", [[1, 2, 3], [1, 1], [0.5, 2.5, 1, 4]])
def test_weights_hold_within_3_percent_over_100k_leads(weights: list[float]) -> None:
    members = [f"m{i}" for i in range(len(weights))]
    counts = Counter(owners(pool(members, weights), keys(100_000, seed=7)))
    total = sum(weights)
    for member, weight in zip(members, weights, strict=True):
        share = counts[member] / 100_000
        assert abs(share - weight / total) <= 0.03 * weight / total, (member, share, weight / total)


@given(st.lists(names, min_size=1, max_size=5, unique=True), st.data())
def test_a_sticky_owner_never_changes_while_in_the_pool(members: list[str], data: st.DataObject) -> None:
    p = pool(members, sticky=True)
    for key in keys(50, seed=len(members)):
        current = data.draw(st.sampled_from(members))
        assert p.pick(key, current)[0] == current
    outsider = "zz-" + members[0]
    assert p.pick("x@y.test", outsider)[0] == p.pick("x@y.test")[0]


@given(st.lists(names, min_size=1, max_size=5, unique=True), st.permutations(list(range(5))))
def test_pool_picks_do_not_depend_on_member_order(members: list[str], order: list[int]) -> None:
    shuffled = [members[i] for i in order if i < len(members)]
    ks = keys(200)
    assert owners(pool(members), ks) == owners(pool(shuffled), ks)


SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: K}
destinations: {a: {campaign: A}, b: {campaign: B}, c: {list: C}}
owners: {ana: {email: ana@acme.test}, ben: {email: ben@acme.test, weight: 3}}
pools: {team: {members: [ana, ben]}}
sources:
"""
ROUTES = """\
routes:
  - {name: big, when: {size: {gte: 500}}, to: a, owner: {pool: team}}
  - {name: de, when: {country: [DE, AT]}, to: b, owner: ana}
  - {name: rest, to: c}
"""
row = st.tuples(st.integers(0, 300), st.integers(0, 1000), st.sampled_from(["DE", "AT", "US", "FR"]))


# the fixture only gives a folder; every example rewrites all of its files
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=40, unique_by=lambda r: r[0]), st.randoms(use_true_random=False))
def test_routing_does_not_depend_on_source_order(
    make_spec: Callable[..., LoadedSpec], rows: list[tuple[int, int, str]], rng: random.Random
) -> None:
    half = len(rows) // 2
    files = {
        "one.csv": "email,size,country\n" + "".join(f"p{i}@x.test,{s},{c}\n" for i, s, c in rows[:half]),
        "two.jsonl": "".join(f'{{"email": "P{i}@X.test", "size": {s}, "country": "{c}"}}\n' for i, s, c in rows[half:]),
    }

    def desired(order: list[str]) -> set[tuple[str, str, str | None, str]]:
        sources = "".join(f"  - {{path: {name}}}\n" for name in order)
        loaded = make_spec(SPEC + sources + ROUTES, files)
        leads = load_leads(loaded).leads
        rng.shuffle(leads)
        return {(d.key, d.destination, d.owner, d.route) for d in Router(loaded).route(leads).desired}

    assert desired(["one.csv", "two.jsonl"]) == desired(["two.jsonl", "one.csv"])


def test_lead_attributes_do_not_leak_between_sources() -> None:
    a = Lead("a@x.test", ("a@x.test", "5"), {"email": 0, "size": 1}, "a.csv", 2)
    b = Lead("b@x.test", ("b@x.test",), {"email": 0}, "b.csv", 2)
    assert a.value("size") == "5" and b.value("size") is None
