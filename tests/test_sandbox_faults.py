"""Fault injection: the `--faults` syntax, what each fault does, and that one seed gives one sequence of faults."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox.support import COLD, ENTERPRISE, NURTURE, SMB, Api, lead_id

from leadsync.errors import FaultSpecError, LeadsyncError
from leadsync.sandbox import ManualClock, RunningSandbox, parse_faults

Sandboxes = Callable[..., RunningSandbox]


def test_the_documented_example_parses() -> None:
    spec = parse_faults(
        "seed=7, 429=0.05:burst=3:retry_after=2, 5xx=0.02:status=503:when=after, latency=0.1:ms=300, "
        "drop=0.01:when=after:on=writes:path=*/leads/add, job_fail=0.2, job_stall=0.1:skip=2:count=1, "
        "populating=0.05:requests=5, job_ms=200, job_polls=3, assign_ms=100"
    )
    assert (spec.seed, spec.job_ms, spec.job_polls, spec.assign_ms) == (7, 200, 3, 100)
    kinds = [(r.kind, r.probability) for r in spec.rules]
    assert kinds == [
        ("429", 0.05),
        ("5xx", 0.02),
        ("latency", 0.1),
        ("drop", 0.01),
        ("job_fail", 0.2),
        ("job_stall", 0.1),
        ("populating", 0.05),
    ]
    assert (spec.rules[0].burst, spec.rules[0].retry_after, spec.rules[1].status, spec.rules[1].when) == (
        3,
        2,
        503,
        "after",
    )
    assert (spec.rules[3].on, spec.rules[3].path, spec.rules[5].skip, spec.rules[5].count) == (
        "writes",
        "*/leads/add",
        2,
        1,
    )
    assert parse_faults(None) == parse_faults("") == parse_faults(" , ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("429=2", "probability must be within 0..1"),
        ("429=often", "probability must be a number"),
        ("meteor=0.1", "unknown name 'meteor'"),
        ("5xx=0.1:status=418", "status must be 500, 502, 503 or 504"),
        ("drop=0.1:when=later", "when must be before or after"),
        ("latency=0.1:ms=soon", "ms must be an integer"),
        ("429=0.1:ms=5", "429 takes"),
        ("429=0.1:burst", "expected KEY=VALUE"),
        ("seed", "expected NAME=VALUE"),
        ("job_ms=10:fast=1", "job_ms takes no options"),
        ("5xx=0.1:on=sometimes", "on must be all, reads or writes"),
        ("429=0.1:retry_format=epoch", "retry_format must be seconds or date"),
    ],
)
def test_bad_faults_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message) as caught:
        parse_faults(text)
    assert isinstance(caught.value, LeadsyncError) and text.split(":")[0] in str(caught.value)


SCRIPT_FAULTS = (
    "seed={},429=0.15:burst=2:retry_after=1,5xx=0.1:status=503,drop=0.05,latency=0.1:ms=1,"
    "job_fail=0.3,job_stall=0.2,job_ms=600000,job_polls=1"
)


def _script(sandbox: RunningSandbox) -> list[Any]:
    """A fixed sequence of 48 requests; what each one got."""
    outcomes: list[Any] = []
    api = Api(sandbox)
    jobs: list[str] = []
    for i in range(48):
        try:
            if i % 4 == 0:
                response = api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": f"p{i}@x.test"}]})
            elif i % 4 == 1:
                response = api.post(
                    "/api/v2/leads/move",
                    json={"campaign": ENTERPRISE, "ids": [lead_id(1 + i % 5)], "to_campaign_id": SMB},
                )
                if response.status_code == 200:
                    jobs.append(response.json()["id"])
            elif i % 4 == 2:
                response = api.post("/api/v2/leads/list", json={"limit": 5})
            else:
                response = api.get(f"/api/v2/background-jobs/{jobs[-1] if jobs else 'none'}")
        except httpx.TransportError:
            outcomes.append("dropped")
            continue
        job_status = response.json().get("status") if i % 4 == 3 and response.status_code == 200 else None
        outcomes.append((response.status_code, response.headers.get("retry-after"), job_status))
    return outcomes


def test_the_same_fault_seed_gives_the_same_faults_run_after_run(sandboxes: Sandboxes) -> None:
    first = _script(sandboxes(faults=SCRIPT_FAULTS.format(11)))
    second = _script(sandboxes(faults=SCRIPT_FAULTS.format(11)))
    assert first == second
    kinds = {o if o == "dropped" else o[0] for o in first} | {o[2] for o in first if o != "dropped"}
    assert {"dropped", 200, 429, 503, "failed", "pending", "success"} <= kinds  # the script does meet every fault
    assert _script(sandboxes(faults=SCRIPT_FAULTS.format(12))) != first


def test_429_bursts_with_and_without_retry_after(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="429=1:count=1:burst=3:retry_after=2"))
    got = [api.get("/api/v2/campaigns") for _ in range(4)]
    assert [r.status_code for r in got] == [429, 429, 429, 200]
    assert got[0].json() == {"statusCode": 429, "error": "Too Many Requests", "message": "Rate limit exceeded"}
    assert got[0].headers["retry-after"] == "2"
    bare = Api(sandboxes(faults="429=1:count=1")).get("/api/v2/campaigns")
    assert bare.status_code == 429 and "retry-after" not in bare.headers
    clock = ManualClock()
    dated = Api(sandboxes(clock=clock, faults="429=1:count=1:retry_after=5:retry_format=date")).get("/api/v2/campaigns")
    assert parsedate_to_datetime(dated.headers["retry-after"]).timestamp() == int(clock.now()) + 5


def test_a_connection_dropped_before_the_write_loses_the_write(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="drop=1:when=before:on=writes:count=1"))
    with pytest.raises(httpx.TransportError):
        api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": "lost@x.test"}]})
    assert api.all_leads(list_id=COLD) == []
    assert api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": "kept@x.test"}]}).status_code == 200


def test_a_connection_dropped_after_the_write_keeps_the_write(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="drop=1:when=after:on=writes:count=1"))
    with pytest.raises(httpx.TransportError):
        api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": "committed@x.test"}]})
    assert [lead["email"] for lead in api.all_leads(list_id=COLD)] == ["committed@x.test"]


def test_a_5xx_after_the_write_keeps_the_write(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="5xx=1:when=after:on=writes:count=1"))
    failed = api.post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": "ambiguous@x.test"}]})
    assert failed.status_code == 500 and failed.json()["error"] == "Internal Server Error"
    assert len(api.all_leads(list_id=COLD)) == 1


def test_a_502_comes_from_the_edge_as_html(sandboxes: Sandboxes) -> None:
    response = Api(sandboxes(faults="5xx=1:status=502:path=*/campaigns")).get("/api/v2/campaigns")
    assert response.status_code == 502 and response.headers["content-type"].startswith("text/html")


def test_faults_fire_only_where_they_match_and_after_skip(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="5xx=1:path=*/leads/add:skip=1"))
    assert api.post("/api/v2/leads/list", json={}).status_code == 200
    body = {"list_id": COLD, "leads": [{"email": "a@x.test"}]}
    assert [api.post("/api/v2/leads/add", json=body).status_code for _ in range(3)] == [200, 500, 500]


def test_latency_delays_the_answer(sandboxes: Sandboxes) -> None:
    api = Api(sandboxes(faults="latency=1:ms=150:count=1"))
    began = time.perf_counter()
    assert api.get("/api/v2/campaigns").status_code == 200
    assert time.perf_counter() - began >= 0.15


def test_jobs_that_fail_or_stall_move_nothing(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    api = Api(sandboxes(clock=clock, faults="job_fail=1:count=1,job_stall=1:skip=1:count=1"))
    jobs = [
        api.post("/api/v2/leads/move", json={"list_id": NURTURE, "ids": [lead_id(n)], "to_list_id": COLD}).json()["id"]
        for n in (10, 11, 12)
    ]
    clock.advance(3600)
    states = [api.get(f"/api/v2/background-jobs/{job}").json() for job in jobs]
    assert [s["status"] for s in states] == ["failed", "pending", "success"]
    assert states[1]["progress"] == 0
    assert [api.where(lead_id(n)) for n in (10, 11, 12)] == [NURTURE, NURTURE, COLD]


def test_every_faults_example_in_the_docs_parses() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "sandbox.md").read_text(encoding="utf-8")
    examples = re.findall(r'--faults "([^"]+)"', docs)
    assert len(examples) >= 8
    for example in examples:
        assert parse_faults(example).rules or "job_ms" in example
