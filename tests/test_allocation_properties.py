"""The promises of leadsync.allocation (capacity, away, accounts, fallbacks), as properties over random pools."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.allocation import Allocation, Ask, Member, OwnerPool, allocate

FALLBACK = "fb"  # the fallback owner, never a member
SECOND = ("q0", "q1")  # the members of the fallback pool


@dataclass
class Case:
    pools: dict[str, OwnerPool]
    asks: list[Ask]  # all of pool "p"
    capacity: dict[str, int]
    away: frozenset[str]
    load: dict[str, int]

    def run(self, asks: list[Ask] | None = None) -> Allocation:
        return allocate(
            {"p": self.asks if asks is None else asks},
            self.pools,
            capacity=self.capacity,
            away=self.away,
            load=self.load,
        )

    @property
    def pool(self) -> OwnerPool:
        return self.pools["p"]

    def __repr__(self) -> str:  # hypothesis's printer shows nothing of an OwnerPool: say what a failure needs
        pools = {n: (p.members, p.sticky, p.by, p.fallback_owner, p.fallback_pool) for n, p in self.pools.items()}
        return f"Case(pools={pools}, asks={self.asks}, capacity={self.capacity}, away={self.away}, load={self.load})"


@st.composite
def cases(draw: st.DrawFn, *, plain: bool = False) -> Case:
    """A pool "p" of 1-8 members; `plain`: no capacities, away members or fallbacks (the one-pass path's ground)."""
    n = draw(st.integers(1, 8))
    names = [f"m{i}" for i in range(n)]
    weights = draw(st.lists(st.floats(0.5, 5.0), min_size=n, max_size=n))
    sticky = draw(st.booleans())
    by = draw(st.sampled_from(["lead", "company"]))
    fallback_owner = None if plain else draw(st.sampled_from([None, FALLBACK]))
    fallback_pool = None if plain else draw(st.sampled_from([None, "q"]))
    pools = {
        "p": OwnerPool(
            "p",
            [Member(o, f"{o}@acme.test", w) for o, w in zip(names, weights, strict=True)],
            sticky,
            by=by,
            fallback_owner=fallback_owner,
            fallback_pool=fallback_pool,
        )
    }
    everyone = [*names, FALLBACK]
    if fallback_pool:
        pools["q"] = OwnerPool("q", [Member(o, f"{o}@acme.test", 1.0) for o in SECOND], False)
        everyone += list(SECOND)
    capacity: dict[str, int] = {}
    away: frozenset[str] = frozenset()
    if not plain:
        if draw(st.booleans()):  # capacities for some owners (the others unbounded)
            capacity = draw(st.dictionaries(st.sampled_from(everyone), st.integers(0, 12)))
        away = frozenset(draw(st.sets(st.sampled_from(everyone), max_size=len(everyone))))
    load = draw(st.dictionaries(st.sampled_from(everyone), st.integers(0, 6)))
    count = draw(st.integers(0, 30))
    accounts = draw(st.integers(1, 6))
    currents = st.sampled_from([None, "outsider", FALLBACK, *SECOND, *names])
    asks = []
    for i in range(count):
        key = f"lead{i}@x{i % 7}.test"
        account = key if by == "lead" else f"acct{draw(st.integers(0, accounts - 1))}"
        asks.append(Ask(i, key, account, draw(currents)))
    return Case(pools, asks, capacity, away, load)


def chain(case: Case) -> list[str]:
    """Every owner a unit of pool "p" may be offered to, in any order: members, fallbacks, down the pools."""
    owners: list[str] = []
    pool: OwnerPool | None = case.pool
    seen: set[str] = set()
    while pool is not None and pool.name not in seen:
        seen.add(pool.name)
        owners += [m.owner for m in pool.members]
        if pool.fallback_owner:
            owners.append(pool.fallback_owner)
        pool = case.pools.get(pool.fallback_pool) if pool.fallback_pool else None
    return owners


@settings(max_examples=400, deadline=None)
@given(cases())
def test_no_owner_ends_above_its_capacity(case: Case) -> None:
    placed = case.run()
    # a lead nobody could take stays with its current owner and counts in the load (it is not a new lead)
    stays = Counter(a.current for a in case.asks if placed.owners[a.slot] is None and a.current is not None)
    given = Counter(placed.owners[a.slot] for a in case.asks if placed.owners[a.slot] is not None)
    for owner, cap in case.capacity.items():
        assert placed.load[owner] == case.load.get(owner, 0) + given[owner] + stays[owner]
        new = [a.key for a in case.asks if placed.owners[a.slot] == owner and a.current != owner]
        if new:  # above capacity only with leads it holds already, never with one new to it
            assert placed.load[owner] <= cap, f"{owner} holds {placed.load[owner]} of {cap} with new leads {new}"
        else:  # what it holds it held before: its own leads, kept or left where they are
            assert placed.load[owner] <= max(cap, case.load.get(owner, 0) + sum(a.current == owner for a in case.asks))


@settings(max_examples=300, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_the_asks(case: Case, rng: random.Random) -> None:
    shuffled = list(case.asks)
    rng.shuffle(shuffled)
    first, second = case.run(), case.run(shuffled)
    assert {a.key: first.owners[a.slot] for a in case.asks} == {a.key: second.owners[a.slot] for a in case.asks}
    assert first.load == second.load


@settings(max_examples=400, deadline=None)
@given(cases())
def test_an_away_member_receives_only_its_own_leads(case: Case) -> None:
    placed = case.run()
    for ask in case.asks:
        owner = placed.owners[ask.slot]
        if owner in case.away:
            assert ask.current == owner, f"away {owner} was given {ask.key} (current {ask.current})"


@settings(max_examples=400, deadline=None)
@given(cases())
def test_an_ask_goes_unowned_only_when_nobody_could_take_it(case: Case) -> None:
    placed = case.run()
    assert set(placed.owners) == {a.slot for a in case.asks}
    unowned: dict[str, list[Ask]] = {}
    for ask in case.asks:
        owner = placed.owners[ask.slot]
        assert owner is None or isinstance(owner, str)
        if owner is None:
            unowned.setdefault(ask.account, []).append(ask)
    for account, group in unowned.items():  # what was left of one unit, placed (and refused) together
        for owner in chain(case):
            cap = case.capacity.get(owner)
            room = math.inf if cap is None else cap - placed.load[owner]
            refused_away = owner in case.away and any(a.current != owner for a in group)
            assert refused_away or room < len(group), (
                f"{account}: {len(group)} unowned while {owner} had room {room} (away: {owner in case.away}): {case!r}"
            )


@settings(max_examples=400, deadline=None)
@given(cases())
def test_an_account_stays_together_unless_a_member_owns_part_of_it(case: Case) -> None:
    if case.pool.by == "lead":
        return
    placed = case.run()
    groups: dict[str, list[Ask]] = {}
    for ask in case.asks:
        groups.setdefault(ask.account, []).append(ask)
    for account, group in groups.items():
        if case.pool.sticky and any(a.current in case.pool.names for a in group):
            continue
        assert len({placed.owners[a.slot] for a in group}) == 1, account


@settings(max_examples=400, deadline=None)
@given(cases(plain=True))
def test_without_capacity_away_or_fallback_it_is_the_one_pass_hash(case: Case) -> None:
    pool = case.pool
    placed = case.run()
    held: dict[str, Counter[str]] = {}
    for ask in case.asks:
        if ask.current in pool.names:
            held.setdefault(ask.account, Counter())[ask.current] += 1  # type: ignore[index]
    for ask in case.asks:
        owner = placed.owners[ask.slot]
        if not pool.sticky:
            assert owner == pool.choose(ask.account).owner
        elif pool.by == "lead":
            assert owner == (ask.current if ask.current in pool.names else pool.choose(ask.account).owner)
            assert owner == pool.pick(ask.key, ask.current)[0]  # the one-pass path's own call
        elif ask.account in held:  # the account owner: most of its leads, ties by rendezvous rank
            counts, rank = held[ask.account], pool.rank(ask.account)
            assert owner == min(counts, key=lambda o: (-counts[o], rank.index(o)))
        else:
            assert owner == pool.choose(ask.account).owner
