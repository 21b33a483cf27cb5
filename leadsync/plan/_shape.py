"""How a plan document's shape is checked and told: the validators `_schema.py`'s definition uses beyond
pydantic's own, and pydantic's errors worded as one located problem (the path as JSON Pointer steps joined by
'/', the message as JSON Schema validators word it: the wording plan files were always refused with).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError


def short(value: Any) -> str:
    """A value as an error message shows it: its repr, cut at 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("unique_items", "has non-unique elements")
    return values


def number(low: float, high: float | None = None, *, above: bool = False) -> Callable[[Any], float]:
    """A JSON number (int or float, never a bool) kept as read: an int stays an int, so the bytes round-trip."""

    def check(value: Any) -> float:
        if type(value) not in (int, float):
            raise PydanticCustomError("number_type", "{value} is not of type 'number'", {"value": short(value)})
        if value < low or (above and value == low):
            rule = "less than or equal to" if above else "less than"
            raise PydanticCustomError("number_low", "{value} is {rule} the minimum of {low}", _ctx(value, rule, low))
        if high is not None and value > high:
            raise PydanticCustomError(
                "number_high", "{value} is greater than the maximum of {high}", _ctx(value, "", high)
            )
        kept: float = value
        return kept

    return check


def one_of(kind: type[Enum]) -> Callable[[str], str]:
    """A str that is one of the enum's values: the document holds the value (the encoder writes `.value`)."""
    allowed = frozenset(enum_values(kind))

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "enum", "{value} is not one of {expected}", {"value": short(value), "expected": str(enum_values(kind))}
            )
        return value

    return check


def enum_values(kind: type[Enum]) -> list[str]:
    return [str(member.value) for member in kind]


def _ctx(value: Any, rule: str, bound: float) -> dict[str, Any]:
    return {"value": repr(value), "rule": rule, "low": repr(bound), "high": repr(bound)}


_OPS = ["move", "add", "assign", "remove"]  # the tags of `operations`' shapes, in apply order
_OP_TAGS = frozenset(_OPS)
_TYPES = {
    "string_type": "string",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "typed_dict_type": "object",
    "model_attributes_type": "object",
    "none_required": "null",
}


def located(error: ValidationError) -> tuple[str, str]:
    """The first thing wrong, as (path, message): the path as JSON Pointer steps joined by '/' (operations/3/keys;
    '' for the top level), the message worded as JSON Schema validators word it."""
    errors = error.errors(include_url=False)
    first = errors[0]
    loc = _path(first["loc"])
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = loc[:-1]
        extra = [_path(e["loc"])[-1] for e in errors if e["type"] == kind and _path(e["loc"])[:-1] == parent]
        verb = "was" if len(extra) == 1 else "were"
        return _join(parent), f"Additional properties are not allowed ({', '.join(map(repr, extra))} {verb} unexpected)"
    if kind == "missing":
        return _join(loc[:-1]), f"{loc[-1]!r} is a required property"
    if loc and loc[-1] == "[key]":  # a key of a dict: reported at the dict
        return _join(loc[:-2]), _message(first)
    if kind == "union_tag_invalid":
        tag = short(first["input"].get("op"))
        return _join((*loc, "op")), f"{tag} is not one of {_OPS}"
    if kind == "union_tag_not_found":
        return _join(loc), "'op' is a required property"
    return _join(loc), _message(first)


def _path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # an operation's errors carry the tag of the shape it was checked against: operations/3/remove/keys
    if len(loc) > 2 and loc[0] == "operations" and loc[2] in _OP_TAGS:
        return (*loc[:2], *loc[3:])
    return loc


def _join(loc: tuple[int | str, ...]) -> str:
    return "/".join(str(step) for step in loc)


def _message(error: ErrorDetails) -> str:
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    if kind in _TYPES:
        return f"{short(value)} is not of type {_TYPES[kind]!r}"
    if kind in ("too_short", "string_too_short"):
        return f"{short(value)} should be non-empty" if ctx.get("min_length") == 1 else f"{short(value)} is too short"
    if kind == "greater_than_equal":
        return f"{short(value)} is less than the minimum of {ctx['ge']!r}"
    if kind == "literal_error":
        return f"{short(value)} is not one of [{ctx['expected']}]"
    if kind == "string_pattern_mismatch":
        return f"{short(value)} does not match {ctx['pattern']!r}"
    return error["msg"]
