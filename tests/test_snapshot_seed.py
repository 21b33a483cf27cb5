"""A snapshot is a seed: `leadsync snapshot` of a workspace loads as the seed of a sandbox, and snapshotting that
sandbox gives the same snapshot again (and the same plan), for Instantly and Sonarly, the examples and random
small workspaces. Vendor-shaped records (read-only fields included) load; typos are still refused."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync import sandbox
from leadsync.cli import main
from leadsync.errors import SeedError
from leadsync.plan import dump_plan
from leadsync.providers import resolve_snapshot
from leadsync.providers._http import RateLimiter, RetryPolicy
from leadsync.providers.instantly import InstantlyProvider
from leadsync.providers.sonarly import SonarlyProvider
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.state import DestinationRef, KeyKind, ResolvedWorkspace
from leadsync.workflow import destination_refs, owner_emails, plan_spec, snapshot_source

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
Provider = InstantlyProvider | SonarlyProvider

# (spec, the seed of the workspace it is read from); the vendor specs' workspaces are sandboxes seeded so
CASES = [
    ("quickstart.yaml", "quickstart.remote.json"),
    ("acme-routing.yaml", "acme-routing.remote.json"),
    ("sonarly-sandbox.yaml", "sonarly-sandbox.remote.json"),
    ("sonarly-founders.yaml", "sonarly-sandbox.remote.json"),
]


def connect(running: sandbox.RunningSandbox, group: str | None = None) -> Provider:
    """A provider on `running` with its own key, short waits and no pacing (the sandbox's limit is off)."""
    assert running.api_key is not None
    provider: Provider
    if running.vendor == "sonarly":
        provider = SonarlyProvider.connect(running.url, running.api_key, "$K", account_group=group)
        provider.ready_timeout, provider.unlisted_wait, provider.poll = 0.3, 0.05, (0.005, 0.02)
    else:
        provider = InstantlyProvider.connect(running.url, running.api_key, "$K")
    provider.client.retry = RetryPolicy(attempts=3, base=0.001, cap=0.01)
    provider.client.limiter = RateLimiter(10_000, 600_000)
    return provider


@contextmanager
def workspace(seed: Any, group: str | None = None) -> Iterator[Provider]:
    running = sandbox.start(seed, rate_limit=False)
    provider = connect(running, group)
    try:
        yield provider
    finally:
        provider.close()
        running.stop(wait=False)  # it winds down in its own thread: the hypothesis tests start dozens


def snapshot_of(provider: Provider, loaded: LoadedSpec) -> dict[str, Any]:
    """What `leadsync snapshot` saves, as JSON would keep it."""
    wanted = frozenset(lead.key for lead in load_leads(loaded).leads)
    return json.loads(json.dumps(provider.read_data(destinations=destination_refs(loaded.spec), wanted=wanted)))


def live(provider: Provider) -> Callable[[LoadedSpec, frozenset[str]], ResolvedWorkspace]:
    def read(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
        return provider.read(
            destinations=destination_refs(loaded.spec), owners=owner_emails(loaded.spec), wanted=wanted
        )

    return read


def plan_doc(spec: Path, source: Callable[[LoadedSpec, frozenset[str]], ResolvedWorkspace]) -> dict[str, Any]:
    """The plan document without what only a live read has (its cost) or counts (predicted reads)."""
    doc = json.loads(dump_plan(plan_spec(spec, source).plan))
    doc.pop("calls")
    doc["workspace"].pop("read", None)
    return doc


@pytest.mark.parametrize(("spec_name", "seed_name"), CASES)
def test_snapshot_seed_snapshot_is_a_fixed_point_and_plans_alike(
    spec_name: str, seed_name: str, tmp_path: Path
) -> None:
    spec = EXAMPLES / spec_name
    loaded = load_spec(spec)
    seed = json.loads((EXAMPLES / seed_name).read_text(encoding="utf-8"))
    group = loaded.spec.workspace.account_group
    with workspace(seed, group) as provider:
        first = snapshot_of(provider, loaded)
        live_plan = plan_doc(spec, live(provider))
    assert first["api_keys"] == []  # a snapshot never saves a key
    with workspace(first, group) as provider:  # the snapshot as the seed, as it is
        second = snapshot_of(provider, loaded)
        reseeded_plan = plan_doc(spec, live(provider))
    assert second == first
    saved = tmp_path / "snap.json"
    saved.write_text(json.dumps(first), encoding="utf-8")
    assert plan_doc(spec, snapshot_source(saved)) == live_plan == reseeded_plan


def test_the_cli_snapshot_serves_as_a_seed(tmp_path: Path) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    snap_path = tmp_path / "snap.json"
    result = CliRunner().invoke(main, ["snapshot", str(tmp_path / "quickstart.yaml"), "--out", str(snap_path)])
    assert result.exit_code == 0, result.output
    snap = json.loads(snap_path.read_text(encoding="utf-8"))
    assert {lead.get("organization") for lead in snap["leads"]} != {None}  # vendor-shaped: read-only fields too

    # `leadsync sandbox serve --seed snap.json` starts (it used to refuse: unknown field 'organization') ...
    command = [
        sys.executable,
        "-c",
        "from leadsync.cli import main; main()",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--rate-limit",
        "off",
        "--seed",
        str(snap_path),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + server.stdout.read()
        url = line.split("listening on ", 1)[1].split()[0]
        # ... with the default key (a snapshot has none) and the snapshot's workspace
        answer = httpx.post(
            url + "/api/v2/leads/list",
            json={"limit": 100},
            headers={"Authorization": "Bearer sandbox"},
            trust_env=False,
        )
        assert answer.status_code == 200
        assert sorted(lead["id"] for lead in answer.json()["items"]) == sorted(lead["id"] for lead in snap["leads"])
        assert {lead["organization"] for lead in answer.json()["items"]} == {snap["leads"][0]["organization"]}
    finally:
        server.terminate()
        server.wait(20)

    # ... and a spec seeded from the snapshot plans as the spec seeded from the workspace it was taken of
    spec_text = (tmp_path / "quickstart.yaml").read_text(encoding="utf-8")
    assert "seed: quickstart.remote.json" in spec_text
    (tmp_path / "from-snap.yaml").write_text(spec_text.replace("quickstart.remote.json", snap_path.name), "utf-8")
    plans = []
    for name in ("quickstart.yaml", "from-snap.yaml"):
        out = CliRunner().invoke(main, ["plan", str(tmp_path / name), "--format", "json"])
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout)
        doc.pop("calls"), doc.pop("spec"), doc["workspace"].pop("read")  # records paged differ: the snapshot
        plans.append(doc)  # holds only what the read fetched
    assert plans[0] == plans[1]


# -- vendor-shaped records, and what is still refused --------------------------------------------------------

WORKSPACE = "01959272-5d2b-7a87-a5d7-199f18e7bfc7"
CAMPAIGN = "01959272-5d2b-7a87-a5d7-19a0c5e1fc64"
USER = "01959272-5d2b-7a87-a5d7-19a7ec8d1ed6"
LIST = "01959272-5d2b-7a87-a5d7-19a811570001"
#: the vendor's example Lead (its API reference), every read-only field included, in one place (no list_id)
VENDOR_LEAD: dict[str, Any] = {
    "id": "01959272-5d2b-7a87-a5d7-199e472e6366",
    "timestamp_created": "2025-03-14T02:18:43.371Z",
    "timestamp_updated": "2025-03-14T02:18:43.371Z",
    "organization": WORKSPACE,
    "campaign": CAMPAIGN,
    "status": 1,
    "email": "example@example.com",
    "personalization": "Hello, how are you?",
    "website": "https://example.com",
    "last_name": "Doe",
    "first_name": "John",
    "company_name": "Example Inc.",
    "phone": "+1234567890",
    "email_open_count": 0,
    "email_reply_count": 0,
    "email_click_count": 0,
    "company_domain": "example.com",
    "status_summary": {
        "from": "campaign",
        "stepID": "01959272-5d2b-7a87-a5d7-19a16e3e6e6d",
        "timestamp_executed": "2025-03-14T02:18:43.371Z",
    },
    "payload": {"firstName": "John", "lastName": "Doe", "property1": None},
    "status_summary_subseq": {
        "from": "campaign",
        "stepID": "01959272-5d2b-7a87-a5d7-19a2b3a9c292",
        "timestampExecuted": "2025-03-14T02:18:43.371Z",
    },
    "last_step_from": "campaign",
    "last_step_id": "01959272-5d2b-7a87-a5d7-19a341212045",
    "last_step_timestamp_executed": "2025-03-14T02:18:43.371Z",
    "email_opened_step": 1,
    "email_opened_variant": 1,
    "email_replied_step": 1,
    "email_replied_variant": 1,
    "email_clicked_step": 1,
    "email_clicked_variant": 1,
    "lt_interest_status": 1,
    "subsequence_id": "01959272-5d2b-7a87-a5d7-19a4a1eedf0d",
    "verification_status": 1,
    "pl_value_lead": "High",
    "timestamp_added_subsequence": "2025-03-14T02:18:43.371Z",
    "timestamp_last_contact": "2025-03-14T02:18:43.371Z",
    "timestamp_last_open": "2025-03-14T02:18:43.371Z",
    "timestamp_last_reply": "2025-03-14T02:18:43.371Z",
    "timestamp_last_interest_change": "2025-03-14T02:18:43.371Z",
    "timestamp_last_click": "2025-03-14T02:18:43.371Z",
    "enrichment_status": 1,
    "last_contacted_from": "email",
    "uploaded_by_user": "01959272-5d2b-7a87-a5d7-19a694ff3588",
    "upload_method": "manual",
    "assigned_to": USER,
    "is_website_visitor": True,
    "timestamp_last_touch": "2025-03-14T02:18:43.371Z",
    "esp_code": 1,
}


def vendor_seed() -> dict[str, Any]:
    return {
        "members": [{"user_id": USER, "email": "ana@acme.test", "workspace_id": WORKSPACE}],
        "campaigns": [{"id": CAMPAIGN, "name": "Q1", "organization": WORKSPACE}],
        "lists": [{"id": LIST, "name": "Later", "organization_id": WORKSPACE}],
        "leads": [dict(VENDOR_LEAD)],
    }


def test_a_vendor_shaped_record_loads_and_is_answered_as_the_vendor_gave_it() -> None:
    with sandbox.start(vendor_seed(), rate_limit=False) as running:
        answer = httpx.get(
            f"{running.url}/api/v2/leads/{VENDOR_LEAD['id']}",
            trust_env=False,
            headers={"Authorization": f"Bearer {running.api_key}"},
        ).json()
        state = running.state()
    assert answer == {**VENDOR_LEAD, "list_id": None}
    # the workspace's id is the records' (stored once, not on each record: the sandbox derives it)
    assert state["workspace_id"] == WORKSPACE and "organization" not in state["leads"][0]
    assert "workspace_id" not in state["members"][0] and "organization" not in state["campaigns"][0]


def refusals(seed: dict[str, Any]) -> list[str]:
    with pytest.raises(SeedError) as caught:
        sandbox.read_seed(seed, None)
    return [str(problem) for problem in caught.value.problems]


def test_a_field_that_is_no_vendor_field_is_still_refused_where_it_is() -> None:
    seed = vendor_seed()
    seed["leads"][0]["orgnization"] = WORKSPACE
    seed["campaigns"][0]["organisation"] = WORKSPACE
    assert sorted(refusals(seed)) == [
        "<seed>: campaigns[0]: unknown field 'organisation'",
        "<seed>: leads[0]: unknown field 'orgnization'",
    ]


def test_records_of_another_workspace_are_refused() -> None:
    seed = vendor_seed()
    elsewhere = "01959272-5d2b-7a87-a5d7-199f18e70000"  # a workspace id, but another workspace's
    seed["leads"].append(
        {"id": "01959272-5d2b-7a87-a5d7-19a900000002", "campaign": CAMPAIGN, "organization": elsewhere}
    )
    seed["leads"].append(
        {"id": "01959272-5d2b-7a87-a5d7-19a900000003", "campaign": CAMPAIGN, "organization": WORKSPACE}
    )
    assert refusals(seed) == [
        f"<seed>: leads[1].organization: '{elsewhere}' is not this workspace's id '{WORKSPACE}' (5 of 6 records): "
        "a seed is one workspace"
    ]
    seed["leads"].pop(1)
    problems = refusals({**seed, "workspace_id": elsewhere})
    assert len(problems) == 5 and all("(workspace_id)" in p for p in problems)
    assert (
        f"<seed>: members[0].workspace_id: '{WORKSPACE}' is not this workspace's id '{elsewhere}' "
        "(workspace_id): a seed is one workspace" in problems
    )


def test_a_keyless_seed_gets_the_default_key() -> None:
    data, vendor = sandbox.read_seed({"leads": [], "api_keys": []}, None)
    assert (vendor, data["api_keys"]) == ("instantly", [{"key": "sandbox", "scopes": ["all:all"]}])
    data, vendor = sandbox.read_seed({"account_groups": []}, None)
    assert (vendor, data["api_keys"]) == ("sonarly", [{"key": "sk_live_sandbox", "scopes": ["all:all"]}])


def test_an_audience_without_a_name_must_be_one_being_populated() -> None:
    group, audience = "65a000000000000000000001", "65b000000000000000000001"
    seed = {
        "account_groups": [{"id": group, "name": "G"}],
        "audiences": [{"id": audience, "name": None, "account_group_id": group, "populating": True}],
    }
    sandbox.read_seed(seed, None)  # a snapshot of an audience named by id that was never listed: name unknown
    seed["audiences"][0]["populating"] = False
    assert refusals(seed) == [
        "<seed>: audiences[0].name: null is only for an audience being populated (populating: true)"
    ]


def test_a_busy_audience_named_by_id_round_trips() -> None:
    group, ready, busy = "65a000000000000000000001", "65b000000000000000000001", "65b000000000000000000002"
    seed = {
        "account_groups": [{"id": group, "name": "G"}],
        "audiences": [
            {"id": ready, "name": "Ready", "account_group_id": group},
            {"id": busy, "name": "Busy", "account_group_id": group, "populating": True},
        ],
        "prospects": [{"id": "65c000000000000000000001", "audience_id": ready, "publicIdentifier": "p-1"}],
    }
    destinations = {"r": DestinationRef("audience", "Ready"), "b": DestinationRef("audience", busy, by_id=True)}
    snaps = []
    for _ in range(2):
        with workspace(seed) as provider:
            seed = provider.read_data(destinations=destinations, wanted=["p-1"])
            snaps.append(seed)
    assert snaps[0] == snaps[1]
    assert snaps[0]["audiences"][-1] == {"id": busy, "name": None, "account_group_id": group, "populating": True}


# -- random small workspaces ---------------------------------------------------------------------------------

NAMES = ["A", "B", "C"]
GONE_USER = "7d0c6d2e-0000-4000-8000-00000000d0e5"  # an owner who is no member any more
EMAILS = ["a@x.test", "A@X.test", "b@x.test", "c@y.test", None]


@st.composite
def instantly_workspaces(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, DestinationRef], list[str]]:
    # ids as the vendor makes them (UUIDs): the sandbox refuses any other
    members = [
        {"user_id": f"7d0c6d2e-0000-4000-8000-{i:012d}", "email": f"m{i}@acme.test"}
        for i in range(draw(st.integers(0, 3)))
    ]
    campaigns = [
        {"id": f"c0000000-0000-4000-8000-{i:012d}", "name": draw(st.sampled_from(NAMES))}
        for i in range(draw(st.integers(0, 3)))
    ]
    lists = [
        {"id": f"11570000-0000-4000-8000-{i:012d}", "name": draw(st.sampled_from(NAMES))}
        for i in range(draw(st.integers(0, 2)))
    ]
    places = [("campaign", c["id"]) for c in campaigns] + [("list_id", item["id"]) for item in lists]
    leads = []
    for i in range(draw(st.integers(0, 8)) if places else 0):
        where, ident = draw(st.sampled_from(places))
        lead: dict[str, Any] = {"id": f"0190{i:04d}-0000-7000-8000-000000000000", where: ident}
        email = draw(st.sampled_from(EMAILS))
        if email is not None:
            lead["email"] = email
        owner = draw(st.sampled_from([None, GONE_USER, *(m["user_id"] for m in members)]))
        if owner is not None:
            lead["assigned_to"] = owner
        lead["status"] = draw(st.sampled_from([1, 2, 3, -1, -2, -3]))
        if draw(st.booleans()):
            lead["lt_interest_status"] = draw(st.sampled_from([1, 2, 3, 4, 0, -1, -2, -3, -4]))
        lead["email_reply_count"] = draw(st.integers(0, 2))
        leads.append(lead)
    kinds = st.sampled_from(["campaign", "list"])
    destinations = {
        f"d{i}": DestinationRef(draw(kinds), draw(st.sampled_from([*NAMES, "Z"])))
        for i in range(draw(st.integers(0, 3)))
    }
    wanted = draw(st.lists(st.sampled_from(["a@x.test", "b@x.test", "c@y.test", "z@z.test"]), unique=True))
    seed = {
        "api_keys": [{"key": "k", "scopes": ["all:all"]}],
        "members": members,
        "campaigns": campaigns,
        "lists": lists,
        "leads": leads,
    }
    return seed, destinations, wanted


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instantly_workspaces())
def test_random_instantly_workspaces_round_trip(
    case: tuple[dict[str, Any], dict[str, DestinationRef], list[str]],
) -> None:
    seed, destinations, wanted = case
    owners = {m["user_id"]: m["email"] for m in seed["members"]}
    with workspace(seed) as provider:
        first = provider.read_data(destinations=destinations, wanted=wanted)
        read = provider.read(destinations=destinations, owners=owners, wanted=wanted)
    with workspace(first) as provider:
        assert provider.read_data(destinations=destinations, wanted=wanted) == first
    resolved = resolve_snapshot(first, destinations=destinations, owners=owners, key_kind=KeyKind.EMAIL)
    assert resolved == replace(read, read=None)  # a plan from the snapshot is the live read's plan


GROUP = "65a000000000000000000001"


@st.composite
def sonarly_workspaces(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, DestinationRef], list[str]]:
    audiences = [
        {
            "id": f"65b0000000000000000000{i:02d}",
            "name": draw(st.sampled_from(NAMES)),
            "account_group_id": GROUP,
            "populating": draw(st.sampled_from([False, False, True])),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    prospects = [
        {
            "id": f"65c0000000000000000000{i:02d}",
            "audience_id": draw(st.sampled_from([a["id"] for a in audiences])),
            "publicIdentifier": draw(st.sampled_from(["p-1", "p-2", "p-3"])),
            "firstName": "F",
            "lastName": str(i),
        }
        for i in range(draw(st.integers(0, 6)) if audiences else 0)
    ]
    destinations = {
        f"d{i}": DestinationRef("audience", draw(st.sampled_from([*NAMES, "Z"])))
        for i in range(draw(st.integers(0, 2)))
    }
    wanted = draw(st.lists(st.sampled_from(["p-1", "p-2", "p-3", "p-9"]), unique=True))
    seed = {
        "api_keys": [{"key": "sk_live_k", "scopes": ["all:all"]}],
        "account_groups": [{"id": GROUP, "name": "G"}],
        "audiences": audiences,
        "prospects": prospects,
    }
    return seed, destinations, wanted


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sonarly_workspaces())
def test_random_sonarly_workspaces_round_trip(
    case: tuple[dict[str, Any], dict[str, DestinationRef], list[str]],
) -> None:
    seed, destinations, wanted = case
    with workspace(seed) as provider:
        first = provider.read_data(destinations=destinations, wanted=wanted)
    with workspace(first) as provider:
        assert provider.read_data(destinations=destinations, wanted=wanted) == first
