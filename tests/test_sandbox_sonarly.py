"""The sandbox's Sonarly API: the envelope, account groups, audiences (populating ones), prospects, move-leads.

Sonarly publishes no OpenAPI document in the reference; the schemas below are transcribed from its move-leads page
(AudienceLeadMoveSuccessResponse, ErrorResponse, ValidationErrorResponse) and the vendor facts of the reference
README (pagination `{items, nextCursor, hasMore}`). Every answer of these tests is checked against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest
from sandbox.support import SONARLY_SEED, sonarly_seed

from leadsync.sandbox import ManualClock, RunningSandbox

GROWTH, OTHER = "65a000000000000000000001", "65a000000000000000000002"
EU, US, TECH, BUILDING, ELSEWHERE = (f"65b00000000000000000000{i}" for i in range(1, 6))
KEY, READ_ONLY = "sk_live_sandbox_test", "sk_live_readonly"
#: what planning needs: no scope for account discovery, which the vendor grants any valid key
PLANNER_SCOPES = ["audiences:read", "audiences:write", "prospects:read"]
OBJECT_ID = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
AUDIENCE = {
    "type": "object",
    "required": ["id", "name", "type", "description", "folderId", "prospectCount", "createdAt"],
    "properties": {
        "id": OBJECT_ID,
        "name": {"type": "string"},
        "type": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "folderId": {"type": ["string", "null"]},
        "prospectCount": {"type": "integer"},
        "createdAt": {"type": "string"},
    },
}
PROSPECT = {
    "type": "object",
    "required": ["id", "firstName", "lastName", "name", "headline", "linkedinUrl", "publicIdentifier", "company"],
    "properties": {"id": OBJECT_ID, "company": {"type": ["object", "null"]}},
}
PAGE = {
    "type": "object",
    "required": ["items", "nextCursor", "hasMore"],
    "additionalProperties": False,
    "properties": {
        "items": {"type": "array"},
        "nextCursor": {"type": ["string", "null"]},
        "hasMore": {"type": "boolean"},
    },
}
ENVELOPE_OK = {
    "type": "object",
    "required": ["success", "data", "error", "traceId"],
    "additionalProperties": False,
    "properties": {"success": {"const": True}, "data": {}, "error": {"type": "null"}, "traceId": OBJECT_ID},
}
ENVELOPE_ERROR = {
    "type": "object",
    "required": ["success", "data", "error", "traceId"],
    "additionalProperties": False,
    "properties": {
        "success": {"const": False},
        "data": {"type": "null"},
        "traceId": OBJECT_ID,
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            # the page's example shows details as a string; the sandbox sends null when it has none (assumed)
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": ["string", "null"]},
            },
        },
    },
}
MOVE_SUCCESS = {
    "type": "object",
    "required": ["sourceAudience", "targetAudience", "movedCount"],
    "additionalProperties": False,
    "properties": {"sourceAudience": AUDIENCE, "targetAudience": AUDIENCE, "movedCount": {"type": "integer"}},
}


def _data_schema(method: str, path: str) -> dict[str, Any]:
    if method == "POST":
        return MOVE_SUCCESS
    if path.endswith("/prospects"):
        return {**PAGE, "properties": {**PAGE["properties"], "items": {"type": "array", "items": PROSPECT}}}
    if path.endswith("/audiences"):
        return {**PAGE, "properties": {**PAGE["properties"], "items": {"type": "array", "items": AUDIENCE}}}
    if "/audiences/" in path:
        return AUDIENCE
    return PAGE


def _check(response: httpx.Response) -> None:
    response.read()
    body = response.json()
    if response.status_code == 200:
        jsonschema.validate(body, ENVELOPE_OK)
        jsonschema.validate(body["data"], _data_schema(response.request.method, response.request.url.path))
    else:
        jsonschema.validate(body, ENVELOPE_ERROR)


def _api(sandbox: RunningSandbox, key: str | None = KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(
        base_url=sandbox.url + f"/v1/accounts/{GROWTH}",
        headers=headers,
        trust_env=False,
        event_hooks={"response": [_check]},
    )


@pytest.fixture
def sonarly(sandboxes: Callable[..., RunningSandbox]) -> RunningSandbox:
    return sandboxes(SONARLY_SEED)


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_seed_with_account_groups_serves_sonarly(sonarly: RunningSandbox) -> None:
    assert sonarly.vendor == "sonarly"
    groups = httpx.get(sonarly.url + "/v1/accounts", headers={"Authorization": f"Bearer {KEY}"}, trust_env=False).json()
    assert groups["success"] is True and groups["error"] is None
    assert [g["name"] for g in groups["data"]["items"]] == ["Growth Team", "Other Team"]


def test_the_audience_list_leaves_out_audiences_being_populated(sonarly: RunningSandbox) -> None:
    data = _api(sonarly).get("/audiences").json()["data"]
    assert [a["name"] for a in data["items"]] == ["Founders EU", "Founders US", "Tech Leaders"]
    assert (data["nextCursor"], data["hasMore"]) == (None, False)
    assert [a["prospectCount"] for a in data["items"]] == [12, 6, 4]


@pytest.mark.parametrize("suffix", ["", "/prospects"])
def test_an_audience_being_populated_answers_409_audience_not_ready(sonarly: RunningSandbox, suffix: str) -> None:
    assert _error(_api(sonarly).get(f"/audiences/{BUILDING}{suffix}")) == (409, "AUDIENCE_NOT_READY")


def test_move_leads_into_or_out_of_a_populating_audience_is_409(sonarly: RunningSandbox) -> None:
    api = _api(sonarly)
    one_in_eu = api.get(f"/audiences/{EU}/prospects", params={"limit": 1}).json()["data"]["items"][0]["id"]
    assert _error(
        api.post(f"/audiences/{EU}/move-leads", json={"targetAudienceId": BUILDING, "leadIds": [one_in_eu]})
    ) == (409, "AUDIENCE_NOT_READY")


def test_prospects_page_with_an_opaque_cursor(sonarly: RunningSandbox) -> None:
    api = _api(sonarly)
    seen, cursor, pages = [], None, 0
    while True:
        data = api.get(
            f"/audiences/{EU}/prospects", params={"limit": 5, **({"cursor": cursor} if cursor else {})}
        ).json()["data"]
        seen += [p["id"] for p in data["items"]]
        pages += 1
        if not data["hasMore"]:
            assert data["nextCursor"] is None
            break
        cursor = data["nextCursor"]
    assert pages == 3 and len(seen) == len(set(seen)) == 12 and seen == sorted(seen)
    first = api.get(f"/audiences/{EU}/prospects", params={"limit": 1}).json()["data"]["items"][0]
    assert first["name"] == f"{first['firstName']} {first['lastName']}" and first["linkedinUrl"].endswith(
        first["publicIdentifier"] + "/"
    )


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "!!not-a-cursor"}])
def test_bad_paging_is_a_validation_error(sonarly: RunningSandbox, params: dict[str, str]) -> None:
    assert _error(_api(sonarly).get(f"/audiences/{EU}/prospects", params=params)) == (400, "VALIDATION_ERROR")


def test_move_leads_moves_and_answers_both_audiences(sonarly: RunningSandbox) -> None:
    api = _api(sonarly)
    ids = [p["id"] for p in api.get(f"/audiences/{EU}/prospects", params={"limit": 3}).json()["data"]["items"]]
    data = api.post(f"/audiences/{EU}/move-leads", json={"targetAudienceId": US, "leadIds": ids + ids[:1]}).json()[
        "data"
    ]
    assert data["movedCount"] == 3
    assert (data["sourceAudience"]["prospectCount"], data["targetAudience"]["prospectCount"]) == (9, 9)
    assert {p["id"] for p in api.get(f"/audiences/{US}/prospects").json()["data"]["items"]} >= set(ids)
    state = sonarly.state()
    assert {p["id"]: p["audience_id"] for p in state["prospects"]}[ids[0]] == US


def test_move_leads_validation_failures_are_422(sonarly: RunningSandbox) -> None:
    api = _api(sonarly)
    in_us = api.get(f"/audiences/{US}/prospects", params={"limit": 1}).json()["data"]["items"][0]["id"]
    assert _error(api.post(f"/audiences/{EU}/move-leads", json={"targetAudienceId": EU, "leadIds": [in_us]}))[0] == 422
    not_in_source = api.post(f"/audiences/{EU}/move-leads", json={"targetAudienceId": TECH, "leadIds": [in_us]})
    assert not_in_source.status_code == 422 and in_us in not_in_source.json()["error"]["details"]
    assert api.get(f"/audiences/{US}").json()["data"]["prospectCount"] == 6  # all or nothing


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (f"/audiences/{EU}/move-leads", {"leadIds": ["65c000000000000000000001"]}, (400, "VALIDATION_ERROR")),
        (f"/audiences/{EU}/move-leads", {"targetAudienceId": US, "leadIds": []}, (400, "VALIDATION_ERROR")),
        (f"/audiences/{EU}/move-leads", {"targetAudienceId": "nope", "leadIds": ["x"]}, (400, "VALIDATION_ERROR")),
        (f"/audiences/{EU}/move-leads", {"targetAudienceId": ELSEWHERE, "leadIds": ["x"]}, (404, "NOT_FOUND")),
        (
            "/audiences/65b0000000000000000000ff/move-leads",
            {"targetAudienceId": US, "leadIds": ["x"]},
            (404, "NOT_FOUND"),
        ),
    ],
)
def test_move_leads_bad_requests(
    sonarly: RunningSandbox, path: str, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    assert _error(_api(sonarly).post(path, json=body)) == expected


def test_unknown_account_group_and_route_are_404(sonarly: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    assert _error(httpx.get(sonarly.url + f"/v1/accounts/{'f' * 24}/audiences", headers=headers, trust_env=False)) == (
        404,
        "NOT_FOUND",
    )
    assert _error(httpx.get(sonarly.url + "/v1/nothing", headers=headers, trust_env=False)) == (404, "NOT_FOUND")


def test_keys_and_scopes(sonarly: RunningSandbox) -> None:
    assert _error(_api(sonarly, key=None).get("/audiences")) == (401, "UNAUTHORIZED")
    reader = _api(sonarly, key=READ_ONLY)
    assert reader.get("/audiences").status_code == 200
    assert _error(reader.get(f"/audiences/{EU}/prospects")) == (403, "FORBIDDEN")  # needs prospects:read
    assert _error(reader.post(f"/audiences/{EU}/move-leads", json={"targetAudienceId": US, "leadIds": ["x"]})) == (
        403,
        "FORBIDDEN",
    )


def test_the_rate_limit_answers_in_the_envelope(sandboxes: Callable[..., RunningSandbox]) -> None:
    api = _api(sandboxes(SONARLY_SEED, clock=ManualClock(), rate_limit="2/s"))
    assert [api.get("/audiences").status_code for _ in range(2)] == [200, 200]
    assert _error(api.get("/audiences")) == (429, "RATE_LIMITED")


def test_the_populating_fault_makes_an_audience_populate_for_some_requests(
    sandboxes: Callable[..., RunningSandbox],
) -> None:
    api = _api(sandboxes(SONARLY_SEED, faults="seed=3,populating=1:count=1:requests=3"))
    names = [[a["name"] for a in api.get("/audiences").json()["data"]["items"]] for _ in range(4)]
    assert len(names[0]) == len(names[1]) == len(names[2]) == 2 and names[0] == names[2]  # one is populating...
    assert names[3] == ["Founders EU", "Founders US", "Tech Leaders"]  # ...for 3 requests, then ready again


def test_account_discovery_works_with_any_valid_key(sandboxes: Callable[..., RunningSandbox]) -> None:
    # the vendor: "The account discovery endpoint works with any valid API key" -- no scope of its own
    keys = [{"key": "sk_live_planner", "scopes": PLANNER_SCOPES}, {"key": "sk_live_none", "scopes": []}]
    running = sandboxes({**sonarly_seed(), "api_keys": keys})
    for key in ("sk_live_planner", "sk_live_none"):
        answer = httpx.get(running.url + "/v1/accounts", headers={"Authorization": f"Bearer {key}"}, trust_env=False)
        _check(answer)
        assert answer.status_code == 200, answer.text
        assert [group["id"] for group in answer.json()["data"]["items"]] == [GROWTH, OTHER]


@pytest.mark.parametrize("key", [None, "sk_live_no_such_key"])
def test_account_discovery_still_needs_a_valid_key(sonarly: RunningSandbox, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer = httpx.get(sonarly.url + "/v1/accounts", headers=headers, trust_env=False)
    _check(answer)
    assert _error(answer) == (401, "UNAUTHORIZED")
