"""Seeds: the JSON a sandbox starts from, and the format its state is dumped in (docs/design.md section 6).

Instantly: {"api_keys": [{"key", "scopes"}], "members": [{"user_id", "email"}], "campaigns": [{"id", "name"}],
"lists": [{"id", "name"}], "leads": [{vendor Lead fields}]}, plus optionally "workspace_id" and "blocklist"
(emails or domains /leads/add counts as in_blocklist).
Sonarly: {"api_keys": [...], "account_groups": [{"id", "name"}], "audiences": [{"id", "name", "account_group_id",
"type", "populating"}], "prospects": [{"id", "audience_id", "publicIdentifier", "linkedinUrl", ...}]}.

Loading checks the shape (with JSON Schema) and the references (a lead's campaign exists, ids are unique), and
reports every problem at once, each naming the file.

A snapshot (`leadsync snapshot`) is a seed: it holds records as the vendor answers them. Their read-only fields
are vendor fields like any other and are kept as given (counters, timestamps, company_domain), except the
workspace's id that every record repeats (a lead's `organization`, ...): the sandbox derives it, so a seed may
carry it only if it is one id throughout, which becomes the workspace's id, and it is not stored. A seed with no
keys (a snapshot never saves one) gets the default key. Any other unknown field is still refused: a typo.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema

from leadsync.errors import DocumentTooLarge, JsonTooDeep, Location, Problem, SeedError
from leadsync.jsontext import loads_bounded, read_bounded

from ._model import AUDIENCE_FIELDS, CAMPAIGN_FIELDS, LEAD_FIELDS, LIST_FIELDS, MEMBER_FIELDS

VENDORS = ("instantly", "sonarly")
# Ids the vendor could never make are refused: a sandbox that takes them lets a test pass that the vendor (or a
# client that checks ids) would fail. The description names the id in the refusal (see _message).
_UUID = {
    "type": "string",
    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "description": "an id Instantly makes (a UUID such as 1ead0000-0000-4000-8000-000000000001)",
}
_OBJECT_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{24}$",
    "description": "an id Sonarly makes (an ObjectId such as 65a000000000000000000001)",
}
_NAME = {"type": "string", "minLength": 1}


def _records(required: dict[str, Any], optional: dict[str, Any], *, open_ended: bool = False) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {**required, **optional},
            "required": list(required),
            "additionalProperties": open_ended,
        },
    }


_API_KEYS = _records(
    {"key": _NAME, "scopes": {"type": "array", "items": {"type": "string"}}},
    {"name": {"type": "string"}, "user_id": {"type": ["string", "null"]}},
)
#: where each vendor record repeats the workspace's id (read-only; Campaign's may be null)
WORKSPACE_ID_FIELDS = {
    "members": "workspace_id",
    "campaigns": "organization",
    "lists": "organization_id",
    "leads": "organization",
}
_WORKSPACE_ID = _UUID
_LEAD_OPTIONAL = {k: v for k, v in LEAD_FIELDS.items() if k != "id"} | {
    "custom_variables": {"type": "object"},
    "organization": _WORKSPACE_ID,
}
SEED_SCHEMAS: dict[str, dict[str, Any]] = {
    "instantly": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api_keys": _API_KEYS,
            "workspace_id": _WORKSPACE_ID,
            "members": _records(
                {"user_id": _UUID, "email": _NAME}, MEMBER_FIELDS | {"id": _UUID, "workspace_id": _WORKSPACE_ID}
            ),
            "campaigns": _records(
                {"id": _UUID, "name": {"type": "string"}},
                CAMPAIGN_FIELDS | {"organization": {**_WORKSPACE_ID, "type": ["string", "null"]}},
            ),
            "lists": _records(
                {"id": _UUID, "name": {"type": "string"}}, LIST_FIELDS | {"organization_id": _WORKSPACE_ID}
            ),
            "leads": _records({"id": _UUID}, _LEAD_OPTIONAL),
            "blocklist": {"type": "array", "items": _NAME},
        },
    },
    "sonarly": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api_keys": _API_KEYS,
            "account_groups": _records({"id": _OBJECT_ID, "name": {"type": "string"}}, {}),
            "audiences": _records(
                # null: a snapshot of an audience that was never listed (being populated) could not read its name
                {"id": _OBJECT_ID, "name": {"type": ["string", "null"]}, "account_group_id": _OBJECT_ID},
                AUDIENCE_FIELDS,
            ),
            # a prospect carries whatever the vendor's prospect object carries; only these are checked
            "prospects": _records(
                {"id": _OBJECT_ID, "audience_id": _OBJECT_ID},
                {
                    "publicIdentifier": {"type": ["string", "null"]},
                    "linkedinUrl": {"type": ["string", "null"]},
                    "firstName": {"type": ["string", "null"]},
                    "lastName": {"type": ["string", "null"]},
                },
                open_ended=True,
            ),
        },
    },
}
DEFAULT_SEEDS: dict[str, dict[str, Any]] = {
    "instantly": {"api_keys": [{"key": "sandbox", "scopes": ["all:all"]}]},
    "sonarly": {"api_keys": [{"key": "sk_live_sandbox", "scopes": ["all:all"]}]},
}


def infer_vendor(data: Mapping[str, Any]) -> str:
    """A seed holding `account_groups` (or audiences or prospects) is a Sonarly seed; any other, an Instantly one."""
    return "sonarly" if {"account_groups", "audiences", "prospects"} & set(data) else "instantly"


def read_seed(
    seed: Mapping[str, Any] | str | os.PathLike[str] | None, vendor: str | None
) -> tuple[dict[str, Any], str]:
    """The validated seed and the vendor it serves; a path is read as JSON, None gives an empty workspace."""
    if vendor is not None and vendor not in VENDORS:
        raise SeedError([Problem(Location("<vendor>"), f"unknown vendor {vendor!r}: expected instantly or sonarly")])
    if seed is None:
        chosen = vendor or "instantly"
        return json.loads(json.dumps(DEFAULT_SEEDS[chosen])), chosen
    if isinstance(seed, Mapping):
        name, data = "<seed>", json.loads(json.dumps(seed))
    else:
        name = os.fspath(seed)
        data = _read_json(Path(name))
    if not isinstance(data, dict):
        raise SeedError([Problem(Location(name), "a seed must be a JSON object")])
    inferred = infer_vendor(data)
    if (
        vendor is not None
        and vendor != inferred
        and any(data.get(k) for k in ("account_groups", "campaigns", "lists", "leads", "members"))
    ):
        raise SeedError([Problem(Location(name), f"this is a {inferred.title()} seed, not a {vendor.title()} one")])
    chosen = vendor or inferred
    validate_seed(data, chosen, name)
    return _settled(data, chosen), chosen


def _settled(data: dict[str, Any], vendor: str) -> dict[str, Any]:
    """A valid seed as the store keeps it: a key if it has none, the workspace's id once rather than on each record."""
    if not data.get("api_keys"):
        data["api_keys"] = json.loads(json.dumps(DEFAULT_SEEDS[vendor]["api_keys"]))
    if vendor == "instantly":
        found = _workspace_ids(data)
        if found and "workspace_id" not in data:
            data["workspace_id"] = found[0][1]
        for kind, field in WORKSPACE_ID_FIELDS.items():
            for record in data.get(kind, []):
                record.pop(field, None)
    return data


def _read_json(path: Path) -> Any:
    try:
        text = read_bounded(path).decode("utf-8")
    except OSError as exc:
        raise SeedError([Problem(Location(str(path)), f"cannot read the seed: {exc.strerror or exc}")]) from None
    except DocumentTooLarge as exc:
        raise SeedError([Problem(Location(str(path)), f"{exc}, the most a seed may be")]) from None
    except UnicodeDecodeError:
        raise SeedError([Problem(Location(str(path)), "the seed is not UTF-8 text")]) from None
    try:
        return loads_bounded(text)
    except JsonTooDeep as exc:
        raise SeedError([Problem(Location(str(path), exc.lineno, exc.colno), exc.msg)]) from None
    except json.JSONDecodeError as exc:
        raise SeedError([Problem(Location(str(path), exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")]) from None


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_seed(data: dict[str, Any], vendor: str, name: str) -> None:
    where = Location(name)
    validator = jsonschema.Draft202012Validator(SEED_SCHEMAS[vendor])
    problems = [
        Problem(where, f"{_where(error.absolute_path)}: {_message(error)}") for error in validator.iter_errors(data)
    ]
    if problems:  # references are checked only on a well-formed seed, so each problem is reported once
        raise SeedError(problems)
    problems = [
        Problem(where, message)
        for message in (_references_instantly if vendor == "instantly" else _references_sonarly)(data)
    ]
    if problems:
        raise SeedError(problems)


def _message(error: jsonschema.ValidationError) -> str:
    # a real error's schema is a mapping and its instance a value (the stubs also allow bool and Unset)
    schema: Any = error.schema
    instance: Any = error.instance
    if error.validator == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
    if error.validator == "pattern" and "description" in schema:
        return f"{instance!r} is not {schema['description']}"
    return str(error.message)


def _unique(records: list[dict[str, Any]], kind: str, key: str = "id") -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, record in enumerate(records):
        if record[key] in seen:
            problems.append(f"{kind}[{index}].{key}: duplicate {key} {record[key]!r}")
        seen.add(record[key])
    return problems


def _references_instantly(data: dict[str, Any]) -> list[str]:
    problems = _unique(data.get("api_keys", []), "api_keys", "key")
    problems += _unique(data.get("members", []), "members", "user_id")
    problems += _unique(data.get("campaigns", []), "campaigns") + _unique(data.get("lists", []), "lists")
    problems += _unique(data.get("leads", []), "leads")
    problems += _workspace_problems(data)
    campaigns = {c["id"] for c in data.get("campaigns", [])}
    lists = {c["id"] for c in data.get("lists", [])}
    for index, lead in enumerate(data.get("leads", [])):
        campaign, list_id = lead.get("campaign"), lead.get("list_id")
        if bool(campaign) == bool(list_id):
            problems.append(
                f"leads[{index}]: a lead belongs to exactly one campaign or one list (give campaign or list_id)"
            )
        elif campaign and campaign not in campaigns:
            problems.append(f"leads[{index}].campaign: no campaign with id {campaign!r}")
        elif list_id and list_id not in lists:
            problems.append(f"leads[{index}].list_id: no list with id {list_id!r}")
    return problems


def _workspace_ids(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, id) of every record that names its workspace, in file order."""
    return [
        (f"{kind}[{index}].{field}", record[field])
        for kind, field in WORKSPACE_ID_FIELDS.items()
        for index, record in enumerate(data.get(kind, []))
        if record.get(field) is not None
    ]


def _workspace_problems(data: dict[str, Any]) -> list[str]:
    """A seed is one workspace: every record naming one names the same, the seed's `workspace_id` if it has one."""
    found = _workspace_ids(data)
    if not found:
        return []
    if "workspace_id" in data:
        expected, source = data["workspace_id"], "workspace_id"
    else:  # the id most records give (the first of equals): the odd ones out are the problems
        counts = Counter(value for _, value in found)
        expected = max(counts, key=counts.__getitem__)
        source = f"{counts[expected]} of {len(found)} records"
    return [
        f"{where}: {value!r} is not this workspace's id {expected!r} ({source}): a seed is one workspace"
        for where, value in found
        if value != expected
    ]


def _references_sonarly(data: dict[str, Any]) -> list[str]:
    problems = _unique(data.get("api_keys", []), "api_keys", "key")
    problems += _unique(data.get("account_groups", []), "account_groups") + _unique(
        data.get("audiences", []), "audiences"
    )
    problems += _unique(data.get("prospects", []), "prospects")
    groups = {g["id"] for g in data.get("account_groups", [])}
    audiences = {a["id"] for a in data.get("audiences", [])}
    for index, audience in enumerate(data.get("audiences", [])):
        if audience["name"] is None and not audience.get("populating"):
            problems.append(f"audiences[{index}].name: null is only for an audience being populated (populating: true)")
        if audience["account_group_id"] not in groups:
            problems.append(
                f"audiences[{index}].account_group_id: no account group with id {audience['account_group_id']!r}"
            )
    for index, prospect in enumerate(data.get("prospects", [])):
        if prospect["audience_id"] not in audiences:
            problems.append(f"prospects[{index}].audience_id: no audience with id {prospect['audience_id']!r}")
    return problems
