"""Validation by meaning: what a spec's `when` conditions say about the leads it has now.

- An attribute that no lead can have (no source column, no inline lead's key, not derived) is an error, with a
  did-you-mean, unless it is only asked about with `exists`. A spec with no leads at all (no sources and no
  inline leads, or only empty ones) has nothing to check against, so its attributes are not checked; nor does a
  JSONL source with no record (it has no header to tell its attributes).
- A route that no current lead is routed by is a warning, told one of two ways because the fixes differ: it
  matches none of the leads (look at the condition), or every lead it matches goes to an earlier route (look at
  the order). A spec without leads gets neither.
- A number written as text (`company_size: ">=1000"`) is a warning that says how to write the comparison.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from leadsync.errors import NotANumber, Problem, closest
from leadsync.spec.conditions import describe
from leadsync.spec.loader import LoadedSpec
from leadsync.spec.yamlpos import Path
from leadsync.state import KeyKind, Lead

_COMBINATIONS = ("all", "any", "not")


@dataclass
class Supply:
    """The attributes the spec's leads can have, as `sources.py` reads them."""

    attributes: set[str] = field(default_factory=set)
    #: column -> (attribute, source index): columns that `fields` reads under another name
    renamed: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: False when a source could not be read far enough to know its attributes
    complete: bool = True


def derived(loaded: LoadedSpec) -> set[str]:
    """Attributes every lead has without a column: its key, and `domain` from an email."""
    kind = loaded.spec.key_kind
    return {kind.value, "domain"} if kind is KeyKind.EMAIL else {kind.value}


def when_attributes(data: Any, path: Path) -> Iterator[tuple[str, Path, Any]]:
    """(attribute, path, matcher) of every attribute a raw `when` value names, through all/any/not."""
    if not isinstance(data, dict):
        return
    for name, value in data.items():
        child = (*path, name)
        if name in ("all", "any") and isinstance(value, list):
            for i, item in enumerate(value):
                yield from when_attributes(item, (*child, i))
        elif name == "not":
            yield from when_attributes(value, child)
        else:
            yield str(name), child, value


def attribute_problems(loaded: LoadedSpec, supply: Supply) -> list[Problem]:
    """An error for each attribute a route names that no lead can have."""
    if not supply.attributes or not supply.complete:
        return []
    known = supply.attributes | derived(loaded)
    problems: list[Problem] = []
    for i, route in enumerate(loaded.spec.routes):
        for attr, path, matcher in when_attributes(route.when, ("routes", i, "when")):
            if attr in known or (isinstance(matcher, dict) and "exists" in matcher):
                continue  # `exists` asks whether a lead has it at all: no lead having it yet is no mistake
            message = f"route '{route.name}': no lead has the attribute '{attr}'{_hint(attr, known, supply)}"
            problems.append(Problem(loaded.positions.of(path, key=True), message))
    return problems


def _hint(attr: str, known: set[str], supply: Supply) -> str:
    if attr in supply.renamed:
        name, index = supply.renamed[attr]
        return f" (sources[{index}].fields reads column '{attr}' as '{name}'; write {name})"
    close = closest(attr, known)
    if close:
        return f" (did you mean '{close}'?)"
    names = sorted(known)
    return f" (leads have: {', '.join(names[:15])}{', ...' if len(names) > 15 else ''})"


def lead_warnings(loaded: LoadedSpec, leads: Sequence[Lead]) -> list[Problem]:
    """Warnings about routes given the spec's current leads."""
    texts = text_number_warnings(loaded, leads)
    # a route that matches nothing because of a number written as text gets the warning that says how to fix it
    explained = {route for route, _ in texts}
    return [*route_warnings(loaded, leads, explained), *(warning for _, warning in texts)]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def route_warnings(loaded: LoadedSpec, leads: Sequence[Lead], explained: Set[int] = frozenset()) -> list[Problem]:
    """A warning for each route that no current lead is routed by (but not "matches none" for `explained`)."""
    if not leads:
        return []
    # routing imports this package, so it is imported when first needed; evaluation has one home (routing.py)
    from leadsync.matching import compile_condition, timed

    # a route at or after one that matches by time (older_than, within) has leads that depend on the plan's time:
    # a warning now could be wrong at the next plan; the routes before it are judged as ever
    upto = next((i for i, c in enumerate(loaded.conditions) if timed(c)), len(loaded.conditions))
    routes = loaded.spec.routes[:upto]
    tests = [compile_condition(c) if c is not None else None for c in loaded.conditions[:upto]]

    def first(lead: Lead, upto: int) -> int | None:
        for i in range(upto):
            test = tests[i]
            if test is None or test(lead):
                return i
        return None

    used = [False] * len(routes)
    unused = len(routes)
    for lead in leads:  # stops as soon as every route has a lead: the usual case costs a few leads
        try:
            i = first(lead, len(routes))
        except NotANumber:
            continue  # routing reports it
        if i is not None and not used[i]:
            used[i] = True
            unused -= 1
            if not unused:
                return []
    warnings: list[Problem] = []
    for r, route in enumerate(routes):
        if used[r]:
            continue
        test = tests[r]
        taken: Counter[str] = Counter()
        for lead in leads:
            try:
                if test is None or test(lead):
                    earlier = first(lead, r)
                    if earlier is not None:
                        taken[routes[earlier].name] += 1
            except NotANumber:
                continue
        where = loaded.positions.of(("routes", r))
        condition = loaded.conditions[r]
        if not taken:
            if r in explained:
                continue
            shown = f" ({describe(condition)})" if condition is not None else ""
            message = f"route '{route.name}' matches none of the spec's {_plural(len(leads), 'lead')}{shown}"
        else:
            total = sum(taken.values())
            order = {route.name: i for i, route in enumerate(routes)}
            spread = ", ".join(f"{name}: {count:,}" for name, count in sorted(taken.items(), key=lambda t: order[t[0]]))
            message = (
                f"route '{route.name}' routes no lead: earlier routes take {'the' if total == 1 else 'all'} "
                f"{_plural(total, 'lead')} it matches ({spread})"
            )
        warnings.append(Problem(where, message))
    return warnings


_NUMBER = r"\d[\d,_]*(?:\.\d+)?"
_COMPARISON = re.compile(rf"^\s*(>=|=>|<=|=<|==|>|<|=)\s*([-+]?{_NUMBER})\s*$")
_AT_LEAST = re.compile(rf"^\s*({_NUMBER})\s*\+\s*$")
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*(?:-|\u2013|\.\.|to)\s*({_NUMBER})\s*$")
_OPS = {">=": "gte", "=>": "gte", ">": "gt", "<=": "lte", "=<": "lte", "<": "lt"}


def _number(text: str) -> str:
    value = float(text.replace(",", "").replace("_", ""))
    return f"{value:g}" if not value.is_integer() else str(int(value))


def comparison_for(text: str) -> str | None:
    """How to write the number comparison `text` seems to mean, e.g. '>=1000' -> '{gte: 1000}'."""
    if match := _COMPARISON.match(text):
        op, bound = match.groups()
        return f"{{{_OPS[op]}: {_number(bound)}}}" if op in _OPS else f"{_number(bound)} (a number, unquoted)"
    if match := _AT_LEAST.match(text):
        return f"{{gte: {_number(match.group(1))}}}"
    if match := _RANGE.match(text):
        return f"{{gte: {_number(match.group(1))}, lte: {_number(match.group(2))}}}"
    return None


def text_number_warnings(loaded: LoadedSpec, leads: Sequence[Lead]) -> list[tuple[int, Problem]]:
    """A warning for text matchers that look like numbers compared: `">=1000"`, or `"1000+"` against numbers.

    A text some lead has exactly (a band column holding "1000+") is what it says and is left alone.
    """
    from leadsync.matching import as_number  # see route_warnings

    suspects: dict[str, list[tuple[str, Path, int]]] = {}  # attr -> (text, path, route index)
    for i, route in enumerate(loaded.spec.routes):
        for attr, path, matcher in when_attributes(route.when, ("routes", i, "when")):
            if isinstance(matcher, list):
                values = [(value, (*path, j)) for j, value in enumerate(matcher)]
            else:
                values = [(matcher, path)]
            for value, where in values:
                if isinstance(value, str) and as_number(value) is None and any(c.isdigit() for c in value):
                    suspects.setdefault(attr, []).append((value, where, i))
    warnings: list[tuple[int, Problem]] = []
    for attr, items in suspects.items():
        texts = {text.strip().casefold() for text, _, _ in items}
        had: set[str] = set()
        numbers = others = 0
        for lead in leads:
            value = lead.value(attr)
            if value is None:
                continue
            if as_number(value) is not None:
                numbers += 1
            else:
                others += 1
                folded = str(value).strip().casefold()
                if folded in texts:
                    had.add(folded)
        all_numbers = numbers > 0 and others == 0
        for text, where, index in items:
            if text.strip().casefold() in had:
                continue
            looks_compared = _COMPARISON.match(text) is not None
            if not (looks_compared or all_numbers):
                continue
            fix = comparison_for(text) or "a comparison such as {gte: N}"
            message = f"'{attr}': {text!r} is compared as text and matches no lead; write {fix}"
            warnings.append((index, Problem(loaded.positions.of(where), message)))
    return warnings
