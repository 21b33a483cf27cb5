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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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

    A lead nobody can take is left where it is, with its current owner, and counts against that owner's capacity:
    an owner never ends above its capacity while holding a lead that is new to it (`_Placer.settle`)."""
    result = Allocation(load=Counter(load or {}))
    units = [unit for name in sorted(asks) for unit in _units(pools[name], asks[name])]
    for unit in units:
        unit.order = hashlib.blake2b(f"{unit.account}\0{unit.pool.name}".encode(), digest_size=16).digest()
    units.sort(key=lambda u: (u.order, u.pool.name, u.account))
    placer = _Placer(pools, capacity, away, result)
    rest: list[tuple[_Unit, list[Ask], str | None]] = []
    for unit in units:  # sticky leads are counted first
        left, keeper = placer.keep_sticky(unit) if unit.pool.sticky else (unit.asks, None)
        if left:
            rest.append((unit, left, keeper))
    placer.match([_Pending(unit, left, unit.pool, keeper) for unit, left, keeper in rest])
    placer.settle()
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
    top: tuple[float, str] | None = None  # its first choice by the spec's weights, when that is what ranks


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
    ) -> None:
        self.pools, self.capacity, self.away, self.result = pools, capacity, away, result
        self.sticky_why: dict[tuple[str, str], str] = {}
        self.shares: dict[str, dict[str, float] | None] = {}  # pool -> the weights it ranks by (None: the spec's)
        self.capped: dict[str, str] = {}  # pool -> its members whose share is held to their room, said in reasons
        self.tables: dict[str, _Table] = {}  # pool -> its members with the weights ranked by
        self.units: list[_Pending] = []  # every unit placed by `match`, by index
        self.where: dict[int, str] = {}  # unit index -> the owner holding it, for the units new to that owner
        # owner -> min-heap of (how much it wants the unit, order, index) of the units new to it: the first to go
        # when a lead nobody else can take stays with it
        self.new: dict[str, list[tuple[float, bytes, int]]] = {}
        self.new_load: Counter[str] = Counter()  # owner -> leads in the units new to it that it still holds
        self.refused: list[_Pending] = []

    def _shares(self, pool: OwnerPool, group: list[_Pending]) -> dict[str, float] | None:
        """The weights a pool ranks `group` by: the spec's (None) unless a capped member is the first choice of
        more leads than it has room for; then each member's capacity-aware share of the leads (water-filling: a
        member whose weighted share would pass its room gets its room, the rest is divided among the others by
        weight). A capped member's room is taken with a margin of two standard deviations (2 sqrt(room)), so that
        it still fills up when the hash gives it a little less than its share.

        Ranking by these shares, a capped member is the first choice of about as many leads as it can hold, so
        little spills past it; ranking by the spec's weights, a full member would turn away its overflow on every
        change, and that overflow would re-settle among the others (churn, benchmarks/README.md)."""
        active = [m for m in pool.members if m.owner not in self.away]
        capped_members = [m for m in active if m.owner in self.capacity]
        plain = pool.table()
        first: Counter[str] = Counter()
        for p in group:
            if p.keeper is not None:
                first[p.keeper] += len(p.asks)
            else:
                p.top = _best(plain, p.unit.account)
                first[p.top[1]] += len(p.asks)
        if all(first[m.owner] <= self.room(m.owner) for m in capped_members):
            return None  # no capacity binds: the owners of the one-pass path
        leads = sum(len(p.asks) for p in group)
        heaviest = max(m.weight for m in pool.members)
        weight = {m.owner: m.weight / heaviest for m in pool.members}  # in (0, 1]: no float overflows or absorbs
        rooms = {m.owner: max(0.0, self.room(m.owner)) for m in capped_members}
        limit = {owner: room + 2 * math.sqrt(room) for owner, room in rooms.items()}
        held: set[str] = set()  # members whose share is their (margined) room
        fixed = 0.0
        for m in sorted(capped_members, key=lambda m: (limit[m.owner] / weight[m.owner], m.owner)):
            free = math.fsum(weight[x.owner] for x in active if x.owner not in held)
            if fixed + free * limit[m.owner] / weight[m.owner] >= leads:
                break
            held.add(m.owner)
            fixed += limit[m.owner]
        if not held:
            return None  # shares in proportion to the weights: the spec's ranking
        free = math.fsum(weight[x.owner] for x in active if x.owner not in held)
        # every member held and still too little room: the shares are the rooms
        level = (leads - fixed) / free if free > 0 else max(limit[o] / weight[o] for o in held)
        for p in group:
            p.top = None  # ranked by the shares now
        # an away member takes no new leads but keeps its own: it keeps its place among the uncapped
        self.capped[pool.name] = ", ".join(f"{o} {rooms[o]:g}" for o in sorted(held))
        return {m.owner: limit[m.owner] if m.owner in held else level * weight[m.owner] for m in pool.members}

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
        owner = min(held, key=lambda o: (-held[o], ranks[o]))
        assert owner is not None
        mine = [ask for ask in unit.asks if ask.current == owner]
        kept = mine[: max(0, int(min(self.room(owner), len(mine))))]
        if pool.by == "lead":
            why = f"sticky: already owned by {owner}, still in pool '{pool.name}'"
        else:
            share = f"{held[owner]} of the {len(unit.asks)} leads"
            why = f"sticky account: {owner} owns {share} of {pool.by} {unit.account!r}"
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
            asking: dict[str, list[_Pending]] = {}
            for p in pending:
                asking.setdefault(p.pool.name, []).append(p)
            for name in sorted(asking):
                if name not in self.shares:  # a fallback pool's shares are set when its first units arrive
                    self.shares[name] = self._shares(self.pools[name], asking[name])
            for p in pending:
                p.seen.append(p.pool.name)
                if p.keeper is not None:
                    p.options, p.full = [(math.inf, p.keeper)], False
                else:
                    top = p.top or _best(self._table(p.pool), p.unit.account)
                    p.options, p.full = ([top], False) if top[1] not in p.passed else (self._order(p), True)
                p.next, p.keeper, p.top = 0, None, None
            held = self._defer(pending)
            rejected = [p for i, p in enumerate(pending) if i not in held]
            for i, owner in held.items():
                p = pending[i]
                self._place(p, owner, self._reason(p, owner), p.options[p.next - 1][0])
            pending = []
            for p in rejected:  # canonical order: the order `allocate` sorted them in
                # an account turned away to fit a smaller one can leave room that a unit refused earlier fits in
                ranked = p.pool.rank(p.unit.account, self.shares.get(p.pool.name))
                spare = next((o for o in ranked if self._can_take(o, p.asks)), None)
                if spare is not None:
                    self._place(p, spare, self._reason(p, spare), 0.0)
                    continue
                fallback, nxt = p.pool.fallback_owner, p.pool.fallback_pool
                if fallback is not None and self._can_take(fallback, p.asks):
                    self._place(p, fallback, f"fallback of pool '{p.pool.name}': {_passed(p.passed, self)}", 0.0)
                    continue
                if fallback is not None:
                    p.passed.append(fallback)
                if nxt is not None and nxt not in p.seen and nxt in self.pools:
                    p.pool = self.pools[nxt]
                    pending.append(p)
                else:
                    self.give(p.asks, None, f"no member or fallback can take it: {_passed(p.passed, self)}")
                    self.refused.append(p)

    def _place(self, p: _Pending, owner: str, why: str, want: float) -> None:
        """Give `p` to `owner`; a unit new to it (`want`: how much it wants it, 0 for a spare or fallback place)
        is remembered, to be the first to go if a lead nobody else can take must stay with `owner`."""
        self.give(p.asks, owner, why)
        if owner in self.capacity and any(a.current != owner for a in p.asks):
            index = len(self.units)
            self.units.append(p)
            self.where[index] = owner
            self.new_load[owner] += len(p.asks)
            heapq.heappush(self.new.setdefault(owner, []), (want, p.unit.order, index))

    def settle(self) -> None:
        """Leave each unit nobody could take where it is: with its current owner, who keeps it when it is a member
        (or the fallback) and makes room by giving up the units new to it that it wants least; otherwise the unit
        is "pool full" and its leads still count for their owners, who give up new units while over capacity. A
        unit given up goes to whoever in its pools has room, or is itself left where it is. Each unit kept or
        left is settled for good, and a unit given up either takes spare room or is left: this ends, and no
        owner ends above its capacity with a lead that is new to it."""
        queue = deque(self.refused)  # canonical order
        left: list[_Pending] = []
        while queue:
            p = queue.popleft()
            owners = {a.current for a in p.asks}
            keeper = owners.pop() if len(owners) == 1 else None
            if keeper is not None and keeper in self._eligible(p) and self._make_room(keeper, len(p.asks), queue):
                self.give(p.asks, keeper, f"stays with {keeper}: nobody else can take it ({_passed(p.passed, self)})")
                continue
            counted = sorted({a.current for a in p.asks if a.current is not None})
            for a in p.asks:
                if a.current is not None:
                    self.result.load[a.current] += 1
            left.append(p)
            for owner in counted:
                self._make_room(owner, 0, queue, whole=False)
        # giving up a large unit can leave more room than was needed: what was left where it is takes it, in the
        # canonical order (each placed only where there is room, so nothing is given up again)
        for p in sorted(left, key=lambda p: (p.unit.order, p.unit.pool.name, p.unit.account)):
            for a in p.asks:
                if a.current is not None:
                    self.result.load[a.current] -= 1
            if not self._try_place(p, None):
                for a in p.asks:
                    if a.current is not None:
                        self.result.load[a.current] += 1

    def _chain(self, p: _Pending) -> Iterator[OwnerPool]:
        """`p`'s pool, then the pools it falls back to, each once."""
        pool: OwnerPool | None = p.unit.pool
        seen: set[str] = set()
        while pool is not None and pool.name not in seen:
            seen.add(pool.name)
            yield pool
            pool = self.pools.get(pool.fallback_pool) if pool.fallback_pool else None

    def _eligible(self, p: _Pending) -> set[str]:
        """Everyone `p` may be placed with: the members and fallbacks of its pool and of the pools it falls to."""
        names: set[str] = set()
        for pool in self._chain(p):
            names |= pool.names
            if pool.fallback_owner:
                names.add(pool.fallback_owner)
        return names

    def _make_room(self, owner: str, size: int, queue: deque[_Pending], *, whole: bool = True) -> bool:
        """Give up `owner`'s least wanted new units until it has room for `size` leads; `whole`: only if that
        can be done (else nothing is given up). Whether it now has the room."""
        heap = self.new.get(owner, [])
        if whole and self.room(owner) + self.new_load[owner] < size:
            return False
        while self.room(owner) < size and heap:
            _, _, index = heapq.heappop(heap)
            if self.where.get(index) != owner:
                continue  # it moved since
            del self.where[index]
            p = self.units[index]
            self.new_load[owner] -= len(p.asks)
            for a in p.asks:
                self.result.owners[a.slot] = None
                self.result.load[owner] -= 1
            p.passed.append(owner)
            self._rehome(p, queue, owner)
        return self.room(owner) >= size

    def _rehome(self, p: _Pending, queue: deque[_Pending], gave_up: str) -> None:
        """A unit `gave_up` gave up: to the first other owner in its pools' order who has room, else left where it
        is (`settle`)."""
        if not self._try_place(p, gave_up):
            self.give(p.asks, None, f"no member or fallback can take it: {_passed(p.passed, self)}")
            queue.append(p)

    def _try_place(self, p: _Pending, gave_up: str | None) -> bool:
        """Place `p` with the first owner but `gave_up` in its pools' order who has room; whether one had."""
        for pool in self._chain(p):
            ranked = pool.rank(p.unit.account, self.shares.get(pool.name))
            for rank, owner in enumerate(ranked):
                if owner != gave_up and self._can_take(owner, p.asks):
                    passed = [o for o in p.passed if o != owner]
                    self._place(p, owner, _why(pool, rank, passed, owner, self), 0.0)
                    return True
            fallback = pool.fallback_owner
            if fallback is not None and fallback != gave_up and self._can_take(fallback, p.asks):
                self._place(p, fallback, f"fallback of pool '{pool.name}': {_passed(p.passed, self)}", 0.0)
                return True
        return False

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
        # the account's owner was asked first (score inf; a weight of 1e308 can score inf too, hence the check)
        if p.options and p.options[0] == (math.inf, owner) and (p.unit.account, p.unit.pool.name) in self.sticky_why:
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
