"""Instantly API v2, as the sandbox plays it: routes, reads, single-lead writes and the vendor's error bodies.

The bulk writes (/leads/add, /leads/move, /leads/bulk-assign) and the background work they leave live in
_instantly_writes. What the vendor documents is emulated as documented, quirks included; where it is silent, the
choice made is said next to the code and in docs/sandbox.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from ._clock import Clock
from ._faults import FaultInjector
from ._http import ApiError, Call, Reply, Route
from ._ids import IdMaker, iso
from ._instantly_schemas import BULK_DELETE, JOBS_QUERY, LIST_LEADS, PAGE_QUERY, PATCH_LEAD, lead_where
from ._instantly_writes import LeadWrites
from ._model import campaign_json, lead_json, list_json, member_json
from ._store import Store
from ._validate import check_body, check_query

DEFAULT_LIMIT = 100  # assumed: the vendor documents the range (1..100), not the default


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
        doc = self._lead(call.params["id"])
        self.store.db.execute("DELETE FROM leads WHERE id = ?", (doc["id"],))
        return Reply(200, lead_json(doc, self.workspace_id))

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

    def _objects(self, call: Call, kind: str, render: Callable[..., dict[str, Any]], searched: str) -> Reply:
        q = check_query(PAGE_QUERY, call.query)
        items = [render(doc, self.workspace_id) for doc in self.store.objects(kind)]
        if q.get("search"):
            items = [i for i in items if q["search"].lower() in str(i.get(searched) or "").lower()]
        return Reply(200, self._listing(items, q))

    def _listing(self, items: list[dict[str, Any]], q: dict[str, Any]) -> dict[str, Any]:
        items = sorted(items, key=lambda item: item["id"])
        if "starting_after" in q:
            items = [item for item in items if item["id"] > q["starting_after"]]
        return self._page(items[: q.get("limit", DEFAULT_LIMIT)])

    def list_campaigns(self, call: Call) -> Reply:
        return self._objects(call, "campaign", campaign_json, "name")

    def list_lists(self, call: Call) -> Reply:
        return self._objects(call, "list", list_json, "name")

    def list_members(self, call: Call) -> Reply:
        return self._objects(call, "member", member_json, "email")
