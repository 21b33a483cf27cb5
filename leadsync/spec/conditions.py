"""`when` conditions: parsed from spec data into a small typed tree, each node knowing where it was written.

Evaluation lives in `leadsync.routing`; this module checks and describes, and holds the `matches` patterns,
which bound their own time (a pattern written by anyone must not run for hours on a hundred thousand leads).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import regex

from leadsync.errors import Location, Problem, RoutingError
from leadsync.spec.regexshape import ExpansionBudget, expansion, parse, quiet, refusal
from leadsync.spec.yamlpos import Path, Positions
from leadsync.state import Lead

#: seconds one search of a `matches` pattern may take before routing gives up
SEARCH_TIMEOUT = 0.1
#: seconds all searches of one pattern may take beyond `SEARCH_ALLOWANCE` each: a pattern that is slow on
#: every lead, but under the per-search limit, gives up in about this long rather than in hours
SEARCH_BUDGET = 10.0
SEARCH_ALLOWANCE = 0.000_01
_SHOWN = 40  # characters of a value shown in a message

Scalar = str | int | float | bool | None

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
#: time matchers: relative to the plan's time (`--at`), or to a date or time written in the spec
TIMES = ("older_than", "within", "before", "after")
OPERATORS = (*COMPARISONS, "matches", "exists", *TIMES)
#: a duration: a whole number and a unit
_DURATION = re.compile(r"([0-9]{1,6})([hdw])")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}
DURATION_FORMS = "a whole number and a unit, h (hours), d (days) or w (weeks): 36h, 14d, 2w"
INSTANT_FORMS = "a date (2027-01-01, the day in UTC) or a time (2027-01-01T09:30:00Z; no zone: UTC)"


@dataclass(frozen=True, slots=True)
class Equals:
    """`attr: value` (one value) or `attr: [v1, v2]` (any of them)."""

    attr: str
    values: tuple[Scalar, ...]
    where: Location


@dataclass(frozen=True, slots=True)
class Compare:
    """`attr: {gte: 1000}`: a numeric comparison."""

    attr: str
    op: str
    bound: float
    where: Location


@dataclass(frozen=True, slots=True)
class Timed:
    """`attr: {older_than: 14d}`, `{within: 7d}` (a duration back from the plan's time), `{before: DATE}`,
    `{after: DATE}` (an instant; a date bound stands for its whole UTC day: before it, or after it)."""

    attr: str
    op: str
    span: dt.timedelta | None
    bound: dt.datetime | None
    written: str  # the bound as the spec wrote it, for messages
    where: Location


def parse_duration(value: Any) -> dt.timedelta | None:
    """`14d` as a timedelta (None: not a duration as the spec writes one)."""
    found = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    return int(found.group(1)) * _UNITS[found.group(2)] if found else None


def parse_instant(value: Any, *, end_of_day: bool = False) -> dt.datetime | None:
    """A date, a time or ISO text as an aware UTC datetime (None: not one). A date is the start of its UTC day,
    or with `end_of_day` the start of the next: "after 2027-01-01" is from 2027-01-02 00:00 UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        start = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end_of_day else start
    return None


class Pattern:
    """A `matches` regular expression run by the `regex` module with a time limit per search and a budget for all
    of them; either exceeded raises a RoutingError located at the pattern. Python's `re` checks the syntax first,
    so the language accepted is Python's (the `regex` module would accept more)."""

    __slots__ = ("_budget", "_search", "_spent", "attr", "pattern", "where")

    def __init__(self, source: str, attr: str, where: Location) -> None:
        self.pattern = source
        self.attr = attr
        self.where = where
        self._search = regex.compile(source).search
        self._spent = 0.0  # seconds beyond the allowance, over every search so far
        self._budget = SEARCH_BUDGET

    def search(self, text: str, lead: Lead | None = None) -> regex.Match[str] | None:
        """The first match in `text`, or None; `lead`, when given, is named in the message where the value came from."""
        started = perf_counter()
        try:
            found = self._search(text, timeout=SEARCH_TIMEOUT)
        except TimeoutError:
            raise self._too_slow(f"took longer than {SEARCH_TIMEOUT:g} s on the value {_shown(text)}", lead) from None
        self._spent += perf_counter() - started - SEARCH_ALLOWANCE
        if self._spent > self._budget:
            raise self._too_slow(f"spent more than {self._budget:g} s searching (the last value {_shown(text)})", lead)
        return found

    def restart(self) -> None:
        """A fresh budget: it covers one routing of the leads (an apply routes again each round)."""
        self._spent = 0.0

    def _too_slow(self, what: str, lead: Lead | None) -> RoutingError:
        where = f" ({lead.file}:{lead.line})" if lead is not None else ""
        return RoutingError(
            [Problem(self.where, f"'{self.attr}': the pattern {self.pattern!r} {what}{where}; simplify it")]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


def _shown(text: str) -> str:
    return repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN] + "...")


@dataclass(frozen=True, slots=True)
class Matches:
    """`attr: {matches: regex}`: the regex is searched in the value's text."""

    attr: str
    pattern: Pattern
    where: Location


@dataclass(frozen=True, slots=True)
class Exists:
    attr: str
    expected: bool
    where: Location


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Equals | Compare | Matches | Exists | Timed | AllOf | AnyOf | Not


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Parser:
    def __init__(self, positions: Positions, budget: ExpansionBudget) -> None:
        self.positions = positions
        self.budget = budget
        self.problems: list[Problem] = []

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.positions.of(path, key=key), message))

    def condition(self, data: Any, path: Path) -> Condition | None:
        if not isinstance(data, dict) or not data:
            self.problem(path, "a condition must be a non-empty mapping of attribute -> matcher, or all/any/not")
            return None
        items: list[Condition] = []
        for name, value in data.items():
            child = (*path, name)
            parsed: Condition | None
            if name in ("all", "any"):
                parsed = self.combination(name, value, child)
            elif name == "not":
                inner = self.condition(value, child)
                parsed = Not(inner) if inner is not None else None
            else:
                parsed = self.matcher(str(name), value, child)
            if parsed is not None:
                items.append(parsed)
        if len(items) != len(data):
            return None
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def combination(self, name: str, value: Any, path: Path) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.problem(path, f"'{name}' takes a non-empty list of conditions")
            return None
        parsed = [self.condition(item, (*path, i)) for i, item in enumerate(value)]
        if any(p is None for p in parsed):
            return None
        items = tuple(p for p in parsed if p is not None)
        return AllOf(items) if name == "all" else AnyOf(items)

    def matcher(self, attr: str, value: Any, path: Path) -> Condition | None:
        where = self.positions.of(path)
        if isinstance(value, list):
            if not value:
                self.problem(path, f"'{attr}': an empty list can never match")
                return None
            bad = [v for v in value if isinstance(v, (dict, list))]
            if bad:
                self.problem(path, f"'{attr}': a list matcher holds plain values only")
                return None
            return Equals(attr, tuple(value), where)
        if isinstance(value, dict):
            return self.comparison(attr, value, path)
        return Equals(attr, (value,), where)

    def comparison(self, attr: str, ops: dict[str, Any], path: Path) -> Condition | None:
        if not ops:
            self.problem(path, f"'{attr}': an empty comparison; use one of {', '.join(OPERATORS)}")
            return None
        items: list[Condition] = []
        ok = True
        for op, bound in ops.items():
            child = (*path, op)
            where = self.positions.of(child)
            if op in COMPARISONS:
                if not _is_number(bound):
                    self.problem(child, f"'{attr}': '{op}' needs a number, got {bound!r}")
                    ok = False
                    continue
                items.append(Compare(attr, op, float(bound), where))
            elif op == "matches":
                if not isinstance(bound, str):
                    self.problem(child, f"'{attr}': 'matches' needs a regular expression string")
                    ok = False
                    continue
                pattern = self.pattern(attr, bound, child, where)
                if pattern is None:
                    ok = False
                    continue
                items.append(Matches(attr, pattern, where))
            elif op in TIMES:
                timed = self.timed(attr, op, bound, child, where)
                if timed is None:
                    ok = False
                    continue
                items.append(timed)
            elif op == "exists":
                if not isinstance(bound, bool):
                    self.problem(child, f"'{attr}': 'exists' needs true or false")
                    ok = False
                    continue
                items.append(Exists(attr, bound, where))
            else:
                self.problem(child, f"'{attr}': unknown comparison '{op}' (use {', '.join(OPERATORS)})", key=True)
                ok = False
        if not ok:
            return None
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def timed(self, attr: str, op: str, bound: Any, path: Path, where: Location) -> Timed | None:
        written = spelt(bound) if not isinstance(bound, str) else bound
        if op in ("older_than", "within"):
            span = parse_duration(bound)
            if span is None:
                self.problem(path, f"'{attr}': '{op}' takes a duration, {DURATION_FORMS}; got {spelt(bound)}")
                return None
            return Timed(attr, op, span, None, written, where)
        instant = parse_instant(bound, end_of_day=op == "after") if not isinstance(bound, bool) else None
        if instant is None:
            self.problem(path, f"'{attr}': '{op}' takes {INSTANT_FORMS}; got {spelt(bound)}")
            return None
        return Timed(attr, op, None, instant, written, where)

    def pattern(self, attr: str, source: str, path: Path, where: Location) -> Pattern | None:
        # Python's parser judges it first: the `regex` module unrolls counted repeats as it compiles, and a
        # pattern of 25 characters can take all the memory there is (leadsync.spec.regexshape)
        try:
            tree = parse(source)
            with quiet():
                re.compile(source)  # what only compiling finds (a look-behind of varying width)
        except (re.error, RecursionError, OverflowError) as exc:  # deep nesting, huge counts: still one line
            self.problem(path, f"'{attr}': invalid regular expression {source!r}: {exc}")
            return None
        refused = refusal(source, tree)
        if refused is None and not self.budget.take(expansion(tree)):
            refused = (
                f"expands to {expansion(tree):,} items when compiled, which takes the spec's patterns past "
                f"{self.budget.limit:,} in all; use smaller counts"
            )
        if refused is not None:
            self.problem(path, f"'{attr}': the pattern {source!r} {refused}")
            return None
        try:
            return Pattern(source, attr, where)
        except (regex.error, RecursionError, OverflowError) as exc:  # valid for Python, not for the engine that runs it
            self.problem(path, f"'{attr}': unsupported regular expression {source!r}: {exc}")
            return None


def parse_condition(
    data: Any, path: Path, positions: Positions, budget: ExpansionBudget | None = None
) -> tuple[Condition | None, list[Problem]]:
    """Parse a `when` value found at `path`. Returns the condition (None if invalid) and every problem; `budget`
    is what the spec's patterns may expand to, shared by all its `when` values (a fresh one if not given)."""
    parser = _Parser(positions, budget if budget is not None else ExpansionBudget())
    return parser.condition(data, path), parser.problems


def spelt(value: Any) -> str:
    """A value as the spec would write it: `true`, `null`, `2026-01-05`, `'DE'`, `1000`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dt.date, dt.time)):  # a datetime is a date
        return value.isoformat()
    return repr(value)


def describe(condition: Condition) -> str:
    """A short human form, e.g. `company_size >= 1000 and country in [DE, FR]`."""
    if isinstance(condition, Equals):
        if len(condition.values) == 1:
            return f"{condition.attr} = {spelt(condition.values[0])}"
        return f"{condition.attr} in [{', '.join(spelt(v) for v in condition.values)}]"
    if isinstance(condition, Compare):
        return f"{condition.attr} {COMPARISONS[condition.op]} {condition.bound:g}"
    if isinstance(condition, Matches):
        return f"{condition.attr} matches /{condition.pattern.pattern}/"
    if isinstance(condition, Exists):
        return f"{condition.attr} {'exists' if condition.expected else 'is absent'}"
    if isinstance(condition, Timed):
        words = {"older_than": "older than", "within": "within the last"}.get(condition.op, condition.op)
        return f"{condition.attr} {words} {condition.written}"
    if isinstance(condition, AllOf):
        return " and ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, AnyOf):
        return " or ".join(_grouped(c) for c in condition.items)
    return f"not ({describe(condition.item)})"


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, (AllOf, AnyOf)) else text
