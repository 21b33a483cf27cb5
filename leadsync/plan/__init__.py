"""Plans: the pure planner, operations as frozen data, safety, and the plan document (JSON in and out).

    make_plan(DesiredState(leads, unrouted), ResolvedWorkspace(records, managed), policy,
              PlanContext(capabilities, spec=..., workspace=...)) -> Plan
    PlanContext(..., pools=pool_weights(spec))  Plan.pools: each owner pool's load against its weights
    PlanContext(..., names=Names(places, members))  Plan.names: the vendor names of the ids it mentions (display;
                                                    default: the remote state's own)
    Plan.to_json() / load_plan(path_or_text) -> Plan
    Plan.raise_if_unsafe(force)              UnsafePlanError (a PlanError) naming destinations and ratios
    remote_fingerprint(remote, ...)          what apply recomputes to refuse a stale plan (Plan.is_stale)

Nothing here does network I/O or reads the clock or the environment; `load_plan` reads a file when given a path.
"""

from leadsync.errors import UnsafePlanError
from leadsync.plan._batch import Changes, build_operations
from leadsync.plan._bound import Needs, lower_bound
from leadsync.plan._calls import predict_calls, rate_limited_seconds
from leadsync.plan._document import dump_plan, load_plan, plan_digest, plan_from_document, plan_schema, plan_to_document
from leadsync.plan._fingerprint import remote_fingerprint
from leadsync.plan._model import (
    OP_ORDER,
    AddLead,
    AddOp,
    AssignOp,
    Calls,
    DestinationStats,
    Held,
    MoveOp,
    Names,
    Operation,
    OwnerLoad,
    PlanContext,
    PlanPolicy,
    PlanWarning,
    PoolLoad,
    PoolMember,
    PoolWeights,
    RemoveOp,
    Safety,
    SpecRef,
    Summary,
    Unsupported,
    Workspace,
)
from leadsync.plan._plan import FORMAT_VERSION, Plan
from leadsync.plan._planner import make_plan
from leadsync.plan._pools import pool_weights
from leadsync.state import Conflict, ConflictReason

__all__ = [
    "FORMAT_VERSION",
    "OP_ORDER",
    "AddLead",
    "AddOp",
    "AssignOp",
    "Calls",
    "Changes",
    "Conflict",
    "ConflictReason",
    "DestinationStats",
    "Held",
    "MoveOp",
    "Names",
    "Needs",
    "Operation",
    "OwnerLoad",
    "Plan",
    "PlanContext",
    "PlanPolicy",
    "PlanWarning",
    "PoolLoad",
    "PoolMember",
    "PoolWeights",
    "RemoveOp",
    "Safety",
    "SpecRef",
    "Summary",
    "UnsafePlanError",
    "Unsupported",
    "Workspace",
    "build_operations",
    "dump_plan",
    "load_plan",
    "lower_bound",
    "make_plan",
    "plan_digest",
    "plan_from_document",
    "plan_schema",
    "plan_to_document",
    "pool_weights",
    "predict_calls",
    "rate_limited_seconds",
    "remote_fingerprint",
]
