"""The plan document: Plan <-> JSON data <-> canonical text, checked on the way in.

The document is defined once, in `_schema.py` (typed dicts): the encoder here builds them and the decoder reads
them (mypy holds both to the definition), and plan.schema.json is generated from them. Loading checks in two
steps, each naming the file and what is wrong: the shape (that schema: jsonschema for the small envelope, and for
the big arrays, which jsonschema takes half a minute over at a million leads, `_shape.py`'s loops compiled from
it), then the meaning (`_checks.py`: what a schema cannot say, e.g. that operations only write into managed
destinations and that the counts match the operations).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, cast

from leadsync._gc import paused_gc
from leadsync.errors import DocumentTooLarge, JsonTooDeep, PlanError
from leadsync.jsontext import decode, loads_bounded, read_bounded
from leadsync.plan._checks import plan_problems
from leadsync.plan._model import (
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
    PlanPolicy,
    PlanWarning,
    PoolLoad,
    PoolMember,
    RemoveOp,
    Safety,
    SpecRef,
    Summary,
    Unsupported,
    Workspace,
)
from leadsync.plan._plan import FORMAT_VERSION, Plan
from leadsync.plan._shape import ARRAYS, array_problem
from leadsync.state import Claim, Conflict, ConflictReason, ReadCost, Unmanaged

if TYPE_CHECKING:  # the definition types the encoder and decoder; a load or dump never builds its pydantic side
    from leadsync.plan import _schema as shape

Document = dict[str, Any]


def _operation(op: Operation, share: bool = False) -> shape.Operation:
    if isinstance(op, MoveOp):
        move: shape.MoveOp = {
            "op": "move",
            "from": op.source,
            "to": op.target,
            "owner": op.owner,
            "lead_ids": list(op.lead_ids),
            "keys": list(op.keys),
        }
        if op.previous_owners:
            move["previous_owners"] = list(op.previous_owners)
        return move
    if isinstance(op, AddOp):
        leads: list[shape.AddLead] = []
        for lead in op.leads:
            item: shape.AddLead = {"key": lead.key, "owner": lead.owner, "route": lead.route}
            if lead.fields:
                # shared only for a document that is dumped and dropped: a million dict copies cost ~0.3 s
                item["fields"] = lead.fields if share and type(lead.fields) is dict else dict(lead.fields)
            leads.append(item)
        return {"op": "add", "destination": op.destination, "leads": leads}
    if isinstance(op, AssignOp):
        assign: shape.AssignOp = {
            "op": "assign",
            "owner": op.owner,
            "destination": op.destination,
            "lead_ids": list(op.lead_ids),
            "keys": list(op.keys),
        }
        if op.previous_owners:
            assign["previous_owners"] = list(op.previous_owners)
        return assign
    return {"op": "remove", "destination": op.destination, "lead_ids": list(op.lead_ids), "keys": list(op.keys)}


def _conflict(c: Conflict) -> shape.Conflict:
    item: shape.Conflict = {"key": c.key, "reason": c.reason.value, "detail": c.detail, "subject": c.subject}
    if c.refs:
        item["refs"] = list(c.refs)
    return item


def _workspace(ws: Workspace) -> shape.Workspace:
    doc: shape.Workspace = {"provider": ws.provider, "id": ws.id, "api": ws.api}
    if ws.read is not None:  # only when known: a plan without it keeps the bytes it always had
        r = ws.read
        doc["read"] = {
            "outside": r.outside,
            "calls": r.calls,
            "outside_calls": r.outside_calls,
            "lookup_calls": r.lookup_calls,
            "missing": r.missing,
        }
    return doc


def _owner_load(load: OwnerLoad) -> shape.OwnerLoad:
    out: shape.OwnerLoad = {"owner": load.owner, "before": load.before, "after": load.after}
    if load.capacity is not None:  # optional: only owners with a capacity
        out["capacity"] = load.capacity
    return out


def _pool(pool: PoolLoad) -> shape.Pool:
    return {
        "routes": list(pool.routes),
        "sticky": pool.sticky,
        "members": [{"owner": m.owner, "weight": m.weight, "before": m.before, "after": m.after} for m in pool.members],
        "others": {"before": pool.others_before, "after": pool.others_after},
    }


def plan_to_document(plan: Plan, *, _share: bool = False) -> Document:
    """The plan as JSON data, exactly the shape plan.schema.json describes (a fresh copy: safe to change)."""
    doc = _document(plan, _share)
    if plan.pools:  # optional, like workspace.read: absent from plans made without the spec's pools
        doc["pools"] = {pool.name: _pool(pool) for pool in plan.pools}
    if plan.names:  # optional too: display only, and absent when the plan mentions no id it has a name for
        doc["names"] = {"places": dict(plan.names.places), "members": dict(plan.names.members)}
    if plan.at is not None:  # optional: only specs with absences depend on the date
        doc["at"] = plan.at
    return cast(Document, doc)  # the same dict, as the JSON data callers may change


def _spec(spec: SpecRef) -> shape.Spec:
    doc: shape.Spec = {"path": spec.path, "sha256": spec.sha256}
    if spec.queries:  # optional: absent from the plans of specs without SQL sources, as before
        doc["queries"] = [{"path": path, "sha256": sha256} for path, sha256 in spec.queries]
    return doc


def _document(plan: Plan, _share: bool) -> shape.PlanDocument:
    s = plan.summary
    return {
        "format_version": cast("Literal[2]", plan.format_version),  # as the plan says: load_plan refuses another
        "leadsync_version": plan.leadsync_version,
        "spec": _spec(plan.spec),
        "workspace": _workspace(plan.workspace),
        "fingerprint": plan.fingerprint,
        "managed": list(plan.managed),
        "policy": {
            "claim": plan.policy.claim.value,
            "unmanaged": plan.policy.unmanaged.value,
            "protect": list(plan.policy.protect),
        },
        "summary": {
            "add": s.add,
            "move": s.move,
            "assign": s.assign,
            "remove": s.remove,
            "unchanged": s.unchanged,
            "held": s.held,
            "unrouted": s.unrouted,
            "conflicts": s.conflicts,
            "unsupported": s.unsupported,
        },
        "calls": {
            "writes": plan.calls.writes,
            "lower_bound": plan.calls.lower_bound,
            "reads": plan.calls.reads,
            "by_endpoint": dict(plan.calls.by_endpoint),
            "seconds": plan.calls.seconds,
        },
        "operations": [_operation(op, _share) for op in plan.operations],
        "held": [
            {
                "key": h.key,
                "lead_id": h.lead_id,
                "destination": h.destination,
                "statuses": list(h.statuses),
                "change": h.change,
            }
            for h in plan.held
        ],
        "conflicts": [_conflict(c) for c in plan.conflicts],
        "unrouted": list(plan.unrouted),
        "unsupported": [{"key": u.key, "destination": u.destination, "reason": u.reason} for u in plan.unsupported],
        "warnings": [
            {"kind": w.kind, "key": w.key, "destination": w.destination, "lead_id": w.lead_id, "message": w.message}
            for w in plan.warnings
        ],
        "safety": {
            "safe": plan.safety.safe,
            "max_change_ratio": plan.safety.max_change_ratio,
            "min_destination_size": plan.safety.min_destination_size,
            "unsafe": list(plan.safety.unsafe),
        },
        "destinations": {
            d.name: {
                "before": d.before,
                "after": d.after,
                "add": d.add,
                "move_in": d.move_in,
                "move_out": d.move_out,
                "reassign": d.reassign,
                "remove": d.remove,
                "held": d.held,
                "changed": d.changed,
                "ratio": d.ratio,
                "unsafe": d.unsafe,
            }
            for d in plan.destinations
        },
        "owners": [_owner_load(o) for o in plan.owners],
    }


def dump_plan(plan: Plan) -> str:
    """Canonical JSON text of the plan: sorted keys, compact separators, non-ASCII kept, trailing newline."""
    # compact, because only the C encoder is fast enough for a million-lead plan and it has no indent
    with paused_gc():
        doc = plan_to_document(plan, _share=True)
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def plan_digest(plan: Plan) -> str:
    """sha256 (hex) of the canonical JSON text without `names`: the plan's own checksum, e.g. for a journal.

    The display names are left out: what the workspace calls a campaign or a member changes nothing the plan
    does, so a plan is the same plan whether or not it carries them (and after a rename)."""
    if plan.names:
        plan = replace(plan, names=Names())
    return hashlib.sha256(dump_plan(plan).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document, as shipped inside the package."""
    text = resources.files("leadsync").joinpath("schemas/plan.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_plan(source: str | bytes | os.PathLike[str]) -> Plan:
    """Read a plan document: a path (os.PathLike, e.g. pathlib.Path) is read from disk; str/bytes are JSON text.

    Raises PlanError naming the file and what is wrong: not JSON, another format_version, a document that
    does not match plan.schema.json, or one whose parts contradict each other (see `_checks.py`).
    """
    if isinstance(source, os.PathLike):
        name = os.fspath(source)
        try:
            raw: str | bytes = read_bounded(source)
        except OSError as exc:
            raise PlanError(f"{name}: cannot read the plan: {exc.strerror or exc}") from None
        except DocumentTooLarge as exc:
            raise PlanError(f"{name}: {exc}, the most a plan document may be") from None
    else:
        name, raw = "plan document", source
    with paused_gc():
        try:
            doc = loads_bounded(raw if isinstance(raw, str) else decode(raw))
        except JsonTooDeep as exc:
            raise PlanError(f"{name}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
            raise PlanError(f"{name}: not a plan document: invalid JSON{where}: {reason}") from None
        del raw
        if not isinstance(doc, dict) or "format_version" not in doc:
            raise PlanError(f"{name}: not a plan document: a JSON object with format_version is expected")
        version = doc["format_version"]
        if type(version) is not int or version != FORMAT_VERSION:  # 1.0 is not 1, nor is true
            raise PlanError(
                f"{name}: unsupported plan format_version {version!r}: this leadsync reads format_version "
                f"{FORMAT_VERSION} (an integer); make the plan again with this version"
            )
        _validate(doc, name)
        plan = plan_from_document(doc)
        problems = plan_problems(plan, declared_safe=doc["safety"]["safe"])
    if problems:
        shown = "; ".join(problems[:_SHOWN])
        more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise PlanError(f"{name}: inconsistent plan document: {shown}{more}")
    return plan


_SHOWN = 5  # problems named in one error


def _validate(doc: Document, name: str) -> None:
    """Reject, naming `name` and where, any document plan.schema.json (the definition's schema) rejects.

    jsonschema checks the envelope (everything but the big arrays, which are swapped for empty ones); the
    arrays get loops compiled from the same schema (`_shape.py`; a test holds the two in agreement).
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    envelope = {key: ([] if key in ARRAYS and isinstance(value, list) else value) for key, value in doc.items()}
    error = best_match(_validator(Draft202012Validator).iter_errors(envelope))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise PlanError(f"{name}: invalid plan document at {where}: {error.message}")
    for key in ARRAYS:
        problem = array_problem(key, doc[key])
        if problem is not None:
            where, message = problem
            raise PlanError(f"{name}: invalid plan document at {where}: {message}")


@lru_cache(maxsize=1)
def _validator(cls: Any) -> Any:
    return cls(plan_schema())


def _op_from(item: shape.Operation) -> Operation:
    if item["op"] == "move":
        return MoveOp(
            item["from"],
            item["to"],
            item["owner"],
            tuple(item["lead_ids"]),
            tuple(item["keys"]),
            tuple(item.get("previous_owners", ())),
        )
    if item["op"] == "add":
        leads = tuple(AddLead(x["key"], x["owner"], x["route"], x.get("fields", {})) for x in item["leads"])
        return AddOp(item["destination"], leads)
    if item["op"] == "assign":
        return AssignOp(
            item["owner"],
            item["destination"],
            tuple(item["lead_ids"]),
            tuple(item["keys"]),
            tuple(item.get("previous_owners", ())),
        )
    return RemoveOp(item["destination"], tuple(item["lead_ids"]), tuple(item["keys"]))


def plan_from_document(doc: Document) -> Plan:
    """The Plan a valid document describes (validate first: this trusts its shape)."""
    return _plan_from(cast("shape.PlanDocument", doc))


def _plan_from(doc: shape.PlanDocument) -> Plan:
    calls = doc["calls"]
    safety = doc["safety"]
    policy = doc["policy"]
    return Plan(
        format_version=doc["format_version"],
        leadsync_version=doc["leadsync_version"],
        spec=SpecRef(
            doc["spec"]["path"],
            doc["spec"]["sha256"],
            tuple((q["path"], q["sha256"]) for q in doc["spec"].get("queries", ())),
        ),
        workspace=_workspace_from(doc["workspace"]),
        fingerprint=doc["fingerprint"],
        managed=tuple(doc["managed"]),
        summary=Summary(**doc["summary"]),
        calls=Calls(
            calls["writes"], calls["lower_bound"], calls["reads"], dict(calls["by_endpoint"]), calls["seconds"]
        ),
        operations=tuple(_op_from(item) for item in doc["operations"]),
        held=tuple(
            Held(h["key"], h["lead_id"], h["destination"], tuple(h["statuses"]), h["change"]) for h in doc["held"]
        ),
        conflicts=tuple(
            Conflict(c["key"], ConflictReason(c["reason"]), c["detail"], c["subject"], tuple(c.get("refs", ())))
            for c in doc["conflicts"]
        ),
        unrouted=tuple(doc["unrouted"]),
        unsupported=tuple(Unsupported(u["key"], u["destination"], u["reason"]) for u in doc["unsupported"]),
        warnings=tuple(
            PlanWarning(w["kind"], w["key"], w["destination"], w["lead_id"], w["message"]) for w in doc["warnings"]
        ),
        safety=Safety(safety["max_change_ratio"], safety["min_destination_size"], tuple(safety["unsafe"])),
        destinations=tuple(DestinationStats(name=name, **stats) for name, stats in doc["destinations"].items()),
        owners=tuple(OwnerLoad(o["owner"], o["before"], o["after"], o.get("capacity")) for o in doc["owners"]),
        policy=PlanPolicy(Unmanaged(policy["unmanaged"]), Claim(policy["claim"]), tuple(policy["protect"])),
        pools=tuple(_pool_from(name, item) for name, item in sorted(doc.get("pools", {}).items())),
        names=_names_from(doc.get("names")),
        at=doc.get("at"),
    )


def _names_from(names: shape.DisplayNames | None) -> Names:
    if not names:
        return Names()
    return Names(dict(sorted(names["places"].items())), dict(sorted(names["members"].items())))


def _workspace_from(ws: shape.Workspace) -> Workspace:
    read = ws.get("read")
    return Workspace(ws["provider"], ws["id"], ws["api"], ReadCost(**read) if read is not None else None)


def _pool_from(name: str, item: shape.Pool) -> PoolLoad:
    members = tuple(PoolMember(m["owner"], m["weight"], m["before"], m["after"]) for m in item["members"])
    others = item["others"]
    return PoolLoad(name, tuple(item["routes"]), members, item["sticky"], others["before"], others["after"])
