"""The sandbox's Instantly API: auth, validation, pagination, add, move jobs, bulk-assign, deletes, the rate limit.

Each documented vendor quirk has a test named after it. Time is a ManualClock wherever the outcome depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sandbox.support import (
    ALICE,
    BOB,
    CAROL,
    COLD,
    ENTERPRISE,
    NO_SCOPE_KEY,
    NURTURE,
    QUICKSTART_SEED,
    READ_KEY,
    SMB,
    WEBINAR,
    Api,
    instantly_seed,
    lead_id,
)

from leadsync.errors import SandboxError
from leadsync.sandbox import ManualClock, RateLimit, RunningSandbox

Sandboxes = Callable[..., RunningSandbox]


@pytest.fixture
def api(sandboxes: Sandboxes) -> Api:
    return Api(sandboxes())


def _run_job(api: Api, clock: ManualClock, body: dict[str, Any]) -> dict[str, Any]:
    job = api.post("/api/v2/leads/move", json=body).json()
    clock.advance(10)
    done: dict[str, Any] = api.get(f"/api/v2/background-jobs/{job['id']}").json()
    assert done["status"] == "success", done
    return done


# auth and scopes ---------------------------------------------------------------------------------------------------


def test_missing_and_wrong_keys_are_401(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes()
    missing = Api(sandbox, key=None).post("/api/v2/leads/list", json={})
    assert (missing.status_code, missing.json()) == (
        401,
        {"statusCode": 401, "error": "Unauthorized", "message": "Missing Authorization header"},
    )
    assert Api(sandbox, key="nope").get("/api/v2/campaigns").status_code == 401


def test_scopes_are_checked_per_operation(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes()
    reader = Api(sandbox, key=READ_KEY)
    assert reader.post("/api/v2/leads/list", json={}).status_code == 200
    refused = reader.post("/api/v2/leads/add", json={"campaign_id": SMB, "leads": [{"email": "a@b.test"}]})
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert Api(sandbox, key=NO_SCOPE_KEY).get("/api/v2/campaigns").status_code == 403


def test_quickstart_seed_key_with_all_star_scope_can_do_everything(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes(QUICKSTART_SEED)
    api = Api(sandbox, key=sandbox.api_key)
    assert sandbox.api_key == "sandbox-quickstart-key"
    assert len(api.all_leads()) == 25
    assert (
        api.post(
            "/api/v2/leads/bulk-assign",
            json={"organization_user_ids": ["7d0c6d2e-0000-4000-8000-00000000a11c"], "ids": ["x"]},
        ).status_code
        == 202
    )


# validation --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v2/leads/list", {"limit": 0}, "body/limit must be >= 1"),
        ("/api/v2/leads/list", {"limit": 101}, "body/limit must be <= 100"),
        ("/api/v2/leads/list", {"ids": "x"}, "body/ids must be array"),
        ("/api/v2/leads/list", {"contacts": ["not-an-email"]}, 'body/contacts/0 must match format "email"'),
        ("/api/v2/leads/list", None, "body must be object"),
        ("/api/v2/leads/add", {"campaign_id": SMB}, "body must have required property 'leads'"),
        ("/api/v2/leads/add", {"campaign_id": SMB, "leads": []}, "body/leads must NOT have fewer than 1 items"),
        (
            "/api/v2/leads/add",
            {"campaign_id": SMB, "leads": [{"email": f"p{i}@x.test"} for i in range(1001)]},
            "body/leads must NOT have more than 1000 items",
        ),
        ("/api/v2/leads/add", {"campaign_id": SMB, "leads": [{"email": 5}]}, "body/leads/0/email must be string,null"),
        (
            "/api/v2/leads/add",
            {"campaign_id": SMB, "list_id": COLD, "leads": [{"email": "a@b.test"}]},
            "body must have either campaign_id or list_id, but not both",
        ),
        ("/api/v2/leads/move", {"campaign": ENTERPRISE}, "body must have either to_campaign_id or to_list_id"),
        (
            "/api/v2/leads/move",
            {"to_list_id": COLD, "esp_code": 5},
            "body/esp_code must be equal to one of the allowed values",
        ),
    ],
)
def test_invalid_bodies_get_the_vendors_400(api: Api, path: str, body: Any, message: str) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": message}


def test_a_thousand_leads_are_accepted(api: Api) -> None:
    response = api.post(
        "/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": f"p{i}@x.test"} for i in range(1000)]}
    )
    assert response.status_code == 200 and response.json()["leads_uploaded"] == 1000


def test_unparsable_and_empty_json_bodies_are_fastify_errors(api: Api) -> None:
    bad = api.post("/api/v2/leads/list", content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == "FST_ERR_CTP_INVALID_JSON_BODY"
    empty = api.patch(f"/api/v2/leads/{lead_id(1)}", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 400 and empty.json()["code"] == "FST_ERR_CTP_EMPTY_JSON_BODY"


def test_unknown_keys_are_ignored_silently(api: Api) -> None:
    """The vendor drops keys it does not know: a misspelled filter filters nothing."""
    response = api.post("/api/v2/leads/list", json={"campagin": ENTERPRISE, "limit": 100})
    assert response.status_code == 200 and len(response.json()["items"]) == 13


def test_bulk_assign_400_is_just_a_message(api: Api) -> None:
    assert api.post("/api/v2/leads/bulk-assign", json={}).json() == {
        "message": "body must have required property 'organization_user_ids'"
    }
    unknown = api.post("/api/v2/leads/bulk-assign", json={"organization_user_ids": ["nobody"]})
    assert (unknown.status_code, unknown.json()) == (400, {"message": "Invalid ID on `organization_user_ids` field"})


# listing and pagination --------------------------------------------------------------------------------------------


def test_pagination_visits_every_lead_once_in_id_order(api: Api) -> None:
    leads = api.all_leads(limit=4)
    ids = [lead["id"] for lead in leads]
    assert ids == sorted(ids) == [lead_id(n) for n in range(1, 14)]


def test_the_last_page_may_still_carry_a_cursor(api: Api) -> None:
    """Vendor quirk: only an empty page ends a listing; the last page with leads still has next_starting_after."""
    last = api.post("/api/v2/leads/list", json={"campaign": ENTERPRISE, "limit": 100}).json()
    assert len(last["items"]) == 5 and last["next_starting_after"] == lead_id(5)
    after = api.post(
        "/api/v2/leads/list", json={"campaign": ENTERPRISE, "starting_after": last["next_starting_after"]}
    ).json()
    assert after == {"items": []}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"campaign": ENTERPRISE}, [1, 2, 3, 4, 5]),
        ({"list_id": NURTURE}, [9, 10, 11, 12, 13]),
        ({"ids": [lead_id(2), lead_id(7)]}, [2, 7]),
        ({"contacts": ["PERSON1@company1.test"]}, [1, 9]),  # several records per email, matched case-insensitively
        ({"organization_user_ids": [ALICE]}, [3, 6, 9, 12]),
        ({"campaign": ENTERPRISE, "organization_user_ids": [BOB]}, [1, 4]),
        ({"search": "first11"}, [11]),
        ({"filter": "FILTER_LEAD_INTERESTED"}, [2]),
        ({"excluded_ids": [lead_id(1)], "campaign": ENTERPRISE}, [2, 3, 4, 5]),
    ],
)
def test_list_filters(api: Api, filters: dict[str, Any], expected: list[int]) -> None:
    assert [lead["id"] for lead in api.all_leads(**filters)] == [lead_id(n) for n in expected]


def test_campaigns_lists_and_members_page_with_cursors(api: Api) -> None:
    first = api.get("/api/v2/campaigns", params={"limit": 2}).json()
    second = api.get("/api/v2/campaigns", params={"limit": 2, "starting_after": first["next_starting_after"]}).json()
    assert [c["name"] for c in first["items"] + second["items"]] == [
        "Enterprise Q4",
        "SMB Outbound",
        "Webinar Follow-up",
    ]
    assert api.get("/api/v2/lead-lists", params={"search": "nurt"}).json()["items"][0]["id"] == NURTURE
    members = api.get("/api/v2/workspace-members").json()["items"]
    assert {m["user_id"]: m["email"] for m in members}[ALICE] == "alice@acme.test"
    assert all(m["id"] != m["user_id"] for m in members)  # the membership id is not the user id


# /leads/add --------------------------------------------------------------------------------------------------------


def test_add_reports_every_counter(api: Api) -> None:
    leads = [
        {"email": "new@x.test", "first_name": "New"},
        {"email": "NEW@x.test"},  # duplicate within the payload
        {"email": "not-an-email"},
        {},  # no email, in a campaign: invalid
        {"email": "person1@company1.test"},  # already in this campaign
        {"email": "person10@company10.test", "assigned_to": CAROL},  # in a list only: created here too
    ]
    result = api.post("/api/v2/leads/add", json={"campaign_id": ENTERPRISE, "leads": leads}).json()
    assert {k: v for k, v in result.items() if k != "created_leads"} == {
        "status": "success",
        "total_sent": 6,
        "leads_uploaded": 2,
        "in_blocklist": 0,
        "blocklist_used": None,
        "duplicated_leads": 1,
        "skipped_count": 0,
        "invalid_email_count": 2,
        "incomplete_count": 0,
        "duplicate_email_count": 1,
        "remaining_in_plan": result["remaining_in_plan"],
    }
    assert isinstance(result["remaining_in_plan"], int)
    assert [(c["index"], c["email"]) for c in result["created_leads"]] == [
        (0, "new@x.test"),
        (5, "person10@company10.test"),
    ]
    created = {c["email"]: api.get(f"/api/v2/leads/{c['id']}").json() for c in result["created_leads"]}
    assert created["new@x.test"]["assigned_to"] == ALICE  # no assigned_to: the campaign's owner
    assert created["person10@company10.test"]["assigned_to"] == CAROL
    assert len(api.all_leads(contacts=["person10@company10.test"])) == 2


def test_add_to_a_list_counts_incomplete_leads_and_has_no_plan_figure(api: Api) -> None:
    result = api.post(
        "/api/v2/leads/add",
        json={"list_id": COLD, "assigned_to": BOB, "leads": [{"first_name": "Only"}, {"phone": "+1"}]},
    ).json()
    assert (result["leads_uploaded"], result["incomplete_count"], result["remaining_in_plan"]) == (1, 1, None)
    assert api.all_leads(list_id=COLD)[0]["assigned_to"] == BOB


@pytest.mark.parametrize(
    ("flags", "skipped"),
    [
        ({}, 0),
        ({"skip_if_in_workspace": True}, 2),
        ({"skip_if_in_campaign": True}, 1),
        ({"skip_if_in_list": True}, 1),
        ({"skip_if_in_workspace": True, "skip_if_in_campaign": False}, 2),  # in_workspace overrides the others
    ],
)
def test_add_skip_flags(api: Api, flags: dict[str, bool], skipped: int) -> None:
    leads = [
        {"email": "person6@company6.test"},
        {"email": "person10@company10.test"},
        {"email": "fresh@x.test"},
    ]  # in SMB, in Nurture, new
    result = api.post("/api/v2/leads/add", json={"campaign_id": WEBINAR, "leads": leads, **flags}).json()
    assert (result["skipped_count"], result["leads_uploaded"]) == (skipped, 3 - skipped)


def test_add_counts_the_seeds_blocklist(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes({**instantly_seed(), "blocklist": ["blocked.test", "one@x.test"]}))
    result = api.post(
        "/api/v2/leads/add",
        json={"list_id": COLD, "leads": [{"email": "a@blocked.test"}, {"email": "One@x.test"}, {"email": "b@x.test"}]},
    ).json()
    assert (result["in_blocklist"], result["leads_uploaded"]) == (2, 1)


# /leads/move -------------------------------------------------------------------------------------------------------


def test_a_move_is_a_background_job_that_takes_time(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock, faults="job_ms=1000"))
    job = api.post("/api/v2/leads/move", json={"campaign": ENTERPRISE, "ids": [lead_id(1)], "to_list_id": COLD}).json()
    assert len(job["id"]) == 24 and int(job["id"], 16) >= 0 and job["status"] == "pending"
    assert (job["type"], job["entity_type"], job["entity_id"]) == ("move-leads", "list", COLD)
    assert api.where(lead_id(1)) == ENTERPRISE  # nothing moved yet
    clock.advance(0.5)
    halfway = api.get(f"/api/v2/background-jobs/{job['id']}").json()
    assert (halfway["status"], halfway["progress"]) == ("in-progress", 50)
    assert api.where(lead_id(1)) == ENTERPRISE
    clock.advance(0.5)
    assert api.where(lead_id(1)) == COLD  # applied when due, whether or not anyone polls
    done = api.get(f"/api/v2/background-jobs/{job['id']}").json()
    assert (done["status"], done["progress"]) == ("success", 100)
    assert done["data"] == {
        "moved_leads": 1,
        "duplicated_leads": 0,
        "total_leads": 1,
        "moved_lead_emails": ["person1@company1.test"],
    }


def test_a_move_job_can_complete_at_its_nth_poll(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="job_ms=600000,job_polls=3"))
    job = api.post("/api/v2/leads/move", json={"list_id": NURTURE, "ids": [lead_id(10)], "to_campaign_id": SMB}).json()
    seen = [api.get(f"/api/v2/background-jobs/{job['id']}").json()["status"] for _ in range(3)]
    assert seen == ["in-progress", "in-progress", "success"]
    assert api.where(lead_id(10)) == SMB


def test_move_ids_only_filter_within_the_source(sandboxes: Sandboxes) -> None:
    """Vendor quirk: `ids` select only among the leads of the source campaign or list."""
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    done = _run_job(
        api, clock, {"campaign": ENTERPRISE, "ids": [lead_id(1), lead_id(6), lead_id(10)], "to_list_id": COLD}
    )
    assert done["data"]["moved_leads"] == 1
    assert (api.where(lead_id(1)), api.where(lead_id(6)), api.where(lead_id(10))) == (COLD, SMB, NURTURE)


def test_a_move_of_ids_outside_the_source_succeeds_with_zero_moved(sandboxes: Sandboxes) -> None:
    """Vendor quirk: no error for ids that are not in the source; the job succeeds and moves nothing."""
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    done = _run_job(api, clock, {"campaign": SMB, "ids": [lead_id(1), lead_id(2)], "to_list_id": COLD})
    assert done["data"]["moved_leads"] == 0 and done["data"]["total_leads"] == 0
    assert api.where(lead_id(1)) == ENTERPRISE


def test_move_ids_without_a_source_are_ignored_and_the_other_filters_select(sandboxes: Sandboxes) -> None:
    """Vendor quirk: without `campaign` or `list_id` the ids filter nothing (a misspelled key once moved a list)."""
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    done = _run_job(api, clock, {"ids": [lead_id(1)], "list": NURTURE, "search": "first1", "to_campaign_id": WEBINAR})
    moved = {lead["id"] for lead in api.all_leads(campaign=WEBINAR)}
    assert (
        moved == {lead_id(1), lead_id(10), lead_id(11), lead_id(12), lead_id(13)} and done["data"]["moved_leads"] == 5
    )


def test_a_move_can_reassign_and_skip_duplicates(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    done = _run_job(
        api,
        clock,
        {
            "list_id": NURTURE,
            "ids": [lead_id(9), lead_id(10)],
            "to_campaign_id": ENTERPRISE,
            "assigned_to": CAROL,
            "check_duplicates": True,
        },
    )
    assert (done["data"]["moved_leads"], done["data"]["duplicated_leads"]) == (1, 1)  # lead 9 is lead 1's person
    moved = api.get(f"/api/v2/leads/{lead_id(10)}").json()
    assert (moved["campaign"], moved["list_id"], moved["assigned_to"]) == (ENTERPRISE, None, CAROL)


def test_a_move_selects_its_leads_when_the_job_runs(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    job = api.post("/api/v2/leads/move", json={"campaign": SMB, "to_list_id": COLD}).json()
    api.post("/api/v2/leads/add", json={"campaign_id": SMB, "leads": [{"email": "late@x.test"}]})
    clock.advance(10)
    assert api.get(f"/api/v2/background-jobs/{job['id']}").json()["data"]["moved_leads"] == 4


def test_moves_to_or_from_unknown_places_are_404(api: Api) -> None:
    assert (
        api.post("/api/v2/leads/move", json={"to_campaign_id": "c-unknown"}).json()["message"] == "Campaign not found"
    )
    assert api.post("/api/v2/leads/move", json={"list_id": "l-unknown", "to_campaign_id": SMB}).status_code == 404
    assert api.get("/api/v2/background-jobs/0123456789abcdef01234567").status_code == 404


# /leads/bulk-assign ------------------------------------------------------------------------------------------------


def test_bulk_assign_is_accepted_without_a_job_and_applied_a_moment_later(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock, faults="assign_ms=300"))
    accepted = api.post(
        "/api/v2/leads/bulk-assign",
        json={"organization_user_ids": [CAROL], "campaign": ENTERPRISE, "ids": [lead_id(1)]},
    )
    assert (accepted.status_code, accepted.json()) == (
        202,
        {"status": "accepted", "message": "Your request will be processed in a background job"},
    )
    assert api.get(f"/api/v2/leads/{lead_id(1)}").json()["assigned_to"] == BOB
    clock.advance(0.3)
    assert api.get(f"/api/v2/leads/{lead_id(1)}").json()["assigned_to"] == CAROL


def test_bulk_assign_spreads_several_owners_round_robin(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock))
    api.post("/api/v2/leads/bulk-assign", json={"organization_user_ids": [ALICE, BOB], "campaign": ENTERPRISE})
    clock.advance(1)
    assert [lead["assigned_to"] for lead in api.all_leads(campaign=ENTERPRISE)] == [ALICE, BOB, ALICE, BOB, ALICE]


# deletes, get, patch -----------------------------------------------------------------------------------------------


def test_a_bulk_delete_without_ids_deletes_the_whole_campaign(api: Api) -> None:
    """Vendor quirk (documented): DELETE /leads with a campaign and no ids empties that campaign."""
    response = api.delete_with_body("/api/v2/leads", {"campaign_id": ENTERPRISE})
    assert response.json() == {"count": 5}
    assert api.all_leads(campaign=ENTERPRISE) == [] and len(api.all_leads()) == 8


def test_a_bulk_delete_without_ids_deletes_the_whole_list(api: Api) -> None:
    assert api.delete_with_body("/api/v2/leads", {"list_id": NURTURE}).json() == {"count": 5}


def test_a_bulk_delete_with_ids_deletes_only_those_inside_the_campaign(api: Api) -> None:
    response = api.delete_with_body("/api/v2/leads", {"campaign_id": ENTERPRISE, "ids": [lead_id(1), lead_id(6)]})
    assert response.json() == {"count": 1}
    assert api.where(lead_id(1)) is None and api.where(lead_id(6)) == SMB


def test_a_bulk_delete_needs_a_campaign_or_list_and_honours_status_and_limit(api: Api) -> None:
    assert (
        api.delete_with_body("/api/v2/leads", {"ids": [lead_id(1)]}).json()["message"]
        == "body must match a schema in anyOf"
    )
    assert api.delete_with_body("/api/v2/leads", {"campaign_id": ENTERPRISE, "status": 3}).json() == {"count": 0}
    assert api.delete_with_body("/api/v2/leads", {"campaign_id": ENTERPRISE, "limit": 2}).json() == {"count": 2}


def test_patch_changes_the_owner_but_never_the_campaign(api: Api) -> None:
    patched = api.patch(
        f"/api/v2/leads/{lead_id(1)}", json={"assigned_to": CAROL, "campaign": SMB, "list_id": COLD, "bogus": 1}
    ).json()
    assert (patched["assigned_to"], patched["campaign"], patched["list_id"]) == (CAROL, ENTERPRISE, None)
    only_unknown = api.patch(f"/api/v2/leads/{lead_id(1)}", json={"campaign": SMB})
    assert only_unknown.json()["message"] == "body must NOT have fewer than 1 properties"


def test_delete_one_lead_answers_it_then_404(api: Api) -> None:
    assert api.delete(f"/api/v2/leads/{lead_id(3)}").json()["id"] == lead_id(3)
    gone = api.get(f"/api/v2/leads/{lead_id(3)}")
    assert (gone.status_code, gone.json()["message"]) == (404, "Lead not found")


# rate limit and stats ----------------------------------------------------------------------------------------------


def test_rate_limit_per_second_answers_the_vendors_429(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    sandbox = sandboxes(clock=clock, rate_limit="3/s,6000/min")
    api, other_key = Api(sandbox), Api(sandbox, key=READ_KEY)
    assert [api.get("/api/v2/campaigns").status_code for _ in range(3)] == [200] * 3
    limited = other_key.get("/api/v2/campaigns")  # one limit for the whole workspace, whatever the key
    assert (limited.status_code, limited.json()) == (
        429,
        {"statusCode": 429, "error": "Too Many Requests", "message": "Rate limit exceeded"},
    )
    assert "retry-after" not in limited.headers  # the vendor documents none
    clock.advance(1.01)
    assert api.get("/api/v2/campaigns").status_code == 200


def test_rate_limit_per_minute(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock, rate_limit=RateLimit(per_second=100, per_minute=5)))
    statuses = []
    for _ in range(6):
        statuses.append(api.get("/api/v2/campaigns").status_code)
        clock.advance(2)
    assert statuses == [200] * 5 + [429]
    clock.advance(60)
    assert api.get("/api/v2/campaigns").status_code == 200


def test_rate_limit_defaults_and_syntax() -> None:
    assert RateLimit() == RateLimit(100, 6000) == RateLimit.parse("100/s,6000/min")
    assert RateLimit.parse("10/s") == RateLimit(10, 6000) and RateLimit.parse("off") is None
    with pytest.raises(SandboxError, match="invalid rate limit"):
        RateLimit.parse("fast")


def test_stats_count_every_request_by_method_and_path_template(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes()
    api = Api(sandbox)
    api.get(f"/api/v2/leads/{lead_id(1)}")
    api.get(f"/api/v2/leads/{lead_id(99)}")  # 404 counts too
    Api(sandbox, key="nope").post("/api/v2/leads/list", json={})  # so does a 401
    api.get("/api/v2/nothing-here")
    assert sandbox.stats() == {
        "calls": {"GET /api/v2/leads/{id}": 2, "POST /api/v2/leads/list": 1, "GET /api/v2/nothing-here": 1}
    }
    sandbox.reset_stats()
    assert sandbox.stats() == {"calls": {}}
