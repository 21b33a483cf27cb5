"""The big arrays of a plan document, checked by loops compiled from the document's JSON Schema.

jsonschema is exact but walks a million-lead plan for half a minute; these loops check the same rules (types,
required and allowed properties, non-empty id lists, enums, unique unrouted keys) in about a second. Their tables
are read from plan.schema.json (generated from `_schema.py`, the one definition), property by property, so a field
added there is checked here too; a kind of property these loops do not know is an error at the first load (which the
tests make), not a gap. `tests/test_plan_document.py` holds the two in agreement over a set of bad documents. Only
JSON types are considered (what `json.loads` makes): str, list, dict, None.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

#: the top-level arrays checked here, not by jsonschema
ARRAYS = ("operations", "held", "conflicts", "unrouted", "unsupported", "warnings")

Problem = tuple[str, str]  # (path, message), the path as jsonschema spells it: operations/3/lead_ids

# the kinds of property these loops check
_STR, _NSTR, _IDS, _STRS, _NSTRS, _OBJECT, _LEADS, _OP, _ENUM = (
    "string",
    "string or null",
    "ids",
    "strings",
    "strings or nulls",
    "object",
    "leads",
    "op",
    "enum",
)
Kind = tuple[str, tuple[str, ...]]  # a kind, and the allowed values of an enum
_Shape = tuple[dict[str, Kind], frozenset[str]]  # property -> kind; the required ones (exactly these allowed)
_ITEMS = {"held": "Held", "conflicts": "Conflict", "unsupported": "Unsupported", "warnings": "Warning"}


def _kind(name: str, node: dict[str, Any]) -> Kind:
    """What one property of the schema is, as these loops check it."""
    node = {key: value for key, value in node.items() if key != "description"}
    if name == "op" and "const" in node:
        return _OP, ()
    if "enum" in node:
        return _ENUM, tuple(node["enum"])
    kind = node.get("type")
    if kind == "string" and len(node) == 1:
        return _STR, ()
    if kind == ["string", "null"] and len(node) == 1:
        return _NSTR, ()
    if kind == "object" and node.get("additionalProperties", True) is True and "properties" not in node:
        return _OBJECT, ()
    if kind == "array" and set(node) <= {"type", "items", "minItems"}:
        items = {key: value for key, value in node["items"].items() if key != "description"}
        if items == {"$ref": "#/$defs/AddLead"} and node.get("minItems") == 1:
            return _LEADS, ()
        if items == {"type": "string"}:
            return (_IDS if node.get("minItems") == 1 else _STRS), ()
        if items == {"type": ["string", "null"]} and "minItems" not in node:
            return _NSTRS, ()
    raise AssertionError(f"plan schema: property {name!r} is of a kind the array checks do not know: {node}")


def _shape_of(definition: dict[str, Any]) -> _Shape:
    kinds = {name: _kind(name, node) for name, node in definition["properties"].items()}
    return kinds, frozenset(definition["required"])


class Shapes(NamedTuple):
    ops: dict[str, _Shape]  # an operation's, by its op, in the schema's (apply) order
    items: dict[str, _Shape]  # an item's of the other arrays, by array (`held`, ...)
    lead: _Shape  # an add's lead


@lru_cache(maxsize=1)
def _shapes() -> Shapes:
    """The shapes these loops check, read once from the schema."""
    from leadsync.plan._document import plan_schema  # the packaged file: what plan_json_schema() makes, read

    schema = plan_schema()
    defs, top = schema["$defs"], schema["properties"]
    ops: dict[str, _Shape] = {}
    for ref in top["operations"]["items"]["oneOf"]:
        definition = defs[ref["$ref"].rsplit("/", 1)[1]]
        ops[definition["properties"]["op"]["const"]] = _shape_of(definition)
    items: dict[str, _Shape] = {}
    for array, name in _ITEMS.items():
        assert top[array]["items"] == {"$ref": f"#/$defs/{name}"}, array
        items[array] = _shape_of(defs[name])
    assert top["unrouted"] == {**top["unrouted"], "type": "array", "items": {"type": "string"}, "uniqueItems": True}
    return Shapes(ops, items, _shape_of(defs["AddLead"]))


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


def _value(kind: Kind, value: Any, path: str) -> Problem | None:
    name, allowed = kind
    if name == _STR:
        return None if type(value) is str else (path, _not(value, "'string'"))
    if name == _NSTR:
        return None if value is None or type(value) is str else (path, _not(value, "'string', 'null'"))
    if name in (_IDS, _STRS, _NSTRS):
        if type(value) is not list:
            return path, _not(value, "'array'")
        if name == _IDS and not value:
            return path, "[] should be non-empty"
        return _strings(value, path, nullable=name == _NSTRS)
    if name == _OBJECT:
        return None if type(value) is dict else (path, _not(value, "'object'"))
    if name == _OP:
        ops = _shapes().ops
        return None if type(value) is str and value in ops else (path, f"{_short(value)} is not one of {list(ops)}")
    if name == _ENUM:
        if type(value) is str and value in allowed:
            return None
        return path, f"{_short(value)} is not one of {list(allowed)}"
    if name == _LEADS:
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
    """The leads of an add: the hot loop of a million-lead plan, so spelled out (`_kinds_of_a_lead` holds the
    spelling to the schema)."""
    if type(leads) is not list:
        return path, _not(leads, "'array'")
    if not leads:
        return path, "[] should be non-empty"
    shape = _shapes().lead
    allowed, required = frozenset(shape[0]), shape[1]
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
        return _object(lead, f"{path}/{i}", shape)
    return None


def _kinds_of_a_lead() -> dict[str, Kind]:
    """What the spelled-out loop of `_leads` assumes a lead to be; a test holds it equal to the schema's."""
    return {"key": (_STR, ()), "owner": (_NSTR, ()), "route": (_STR, ()), "fields": (_OBJECT, ())}


def _operations(ops: list[Any]) -> Problem | None:
    shapes = _shapes().ops
    for i, op in enumerate(ops):
        path = f"operations/{i}"
        if type(op) is not dict:
            return path, _not(op, "'object'")
        if "op" not in op:
            return path, "'op' is a required property"
        kind = op["op"]
        if type(kind) is not str or kind not in shapes:
            return f"{path}/op", f"{_short(kind)} is not one of {list(shapes)}"
        problem = _object(op, path, shapes[kind])
        if problem is not None:
            return problem
    return None


def _objects(name: str) -> Callable[[list[Any]], Problem | None]:
    def check(items: list[Any]) -> Problem | None:
        shape = _shapes().items[name]
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
