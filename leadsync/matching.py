"""Matching: a spec's conditions compiled to tests of a lead, and explained. Pure: no I/O, no clock.

Text equality ignores case (and Unicode form); a numeric comparison on text that is not a number raises
NotANumber, reported at the lead, never a silent miss; `matches` runs on the `regex` module with a time limit.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

from leadsync.errors import NotANumber, NotATime
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
    Timed,
    describe,
    parse_instant,
    spelt,
)
from leadsync.state import Lead

Test = Callable[[Lead], bool]

_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})


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


def _parse_instant(value: Any) -> datetime | None:
    return parse_instant(value) if not isinstance(value, (bool, int, float)) else None


_as_instant = _memo_text(_parse_instant)


def compile_condition(condition: Condition, now: datetime | None = None) -> Test:
    """A fast test for `condition`, as of `now` (an aware UTC time: what time matchers are relative to; a
    condition with `older_than` or `within` needs one). Raises NotANumber when a numeric comparison meets text,
    NotATime when a time matcher meets a value that is not a time."""
    if isinstance(condition, Timed):
        return _timed(condition, now)
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
        tests = [compile_condition(c, now) for c in condition.items]
        combined = tests[-1]
        for test in reversed(tests[:-1]):
            combined = _both(test, combined) if isinstance(condition, AllOf) else _either(test, combined)
        return combined
    inner = compile_condition(condition.item, now)
    return lambda lead: not inner(lead)


def _timed(condition: Timed, now: datetime | None) -> Test:
    """older_than: the lead's time is before `now` less the span; within: at or after it (a time ahead of `now`
    included); before: earlier than the bound; after: at or past it (a date bound is already its day's end).
    A time the lead lacks matches neither."""
    attr, label, op = condition.attr, describe(condition), condition.op
    if condition.span is not None:
        if now is None:
            raise ValueError(f"{label}: a time matcher needs the plan's time")
        threshold = now - condition.span
    else:
        assert condition.bound is not None
        threshold = condition.bound
    earlier = op in ("older_than", "before")

    def test(lead: Lead) -> bool:
        i = lead.fields.get(attr)
        value = lead.cells[i] if i is not None else lead.value(attr)
        if value is None or value == "":
            return False
        instant = _as_instant(value)
        if instant is None:
            raise NotATime(attr, value, label)
        return instant < threshold if earlier else instant >= threshold

    return test


def timed(condition: Condition | None) -> bool:
    """Whether `condition` has a time matcher relative to the plan's time (`older_than`, `within`)."""
    if isinstance(condition, Timed):
        return condition.span is not None
    if isinstance(condition, (AllOf, AnyOf)):
        return any(timed(item) for item in condition.items)
    if isinstance(condition, Not):
        return timed(condition.item)
    return False


def _both(first: Test, second: Test) -> Test:
    return lambda lead: first(lead) and second(lead)


def _either(first: Test, second: Test) -> Test:
    return lambda lead: first(lead) or second(lead)


def _fold(value: Any) -> str:
    return str(value).strip().casefold()


_folded = _memo_text(_fold)


def _equals(condition: Equals) -> Test:
    attr = condition.attr
    numbers = frozenset(n for v in condition.values if not isinstance(v, str) and (n := as_number(v)) is not None)
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
        kind = type(value)  # a typed number (a SQL source's) needs no parsing
        number = value if kind is int or kind is float else _as_number(value)
        if number is None:
            raise NotANumber(attr, value, label)
        return check(number, bound)

    return test


def patterns(condition: Condition | None) -> Iterator[Pattern]:
    """The `matches` patterns in `condition`."""
    if isinstance(condition, Matches):
        yield condition.pattern
    elif isinstance(condition, (AllOf, AnyOf)):
        for item in condition.items:
            yield from patterns(item)
    elif isinstance(condition, Not):
        yield from patterns(condition.item)


def explain_condition(condition: Condition, lead: Lead, now: datetime | None = None) -> tuple[bool, list[str]]:
    """Whether `condition` holds for `lead` (as of `now`, for time matchers), with the facts that decided it."""
    if isinstance(condition, AllOf):
        reasons: list[str] = []
        for item in condition.items:
            ok, why = explain_condition(item, lead, now)
            if not ok:
                return False, why
            reasons.extend(why)
        return True, reasons
    if isinstance(condition, AnyOf):
        failures: list[str] = []
        for item in condition.items:
            ok, why = explain_condition(item, lead, now)
            if ok:
                return True, why
            failures.extend(why)
        return False, failures
    if isinstance(condition, Not):
        ok, why = explain_condition(condition.item, lead, now)
        return not ok, [f"not ({'; '.join(why)})"]
    attr = condition.attr
    value = lead.value(attr)
    shown = "absent" if value is None else spelt(value)
    try:
        ok = compile_condition(condition, now)(lead)
    except NotANumber as exc:
        return False, [f"{exc}"]
    verdict = "holds" if ok else "fails"
    if isinstance(condition, Timed) and condition.span is not None and now is not None and value is not None:
        instant = _as_instant(value)
        if instant is not None:  # how long ago, which is what the matcher weighs
            shown = f"{shown} ({_ago(now - instant)} before {now.isoformat().replace('+00:00', 'Z')})"
    return ok, [f"{describe(condition)} {verdict}: {attr} is {shown}"]


def _ago(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f}h" if abs(hours) < 48 else f"{hours / 24:.1f}d"


__all__ = [
    "COMPARISONS",
    "NotANumber",
    "Test",
    "as_number",
    "compile_condition",
    "explain_condition",
    "patterns",
    "timed",
]
