"""The big arrays of a plan document, checked by hand against the rules plan.schema.json states for them.

jsonschema is exact but walks a million-lead plan for half a minute; these loops check the same rules
(types, required and allowed properties, non-empty id lists, enums, unique unrouted keys) in about a second.
`tests/test_plan_document.py` holds the two in agreement over a set of bad documents: change one, change both.
Only JSON types are considered (what `json.loads` makes): str, list, dict, None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadsync.state import ConflictReason

#: the top-level arrays checked here, not by jsonschema
ARRAYS = ("operations", "held", "conflicts", "unrouted", "unsupported", "warnings")

Problem = tuple[str, str]  # (path, message), the path as jsonschema spells it: operations/3/lead_ids

_OPS = ("move", "add", "assign", "remove")
_REASONS = tuple(r.value for r in ConflictReason)

# per object: property -> kind, and which are required (an object allows exactly these properties)
_STR, _NSTR, _IDS, _STRS, _NSTRS, _OBJECT, _LEADS, _OP, _REASON = (
    "string",
    "string or null",
    "ids",
    "strings",
    "strings or nulls",
    "object",
    "leads",
    "op",
    "reason",
)
_Shape = tuple[dict[str, str], frozenset[str]]


def _shape(required: dict[str, str], optional: dict[str, str] | None = None) -> _Shape:
    return {**required, **(optional or {})}, frozenset(required)


_SHAPES: dict[str, _Shape] = {
    "move": _shape(
        {"op": _OP, "from": _STR, "to": _STR, "owner": _NSTR, "lead_ids": _IDS, "keys": _IDS},
        {"previous_owners": _NSTRS},
    ),
    "add": _shape({"op": _OP, "destination": _STR, "leads": _LEADS}),
    "assign": _shape(
        {"op": _OP, "owner": _STR, "destination": _STR, "lead_ids": _IDS, "keys": _IDS}, {"previous_owners": _NSTRS}
    ),
    "remove": _shape({"op": _OP, "destination": _STR, "lead_ids": _IDS, "keys": _IDS}),
    "held": _shape({"key": _STR, "lead_id": _STR, "destination": _STR, "statuses": _STRS, "change": _STR}),
    "conflicts": _shape({"key": _NSTR, "reason": _REASON, "detail": _STR, "subject": _NSTR}, {"refs": _STRS}),
    "unsupported": _shape({"key": _STR, "destination": _STR, "reason": _STR}),
    "warnings": _shape({"kind": _STR, "key": _NSTR, "destination": _NSTR, "lead_id": _NSTR, "message": _STR}),
}
_LEAD_ALLOWED = frozenset({"key", "owner", "route", "fields"})
_LEAD_REQUIRED = frozenset({"key", "owner", "route"})


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _not(value: Any, expected: str) -> str:
    return f"{_short(value)} is not of type {expected}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _strings(values: list[Any], path: str, nullable: bool) -> Problem | None:
    allowed = {str, type(None)} if nullable else {str}
    if set(map(type, values)) <= allowed:  # in C: the common case costs one pass
        return None
    for i, value in enumerate(values):
        if type(value) not in allowed:
            return f"{path}/{i}", _not(value, "'string'" + (" or 'null'" if nullable else ""))
    return None  # pragma: no cover - the set said otherwise


def _value(kind: str, value: Any, path: str) -> Problem | None:
    if kind == _STR:
        return None if type(value) is str else (path, _not(value, "'string'"))
    if kind == _NSTR:
        return None if value is None or type(value) is str else (path, _not(value, "'string', 'null'"))
    if kind in (_IDS, _STRS, _NSTRS):
        if type(value) is not list:
            return path, _not(value, "'array'")
        if kind == _IDS and not value:
            return path, "[] should be non-empty"
        return _strings(value, path, nullable=kind == _NSTRS)
    if kind == _OBJECT:
        return None if type(value) is dict else (path, _not(value, "'object'"))
    if kind == _OP:
        return None if value in _OPS and type(value) is str else (path, f"{_short(value)} is not one of {list(_OPS)}")
    if kind == _REASON:
        return (
            None
            if type(value) is str and value in _REASONS
            else (path, f"{_short(value)} is not one of {list(_REASONS)}")
        )
    if kind == _LEADS:
        return _leads(value, path)
    raise AssertionError(kind)  # pragma: no cover


def _object(item: Any, path: str, shape: _Shape) -> Problem | None:
    if type(item) is not dict:
        return path, _not(item, "'object'")
    kinds, required = shape
    present = item.keys()
    if not required <= present:
        missing = min(required - present)
        return path, f"{missing!r} is a required property"
    if not present <= kinds.keys():
        extra = ", ".join(repr(k) for k in sorted(present - kinds.keys()))
        return path, f"Additional properties are not allowed ({extra} were unexpected)"
    for name, kind in kinds.items():
        if name in item:
            problem = _value(kind, item[name], f"{path}/{name}")
            if problem is not None:
                return problem
    return None


def _leads(leads: Any, path: str) -> Problem | None:
    """The leads of an add: the hot loop of a million-lead plan, so spelled out."""
    if type(leads) is not list:
        return path, _not(leads, "'array'")
    if not leads:
        return path, "[] should be non-empty"
    allowed, required = _LEAD_ALLOWED, _LEAD_REQUIRED
    for i, lead in enumerate(leads):
        if (
            type(lead) is dict
            and required <= lead.keys() <= allowed
            and type(lead["key"]) is str
            and type(lead["route"]) is str
            and (lead["owner"] is None or type(lead["owner"]) is str)
            and ("fields" not in lead or type(lead["fields"]) is dict)
        ):
            continue
        kinds = {"key": _STR, "owner": _NSTR, "route": _STR, "fields": _OBJECT}
        return _object(lead, f"{path}/{i}", (kinds, required))
    return None


def _operations(ops: list[Any]) -> Problem | None:
    for i, op in enumerate(ops):
        path = f"operations/{i}"
        if type(op) is not dict:
            return path, _not(op, "'object'")
        if "op" not in op:
            return path, "'op' is a required property"
        kind = op["op"]
        if type(kind) is not str or kind not in _SHAPES or kind not in _OPS:
            return f"{path}/op", f"{_short(kind)} is not one of {list(_OPS)}"
        problem = _object(op, path, _SHAPES[kind])
        if problem is not None:
            return problem
    return None


def _objects(name: str) -> Callable[[list[Any]], Problem | None]:
    shape = _SHAPES[name]

    def check(items: list[Any]) -> Problem | None:
        for i, item in enumerate(items):
            problem = _object(item, f"{name}/{i}", shape)
            if problem is not None:
                return problem
        return None

    return check


def _unrouted(keys: list[Any]) -> Problem | None:
    problem = _strings(keys, "unrouted", nullable=False)
    if problem is not None:
        return problem
    if len(set(keys)) != len(keys):
        return "unrouted", "has non-unique elements"
    return None


_CHECKS: dict[str, Callable[[list[Any]], Problem | None]] = {
    "operations": _operations,
    "held": _objects("held"),
    "conflicts": _objects("conflicts"),
    "unrouted": _unrouted,
    "unsupported": _objects("unsupported"),
    "warnings": _objects("warnings"),
}


def array_problem(name: str, value: Any) -> Problem | None:
    """The first way the top-level array `name` breaks plan.schema.json, or None."""
    if type(value) is not list:
        return name, _not(value, "'array'")
    return _CHECKS[name](value)
