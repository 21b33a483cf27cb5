"""Sonarly API v1 (audiences of an account group), as the sandbox plays it.

Every answer is the envelope {success, data, error, traceId}; an error is {code, message, details}. Audiences
being populated by a prospecting job (a seed's `populating: true`, or the `populating` fault for a few requests)
are left out of the audience list and answer 409 AUDIENCE_NOT_READY elsewhere. Pagination is
`data: {items, nextCursor, hasMore}` with an opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from leadsync.errors import ApiError

from ._clock import Clock
from ._faults import FaultInjector
from ._http import Call, Reply, Route
from ._ids import IdMaker
from ._model import audience_json, prospect_json
from ._store import Store

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # assumed: the reference documents `limit`, not its range
_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


class Sonarly:
    name = "sonarly"

    def __init__(self, store: Store, ids: IdMaker, faults: FaultInjector, clock: Clock) -> None:
        self.store, self.ids, self.faults, self.clock = store, ids, faults, clock
        self._requests = 0
        self._populating_until: dict[str, int] = {}  # audience id -> the request number it is ready again at
        base = "/v1/accounts/{accountGroupId}/audiences"
        self.routes = [
            # the vendor: "The account discovery endpoint works with any valid API key": a key, no scope
            Route("GET", "/v1/accounts", self.list_account_groups, None),
            Route("GET", base, self.list_audiences, "audiences:read"),
            Route("GET", base + "/{audienceId}", self.get_audience, "audiences:read"),
            Route("GET", base + "/{audienceId}/prospects", self.list_prospects, "prospects:read"),
            Route("POST", base + "/{audienceId}/move-leads", self.move_leads, "audiences:write", write=True),
        ]

    def _ok(self, data: Any) -> Reply:
        return Reply(
            200, {"success": True, "data": data, "error": None, "traceId": self.ids.object_id(self.clock.now())}
        )

    def error_body(self, error: ApiError, route: Route | None) -> Any:
        code = error.code if error.code and not error.code.startswith("FST_") else _CODES.get(error.status, "ERROR")
        if error.status == 400:
            code = "VALIDATION_ERROR"
        return {
            "success": False,
            "data": None,
            "error": {"code": code, "message": error.message, "details": error.details},
            "traceId": self.ids.object_id(self.clock.now()),
        }

    def settle(self, now: float) -> None:
        return None  # nothing in Sonarly's API runs in the background

    def next_due(self) -> float:
        return math.inf

    def before(self, route: Route) -> None:
        self._requests += 1
        event = self.faults.populating(route.template, route.write)
        if event is None:
            return
        ready = sorted(a["id"] for a in self.store.objects("audience") if not self._populating(a))
        if ready:
            fraction, requests = event
            self._populating_until[ready[int(fraction * len(ready))]] = self._requests + requests

    def dump(self) -> dict[str, Any]:
        return self.store.dump()

    # lookups -------------------------------------------------------------------------------------------------------

    def _populating(self, audience: dict[str, Any]) -> bool:
        return bool(audience.get("populating")) or self._populating_until.get(audience["id"], 0) > self._requests

    @staticmethod
    def _object_id(name: str, value: Any) -> str:
        if not isinstance(value, str) or not _OBJECT_ID.match(value):
            raise ApiError(400, f"{name} must be a valid ObjectId", details=f"{name}: {value!r}")
        return value

    def _group(self, call: Call) -> dict[str, Any]:
        group = self.store.get_object("account_group", self._object_id("accountGroupId", call.params["accountGroupId"]))
        if group is None:
            raise ApiError(404, "Account group not found")
        return group

    def _audience(self, group: dict[str, Any], audience_id: Any, name: str = "audienceId") -> dict[str, Any]:
        audience = self.store.get_object("audience", self._object_id(name, audience_id))
        if audience is None or audience["account_group_id"] != group["id"]:
            raise ApiError(404, "Audience not found", details=f"{name}: {audience_id}")
        return audience

    def _ready(self, audience: dict[str, Any]) -> None:
        if self._populating(audience):
            raise ApiError(
                409,
                "The audience is being populated by an active prospecting job",
                code="AUDIENCE_NOT_READY",
                details=f"audienceId: {audience['id']}",
            )

    def _count(self, audience_id: str) -> int:
        return int(
            self.store.db.execute("SELECT count(*) FROM prospects WHERE audience_id = ?", (audience_id,)).fetchone()[0]
        )

    # pagination ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _paging(call: Call) -> tuple[int, str | None]:
        raw_limit, cursor = call.arg("limit"), call.arg("cursor")
        limit = DEFAULT_LIMIT
        if raw_limit is not None:
            if not re.fullmatch(r"\d+", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
                raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}", details=f"limit: {raw_limit!r}")
            limit = int(raw_limit)
        after = None
        if cursor:
            try:
                after = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())["after"]
            except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
                raise ApiError(400, "Invalid cursor", details=f"cursor: {cursor!r}") from None
        return limit, after

    @staticmethod
    def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
        """`items` holds up to limit + 1 entries after the cursor: the extra one says there is more."""
        more = len(items) > limit
        page = items[:limit]
        cursor = (
            base64.urlsafe_b64encode(json.dumps({"after": page[-1]["id"]}).encode()).decode().rstrip("=")
            if more
            else None
        )
        return {"items": page, "nextCursor": cursor, "hasMore": more}

    # handlers ------------------------------------------------------------------------------------------------------

    def list_account_groups(self, call: Call) -> Reply:
        limit, after = self._paging(call)
        groups = sorted(
            ({"id": g["id"], "name": g["name"]} for g in self.store.objects("account_group")), key=lambda g: g["id"]
        )
        return self._ok(self._page([g for g in groups if after is None or g["id"] > after][: limit + 1], limit))

    def list_audiences(self, call: Call) -> Reply:
        group = self._group(call)
        limit, after = self._paging(call)
        audiences = sorted(
            (
                a
                for a in self.store.objects("audience")
                if a["account_group_id"] == group["id"] and not self._populating(a)
            ),
            key=lambda a: a["id"],
        )
        chosen = [a for a in audiences if after is None or a["id"] > after][: limit + 1]
        return self._ok(self._page([audience_json(a, self._count(a["id"])) for a in chosen], limit))

    def get_audience(self, call: Call) -> Reply:
        audience = self._audience(self._group(call), call.params["audienceId"])
        self._ready(audience)
        return self._ok(audience_json(audience, self._count(audience["id"])))

    def list_prospects(self, call: Call) -> Reply:
        audience = self._audience(self._group(call), call.params["audienceId"])
        self._ready(audience)
        limit, after = self._paging(call)
        rows = self.store.db.execute(
            "SELECT doc FROM prospects WHERE audience_id = ? AND id > ? ORDER BY id LIMIT ?",
            (audience["id"], after or "", limit + 1),
        )
        return self._ok(self._page([prospect_json(json.loads(doc)) for (doc,) in rows], limit))

    def move_leads(self, call: Call) -> Reply:
        group = self._group(call)
        source = self._audience(group, call.params["audienceId"])
        body = call.body
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be an object")
        lead_ids = body.get("leadIds")
        if "targetAudienceId" not in body:
            raise ApiError(400, "targetAudienceId is required", details="targetAudienceId")
        if not isinstance(lead_ids, list) or not lead_ids or not all(isinstance(i, str) for i in lead_ids):
            raise ApiError(400, "leadIds must be a non-empty array of strings", details="leadIds")  # minItems assumed
        target = self._audience(group, body["targetAudienceId"], "targetAudienceId")
        if target["id"] == source["id"]:  # documented constraint; its status (422) assumed
            raise ApiError(422, "Source and target audiences must be distinct", code="LEAD_MOVE_INVALID")
        self._ready(source)
        self._ready(target)
        wanted = list(dict.fromkeys(lead_ids))
        found = {
            pid
            for (pid,) in self.store.db.execute(
                "SELECT id FROM prospects WHERE audience_id = ? AND id IN (SELECT value FROM json_each(?))",
                (source["id"], json.dumps(wanted)),
            )
        }
        missing = [i for i in wanted if i not in found]
        if missing:  # assumed: all or nothing, as a validation failure (422) rather than a partial move
            raise ApiError(
                422,
                f"{len(missing)} lead(s) are not in the source audience",
                code="LEAD_MOVE_INVALID",
                details=", ".join(missing[:20]),
            )
        rows = self.store.db.execute(
            "SELECT id, doc FROM prospects WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(wanted),)
        )
        updates = [
            (json.dumps({**json.loads(doc), "audience_id": target["id"]}), target["id"], pid) for pid, doc in rows
        ]
        self.store.db.executemany("UPDATE prospects SET doc = ?, audience_id = ? WHERE id = ?", updates)
        return self._ok(
            {
                "sourceAudience": audience_json(source, self._count(source["id"])),
                "targetAudience": audience_json(target, self._count(target["id"])),
                "movedCount": len(updates),
            }
        )
