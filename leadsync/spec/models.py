"""The spec of DESIGN.md section 2 as pydantic models: the single source of `schemas/leadsync.schema.json`.

Models check shape and types; cross references, conditions and file paths are checked by `checks.py`,
which knows where each value sits in the YAML.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from leadsync import state

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=100)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]

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


class Workspace(_Model):
    """Where the leads live. A key itself never appears here: only the name of its environment variable."""

    provider: Literal["instantly", "sonarly", "sandbox"]
    api_key_env: EnvVarName | None = Field(
        None, description="the NAME of the environment variable holding the API key"
    )
    account_group: str | None = Field(None, description="Sonarly: the account group, by name or id")
    seed: str | None = Field(None, description="sandbox: a seed file (JSON), relative to the spec")


DESTINATION_KINDS: tuple[str, ...] = ("campaign", "campaign_id", "list", "list_id", "audience", "audience_id")


class Destination(_Model):
    """A campaign or lead list (Instantly) or an audience (Sonarly), by name or by id: exactly one."""

    campaign: str | None = None
    campaign_id: str | None = None
    list: str | None = None
    list_id: str | None = None
    audience: str | None = None
    audience_id: str | None = None

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


class Owner(_Model):
    email: str
    weight: float = Field(1.0, gt=0, description="share of a pool's leads, relative to the other members")


class Pool(_Model):
    members: list[Name] = Field(min_length=1)
    sticky: bool = Field(False, description="keep a lead with its current owner while that owner is in the pool")


class PoolRef(_Model):
    pool: Name


class Source(_Model):
    path: str = Field(description="csv or jsonl, relative to the spec, never outside its folder tree")
    format: Literal["csv", "jsonl"] | None = Field(None, description="by default, from the file's extension")
    fields: dict[str, str] = Field(default_factory=dict, description="lead attribute -> column")


class Route(_Model):
    name: Name
    when: Condition | None = Field(None, description="no condition: a catch-all")
    to: Name
    owner: Name | PoolRef | None = Field(None, description="an owner, {pool: name}, or none to leave owners alone")


class Policy(_Model):
    unmanaged: state.Unmanaged = state.Unmanaged.KEEP
    claim: state.Claim = state.Claim.SKIP
    protect: list[str] = Field(default_factory=lambda: list(state.DEFAULT_PROTECT))
    max_change_ratio: float = Field(0.3, gt=0, le=1)
    min_destination_size: int = Field(10, ge=0)

    def to_state(self) -> state.Policy:
        return state.Policy(
            unmanaged=self.unmanaged,
            claim=self.claim,
            protect=frozenset(self.protect),
            max_change_ratio=self.max_change_ratio,
            min_destination_size=self.min_destination_size,
        )


class Spec(_Model):
    """A leadsync spec, `version: 1`."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="leadsync spec")

    version: Literal[1]
    workspace: Workspace
    destinations: dict[Name, Destination] = Field(min_length=1)
    owners: dict[Name, Owner] = Field(default_factory=dict)
    pools: dict[Name, Pool] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)
    leads: list[InlineLead] = Field(default_factory=list)
    routes: list[Route] = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)

    @property
    def key_kind(self) -> state.KeyKind:
        """Sonarly workspaces key leads by LinkedIn identifier; Instantly ones by email."""
        kinds = {d.kind for d in self.destinations.values()}
        if self.workspace.provider == "sonarly" or kinds == {"audience"}:
            return state.KeyKind.LINKEDIN
        return state.KeyKind.EMAIL

    @property
    def vendor(self) -> str:
        """instantly or sonarly: the API the workspace speaks (a sandbox speaks the one its destinations imply)."""
        return "sonarly" if self.key_kind is state.KeyKind.LINKEDIN else "instantly"


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec, generated from the models."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://leadsync.dev/schemas/leadsync.schema.json"
    schema.setdefault("$defs", {}).update(CONDITION_DEFS)
    return _resolve_markers(schema)


def _resolve_markers(node: Any) -> Any:
    if isinstance(node, dict):
        if _DEF_MARKER in node:
            return {"$ref": f"#/$defs/{node[_DEF_MARKER]}"}
        return {key: _resolve_markers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_markers(item) for item in node]
    return node
