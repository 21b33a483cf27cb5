"""The listing filters of GET /campaigns, /lead-lists and /workspace-members: validated as Fastify validates the
vendor's documented query parameters (a bad enum value is a 400) and applied as the document describes them.

Before issue #13 every filter but `search` was ignored and none was validated (`status=AAA` listed everything).
"""

from __future__ import annotations

from typing import Any

import pytest
from sandbox.support import KEY, Api

from leadsync.providers.instantly import InstantlyProvider

ACTIVE, PAUSED, DRAFT = (
    "c1000000-0000-4000-8000-000000000001",
    "c1000000-0000-4000-8000-000000000002",
    ("c1000000-0000-4000-8000-000000000003"),
)
EARLY, MIDDLE, LATE = (f"11570000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
U1, U2, U3 = (f"7d0c6d2e-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))


def _seed() -> dict[str, Any]:
    return {
        "api_keys": [{"key": KEY, "scopes": ["all:all"]}],
        "members": [
            {"user_id": U1, "email": "alice@acme.test", "name": {"first": "Alice", "last": "Moss"}},
            {"user_id": U2, "email": "bob@acme.test", "accepted": False, "name": {"first": "Bob", "last": "Stone"}},
            {"user_id": U3, "email": "carol@other.test", "accepted": True},
        ],
        "campaigns": [
            {"id": ACTIVE, "name": "Enterprise Q4", "status": 1},
            {"id": PAUSED, "name": "SMB Outbound", "status": 2},
            {"id": DRAFT, "name": "Enterprise Draft", "status": 0},
        ],
        "lists": [
            # ids sort in the opposite order to creation: the cursor must follow the timestamps
            {"id": LATE, "name": "Early bird", "timestamp_created": "2025-01-01T00:00:00.000Z"},
            {
                "id": MIDDLE,
                "name": "Enriched",
                "timestamp_created": "2025-03-01T00:00:00.000Z",
                "has_enrichment_task": True,
            },
            {"id": EARLY, "name": "Late list", "timestamp_created": "2025-06-01T00:00:00.000Z"},
        ],
        "leads": [],
    }


@pytest.fixture
def api(sandboxes: Any) -> Api:
    return Api(sandboxes(_seed()))


def _ids(api: Api, path: str, **params: Any) -> list[str]:
    answer = api.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def _bad(api: Api, path: str, **params: Any) -> str:
    answer = api.get(path, params=params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    return str(body["message"])


# campaigns ---------------------------------------------------------------------------------------------------------


def test_campaigns_status_filter_applies(api: Api) -> None:
    assert _ids(api, "/api/v2/campaigns", status=2) == [PAUSED]
    assert _ids(api, "/api/v2/campaigns", status=-99) == []


def test_campaigns_exclude_status_filter_applies(api: Api) -> None:
    assert _ids(api, "/api/v2/campaigns", exclude_status=1) == [PAUSED, DRAFT]


def test_campaigns_status_and_search_combine(api: Api) -> None:
    assert _ids(api, "/api/v2/campaigns", search="enterprise", status=0) == [DRAFT]
    assert _ids(api, "/api/v2/campaigns", search="ENTERPRISE", exclude_status=0) == [ACTIVE]


def test_campaigns_status_not_a_number_is_400(api: Api) -> None:
    assert _bad(api, "/api/v2/campaigns", status="AAA") == "querystring/status must be number"


def test_campaigns_status_outside_the_enum_is_400(api: Api) -> None:
    message = _bad(api, "/api/v2/campaigns", status=5)
    assert message == "querystring/status must be equal to one of the allowed values"
    assert _bad(api, "/api/v2/campaigns", exclude_status="7").startswith("querystring/exclude_status ")


def test_campaigns_status_nan_and_infinity_are_400(api: Api) -> None:
    assert _bad(api, "/api/v2/campaigns", status="NaN") == "querystring/status must be number"
    assert _bad(api, "/api/v2/campaigns", status="Infinity").startswith("querystring/status ")
    assert _bad(api, "/api/v2/campaigns", status="") == "querystring/status must be number"


def test_campaigns_tag_and_agent_filters_match_nothing_the_sandbox_does_not_model(api: Api) -> None:
    assert _ids(api, "/api/v2/campaigns", tag_ids="f9cc070d-8dba-4341-b847-f083c358e460") == []
    assert _ids(api, "/api/v2/campaigns", ai_sales_agent_id="f9cc070d-8dba-4341-b847-f083c358e460") == []


def test_campaigns_limit_out_of_range_is_400(api: Api) -> None:
    assert _bad(api, "/api/v2/campaigns", limit=0) == "querystring/limit must be >= 1"
    assert _bad(api, "/api/v2/campaigns", limit="9223372036854775808") == "querystring/limit must be <= 100"


# lead lists --------------------------------------------------------------------------------------------------------


def test_lead_lists_are_ordered_by_creation(api: Api) -> None:
    assert _ids(api, "/api/v2/lead-lists") == [LATE, MIDDLE, EARLY]


def test_lead_lists_has_enrichment_task_filter_applies(api: Api) -> None:
    assert _ids(api, "/api/v2/lead-lists", has_enrichment_task="true") == [MIDDLE]
    assert _ids(api, "/api/v2/lead-lists", has_enrichment_task="false") == [LATE, EARLY]


def test_lead_lists_has_enrichment_task_not_boolean_is_400(api: Api) -> None:
    assert (
        _bad(api, "/api/v2/lead-lists", has_enrichment_task="yes") == "querystring/has_enrichment_task must be boolean"
    )


def test_lead_lists_starting_after_is_a_timestamp(api: Api) -> None:
    assert _ids(api, "/api/v2/lead-lists", starting_after="2025-02-01T00:00:00.000Z") == [MIDDLE, EARLY]
    assert _ids(api, "/api/v2/lead-lists", starting_after="2025-03-01T00:00:00.000Z") == [EARLY]
    assert _ids(api, "/api/v2/lead-lists", starting_after="1970-01-01T00:00:00.000Z") == [LATE, MIDDLE, EARLY]


def test_lead_lists_page_with_their_timestamp_cursor(api: Api) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = api.get("/api/v2/lead-lists", params=params).json()
        if not page["items"]:
            break
        seen += [item["id"] for item in page["items"]]
        assert page["next_starting_after"] == page["items"][-1]["timestamp_created"]
        params["starting_after"] = page["next_starting_after"]
    assert seen == [LATE, MIDDLE, EARLY]


def test_lead_lists_search_applies_with_the_other_filters(api: Api) -> None:
    assert _ids(api, "/api/v2/lead-lists", search="list", has_enrichment_task="false") == [EARLY]


# workspace members -------------------------------------------------------------------------------------------------


def test_members_accepted_filter_applies(api: Api) -> None:
    members = api.get("/api/v2/workspace-members", params={"accepted": "false"}).json()["items"]
    assert [m["user_id"] for m in members] == [U2]
    accepted = api.get("/api/v2/workspace-members", params={"accepted": "true"}).json()["items"]
    assert sorted(m["user_id"] for m in accepted) == [U1, U3]


def test_members_accepted_not_boolean_is_400(api: Api) -> None:
    assert _bad(api, "/api/v2/workspace-members", accepted="1") == "querystring/accepted must be boolean"


def test_members_search_by_name_or_email(api: Api) -> None:
    def users(search: str) -> list[str]:
        items = api.get("/api/v2/workspace-members", params={"search": search}).json()["items"]
        return sorted(m["user_id"] for m in items)

    assert users("stone") == [U2]  # the last name
    assert users("Alice") == [U1]  # the first name
    assert users("other.test") == [U3]  # the email
    assert users("bob stone") == [U2]  # the full name
    assert users("acme") == [U1, U2]


def test_lists_seeded_without_a_creation_time_page_to_the_end(sandboxes: Any) -> None:
    """The cursor is a creation time: seeded lists that carry none get distinct ones, or a page ending among
    lists of one shared instant would skip the rest (150 lists, pages of 100 and of 7)."""
    seed = _seed()
    seed["lists"] = [{"id": f"11570000-0000-4000-8000-{n:012d}", "name": f"List {n}"} for n in range(150)]
    running = sandboxes(seed)
    api = Api(running)
    for limit in (100, 7):
        seen: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            page = api.get("/api/v2/lead-lists", params=params).json()
            if not page["items"]:
                break
            seen += [item["id"] for item in page["items"]]
            params["starting_after"] = page["next_starting_after"]
        assert sorted(seen) == sorted(item["id"] for item in seed["lists"]) and len(set(seen)) == 150, limit
    provider = InstantlyProvider.connect(running.url, KEY, "$KEY")
    try:
        data = provider.read_data(destinations={})
    finally:
        provider.close()
    assert len(data["lists"]) == 150
