"""The Sonarly provider against the sandbox over real HTTP: resolution, the plan's unsupported adds, the vendor's
error paths (404, 409, 422, 429 each by name), ambiguous moves, the key kept out of messages, and apply on the
Sonarly example until it converges. The fault campaign is in tests/test_sonarly_campaign.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadsync import sandbox
from leadsync.apply.applier import Applier, ApplyReport
from leadsync.apply.journal import Journal
from leadsync.errors import (
    AccessError,
    AccessRefused,
    CredentialsError,
    DestinationNotReady,
    KeyRefused,
    MovedMeanwhile,
    NotFound,
    OutcomeOpen,
    ProviderError,
    VendorRefusal,
    WriteRejected,
)
from leadsync.plan import Plan, dump_plan
from leadsync.providers._http import RateLimiter, RetryPolicy
from leadsync.providers.capabilities import SONARLY
from leadsync.providers.sonarly import AUDIENCE, MOVE_ENDPOINT, PROSPECTS, SonarlyProvider
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.state import ConflictReason, DestinationRef, ResolvedWorkspace
from leadsync.workflow import destination_refs, make_spec_plan, owner_emails, plan_spec, snapshot_source

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
EXAMPLE = ("sonarly-sandbox.yaml", "sonarly-sandbox.leads.csv", "sonarly-sandbox.remote.json")
SEED: dict[str, Any] = json.loads((EXAMPLES / "sonarly-sandbox.remote.json").read_text())
CANARY = "sk_live_CANARY_5e2b8d0f1a"
READ_ONLY = "sk_live_audiences_only"
GROWTH, PARTNERS = "65a000000000000000000001", "65a000000000000000000002"
EU, US, TECH, ARCHIVE, IMPORTING, PARTNERS_EU = (f"65b00000000000000000000{i}" for i in range(1, 7))
SOLO, INBOX, QUALIFIED, BUILDING = "65a0000000000000000000a1", *(f"65b0000000000000000000a{i}" for i in (1, 2, 3))
GET_AUDIENCE, GET_PROSPECTS = f"GET {AUDIENCE}", f"GET {PROSPECTS}"


def api_keys() -> list[dict[str, Any]]:
    return [
        {"key": CANARY, "scopes": ["all:all"]},
        {"key": READ_ONLY, "scopes": ["audiences:read"]},
    ]


def example_seed() -> dict[str, Any]:
    return {**SEED, "api_keys": api_keys()}


def small_seed() -> dict[str, Any]:
    """One account group: Inbox holds five prospects, Qualified none, Building is being populated for good."""
    prospects = [
        {
            "id": f"65c0000000000000000000b{i}",
            "audience_id": INBOX,
            "publicIdentifier": f"person-{i}",
            "linkedinUrl": f"https://www.linkedin.com/in/person-{i}/",
            "firstName": "P",
            "lastName": str(i),
        }
        for i in range(1, 6)
    ]
    return {
        "api_keys": api_keys(),
        "account_groups": [{"id": SOLO, "name": "Solo"}],
        "audiences": [
            {"id": INBOX, "name": "Inbox", "account_group_id": SOLO, "populating": False},
            {"id": QUALIFIED, "name": "Qualified", "account_group_id": SOLO, "populating": False},
            {"id": BUILDING, "name": "Building", "account_group_id": SOLO, "populating": True},
        ],
        "prospects": prospects,
    }


SMALL_IDS = [f"65c0000000000000000000b{i}" for i in range(1, 6)]
LATER = "65b0000000000000000000a4"


def seed_with_later() -> dict[str, Any]:
    """The small seed and one more ready audience, Later, that no spec manages: somewhere to be moved away to."""
    seed = small_seed()
    later = {"id": LATER, "name": "Later", "account_group_id": SOLO, "populating": False}
    return {**seed, "audiences": [*seed["audiences"], later]}


def connect(
    running: sandbox.RunningSandbox,
    key: str = CANARY,
    group: str | None = "Growth Team",
    kind: type[SonarlyProvider] = SonarlyProvider,
) -> SonarlyProvider:
    """A provider on the sandbox with short waits, so that the tests do not sleep for long."""
    provider = kind.connect(running.url, key, "$SONARLY_API_KEY", account_group=group)
    provider.ready_timeout, provider.unlisted_wait, provider.poll = 5.0, 0.3, (0.005, 0.05)
    provider.client.retry = RetryPolicy(attempts=12, base=0.001, cap=0.01)
    provider.client.limiter = RateLimiter(1000, 60000)  # the sandbox's limit is off: no need to pace
    return provider


@pytest.fixture
def example(tmp_path: Path) -> Path:
    for name in EXAMPLE:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path / "sonarly-sandbox.yaml"


@pytest.fixture
def workspace() -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(example_seed(), rate_limit=False) as running:
        yield running


@pytest.fixture
def small() -> Iterator[Callable[..., sandbox.RunningSandbox]]:
    started: list[sandbox.RunningSandbox] = []

    def make(faults: str | None = None) -> sandbox.RunningSandbox:
        started.append(sandbox.start(small_seed(), rate_limit=False, faults=faults))
        return started[-1]

    yield make
    for running in started:
        running.stop(wait=False)


def live(provider: SonarlyProvider) -> Callable[[LoadedSpec, frozenset[str]], ResolvedWorkspace]:
    def read(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
        spec = loaded.spec
        return provider.read(destinations=destination_refs(spec), owners=owner_emails(spec), wanted=wanted)

    return read


def read_example(provider: SonarlyProvider, spec_path: Path, wanted: frozenset[str] = frozenset()) -> ResolvedWorkspace:
    return live(provider)(load_spec(spec_path), wanted)


def where(running: sandbox.RunningSandbox) -> dict[str, str]:
    """Prospect id -> audience id, from the sandbox's state."""
    return {p["id"]: p["audience_id"] for p in running.state()["prospects"]}


# -- reading ------------------------------------------------------------------------------------------------


def test_a_live_read_plans_exactly_like_its_snapshot(workspace: sandbox.RunningSandbox, example: Path) -> None:
    provider = connect(workspace)
    planned = plan_spec(example, live(provider)).plan
    saved = plan_spec(example, snapshot_source(example.parent / "sonarly-sandbox.remote.json")).plan
    live_doc, saved_doc = json.loads(dump_plan(planned)), json.loads(dump_plan(saved))
    live_doc.pop("calls"), saved_doc.pop("calls")  # the snapshot holds records no live read fetches
    assert live_doc == saved_doc
    assert planned.fingerprint == saved.fingerprint
    assert planned.workspace.id == GROWTH
    calls = workspace.stats()["calls"]
    assert provider.stats.calls == calls
    # three managed audiences, and Archive for the people found in none of them; never Partners' or Q3 Import
    assert calls[GET_PROSPECTS] == 4


def test_the_account_group_by_name_or_by_id(workspace: sandbox.RunningSandbox, example: Path) -> None:
    by_name = read_example(connect(workspace, group="Growth Team"), example)
    by_id = read_example(connect(workspace, group=GROWTH), example)
    assert by_name == by_id
    assert by_name.workspace_id == GROWTH
    assert by_name.destination_refs == {
        "founders-eu": f"audience:{EU}",
        "founders-us": f"audience:{US}",
        "tech-leaders": f"audience:{TECH}",
    }


def test_an_unknown_account_group_names_the_groups_the_key_sees(
    workspace: sandbox.RunningSandbox, example: Path
) -> None:
    with pytest.raises(
        AccessError,
        match=r"no account group 'Growth' is visible to the key in \$SONARLY_API_KEY "
        r"\(it sees: 'Growth Team', 'Partners'\)",
    ):
        read_example(connect(workspace, group="Growth"), example)


def test_a_same_named_audience_of_another_group_is_not_ours(workspace: sandbox.RunningSandbox) -> None:
    provider = connect(workspace)
    destinations = {
        "founders-eu": DestinationRef("audience", "Founders EU"),
        "theirs": DestinationRef("audience", PARTNERS_EU, by_id=True),  # Partners' Founders EU, by id
    }
    resolved = provider.read(destinations=destinations, owners={})
    assert resolved.destination_refs == {"founders-eu": f"audience:{EU}"}
    assert [(c.subject, c.reason) for c in resolved.conflicts] == [("theirs", ConflictReason.UNKNOWN_DESTINATION)]
    partners_people = {p["id"] for p in SEED["prospects"] if p["audience_id"] == PARTNERS_EU}
    assert partners_people and not partners_people & {r.id for r in resolved.remote}


def test_profile_urls_in_any_form_normalise_to_the_public_identifier(
    workspace: sandbox.RunningSandbox, example: Path
) -> None:
    people = {lead.key for lead in load_leads(load_spec(example)).leads}
    resolved = read_example(connect(workspace), example, frozenset(people))
    keys = {r.id: r.key for r in resolved.remote}
    url_only = [p for p in SEED["prospects"] if p["publicIdentifier"] is None and p["id"] in keys]
    assert url_only  # prospects known only by a profile URL on a country subdomain, with a query
    for prospect in url_only:
        assert keys[prospect["id"]] == prospect["linkedinUrl"].split("/in/")[1].split("?")[0]
    # the CSV names people by URL, bare identifier and Title-Cased country URL: every one of them who is in the
    # account group is found under the same key
    profiles = [row.split(",")[0] for row in (example.parent / EXAMPLE[1]).read_text().splitlines()[1:]]
    assert any(p.startswith("https://www.linkedin.com/in/") for p in profiles)
    assert any(p.startswith("linkedin.com/in/") for p in profiles)
    assert any("/" not in p for p in profiles)
    assert any(p.startswith("https://de.linkedin.com/in/") and "?" in p and p != p.lower() for p in profiles)
    assert len(people & set(keys.values())) == 39  # the first 39 people are the group's (see make_examples.py)


def test_people_in_no_managed_audience_are_unsupported_never_added(
    workspace: sandbox.RunningSandbox, example: Path
) -> None:
    plan = plan_spec(example, live(connect(workspace))).plan
    assert {op.op for op in plan.operations} == {"move"}
    assert plan.summary.unsupported == 5 and plan.summary.add == 0
    assert {u.reason for u in plan.unsupported} == {"the provider cannot add leads"}
    # two of them are prospects of another account group, three of none: both kinds are unsupported
    assert {u.key for u in plan.unsupported} >= {"umar-schmidt-2039", "mira-petit-2040"}
    assert plan.calls.by_endpoint.get(MOVE_ENDPOINT) == len(plan.operations)
    assert not [c for c in workspace.stats()["calls"] if c.startswith("POST")]  # planning writes nothing


def test_a_populating_audience_named_by_id_is_not_ready(small: Callable[..., sandbox.RunningSandbox]) -> None:
    provider = connect(small(), group="Solo")
    provider.ready_timeout = 0.2
    destinations = {
        "inbox": DestinationRef("audience", "Inbox"),
        "building": DestinationRef("audience", BUILDING, True),
    }
    resolved = provider.read(destinations=destinations, owners={})
    assert resolved.managed == {"inbox"} and len(resolved.remote) == 5
    assert [(c.subject, c.reason) for c in resolved.conflicts] == [("building", ConflictReason.DESTINATION_NOT_READY)]


def test_409_an_audience_that_starts_populating_during_a_read_is_waited_for(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small("populating=1:path=*/prospects:count=1:requests=3")
    provider = connect(running, group="Solo")
    destinations = {"inbox": DestinationRef("audience", "Inbox"), "qualified": DestinationRef("audience", "Qualified")}
    resolved = provider.read(destinations=destinations, owners={})
    assert resolved.conflicts == () and sorted(r.id for r in resolved.remote) == SMALL_IDS
    assert running.stats()["calls"][GET_AUDIENCE] >= 1  # polled until ready, then listed again


# -- writing ------------------------------------------------------------------------------------------------


def move(provider: SonarlyProvider, ids: list[str] = SMALL_IDS, source: str = INBOX, target: str = QUALIFIED) -> Any:
    request = provider.move_request(
        ids=ids,
        keys=[f"k{i}" for i in range(len(ids))],
        source=f"audience:{source}",
        target=f"audience:{target}",
        owner_id=None,
    )
    return provider.send(request)


def test_move_leads_sends_the_documented_body(small: Callable[..., sandbox.RunningSandbox]) -> None:
    running = small()
    provider = connect(running, group="Solo")
    request = provider.move_request(
        ids=SMALL_IDS[:2], keys=["a", "b"], source=f"audience:{INBOX}", target=f"audience:{QUALIFIED}", owner_id=None
    )
    assert request.path == f"/v1/accounts/{SOLO}/audiences/{INBOX}/move-leads"
    assert request.endpoint == MOVE_ENDPOINT
    assert request.body == {"targetAudienceId": QUALIFIED, "leadIds": SMALL_IDS[:2]}
    result = provider.send(request)
    provider.wait(result)
    assert result.answer["movedCount"] == 2 and len(result.answer["traceId"]) == 24
    assert [where(running)[i] for i in SMALL_IDS] == [QUALIFIED] * 2 + [INBOX] * 3


def test_sonarly_cannot_add_assign_or_remove() -> None:
    provider = SonarlyProvider.connect("https://api.sonarly.test/v1", CANARY, "$K", account_group="Solo")
    assert SonarlyProvider.capabilities is SONARLY and not (SONARLY.add or SONARLY.assign or SONARLY.remove)
    with pytest.raises(ProviderError, match="cannot add people to an audience"):
        provider.add_request(target=f"audience:{INBOX}", leads=[])
    with pytest.raises(ProviderError, match="no owners"):
        provider.assign_request(ids=["x"], keys=["k"], destination=f"audience:{INBOX}", owner_id="u")
    with pytest.raises(ProviderError, match="cannot remove"):
        provider.remove_request(ids=["x"], keys=["k"], destination=f"audience:{INBOX}")
    with pytest.raises(ProviderError, match="cannot set an owner"):
        provider.move_request(
            ids=["x"], keys=["k"], source=f"audience:{INBOX}", target=f"audience:{QUALIFIED}", owner_id="u"
        )


def test_404_a_missing_audience_is_not_found_with_the_vendors_message_and_trace(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small()
    with pytest.raises(NotFound) as caught:
        move(connect(running, group="Solo"), source="65b0000000000000000000ff")
    error = caught.value
    assert isinstance(error, AccessError) and error.status == 404 and error.code == "NOT_FOUND"
    assert error.vendor_message == "Audience not found" and error.trace_id and len(error.trace_id) == 24
    assert str(error).startswith(f"sonarly: {MOVE_ENDPOINT}: not found (404): Audience not found (audienceId: ")
    assert f"traceId {error.trace_id}]" in str(error)


def test_409_a_populating_audience_is_waited_for_then_the_move_proceeds(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small("populating=1:path=*/move-leads:count=1:requests=3")
    result = move(connect(running, group="Solo"))
    assert result.answer["movedCount"] == 5 and result.answer["resent"] == 1
    calls = running.stats()["calls"]
    assert calls[MOVE_ENDPOINT] == 2 and calls[GET_AUDIENCE] >= 2  # refused once, both audiences polled
    assert set(where(running).values()) == {QUALIFIED}


def test_409_an_audience_populating_past_the_time_limit_is_reported(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small()
    provider = connect(running, group="Solo")
    provider.ready_timeout = 0.1
    with pytest.raises(DestinationNotReady) as caught:
        move(provider, target=BUILDING)
    message = str(caught.value)
    assert (
        "an audience is being populated (409): The audience is being populated by an active prospecting job" in message
    )
    assert "AUDIENCE_NOT_READY, traceId " in message and message.endswith("still so after waiting 0.1 s")
    assert isinstance(caught.value, OutcomeOpen)  # for the applier: re-read and re-plan, not a failure
    assert set(where(running).values()) == {INBOX}


def test_422_a_refusal_the_audiences_do_not_explain_fails_with_the_vendors_message(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small()
    provider = connect(running, group="Solo")
    good = provider.move_request(
        ids=SMALL_IDS[:2], keys=["a", "b"], source=f"audience:{INBOX}", target=f"audience:{QUALIFIED}", owner_id=None
    )
    # a request the vendor refuses whatever the state (a bug of ours: a move from Inbox to itself)
    bad = replace(good, body={**good.body, "targetAudienceId": INBOX})
    with pytest.raises(WriteRejected) as caught:
        provider.send(bad)
    error = caught.value
    assert not isinstance(error, OutcomeOpen) and not isinstance(error, MovedMeanwhile)  # the applier stops on it
    assert error.status == 422 and error.code == "LEAD_MOVE_INVALID"
    assert "the move was rejected (422): Source and target audiences must be distinct" in str(error)
    assert f"[LEAD_MOVE_INVALID, traceId {error.trace_id}]" in str(error)
    calls = running.stats()["calls"]
    assert calls[MOVE_ENDPOINT] == 1  # checked by reading back (every prospect still in Inbox), never re-sent
    assert set(where(running).values()) == {INBOX}


def test_422_a_prospect_already_in_the_target_is_settled_by_reading_back(
    small: Callable[..., sandbox.RunningSandbox],
) -> None:
    running = small()
    provider = connect(running, group="Solo")
    move(provider, ids=SMALL_IDS[:1])  # someone else moved the first one where we want it
    result = move(provider, ids=SMALL_IDS[:2])  # 422: "1 lead(s) are not in the source audience"
    assert result.answer["movedCount"] == 2 and result.answer["resent"] == 1
    assert running.stats()["calls"][MOVE_ENDPOINT] == 3  # the first, the refused one, the rest re-sent
    assert [where(running)[i] for i in SMALL_IDS] == [QUALIFIED] * 2 + [INBOX] * 3


def test_422_prospects_moved_elsewhere_meanwhile_is_an_open_outcome(tmp_path: Path) -> None:
    with sandbox.start(seed_with_later(), rate_limit=False) as running:
        provider = connect(running, group="Solo")
        move(provider, ids=SMALL_IDS[:1], target=LATER)  # a colleague moved the first one to another audience
        with pytest.raises(MovedMeanwhile) as caught:
            move(provider, ids=SMALL_IDS[:3])
        assert isinstance(caught.value, OutcomeOpen) and isinstance(caught.value, WriteRejected)
        assert "1 of 3 prospects left the source meanwhile" in str(caught.value) and "2 moved" in str(caught.value)
        assert [where(running)[i] for i in SMALL_IDS[:3]] == [LATER, QUALIFIED, QUALIFIED]  # the rest did move


def test_429_backs_off_and_the_move_goes_through(small: Callable[..., sandbox.RunningSandbox]) -> None:
    running = small("429=1:on=writes:burst=2:count=1:retry_after=2")
    provider = connect(running, group="Solo")
    provider.client.retry = RetryPolicy()
    slept: list[float] = []
    provider.client.sleep = slept.append  # type: ignore[method-assign]
    result = move(provider)
    assert slept == [2, 2]  # the vendor's Retry-After, twice
    assert result.answer == {"movedCount": 5, "traceId": result.answer["traceId"], "resent": 0}
    assert running.stats()["calls"][MOVE_ENDPOINT] == 3 and provider.stats.retries == 2


@pytest.mark.parametrize(
    ("faults", "posts"),
    [("drop=1:when=after:on=writes:count=1", 1), ("5xx=1:when=before:status=500:on=writes:count=1", 2)],
)
def test_an_ambiguous_move_is_settled_by_reading_both_audiences(
    small: Callable[..., sandbox.RunningSandbox], faults: str, posts: int
) -> None:
    running = small(faults)
    result = move(connect(running, group="Solo"))
    # applied and its answer lost: nothing is sent again; not applied: sent again, once
    assert result.answer["movedCount"] == 5 and result.answer["resent"] == 1
    calls = running.stats()["calls"]
    assert calls[MOVE_ENDPOINT] == posts and calls[GET_PROSPECTS] == 2
    assert set(where(running).values()) == {QUALIFIED}


# -- the key --------------------------------------------------------------------------------------------------


def test_the_api_key_never_appears_in_an_error(small: Callable[..., sandbox.RunningSandbox]) -> None:
    running = small()
    messages = []
    failures: list[Callable[[], object]] = [
        lambda: move(connect(running, key=CANARY + "x", group="Solo")),  # 401
        lambda: connect(running, key=READ_ONLY, group="Solo").read(  # 403: no prospects:read
            destinations={"inbox": DestinationRef("audience", "Inbox")}, owners={}
        ),
        lambda: move(connect(running, group="Solo"), source="65b0000000000000000000ff"),  # 404
        lambda: move(connect(running, group="Solo"), ids=["65c0000000000000000000ff"]),  # 422
        lambda: connect(running, group="Nope").read(destinations={}, owners={}),
    ]
    for failure in failures:
        with pytest.raises(ProviderError) as caught:
            failure()
        messages.append(str(caught.value))
    assert isinstance(caught.value, AccessError)
    assert "the key in $SONARLY_API_KEY was refused (401)" in messages[0]
    assert "the key in $SONARLY_API_KEY lacks a permission (403)" in messages[1]
    encoded = base64.b64encode(CANARY.encode()).decode()
    assert not [m for m in messages if CANARY in m or encoded in m]


def test_a_key_the_vendor_echoes_back_is_blanked() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        echoed = f"bad header {request.headers['authorization']} ({base64.b64encode(CANARY.encode()).decode()})"
        body = {
            "success": False,
            "data": None,
            "traceId": "65f000000000000000000001",
            "error": {"code": "VALIDATION_ERROR", "message": echoed, "details": CANARY},
        }
        return httpx.Response(400, json=body)

    provider = SonarlyProvider.connect(
        "https://api.sonarly.test/v1", CANARY, "$K", account_group=None, transport=httpx.MockTransport(vendor)
    )
    with pytest.raises(VendorRefusal) as caught:
        provider.read(destinations={}, owners={})
    assert CANARY not in str(caught.value) and CANARY not in caught.value.vendor_message
    assert "bad header Bearer [redacted] ([redacted])" in str(caught.value)


def test_a_refused_key_and_a_missing_permission_are_typed(small: Callable[..., sandbox.RunningSandbox]) -> None:
    running = small()
    with pytest.raises(KeyRefused):
        connect(running, key="sk_live_unknown", group="Solo").read(destinations={}, owners={})
    with pytest.raises(AccessRefused):
        connect(running, key=READ_ONLY, group="Solo").read(
            destinations={"inbox": DestinationRef("audience", "Inbox")}, owners={}
        )
    assert issubclass(KeyRefused, CredentialsError)


# -- the base URL ---------------------------------------------------------------------------------------------


def test_the_sandbox_url_and_the_vendors_base_url_name_the_same_api(
    workspace: sandbox.RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONARLY_TEST_KEY", CANARY)
    for url in (workspace.url, workspace.url + "/v1", workspace.url + "/v1/"):
        monkeypatch.setenv("LEADSYNC_SONARLY_BASE_URL", url)
        provider = SonarlyProvider.from_environment("SONARLY_TEST_KEY", account_group="Growth Team")
        assert provider.read(destinations={}, owners={}).workspace_id == GROWTH
    seen: list[str] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = {"items": [{"id": GROWTH, "name": "Growth Team"}], "nextCursor": None, "hasMore": False}
        return httpx.Response(200, json={"success": True, "data": page, "error": None, "traceId": "t"})

    monkeypatch.delenv("LEADSYNC_SONARLY_BASE_URL")
    provider = SonarlyProvider.from_environment(
        "SONARLY_TEST_KEY", account_group=GROWTH, transport=httpx.MockTransport(vendor)
    )
    assert provider.move_request(ids=["p"], keys=["k"], source=f"audience:{EU}", target=f"audience:{US}").path == (
        f"/v1/accounts/{GROWTH}/audiences/{EU}/move-leads"
    )
    assert seen == ["https://api.sonarly.io/v1/accounts?limit=100"]
    monkeypatch.setenv("LEADSYNC_SONARLY_BASE_URL", "http://api.sonarly.io/v1")
    with pytest.raises(ProviderError, match="must be an https URL"):
        SonarlyProvider.from_environment("SONARLY_TEST_KEY", account_group=GROWTH)
    monkeypatch.delenv("SONARLY_TEST_KEY")
    with pytest.raises(CredentialsError, match="set the environment variable SONARLY_TEST_KEY"):
        SonarlyProvider.from_environment("SONARLY_TEST_KEY", account_group=GROWTH)


# -- apply on the example -------------------------------------------------------------------------------------


def apply(provider: SonarlyProvider, spec_path: Path) -> tuple[ApplyReport, Plan]:
    """What `leadsync apply` does with a provider: plan, write, re-read and re-plan until converged."""
    loaded = load_spec(spec_path)
    leads = load_leads(loaded)
    wanted = frozenset(lead.key for lead in leads.leads)

    def replan() -> tuple[Plan, ResolvedWorkspace]:
        resolved = live(provider)(loaded, wanted)
        return make_spec_plan(loaded, leads, resolved), resolved

    plan, resolved = replan()
    journal = Journal(spec_path.parent / ".leadsync" / "sonarly.journal.jsonl")
    journal.path.parent.mkdir(exist_ok=True)
    try:
        report = Applier(provider, journal, max_rounds=8).run(plan, resolved, replan, ApplyReport())
    finally:
        journal.close()
    return report, plan


def test_the_example_plans_applies_and_plans_again_with_no_changes(
    workspace: sandbox.RunningSandbox, example: Path
) -> None:
    from leadsync.render.text import render_text

    report, first = apply(connect(workspace), example)
    assert first.summary.move == 7 and first.summary.unsupported == 5
    assert report.converged and report.writes == len(first.operations) and report.rounds == 1
    again = plan_spec(example, live(connect(workspace))).plan
    assert not again.operations and again.summary.unsupported == 5
    assert "No changes." in render_text(again)
