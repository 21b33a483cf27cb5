"""No request can wedge the Instantly sandbox: after each hostile request an ordinary one still answers 200.

Before issue #13 a bulk-assign with `limit: 9223372036854775808`, a move with `limit: 1e19` or a body with
`Infinity` left queued work that failed at every later request (SQLite "datatype mismatch", OverflowError), so the
sandbox answered 500 to everything after it. Each case here sends one hostile request, lets the queued work fall
due, and checks that the sandbox still answers, that a later move job still completes, and what the hostile request
itself was answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sandbox.support import ALICE, BOB, COLD, ENTERPRISE, NURTURE, SMB, Api, lead_id

from leadsync.sandbox import ManualClock, RunningSandbox

INVALID_JSON = "Body is not valid JSON but content-type is set to 'application/json'"


def _sandbox(make: Callable[..., RunningSandbox]) -> tuple[Api, ManualClock]:
    clock = ManualClock()
    return Api(make(clock=clock)), clock


def _still_answers(api: Api, clock: ManualClock) -> None:
    """Ordinary reads answer 200 after the queued work has fallen due, and a new move job completes."""
    clock.advance(60)
    assert api.post("/api/v2/leads/list", json={"limit": 1}).status_code == 200
    assert api.get("/api/v2/campaigns").status_code == 200
    job = api.post("/api/v2/leads/move", json={"ids": [lead_id(6)], "campaign": SMB, "to_list_id": COLD})
    assert job.status_code == 200, job.text
    clock.advance(60)
    done = api.get(f"/api/v2/background-jobs/{job.json()['id']}")
    assert done.status_code == 200 and done.json()["status"] == "success", done.text
    assert api.where(lead_id(6)) == COLD


def _raw(api: Api, method: str, path: str, text: str | bytes) -> httpx.Response:
    return api.request(method, path, content=text, headers={"content-type": "application/json"})


def test_bulk_assign_limit_past_sqlite_integers_is_clamped(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    body = {"organization_user_ids": [BOB], "campaign": ENTERPRISE, "limit": 9223372036854775808}
    assert api.post("/api/v2/leads/bulk-assign", json=body).status_code == 202
    _still_answers(api, clock)
    # documented as a plain minimum-0 integer: a limit larger than the workspace assigns every lead selected
    owners = {lead["assigned_to"] for lead in api.all_leads(campaign=ENTERPRISE)}
    assert owners == {BOB}


def test_bulk_assign_limit_as_huge_float_is_clamped(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    body = {"organization_user_ids": [ALICE], "campaign": SMB, "limit": 1e19}
    assert api.post("/api/v2/leads/bulk-assign", json=body).status_code == 202
    _still_answers(api, clock)
    assert {lead["assigned_to"] for lead in api.all_leads(campaign=SMB)} == {ALICE}


def test_move_limit_1e19_moves_everything_selected(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    job = api.post("/api/v2/leads/move", json={"list_id": NURTURE, "to_campaign_id": ENTERPRISE, "limit": 1e19})
    assert job.status_code == 200, job.text
    _still_answers(api, clock)
    assert api.get(f"/api/v2/background-jobs/{job.json()['id']}").json()["status"] == "success"
    assert api.all_leads(list_id=NURTURE) == []


def test_move_limit_1e308_is_clamped(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    job = api.post("/api/v2/leads/move", json={"list_id": NURTURE, "to_list_id": COLD, "limit": 1e308})
    assert job.status_code == 200
    _still_answers(api, clock)
    assert api.get(f"/api/v2/background-jobs/{job.json()['id']}").json()["status"] == "success"


def test_move_negative_limit_does_not_wedge(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    job = api.post("/api/v2/leads/move", json={"list_id": NURTURE, "to_list_id": COLD, "limit": -5})
    assert job.status_code == 200
    _still_answers(api, clock)
    assert api.get(f"/api/v2/background-jobs/{job.json()['id']}").json()["status"] in ("success", "failed")


def test_bulk_assign_negative_limit_is_a_validation_error(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    answer = api.post("/api/v2/leads/bulk-assign", json={"organization_user_ids": [BOB], "limit": -1})
    assert answer.status_code == 400
    assert answer.json() == {"message": "body/limit must be >= 0"}
    _still_answers(api, clock)


def test_list_leads_limit_past_int64_is_a_validation_error(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    answer = api.post("/api/v2/leads/list", json={"limit": 9223372036854775808})
    assert answer.status_code == 400 and answer.json()["message"] == "body/limit must be <= 100"
    _still_answers(api, clock)


def test_bulk_delete_limit_past_int64_is_a_validation_error(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    answer = api.delete_with_body("/api/v2/leads", {"campaign_id": SMB, "limit": 9223372036854775808})
    assert answer.status_code == 400 and answer.json()["message"] == "body/limit must be <= 10000"
    _still_answers(api, clock)


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_non_json_numbers_are_invalid_json(sandboxes: Any, constant: str) -> None:
    api, clock = _sandbox(sandboxes)
    for path, body in (
        ("/api/v2/leads/move", f'{{"list_id": "{NURTURE}", "to_list_id": "{COLD}", "limit": {constant}}}'),
        ("/api/v2/leads/bulk-assign", f'{{"organization_user_ids": ["{BOB}"], "limit": {constant}}}'),
        ("/api/v2/leads/list", f'{{"limit": {constant}}}'),
    ):
        answer = _raw(api, "POST", path, body)
        assert answer.status_code == 400, (path, answer.text)
        assert INVALID_JSON in answer.text
    _still_answers(api, clock)


def test_infinity_inside_custom_variables_is_invalid_json(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    body = f'{{"campaign_id": "{SMB}", "leads": [{{"email": "x@y.test", "custom_variables": {{"n": Infinity}}}}]}}'
    answer = _raw(api, "POST", "/api/v2/leads/add", body)
    assert answer.status_code == 400 and INVALID_JSON in answer.text
    assert answer.json()["code"] == "FST_ERR_CTP_INVALID_JSON_BODY"
    _still_answers(api, clock)


def test_deeply_nested_body_is_refused_in_one_answer(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    answer = _raw(api, "POST", "/api/v2/leads/list", "[" * 100_000 + "]" * 100_000)
    assert answer.status_code == 400 and answer.json()["code"] == "FST_ERR_CTP_INVALID_JSON_BODY"
    nested = '{"queries": [{"actionType": "reply", "values": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}]}"
    assert _raw(api, "POST", "/api/v2/leads/list", nested).status_code == 400
    _still_answers(api, clock)


def test_huge_integer_literal_is_invalid_json(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    answer = _raw(api, "POST", "/api/v2/leads/move", '{"to_list_id": "x", "limit": 1' + "0" * 10_000 + "}")
    assert answer.status_code in (400, 404), answer.text  # never a 500
    _still_answers(api, clock)


def test_huge_strings_do_not_wedge(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    big = "a" * 5_000_000
    assert api.post("/api/v2/leads/list", json={"search": big}).json()["items"] == []
    assert api.get(f"/api/v2/leads/{'x' * 10_000}").status_code == 404
    answer = api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"first_name": big, "email": "b@c.test"}]})
    assert answer.status_code == 200
    _still_answers(api, clock)


def test_lone_surrogates_do_not_wedge(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    body = f'{{"list_id": "{COLD}", "leads": [{{"email": "s@t.test", "first_name": "\\ud800"}}]}}'
    answer = _raw(api, "POST", "/api/v2/leads/add", body)
    assert answer.status_code in (200, 400), answer.text  # never a 500, and never a dropped connection
    search = _raw(api, "POST", "/api/v2/leads/list", '{"search": "\\udfff"}')
    assert search.status_code in (200, 400)
    _still_answers(api, clock)


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [1, 2], "campaign": SMB, "to_list_id": COLD},
        {"ids": "not-a-list", "to_list_id": COLD},
        {"campaign": 7, "to_list_id": COLD},
        {"to_list_id": {"id": COLD}},
        {"to_list_id": COLD, "limit": "10"},
        {"to_list_id": COLD, "limit": True},
    ],
    ids=["int-ids", "string-ids", "int-campaign", "object-target", "string-limit", "bool-limit"],
)
def test_ids_and_limits_of_wrong_types_are_validation_errors(sandboxes: Any, body: dict[str, Any]) -> None:
    api, clock = _sandbox(sandboxes)
    answer = api.post("/api/v2/leads/move", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("body/")
    _still_answers(api, clock)


def test_bulk_assign_ids_of_wrong_types_are_validation_errors(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    for body in ({"organization_user_ids": [1]}, {"organization_user_ids": [BOB], "ids": [None]}):
        answer = api.post("/api/v2/leads/bulk-assign", json=body)
        assert answer.status_code == 400 and answer.json()["message"].startswith("body/"), answer.text
    _still_answers(api, clock)


def test_a_failing_queued_job_is_failed_and_later_work_still_runs(sandboxes: Any) -> None:
    """Queued work that raises (here: a request stored before validation existed) fails alone."""
    clock = ManualClock()
    sandbox = sandboxes(clock=clock)
    api = Api(sandbox)
    job = api.post("/api/v2/leads/move", json={"list_id": NURTURE, "to_list_id": COLD}).json()
    # the queued request corrupted in the store, as an older sandbox could have stored it
    store = sandbox._assembly.store  # no request is in flight, and a ManualClock sets no timers
    with store.transaction():
        store.db.execute("UPDATE jobs SET request = ? WHERE id = ?", ("[]", job["id"]))
        store.db.execute("INSERT INTO assigns (request, due) VALUES (?, ?)", ('{"limit": 1}', clock.now()))
    clock.advance(60)
    assert api.get("/api/v2/campaigns").status_code == 200
    failed = api.get(f"/api/v2/background-jobs/{job['id']}").json()
    assert failed["status"] == "failed"
    _still_answers(api, clock)


def test_query_numbers_of_thousands_of_digits_are_validation_errors(sandboxes: Any) -> None:
    api, clock = _sandbox(sandboxes)
    digits = "9" * 5_000  # past Python's int() digit limit (4,300)
    assert (
        api.get("/api/v2/campaigns", params={"limit": digits}).json()["message"] == "querystring/limit must be <= 100"
    )
    assert api.get("/api/v2/campaigns", params={"limit": "-" + digits}).json()["message"] == (
        "querystring/limit must be >= 1"
    )
    assert api.get("/api/v2/campaigns", params={"status": digits}).status_code == 400
    _still_answers(api, clock)
