"""Request validation with the messages Instantly's framework (Fastify, with Ajv) answers.

Fastify validates a body against the route's JSON schema, stops at the first error and answers 400 with a message
like `body/limit must be <= 100` or `body must have required property 'leads'`; its Ajv removes properties a
schema does not declare instead of failing, which is why unknown keys are "ignored silently" (the vendor's own
words). Query strings are coerced to the declared types first (`?limit=10` is the integer 10).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import jsonschema

from leadsync.errors import ApiError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


def is_email(value: object) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value))


_VALIDATORS: dict[int, jsonschema.Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    # the request schemas are module constants, so their identity is a fine cache key
    found = _VALIDATORS.get(id(schema))
    if found is None:
        found = _VALIDATORS[id(schema)] = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
    return found


_AJV_MESSAGES = {
    "type": "must be {}",
    "minimum": "must be >= {}",
    "maximum": "must be <= {}",
    "minItems": "must NOT have fewer than {} items",
    "maxItems": "must NOT have more than {} items",
    "minLength": "must NOT have fewer than {} characters",
    "maxLength": "must NOT have more than {} characters",
    "minProperties": "must NOT have fewer than {} properties",
    "enum": "must be equal to one of the allowed values",
    "anyOf": "must match a schema in anyOf",
    "format": 'must match format "{}"',
    "pattern": 'must match pattern "{}"',
}


def ajv_message(error: jsonschema.ValidationError, where: str) -> str:
    path = where + "".join(f"/{part}" for part in error.absolute_path)
    rule, value = error.validator, cast(Any, error.validator_value)  # the stubs' Unset is never a real error's
    if rule == "required":
        missing = re.search(r"'(.+?)' is a required property", error.message)
        return f"{path} must have required property '{missing.group(1) if missing else value[0]}'"
    if rule == "type" and isinstance(value, list):
        value = ",".join(value)
    template = _AJV_MESSAGES.get(str(rule))
    return f"{path} {template.format(value) if template else error.message}"


def strip_unknown(schema: dict[str, Any], value: Any) -> Any:
    """The value without the properties its schema does not declare (Ajv's removeAdditional), recursively."""
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        return {k: strip_unknown(props[k], v) for k, v in value.items() if k in props}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [strip_unknown(schema["items"], item) for item in value]
    return value


Check = Callable[[Any], bool]
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}
_QUICK: dict[int, Check] = {}


def _never(value: Any) -> bool:
    return False


def _quick(schema: dict[str, Any]) -> Check:
    """A fast yes-or-don't-know check of `schema`: True only when the value is certainly valid, for the keywords
    the request schemas use; anything else says False, and jsonschema then gives the verdict and Ajv's message. A
    1,000-lead /leads/add validates in a few milliseconds instead of twenty (the vendor's validator is compiled)."""
    found = _QUICK.get(id(schema))
    if found is None:
        found = _QUICK[id(schema)] = _compile(schema)
    return found


def _compile(schema: dict[str, Any]) -> Check:
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword == "type":
            checks.append(_any([_TYPES[t] for t in ([value] if isinstance(value, str) else value)]))
        elif keyword == "enum":
            checks.append(_enum(value))
        elif keyword in _BOUNDS:
            checks.append(_bound(*_BOUNDS[keyword], value))
        elif keyword == "format" and value == "email":
            checks.append(_is_email)
        elif keyword == "required":
            checks.append(_required(tuple(value)))
        elif keyword == "properties":
            checks.append(_properties({name: _compile(sub) for name, sub in value.items()}))
        elif keyword == "additionalProperties" and isinstance(value, dict) and "patternProperties" not in schema:
            checks.append(_others(frozenset(schema.get("properties", ())), _compile(value)))
        elif keyword == "items" and isinstance(value, dict):
            checks.append(_each(_compile(value)))
        elif keyword == "anyOf":
            checks.append(_any([_compile(sub) for sub in value]))
        else:
            return _never  # a keyword not handled here: always ask jsonschema
    return _all(checks)


#: keyword: (the values it applies to, the size it bounds, whether it is a lower bound)
_BOUNDS: dict[str, tuple[Check, Callable[[Any], Any], bool]] = {
    "minimum": (_TYPES["number"], lambda v: v, True),
    "maximum": (_TYPES["number"], lambda v: v, False),
    "minItems": (_TYPES["array"], len, True),
    "maxItems": (_TYPES["array"], len, False),
    "minProperties": (_TYPES["object"], len, True),
}


def _bound(applies: Check, size: Callable[[Any], Any], lower: bool, limit: Any) -> Check:
    return lambda v: not applies(v) or (size(v) >= limit if lower else size(v) <= limit)


def _enum(values: list[Any]) -> Check:
    strings = {x for x in values if isinstance(x, str)}
    numbers = {x for x in values if _TYPES["number"](x)}
    return lambda v: (isinstance(v, str) and v in strings) or (_TYPES["number"](v) and v in numbers)


def _all(checks: list[Check]) -> Check:
    return lambda v: all(check(v) for check in checks)


def _required(names: tuple[str, ...]) -> Check:
    return lambda v: not isinstance(v, dict) or all(name in v for name in names)


def _properties(props: dict[str, Check]) -> Check:
    return lambda v: not isinstance(v, dict) or all(k not in props or props[k](x) for k, x in v.items())


def _others(declared: frozenset[str], rest: Check) -> Check:
    return lambda v: not isinstance(v, dict) or all(k in declared or rest(x) for k, x in v.items())


def _each(each: Check) -> Check:
    return lambda v: not isinstance(v, list) or all(each(x) for x in v)


def _any(options: list[Check]) -> Check:
    return lambda v: any(option(v) for option in options)


def check_body(schema: dict[str, Any], body: Any) -> Any:
    """The body with undeclared properties removed; raise ApiError(400) with Ajv's first message if invalid."""
    body = strip_unknown(schema, body)
    if _quick(schema)(body):
        return body
    # jsonschema walks a schema's keywords in the order written, as Ajv does, so the first error is Ajv's
    error = next(iter(_validator(schema).iter_errors(body)), None)
    if error is not None:
        raise ApiError(400, ajv_message(error, "body"), code="VALIDATION_ERROR")
    return body


_JS_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")


def check_query(spec: dict[str, dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """Declared query parameters, coerced to their types; raise ApiError(400) as Fastify would."""
    out: dict[str, Any] = {}
    for name, rule in spec.items():
        if name not in query:
            continue
        raw = query[name][-1]
        kind = rule.get("type", "string")
        value: Any = raw
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                raise ApiError(400, f"querystring/{name} must be integer", code="VALIDATION_ERROR")
            try:
                value = int(raw)
            except ValueError:  # more digits than int() converts: as Ajv's Number(), past any bound
                value = float(raw)
        elif kind == "number":
            # Ajv's coercion: a string that JavaScript's Number() reads back to itself ("Infinity" too; not "NaN",
            # "", "1_0" or "0x1F", which Python's float() reads differently or not at all)
            if not _JS_NUMBER.fullmatch(raw):
                raise ApiError(400, f"querystring/{name} must be number", code="VALIDATION_ERROR")
            number = float(raw)
            value = int(number) if number.is_integer() else number
        elif kind == "boolean":
            if raw not in ("true", "false"):
                raise ApiError(400, f"querystring/{name} must be boolean", code="VALIDATION_ERROR")
            value = raw == "true"
        if "minimum" in rule and value < rule["minimum"]:
            raise ApiError(400, f"querystring/{name} must be >= {rule['minimum']}", code="VALIDATION_ERROR")
        if "maximum" in rule and value > rule["maximum"]:
            raise ApiError(400, f"querystring/{name} must be <= {rule['maximum']}", code="VALIDATION_ERROR")
        if "enum" in rule and value not in rule["enum"]:
            raise ApiError(
                400, f"querystring/{name} must be equal to one of the allowed values", code="VALIDATION_ERROR"
            )
        out[name] = value
    return out
