"""Wrong-shaped vendor answers (issue #12), and the workspace's identity.

Every 2xx answer a provider reads is checked at the provider's edge: one that is not the shape leadsync reads is
a one-line ProviderError naming the vendor, the endpoint and what was wrong, never an AttributeError, KeyError or
TypeError from deeper down. The vendor is faked at the HTTP level (httpx.MockTransport) answering good shapes
everywhere but the one endpoint a test spoils; the provider's code is the real one. The identity tests use the
sandbox over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync import sandbox
from leadsync.errors import ProviderError
from leadsync.providers.base import NewLead
from leadsync.providers.instantly import InstantlyProvider
from leadsync.providers.sonarly import SonarlyProvider
from leadsync.state import DestinationRef

KEY = "sk_test_answers_4b1d"

# -- a fake Instantly -------------------------------------------------------------------------------------------

# USER is vendor-shaped (a UUID): it also seeds sandboxes, which refuse ids the vendor could never make
WS, CAMPAIGN, LIST, JOB = "ws-7f00", "c-0001", "l-0001", "65f0000000000000000000e1"
USER = "7d0c6d2e-0000-4000-8000-000000000001"
LEADS, CAMPAIGNS, LISTS, MEMBERS = (
    "POST /api/v2/leads/list",
    "GET /api/v2/campaigns",
    "GET /api/v2/lead-lists",
    "GET /api/v2/workspace-members",
)
MOVE, ADD, ASSIGN, JOB_POLL = (
    "POST /api/v2/leads/move",
    "POST /api/v2/leads/add",
    "POST /api/v2/leads/bulk-assign",
    "GET /api/v2/background-jobs/{id}",
)
LEAD = {
    "id": "lead-1",
    "email": "ann@acme.test",
    "campaign": CAMPAIGN,
    "list_id": None,
    "assigned_to": USER,
    "organization": WS,
    "status": 1,
    "email_reply_count": 0,
    "custom": {"kept": True},
}
INSTANTLY: dict[str, Any] = {
    CAMPAIGNS: {"items": [{"id": CAMPAIGN, "name": "enterprise", "organization": WS}]},
    LISTS: {"items": [{"id": LIST, "name": "nurture", "organization_id": WS}]},
    MEMBERS: {"items": [{"id": "m-1", "user_id": USER, "email": "alice@owners.test", "workspace_id": WS}]},
    LEADS: {"items": [LEAD]},
    MOVE: {"id": JOB, "status": "pending", "progress": 0, "workspace_id": WS, "type": "move-leads"},
    JOB_POLL: {"id": JOB, "status": "success", "progress": 100, "data": {"moved_leads": 1}},
    ADD: {"status": "success", "total_sent": 1, "leads_uploaded": 1, "duplicated_leads": 0},
    ASSIGN: {"status": "accepted", "message": "Your request will be processed in a background job"},
}


class Raw(bytes):
    """A body sent as these bytes, not as JSON."""


def respond(body: Any) -> httpx.Response:
    if isinstance(body, Raw):
        return httpx.Response(200, content=bytes(body))
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def instantly_endpoint(request: httpx.Request) -> str:
    path = request.url.path
    if path.startswith("/api/v2/background-jobs/"):
        path = "/api/v2/background-jobs/{id}"
    return f"{request.method} {path}"


def instantly(answers: Mapping[str, Any] | None = None, seen: list[httpx.Request] | None = None) -> InstantlyProvider:
    """An Instantly provider whose vendor answers INSTANTLY, but `answers` where given."""
    bodies = {**INSTANTLY, **(answers or {})}

    def vendor(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return respond(bodies[instantly_endpoint(request)])

    return patient(
        InstantlyProvider.connect("https://api.instantly.test", KEY, "$K", transport=httpx.MockTransport(vendor))
    )


def patient(provider: InstantlyProvider) -> InstantlyProvider:
    """Waits for jobs on a clock of its own that its sleeps move on: a job that never ends costs no time."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.01)

    provider.clock, provider.sleep, provider.poll, provider.job_timeout = (lambda: now[0]), sleep, (0.1, 1.0), 5.0
    return provider


def read_instantly(provider: InstantlyProvider) -> object:
    return provider.read(
        destinations={"enterprise": DestinationRef("campaign", "enterprise")},
        owners={"alice": "alice@owners.test"},
        wanted=["bob@elsewhere.test"],
    )


def move_instantly(provider: InstantlyProvider) -> None:
    request = provider.move_request(
        ids=["lead-1"], keys=["ann@acme.test"], source=f"campaign:{CAMPAIGN}", target=f"list:{LIST}", owner_id=None
    )
    provider.wait(provider.send(request))


def refused(call: Callable[[], object], vendor: str, endpoint: str, *words: str) -> str:
    """The one-line ProviderError `call` raises, naming the vendor and the endpoint (and `words`)."""
    with pytest.raises(ProviderError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{vendor}: {endpoint}: "), message
    assert KEY not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


# -- Instantly: the body of a page -------------------------------------------------------------------------------


def test_a_page_of_leads_answered_as_a_list_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LEADS: []})), "instantly", LEADS, "not a page of leads", "a list")


def test_a_page_of_leads_answered_null_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LEADS: None})), "instantly", LEADS, "not a page of leads")


def test_a_page_of_leads_answered_as_a_string_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LEADS: "ok"})), "instantly", LEADS, "not a page of leads", "a string")


def test_a_page_of_leads_answered_as_a_number_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LEADS: 42})), "instantly", LEADS, "not a page of leads", "a number")


def test_a_page_of_leads_answered_with_an_empty_body_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LEADS: Raw(b"")})), "instantly", LEADS, "empty")


def test_a_page_of_campaigns_answered_as_a_list_is_refused() -> None:
    refused(lambda: read_instantly(instantly({CAMPAIGNS: []})), "instantly", CAMPAIGNS, "not a page of campaigns")


def test_a_page_whose_items_are_not_a_list_is_refused() -> None:
    message = refused(lambda: read_instantly(instantly({LEADS: {"items": "abc"}})), "instantly", LEADS, "items")
    assert "not a list" in message


def test_a_page_whose_items_are_not_objects_is_refused() -> None:
    answer = {"items": [LEAD, 7]}
    refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "items[1]", "not an object")


def test_a_page_without_items_is_refused() -> None:
    refused(lambda: read_instantly(instantly({LISTS: {"next_starting_after": None}})), "instantly", LISTS, "items")


# -- Instantly: the records of a page ----------------------------------------------------------------------------


def test_a_lead_without_an_id_is_refused() -> None:
    answer = {"items": [LEAD, LEAD, LEAD, {k: v for k, v in LEAD.items() if k != "id"}]}
    message = refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS)
    assert message.endswith("the answer is not a page of leads: items[3].id: missing"), message


def test_a_lead_whose_id_is_a_number_is_refused() -> None:
    answer = {"items": [{**LEAD, "id": 17}]}
    refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "items[0].id", "not a string")


def test_a_lead_whose_id_is_empty_is_refused() -> None:
    refused(
        lambda: read_instantly(instantly({LEADS: {"items": [{**LEAD, "id": ""}]}})),
        "instantly",
        LEADS,
        "items[0].id",
        "empty",
    )


def test_a_lead_whose_email_is_not_a_string_is_refused() -> None:
    answer = {"items": [{**LEAD, "email": ["ann@acme.test"]}]}
    refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "items[0].email", "not a string")


def test_a_lead_whose_owner_is_an_object_is_refused() -> None:
    answer = {"items": [{**LEAD, "assigned_to": {"id": USER}}]}
    refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "items[0].assigned_to")


def test_a_lead_whose_campaign_is_a_number_is_refused() -> None:
    answer = {"items": [{**LEAD, "campaign": 1}]}
    refused(lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "items[0].campaign")


def test_a_cursor_that_is_an_object_is_refused() -> None:
    answer = {"items": [LEAD], "next_starting_after": {"id": "lead-1"}}
    refused(
        lambda: read_instantly(instantly({LEADS: answer})), "instantly", LEADS, "next_starting_after", "not a string"
    )


def test_a_campaign_without_an_id_is_refused() -> None:
    answer = {"items": [{"name": "enterprise"}]}
    refused(lambda: read_instantly(instantly({CAMPAIGNS: answer})), "instantly", CAMPAIGNS, "items[0].id: missing")


def test_a_list_whose_name_is_a_number_is_refused() -> None:
    answer = {"items": [{"id": LIST, "name": 5}]}
    refused(lambda: read_instantly(instantly({LISTS: answer})), "instantly", LISTS, "items[0].name")


def test_a_workspace_member_without_a_user_id_is_refused() -> None:
    answer = {"items": [{"id": "m-1", "email": "alice@owners.test", "workspace_id": WS}]}
    refused(
        lambda: read_instantly(instantly({MEMBERS: answer})),
        "instantly",
        MEMBERS,
        "not a page of workspace members",
        "items[0].user_id: missing",
    )


def test_a_bad_lead_in_a_contacts_look_up_is_refused() -> None:
    """People missing from the managed destinations are looked up by email: those pages are checked too."""
    pages = iter([{"items": [LEAD]}, {"items": [{"email": "bob@elsewhere.test"}]}])
    seen: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        endpoint = instantly_endpoint(request)
        return respond(next(pages) if endpoint == LEADS else INSTANTLY[endpoint])

    provider = patient(
        InstantlyProvider.connect("https://api.instantly.test", KEY, "$K", transport=httpx.MockTransport(vendor))
    )
    refused(lambda: read_instantly(provider), "instantly", LEADS, "items[0].id: missing")
    assert any(b"contacts" in r.content for r in seen)


def test_a_record_the_vendor_adds_fields_to_is_kept_whole() -> None:
    """Lenient where the vendor is: fields leadsync does not read pass through (the snapshot stores records)."""
    answer = {"items": [{**LEAD, "brand_new_field": {"nested": [1, 2]}, "email": None}], "next_starting_after": None}
    data = instantly({LEADS: answer}).read_data(destinations={"enterprise": DestinationRef("campaign", "enterprise")})
    assert data["leads"] == [answer["items"][0]]  # type: ignore[index]


# -- Instantly: writes and their background jobs -----------------------------------------------------------------


def test_a_move_answered_without_a_job_id_is_refused() -> None:
    answer = {"status": "pending"}
    refused(lambda: move_instantly(instantly({MOVE: answer})), "instantly", MOVE, "id: missing")


def test_a_move_answered_as_a_list_is_refused() -> None:
    refused(lambda: move_instantly(instantly({MOVE: [{"id": JOB}]})), "instantly", MOVE, "not a background job")


def test_a_background_job_answered_as_a_list_is_refused() -> None:
    refused(
        lambda: move_instantly(instantly({JOB_POLL: [INSTANTLY[JOB_POLL]]})),
        "instantly",
        JOB_POLL,
        "not a background job",
        "a list",
    )


def test_a_background_job_whose_status_is_an_object_is_refused() -> None:
    answer = {**INSTANTLY[JOB_POLL], "status": {"state": "success"}}
    refused(lambda: move_instantly(instantly({JOB_POLL: answer})), "instantly", JOB_POLL, "status", "not a string")


def test_a_background_job_whose_status_is_several_lines_is_refused() -> None:
    """A status goes into a stalled job's message: a vendor's text with a line break would make it two lines."""
    answer = {**INSTANTLY[JOB_POLL], "status": "pending\nError: forged second line"}
    message = refused(lambda: move_instantly(instantly({JOB_POLL: answer})), "instantly", JOB_POLL, "status")
    assert "forged" not in message


def test_a_background_job_answered_with_an_empty_body_is_refused() -> None:
    refused(lambda: move_instantly(instantly({JOB_POLL: Raw(b"")})), "instantly", JOB_POLL, "empty")


def test_an_add_answered_as_a_list_is_refused() -> None:
    provider = instantly({ADD: [1, 2]})
    request = provider.add_request(target=f"list:{LIST}", leads=[NewLead("cara@new.test", None)])
    refused(lambda: provider.send(request), "instantly", ADD, "a list")


def test_an_add_whose_counts_are_odd_is_kept_as_it_came() -> None:
    """Nothing is decided on an add's counts, and the add has happened: odd ones must not stop the apply."""
    provider = instantly({ADD: {"status": "success", "leads_uploaded": "all of them", "skipped_count": 1.0}})
    request = provider.add_request(target=f"list:{LIST}", leads=[NewLead("cara@new.test", None)])
    assert provider.send(request).answer["leads_uploaded"] == "all of them"


def test_a_bulk_assign_read_back_with_a_bad_lead_is_refused() -> None:
    provider = instantly({LEADS: {"items": [{"id": "lead-1", "assigned_to": 3}]}})
    request = provider.assign_request(
        ids=["lead-1"], keys=["ann@acme.test"], destination=f"campaign:{CAMPAIGN}", owner_id=USER
    )
    refused(lambda: provider.wait(provider.send(request)), "instantly", LEADS, "items[0].assigned_to")


def test_good_answers_read_and_move() -> None:
    """The fake vendor's own answers are good: the tests above fail for the spoiled endpoint, not the fake."""
    provider = instantly()
    resolved = read_instantly(provider)
    assert [r.id for r in resolved.remote] == ["lead-1"]  # type: ignore[attr-defined]
    move_instantly(provider)


# -- a fake Sonarly ----------------------------------------------------------------------------------------------

GROUP, EU, US, PROSPECT = "65a0000000000000000000f1", "65b0000000000000000000f1", "65b0000000000000000000f2", "p-1"
GROUPS_EP, AUDIENCES_EP = "GET /v1/accounts", "GET /v1/accounts/{accountGroupId}/audiences"
AUDIENCE_EP = "GET /v1/accounts/{accountGroupId}/audiences/{audienceId}"
PROSPECTS_EP = "GET /v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects"
MOVE_EP = "POST /v1/accounts/{accountGroupId}/audiences/{audienceId}/move-leads"


def page(*items: Any) -> dict[str, Any]:
    return {"items": list(items), "nextCursor": None, "hasMore": False}


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "error": None, "traceId": "65f0000000000000000000aa"}


SONARLY: dict[str, Any] = {
    GROUPS_EP: envelope(page({"id": GROUP, "name": "Growth"})),
    AUDIENCES_EP: envelope(page({"id": EU, "name": "EU"}, {"id": US, "name": "US"})),
    AUDIENCE_EP: envelope({"id": EU, "name": "EU"}),
    PROSPECTS_EP: envelope(page({"id": PROSPECT, "publicIdentifier": "ann-a", "firstName": "Ann"})),
    MOVE_EP: envelope({"movedCount": 1}),
}


def sonarly_endpoint(request: httpx.Request) -> str:
    names = ["", "v1", "accounts", "{accountGroupId}", "audiences", "{audienceId}"]
    parts = request.url.path.split("/")
    return f"{request.method} " + "/".join(names[i] if i < len(names) else p for i, p in enumerate(parts))


def sonarly(answers: Mapping[str, Any] | None = None) -> SonarlyProvider:
    """A Sonarly provider whose vendor answers SONARLY, but `answers` where given."""
    bodies = {**SONARLY, **(answers or {})}

    def vendor(request: httpx.Request) -> httpx.Response:
        return respond(bodies[sonarly_endpoint(request)])

    provider = SonarlyProvider.connect(
        "https://api.sonarly.test/v1", KEY, "$K", account_group=None, transport=httpx.MockTransport(vendor)
    )
    provider.sleep, provider.ready_timeout, provider.unlisted_wait = (lambda _: None), 0.0, 0.0
    return provider


def read_sonarly(provider: SonarlyProvider) -> object:
    return provider.read(
        destinations={"eu": DestinationRef("audience", "EU"), "us": DestinationRef("audience", "US")},
        owners={},
        wanted=["someone-else"],
    )


def move_sonarly(provider: SonarlyProvider) -> object:
    request = provider.move_request(ids=[PROSPECT], keys=["ann-a"], source=f"audience:{EU}", target=f"audience:{US}")
    return provider.send(request)


def test_a_sonarly_envelope_whose_data_is_a_list_is_refused() -> None:
    refused(
        lambda: read_sonarly(sonarly({GROUPS_EP: envelope([])})),
        "sonarly",
        GROUPS_EP,
        "not a page of account groups",
        "data",
    )


def test_a_sonarly_page_whose_items_are_a_string_is_refused() -> None:
    answer = envelope({"items": "abc", "nextCursor": None, "hasMore": False})
    refused(lambda: read_sonarly(sonarly({AUDIENCES_EP: answer})), "sonarly", AUDIENCES_EP, "data.items", "not a list")


def test_a_sonarly_page_whose_items_are_not_objects_is_refused() -> None:
    answer = envelope(page("p-1", "p-2"))
    refused(
        lambda: read_sonarly(sonarly({PROSPECTS_EP: answer})), "sonarly", PROSPECTS_EP, "data.items[0]", "not an object"
    )


def test_a_prospect_without_an_id_is_refused() -> None:
    answer = envelope(page({"publicIdentifier": "ann-a"}))
    refused(
        lambda: read_sonarly(sonarly({PROSPECTS_EP: answer})),
        "sonarly",
        PROSPECTS_EP,
        "not a page of prospects",
        "data.items[0].id: missing",
    )


def test_a_prospect_whose_public_identifier_is_a_list_is_refused() -> None:
    answer = envelope(page({"id": PROSPECT, "publicIdentifier": ["ann-a"]}))
    refused(lambda: read_sonarly(sonarly({PROSPECTS_EP: answer})), "sonarly", PROSPECTS_EP, "publicIdentifier")


def test_a_sonarly_cursor_that_is_an_object_is_refused() -> None:
    answer = envelope({**page({"id": EU, "name": "EU"}), "nextCursor": {"after": EU}, "hasMore": True})
    refused(
        lambda: read_sonarly(sonarly({AUDIENCES_EP: answer})),
        "sonarly",
        AUDIENCES_EP,
        "data.nextCursor",
        "not a string",
    )


def test_a_sonarly_has_more_that_is_not_a_bool_is_refused() -> None:
    answer = envelope({**page({"id": GROUP, "name": "Growth"}), "hasMore": "no"})
    refused(
        lambda: read_sonarly(sonarly({GROUPS_EP: answer})), "sonarly", GROUPS_EP, "data.hasMore", "not true or false"
    )


def test_an_account_group_without_an_id_is_refused() -> None:
    refused(
        lambda: read_sonarly(sonarly({GROUPS_EP: envelope(page({"name": "Growth"}))})),
        "sonarly",
        GROUPS_EP,
        "data.items[0].id: missing",
    )


def test_an_audience_whose_id_is_a_number_is_refused() -> None:
    answer = envelope(page({"id": 12, "name": "EU"}))
    refused(lambda: read_sonarly(sonarly({AUDIENCES_EP: answer})), "sonarly", AUDIENCES_EP, "data.items[0].id")


def test_an_audience_answered_as_a_list_is_refused() -> None:
    """An audience the list leaves out is asked for by id: that answer is checked too."""
    answers = {AUDIENCES_EP: envelope(page({"id": US, "name": "US"})), AUDIENCE_EP: envelope([EU])}
    provider = sonarly(answers)
    refused(
        lambda: provider.read(destinations={"eu": DestinationRef("audience", EU, by_id=True)}, owners={}),
        "sonarly",
        AUDIENCE_EP,
        "not an audience",
    )


def test_a_move_answered_without_moved_count_is_refused() -> None:
    refused(lambda: move_sonarly(sonarly({MOVE_EP: envelope({"moved": 1})})), "sonarly", MOVE_EP, "movedCount")


def test_a_move_whose_data_is_a_list_is_refused() -> None:
    refused(lambda: move_sonarly(sonarly({MOVE_EP: envelope([1])})), "sonarly", MOVE_EP, "data", "a list")


def test_good_sonarly_answers_read_and_move() -> None:
    provider = sonarly()
    assert [r.id for r in read_sonarly(provider).remote] == [PROSPECT]  # type: ignore[attr-defined]
    assert move_sonarly(provider).answer["movedCount"] == 1  # type: ignore[attr-defined]


# -- any JSON at all ---------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12,
)
FIELDS = [
    "id",
    "name",
    "email",
    "assigned_to",
    "campaign",
    "list_id",
    "user_id",
    "workspace_id",
    "status",
    "progress",
    "publicIdentifier",
    "linkedinUrl",
    "populating",
    "movedCount",
]
RECORD = st.dictionaries(st.sampled_from(FIELDS), JSON | st.text(min_size=1, max_size=3), max_size=6)
#: near misses: pages of records with any values, as well as any JSON at all
INSTANTLY_BODY = (
    JSON
    | RECORD
    | st.fixed_dictionaries({"items": st.lists(RECORD, max_size=3) | JSON}, optional={"next_starting_after": JSON})
)
SONARLY_DATA = (
    JSON
    | RECORD
    | st.fixed_dictionaries(
        {"items": st.lists(RECORD, max_size=3) | JSON}, optional={"nextCursor": JSON, "hasMore": JSON}
    )
)
SONARLY_BODY = JSON | st.builds(envelope, SONARLY_DATA)
SLOW = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(endpoint=st.sampled_from(sorted(INSTANTLY)), body=INSTANTLY_BODY)
def test_any_instantly_answer_reads_or_is_a_provider_error(endpoint: str, body: Any) -> None:
    provider = instantly({endpoint: body})
    try:
        if endpoint in (MOVE, JOB_POLL):
            move_instantly(provider)
        elif endpoint == ADD:
            provider.send(provider.add_request(target=f"list:{LIST}", leads=[NewLead("cara@new.test", None)]))
        elif endpoint == ASSIGN:
            request = provider.assign_request(ids=["lead-1"], keys=["k"], destination=f"list:{LIST}", owner_id=USER)
            provider.wait(provider.send(request))
        else:
            resolved = read_instantly(provider)
            assert all(isinstance(r.id, str) and r.id for r in resolved.remote)  # type: ignore[attr-defined]
            assert provider.identity().startswith("instantly:")
    except ProviderError as error:
        assert "\n" not in str(error) and str(error).startswith("instantly: ")


@SLOW
@given(endpoint=st.sampled_from(sorted(SONARLY)), body=SONARLY_BODY)
def test_any_sonarly_answer_reads_or_is_a_provider_error(endpoint: str, body: Any) -> None:
    provider = sonarly({endpoint: body})
    try:
        if endpoint == MOVE_EP:
            move_sonarly(provider)
        else:
            resolved = read_sonarly(provider)
            assert all(isinstance(r.id, str) and r.id for r in resolved.remote)  # type: ignore[attr-defined]
            assert provider.identity().startswith("sonarly:")
            provider.read(destinations={"eu": DestinationRef("audience", EU, by_id=True)}, owners={})
    except ProviderError as error:
        assert "\n" not in str(error) and str(error).startswith("sonarly: ")


# -- the workspace's identity ------------------------------------------------------------------------------------


REPORTED = "0a9c0000-0000-4000-8000-00000000f00d"  # the workspace id the (sandbox) vendor reports


def test_instantly_identity_is_the_workspace_id_the_vendor_reports() -> None:
    keys = [{"key": KEY, "scopes": ["all:*"]}, {"key": "sk_other_key_1", "scopes": ["all:*"]}]
    members = [{"user_id": USER, "email": "alice@owners.test"}]
    seed = {"api_keys": keys, "workspace_id": REPORTED, "members": members}
    with sandbox.start(seed, rate_limit=False) as running:
        # the same workspace, spelt three ways: a trailing slash, another key in another variable
        spellings = [(running.url, KEY, "$A"), (running.url + "/", KEY, "$B"), (running.url, "sk_other_key_1", "$C")]
        identities = {InstantlyProvider.connect(url, key, source).identity() for url, key, source in spellings}
    assert identities == {f"instantly:{REPORTED}"}


def test_instantly_identity_asks_for_one_member_only() -> None:
    seen: list[httpx.Request] = []
    assert instantly(seen=seen).identity() == f"instantly:{WS}"
    assert [(r.method, r.url.path, r.url.params.get("limit")) for r in seen] == [
        ("GET", "/api/v2/workspace-members", "1")
    ]


def test_instantly_identity_after_a_read_costs_no_call() -> None:
    seen: list[httpx.Request] = []
    provider = instantly(seen=seen)
    read_instantly(provider)
    calls = len(seen)
    assert provider.identity() == f"instantly:{WS}" and provider.identity() == f"instantly:{WS}"
    assert len(seen) == calls


def test_instantly_identity_falls_back_to_the_organization_id() -> None:
    member = {"id": "m-1", "user_id": USER, "email": "alice@owners.test", "organization_id": "org-9"}
    assert instantly({MEMBERS: {"items": [member]}}).identity() == "instantly:org-9"


def test_instantly_identity_of_a_workspace_without_members_is_an_error() -> None:
    refused(lambda: instantly({MEMBERS: {"items": []}}).identity(), "instantly", MEMBERS, "no workspace id")


def test_instantly_identity_without_a_workspace_id_is_an_error() -> None:
    member = {"id": "m-1", "user_id": USER, "email": "alice@owners.test"}
    refused(lambda: instantly({MEMBERS: {"items": [member]}}).identity(), "instantly", MEMBERS, "no workspace id")


def test_instantly_identity_that_is_no_plain_id_is_refused() -> None:
    """The identity names the apply lock: a vendor's `../..` is no name for a file."""
    member = {"user_id": USER, "workspace_id": "../../home/someone/.bashrc"}
    refused(lambda: instantly({MEMBERS: {"items": [member]}}).identity(), "instantly", MEMBERS, "not a plain id")


def test_a_move_whose_job_id_is_a_path_is_refused() -> None:
    """The job id goes into the poll's URL: `../leads` would make it ask for another path."""
    refused(
        lambda: move_instantly(instantly({MOVE: {"id": "../leads/lead-1"}})), "instantly", MOVE, "id: not a plain id"
    )


def test_an_account_group_whose_id_is_a_path_is_refused() -> None:
    answer = envelope(page({"id": "../../accounts", "name": "Growth"}))
    refused(
        lambda: read_sonarly(sonarly({GROUPS_EP: answer})), "sonarly", GROUPS_EP, "data.items[0].id", "not a plain id"
    )


def test_instantly_identity_from_a_bad_member_page_is_refused() -> None:
    refused(
        lambda: instantly({MEMBERS: {"items": [{"workspace_id": WS}]}}).identity(),
        "instantly",
        MEMBERS,
        "items[0].user_id: missing",
    )


def test_sonarly_identity_is_the_account_group_the_spec_names() -> None:
    groups = [{"id": GROUP, "name": "Growth"}, {"id": "65a0000000000000000000f2", "name": "Partners"}]
    seed = {
        "api_keys": [{"key": KEY, "scopes": ["all:all"]}],
        "account_groups": groups,
        "audiences": [],
        "prospects": [],
    }
    with sandbox.start(seed, rate_limit=False) as running:
        by_name = SonarlyProvider.connect(running.url, KEY, "$A", account_group="Growth").identity()
        by_id = SonarlyProvider.connect(running.url + "/v1/", KEY, "$B", account_group=GROUP).identity()
        with pytest.raises(ProviderError, match="the spec must name one"):
            SonarlyProvider.connect(running.url, KEY, "$C", account_group=None).identity()
    assert by_name == by_id == f"sonarly:{GROUP}"


def test_sonarly_identity_after_a_read_costs_no_call() -> None:
    provider = sonarly()
    read_sonarly(provider)
    calls = sum(provider.stats.calls.values())
    assert provider.identity() == f"sonarly:{GROUP}"
    assert sum(provider.stats.calls.values()) == calls
