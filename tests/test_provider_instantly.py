"""The Instantly provider's read side, against the sandbox over real HTTP (and httpx transports for the vendor
behaviours the sandbox cannot be asked for, such as a redirect)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from leadsync import sandbox
from leadsync.errors import AccessError, CredentialsError, ProviderError, UnavailableError
from leadsync.plan import dump_plan
from leadsync.providers._http import RateLimiter, RetryPolicy, check_base_url, retry_after
from leadsync.providers.instantly import InstantlyProvider
from leadsync.workflow import destination_refs, live_source, owner_emails, plan_spec, snapshot_source

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
SEED = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
CANARY = "sk_live_CANARY_7f3a9c1e5b"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path / "quickstart.yaml"


def seed_with_keys(*keys: dict[str, object]) -> dict[str, object]:
    return {**SEED, "api_keys": list(keys)}


@pytest.fixture
def workspace() -> Iterator[sandbox.RunningSandbox]:
    keys = seed_with_keys(
        {"key": CANARY, "scopes": ["all:*"]}, {"key": "members-only", "scopes": ["workspace_members:read"]}
    )
    with sandbox.start(keys, rate_limit=False) as running:
        yield running


def read(provider: InstantlyProvider, spec_path: Path) -> object:
    from leadsync.spec import load_spec

    spec = load_spec(spec_path).spec
    return provider.read(destinations=destination_refs(spec), owners=owner_emails(spec))


def test_a_live_read_plans_exactly_like_its_snapshot(quickstart: Path) -> None:
    live = plan_spec(quickstart, live_source).plan
    saved = plan_spec(quickstart, snapshot_source(quickstart.parent / "quickstart.remote.json")).plan
    live_doc, saved_doc = json.loads(dump_plan(live)), json.loads(dump_plan(saved))
    # the snapshot also holds a lead of nobody the spec names; the live read never fetches it, so only the
    # predicted reads (which count records to page through) may differ; and only a live read has a cost
    live_doc.pop("calls"), saved_doc.pop("calls")
    assert live_doc["workspace"].pop("read")["outside"] == "contacts" and "read" not in saved_doc["workspace"]
    assert live_doc == saved_doc
    assert live.fingerprint == saved.fingerprint
    assert (quickstart.parent / ".leadsync" / "quickstart.remote.sandbox.sqlite").exists()


def test_reads_page_until_an_empty_page_and_count_calls(workspace: sandbox.RunningSandbox, quickstart: Path) -> None:
    provider = InstantlyProvider.connect(workspace.url, CANARY, "$INSTANTLY_API_KEY")
    resolved = read(provider, quickstart)
    assert len(resolved.remote) == 24  # type: ignore[attr-defined]
    calls = workspace.stats()["calls"]
    assert calls["POST /api/v2/leads/list"] == 6  # three destinations: a page of leads, then an empty page each
    assert provider.client.stats.calls == calls


def test_people_outside_managed_destinations_are_looked_up(workspace: sandbox.RunningSandbox, quickstart: Path) -> None:
    from leadsync.spec import load_spec

    spec = load_spec(quickstart).spec
    provider = InstantlyProvider.connect(workspace.url, CANARY, "$INSTANTLY_API_KEY")
    resolved = provider.read(
        destinations=destination_refs(spec),
        owners=owner_emails(spec),
        wanted=["old.contact@legacy.test", "nobody@nowhere.test"],
    )
    outside = [r for r in resolved.remote if r.key == "old.contact@legacy.test"]
    assert [r.destination for r in outside] == ["campaign:c0000000-0000-4000-8000-000000000003"]


def test_a_refused_key_names_the_variable_never_the_key(workspace: sandbox.RunningSandbox, quickstart: Path) -> None:
    provider = InstantlyProvider.connect(workspace.url, CANARY + "x", "$INSTANTLY_API_KEY")
    with pytest.raises(CredentialsError) as caught:
        read(provider, quickstart)
    message = str(caught.value)
    assert "$INSTANTLY_API_KEY was refused (401)" in message
    assert CANARY not in message and base64.b64encode(CANARY.encode()).decode() not in message


def test_a_missing_scope_is_named(workspace: sandbox.RunningSandbox, quickstart: Path) -> None:
    provider = InstantlyProvider.connect(workspace.url, "members-only", "$INSTANTLY_API_KEY")
    with pytest.raises(AccessError, match=r"lacks a scope \(403\)"):
        read(provider, quickstart)


def test_no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADSYNC_TEST_KEY", raising=False)
    with pytest.raises(CredentialsError, match="set the environment variable LEADSYNC_TEST_KEY"):
        InstantlyProvider.from_environment("LEADSYNC_TEST_KEY")


def test_reads_ride_out_429_bursts_and_5xx(quickstart: Path) -> None:
    keys = seed_with_keys({"key": CANARY, "scopes": ["all:*"]})
    faults = "seed=5,429=0.3:burst=2:retry_after=0,5xx=0.2:status=503"
    with sandbox.start(keys, rate_limit=False, faults=faults) as running:
        provider = InstantlyProvider.connect(running.url, CANARY, "$K")
        provider.client.retry = RetryPolicy(attempts=10, base=0.001, cap=0.01)
        resolved = read(provider, quickstart)
        assert len(resolved.remote) == 24  # type: ignore[attr-defined]
        assert provider.client.stats.retries > 0


def test_reads_give_up_after_the_retry_budget() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503, json={"message": "down"}))
    provider = InstantlyProvider.connect("https://api.instantly.test", CANARY, "$K", transport=transport)
    provider.client.retry = RetryPolicy(attempts=3, base=0.001, cap=0.001)
    with pytest.raises(UnavailableError, match="HTTP 503, still failing after 3 attempts"):
        provider.read(destinations={}, owners={})


def test_redirects_are_not_followed_so_the_key_never_leaves() -> None:
    seen: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "https://evil.test/steal"})

    provider = InstantlyProvider.connect(
        "https://api.instantly.test", CANARY, "$K", transport=httpx.MockTransport(vendor)
    )
    with pytest.raises(ProviderError, match="unexpected redirect"):
        provider.read(destinations={}, owners={})
    assert {r.url.host for r in seen} == {"api.instantly.test"}


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.instantly.ai", True),
        ("http://127.0.0.1:8700", True),
        ("http://[::1]:8700", True),
        ("http://localhost:8700", True),
        ("http://api.instantly.ai", False),
        ("http://10.1.2.3", False),
        ("ftp://x", False),
    ],
)
def test_base_urls(url: str, ok: bool) -> None:
    if ok:
        assert check_base_url(url, setting="S") == url
    else:
        with pytest.raises(ProviderError, match="must be an https URL"):
            check_base_url(url, setting="S")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after(httpx.Response(429, headers={"retry-after": "3"})) == 3
    assert retry_after(httpx.Response(429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after(httpx.Response(429)) is None


def test_the_rate_limiter_keeps_both_windows() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, 15, clock=lambda: now[0], sleep=sleep)
    for _ in range(15):
        limiter.acquire()
    assert now[0] == pytest.approx(1.0)  # the 11th request waited for the second window
    limiter.acquire()
    assert now[0] == pytest.approx(60.0)  # the 16th waited for the minute


# -- finding people outside the managed destinations: look-ups or paging the workspace --------------------------

MANAGED = "c0000000-0000-4000-8000-0000000000aa"
OTHER = "c0000000-0000-4000-8000-0000000000bb"


def outside_seed(*, managed: int, outside: int) -> dict[str, object]:
    """A workspace with `managed` leads in the managed campaign and `outside` leads in another one."""
    leads = [
        {
            "id": f"1ead0000-0000-4000-8000-{i:012d}",
            "email": f"p{i}@ws.test",
            "campaign": MANAGED if i < managed else OTHER,
        }
        for i in range(managed + outside)
    ]
    return {
        "api_keys": [{"key": CANARY, "scopes": ["all:*"]}],
        "members": [{"user_id": "7d0c6d2e-0000-4000-8000-00000000a11c", "email": "alice@acme.test"}],
        "campaigns": [{"id": MANAGED, "name": "Managed"}, {"id": OTHER, "name": "Other"}],
        "lists": [],
        "leads": leads,
    }


def read_outside(seed: dict[str, object], wanted: list[str]) -> tuple[object, dict[str, int]]:
    from leadsync.state import DestinationRef

    with sandbox.start(seed, rate_limit=False) as running:
        provider = InstantlyProvider.connect(running.url, CANARY, "$INSTANTLY_API_KEY")
        resolved = provider.read(
            destinations={"managed": DestinationRef("campaign", "Managed")},
            owners={"alice": "alice@acme.test"},
            wanted=wanted,
        )
        assert provider.client.stats.calls == running.stats()["calls"]
        return resolved, dict(running.stats()["calls"])


def found_outside(resolved: object) -> set[str]:
    return {r.key for r in resolved.remote if r.destination == f"campaign:{OTHER}"}  # type: ignore[attr-defined]


def test_nobody_missing_costs_no_outside_read() -> None:
    resolved, _ = read_outside(outside_seed(managed=50, outside=50), [f"p{i}@ws.test" for i in range(50)])
    cost = resolved.read  # type: ignore[attr-defined]
    assert (cost.outside, cost.outside_calls, cost.missing) == ("none", 0, 0)


def test_a_small_workspace_is_paged_instead_of_many_look_ups() -> None:
    # 1,500 new people (15 look-ups) against a workspace of 250 leads (3 pages + the empty one)
    wanted = [f"p{i}@ws.test" for i in range(250)] + [f"new{i}@ws.test" for i in range(1250)]
    resolved, calls = read_outside(outside_seed(managed=50, outside=200), wanted)
    cost = resolved.read  # type: ignore[attr-defined]
    assert cost.outside == "workspace" and cost.missing == 1450 and cost.lookup_calls == 30
    assert cost.outside_calls <= 4
    assert found_outside(resolved) == {f"p{i}@ws.test" for i in range(50, 250)}
    assert cost.calls == sum(calls.values())


def test_a_large_workspace_stops_paging_at_half_the_price_and_looks_up_the_rest() -> None:
    wanted = [f"p{i}@ws.test" for i in range(0, 1200, 2)]  # every other person: 575 outside, 6 look-ups
    resolved, _ = read_outside(outside_seed(managed=50, outside=1150), wanted)
    cost = resolved.read  # type: ignore[attr-defined]
    assert cost.outside == "workspace+contacts" and cost.lookup_calls == 12
    assert found_outside(resolved) == {f"p{i}@ws.test" for i in range(50, 1200, 2)}
    assert cost.outside_calls <= cost.lookup_calls * 1.5


def test_look_ups_win_outright_when_the_managed_pages_already_cost_more() -> None:
    wanted = [f"p{i}@ws.test" for i in range(300, 310)] + [f"p{i}@ws.test" for i in range(1500, 1510)]
    resolved, _calls = read_outside(outside_seed(managed=400, outside=1200), wanted)
    cost = resolved.read  # type: ignore[attr-defined]
    assert (cost.outside, cost.outside_calls, cost.lookup_calls) == ("contacts", 2, 2)
    assert found_outside(resolved) == {f"p{i}@ws.test" for i in range(1500, 1510)}


def test_both_ways_of_reading_find_the_same_records() -> None:
    seed = outside_seed(managed=40, outside=300)
    wanted = [f"p{i}@ws.test" for i in range(0, 340, 3)] + [f"new{i}@ws.test" for i in range(900)]
    paged, _ = read_outside(seed, wanted)
    assert paged.read.outside == "workspace"  # type: ignore[attr-defined]
    looked_up, _ = read_outside(seed, wanted[:40] + wanted[-5:])  # too few missing to page
    assert looked_up.read.outside == "contacts"  # type: ignore[attr-defined]
    subset = set(wanted[:40])
    assert {r for r in paged.remote if r.key in subset} == {r for r in looked_up.remote if r.key in subset}  # type: ignore[attr-defined]


def test_partial_pages_never_prove_that_a_person_has_no_other_record() -> None:
    # p60 is on the first page, and also has an unsubscribed record on the very last one, past the page budget
    seed = outside_seed(managed=50, outside=1150)
    seed["leads"].append(
        {
            "id": "1ead0000-0000-4000-8000-999999999999",
            "email": "p60@ws.test",  # type: ignore[attr-defined]
            "campaign": OTHER,
            "status": -2,
        }
    )
    wanted = [f"p{i}@ws.test" for i in range(0, 1200, 2)]
    resolved, _ = read_outside(seed, wanted)
    assert resolved.read.outside == "workspace+contacts"  # type: ignore[attr-defined]
    records = [r for r in resolved.remote if r.key == "p60@ws.test"]  # type: ignore[attr-defined]
    assert len(records) == 2 and {"unsubscribed"} in [set(r.statuses) for r in records]
