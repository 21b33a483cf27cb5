"""Routing: spec + leads -> desired state. Pure: no I/O, no clock, no randomness.

Routes are tried in order and the first match wins. Owners are fixed, or drawn from a weighted pool by
rendezvous hashing of (lead key, member email): the same inputs always give the same owner, adding a member
moves only about its share of the pool's leads to it, and removing one moves only that member's leads.
A sticky pool keeps a lead with its current owner while that owner is still a member.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from leadsync._gc import paused_gc
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


@dataclass(frozen=True, slots=True)
class Member:
    owner: str
    email: str
    weight: float


class OwnerPool:
    """A weighted pool of owners; picks by weighted rendezvous hashing."""

    def __init__(self, name: str, members: Iterable[Member], sticky: bool) -> None:
        self.name = name
        self.members = tuple(sorted(members, key=lambda m: m.owner))
        self.sticky = sticky
        self.names = frozenset(m.owner for m in self.members)
        # a pre-fed hash per member: copying it is cheaper than hashing the member again for every lead
        self._seeds = tuple((m, hashlib.blake2b(m.email.encode() + b"\0", digest_size=8)) for m in self.members)
        self._why = f"pool '{name}': weighted rendezvous hash over {len(self.members)} members"

    def pick(self, key: str, current: str | None = None) -> tuple[str, str]:
        """(owner, why) for the lead `key` whose current owner is `current`."""
        if self.sticky and current in self.names:
            return current, f"sticky: already owned by {current}, still in pool '{self.name}'"
        return self.choose(key).owner, self._why

    def choose(self, key: str) -> Member:
        """The member `key` hashes to (the hot path of `pick`, without building a list)."""
        data = key.encode()
        best, top = self.members[0], -1.0
        for member, seed in self._seeds:
            h = seed.copy()
            h.update(data)
            # u uniform in (0, 1); -w/ln(u) makes each member win in proportion to its weight
            u = (int.from_bytes(h.digest(), "big") + 1) / 18446744073709551617.0
            score = -member.weight / math.log(u)
            if score > top:  # on a tie (never seen in practice) the first owner name wins
                best, top = member, score
        return best




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
            )
            for name, pool in spec.pools.items()
        }
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

    def route(self, leads: Iterable[Lead], current_owners: Mapping[str, str] | None = None) -> Routing:
        """Route every lead. Raises RoutingError listing every lead whose data a route cannot evaluate."""
        for route in self.routes:  # each `matches` pattern's time budget is per routing
            for pattern in _patterns(route.condition):
                pattern.restart()
        with paused_gc(freeze=True):
            return self._route(leads, current_owners or {})

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

    def explain(self, lead: Lead, current_owner: str | None = None) -> Explanation:
        """Which route and owner `lead` gets, and why; the routes that did not match and why not."""
        checks = []
        for route in self.routes:
            if route.condition is None:
                checks.append(RouteCheck(route.name, True, ("no condition: catch-all",)))
            else:
                matched, reasons = explain_condition(route.condition, lead)
                checks.append(RouteCheck(route.name, matched, tuple(reasons)))
            if checks[-1].matched:
                owner, why = self._explain_owner(route, lead.key, current_owner)
                return Explanation(lead.key, tuple(checks), route.name, route.to, owner, why)
        return Explanation(lead.key, tuple(checks), None, None, None, "unrouted: no route matched")

    @staticmethod
    def _explain_owner(route: CompiledRoute, key: str, current: str | None) -> tuple[str | None, str]:
        if route.pool is not None:
            owner, why = route.pool.pick(key, current)
            if not why.startswith("sticky"):
                member = next(m for m in route.pool.members if m.owner == owner)
                total = sum(m.weight for m in route.pool.members)
                why = f"pool '{route.pool.name}': weighted rendezvous hash, weight {member.weight:g} of {total:g}"
            return owner, why
        if route.owner is not None:
            return route.owner, f"fixed owner of route '{route.name}'"
        return None, f"route '{route.name}' sets no owner: the current owner is kept"


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


__all__ = ["COMPARISONS", "Explanation", "OwnerPool", "Router", "Routing", "as_number", "compile_condition"]
