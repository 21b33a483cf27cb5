"""leadsync.allocation by example: spills, fallbacks, pool full, account owners, away members."""

from __future__ import annotations

from leadsync.allocation import Ask, Member, OwnerPool, allocate


def pool(name: str, owners: list[str], *, sticky: bool = False, by: str = "lead", fallback_owner: str | None = None,
         fallback_pool: str | None = None) -> OwnerPool:
    return OwnerPool(name, [Member(o, f"{o}@acme.test", 1.0) for o in owners], sticky, by=by,
                     fallback_owner=fallback_owner, fallback_pool=fallback_pool)


def keys_ranked_first(
    p: OwnerPool, owner: str, n: int, prefix: str = "k", shares: dict[str, float] | None = None
) -> list[str]:
    """The first n generated keys that `owner` ranks first for in `p` (so the test knows who is offered them);
    `shares`: the weights the pool ranks by when capacities bind (each capped member's room)."""
    found, i = [], 0
    while len(found) < n:
        key = f"{prefix}{i}@x.test"
        if p.rank(key, shares)[0] == owner:
            found.append(key)
        i += 1
    return found


def lead_asks(keys: list[str], current: str | None = None) -> list[Ask]:
    return [Ask(i, k, k, current) for i, k in enumerate(keys)]


def test_a_full_member_spills_to_the_next_ranked_member() -> None:
    p = pool("p", ["ana", "bo"])
    # ana's room (1) is her share of the 3 leads, bo takes the rest: 1 and 2 are the weights they rank by
    asks = lead_asks(keys_ranked_first(p, "ana", 3, shares={"ana": 1.0, "bo": 2.0}))
    placed = allocate({"p": asks}, {"p": p}, capacity={"ana": 1})
    owners = [placed.owners[a.slot] for a in asks]
    assert sorted(owners) == ["ana", "bo", "bo"]
    assert placed.load == {"ana": 1, "bo": 2}
    spilled = [placed.reasons[a.slot] for a in asks if placed.owners[a.slot] == "bo"]
    assert all("shares held to the room left (ana 1); ranked 2, after ana full (1/1)" in why for why in spilled)


def test_a_capped_member_is_ranked_by_its_room_so_little_spills() -> None:
    """Ranked by the spec's weights, ana (weight 1 of 2, room 10) would be first for about 50 of 100 leads and
    turn 40 away; ranked by shares held to her room, she is first for about 10, and the rest go to bo first."""
    p = pool("p", ["ana", "bo"])
    asks = lead_asks([f"k{i}@x.test" for i in range(100)])
    placed = allocate({"p": asks}, {"p": p}, capacity={"ana": 10})
    assert placed.load == {"ana": 10, "bo": 90}
    spilled = sum("after ana full" in placed.reasons[a.slot] for a in asks)
    by_weight = sum(p.rank(a.key)[0] == "ana" for a in asks) - 10
    assert by_weight >= 30 and spilled <= 8, (by_weight, spilled)
    first = sum(p.rank(a.key, {"ana": 10.0, "bo": 90.0})[0] == "ana" for a in asks)
    assert spilled == max(0, first - 10)


def test_the_fallback_owner_takes_the_overflow() -> None:
    p = pool("p", ["ana", "bo"], fallback_owner="zed")
    asks = lead_asks([f"k{i}@x.test" for i in range(5)])
    placed = allocate({"p": asks}, {"p": p}, capacity={"ana": 1, "bo": 1})
    assert placed.load == {"ana": 1, "bo": 1, "zed": 3}
    for ask in asks:
        if placed.owners[ask.slot] == "zed":
            assert placed.reasons[ask.slot].startswith("fallback of pool 'p'")


def test_a_full_pool_falls_back_to_another_pool() -> None:
    p = pool("p", ["ana"], fallback_pool="q")
    q = pool("q", ["cy", "dee"])
    asks = lead_asks([f"k{i}@x.test" for i in range(4)])
    placed = allocate({"p": asks}, {"p": p, "q": q}, capacity={"ana": 1})
    owners = [placed.owners[a.slot] for a in asks]
    assert owners.count("ana") == 1
    assert all(o in {"cy", "dee"} for o in owners if o != "ana")
    for ask in asks:
        if placed.owners[ask.slot] != "ana":
            assert "pool 'q'" in placed.reasons[ask.slot] and "ana full (1/1)" in placed.reasons[ask.slot]


def test_a_full_pool_gives_none_naming_who_was_full_or_away() -> None:
    p = pool("p", ["ana", "bo"], fallback_owner="zed")
    asks = lead_asks(["k1@x.test"])
    placed = allocate({"p": asks}, {"p": p}, capacity={"bo": 2, "zed": 0}, away=frozenset({"ana"}),
                      load={"bo": 2})
    assert placed.owners[0] is None
    why = placed.reasons[0]
    assert why.startswith("no member or fallback can take it")
    assert "ana away" in why and "bo full (2/2)" in why and "zed full (0/0)" in why


def test_the_account_owner_keeps_the_account_and_takes_its_new_leads() -> None:
    p = pool("p", ["ana", "bo", "cy"], sticky=True, by="company")
    asks = [Ask(0, "a@acme.test", "acme", "ana"), Ask(1, "b@acme.test", "acme", "ana"),
            Ask(2, "c@acme.test", "acme", "bo"), Ask(3, "d@acme.test", "acme", None)]
    placed = allocate({"p": asks}, {"p": p}, capacity={})
    assert [placed.owners[i] for i in range(4)] == ["ana"] * 4
    assert "sticky account: ana owns 2 of the 4 leads of company 'acme'" in placed.reasons[3]
    assert placed.reasons[3].endswith("(account owner wins)")


def test_a_tie_between_account_owners_goes_by_rendezvous_rank() -> None:
    p = pool("p", ["ana", "bo", "cy"], sticky=True, by="company")
    asks = [Ask(0, "a@initech.test", "initech", "ana"), Ask(1, "b@initech.test", "initech", "bo"),
            Ask(2, "c@initech.test", "initech", None)]
    placed = allocate({"p": asks}, {"p": p}, capacity={})
    first = next(o for o in p.rank("initech") if o in {"ana", "bo"})
    assert {placed.owners[i] for i in range(3)} == {first}


def test_an_away_member_keeps_its_leads_that_hash_to_it_in_a_non_sticky_pool() -> None:
    p = pool("p", ["ana", "bo"])
    mine, new = keys_ranked_first(p, "ana", 2)
    elsewhere = keys_ranked_first(p, "bo", 1)[0]
    asks = [Ask(0, mine, mine, "ana"), Ask(1, new, new, None), Ask(2, elsewhere, elsewhere, "ana")]
    placed = allocate({"p": asks}, {"p": p}, capacity={}, away=frozenset({"ana"}))
    assert placed.owners == {0: "ana", 1: "bo", 2: "bo"}  # kept; new ones not given; non-sticky: it moves
    assert "ranked 2, after ana away" in placed.reasons[1]


def test_an_account_nobody_can_take_stays_and_counts_for_its_owner() -> None:
    """Found by review: an account larger than any room was left with its owner, who then got new leads on top."""
    pool = OwnerPool("p", [Member("a", "a@x.test", 1), Member("b", "b@x.test", 1)], False, by="company")
    big = [Ask(i, f"k{i}@big.test", "company=k", "b") for i in range(4)]
    new = [Ask(10 + i, f"n{i}@new{i}.test", f"company=n{i}", None) for i in range(4)]
    placed = allocate({"p": big + new}, {"p": pool}, capacity={"a": 1, "b": 3})
    assert all(placed.owners[a.slot] is None for a in big)  # pool full: left with b, never split
    assert placed.load["b"] == 4 and [placed.owners[a.slot] for a in new].count("b") == 0
    assert [placed.owners[a.slot] for a in new].count("a") == 1  # a has room for one; b none (4 of 3)
