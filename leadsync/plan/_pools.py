"""Owner pools in a plan: how each pool's people are spread over its members before and after, vs the weights.

A pool's people are the desired leads whose route draws its owner from the pool (`PoolWeights.routes`).
Before: the owner of each one's single record in a managed destination. After: the routed owner when the
plan settles the person (nothing to do, or an operation puts them in place), else the owner they keep
(held, conflict, unsupported: the plan leaves them as they are). People with no managed record before (new)
or after (an add the plan cannot make) count on that side only; people with several managed records are
conflicts and counted on neither side. See `PoolLoad` for the shares and deviations.

`pool_weights(spec)` reads the pools off a spec model without importing the spec package (the planner stays
free of it): anything with `owners`, `pools` and `routes` shaped like `leadsync.spec.models.Spec` will do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

from leadsync.plan._model import PoolLoad, PoolMember, PoolWeights
from leadsync.state import DesiredLead, RemoteLead


class _Owner(Protocol):
    @property
    def weight(self) -> float: ...


class _Pool(Protocol):
    @property
    def members(self) -> Sequence[str]: ...

    @property
    def sticky(self) -> bool: ...


class _Route(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def owner(self) -> object: ...  # an owner name, a PoolRef (`.pool`), or None


class SpecPools(Protocol):
    """The parts of a spec (`leadsync.spec.models.Spec`) that `pool_weights` reads."""

    @property
    def owners(self) -> Mapping[str, _Owner]: ...

    @property
    def pools(self) -> Mapping[str, _Pool]: ...

    @property
    def routes(self) -> Sequence[_Route]: ...


def pool_weights(spec: SpecPools) -> tuple[PoolWeights, ...]:
    """The spec's pools, sorted by name: members (sorted) with their owners' weights, and the routes using them."""
    routes: dict[str, list[str]] = {}
    for route in spec.routes:
        pool = getattr(route.owner, "pool", None)
        if isinstance(pool, str):
            routes.setdefault(pool, []).append(route.name)
    return tuple(
        PoolWeights(
            name,
            tuple((m, float(spec.owners[m].weight)) for m in sorted(set(pool.members)) if m in spec.owners),
            tuple(routes.get(name, ())),
            bool(pool.sticky),
        )
        for name, pool in sorted(spec.pools.items())
    )


class PoolTally:
    """The pools' people, noted before planning consumes the remote index, and their loads once it is done.

    Per pool: `before` counts current owners, `after` the owners as if the plan settled everyone, and `people`
    keeps (had a record, current owner, settled owner) per key, to put back the few the plan leaves alone.
    """

    def __init__(self, pools: Iterable[PoolWeights]) -> None:
        self.pools = tuple(sorted(pools, key=lambda p: p.name))
        self.by_route: dict[str, str] = {}
        for pool in self.pools:
            for route in pool.routes:
                self.by_route.setdefault(route, pool.name)
        self.before: dict[str, Counter[str | None]] = {p.name: Counter() for p in self.pools}
        self.after: dict[str, Counter[str | None]] = {p.name: Counter() for p in self.pools}
        self.people: dict[str, dict[str, tuple[bool, str | None, str | None]]] = {p.name: {} for p in self.pools}

    def note(
        self,
        wanted: Mapping[str, DesiredLead],
        single: Mapping[str, RemoteLead],
        multi: Collection[str],
        outside: Mapping[str, Sequence[RemoteLead]],
        claim_move: bool,
    ) -> None:
        """Note each pool person's current owner and the owner they have once the plan settles them. Call
        before planning pops records off the index: `single` holds each key's one managed record, `multi` the
        keys with several (left out), `outside` the records elsewhere (a claimed move keeps its owner)."""
        if not self.by_route:
            return
        by_route = self.by_route
        befores: dict[str, list[str | None]] = {name: [] for name in self.before}
        afters: dict[str, list[str | None]] = {name: [] for name in self.after}
        for key, d in wanted.items():
            name = by_route.get(d.route)
            if name is None or key in multi:
                continue
            record = single.get(key)
            current = record.owner if record is not None else None
            owner = d.owner
            if owner is None:  # a route that leaves owners alone (never a pool route, as routing goes)
                if record is not None:
                    owner = current
                elif claim_move and len(found := outside.get(key, ())) == 1:
                    owner = found[0].owner
            if record is not None:
                befores[name].append(current)
            afters[name].append(owner)
            self.people[name][key] = (record is not None, current, owner)
        for name in self.before:  # counted in C
            self.before[name].update(befores[name])
            self.after[name].update(afters[name])

    def loads(self, unsettled: Collection[str]) -> tuple[PoolLoad, ...]:
        """Each pool's load; `unsettled` are the keys the plan leaves as they are (held, conflicts, unsupported):
        they count for the owner they keep (or not at all, without a record), not the one routing wants."""
        result = []
        for pool in self.pools:
            before, after, people = (
                Counter(self.before[pool.name]),
                Counter(self.after[pool.name]),
                self.people[pool.name],
            )
            for key in unsettled:
                found = people.get(key)
                if found is not None:
                    present, current, settled = found
                    after[settled] -= 1
                    if present:
                        after[current] += 1
            weights = dict(pool.weights)  # one entry per member, in name order: the plan is a canonical value
            members = tuple(PoolMember(m, weights[m], before.pop(m, 0), after.pop(m, 0)) for m in sorted(weights))
            result.append(
                PoolLoad(
                    pool.name,
                    pool.routes,
                    members,
                    pool.sticky,
                    others_before=sum(before.values()),
                    others_after=sum(after.values()),
                )
            )
        return tuple(result)
