"""The plan document's one definition: typed dicts that plan.schema.json is made from.

`_document.py` builds and reads these dicts (mypy holds its encoder and decoder to them); `plan_json_schema()`
is their JSON Schema, as pydantic derives it, which `scripts/gen_plan_schema.py` writes to schemas/plan.schema.json
and its packaged copy (a test fails when a committed file differs from it). A loaded document is checked against
that schema: jsonschema for the envelope, and loops compiled from it for the big arrays (`_shape.py`). What a
schema cannot say is `_checks.py`'s.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, WithJsonSchema, with_config
from typing_extensions import TypedDict

from leadsync.state import Claim, ConflictReason, Unmanaged

_CLOSED = ConfigDict(extra="forbid")  # additionalProperties: false

SCHEMA_ID = "https://leadsync.dev/schemas/plan.schema.json"
SCHEMA_DESCRIPTION = (
    "What `leadsync plan --out FILE` / `--format json` writes and `leadsync apply PLANFILE` reads (docs/design.md "
    "section 3). Written canonically: keys sorted, compact, UTF-8, one trailing newline, so the same plan is the "
    "same bytes. Fields beyond the minimal example of docs/design.md section 3 (workspace.api, managed, policy, "
    "unsupported, safety, destinations, owners, add leads' fields, previous_owners, conflict refs, held/warning "
    "details, and the optional workspace.read, pools and names) are additive. A reader also checks what a schema "
    "cannot say (see leadsync/plan/_checks.py): operations write only into managed destinations (a move's `from` "
    "may be outside only under policy.claim move), run in apply order, name each lead id once per kind and no held "
    "one, keys and lead_ids have equal lengths, and summary, calls, destinations and safety agree with the "
    "operations. Generated from leadsync/plan/_schema.py by scripts/gen_plan_schema.py; "
    "leadsync/schemas/plan.schema.json is the same file, shipped in the package."
)


def enum_values(kind: type[Enum]) -> list[str]:
    return [str(member.value) for member in kind]


# a JSON number is an int or a float: "number", never pydantic's int-or-float union
Count = Annotated[int, Field(ge=0)]
SortedNames = Annotated[list[str], Field(json_schema_extra={"uniqueItems": True})]
Ids = Annotated[list[str], Field(min_length=1)]
NonNegative = Annotated[float, WithJsonSchema({"type": "number", "minimum": 0})]
Ratio = Annotated[float, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
Weight = Annotated[float, WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]
PreviousOwners = Annotated[
    list[str | None],
    Field(
        description="The current owner of each lead (null: unassigned), aligned with keys; for display. "
        "Omitted when unknown."
    ),
]
NonEmpty = Annotated[str, Field(min_length=1)]
# the enums' values, as the encoder writes them (`.value`)
ClaimValue = Annotated[str, WithJsonSchema({"enum": enum_values(Claim)})]
UnmanagedValue = Annotated[str, WithJsonSchema({"enum": enum_values(Unmanaged)})]
ReasonValue = Annotated[str, WithJsonSchema({"enum": enum_values(ConflictReason)})]


def _doc(text: str) -> Any:
    return Field(description=text)


@with_config(_CLOSED)
class Query(TypedDict):
    """A SQL source's query file: its path as the spec names it and the sha256 (hex) of its bytes (not of rows)."""

    path: str
    sha256: str


@with_config(_CLOSED)
class Spec(TypedDict):
    """The spec the plan was made from: its path as given on the command line and the sha256 (hex) of its bytes;
    queries: its SQL sources' query files (absent when it has none), so that applying the plan can say which
    changed since."""

    path: str
    sha256: str
    queries: NotRequired[list[Query]]


@with_config(_CLOSED)
class Read(TypedDict):
    """outside: how routed people missing from the managed destinations were looked for (none: nobody was missing;
    contacts: batched look-ups by key; workspace: the whole workspace paged, cheaper than the look-ups;
    workspace+contacts: paging stopped at the look-ups' price, the rest looked up). calls: every read call;
    outside_calls: those spent looking outside; lookup_calls: what look-ups alone would have cost; missing: the
    routed people not in any managed destination, the ones looked for."""

    outside: str
    calls: Count
    outside_calls: Count
    lookup_calls: Count
    missing: Count


@with_config(_CLOSED)
class Workspace(TypedDict):
    """The workspace: provider (instantly, sonarly, sandbox), its id, and api: the vendor API whose endpoints
    `calls` counts (instantly or sonarly; a sandbox serves either). `read`, when present, is how the live read the
    plan was made from found the workspace and what it cost; absent for a plan made from a snapshot (or by a
    leadsync that did not record it)."""

    provider: str
    id: str
    api: str
    read: NotRequired[Read]


@with_config(_CLOSED)
class Policy(TypedDict):
    """The parts of the spec's policy the plan depends on: claim (a move out of a record outside managed
    destinations is allowed only under claim move), unmanaged (remove operations only under unmanaged remove),
    protect (the statuses that hold a lead, and the only statuses the fingerprint covers), sorted."""

    claim: ClaimValue
    unmanaged: UnmanagedValue
    protect: SortedNames


@with_config(_CLOSED)
class Summary(TypedDict):
    """People per outcome. Each person is counted once: a person moved and re-owned is a move; `assign` counts
    people only re-owned. `conflicts` counts people (distinct keys) with a conflict; a spec name the workspace
    could not resolve is listed in `conflicts` with key null but is not a person and is not counted here."""

    add: Count
    move: Count
    assign: Count
    remove: Count
    unchanged: Count
    held: Count
    unrouted: Count
    conflicts: Count
    unsupported: Count


@with_config(_CLOSED)
class Calls(TypedDict):
    """Predicted API calls. writes = number of operations; lower_bound = the fewest write calls the changes can
    take, counted from what each person needs (per (from, to): one class per owner to set plus one for owners left
    as they are; adds per destination; assigns per (owner, destination); removes per destination; each class
    chunked), independently of how the planner grouped them (equal to writes for a minimal plan); reads =
    catalogue pages + one listing of every managed destination (at least one page each) + pages of the outside
    records considered + one job poll per move the vendor runs as a background job; by_endpoint = every call,
    reads and writes, by 'METHOD /path/template'; seconds = the time those calls need at the provider's rate limit
    alone: max(calls / per_second, calls / per_minute * 60), ignoring latency."""

    writes: Count
    lower_bound: Count
    reads: Count
    by_endpoint: dict[str, Count]
    seconds: NonNegative


MoveOp = TypedDict(
    "MoveOp",
    {
        "op": Literal["move"],
        "from": str,
        "to": str,
        "owner": str | None,
        "lead_ids": Ids,
        "keys": Ids,
        "previous_owners": NotRequired[PreviousOwners],
    },
)
MoveOp.__doc__ = (
    "One move call: lead_ids (filtered within `from`) to `to`, given `owner` unless owner is null; a vendor that "
    "moves in a background job has it polled to its end. `owner` is the owner to SET: null when every lead of the "
    "call keeps its owner (one call per (from, to, owner to set)). `from` is a destination name, or an outside "
    "reference such as campaign:<id> under claim: move. keys[i] is the lead key of lead_ids[i]."
)
MoveOp.__pydantic_config__ = _CLOSED  # type: ignore[attr-defined]  # `from` is a keyword: no class syntax


@with_config(_CLOSED)
class AddLead(TypedDict):
    key: str
    owner: str | None
    route: str
    fields: NotRequired[dict[str, Any]]


@with_config(_CLOSED)
class AddOp(TypedDict):
    """One add call into one destination; each lead carries its own owner (null: none), the route that placed it
    and, when the source has any, its fields."""

    op: Literal["add"]
    destination: str
    leads: Annotated[list[AddLead], Field(min_length=1)]


@with_config(_CLOSED)
class AssignOp(TypedDict):
    """One assign call: one owner for lead_ids, filtered to one destination."""

    op: Literal["assign"]
    owner: str
    destination: str
    lead_ids: Ids
    keys: Ids
    previous_owners: NotRequired[PreviousOwners]


@with_config(_CLOSED)
class RemoveOp(TypedDict):
    """One delete call, of the destination AND lead_ids, never without ids; only under unmanaged: remove."""

    op: Literal["remove"]
    destination: str
    lead_ids: Ids
    keys: Ids


Operation = Annotated[MoveOp | AddOp | AssignOp | RemoveOp, Field(discriminator="op")]


@with_config(_CLOSED)
class Held(TypedDict):
    key: str
    lead_id: str
    destination: Annotated[str, _doc("Where the record is: a destination name or an outside reference.")]
    statuses: Annotated[list[str], _doc("The record's protected statuses.")]
    change: Annotated[
        str,
        _doc("What would have been done: 'move to X', 'move to X (owner Y)', 'reassign to Y', 'remove', 'add to X'."),
    ]


@with_config(_CLOSED)
class Conflict(TypedDict):
    key: str | None
    reason: ReasonValue
    detail: str
    subject: Annotated[str | None, _doc("The spec destination or owner name the conflict is about, if any.")]
    refs: NotRequired[
        Annotated[
            list[str],
            _doc(
                "For a spec destination that did not resolve: the places it may name ('campaign:<id>', ...). "
                "Whoever has a record there is a conflict, never moved, added or removed. Omitted when empty."
            ),
        ]
    ]


@with_config(_CLOSED)
class Unsupported(TypedDict):
    key: str
    destination: str
    reason: str


@with_config(_CLOSED)
class Warning(TypedDict):
    kind: str
    key: str | None
    destination: str | None
    lead_id: str | None
    message: str


@with_config(_CLOSED)
class Safety(TypedDict):
    """The safety verdict: safe is false when a destination with at least min_destination_size records would
    change by more than max_change_ratio (see destinations); apply then needs --force."""

    safe: bool
    max_change_ratio: NonNegative
    min_destination_size: Count
    unsafe: SortedNames


@with_config(_CLOSED)
class Destination(TypedDict):
    before: Count
    after: Count
    add: Count
    move_in: Count
    move_out: Count
    reassign: Count
    remove: Count
    held: Count
    changed: Count
    ratio: Ratio
    unsafe: bool


@with_config(_CLOSED)
class OwnerLoad(TypedDict):
    owner: str | None
    capacity: NotRequired[
        Annotated[
            Count,
            _doc(
                "Optional: the spec owner's capacity (the most leads it may hold in managed destinations after the "
                "plan), when it has one."
            ),
        ]
    ]
    before: Count
    after: Count


@with_config(_CLOSED)
class PoolMember(TypedDict):
    owner: str
    weight: Weight
    before: Count
    after: Count


@with_config(_CLOSED)
class BeforeAfter(TypedDict):
    before: Count
    after: Count


@with_config(_CLOSED)
class Pool(TypedDict):
    routes: list[str]
    sticky: bool
    members: list[PoolMember]
    others: BeforeAfter


_PLACE = "^(campaign|list|audience):."


@with_config(_CLOSED)
class DisplayNames(TypedDict):
    """Optional, for display only: what the workspace calls the places outside the managed destinations and the
    workspace members the spec does not name that this plan mentions by vendor id (in operations, held,
    conflicts, unsupported, warnings, owners), and no others. places: a reference as the plan spells it
    (campaign:<id>, list:<id>, audience:<id>) -> the vendor's name of it; members: a user id -> the member's
    email. The ids stay where they are; renderers show these instead (emails masked wherever lead keys are).
    Covered neither by the fingerprint nor by the plan's digest: a renamed campaign changes nothing the plan
    does."""

    # pydantic would say patternProperties, which lets any other key through: the schema says what is checked
    places: Annotated[
        dict[Annotated[str, Field(pattern=_PLACE)], NonEmpty],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"pattern": _PLACE},
                "additionalProperties": {"type": "string", "minLength": 1},
            }
        ),
    ]
    members: Annotated[
        dict[NonEmpty, NonEmpty],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"type": "string", "minLength": 1},
            }
        ),
    ]


@with_config(_CLOSED)
class PlanDocument(TypedDict):
    format_version: Annotated[
        Literal[2],
        _doc(
            "The version of this document format: the integer 2 (2.0 is refused). This schema describes version 2; "
            "a reader refuses any other. Version 2 (leadsync 0.1.0 after issue #11): destinations[].changed counts "
            "the existing records changed (move_out + reassign + remove), no longer arrivals, so ratio is at most 1."
        ),
    ]
    leadsync_version: Annotated[str, _doc("The leadsync version that made the plan.")]
    spec: Spec
    workspace: Workspace
    fingerprint: Annotated[
        str,
        Field(
            pattern="^[0-9a-f]{64}$",
            description="sha256 (hex) over the remote facts the plan depends on: every record in a managed "
            "destination and the outside records of every person the plan names (operations, held, conflicts, "
            "unsupported), each as (id, key, destination, owner, the statuses among policy.protect), sorted. Only "
            "protected statuses count: a status the plan does not depend on (paused -> completed) does not make it "
            "stale; an owner or destination change, or a record appearing or disappearing, does. Apply recomputes "
            "it from a fresh fetch and refuses a stale plan.",
        ),
    ]
    managed: Annotated[SortedNames, _doc("The managed destinations (spec destination names that resolved), sorted.")]
    policy: Policy
    summary: Summary
    calls: Calls
    operations: Annotated[
        list[Operation],
        _doc(
            "API calls in the order apply runs them: moves, adds, assigns, removes; within a kind sorted by group, "
            "and ids sorted by lead key. Each is one of the four shapes, told apart by `op`."
        ),
    ]
    held: Annotated[
        list[Held],
        _doc(
            "Changes not made because the record's outreach status is protected (policy.protect), sorted by key "
            "and lead id. Such records are in no operation."
        ),
    ]
    conflicts: Annotated[
        list[Conflict],
        _doc(
            "What leadsync will not guess about: shown, never acted on. key null: a spec name (subject) the "
            "workspace could not resolve."
        ),
    ]
    unrouted: Annotated[SortedNames, _doc("Keys of leads no route matched, sorted: reported, never touched.")]
    unsupported: Annotated[
        list[Unsupported],
        _doc(
            "People a change is needed for that the provider cannot make (e.g. a vendor whose audiences cannot be "
            "added to), with the reason."
        ),
    ]
    warnings: Annotated[
        list[Warning],
        _doc(
            "Things worth a look that change nothing, e.g. kind 'unmanaged' for a record no route wants under "
            "unmanaged: report."
        ),
    ]
    safety: Safety
    destinations: Annotated[
        dict[str, Destination],
        _doc(
            "Per managed destination: records before and after, the changes (add, move_in, move_out, reassign = "
            "re-owned without a move, remove), held records, changed = move_out + remove + reassign (the existing "
            "records the plan changes; arrivals, add and move_in, are growth and not counted), ratio = changed / "
            "max(before, 1) rounded to 4 places (at most 1), unsafe = ratio > max_change_ratio and before >= "
            "min_destination_size."
        ),
    ]
    owners: Annotated[
        list[OwnerLoad],
        _doc(
            "Owner load: records in managed destinations per owner (a spec owner name, a raw user id for members "
            "outside the spec, null for unassigned) before and after the plan. Unassigned first, then by name."
        ),
    ]
    at: NotRequired[
        Annotated[
            str,
            Field(
                pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$",
                description="Optional: when the plan is as of (`plan --at`): the date (UTC, YYYY-MM-DD) the owners' "
                "absences were read at, or the time (UTC, YYYY-MM-DDTHH:MM:SSZ) the routes' time matchers "
                "(older_than, within) were measured from; present when the spec depends on it. Part of the "
                "fingerprint: a plan made for another day or time is stale.",
            ),
        ]
    ]
    pools: NotRequired[
        Annotated[
            dict[str, Pool],
            _doc(
                "Optional: per spec owner pool (by name), how its people spread over its members before and after "
                "the plan, next to the weights. A pool's people are those routed down one of its `routes`. before: "
                "the owner of each one's record in a managed destination (people with no record there, or with "
                "several, are not counted). after: the owner the plan gives them (the routed owner) for every person "
                "it settles, the owner they keep for those it leaves alone (held, conflicts, unsupported). `others` "
                "counts people owned by someone outside the pool or unassigned. A member's share is its count over "
                "the members' total; its weight share is its weight over the members' total weight. Members are "
                "sorted by owner name."
            ),
        ]
    ]
    names: NotRequired[DisplayNames]


#: the definition as pydantic reads it, for its JSON Schema
PLAN_DOCUMENT: TypeAdapter[PlanDocument] = TypeAdapter(PlanDocument)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the plan document, as the committed plan.schema.json files hold it."""
    generated = _tidy(PLAN_DOCUMENT.json_schema())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "leadsync plan document",
        "description": SCHEMA_DESCRIPTION,
        **generated,
    }


#: the keywords a schema object starts with, in this order; a validator meets them so, and the first problem it
#: reports in an object is then its type, then a missing property, then an unexpected one, then a property's own
_FIRST = {k: i for i, k in enumerate(("$schema", "$id", "title", "description", "type", "const", "enum", "required",
                                      "additionalProperties", "properties"))}  # fmt: skip


def _tidy(node: Any, key: str = "") -> Any:
    """Without the title pydantic gives every property after its name (noise to a reader; a property *named*
    title would be kept), descriptions from docstrings on one line, and `T | None` as JSON Schema spells it
    (`"type": [T, "null"]`, which validators also word as such: "1 is not of type 'string', 'null'"), keywords in
    the order `_FIRST` gives."""
    if isinstance(node, dict):
        named = key in ("properties", "$defs")
        options = node.get("anyOf")
        if not named and isinstance(options, list) and len(options) == 2 and options[1] == {"type": "null"}:
            plain = options[0]
            if isinstance(plain, dict) and set(plain) == {"type"} and isinstance(plain["type"], str):
                rest = {k: v for k, v in node.items() if k != "anyOf"}
                node = {**rest, "type": [plain["type"], "null"]}
        kept = {k: _tidy(v, k) for k, v in node.items() if named or k != "title"}
        return kept if named else dict(sorted(kept.items(), key=lambda item: _FIRST.get(item[0], len(_FIRST))))
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if key == "description" and isinstance(node, str):
        return " ".join(node.split())
    return node
