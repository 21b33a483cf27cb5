"""Routing: spec + leads -> desired state. Pure: no I/O, no clock, no randomness.

Routes are tried in order and the first match wins. Owners are fixed, or drawn from a weighted pool by
rendezvous hashing of (lead key, member email): the same inputs always give the same owner, adding a member
moves only about its share of the pool's leads to it, and removing one moves only that member's leads.
A sticky pool keeps a lead with its current owner while that owner is still a member. Capacities, absences,
accounts and fallbacks are `leadsync.allocation`'s: pools that use none of them take the one-pass path here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from leadsync._gc import paused_gc
from leadsync.allocation import Allocation, Ask, Member, OwnerPool, allocate
from leadsync.errors import Location, NotANumber, Problem, RoutingError
from leadsync.matching import COMPARISONS, Test, as_number, compile_condition, explain_condition, patterns, timed
from leadsync.spec.conditions import Condition, parse_instant
from leadsync.spec.loader import LoadedSpec
from leadsync.spec.models import PoolRef
from leadsync.state import DesiredLead, Lead


@dataclass(frozen=True)
class CompiledRoute:
    name: str
    to: str
    test: Test | None  # None: catch-all
    condition: Condition | None
    owner: str | None
    pool: OwnerPool | None
    where: Location


@dataclass
class Routing:
    """What routing decided: the desired state and the leads no route wanted."""

    desired: list[DesiredLead] = field(default_factory=list)
    unrouted: list[Lead] = field(default_factory=list)
    #: leads no member of their pool, nor its fallback, could take: (key, pool, why); in `desired` with no owner
    full: list[tuple[str, str, str]] = field(default_factory=list)
    #: why each pool-drawn lead got its owner, by key (with `explain=True`)
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteCheck:
    route: str
    matched: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    key: str
    checks: tuple[RouteCheck, ...]  # every route tried, in order, up to the one that matched
    route: str | None
    destination: str | None
    owner: str | None
    owner_reason: str


class Router:
    """The compiled routes of one spec."""

    def __init__(self, loaded: LoadedSpec) -> None:
        spec = loaded.spec
        pools = {
            name: OwnerPool(
                name,
                (Member(m, spec.owners[m].email.strip().lower(), spec.owners[m].weight) for m in pool.members),
                pool.sticky,
                by=pool.by,
                fallback_owner=pool.fallback if isinstance(pool.fallback, str) else None,
                fallback_pool=pool.fallback.pool if isinstance(pool.fallback, PoolRef) else None,
            )
            for name, pool in spec.pools.items()
        }
        self.pools = pools
        self.capacity = {name: o.capacity for name, o in spec.owners.items() if o.capacity is not None}
        self._away = {name: tuple((a.start, a.until) for a in o.away) for name, o in spec.owners.items() if o.away}
        self._loaded = loaded
        #: whether a route has a time matcher relative to the plan's time: then routing needs `at`
        self.timed = any(timed(c) for c in loaded.conditions)
        self._compiled: dict[datetime | None, tuple[CompiledRoute, ...]] = {}
        self.routes = self.routes_at(None) if not self.timed else ()

    def routes_at(self, now: datetime | None) -> tuple[CompiledRoute, ...]:
        """The routes compiled as of `now` (what `older_than` and `within` are relative to), once per time."""
        if not self.timed:
            now = None
        found = self._compiled.get(now)
        if found is None:
            if now is None and self.timed:
                raise ValueError("routing by time needs the plan's time (`at`)")
            spec, pools = self._loaded.spec, self.pools
            found = self._compiled[now] = tuple(
                CompiledRoute(
                    name=route.name,
                    to=route.to,
                    test=compile_condition(cond, now) if cond is not None else None,
                    condition=cond,
                    owner=route.owner if isinstance(route.owner, str) else None,
                    pool=pools[route.owner.pool] if isinstance(route.owner, PoolRef) else None,
                    where=self._loaded.positions.of(("routes", i)),
                )
                for i, (route, cond) in enumerate(zip(spec.routes, self._loaded.conditions, strict=True))
            )
        return found

    def away(self, at: date | None) -> frozenset[str]:
        """The owners away on `at`, a date or the day of a time (none without one)."""
        if at is None:
            return frozenset()
        day = at.date() if isinstance(at, datetime) else at
        return frozenset(name for name, spans in self._away.items() if any(a <= day <= b for a, b in spans))

    def _simple(self, away: frozenset[str]) -> bool:
        """Whether every pool can pick lead by lead: no capacity, absence, account or fallback in play."""
        return not any(
            pool.by != "lead"
            or pool.fallback_owner
            or pool.fallback_pool
            or any(m.owner in self.capacity or m.owner in away for m in pool.members)
            for pool in self.pools.values()
        )

    def route(
        self,
        leads: Iterable[Lead],
        current_owners: Mapping[str, str] | None = None,
        *,
        at: date | None = None,
        standing: Mapping[str, int] | None = None,
        pinned: frozenset[str] = frozenset(),
        explain: bool = False,
    ) -> Routing:
        """Route every lead. Raises RoutingError listing every lead whose data a route cannot evaluate.

        `current_owners`: each key's owner now (in a managed destination); `at`: the date owners' absences are
        read at; `standing`: leads each owner holds that no route draws from a pool (records no spec lead
        routes, kept as they are), counted against capacities; `pinned`: keys whose current owner stays
        whatever routing wants (protected leads): counted for that owner, never against a pool member."""
        routes = self.routes_at(instant(at))
        for route in routes:  # each `matches` pattern's time budget is per routing
            for pattern in patterns(route.condition):
                pattern.restart()
        owners = current_owners or {}
        away = self.away(at)
        with paused_gc(freeze=True):
            if self._simple(away) and not explain:
                return self._route(routes, leads, owners)
            return self._route_allocating(routes, leads, owners, away, standing or {}, pinned)

    @staticmethod
    def _matching(routes: tuple[CompiledRoute, ...], lead: Lead) -> CompiledRoute | None:
        for route in routes:
            if route.test is None or route.test(lead):
                return route
        return None

    def _route(self, routes: tuple[CompiledRoute, ...], leads: Iterable[Lead], owners: Mapping[str, str]) -> Routing:
        result = Routing()
        desired, unrouted = result.desired.append, result.unrouted.append
        problems: list[Problem] = []
        for lead in leads:
            try:
                # first match wins; inlined because it runs once per lead
                for route in routes:
                    if route.test is None or route.test(lead):
                        break
                else:
                    unrouted(lead)
                    continue
            except NotANumber as exc:
                problems.append(Problem(Location(lead.file, lead.line), str(exc)))
                continue
            owner = route.owner
            if route.pool is not None:
                current = owners.get(lead.key)
                if route.pool.sticky and current in route.pool.names:
                    owner = current
                else:
                    owner = route.pool.choose(lead.key).owner
            desired(DesiredLead(lead.key, route.to, owner, route.name, lead))
        if problems:
            raise RoutingError(problems)
        return result

    def _route_allocating(
        self,
        routes: tuple[CompiledRoute, ...],
        leads: Iterable[Lead],
        owners: Mapping[str, str],
        away: frozenset[str],
        standing: Mapping[str, int],
        pinned: frozenset[str],
    ) -> Routing:
        """Route in two passes: match every lead, then place the pools' leads together (capacity needs all)."""
        result = Routing()
        problems: list[Problem] = []
        load: Counter[str] = Counter(standing)
        asks: dict[str, list[Ask]] = {}
        drawn: list[tuple[int, CompiledRoute, Lead]] = []
        for lead in leads:
            try:
                route = self._matching(routes, lead)
            except NotANumber as exc:
                problems.append(Problem(Location(lead.file, lead.line), str(exc)))
                continue
            current = owners.get(lead.key)
            if route is None:
                result.unrouted.append(lead)
                if current is not None:
                    load[current] += 1  # never touched: it stays with its owner
                continue
            slot = len(result.desired)
            owner = route.owner
            if lead.key in pinned or route.pool is None:
                if route.pool is not None:
                    owner = route.pool.pick(lead.key, current)[0]  # shown as held, never placed
                kept = current if lead.key in pinned else owner or current
                if kept is not None:
                    load[kept] += 1
            else:
                account = _account(lead, route.pool.by)
                asks.setdefault(route.pool.name, []).append(Ask(slot, lead.key, account, current))
                drawn.append((slot, route, lead))
            result.desired.append(DesiredLead(lead.key, route.to, owner, route.name, lead))
        if problems:
            raise RoutingError(problems)
        placed: Allocation = allocate(asks, self.pools, capacity=self.capacity, away=away, load=load)
        for slot, route, _lead in drawn:
            owner, why = placed.owners[slot], placed.reasons[slot]
            d = result.desired[slot]
            result.desired[slot] = DesiredLead(d.key, d.destination, owner, d.route, d.fields)
            result.reasons[d.key] = why
            if owner is None:
                assert route.pool is not None
                result.full.append((d.key, route.pool.name, why))
        return result

    def explain(self, lead: Lead, current_owner: str | None = None, *, at: date | None = None) -> Explanation:
        """Which route and owner `lead` gets, and why; the routes that did not match and why not. The lead is
        placed alone: capacities bind only through the other leads, which `leadsync plan` weighs."""
        checks = []
        now = instant(at) if self.timed else None
        for route in self.routes_at(now):
            if route.condition is None:
                checks.append(RouteCheck(route.name, True, ("no condition: catch-all",)))
            else:
                matched, reasons = explain_condition(route.condition, lead, now)
                checks.append(RouteCheck(route.name, matched, tuple(reasons)))
            if checks[-1].matched:
                owner, why = self._explain_owner(route, lead, current_owner, at)
                return Explanation(lead.key, tuple(checks), route.name, route.to, owner, why)
        return Explanation(lead.key, tuple(checks), None, None, None, "unrouted: no route matched")

    def _explain_owner(
        self, route: CompiledRoute, lead: Lead, current: str | None, at: date | None
    ) -> tuple[str | None, str]:
        if route.pool is not None:
            owners = {lead.key: current} if current is not None else {}
            routing = self._route_allocating((route,), [lead], owners, self.away(at), {}, frozenset())
            return routing.desired[0].owner, routing.reasons[lead.key]
        if route.owner is not None:
            return route.owner, f"fixed owner of route '{route.name}'"
        return None, f"route '{route.name}' sets no owner: the current owner is kept"


def instant(at: date | None) -> datetime | None:
    """The time routing is as of: `at` itself (a time; no zone: UTC), the start of its UTC day (a date), or
    None."""
    return None if at is None else parse_instant(at)


def _account(lead: Lead, by: str) -> str:
    """What a pool hashes for `lead`: its key, or its account (the `by` attribute; the key when it has none)."""
    if by == "lead":
        return lead.key
    value = lead.key.rpartition("@")[2] if by == "domain" and "domain" not in lead.fields else lead.value(by)
    if value is None or str(value).strip() == "":
        return lead.key
    return f"{by}={str(value).strip().casefold()}"


__all__ = ["COMPARISONS", "Explanation", "Member", "OwnerPool", "Router", "Routing", "as_number", "compile_condition"]
