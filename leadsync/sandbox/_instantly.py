"""Instantly API v2, as the sandbox plays it: routes, reads, single-lead writes and the vendor's error bodies.

The bulk writes (/leads/add, /leads/move, /leads/bulk-assign) and the background work they leave live in
_instantly_writes. What the vendor documents is emulated as documented, quirks included; where it is silent, the
choice made is said next to the code and in docs/sandbox.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from leadsync.errors import ApiError

from ._clock import Clock
from ._faults import FaultInjector
from ._http import Call, Reply, Route
from ._ids import IdMaker, iso
from ._instantly_schemas import (
    BULK_DELETE,
    CAMPAIGNS_QUERY,
    DELETE_LEAD,
    JOBS_QUERY,
    LIST_LEADS,
    LISTS_QUERY,
    MEMBERS_QUERY,
    MERGE_LEADS,
    PATCH_LEAD,
    lead_where,
)
from ._instantly_writes import LeadWrites
from ._model import campaign_json, lead_json, list_json, member_json
from ._store import Store
from ._validate import check_body, check_query

DEFAULT_LIMIT = 100  # assumed: the vendor documents the range (1..100), not the default
# what a merge may fill in on the destination: the lead's data, never its place, id, counters or timestamps
_MERGED_FIELDS = frozenset(name for name in PATCH_LEAD["properties"] if name != "custom_variables") | {"email"}


class Instantly(LeadWrites):
    name = "instantly"

    def __init__(self, store: Store, ids: IdMaker, faults: FaultInjector, clock: Clock) -> None:
        super().__init__(store, ids, faults, clock)
        self.routes = [
            Route("POST", "/api/v2/leads/list", self.list_leads, "leads:read"),
            Route("GET", "/api/v2/leads/{id}", self.get_lead, "leads:read"),
            Route("PATCH", "/api/v2/leads/{id}", self.patch_lead, "leads:update", write=True),
            Route("DELETE", "/api/v2/leads/{id}", self.delete_lead, "leads:delete", write=True),
            Route("DELETE", "/api/v2/leads", self.bulk_delete, "leads:delete", write=True),
            Route("POST", "/api/v2/leads/add", self.add_leads, "leads:create", write=True),
            Route("POST", "/api/v2/leads/merge", self.merge_leads, "leads:update", write=True),
            Route("POST", "/api/v2/leads/move", self.move_leads, "leads:update", write=True),
            # the vendor documents no scope for bulk-assign: assumed the one its sibling /leads/move needs
            Route("POST", "/api/v2/leads/bulk-assign", self.bulk_assign, "leads:update", write=True),
            Route("GET", "/api/v2/background-jobs", self.list_jobs, "background-jobs:read"),
            Route("GET", "/api/v2/background-jobs/{id}", self.get_job, "background-jobs:read"),
            Route("GET", "/api/v2/campaigns", self.list_campaigns, "campaigns:read"),
            Route("GET", "/api/v2/lead-lists", self.list_lists, "lead_lists:read"),
            Route("GET", "/api/v2/workspace-members", self.list_members, "workspace_members:read"),
        ]

    # the vendor's answers ------------------------------------------------------------------------------------------

    def error_body(self, error: ApiError, route: Route | None) -> Any:
        if route is not None and route.template == "/api/v2/leads/bulk-assign" and error.status == 400:
            return {"message": error.message}  # bulk-assign's 400 is documented as just {message}
        body: dict[str, Any] = {"statusCode": error.status}
        if error.code and error.code.startswith("FST_"):  # Fastify's own errors carry their code
            body["code"] = error.code
        body["error"] = HTTPStatus(error.status).phrase
        body["message"] = error.message
        return body

    def before(self, route: Route) -> None:
        return None

    def dump(self) -> dict[str, Any]:
        return self.store.dump()

    # leads ---------------------------------------------------------------------------------------------------------

    def list_leads(self, call: Call) -> Reply:
        body = check_body(LIST_LEADS, call.body)
        where, args = lead_where(body, ids_need_source=False)
        if "starting_after" in body:
            where += " AND id > ?"
            args.append(body["starting_after"])
        rows = self.store.db.execute(
            f"SELECT doc FROM leads WHERE {where} ORDER BY id LIMIT ?", (*args, body.get("limit", DEFAULT_LIMIT))
        )
        return Reply(200, self._page([lead_json(json.loads(doc), self.workspace_id) for (doc,) in rows]))

    @staticmethod
    def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
        # The vendor's quirk: a page carries a cursor whenever it has items, the last page too; only an empty page
        # says the listing is over (its docs: "stop on an empty page").
        out: dict[str, Any] = {"items": items}
        if items:
            out["next_starting_after"] = items[-1]["id"]
        return out

    def _lead(self, lead_id: str) -> dict[str, Any]:
        row = self.store.db.execute("SELECT doc FROM leads WHERE id = ?", (lead_id,)).fetchone()
        if row is None:
            raise ApiError(404, "Lead not found")
        doc: dict[str, Any] = json.loads(row[0])
        return doc

    def get_lead(self, call: Call) -> Reply:
        return Reply(200, lead_json(self._lead(call.params["id"]), self.workspace_id))

    def patch_lead(self, call: Call) -> Reply:
        doc = self._lead(call.params["id"])
        # campaign and list_id are not in the patch schema: they are dropped, as the vendor drops them (only
        # /leads/move moves a lead)
        body = check_body(PATCH_LEAD, call.body)
        custom = body.pop("custom_variables", None)
        if custom is not None:
            doc["payload"] = {**(doc.get("payload") or {}), **custom}
        if "lt_interest_status" in body and body["lt_interest_status"] != doc.get("lt_interest_status"):
            doc["timestamp_last_interest_change"] = iso(call.now)
        doc.update(body)
        doc["timestamp_updated"] = iso(call.now)
        self.store.update_leads([doc])
        return Reply(200, lead_json(doc, self.workspace_id))

    def delete_lead(self, call: Call) -> Reply:
        check_body(DELETE_LEAD, call.body)  # the document allows no body or `null`; a filter here deletes nothing else
        doc = self._lead(call.params["id"])
        self.store.db.execute("DELETE FROM leads WHERE id = ?", (doc["id"],))
        return Reply(200, lead_json(doc, self.workspace_id))

    def merge_leads(self, call: Call) -> Reply:
        """Merge `lead_id` into `destination_lead_id` and answer the destination (the document: "Merge two leads").

        Assumed, the document being silent on what a merge keeps: the destination's own values win, a field it
        lacks (absent or null) is taken from the source, custom variables are united (the destination's win), and
        the source lead is deleted. Merging a lead with itself is a 400.
        """
        body = check_body(MERGE_LEADS, call.body)
        if body["lead_id"] == body["destination_lead_id"]:
            raise ApiError(400, "lead_id and destination_lead_id must be different leads")
        source, target = self._lead(body["lead_id"]), self._lead(body["destination_lead_id"])
        for name, value in source.items():
            if name in _MERGED_FIELDS and target.get(name) is None and value is not None:
                target[name] = value
        payload = {**(source.get("payload") or {}), **(target.get("payload") or {})}
        if payload:
            target["payload"] = payload
        target["timestamp_updated"] = iso(call.now)
        self.store.update_leads([target])
        self.store.db.execute("DELETE FROM leads WHERE id = ?", (source["id"],))
        return Reply(200, lead_json(target, self.workspace_id))

    def bulk_delete(self, call: Call) -> Reply:
        body = check_body(BULK_DELETE, call.body)
        self._require("campaign", body.get("campaign_id"))
        self._require("list", body.get("list_id"))
        # As documented: without `ids` every lead of the campaign or list (matching `status`) is deleted.
        filters = {k: body[k] for k in ("ids", "status", "list_id") if k in body}
        if "campaign_id" in body:
            filters["campaign"] = body["campaign_id"]
        where, args = lead_where(filters, ids_need_source=False)
        limit = f" ORDER BY id LIMIT {int(body['limit'])}" if "limit" in body else ""
        deleted = self.store.db.execute(
            f"DELETE FROM leads WHERE id IN (SELECT id FROM leads WHERE {where}{limit})", args
        )
        return Reply(200, {"count": deleted.rowcount})

    # background jobs -----------------------------------------------------------------------------------------------

    def get_job(self, call: Call) -> Reply:
        return Reply(200, self.poll_job(call.params["id"], call.now))

    def list_jobs(self, call: Call) -> Reply:
        q = check_query(JOBS_QUERY, call.query)
        jobs = self.job_views(call.now)
        wanted = {
            "id": set(q["ids"].split(",")) if "ids" in q else None,
            "type": {q["type"]} if "type" in q else None,
            "status": set(q["status"].split(",")) if "status" in q else None,
            "entity_type": {q["entity_type"]} if "entity_type" in q else None,
            "entity_id": {q["entity_id"]} if "entity_id" in q else None,
        }
        jobs = [j for j in jobs if all(v is None or j.get(k) in v for k, v in wanted.items())]
        return Reply(200, self._listing(jobs, q))

    # campaigns, lists, members -------------------------------------------------------------------------------------

    def _objects(self, kind: str, render: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
        return [render(doc, self.workspace_id) for doc in self.store.objects(kind)]

    def _listing(self, items: list[dict[str, Any]], q: dict[str, Any]) -> dict[str, Any]:
        items = sorted(items, key=lambda item: item["id"])
        if "starting_after" in q:
            items = [item for item in items if item["id"] > q["starting_after"]]
        return self._page(items[: q.get("limit", DEFAULT_LIMIT)])

    def list_campaigns(self, call: Call) -> Reply:
        q = check_query(CAMPAIGNS_QUERY, call.query)
        items = [c for c in self._objects("campaign", campaign_json) if _has(q, c.get("name"))]
        if "status" in q:
            items = [c for c in items if c.get("status") == q["status"]]
        if "exclude_status" in q:
            items = [c for c in items if c.get("status") != q["exclude_status"]]
        # tags and AI sales agents are not emulated: no campaign has one, so such a filter matches none
        if q.get("tag_ids") or q.get("ai_sales_agent_id"):
            items = []
        return Reply(200, self._listing(items, q))

    def list_lists(self, call: Call) -> Reply:
        q = check_query(LISTS_QUERY, call.query)
        items = [i for i in self._objects("list", list_json) if _has(q, i.get("name"))]
        if "has_enrichment_task" in q:
            items = [i for i in items if bool(i.get("has_enrichment_task")) == q["has_enrichment_task"]]
        # the vendor's cursor for lead lists is a creation time: ordered by it (then id), `starting_after` keeps
        # the lists created after it, and each page's cursor is its last list's creation time. Lists created at
        # the same instant as a page's last one are therefore skipped, as the vendor's timestamp cursor implies.
        items.sort(key=lambda i: (_instant(i.get("timestamp_created")) or _EPOCH, i["id"]))
        after = q.get("starting_after")
        if after is not None:
            since = _instant(after)
            if since is not None:
                items = [i for i in items if (_instant(i.get("timestamp_created")) or _EPOCH) > since]
            else:  # assumed: a cursor that is not a time (an id, as the other listings take) follows the order
                ids = [i["id"] for i in items]
                items = items[ids.index(after) + 1 :] if after in ids else [i for i in items if i["id"] > after]
        page = items[: q.get("limit", DEFAULT_LIMIT)]
        out: dict[str, Any] = {"items": page}
        if page:  # as every listing here: a non-empty page carries a cursor, the last one too
            out["next_starting_after"] = page[-1].get("timestamp_created") or page[-1]["id"]
        return Reply(200, out)

    def list_members(self, call: Call) -> Reply:
        q = check_query(MEMBERS_QUERY, call.query)
        items = [m for m in self._objects("member", member_json) if _has(q, *_member_words(m))]
        if "accepted" in q:
            items = [m for m in items if bool(m.get("accepted")) == q["accepted"]]
        return Reply(200, self._listing(items, q))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(value: Any) -> datetime | None:
    """A date-time string as an aware datetime (naive ones read as UTC), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _has(q: dict[str, Any], *texts: Any) -> bool:
    """Whether `search` (absent or empty: anything) is a case-insensitive substring of one of the texts."""
    wanted = str(q.get("search") or "").lower()
    return not wanted or any(wanted in str(text or "").lower() for text in texts)


def _member_words(member: dict[str, Any]) -> tuple[str, ...]:
    """What a member search looks in: "name or email" (the document), the full name included."""
    raw = member.get("name")
    name = raw if isinstance(raw, dict) else {}
    first, last = str(name.get("first") or ""), str(name.get("last") or "")
    return (str(member.get("email") or ""), first, last, f"{first} {last}".strip(), str(member.get("nickname") or ""))
