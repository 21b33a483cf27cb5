"""Routing: spec + leads -> desired state. Pure: no I/O, no clock, no randomness.

Routes are tried in order and the first match wins. Owners are fixed, or drawn from a weighted pool by
rendezvous hashing of (lead key, member email): the same inputs always give the same owner, adding a member
moves only about its share of the pool's leads to it, and removing one moves only that member's leads.
A sticky pool keeps a lead with its current owner while that owner is still a member. Capacities, absences,
accounts and fallbacks are `leadsync.allocation`'s: pools that use none of them take the one-pass path here.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from leadsync._gc import paused_gc
from leadsync.allocation import Allocation, Ask, Member, OwnerPool, allocate
from leadsync.errors import Location, Problem, RoutingError
from leadsync.spec.conditions import (
    COMPARISONS,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Equals,
    Exists,
    Matches,
    Not,
    Pattern,
    describe,
)
from leadsync.spec.loader import LoadedSpec
from leadsync.spec.models import PoolRef
from leadsync.state import DesiredLead, Lead

Test = Callable[[Lead], bool]
_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})


class NotANumber(Exception):
    """A numeric comparison met a value that is not a number (reported, never a silent miss)."""

    def __init__(self, attr: str, value: Any, condition: str) -> None:
        super().__init__(f"{attr}: {value!r} is not a number (needed by {condition})")
        self.attr = attr
        self.value = value
        self.condition = condition


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


_MISSING = object()
T = TypeVar("T")


def _memo_text(function: Callable[[Any], T], limit: int = 1 << 17) -> Callable[[Any], T]:
    """`function` with its results for text kept, up to `limit` texts.

    CSV columns repeat the same texts ("150", "DE") across a million rows. Once full the memo stops growing
    rather than evicting: with a column of unique values, eviction would cost more than it saves.
    """
    memo: dict[str, T] = {}

    def call(value: Any) -> T:
        if type(value) is not str:
            return function(value)
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            found = function(value)
            if len(memo) < limit:
                memo[value] = found
        return found  # type: ignore[return-value]

    call.__doc__ = function.__doc__
    return call


def as_number(value: Any) -> float | None:
    """The value as a number: ints and floats as they are, numeric text (CSV) parsed; else None."""
    return _as_number(value)


_as_number = _memo_text(_parse_number)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def compile_condition(condition: Condition) -> Test:
    """A fast test for `condition`. Raises NotANumber when a numeric comparison meets text."""
    if isinstance(condition, Equals):
        return _equals(condition)
    if isinstance(condition, Compare):
        return _compare(condition)
    if isinstance(condition, Matches):
        attr, search = condition.attr, condition.pattern.search
        return lambda lead: (v := lead.value(attr)) is not None and search(str(v), lead) is not None
    if isinstance(condition, Exists):
        attr, expected = condition.attr, condition.expected
        return lambda lead: (lead.value(attr) is not None) is expected
    if isinstance(condition, (AllOf, AnyOf)):
        # chained pairwise closures: several times faster than all()/any() over a generator
        tests = [compile_condition(c) for c in condition.items]
        combined = tests[-1]
        for test in reversed(tests[:-1]):
            combined = _both(test, combined) if isinstance(condition, AllOf) else _either(test, combined)
        return combined
    inner = compile_condition(condition.item)
    return lambda lead: not inner(lead)


def _both(first: Test, second: Test) -> Test:
    return lambda lead: first(lead) and second(lead)


def _either(first: Test, second: Test) -> Test:
    return lambda lead: first(lead) or second(lead)


def _fold(value: Any) -> str:
    return str(value).strip().casefold()


_folded = _memo_text(_fold)


def _equals(condition: Equals) -> Test:
    attr = condition.attr
    numbers = frozenset(float(v) for v in condition.values if as_number(v) is not None and not isinstance(v, str))
    texts = frozenset(v.casefold() for v in condition.values if isinstance(v, str))
    bools = frozenset(v for v in condition.values if isinstance(v, bool))
    wants_none = any(v is None for v in condition.values)
    label = describe(condition)

    # the common shapes get their own closures: this runs once per lead per route
    if attr == "domain" and texts and not numbers and not bools:

        def domain_test(lead: Lead) -> bool:
            if "domain" in lead.fields:
                value = lead.value("domain")
                return wants_none if value is None else _folded(value) in texts
            domain = lead.key.rpartition("@")[2]  # keys are already trimmed and lower-cased
            return domain in texts or (not domain.isascii() and domain.casefold() in texts)

        return domain_test
    if texts and not numbers and not bools:

        def text_test(lead: Lead) -> bool:
            i = lead.fields.get(attr)  # Lead.value inlined: this line runs millions of times
            value = lead.cells[i] if i is not None else lead.value(attr)
            return wants_none if value is None or value == "" else _folded(value) in texts

        return text_test
    if numbers and not texts and not bools:

        def number_test(lead: Lead) -> bool:
            i = lead.fields.get(attr)
            value = lead.cells[i] if i is not None else lead.value(attr)
            if value is None or value == "":
                return wants_none
            number = _as_number(value)
            if number is None:
                raise NotANumber(attr, value, label)
            return number in numbers

        return number_test

    def test(lead: Lead) -> bool:
        value = lead.value(attr)
        if value is None:
            return wants_none
        if numbers and as_number(value) in numbers:
            return True
        if bools and _as_bool(value) in bools:
            return True
        return bool(texts) and _folded(value) in texts

    return test


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _compare(condition: Compare) -> Test:
    attr, bound, label, check = condition.attr, condition.bound, describe(condition), _OPERATORS[condition.op]

    def test(lead: Lead) -> bool:
        i = lead.fields.get(attr)
        value = lead.cells[i] if i is not None else lead.value(attr)
        if value is None or value == "":
            return False
        number = _as_number(value)
        if number is None:
            raise NotANumber(attr, value, label)
        return check(number, bound)

    return test


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


def _patterns(condition: Condition | None) -> Iterator[Pattern]:
    """The `matches` patterns in `condition`."""
    if isinstance(condition, Matches):
        yield condition.pattern
    elif isinstance(condition, (AllOf, AnyOf)):
        for item in condition.items:
            yield from _patterns(item)
    elif isinstance(condition, Not):
        yield from _patterns(condition.item)


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
        self.routes: tuple[CompiledRoute, ...] = tuple(
            CompiledRoute(
                name=route.name,
                to=route.to,
                test=compile_condition(cond) if cond is not None else None,
                condition=cond,
                owner=route.owner if isinstance(route.owner, str) else None,
                pool=pools[route.owner.pool] if isinstance(route.owner, PoolRef) else None,
                where=loaded.positions.of(("routes", i)),
            )
            for i, (route, cond) in enumerate(zip(spec.routes, loaded.conditions, strict=True))
        )

    def away(self, at: date | None) -> frozenset[str]:
        """The owners away on `at` (none without a date)."""
        if at is None:
            return frozenset()
        return frozenset(name for name, spans in self._away.items() if any(a <= at <= b for a, b in spans))

    def _simple(self, away: frozenset[str]) -> bool:
        """Whether every pool can pick lead by lead: no capacity, absence, account or fallback in play."""
        return not any(
            pool.by != "lead" or pool.fallback_owner or pool.fallback_pool
            or any(m.owner in self.capacity or m.owner in away for m in pool.members)
            for pool in self.pools.values()
        )  # fmt: skip

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
        for route in self.routes:  # each `matches` pattern's time budget is per routing
            for pattern in _patterns(route.condition):
                pattern.restart()
        owners = current_owners or {}
        away = self.away(at)
        with paused_gc(freeze=True):
            if self._simple(away) and not explain:
                return self._route(leads, owners)
            return self._route_allocating(leads, owners, away, standing or {}, pinned)

    def _matching(self, lead: Lead) -> CompiledRoute | None:
        for route in self.routes:
            if route.test is None or route.test(lead):
                return route
        return None

    def _route(self, leads: Iterable[Lead], owners: Mapping[str, str]) -> Routing:
        result = Routing()
        desired, unrouted = result.desired.append, result.unrouted.append
        problems: list[Problem] = []
        routes = self.routes
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
                route = self._matching(lead)
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
        for slot, route, lead in drawn:
            owner, why = placed.owners[slot], placed.reasons[slot]
            d = result.desired[slot]
            result.desired[slot] = DesiredLead(d.key, d.destination, owner, d.route, d.fields)
            result.reasons[d.key] = why
            if owner is None:
                assert route.pool is not None
                result.full.append((d.key, route.pool.name, why))
        return result

    def explain(
        self, lead: Lead, current_owner: str | None = None, *, at: date | None = None
    ) -> Explanation:
        """Which route and owner `lead` gets, and why; the routes that did not match and why not. The lead is
        placed alone: capacities bind only through the other leads, which `leadsync plan` weighs."""
        checks = []
        for route in self.routes:
            if route.condition is None:
                checks.append(RouteCheck(route.name, True, ("no condition: catch-all",)))
            else:
                matched, reasons = explain_condition(route.condition, lead)
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
            routing = self._route_allocating([lead], owners, self.away(at), {}, frozenset())
            return routing.desired[0].owner, routing.reasons[lead.key]
        if route.owner is not None:
            return route.owner, f"fixed owner of route '{route.name}'"
        return None, f"route '{route.name}' sets no owner: the current owner is kept"


def _account(lead: Lead, by: str) -> str:
    """What a pool hashes for `lead`: its key, or its account (the `by` attribute; the key when it has none)."""
    if by == "lead":
        return lead.key
    value = lead.key.rpartition("@")[2] if by == "domain" and "domain" not in lead.fields else lead.value(by)
    if value is None or str(value).strip() == "":
        return lead.key
    return f"{by}={str(value).strip().casefold()}"


def explain_condition(condition: Condition, lead: Lead) -> tuple[bool, list[str]]:
    """Whether `condition` holds for `lead`, with the facts that decided it."""
    if isinstance(condition, AllOf):
        reasons: list[str] = []
        for item in condition.items:
            ok, why = explain_condition(item, lead)
            if not ok:
                return False, why
            reasons.extend(why)
        return True, reasons
    if isinstance(condition, AnyOf):
        failures: list[str] = []
        for item in condition.items:
            ok, why = explain_condition(item, lead)
            if ok:
                return True, why
            failures.extend(why)
        return False, failures
    if isinstance(condition, Not):
        ok, why = explain_condition(condition.item, lead)
        return not ok, [f"not ({'; '.join(why)})"]
    attr = condition.attr
    value = lead.value(attr)
    shown = "absent" if value is None else repr(value)
    try:
        ok = compile_condition(condition)(lead)
    except NotANumber as exc:
        return False, [f"{exc}"]
    verdict = "holds" if ok else "fails"
    return ok, [f"{describe(condition)} {verdict}: {attr} is {shown}"]


__all__ = ["COMPARISONS", "Explanation", "Member", "OwnerPool", "Router", "Routing", "as_number", "compile_condition"]
