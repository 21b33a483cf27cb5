"""Instantly's bulk writes and the background work they leave behind.

- /leads/add creates at once and reports every counter of the vendor's response.
- /leads/move answers a background job; the move happens when the job completes: after `job_ms` (a faults
  setting) or at its `job_polls`-th poll, whichever comes first, unless a fault makes it fail or stall. The leads
  are selected when the job runs, not when it is asked for, as a queue-based worker would.
- /leads/bulk-assign answers 202 with no job id and is applied `assign_ms` later.
Work that is due is "settled" at the start of every request (and before a state dump): nothing can observe the
sandbox between requests, so this is indistinguishable from a worker thread, and deterministic. On the wall clock
the server also settles it as soon as it falls due, between requests (see App), so that a poll does not carry a
backlog of jobs: the vendor's workers do not wait for someone to ask.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from leadsync.errors import ApiError

from ._clock import Clock
from ._faults import FaultInjector
from ._http import Call, Reply
from ._ids import IdMaker, iso
from ._instantly_schemas import ADD_LEADS, BULK_ASSIGN, MOVE_LEADS, lead_where
from ._model import LEAD_INPUT_FIELDS
from ._store import Store, unwritable
from ._validate import check_body, is_email

log = logging.getLogger("leadsync.sandbox")
T = TypeVar("T")
PLAN_UPLOADS = 250_000  # assumed size of the paid plan behind remaining_in_plan
NEVER = 1e18  # the due time of a job that stalls
#: SQLite's largest integer: a LIMIT past it is a "datatype mismatch", so a larger limit is clamped to it
MAX_LIMIT = 2**63 - 1


def sql_limit(limit: Any) -> str:
    """A LIMIT clause for a move's or bulk-assign's `limit`: none for 0 (or absent); clamped to what SQLite holds.

    The document bounds neither (move: a number; bulk-assign: an integer >= 0), so a limit past the workspace's
    size selects everything. Assumed for a move: a negative limit counts as its absolute value and a fraction is
    rounded down, as MongoDB's cursor.limit() reads them (SQLite would read a negative one as "no limit")."""
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not math.isfinite(limit):
        return ""  # validated before it is queued; a stored request from an older sandbox cannot wedge this one
    count = min(abs(int(limit)), MAX_LIMIT)
    return f" LIMIT {count}" if count else ""


ADD_COUNTERS = (
    "in_blocklist",
    "duplicated_leads",
    "skipped_count",
    "invalid_email_count",
    "incomplete_count",
    "duplicate_email_count",
)


def _add_verdict(
    lead: dict[str, Any], to_campaign: bool, seen: set[str], blocked: set[str], in_target: set[str], skippable: set[str]
) -> str | None:
    """The counter a lead of /leads/add goes to instead of being created, or None to create it. The checks run in
    this order (assumed; the counters are the vendor's): no email (a campaign needs one; a list needs an email or a
    name), bad email, repeated in the payload, blocklisted (email or domain), already in this campaign or list,
    skipped by a skip_if_* flag."""
    email = (lead.get("email") or "").strip()
    if not email and (to_campaign or not (lead.get("first_name") or lead.get("last_name"))):
        return "invalid_email_count" if to_campaign else "incomplete_count"
    if email and not is_email(email):
        return "invalid_email_count"
    norm = email.lower()
    if not norm:
        return None
    if norm in seen:
        return "duplicate_email_count"
    seen.add(norm)
    if norm in blocked or norm.rpartition("@")[2] in blocked:
        return "in_blocklist"
    if norm in in_target:
        return "duplicated_leads"
    return "skipped_count" if norm in skippable else None


def _norm(email: Any) -> str:
    """An email as the leads table's email_norm column holds it ("" for none)."""
    return email.strip().lower() if isinstance(email, str) else ""


class LeadWrites:
    def __init__(self, store: Store, ids: IdMaker, faults: FaultInjector, clock: Clock) -> None:
        self.store, self.ids, self.faults, self.clock = store, ids, faults, clock
        self.workspace_id = store.meta("workspace_id") or ""
        self._next_due = self._earliest_due()

    def _require(self, kind: str, ident: str | None) -> None:
        """404 for an unknown campaign or list named as a source or target (assumed: the docs are silent)."""
        if ident is not None and self.store.get_object(kind, ident) is None:
            raise ApiError(404, f"{'Campaign' if kind == 'campaign' else 'List'} not found")

    # /leads/add ----------------------------------------------------------------------------------------------------

    def add_leads(self, call: Call) -> Reply:
        body = check_body(ADD_LEADS, call.body)
        campaign_id, list_id = body.get("campaign_id"), body.get("list_id")
        if bool(campaign_id) == bool(list_id):  # documented: one of them, "but not both"; message assumed
            raise ApiError(400, "body must have either campaign_id or list_id, but not both")
        self._require("campaign" if campaign_id else "list", campaign_id or list_id)
        key, target = ("campaign", campaign_id) if campaign_id else ("list_id", list_id)
        in_target, skippable = self._known_emails(body, key, target)
        blocked = {b.strip().lower() for b in json.loads(self.store.meta("extras") or "{}").get("blocklist", [])}
        owner = body.get("assigned_to")
        if campaign_id and not owner:  # documented: without assigned_to, a campaign's leads go to its owner
            owner = (self.store.get_object("campaign", campaign_id) or {}).get("owned_by")
        counts = dict.fromkeys(ADD_COUNTERS, 0)
        seen: set[str] = set()
        docs: list[dict[str, Any]] = []
        created: list[dict[str, Any]] = []
        for index, lead in enumerate(body["leads"]):
            counter = _add_verdict(lead, bool(campaign_id), seen, blocked, in_target, skippable)
            if counter is not None:
                counts[counter] += 1
                continue
            doc = self._new_lead(lead, key, target, owner, call.now)
            docs.append(doc)
            created.append(
                {"index": index} | {k: doc.get(k) for k in ("id", "email", "first_name", "last_name", "phone")}
            )
        self.store.insert_leads(docs)
        total = self.store.db.execute("SELECT count(*) FROM leads").fetchone()[0]
        summary = {"status": "success", "total_sent": len(body["leads"]), "leads_uploaded": len(docs)}
        return Reply(
            200,
            summary
            | counts
            | {
                "blocklist_used": body.get("blocklist_id"),
                "remaining_in_plan": max(0, PLAN_UPLOADS - total)
                if campaign_id
                else None,  # documented: campaigns only
                "created_leads": created,
            },
        )

    def _known_emails(self, body: dict[str, Any], key: str, target: str) -> tuple[set[str], set[str]]:
        """Of the payload's emails, those already in the target, and those the skip_if_* flags skip (in_workspace
        overrides the others). Only the payload's emails are looked up (the email index), never the workspace."""
        db = self.store.db
        emails = json.dumps(sorted({_norm(lead.get("email")) for lead in body["leads"]} - {""}))
        mine = "email_norm IN (SELECT value FROM json_each(?))"
        in_target = {
            e for (e,) in db.execute(f"SELECT email_norm FROM leads WHERE {mine} AND +{key} = ?", (emails, target))
        }
        if body.get("skip_if_in_workspace"):
            where = "1"
        else:
            places = [
                c for flag, c in (("skip_if_in_campaign", "campaign"), ("skip_if_in_list", "list_id")) if body.get(flag)
            ]
            where = " OR ".join(f"{column} IS NOT NULL" for column in places) or "0"
        if where == "0":
            return in_target, set()
        skippable = {e for (e,) in db.execute(f"SELECT email_norm FROM leads WHERE {mine} AND ({where})", (emails,))}
        return in_target, skippable

    def _new_lead(self, lead: dict[str, Any], key: str, target: str, owner: str | None, now: float) -> dict[str, Any]:
        stamp = iso(now)
        doc: dict[str, Any] = {
            "id": self.ids.uuid7(now),
            "timestamp_created": stamp,
            "timestamp_updated": stamp,
            key: target,
            "status": 1,
            "upload_method": "api",
        }
        for field in LEAD_INPUT_FIELDS:
            if lead.get(field) is not None:
                doc[field] = lead[field].strip() if field == "email" else lead[field]
        if "assigned_to" not in doc and owner:
            doc["assigned_to"] = owner
        if lead.get("custom_variables"):
            doc["payload"] = dict(lead["custom_variables"])
        return doc

    # /leads/move and its job ---------------------------------------------------------------------------------------

    def move_leads(self, call: Call) -> Reply:
        body = check_body(MOVE_LEADS, call.body)
        to_campaign, to_list = body.get("to_campaign_id"), body.get("to_list_id")
        if bool(to_campaign) == bool(to_list):  # message assumed: the docs do not list a 400 for move
            raise ApiError(400, "body must have either to_campaign_id or to_list_id")
        for kind, ident in (
            ("campaign", to_campaign),
            ("list", to_list),
            ("campaign", body.get("campaign")),
            ("list", body.get("list_id")),
        ):
            self._require(kind, ident)
        fate = self.faults.job_fate()
        spec = self.faults.spec
        due = NEVER if fate == "stall" else call.now + spec.job_ms / 1000
        stamp = iso(call.now)
        doc = {
            "id": self.ids.object_id(call.now),
            "workspace_id": self.workspace_id,
            "user_id": call.key.get("user_id"),
            "type": "move-leads",
            "entity_id": to_campaign or to_list,
            "entity_type": "campaign" if to_campaign else "list",
            "data": {},
            "progress": 0,
            "status": "pending",
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.store.db.execute(
            "INSERT INTO jobs (id, doc, request, fate, created, due, need_polls) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                doc["id"],
                json.dumps(doc),
                json.dumps(body),
                fate,
                call.now,
                due,
                0 if fate == "stall" else spec.job_polls,
            ),
        )
        self._next_due = min(self._next_due, due)
        return Reply(200, doc)

    def poll_job(self, job_id: str, now: float) -> dict[str, Any]:
        row = self.store.db.execute("SELECT seq FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise ApiError(404, "Background job not found")
        self.store.db.execute("UPDATE jobs SET polls = polls + 1 WHERE id = ?", (job_id,))
        return self._view(self._job_row(job_id), now, complete=True)

    def job_views(self, now: float) -> list[dict[str, Any]]:
        ids = [i for (i,) in self.store.db.execute("SELECT id FROM jobs ORDER BY seq")]
        return [self._view(self._job_row(i), now, complete=False) for i in ids]

    def _job_row(self, job_id: str) -> dict[str, Any]:
        cursor = self.store.db.execute(
            "SELECT id, doc, request, fate, created, due, polls, need_polls, done FROM jobs WHERE id = ?", (job_id,)
        )
        return dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))

    def _view(self, row: dict[str, Any], now: float, *, complete: bool) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(row["doc"])
        if row["done"] or row["fate"] == "stall":
            return doc
        span = row["due"] - row["created"]
        done = (now - row["created"]) / span if span > 0 else 1.0
        if row["need_polls"]:
            done = max(done, row["polls"] / row["need_polls"])
        if done >= 1.0 and complete:
            return self._complete(row, now)
        if done >= 0.2:  # the first fifth of its time a job waits in the queue
            doc.update(
                status="in-progress", progress=min(99, math.floor(done * 100)), updated_at=iso(min(now, row["due"]))
            )
        return doc

    def _complete(self, row: dict[str, Any], now: float) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(row["doc"])
        if row["fate"] == "fail":  # assumed: a failed job moves nothing and says why in its data
            doc.update(status="failed", data={"error": "The job failed while moving leads"})
        else:
            moved = self._isolated(lambda: self._move(json.loads(row["request"]), now), f"move job {row['id']}")
            if moved is None:  # the move raised: the job fails alone, its partial writes undone
                doc.update(status="failed", data={"error": "The job failed while moving leads"})
            else:
                doc.update(status="success", progress=100, data=moved)
        doc["updated_at"] = iso(now)
        self.store.db.execute("UPDATE jobs SET doc = ?, done = 1 WHERE id = ?", (json.dumps(doc), row["id"]))
        return doc

    def _move(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        key, target = (
            ("campaign", body["to_campaign_id"]) if body.get("to_campaign_id") else ("list_id", body["to_list_id"])
        )
        where, args = lead_where(body, ids_need_source=True)
        limit = sql_limit(body.get("limit"))
        copy = bool(body.get("copy_leads"))
        db = self.store.db
        # the records themselves are read (and rewritten in Python) only for a copy; a move rewrites them in SQL
        rows = db.execute(
            f"SELECT id, json_extract(doc, '$.email'){', doc' if copy else ''} FROM leads"
            f" WHERE {where} AND coalesce({key}, '') != ? ORDER BY id{limit}",
            (*args, target),
        ).fetchall()
        # the duplicate checks only ever ask about the selected leads' emails: only those are looked up
        selected = json.dumps(sorted({_norm(row[1]) for row in rows} - {""}))
        mine = "email_norm IN (SELECT value FROM json_each(?))"
        in_target: set[str] = set()
        if body.get("check_duplicates"):
            in_target = {
                e
                for (e,) in db.execute(f"SELECT email_norm FROM leads WHERE {mine} AND +{key} = ?", (selected, target))
            }
        in_campaigns: dict[str, set[str]] = {}
        if body.get("check_duplicates_in_campaigns"):
            for email, lead_id in db.execute(
                f"SELECT email_norm, id FROM leads WHERE {mine} AND +campaign IS NOT NULL", (selected,)
            ):
                in_campaigns.setdefault(email, set()).add(lead_id)
        moved: list[str] = []
        copies: list[dict[str, Any]] = []
        emails: list[str] = []
        duplicates, stamp, owner = 0, iso(now), body.get("assigned_to")
        for row in rows:
            lead_id, email = row[0], row[1]
            norm = _norm(email)
            if norm and (
                (body.get("check_duplicates") and norm in in_target) or in_campaigns.get(norm, set()) - {lead_id}
            ):
                duplicates += 1
                continue
            if copy:
                new = json.loads(row[2])
                new.update(id=self.ids.uuid7(now), timestamp_created=stamp)
                new.pop("campaign", None)
                new.pop("list_id", None)
                new[key] = target
                if owner:
                    new["assigned_to"] = owner
                if body.get("reset_interest_status"):
                    new.pop("lt_interest_status", None)
                new["timestamp_updated"] = stamp
                copies.append(new)
            moved.append(lead_id)
            in_target.add(norm)
            if is_email(email):
                emails.append(email)
        if copy:
            self.store.insert_leads(copies)
        elif moved:
            # as a record rewritten in Python would be: the old place removed, the new one (then the owner, the
            # update time) set, a key that was there keeping its position and a new one coming last
            removed = ["$.campaign", "$.list_id"] + (
                ["$.lt_interest_status"] if body.get("reset_interest_status") else []
            )
            sets: list[Any] = [f"$.{key}", target] + (["$.assigned_to", owner] if owner else [])
            sets += ["$.timestamp_updated", stamp]
            columns = [target if key == "campaign" else None, target if key == "list_id" else None]
            columns += [owner] if owner else []
            db.execute(
                f"UPDATE leads SET campaign = ?, list_id = ?{', assigned_to = ?' if owner else ''},"
                f" doc = json_set(json_remove(doc, {', '.join('?' * len(removed))}), {', '.join('?' * len(sets))})"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (*columns, *removed, *sets, json.dumps(moved)),
            )
        return {
            "moved_leads": len(moved),
            "duplicated_leads": duplicates,
            "total_leads": len(rows),
            "moved_lead_emails": emails[:10_000],
        }

    # /leads/bulk-assign --------------------------------------------------------------------------------------------

    def bulk_assign(self, call: Call) -> Reply:
        body = check_body(BULK_ASSIGN, call.body)
        members = {m["user_id"] for m in self.store.objects("member")}
        if any(user not in members for user in body["organization_user_ids"]):
            raise ApiError(400, "Invalid ID on `organization_user_ids` field")  # the vendor's documented example
        if not self.faults.assign_lost():  # an `assign_lost` fault: accepted, and then never applied
            due = call.now + self.faults.spec.assign_ms / 1000
            self.store.db.execute("INSERT INTO assigns (request, due) VALUES (?, ?)", (json.dumps(body), due))
            self._next_due = min(self._next_due, due)
        return Reply(202, {"status": "accepted", "message": "Your request will be processed in a background job"})

    def _assign(self, body: dict[str, Any], now: float) -> None:
        owners = body["organization_user_ids"]
        filters = {k: v for k, v in body.items() if k not in ("organization_user_ids", "assigned_to")}
        where, args = lead_where(filters, ids_need_source=False)
        if body.get("assigned_to"):  # assumed: selects the leads of that current owner
            where += " AND assigned_to = ?"
            args.append(body["assigned_to"])
        limit = sql_limit(body.get("limit"))
        db = self.store.db
        ids = [lead_id for (lead_id,) in db.execute(f"SELECT id FROM leads WHERE {where} ORDER BY id{limit}", args)]
        stamp = iso(now)
        for index, owner in enumerate(owners):  # several owners: round-robin over the selection (undocumented)
            mine = ids[index :: len(owners)]
            if mine:  # the records rewritten in SQL, as Python would: assigned_to and timestamp_updated set
                db.execute(
                    "UPDATE leads SET assigned_to = ?,"
                    " doc = json_set(doc, '$.assigned_to', ?, '$.timestamp_updated', ?)"
                    " WHERE id IN (SELECT value FROM json_each(?))",
                    (owner, owner, stamp, json.dumps(mine)),
                )

    # settling ------------------------------------------------------------------------------------------------------

    def _isolated(self, work: Callable[[], T], what: str) -> T | None:
        """`work` in a savepoint: its result, or None (its writes rolled back, the error logged) if it raised.

        Queued work runs at the start of whatever request comes next: one that raised every time would fail
        every later request with it (issue #13). So it fails alone, as a vendor's worker fails one job."""
        db = self.store.db
        db.execute("SAVEPOINT queued_work")
        try:
            result = work()
        except Exception as error:
            if not (isinstance(error, sqlite3.Error) and unwritable(error)):
                db.execute("ROLLBACK TO queued_work")
                db.execute("RELEASE queued_work")
                log.exception("sandbox: %s failed", what)
                return None
            raise  # a full disk fails the request (507), as any write does, and the work waits for the next one
        db.execute("RELEASE queued_work")
        return result

    def _earliest_due(self) -> float:
        row = self.store.db.execute(
            "SELECT min(due) FROM (SELECT due FROM jobs WHERE done = 0 UNION ALL SELECT due FROM assigns)"
        ).fetchone()
        return row[0] if row and row[0] is not None else math.inf

    def next_due(self) -> float:
        """When the earliest background work falls due (math.inf: none is waiting)."""
        return self._next_due

    def settle(self, now: float) -> None:
        if now < self._next_due:  # the common case costs one comparison
            return
        with self.store.transaction():
            db = self.store.db
            work = [
                (due, 0, seq, "job", job_id)
                for seq, job_id, due in db.execute("SELECT seq, id, due FROM jobs WHERE done = 0 AND due <= ?", (now,))
            ]
            work += [
                (due, 1, seq, "assign", request)
                for seq, request, due in db.execute("SELECT seq, request, due FROM assigns WHERE due <= ?", (now,))
            ]
            for _due, _order, seq, kind, item in sorted(work):
                if kind == "job":
                    self._complete(self._job_row(item), now)
                else:  # a bulk-assign that raises is dropped (its 202 promised nothing), never retried
                    run = lambda: self._assign(json.loads(item), now)  # noqa: B023, E731 (run at once, in this turn)
                    self._isolated(run, f"bulk-assign {seq}")
                    db.execute("DELETE FROM assigns WHERE seq = ?", (seq,))
            self._next_due = self._earliest_due()
