"""The vendors' objects as the sandbox keeps them and as it answers them.

A stored record (a "doc") holds what a seed gave or an API call set; everything else the vendor answers
(organization, company_domain, counters, a campaign's schedule) is derived when answering. So a state dump is the
seed format, a seed round-trips through the sandbox unchanged, and a derived value never goes stale.
"""

from __future__ import annotations

from typing import Any

from ._ids import SEED_TIME, derived_uuid, seeded_time

_STR = {"type": ["string", "null"]}
_NUM = {"type": ["number", "null"]}
_TIME = {"type": "string"}

#: the Lead properties of the vendor's OpenAPI document that a seed or the API may set (organization is derived)
LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "minLength": 1},
    "timestamp_created": _TIME,
    "timestamp_updated": _TIME,
    "campaign": _STR,
    "list_id": _STR,
    "status": {"enum": [1, 2, 3, -1, -2, -3]},
    "email": _STR,
    "personalization": _STR,
    "website": _STR,
    "last_name": _STR,
    "first_name": _STR,
    "company_name": _STR,
    "job_title": _STR,
    "phone": _STR,
    "email_open_count": {"type": "number"},
    "email_reply_count": {"type": "number"},
    "email_click_count": {"type": "number"},
    "company_domain": {"type": "string"},
    "status_summary": {"type": "object"},
    "payload": {"type": ["object", "null"]},
    "status_summary_subseq": {"type": "object"},
    "last_step_from": _STR,
    "last_step_id": _STR,
    "last_step_timestamp_executed": _STR,
    "email_opened_step": _NUM,
    "email_opened_variant": _NUM,
    "email_replied_step": _NUM,
    "email_replied_variant": _NUM,
    "email_clicked_step": _NUM,
    "email_clicked_variant": _NUM,
    "lt_interest_status": {"enum": [1, 2, 3, 4, 0, -1, -2, -3, -4]},
    "subsequence_id": _STR,
    "verification_status": {"enum": [1, -1, -2, -3, -4, 11, 12]},
    "pl_value_lead": _STR,
    "timestamp_added_subsequence": _STR,
    "timestamp_last_contact": _STR,
    "timestamp_last_open": _STR,
    "timestamp_last_reply": _STR,
    "timestamp_last_interest_change": _STR,
    "timestamp_last_click": _STR,
    "enrichment_status": {"enum": [1, -1, 11, -2]},
    "last_contacted_from": _STR,
    "uploaded_by_user": _STR,
    "upload_method": {"enum": ["manual", "api", "website-visitor"]},
    "assigned_to": _STR,
    "is_website_visitor": {"type": ["boolean", "null"]},
    "timestamp_last_touch": _STR,
    "esp_code": {"enum": [0, 1, 2, 3, 8, 9, 10, 12, 13, 999, 1000]},
    "esg_code": {"enum": [0, 1, 2, 3, 4]},
}
#: the fields a lead may be added or patched with (the vendor's request bodies), besides custom_variables
LEAD_INPUT_FIELDS = (
    "email",
    "personalization",
    "website",
    "last_name",
    "first_name",
    "company_name",
    "job_title",
    "phone",
    "lt_interest_status",
    "pl_value_lead",
    "assigned_to",
)
CAMPAIGN_FIELDS: dict[str, dict[str, Any]] = {
    "status": {"enum": [-99, -1, -2, 0, 1, 2, 3, 4]},
    "owned_by": _STR,
    "timestamp_created": _TIME,
    "timestamp_updated": _TIME,
    "pl_value": _NUM,
    "is_evergreen": {"type": ["boolean", "null"]},
    "daily_limit": _NUM,
    "campaign_schedule": {"type": "object"},
}
LIST_FIELDS: dict[str, dict[str, Any]] = {
    "owned_by": _STR,
    "has_enrichment_task": {"type": ["boolean", "null"]},
    "timestamp_created": _TIME,
}
MEMBER_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "minLength": 1},
    "role": {"enum": ["owner", "admin", "editor", "view", "client"]},
    "accepted": {"type": "boolean"},
    "timestamp_created": _TIME,
    "nickname": _STR,
    "name": {"type": "object", "properties": {"first": {"type": "string"}, "last": {"type": "string"}}},
}
_SCHEDULE = {
    "schedules": [
        {
            "name": "Weekdays",
            "timing": {"from": "09:00", "to": "17:00"},
            "days": {"1": True, "2": True, "3": True, "4": True, "5": True},
            "timezone": "America/Chicago",
        }
    ]
}


def email_domain(email: str | None) -> str:
    return email.rpartition("@")[2].strip().lower() if email and "@" in email else ""


def lead_json(doc: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    created = doc.get("timestamp_created", SEED_TIME)
    out: dict[str, Any] = {
        "id": doc["id"],
        "timestamp_created": created,
        "timestamp_updated": created,
        "organization": workspace_id,
        "campaign": None,
        "list_id": None,
        "status": 1,
        "email": None,
        "email_open_count": 0,
        "email_reply_count": 0,
        "email_click_count": 0,
        "company_domain": email_domain(doc.get("email")),
        "status_summary": {},
        "assigned_to": None,
        "upload_method": "manual",
    }
    out.update(doc)
    return out


def campaign_json(doc: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    created = doc.get("timestamp_created", SEED_TIME)
    out: dict[str, Any] = {
        "id": doc["id"],
        "name": doc["name"],
        "status": 1,
        "campaign_schedule": _SCHEDULE,
        "timestamp_created": created,
        "timestamp_updated": created,
        "organization": workspace_id,
        "owned_by": None,
    }
    out.update(doc)
    return out


def list_json(doc: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": doc["id"],
        "organization_id": workspace_id,
        "name": doc["name"],
        "timestamp_created": seeded_time(doc["id"]),
        "has_enrichment_task": False,
        "owned_by": None,
    }
    out.update(doc)
    return out


def member_id(doc: dict[str, Any]) -> str:
    """The membership id (not the user id): given by the seed, or derived from the user id so that it is stable."""
    return str(doc.get("id") or derived_uuid("member", doc["user_id"]))


def member_json(doc: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": member_id(doc),
        "email": doc["email"],
        "user_id": doc["user_id"],
        "role": "editor",
        "timestamp_created": SEED_TIME,
        "workspace_id": workspace_id,
        "accepted": True,
    }
    out.update(doc)
    out["id"] = member_id(doc)
    return out


# Sonarly ---------------------------------------------------------------------------------------------------------

AUDIENCE_FIELDS: dict[str, dict[str, Any]] = {
    "type": {"type": "string"},
    "populating": {"type": "boolean"},
    "description": _STR,
    "folderId": _STR,
    "createdAt": {"type": "string"},
}


def audience_json(doc: dict[str, Any], prospect_count: int) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": doc.get("type", "linkedin_search"),
        "description": doc.get("description"),
        "folderId": doc.get("folderId"),
        "prospectCount": prospect_count,
        "createdAt": doc.get("createdAt", SEED_TIME),
    }


def prospect_json(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "audience_id"}
    if "name" not in out:
        out["name"] = " ".join(p for p in (doc.get("firstName"), doc.get("lastName")) if p) or None
    out.setdefault("headline", None)
    out.setdefault("company", None)
    return out
