"""`when` conditions: parsed from spec data into a small typed tree, each node knowing where it was written.

Evaluation lives in `leadsync.routing`; this module only checks and describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

from leadsync.errors import Location, Problem
from leadsync.spec.yamlpos import Path, Positions

Scalar = Union[str, int, float, bool, None]

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
OPERATORS = (*COMPARISONS, "matches", "exists")


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
class Matches:
    """`attr: {matches: regex}`: the regex is searched in the value's text."""

    attr: str
    pattern: re.Pattern[str]
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


Condition = Union[Equals, Compare, Matches, Exists, AllOf, AnyOf, Not]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Parser:
    def __init__(self, positions: Positions) -> None:
        self.positions = positions
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
                try:
                    items.append(Matches(attr, re.compile(bound), where))
                except re.error as exc:
                    self.problem(child, f"'{attr}': invalid regular expression {bound!r}: {exc}")
                    ok = False
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


def parse_condition(data: Any, path: Path, positions: Positions) -> tuple[Condition | None, list[Problem]]:
    """Parse a `when` value found at `path`. Returns the condition (None if invalid) and every problem."""
    parser = _Parser(positions)
    return parser.condition(data, path), parser.problems


def describe(condition: Condition) -> str:
    """A short human form, e.g. `company_size >= 1000 and country in [DE, FR]`."""
    if isinstance(condition, Equals):
        if len(condition.values) == 1:
            return f"{condition.attr} = {condition.values[0]!r}"
        return f"{condition.attr} in [{', '.join(repr(v) for v in condition.values)}]"
    if isinstance(condition, Compare):
        return f"{condition.attr} {COMPARISONS[condition.op]} {condition.bound:g}"
    if isinstance(condition, Matches):
        return f"{condition.attr} matches /{condition.pattern.pattern}/"
    if isinstance(condition, Exists):
        return f"{condition.attr} {'exists' if condition.expected else 'is absent'}"
    if isinstance(condition, AllOf):
        return " and ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, AnyOf):
        return " or ".join(_grouped(c) for c in condition.items)
    return f"not ({describe(condition.item)})"


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, (AllOf, AnyOf)) else text
