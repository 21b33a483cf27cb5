"""The spec of docs/design.md section 2 as pydantic models: the single source of `schemas/leadsync.schema.json`.

Models check shape and types; cross references, conditions and file paths are checked by `checks.py`,
which knows where each value sits in the YAML.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from leadsync import state
from leadsync.providers import DEFAULT, VENDORS, Vendor, vendor_of_key

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=100)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
#: a vendor's name or id of a place: anything but blank (a blank name can never resolve)
PlaceRef = Annotated[
    str, StringConstraints(pattern=r"[^ \t\n\r\f\v]", max_length=1000)
]  # ASCII: one meaning in both regex engines


def _json_integer(value: Any) -> Any:
    # pydantic's lax int takes '10' and true; the schema's integer does not (a whole 10.0 both take)
    if isinstance(value, (str, bool)):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# Numbers as the schema reads them: no text ('2'), no booleans (yes), no .inf/.nan (JSON has none).
Number = Annotated[float, Strict(), AllowInfNan(False)]
Integer = Annotated[int, BeforeValidator(_json_integer)]
Boolean = Annotated[bool, Strict()]

#: Outreach statuses a lead record can carry (a vendor's codes are mapped to them by its decoder, leadsync.providers).
OutreachStatus = Literal[
    "active", "paused", "completed", "bounced", "unsubscribed", "skipped", "replied", "interested",
    "meeting_booked", "meeting_completed", "won", "not_interested", "wrong_person", "lost", "no_show",
    "out_of_office",
]  # fmt: skip

#: JSON Schema of a `when` condition. Conditions are parsed (with locations) by `spec.conditions`, so the
#: model keeps them as plain data and this schema serves editors and other tools.
CONDITION_DEFS: dict[str, Any] = {
    "Scalar": {"type": ["string", "number", "boolean", "null"]},
    "Comparison": {
        "type": "object",
        "description": "Typed comparisons; several keys in one comparison must all hold.",
        "properties": {
            "gt": {"type": "number"},
            "gte": {"type": "number"},
            "lt": {"type": "number"},
            "lte": {"type": "number"},
            "matches": {"type": "string", "description": "a Python regular expression, searched in the value"},
            "exists": {"type": "boolean"},
            "older_than": {
                "type": "string",
                "pattern": "^\\s*[0-9]{1,6}[hdw]\\s*$",
                "description": "the attribute's time is more than this long before the plan's time: 36h, 14d, 2w",
            },
            "within": {
                "type": "string",
                "pattern": "^\\s*[0-9]{1,6}[hdw]\\s*$",
                "description": "the attribute's time is at most this long before the plan's time (or after it)",
            },
            "before": {
                "type": "string",
                "description": "a date (YYYY-MM-DD, the UTC day) or an ISO time: the attribute's time is earlier",
            },
            "after": {
                "type": "string",
                "description": "a date (YYYY-MM-DD: after that UTC day) or an ISO time: the attribute's time is later",
            },
        },
        "additionalProperties": False,
        "minProperties": 1,
    },
    "Matcher": {
        "description": "A scalar (equals), a list (in), or a comparison.",
        "anyOf": [
            {"$ref": "#/$defs/Scalar"},
            {"type": "array", "items": {"$ref": "#/$defs/Scalar"}, "minItems": 1},
            {"$ref": "#/$defs/Comparison"},
        ],
    },
    "Condition": {
        "type": "object",
        "description": "Lead attribute -> matcher; every entry must hold. `all`, `any` and `not` combine conditions.",
        "minProperties": 1,
        "properties": {
            "all": {"type": "array", "items": {"$ref": "#/$defs/Condition"}, "minItems": 1},
            "any": {"type": "array", "items": {"$ref": "#/$defs/Condition"}, "minItems": 1},
            "not": {"$ref": "#/$defs/Condition"},
        },
        "additionalProperties": {"$ref": "#/$defs/Matcher"},
    },
}

# pydantic resolves "$ref"s it did not make itself, so the fields carry a marker that spec_json_schema()
# turns into a reference to CONDITION_DEFS.
_DEF_MARKER = "x-leadsync-def"
Condition = Annotated[dict[str, Any], WithJsonSchema({_DEF_MARKER: "Condition"})]
InlineLead = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "A lead: `email` (Instantly) or `linkedin` (Sonarly) and any attributes.",
            "additionalProperties": {_DEF_MARKER: "Scalar"},
        }
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _json(rules: list[dict[str, Any]]) -> list[JsonValue]:
    """`rules` as pydantic types a schema's extra (they are JSON: built here of dicts, lists and strings)."""
    return cast("list[JsonValue]", rules)


def _names(vendors: list[Vendor]) -> dict[str, Any]:
    """The JSON Schema of a provider that is one of `vendors`."""
    names = [v.name for v in vendors]
    return {"const": names[0]} if len(names) == 1 else {"enum": names}


# Cross-field rules, as JSON Schema, from the registry's facts about each vendor. `checks.SpecChecker.shape`
# enforces the same rules with located messages; tests/test_spec_schema.py generates specs to hold the two to
# the same answers. The provider names themselves are the spec language (`Workspace.provider`).
_PROVIDER_IS_VENDOR = {"properties": {"provider": {"enum": list(VENDORS)}}, "required": ["provider"]}
WORKSPACE_RULES: list[dict[str, Any]] = [
    {  # a vendor's key comes from the environment variable named here
        "if": _PROVIDER_IS_VENDOR,
        "then": {"required": ["api_key_env"], "properties": {"api_key_env": {"type": "string"}}},
    },
    {  # account groups are only for the vendors that have them
        "if": {
            "properties": {"provider": _names([v for v in VENDORS.values() if not v.needs_account])},
            "required": ["provider"],
        },
        "then": {"properties": {"account_group": {"type": ["string", "null"], "maxLength": 0}}},
    },
    {"if": _PROVIDER_IS_VENDOR, "then": {"properties": {"seed": {"type": "null"}}}},  # seeds are the sandbox's
]


#: the lowest request rate leadsync keeps to: six a minute (the limiter counts whole requests per minute)
MIN_RATE = 0.1


class Workspace(_Model):
    """Where the leads live. A key itself never appears here: only the name of its environment variable."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"allOf": _json(WORKSPACE_RULES)})

    provider: Literal["instantly", "sonarly", "sandbox"]
    api_key_env: EnvVarName | None = Field(None, description="the NAME of the environment variable holding the API key")
    account_group: str | None = Field(None, description="Sonarly: the account group, by name or id")
    seed: str | None = Field(None, description="sandbox: a seed file (JSON), relative to the spec")
    max_rate: Number | None = Field(
        None,
        ge=MIN_RATE,
        description="requests per second leadsync may send, at most the vendor's: a share of the "
        "workspace's rate limit, which every integration of the team draws on",
    )


DESTINATION_KINDS: tuple[str, ...] = ("campaign", "campaign_id", "list", "list_id", "audience", "audience_id")


class Destination(_Model):
    """A campaign or lead list (Instantly) or an audience (Sonarly), by name or by id: exactly one."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "oneOf": [{"required": [kind], "properties": {kind: {"type": "string"}}} for kind in DESTINATION_KINDS]
        },
    )

    campaign: PlaceRef | None = None
    campaign_id: PlaceRef | None = None
    list: PlaceRef | None = None
    list_id: PlaceRef | None = None
    audience: PlaceRef | None = None
    audience_id: PlaceRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Destination:
        given = [kind for kind in DESTINATION_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(DESTINATION_KINDS)} (found {len(given)})")
        return self

    @property
    def kind(self) -> str:
        """campaign, list or audience."""
        return self.ref[0].removesuffix("_id")

    @property
    def ref(self) -> tuple[str, str]:
        """(field, value), e.g. ("campaign", "Enterprise Q4") or ("list_id", "<uuid>")."""
        for kind in DESTINATION_KINDS:
            value = getattr(self, kind)
            if value is not None:
                return kind, value
        raise AssertionError("validated destination without a reference")


class Away(_Model):
    """A stretch an owner is away: both dates inclusive, UTC."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: date = Field(alias="from", description="the first day away (YYYY-MM-DD, UTC)")
    until: date = Field(description="the last day away, inclusive")


class Owner(_Model):
    email: str
    weight: Number = Field(
        1.0,
        gt=0,
        le=1_000_000,  # shares are weights over their sum: two weights near 1e308 summed to infinity (0.0% each)
        description="share of a pool's leads, relative to the other members (at most 1,000,000)",
    )
    capacity: Integer | None = Field(
        None, ge=0, description="the most leads this owner may hold in managed destinations after the plan"
    )
    away: list[Away] = Field(
        default_factory=list, description="while away (at the plan's date) the owner gets no new leads from pools"
    )


class PoolRef(_Model):
    pool: Name


class Pool(_Model):
    members: list[Name] = Field(min_length=1, json_schema_extra={"uniqueItems": True})
    sticky: Boolean = Field(False, description="keep a lead with its current owner while that owner is in the pool")
    by: Name = Field(
        "lead", description="lead (default), domain, or any lead attribute: hash the account, not the person"
    )
    fallback: Name | PoolRef | None = Field(
        None, description="an owner or {pool: NAME}: takes what no member has room for, or all when all are away"
    )


class RouteExpectation(_Model):
    """What a routing test expects; keys not given are not checked."""

    route: Name | None = None
    to: Name | None = None
    owner: Name | None = None
    unrouted: Boolean | None = None


class RoutingCase(_Model):
    """A routing test: a lead and what routing must make of it."""

    lead: InlineLead
    expect: RouteExpectation


#: seconds a source query may take, and the rows it may return, when the spec does not say (docs/design.md §2)
DEFAULT_QUERY_TIMEOUT = 60.0
DEFAULT_MAX_ROWS = 5_000_000
#: which keys belong to which kind of source: a file (`path`) or a query (`sql`)
FILE_ONLY = ("format",)
SQL_ONLY = ("database", "url_env", "timeout", "max_rows")
SOURCE_RULES: list[dict[str, Any]] = [
    {"oneOf": [{"required": ["path"]}, {"required": ["sql"]}]},
    {"if": {"required": ["path"]}, "then": {"not": {"anyOf": [{"required": [k]} for k in SQL_ONLY]}}},
    {"if": {"required": ["sql"]}, "then": {"not": {"anyOf": [{"required": [k]} for k in FILE_ONLY]}}},
    {"not": {"required": ["database", "url_env"]}},
]


class Source(_Model):
    """Where leads are read: a CSV or JSONL file (`path`), or a query (`sql`) run by DuckDB (embedded, on a
    `database` file or on none) or by the database whose URL the environment variable `url_env` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"allOf": _json(SOURCE_RULES)})

    path: str | None = Field(None, description="csv or jsonl, relative to the spec, never outside its folder tree")
    sql: str | None = Field(
        None, description="a query file (one SELECT), relative to the spec, never outside its folder tree"
    )
    format: Literal["csv", "jsonl"] | None = Field(None, description="by default, from the file's extension")
    database: str | None = Field(
        None, description="sql: a DuckDB database file relative to the spec (opened read-only); default none"
    )
    url_env: EnvVarName | None = Field(
        None,
        description="sql: the NAME of the environment variable holding the database URL (postgresql://..., or "
        "any SQLAlchemy URL); a URL never appears in a spec",
    )
    timeout: Number | None = Field(
        None, gt=0, le=86400, description=f"sql: seconds the query may take (default {DEFAULT_QUERY_TIMEOUT:g})"
    )
    max_rows: Integer | None = Field(
        None, ge=1, description=f"sql: the most rows the query may return (default {DEFAULT_MAX_ROWS:,})"
    )
    fields: dict[str, str] = Field(default_factory=dict, description="lead attribute -> column")

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of path (a csv or jsonl file) or sql (a query file)")
        kind, others = ("path", SQL_ONLY) if self.path is not None else ("sql", FILE_ONLY)
        wrong = [key for key in others if getattr(self, key) is not None]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not for a {kind} source")
        if self.database is not None and self.url_env is not None:
            raise ValueError("give database (DuckDB) or url_env (a database URL), not both")
        return self

    @property
    def file(self) -> str:
        """The file the spec names for this source: the lead file or the query file."""
        return self.path if self.path is not None else cast(str, self.sql)

    @property
    def file_key(self) -> str:
        """The spec key that names that file: `path` or `sql`."""
        return "path" if self.path is not None else "sql"


class Route(_Model):
    name: Name
    when: Condition | None = Field(None, description="no condition: a catch-all")
    to: Name
    owner: Name | PoolRef | None = Field(None, description="an owner, {pool: name}, or none to leave owners alone")


class Policy(_Model):
    unmanaged: state.Unmanaged = state.Unmanaged.KEEP
    claim: state.Claim = state.Claim.SKIP
    protect: list[OutreachStatus] = Field(
        default_factory=lambda: cast(list[OutreachStatus], list(state.DEFAULT_PROTECT))
    )
    max_change_ratio: Number = Field(0.3, gt=0, le=1)
    min_destination_size: Integer = Field(10, ge=0)

    def to_state(self) -> state.Policy:
        return state.Policy(
            unmanaged=self.unmanaged,
            claim=self.claim,
            protect=frozenset(self.protect),
            max_change_ratio=self.max_change_ratio,
            min_destination_size=self.min_destination_size,
        )


def _ref(name: str) -> dict[str, Any]:
    return {_DEF_MARKER: name}


def _provider(*names: str) -> dict[str, Any]:
    return {"properties": {"workspace": {"properties": {"provider": {"enum": list(names)}}}}}


#: the vendor whose destinations are audiences, and the one a spec speaks unless it is at that one (the registry's)
_AUDIENCES = next(v for v in VENDORS.values() if v.destination_kinds == ("audience",))
AUDIENCE_DEF: dict[str, Any] = {
    "description": f"A destination that is an audience ({_AUDIENCES.title}).",
    "anyOf": [{"required": [kind], "properties": {kind: {"type": "string"}}} for kind in ("audience", "audience_id")],
}
_NOT_AUDIENCE = {"not": _ref("Audience")}


def _kinds_of(at: Vendor) -> dict[str, Any]:
    """The schema of a destination a spec may name at `at`."""
    return _ref("Audience") if at is _AUDIENCES else _NOT_AUDIENCE


def _rules_of(at: Vendor) -> dict[str, Any]:
    """What a spec at `at` must say beyond the default vendor's rules: its account group, no owners, its key."""
    properties: dict[str, Any] = {}
    if at.needs_account:
        properties["workspace"] = {
            "required": ["account_group"],
            "properties": {"account_group": {"type": "string", "minLength": 1}},
        }
    if not at.has_owners:
        properties["owners"] = {"maxProperties": 0}
        properties["pools"] = {"maxProperties": 0}
        properties["routes"] = {"items": {"properties": {"owner": {"type": "null"}}}}
    properties["leads"] = {"items": {"required": [at.key_kind.value]}}
    return {"properties": properties}


#: Spec.vendor: a workspace at the audiences' vendor, or a sandbox (or any) whose destinations are all audiences
_SPEAKS_AUDIENCES = {
    "anyOf": [_provider(_AUDIENCES.name), {"properties": {"destinations": {"additionalProperties": _ref("Audience")}}}]
}
SPEC_RULES: list[dict[str, Any]] = [
    {  # the audiences' vendor's rules (an account group, no owners, its key); otherwise the default vendor's key
        "if": _SPEAKS_AUDIENCES,
        "then": _rules_of(_AUDIENCES),
        "else": {"properties": {"leads": {"items": {"required": [DEFAULT.key_kind.value]}}}},
    },
    *(
        {"if": _provider(at.name), "then": {"properties": {"destinations": {"additionalProperties": _kinds_of(at)}}}}
        for at in VENDORS.values()
    ),
    {  # a sandbox plays one vendor: audiences only, or campaigns and lists only
        "if": _provider("sandbox"),
        "then": {
            "properties": {
                "destinations": {
                    "anyOf": [{"additionalProperties": _ref("Audience")}, {"additionalProperties": _NOT_AUDIENCE}]
                }
            }
        },
    },
]


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # true == 1 in Python, not in the schema
        raise PydanticCustomError("literal_error", "Input should be 1")
    return value


class Spec(_Model):
    """A leadsync spec, `version: 1`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="leadsync spec", json_schema_extra={"allOf": _json(SPEC_RULES)}
    )

    version: Annotated[Literal[1], BeforeValidator(_not_bool)]
    workspace: Workspace
    destinations: dict[Name, Destination] = Field(min_length=1)
    owners: dict[Name, Owner] = Field(default_factory=dict)
    pools: dict[Name, Pool] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)
    leads: list[InlineLead] = Field(default_factory=list)
    routes: list[Route] = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)
    tests: list[RoutingCase] = Field(default_factory=list, description="routing tests, run by `leadsync test`")

    @property
    def key_kind(self) -> state.KeyKind:
        """How the workspace's vendor identifies a person (`leadsync.providers`, `Vendor.key_kind`)."""
        # a workspace at the audiences' vendor, or whose destinations are all audiences, speaks that vendor (as
        # `_SPEAKS_AUDIENCES` says: a sandbox plays it); any other the default vendor
        kinds = {d.kind for d in self.destinations.values()}
        speaks = self.workspace.provider == _AUDIENCES.name or kinds == {"audience"}
        return (_AUDIENCES if speaks else DEFAULT).key_kind

    @property
    def vendor(self) -> str:
        """The registry name of the API the workspace speaks (a sandbox speaks the one its destinations imply)."""
        return vendor_of_key(self.key_kind).name


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec, generated from the models."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://leadsync.dev/schemas/leadsync.schema.json"
    schema.setdefault("$defs", {}).update(CONDITION_DEFS)
    schema["$defs"]["Audience"] = AUDIENCE_DEF
    resolved: dict[str, Any] = _resolve_markers(schema)
    return resolved


def _resolve_markers(node: Any) -> Any:
    if isinstance(node, dict):
        if _DEF_MARKER in node:
            return {"$ref": f"#/$defs/{node[_DEF_MARKER]}"}
        resolved = {key: _resolve_markers(value) for key, value in node.items()}
        patterns = resolved.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in resolved:
            # pydantic writes dict[Name, X] as patternProperties, which lets a key outside the pattern through
            ((pattern, value),) = patterns.items()
            del resolved["patternProperties"]
            resolved["propertyNames"] = {**resolved.get("propertyNames", {}), "pattern": pattern}
            resolved["additionalProperties"] = value
        return resolved
    if isinstance(node, list):
        return [_resolve_markers(item) for item in node]
    return node
