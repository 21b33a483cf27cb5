"""Instantly's request schemas, as its OpenAPI document states them, and the lead filters of its bulk endpoints.

Written out here rather than read from the document: the sandbox plays the vendor, and the conformance tests check
these against the project's trimmed copy of the document (so neither can drift silently). Keyword order follows
Ajv's (type, required, properties), so the first error found is the one the vendor reports.
"""

from __future__ import annotations

import json
from typing import Any

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
STRS = {"type": "array", "items": STR}
EMAILS = {"type": "array", "items": {"type": "string", "format": "email"}}
FILTERS = [
    "FILTER_VAL_CONTACTED",
    "FILTER_VAL_NOT_CONTACTED",
    "FILTER_VAL_COMPLETED",
    "FILTER_VAL_UNSUBSCRIBED",
    "FILTER_VAL_ACTIVE",
    "FILTER_LEAD_INTERESTED",
    "FILTER_LEAD_NOT_INTERESTED",
    "FILTER_LEAD_MEETING_BOOKED",
    "FILTER_LEAD_MEETING_COMPLETED",
    "FILTER_LEAD_CLOSED",
    "FILTER_LEAD_OUT_OF_OFFICE",
    "FILTER_LEAD_WRONG_PERSON",
    "FILTER_LEAD_LOST",
    "FILTER_LEAD_NO_SHOW",
    "FILTER_LEAD_CUSTOM_LABEL_POSITIVE",
    "FILTER_LEAD_CUSTOM_LABEL_NEGATIVE",
    "FILTER_VAL_BOUNCED",
    "FILTER_VAL_SKIPPED",
    "FILTER_VAL_RISKY",
    "FILTER_VAL_INVALID",
    "FILTER_VAL_VALID",
    "FILTER_VAL_IN_SUBSEQUENCE",
    "FILTER_VAL_OPENED_NO_REPLY",
    "FILTER_VAL_COMPLETED_NO_REPLY",
    "FILTER_VAL_NO_OPENS",
    "FILTER_VAL_REPLIED",
    "FILTER_VAL_LINK_CLICKED",
]
INTEREST = {"type": "number", "enum": [1, 2, 3, 4, 0, -1, -2, -3, -4]}
CUSTOM = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
_COUNT = {
    "type": "object",
    "properties": {"condition": {"type": "string", "enum": ["more", "less", "equal"]}, "count": {"type": "number"}},
}
_STATUS = {
    "type": "object",
    "properties": {"status": {"type": "number"}, "condition": {"type": "string", "enum": ["is", "is-not"]}},
}
QUERIES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["actionType", "values"],
        "properties": {
            "actionType": {
                "type": "string",
                "enum": ["reply", "email-open", "last-contacted", "link-click", "lead-status", "lead-status-change"],
            },
            "values": {
                "type": "object",
                "properties": {
                    "occurrence-days": {"type": "number"},
                    "occurrence-count": _COUNT,
                    "lead-status": _STATUS,
                },
            },
        },
    },
}
ESG = {"type": "string", "enum": ["0", "1", "2", "3", "4", "all", "none"]}
LEAD_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{
            name: NSTR
            for name in (
                "email",
                "personalization",
                "website",
                "last_name",
                "first_name",
                "company_name",
                "job_title",
                "phone",
            )
        },
        "lt_interest_status": INTEREST,
        "pl_value_lead": NSTR,
        "assigned_to": NSTR,
        "custom_variables": CUSTOM,
    },
}

LIST_LEADS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "search": STR,
        "filter": STR,
        "campaign": STR,
        "list_id": STR,
        "in_campaign": BOOL,
        "in_list": BOOL,
        "ids": STRS,
        "queries": QUERIES,
        "excluded_ids": STRS,
        "contacts": EMAILS,
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "starting_after": STR,
        "organization_user_ids": STRS,
        "smart_view_id": STR,
        "is_website_visitor": BOOL,
        "distinct_contacts": BOOL,
        "enrichment_status": {"type": "number", "enum": [1, -1, 11, -2]},
        "esg_code": ESG,
    },
}
ADD_LEADS: dict[str, Any] = {
    "type": "object",
    "required": ["leads"],
    "properties": {
        "campaign_id": STR,
        "list_id": STR,
        "leads": {"type": "array", "minItems": 1, "maxItems": 1000, "items": LEAD_INPUT},
        "blocklist_id": NSTR,
        "assigned_to": STR,
        "verify_leads_on_import": BOOL,
        "skip_if_in_workspace": BOOL,
        "skip_if_in_campaign": BOOL,
        "skip_if_in_list": BOOL,
    },
}
MOVE_LEADS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "search": STR,
        "filter": STR,
        "campaign": STR,
        "list_id": STR,
        "in_campaign": BOOL,
        "in_list": BOOL,
        "ids": STRS,
        "queries": QUERIES,
        "excluded_ids": STRS,
        "contacts": EMAILS,
        "to_campaign_id": STR,
        "to_list_id": STR,
        "ignore_resource_filter_clauses": BOOL,
        "check_duplicates_in_campaigns": BOOL,
        "skip_leads_in_verification": BOOL,
        "limit": {"type": "number"},
        "assigned_to": STR,
        "esp_code": {"type": "number", "enum": [0, 1, 2, 3, 8, 9, 10, 12, 13, 999, 1000]},
        "esg_code": ESG,
        "copy_leads": BOOL,
        "check_duplicates": BOOL,
        "reset_interest_status": BOOL,
    },
}
BULK_ASSIGN: dict[str, Any] = {
    "type": "object",
    "required": ["organization_user_ids"],
    "properties": {
        "search": STR,
        "filter": {"type": "string", "enum": FILTERS},
        "campaign": STR,
        "list_id": STR,
        "in_campaign": BOOL,
        "in_list": BOOL,
        "organization_user_ids": {"type": "array", "items": STR, "minItems": 1},
        "smart_view_id": STR,
        "ids": STRS,
        "limit": {"type": "integer", "minimum": 0},
        "queries": QUERIES,
        "assigned_to": STR,
        "has_clause": BOOL,
    },
}
BULK_DELETE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "campaign_id": STR,
        "list_id": STR,
        "status": {"type": "number", "enum": [1, 2, 3, -1, -2, -3]},
        "ids": STRS,
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    },
    "anyOf": [{"required": ["campaign_id"]}, {"required": ["list_id"]}],
}
PATCH_LEAD: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "properties": {k: v for k, v in LEAD_INPUT["properties"].items() if k != "email"},
}
# the document's DELETE /leads/{id} body is `{"type": "null"}`: none, or a JSON null (Fastify refuses anything else)
DELETE_LEAD: dict[str, Any] = {"type": "null"}
MERGE_LEADS: dict[str, Any] = {
    "type": "object",
    "properties": {"lead_id": STR, "destination_lead_id": STR},
    "required": ["lead_id", "destination_lead_id"],
}
PAGE_QUERY: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "starting_after": STR,
    "search": STR,
}
CAMPAIGN_STATUS = {"type": "number", "enum": [-99, -1, -2, 0, 1, 2, 3, 4]}
CAMPAIGNS_QUERY: dict[str, dict[str, Any]] = {
    **PAGE_QUERY,
    "tag_ids": STR,
    "ai_sales_agent_id": STR,
    "status": CAMPAIGN_STATUS,
    "exclude_status": CAMPAIGN_STATUS,
}
#: for lead lists `starting_after` is "the starting after timestamp to filter lead lists by" (the document)
LISTS_QUERY: dict[str, dict[str, Any]] = {**PAGE_QUERY, "has_enrichment_task": BOOL}
MEMBERS_QUERY: dict[str, dict[str, Any]] = {**PAGE_QUERY, "accepted": BOOL}
JOB_TYPES = [
    "move-leads",
    "import-leads",
    "export-leads",
    "update-warmup-accounts",
    "rename-variable",
    "broadcast-ai-generate",
    "broadcast-website-scrape",
    "import-subscribers-from-crm",
    "resync-subscriber-crm-tags",
]
ENTITY_TYPES = ["list", "campaign", "workspace", "broadcast", "subscriber-group-sync", "subscriber-group"]
JOBS_QUERY: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "starting_after": STR,
    "ids": STR,
    "type": {"type": "string", "enum": JOB_TYPES},
    "entity_type": {"type": "string", "enum": ENTITY_TYPES},
    "entity_id": STR,
    "status": STR,
    "sort_column": {"type": "string", "enum": ["created_at", "updated_at"]},
    "sort_order": {"type": "string", "enum": ["asc", "desc"]},
}

# The lead filters of /leads/list, /leads/move and /leads/bulk-assign as SQL over the leads table. A filter the
# sandbox does not emulate (opens, clicks, verification, smart views) matches no lead: a sandbox that moved too
# much would be worse than one that moves too little.
_J = "json_extract(doc, '$.{}')"
FILTER_SQL = {
    "FILTER_VAL_ACTIVE": "status = 1",
    "FILTER_VAL_COMPLETED": "status = 3",
    "FILTER_VAL_BOUNCED": "status = -1",
    "FILTER_VAL_UNSUBSCRIBED": "status = -2",
    "FILTER_VAL_SKIPPED": "status = -3",
    "FILTER_VAL_CONTACTED": f"{_J.format('timestamp_last_contact')} IS NOT NULL",
    "FILTER_VAL_NOT_CONTACTED": f"{_J.format('timestamp_last_contact')} IS NULL",
    "FILTER_VAL_REPLIED": f"coalesce({_J.format('email_reply_count')}, 0) > 0",
    "FILTER_LEAD_OUT_OF_OFFICE": f"{_J.format('lt_interest_status')} = 0",
    "FILTER_LEAD_INTERESTED": f"{_J.format('lt_interest_status')} = 1",
    "FILTER_LEAD_MEETING_BOOKED": f"{_J.format('lt_interest_status')} = 2",
    "FILTER_LEAD_MEETING_COMPLETED": f"{_J.format('lt_interest_status')} = 3",
    "FILTER_LEAD_CLOSED": f"{_J.format('lt_interest_status')} = 4",
    "FILTER_LEAD_NOT_INTERESTED": f"{_J.format('lt_interest_status')} = -1",
    "FILTER_LEAD_WRONG_PERSON": f"{_J.format('lt_interest_status')} = -2",
    "FILTER_LEAD_LOST": f"{_J.format('lt_interest_status')} = -3",
    "FILTER_LEAD_NO_SHOW": f"{_J.format('lt_interest_status')} = -4",
}


def lead_where(body: dict[str, Any], *, ids_need_source: bool) -> tuple[str, list[Any]]:
    """A WHERE clause selecting the leads a bulk request's filters select.

    `ids_need_source`: /leads/move applies `ids` only within a source given by `campaign` or `list_id`; without
    one the ids are ignored and the other filters alone select (the vendor's documented behaviour). An empty array
    is treated like an absent one (assumed: the documentation is silent, and JavaScript APIs commonly test length).
    """
    clauses: list[str] = []
    args: list[Any] = []

    def members(column: str, values: list[Any], negate: bool = False) -> None:
        clauses.append(f"{column} {'NOT ' if negate else ''}IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(values))

    campaign, list_id = body.get("campaign"), body.get("list_id")
    if campaign is not None:
        clauses.append("campaign = ?")
        args.append(campaign)
    if list_id is not None:
        clauses.append("list_id = ?")
        args.append(list_id)
    if body.get("ids") and (not ids_need_source or campaign is not None or list_id is not None):
        members("id", body["ids"])
    if body.get("excluded_ids"):
        members("id", body["excluded_ids"], negate=True)
    if body.get("contacts"):
        members("email_norm", [c.strip().lower() for c in body["contacts"]])
    if body.get("organization_user_ids"):
        members("assigned_to", body["organization_user_ids"])
    for flag, column in (("in_campaign", "campaign"), ("in_list", "list_id")):
        if flag in body:
            clauses.append(f"{column} IS {'NOT ' if body[flag] else ''}NULL")
    if body.get("search"):
        name = f"lower(coalesce({_J.format('first_name')}, '') || ' ' || coalesce({_J.format('last_name')}, ''))"
        # instr, not LIKE: a search is a plain substring (no wildcards), and SQLite refuses a LIKE pattern past
        # 50,000 bytes ("pattern too complex"), which a 5 MB search string would be
        clauses.append(f"(instr(email_norm, ?) > 0 OR instr({name}, ?) > 0)")
        args += [body["search"].lower()] * 2
    if body.get("filter"):
        clauses.append(FILTER_SQL.get(body["filter"], "0"))
    if "status" in body:
        clauses.append("status = ?")
        args.append(body["status"])
    return (" AND ".join(clauses) or "1"), args
