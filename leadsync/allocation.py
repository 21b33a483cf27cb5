"""Owner pools: who of a pool's members gets each lead. Pure: no I/O, no clock, no randomness.

Members are ranked per lead (or per account, with `by`) by weighted rendezvous hashing of (key, member email):
the same inputs give the same owner, a member who joins takes about its share, one who leaves gives up only its
own leads. On top of that ranking (docs/design.md, "Routing like a lead router"):

- capacity: a member takes a lead only while it holds fewer than its capacity in managed destinations. Leads are
  placed in a canonical order (by the hash of their key or account, never by input order), sticky ones first,
  each going to the highest-ranked member with room: bounded-load rendezvous hashing.
- away: a member away at the plan's date receives no new leads and keeps those it has.
- accounts (`by`): all leads with one value of the attribute form one unit, placed together; with `sticky`, the
  member owning most of the account's leads (ties by rank) keeps it and takes its new leads.
- fallback: an owner, or another pool, takes a unit no member can; failing that the unit is "pool full".
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_SPAN = 18446744073709551617.0  # 2**64 + 1: (digest + 1) / _SPAN is uniform in (0, 1)


@dataclass(frozen=True, slots=True)
class Member:
    owner: str
    email: str
    weight: float


class OwnerPool:
    """A weighted pool of owners, ranked by weighted rendezvous hashing."""

    def __init__(
        self,
        name: str,
        members: Iterable[Member],
        sticky: bool,
        *,
        by: str = "lead",
        fallback_owner: str | None = None,
        fallback_pool: str | None = None,
    ) -> None:
        self.name = name
        self.members = tuple(sorted(members, key=lambda m: m.owner))
        self.sticky = sticky
        self.by = by
        self.fallback_owner, self.fallback_pool = fallback_owner, fallback_pool
        self.names = frozenset(m.owner for m in self.members)
        # a pre-fed hash per member: copying it is cheaper than hashing the member again for every lead
        self._seeds = tuple((m, hashlib.blake2b(m.email.encode() + b"\0", digest_size=8)) for m in self.members)
        self._plain = tuple((m.owner, seed, m.weight) for m, seed in self._seeds)
        self.weight_of = {m.owner: m.weight for m in self.members}
        self.total_weight = sum(m.weight for m in self.members)

    def table(self, weights: Mapping[str, float] | None = None) -> tuple[tuple[str, _Seed, float], ...]:
        """(member, its pre-fed hash, the weight ranked by) for each member: the spec's weights, or `weights`."""
        if weights is None:
            return self._plain
        return tuple((owner, seed, weights[owner]) for owner, seed, _ in self._plain)

    def pick(self, key: str, current: str | None = None) -> tuple[str, str]:
        """(owner, why) for the lead `key` whose current owner is `current`, with no capacity or absence in play."""
        if self.sticky and current in self.names:
            return current, f"sticky: already owned by {current}, still in pool '{self.name}'"
        return self.choose(key).owner, f"pool '{self.name}': weighted rendezvous hash over {len(self.members)} members"

    def choose(self, key: str) -> Member:
        """The member `key` hashes to, with no capacity or absence in play (the hot path: no list built)."""
        data = key.encode()
        best, top = self.members[0], -1.0
        for member, seed in self._seeds:
            h = seed.copy()
            h.update(data)
            # u uniform in (0, 1); -w/ln(u) makes each member win in proportion to its weight
            score = -member.weight / math.log((int.from_bytes(h.digest(), "big") + 1) / _SPAN)
            if score > top:  # on a tie (never seen in practice) the first owner name wins
                best, top = member, score
        return best

    def scores(self, key: str, weights: Mapping[str, float] | None = None) -> list[tuple[float, str]]:
        """(score, member) for `key`, best first: the order the lead asks members in, and how much each member
        wants it (a member's scores all scale with its weight, so its order of leads never depends on it).
        `weights`: the members' weights in use instead of the spec's (capacity-aware shares, see `_shares`)."""
        return _scores(self.table(weights), key)

    def rank(self, key: str, weights: Mapping[str, float] | None = None) -> list[str]:
        """Every member, best first, for `key`: the order in which they are offered its lead."""
        return [owner for _, owner in self.scores(key, weights)]


_Seed = Any  # a blake2b object (hashlib gives it no public type)
_Table = tuple[tuple[str, _Seed, float], ...]


def _scores(table: _Table, key: str) -> list[tuple[float, str]]:
    data, log, from_bytes = key.encode(), math.log, int.from_bytes
    scored = []
    for owner, seed, weight in table:
        h = seed.copy()
        h.update(data)
        # the score negated (w / ln u < 0), so that a plain sort puts the best first, ties by owner name
        scored.append((weight / log((from_bytes(h.digest(), "big") + 1) / _SPAN), owner))
    scored.sort()
    return [(-negated, owner) for negated, owner in scored]


def _best(table: _Table, key: str) -> tuple[float, str]:
    """`_scores(table, key)[0]` without the list: the hot path of placement."""
    data, log, from_bytes = key.encode(), math.log, int.from_bytes
    best, top = table[0][0], -1.0
    for owner, seed, weight in table:
        h = seed.copy()
        h.update(data)
        score = -weight / log((from_bytes(h.digest(), "big") + 1) / _SPAN)
        if score > top:  # the table is in owner order: on a tie the first name wins, as in `_scores`
            best, top = owner, score
    return top, best


@dataclass(slots=True)
class Ask:
    """A lead whose owner a pool decides: `slot` is its place in the caller's list of leads."""

    slot: int
    key: str
    account: str  # what is hashed: the lead key, or the value of the pool's `by` attribute
    current: str | None  # its owner now, in a managed destination


@dataclass(slots=True)
class _Unit:
    pool: OwnerPool
    account: str
    asks: list[Ask]
    order: bytes = b""


@dataclass
class Allocation:
    """Each ask's owner (None: pool full) and why, and every owner's load after it."""

    owners: dict[int, str | None] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    load: Counter[str] = field(default_factory=Counter)


def allocate(
    asks: Mapping[str, Sequence[Ask]],
    pools: Mapping[str, OwnerPool],
    *,
    capacity: Mapping[str, int],
    away: frozenset[str] = frozenset(),
    load: Mapping[str, int] | None = None,
) -> Allocation:
    """Place the `asks` of each pool (by pool name) among its members.

    `capacity`: owner -> the most leads it may hold; `load`: what each owner holds already whatever the pools do
    (fixed-owner routes, leads no route touches, protected leads), counted against its capacity first. `away`:
    owners who take no new leads.

    A lead nobody can take is left where it is, with its current owner: it then counts against that owner's
    capacity, so placement runs again with it counted, until no such lead is left uncounted (each round sets at
    least one aside, and counting more only takes room away, so what was refused stays refused)."""
    standing = Counter(load or {})
    aside: dict[int, str] = {}  # slot -> why nobody could take it
    # the ranking weights of the first round hold for the later ones: were they worked out again from the rooms
    # left, a unit refused earlier could find room, and what was refused would not stay refused
    shares: dict[str, dict[str, float] | None] = {}
    capped: dict[str, str] = {}  # pool -> its members whose share is their room, said in reasons
    while True:
        result = _place_once(asks, pools, capacity, away, standing, aside, shares, capped)
        # what nobody took, by unit: a unit with a lead that stays with an owner is set aside whole (an account
        # is never split between nobody and somebody), and its owned leads count for their owners
        refused: dict[tuple[str, str], list[Ask]] = {}
        for name in sorted(asks):
            for a in asks[name]:
                if a.slot not in aside and result.owners[a.slot] is None:
                    refused.setdefault((name, a.account if pools[name].by != "lead" else a.key), []).append(a)
        stranded = [group for group in refused.values() if any(a.current is not None for a in group)]
        if not stranded:
            for slot, why in aside.items():
                result.owners[slot], result.reasons[slot] = None, why
            return result
        for group in stranded:
            for a in group:
                aside[a.slot] = result.reasons[a.slot]
                if a.current is not None:
                    standing[a.current] += 1


def _place_once(
    asks: Mapping[str, Sequence[Ask]],
    pools: Mapping[str, OwnerPool],
    capacity: Mapping[str, int],
    away: frozenset[str],
    standing: Counter[str],
    aside: Mapping[int, str],
    shares: dict[str, dict[str, float] | None],
    capped: dict[str, str],
) -> Allocation:
    result = Allocation(load=Counter(standing))
    units = [
        unit
        for name in sorted(asks)
        for unit in _units(pools[name], [a for a in asks[name] if a.slot not in aside])
    ]
    for unit in units:
        unit.order = hashlib.blake2b(f"{unit.account}\0{unit.pool.name}".encode(), digest_size=16).digest()
    units.sort(key=lambda u: (u.order, u.pool.name, u.account))
    placer = _Placer(pools, capacity, away, result, shares, capped)
    rest: list[tuple[_Unit, list[Ask], str | None]] = []
    for unit in units:  # sticky leads are counted first
        left, keeper = placer.keep_sticky(unit) if unit.pool.sticky else (unit.asks, None)
        if left:
            rest.append((unit, left, keeper))
    placer.match([_Pending(unit, left, unit.pool, keeper) for unit, left, keeper in rest])
    return result


@dataclass(slots=True)
class _Pending:
    """A unit still to place: asking `pool`'s members (its own, then a fallback pool's) best first."""

    unit: _Unit
    asks: list[Ask]
    pool: OwnerPool
    keeper: str | None = None  # the account's owner: asked first, never displaced
    passed: list[str] = field(default_factory=list)  # who could not take it, in the order asked
    seen: list[str] = field(default_factory=list)  # pools asked so far
    # the members to ask, best first: at first only the best one (most units go to their first choice; a list of
    # every member for each of a million units would cost gigabytes), all of them once `full`
    options: list[tuple[float, str]] = field(default_factory=list)
    full: bool = False
    next: int = 0


def _units(pool: OwnerPool, asks: Sequence[Ask]) -> Iterable[_Unit]:
    if pool.by == "lead":
        return (_Unit(pool, ask.account, [ask]) for ask in asks)
    accounts: dict[str, list[Ask]] = {}
    for ask in asks:
        accounts.setdefault(ask.account, []).append(ask)
    return (_Unit(pool, account, sorted(group, key=lambda a: a.key)) for account, group in accounts.items())


class _Placer:
    def __init__(
        self,
        pools: Mapping[str, OwnerPool],
        capacity: Mapping[str, int],
        away: frozenset[str],
        result: Allocation,
        shares: dict[str, dict[str, float] | None],
        capped: dict[str, str],
    ) -> None:
        self.pools, self.capacity, self.away, self.result = pools, capacity, away, result
        self.sticky_why: dict[tuple[str, str], str] = {}
        self.shares = shares  # pool -> the weights its units rank members by (None: the spec's)
        self.capped = capped
        self.tables: dict[str, _Table] = {}  # pool -> its members with the weights ranked by

    def _shares(self, pool: OwnerPool, leads: int) -> dict[str, float] | None:
        """The weights a pool's `leads` are ranked by: each member's share of them by its weight, where no member
        is offered more than its room (water-filling: a capped member's share is its room, the rest is divided
        among the others by weight). None when no capacity binds: the spec's weights as they are.

        Ranking by these shares, a capped member is the first choice of about as many leads as it can hold, so
        little spills past it; ranking by the spec's weights, a full member would turn away its overflow on every
        change, and that overflow would re-settle among the others (churn, benchmarks/README.md)."""
        active = [m for m in pool.members if m.owner not in self.away]
        room = {m.owner: max(0.0, self.room(m.owner)) for m in active if m.owner in self.capacity}
        if not room or not active:
            return None
        fixed, free = 0.0, sum(m.weight for m in active)
        for m in sorted(active, key=lambda m: (room.get(m.owner, math.inf) / m.weight, m.owner)):
            cap = room.get(m.owner, math.inf)
            if cap == math.inf or fixed + free * cap / m.weight >= leads:
                break
            fixed, free = fixed + cap, free - m.weight
        if fixed == 0 and all(room.get(m.owner, math.inf) > 0 for m in active):
            return None  # no capacity binds
        # every member capped and still too little room: shares are the rooms
        level = (leads - fixed) / free if free > 0 else max(room[m.owner] / m.weight for m in active)
        # an away member takes no new leads but keeps its own: it keeps its place among the uncapped
        shares = {m.owner: min(room.get(m.owner, math.inf), level * m.weight) for m in pool.members}
        capped = [f"{m.owner} {shares[m.owner]:g}" for m in pool.members if shares[m.owner] < level * m.weight]
        self.capped[pool.name] = ", ".join(capped)
        return shares

    def room(self, owner: str) -> float:
        cap = self.capacity.get(owner)
        return math.inf if cap is None else cap - self.result.load[owner]

    def give(self, asks: Iterable[Ask], owner: str | None, why: str) -> None:
        for ask in asks:
            self.result.owners[ask.slot] = owner
            self.result.reasons[ask.slot] = why
            if owner is not None:
                self.result.load[owner] += 1

    def keep_sticky(self, unit: _Unit) -> tuple[list[Ask], str | None]:
        """Leave with the unit's owner in the pool what it owns (as room allows): what is left to place, and
        the member to offer it first (an account's owner, who wins its new leads while it has room)."""
        pool = unit.pool
        held = Counter(ask.current for ask in unit.asks if ask.current in pool.names)
        if not held:
            return unit.asks, None
        ranks = {owner: i for i, owner in enumerate(pool.rank(unit.account))}
        owner = min(held, key=lambda o: (-held[o], ranks[o]))  # type: ignore[arg-type]
        assert owner is not None
        mine = [ask for ask in unit.asks if ask.current == owner]
        kept = mine[: max(0, int(min(self.room(owner), len(mine))))]
        if pool.by == "lead":
            why = f"sticky: already owned by {owner}, still in pool '{pool.name}'"
        else:
            why = f"sticky account: {owner} owns {held[owner]} of the {len(unit.asks)} leads of {pool.by} {unit.account!r}"
        self.give(kept, owner, why)
        taken = {ask.slot for ask in kept}
        self.sticky_why[unit.account, pool.name] = why
        return [ask for ask in unit.asks if ask.slot not in taken], owner if pool.by != "lead" else None

    def match(self, pending: list[_Pending]) -> None:
        """Deferred acceptance (Gale-Shapley with capacities): each unit asks the members of its pool best first;
        a member with room holds it; a full one keeps the units that score it highest and turns the weakest away,
        which then asks its next member. The result does not depend on the order units ask in, and a member's
        weight or capacity changing moves only what its new room (or want) must: no order-of-arrival churn.
        Units no member takes go to the pool's fallback owner, then its fallback pool, else nobody."""
        while pending:
            asking: Counter[str] = Counter()
            for p in pending:
                asking[p.pool.name] += len(p.asks)
            for name in sorted(asking):
                if name not in self.shares:  # a fallback pool's shares are set when its first units arrive
                    self.shares[name] = self._shares(self.pools[name], asking[name])
            for p in pending:
                p.seen.append(p.pool.name)
                if p.keeper is not None:
                    p.options, p.full = [(math.inf, p.keeper)], False
                else:
                    top = _best(self._table(p.pool), p.unit.account)
                    p.options, p.full = ([top], False) if top[1] not in p.passed else (self._order(p), True)
                p.next, p.keeper = 0, None
            held = self._defer(pending)
            rejected = [p for i, p in enumerate(pending) if i not in held]
            for i, owner in held.items():
                p = pending[i]
                self.give(p.asks, owner, self._reason(p, owner))
            pending = []
            for p in rejected:  # canonical order: the order `allocate` sorted them in
                # an account turned away to fit a smaller one can leave room that a unit refused earlier fits in
                ranked = p.pool.rank(p.unit.account, self.shares.get(p.pool.name))
                spare = next((o for o in ranked if self._can_take(o, p.asks)), None)
                if spare is not None:
                    self.give(p.asks, spare, self._reason(p, spare))
                    continue
                fallback, nxt = p.pool.fallback_owner, p.pool.fallback_pool
                if fallback is not None and self._can_take(fallback, p.asks):
                    self.give(p.asks, fallback, f"fallback of pool '{p.pool.name}': {_passed(p.passed, self)}")
                    continue
                if fallback is not None:
                    p.passed.append(fallback)
                if nxt is not None and nxt not in p.seen and nxt in self.pools:
                    p.pool = self.pools[nxt]
                    pending.append(p)
                else:
                    self.give(p.asks, None, f"no member or fallback can take it: {_passed(p.passed, self)}")

    def _defer(self, pending: list[_Pending]) -> dict[int, str]:
        """Run the proposals; unit index -> the member holding it at the end."""
        holding: dict[str, list[tuple[float, bytes, int]]] = {}  # member -> min-heap of (score, order, unit)
        used: Counter[str] = Counter()  # leads held per member in this round
        owner_of: dict[int, str] = {}
        queue = deque(range(len(pending)))
        while queue:
            i = queue.popleft()
            p = pending[i]
            size = len(p.asks)
            while True:
                if p.next == len(p.options):
                    if p.full:
                        break
                    # its first choice turned it away: now every member, best first, but those who did
                    p.options, p.next, p.full = self._order(p), 0, True
                    continue
                score, owner = p.options[p.next]
                p.next += 1
                room = self.room(owner) - used[owner]
                if (owner in self.away and any(a.current != owner for a in p.asks)) or self.room(owner) < size:
                    p.passed.append(owner)
                    continue
                if room == math.inf:
                    owner_of[i] = owner
                    break
                heap = holding.setdefault(owner, [])
                heapq.heappush(heap, (score, p.unit.order, i))
                used[owner] += size
                owner_of[i] = owner
                while used[owner] > self.room(owner):  # full: the units it wants least ask elsewhere
                    _, _, j = heapq.heappop(heap)
                    used[owner] -= len(pending[j].asks)
                    del owner_of[j]
                    pending[j].passed.append(owner)
                    if j != i:
                        queue.append(j)
                if i in owner_of:
                    break
        return owner_of

    def _reason(self, p: _Pending, owner: str) -> str:
        if p.options and p.options[0] == (math.inf, owner):
            return self.sticky_why[p.unit.account, p.unit.pool.name] + " (account owner wins)"
        passed = [o for o in p.passed if o != owner]
        # not `full`: it went to the member it ranks first
        rank = p.pool.rank(p.unit.account, self.shares.get(p.pool.name)).index(owner) if p.full else 0
        return _why(p.pool, rank, passed, owner, self)

    def _order(self, p: _Pending) -> list[tuple[float, str]]:
        """Every member of `p`'s pool that has not turned it away, best first."""
        return [pair for pair in _scores(self._table(p.pool), p.unit.account) if pair[1] not in p.passed]

    def _table(self, pool: OwnerPool) -> _Table:
        table = self.tables.get(pool.name)
        if table is None:
            table = self.tables[pool.name] = pool.table(self.shares.get(pool.name))
        return table

    def _can_take(self, owner: str, asks: list[Ask]) -> bool:
        # an away owner takes nothing new, but a lead it owns already is not new to it
        if owner in self.away and any(ask.current != owner for ask in asks):
            return False
        return self.room(owner) >= len(asks)


def _passed(owners: list[str], placer: _Placer) -> str:
    """Why each owner passed over could not take the lead."""
    if not owners:
        return "no member"
    notes = []
    for owner in dict.fromkeys(owners):
        held, cap = placer.result.load[owner], placer.capacity.get(owner)
        if owner in placer.away:
            notes.append(f"{owner} away")
        elif cap is not None and held < cap:  # room left, but not for all of an account's leads
            notes.append(f"{owner} too little room ({held}/{cap})")
        else:
            notes.append(f"{owner} full ({held}/{cap})")
    return ", ".join(notes)


def _why(pool: OwnerPool, rank: int, passed: list[str], owner: str, placer: _Placer) -> str:
    total, weight = pool.total_weight, pool.weight_of.get(owner, 0.0)
    what = "" if pool.by == "lead" else f" of the account ({pool.by})"
    base = f"pool '{pool.name}': weighted rendezvous hash{what}, weight {weight:g} of {total:g}"
    if placer.capped.get(pool.name):
        base += f", shares held to the room left ({placer.capped[pool.name]})"
    if rank == 0 and not passed:
        return base
    return f"{base}; ranked {rank + 1}, after {_passed(passed, placer)}"


__all__ = ["Allocation", "Ask", "Member", "OwnerPool", "allocate"]
