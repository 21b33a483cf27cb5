"""The plan as frozen data: operations, the things not done (held, conflicts, unsupported), counts and safety.

Field names follow the plan document (docs/design.md section 3); `_document.py` turns these values into that
document and back. Every tuple here is sorted by the planner, so equal plans are equal values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from leadsync.state import DEFAULT_PROTECT, Capabilities, Claim, Policy, ReadCost, Unmanaged


def _json_value(value: Any) -> Any:
    """A field value the plan document can hold as it is; anything else as its text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)


_PLAIN = frozenset({str, int, bool, type(None)})

#: what a plan's `workspace.api` is when a sandbox's plan does not say (plan documents have always read so)
SANDBOX_API = "instantly"


def lead_fields(raw: object) -> dict[str, Any]:
    """The fields an added lead carries, from a mapping or routing's Lead (its attributes()), sorted by name."""
    if type(raw) is dict:
        if not raw:
            return {}
        if all(type(k) is str for k in raw):  # the common case, once per added lead: no per-item calls
            return {k: (v if type(v) in _PLAIN else _json_value(v)) for k, v in sorted(raw.items())}
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(raw, Mapping):
        items = raw.items()
    elif callable(attributes := getattr(raw, "attributes", None)):
        items = attributes().items()
    return {str(k): _json_value(v) for k, v in sorted(items, key=lambda kv: str(kv[0]))}


@dataclass(frozen=True, slots=True)
class AddLead:
    """One new lead record: its key, its own owner (None: no `assigned_to`), the route, the spec fields."""

    key: str
    owner: str | None
    route: str
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class AddOp:
    """New lead records added to one destination; each lead carries its own owner."""

    op: ClassVar[str] = "add"
    destination: str
    leads: tuple[AddLead, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(lead.key for lead in self.leads)

    @property
    def destinations(self) -> tuple[str, ...]:
        return (self.destination,)


@dataclass(frozen=True, slots=True)
class MoveOp:
    """A move of the records `lead_ids` from `source` to `target`, setting `owner` unless None (one call).

    `source` is a destination name, or an outside reference (`campaign:<id>`) when `claim: move`. `owner` is
    the owner to SET: None when the move leaves every lead's owner as it is. `previous_owners[i]` is the
    current owner of `lead_ids[i]`, for display (empty when unknown); it is not part of the call and is not
    compared.
    """

    op: ClassVar[str] = "move"
    source: str
    target: str
    owner: str | None
    lead_ids: tuple[str, ...]
    keys: tuple[str, ...]
    previous_owners: tuple[str | None, ...] = field(default=(), compare=False)  # display only: not the call

    @property
    def destinations(self) -> tuple[str, ...]:
        return (self.source, self.target)


@dataclass(frozen=True, slots=True)
class AssignOp:
    """The records `lead_ids` in `destination` given to one owner, where they are (one call)."""

    op: ClassVar[str] = "assign"
    owner: str
    destination: str
    lead_ids: tuple[str, ...]
    keys: tuple[str, ...]
    #: the current owner of each lead, for display (may be empty); not part of the call, so not compared
    previous_owners: tuple[str | None, ...] = field(default=(), compare=False)

    @property
    def destinations(self) -> tuple[str, ...]:
        return (self.destination,)


@dataclass(frozen=True, slots=True)
class RemoveOp:
    """The records `lead_ids` deleted from `destination`: named by destination AND ids (never without ids)."""

    op: ClassVar[str] = "remove"
    destination: str
    lead_ids: tuple[str, ...]
    keys: tuple[str, ...]

    @property
    def destinations(self) -> tuple[str, ...]:
        return (self.destination,)


Operation = AddOp | MoveOp | AssignOp | RemoveOp

#: the order apply runs operations in, and the order they appear in a plan
OP_ORDER: dict[str, int] = {"move": 0, "add": 1, "assign": 2, "remove": 3}


@dataclass(frozen=True, slots=True)
class Held:
    """A change the planner did not make because the record's outreach status is protected."""

    key: str
    lead_id: str
    destination: str  # where the record is
    statuses: tuple[str, ...]  # the protected statuses it has, sorted
    change: str  # what would have been done: "move to enterprise", "reassign to alice", "remove", "add to X"


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A person a change is needed for that the provider cannot make."""

    key: str
    destination: str  # where routing wants the person (or where the unwanted record is, for removals)
    reason: str


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """Something worth a look that changes nothing (e.g. `unmanaged: report`)."""

    kind: str
    key: str | None
    destination: str | None
    lead_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Summary:
    """People per outcome. Each person is counted once; a moved and re-owned person counts as a move.

    `conflicts` counts people (distinct keys); a spec name the workspace could not resolve is a conflict
    entry without a key, listed but not counted here.
    """

    add: int = 0
    move: int = 0
    assign: int = 0
    remove: int = 0
    unchanged: int = 0
    held: int = 0
    unrouted: int = 0
    conflicts: int = 0
    unsupported: int = 0


@dataclass(frozen=True, slots=True)
class Calls:
    """Predicted API calls (see `_calls.py` for the model) and the time the rate limit alone needs for them."""

    writes: int
    lower_bound: int
    reads: int
    by_endpoint: Mapping[str, int] = field(hash=False)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class DestinationStats:
    """Records in one managed destination before and after the plan, and how they change.

    `changed` = leaving (move out + remove) + arriving (move in + add) + re-owned in place (reassign);
    `ratio` = changed / max(before, 1); `unsafe` when ratio > max_change_ratio and before >= min_destination_size.
    """

    name: str
    before: int
    after: int
    add: int = 0
    move_in: int = 0
    move_out: int = 0
    reassign: int = 0
    remove: int = 0
    held: int = 0
    changed: int = 0
    ratio: float = 0.0
    unsafe: bool = False


@dataclass(frozen=True, slots=True)
class OwnerLoad:
    """Records in managed destinations owned by `owner` (a spec owner, a raw user id, None: unassigned)."""

    owner: str | None
    before: int
    after: int
    capacity: int | None = None  # the spec owner's capacity, when it has one


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety rule the plan was checked against, and the destinations that break it."""

    max_change_ratio: float
    min_destination_size: int
    unsafe: tuple[str, ...] = ()

    @property
    def safe(self) -> bool:
        return not self.unsafe


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """The parts of the spec's policy a saved plan needs: `claim` and `unmanaged` say which operations it may
    hold (a move out of an outside record only under claim: move, removes only under unmanaged: remove), and
    `protect` says which statuses its fingerprint covers."""

    unmanaged: Unmanaged = Unmanaged.KEEP
    claim: Claim = Claim.SKIP
    protect: tuple[str, ...] = tuple(sorted(DEFAULT_PROTECT))

    @classmethod
    def of(cls, policy: Policy) -> PlanPolicy:
        return cls(policy.unmanaged, policy.claim, tuple(sorted(policy.protect)))


@dataclass(frozen=True, slots=True)
class SpecRef:
    """The spec a plan was made from: its path as given and the sha256 of its bytes; `queries`, its SQL sources'
    query files as (path as the spec names it, sha256 of its bytes), sorted."""

    path: str = ""
    sha256: str = ""
    queries: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Workspace:
    """The workspace a plan is for. `api` names the vendor API (its registry name) whose endpoints `calls`
    counts: by default the provider itself, and for a sandbox the default vendor's (one serving another vendor's
    seed says so).
    `read` is how the live read that the plan was made from found the workspace and what it cost (None: a
    snapshot, or a plan from before leadsync recorded it)."""

    provider: str = "sandbox"
    id: str = ""
    api: str = ""
    read: ReadCost | None = None

    def __post_init__(self) -> None:
        if not self.api:
            object.__setattr__(self, "api", SANDBOX_API if self.provider == "sandbox" else self.provider)


@dataclass(frozen=True, slots=True)
class Names:
    """What the workspace calls the places and members a plan mentions by vendor id, for display only.

    `places`: "campaign:<id>" / "list:<id>" / "audience:<id>" (a place outside the managed destinations, as
    the plan names it) -> the vendor's name for it; `members`: user id (an owner the spec does not name) ->
    the member's email. Renderers show these instead of the raw ids (emails masked wherever keys are); the
    plan document keeps the raw ids where they were and these beside them. Never part of the plan's
    fingerprint or digest: a renamed campaign changes nothing the plan does.
    """

    places: Mapping[str, str] = field(default_factory=dict, hash=False)
    members: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __bool__(self) -> bool:
        return bool(self.places) or bool(self.members)

    def place(self, ref: str) -> str | None:
        """The vendor's name of `ref`, or None when it is not known."""
        return self.places.get(ref)

    def member(self, user: str | None) -> str | None:
        """The email of the member with user id `user`, or None when it is not known."""
        return None if user is None else self.members.get(user)


@dataclass(frozen=True, slots=True)
class PoolWeights:
    """A spec owner pool as the planner needs it: its members' weights and the routes that draw from it.

    `weights` are (owner name, weight) pairs, weight > 0; `routes` are the names of the routes whose owner is
    `{pool: name}`. Build them from a spec with `pool_weights(spec)`.
    """

    name: str
    weights: tuple[tuple[str, float], ...]
    routes: tuple[str, ...]
    sticky: bool = False


@dataclass(frozen=True, slots=True)
class PoolMember:
    """One member of a pool: its weight, and how many of the pool's people it owns before and after the plan."""

    owner: str
    weight: float
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class PoolLoad:
    """How a pool's people are spread over its members before and after the plan, next to the weights.

    A pool's people are those routing sends down one of its `routes` (their owner is drawn from the pool).
    `before`: the owner of each one's record in a managed destination (people with no such record, or with
    several, which are conflicts, are not counted). `after`: the owner the plan gives them, i.e. the routed
    owner, for everyone the plan settles (already right, added, moved or reassigned); the owner they keep for
    those it leaves alone (held, conflicts, unsupported). `others_*` count people owned by someone outside
    the pool (or unassigned): they are not in the members' shares, which are of the people members own.
    """

    name: str
    routes: tuple[str, ...]
    members: tuple[PoolMember, ...]
    sticky: bool = False
    others_before: int = 0
    others_after: int = 0

    def total(self, after: bool = True) -> int:
        """People the members own, after the plan (or before)."""
        return sum(m.after if after else m.before for m in self.members)

    def weight_share(self, member: PoolMember) -> float:
        """The member's weight as a share of the pool's total weight (0..1)."""
        total = sum(m.weight for m in self.members)
        return member.weight / total if total > 0 else 0.0

    def share(self, member: PoolMember, after: bool = True) -> float | None:
        """The member's share (0..1) of the people members own; None when members own nobody."""
        total = self.total(after)
        return (member.after if after else member.before) / total if total else None

    def deviation(self, member: PoolMember, after: bool = True) -> float | None:
        """share - weight share, in percentage points (+: more than its weight); None when nobody is owned."""
        share = self.share(member, after)
        return None if share is None else (share - self.weight_share(member)) * 100

    def largest_deviation(self, after: bool = True) -> tuple[PoolMember, float] | None:
        """The member furthest from its weight share and its deviation in points (ties, within rounding noise:
        the first member)."""
        found: tuple[PoolMember, float] | None = None
        for member in self.members:
            points = self.deviation(member, after)
            if points is not None and (found is None or abs(points) > abs(found[1]) + 1e-9):
                found = (member, points)
        return found


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a plan is for and is told beside the states it plans between (`make_plan`).

    `capabilities`: what the vendor can do and what its calls are named and cost (a vendor's, from
    `leadsync.providers`). `spec` and `workspace`: the spec and the workspace the plan is for. `pools`: the spec's
    owner pools (`pool_weights(spec)`): the plan reports each one's load against its weights (`Plan.pools`).
    `names`: what the workspace calls its places and members, for display only (None: the remote state's own).
    `at`: the ISO date owners' absences were read at, kept in the plan and its fingerprint. `leadsync_version`:
    the version the plan says made it (None: this one)."""

    capabilities: Capabilities
    spec: SpecRef = SpecRef()
    workspace: Workspace = Workspace()
    pools: Iterable[PoolWeights] = ()
    names: Names | None = None
    at: str | None = None
    leadsync_version: str | None = None
