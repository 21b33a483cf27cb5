"""The plan document: Plan <-> JSON data <-> canonical text, validated against plan.schema.json on the way in."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from typing import Any

from leadsync.errors import PlanError
from leadsync.plan._model import (
    AddLead,
    AddOp,
    AssignOp,
    Calls,
    DestinationStats,
    Held,
    MoveOp,
    Operation,
    OwnerLoad,
    PlanWarning,
    RemoveOp,
    Safety,
    SpecRef,
    Summary,
    Unsupported,
    Workspace,
)
from leadsync.plan._plan import FORMAT_VERSION, Plan
from leadsync.state import Conflict, ConflictReason

Document = dict[str, Any]


def _operation(op: Operation) -> Document:
    if isinstance(op, MoveOp):
        return {
            "op": "move",
            "from": op.source,
            "to": op.target,
            "owner": op.owner,
            "lead_ids": list(op.lead_ids),
            "keys": list(op.keys),
        }
    if isinstance(op, AddOp):
        leads = []
        for lead in op.leads:
            item: Document = {"key": lead.key, "owner": lead.owner, "route": lead.route}
            if lead.fields:
                item["fields"] = dict(lead.fields)
            leads.append(item)
        return {"op": "add", "destination": op.destination, "leads": leads}
    if isinstance(op, AssignOp):
        return {
            "op": "assign",
            "owner": op.owner,
            "destination": op.destination,
            "lead_ids": list(op.lead_ids),
            "keys": list(op.keys),
        }
    return {"op": "remove", "destination": op.destination, "lead_ids": list(op.lead_ids), "keys": list(op.keys)}


def plan_to_document(plan: Plan) -> Document:
    """The plan as JSON data, exactly the shape plan.schema.json describes."""
    s = plan.summary
    return {
        "format_version": plan.format_version,
        "leadsync_version": plan.leadsync_version,
        "spec": {"path": plan.spec.path, "sha256": plan.spec.sha256},
        "workspace": {"provider": plan.workspace.provider, "id": plan.workspace.id, "api": plan.workspace.api},
        "fingerprint": plan.fingerprint,
        "managed": list(plan.managed),
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
        "operations": [_operation(op) for op in plan.operations],
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
        "conflicts": [
            {"key": c.key, "reason": c.reason.value, "detail": c.detail, "subject": c.subject} for c in plan.conflicts
        ],
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
        "owners": [{"owner": o.owner, "before": o.before, "after": o.after} for o in plan.owners],
    }


def dump_plan(plan: Plan) -> str:
    """Canonical JSON text of the plan: sorted keys, compact separators, non-ASCII kept, trailing newline."""
    # compact, because only the C encoder is fast enough for a million-lead plan and it has no indent
    return (
        json.dumps(plan_to_document(plan), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        + "\n"
    )


def plan_digest(plan: Plan) -> str:
    """sha256 (hex) of the canonical JSON text: the plan's own checksum, e.g. for a journal."""
    return hashlib.sha256(dump_plan(plan).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document, as shipped inside the package."""
    text = resources.files("leadsync").joinpath("schemas/plan.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_plan(source: str | bytes | os.PathLike[str]) -> Plan:
    """Read a plan document: a path (os.PathLike, e.g. pathlib.Path) is read from disk; str/bytes are JSON text.

    Raises PlanError naming the file and what is wrong: not JSON, another format_version, or a document
    that does not match plan.schema.json.
    """
    if isinstance(source, os.PathLike):
        name = os.fspath(source)
        try:
            with open(source, "rb") as handle:
                raw: str | bytes = handle.read()
        except OSError as exc:
            raise PlanError(f"{name}: cannot read the plan: {exc.strerror or exc}") from None
    else:
        name, raw = "plan document", source
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise PlanError(f"{name}: not a plan document: invalid JSON{where}: {reason}") from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise PlanError(f"{name}: not a plan document: a JSON object with format_version is expected")
    version = doc["format_version"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise PlanError(
            f"{name}: unsupported plan format_version {version!r}: this leadsync reads format_version "
            f"{FORMAT_VERSION}; make the plan again with this version"
        )
    _validate(doc, name)
    return plan_from_document(doc)


def _validate(doc: Document, name: str) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(plan_schema()).iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise PlanError(f"{name}: invalid plan document at {where}: {error.message}")


def _op_from(item: Document) -> Operation:
    kind = item["op"]
    if kind == "move":
        return MoveOp(item["from"], item["to"], item["owner"], tuple(item["lead_ids"]), tuple(item["keys"]))
    if kind == "add":
        leads = tuple(AddLead(x["key"], x["owner"], x["route"], x.get("fields", {})) for x in item["leads"])
        return AddOp(item["destination"], leads)
    if kind == "assign":
        return AssignOp(item["owner"], item["destination"], tuple(item["lead_ids"]), tuple(item["keys"]))
    return RemoveOp(item["destination"], tuple(item["lead_ids"]), tuple(item["keys"]))


def plan_from_document(doc: Document) -> Plan:
    """The Plan a valid document describes (validate first: this trusts its shape)."""
    for item in doc["operations"]:
        if item["op"] != "add" and len(item["lead_ids"]) != len(item["keys"]):
            raise PlanError(f"invalid plan document: a {item['op']} operation needs as many keys as lead_ids")
    calls = doc["calls"]
    safety = doc["safety"]
    return Plan(
        format_version=doc["format_version"],
        leadsync_version=doc["leadsync_version"],
        spec=SpecRef(**doc["spec"]),
        workspace=Workspace(**doc["workspace"]),
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
            Conflict(c["key"], ConflictReason(c["reason"]), c["detail"], c["subject"]) for c in doc["conflicts"]
        ),
        unrouted=tuple(doc["unrouted"]),
        unsupported=tuple(Unsupported(u["key"], u["destination"], u["reason"]) for u in doc["unsupported"]),
        warnings=tuple(
            PlanWarning(w["kind"], w["key"], w["destination"], w["lead_id"], w["message"]) for w in doc["warnings"]
        ),
        safety=Safety(safety["max_change_ratio"], safety["min_destination_size"], tuple(safety["unsafe"])),
        destinations=tuple(DestinationStats(name=name, **stats) for name, stats in doc["destinations"].items()),
        owners=tuple(OwnerLoad(o["owner"], o["before"], o["after"]) for o in doc["owners"]),
    )
