"""The sandbox judged by Schemathesis, a third-party tool, against the vendor's own OpenAPI document.

One seeded, derandomized Schemathesis run (its engine, as `st run` drives it: probing, coverage, fuzzing and a
bounded stateful phase, every check) goes over loopback HTTP to a sandbox with data and a key with every scope,
rate limit off. Each finding is keyed by (operation, check). Findings already triaged are in ALLOWED, each with its
class: (a) a sandbox infidelity not yet fixed, (b) an error in the vendor's document (the document is not changed;
docs/sandbox.md "Judged by Schemathesis" gives the evidence), (c) a false positive. Any other finding fails the
test, so a new infidelity is caught; an allowed one that no longer shows is reported as a warning (remove it).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
import schemathesis
from sandbox.support import KEY, VENDOR_DOC, instantly_seed
from schemathesis.engine import events, from_schema

from leadsync.sandbox import start

SEED = 1
MAX_EXAMPLES = 100  # per operation and phase: ~1,570 requests, the whole file in 40-65 s on 2 CPUs
STATEFUL_MAX_STEPS = 20
PHASES = ("coverage", "fuzzing", "stateful")  # "examples" is skipped by Schemathesis: the document has none
CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
}

Class = Literal["a", "b", "c"]
UNDOCUMENTED_400 = (
    "b",
    "the vendor's Fastify validation answers 400 where the document lists none (docs/sandbox.md Assumptions)",
)
UNDECLARED_METHOD = ("c", "Fastify answers 404 `Route TRACE:... not found` for a method with no route, not 405")

# (operation, check) -> (class, reason). Keep in step with docs/sandbox.md, "Judged by Schemathesis". Fixed, so no
# longer here (a regression fails the test): GET /campaigns and GET /lead-lists negative_data_rejection (dc27a3e);
# POST /leads, /campaigns, /lead-lists, /workspace-members missing_required_header (a route of the vendor's the
# sandbox does not emulate now checks the key first, as the vendor does: 401, then 404).
ALLOWED: dict[tuple[str, str], tuple[Class, str]] = {
    ("DELETE /api/v2/leads", "status_code_conformance"): UNDOCUMENTED_400,
    ("DELETE /api/v2/leads/{id}", "status_code_conformance"): UNDOCUMENTED_400,
    ("PATCH /api/v2/leads/{id}", "status_code_conformance"): UNDOCUMENTED_400,
    ("POST /api/v2/leads/add", "status_code_conformance"): UNDOCUMENTED_400,
    ("POST /api/v2/leads/move", "status_code_conformance"): UNDOCUMENTED_400,
    ("POST /api/v2/leads/merge", "status_code_conformance"): UNDOCUMENTED_400,  # once emulated: no body
    ("GET /api/v2/background-jobs", "status_code_conformance"): UNDOCUMENTED_400,
    ("GET /api/v2/lead-lists", "status_code_conformance"): UNDOCUMENTED_400,
    ("GET /api/v2/workspace-members", "status_code_conformance"): UNDOCUMENTED_400,
    ("GET /api/v2/campaigns", "status_code_conformance"): UNDOCUMENTED_400,  # `?status=AAA`
    ("POST /api/v2/leads/list", "positive_data_acceptance"): (
        "b",
        "no body is 400 `body must be object` (Fastify validates an absent body); the document does not require one",
    ),
    ("POST /api/v2/leads/move", "positive_data_acceptance"): (
        "b",
        "neither `to_campaign_id` nor `to_list_id` is 400; the document's schema does not say one is required",
    ),
    ("POST /api/v2/leads/add", "positive_data_acceptance"): (
        "b",
        "both `campaign_id` and `list_id` is 400 (`but not both`, the vendor's docs); the schema does not say so",
    ),
    ("POST /api/v2/leads/bulk-assign", "positive_data_acceptance"): (
        "b",
        "owners that are not user ids are 400 `Invalid ID on ...` (the document's own 400); its schema says string",
    ),
    ("POST /api/v2/leads/list", "unsupported_method"): UNDECLARED_METHOD,
    ("POST /api/v2/leads/move", "unsupported_method"): UNDECLARED_METHOD,
    ("POST /api/v2/leads/bulk-assign", "unsupported_method"): UNDECLARED_METHOD,
    # routes of the vendor's the sandbox does not emulate: with a valid key, any method is 404 there
    ("POST /api/v2/leads", "unsupported_method"): UNDECLARED_METHOD,
    ("POST /api/v2/lead-lists", "unsupported_method"): UNDECLARED_METHOD,
    ("POST /api/v2/workspace-members", "unsupported_method"): UNDECLARED_METHOD,
}
# Seen only in randomized (exploratory) runs, not by this seeded one: no "not seen any more" warning for them.
EXPLORATORY = {("POST /api/v2/leads/add", "positive_data_acceptance")}


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    phase: str
    request: str  # the failing request, as Schemathesis reproduces it (curl)


@dataclass
class Run:
    operations: set[str] = field(default_factory=set)
    checks_run: set[str] = field(default_factory=set)
    phases: dict[str, str] = field(default_factory=dict)  # phase -> status
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)  # first finding per (operation, check)
    errors: list[str] = field(default_factory=list)
    cases: int = 0
    requests: int = 0
    seconds: float = 0.0
    url: str = ""


def _config(url: str) -> Any:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": url,
            "headers": {"Authorization": f"Bearer {KEY}"},
            "workers": 1,  # one worker: the order of requests, hence the run, is the same every time
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"max-steps": STATEFUL_MAX_STEPS}},
        }
    )


def _execute(url: str, run: Run) -> None:
    schema = schemathesis.openapi.from_path(VENDOR_DOC, config=_config(url))
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            run.phases[event.phase.name.value] = event.status.value
        elif isinstance(event, (events.FatalError, events.NonFatalError)):
            run.errors.append(repr(getattr(event, "exception", None) or getattr(event, "value", None)))
        elif isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            run.cases += len(recorder.cases)
            if event.phase.value != "stateful":  # stateful labels are scenarios, not operations
                run.operations.add(recorder.label)
            for nodes in recorder.checks.values():
                for node in nodes:
                    run.checks_run.add(node.name)
                    info = node.failure_info
                    if info is None:
                        continue
                    operation = info.failure.operation or recorder.label
                    run.findings.setdefault(
                        (operation, node.name),
                        Finding(operation, node.name, info.failure.title, event.phase.value, info.code_sample),
                    )


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    sandbox = start(instantly_seed(), rate_limit=False)
    result = Run(url=sandbox.url)
    try:
        began = time.monotonic()
        _execute(sandbox.url, result)
        result.seconds = time.monotonic() - began
        result.requests = sum(sandbox.stats()["calls"].values())
        # that the sandbox still answers after the run (no request may wedge it)
        with httpx.Client(base_url=sandbox.url, trust_env=False, timeout=10) as client:
            after = client.get("/api/v2/campaigns", headers={"Authorization": f"Bearer {KEY}"})
            result.phases["after"] = str(after.status_code)
        yield result
    finally:
        sandbox.stop()


def test_schemathesis_tests_every_operation_of_the_vendor_document(run: Run) -> None:
    assert run.errors == []
    assert len(run.operations) == 18, sorted(run.operations)
    assert run.requests > 500, run.requests  # bounded, yet not a token run


def test_schemathesis_runs_every_phase_and_check(run: Run) -> None:
    for phase in PHASES:
        assert run.phases.get(phase) in {"success", "failure"}, run.phases  # ran (failures are judged below)
    assert run.phases["stateful"] == "success"
    assert run.checks_run >= CHECKS, CHECKS - run.checks_run


def test_schemathesis_finds_nothing_outside_the_triaged_list(run: Run) -> None:
    new = [f for key, f in sorted(run.findings.items()) if key not in ALLOWED]
    assert new == [], "\n\n".join(f"{f.operation} [{f.check}] {f.title} ({f.phase}):\n{f.request}" for f in new)
    stale = sorted(set(ALLOWED) - set(run.findings) - EXPLORATORY)
    if stale:  # fixed (or no longer reached): the entry and its row in docs/sandbox.md should go
        warnings.warn(f"allowed Schemathesis findings not seen any more: {stale}", stacklevel=1)


def test_schemathesis_leaves_the_sandbox_answering(run: Run) -> None:
    assert run.phases["after"] == "200"


def test_schemathesis_allowlist_is_classified() -> None:
    assert all(kind in {"a", "b", "c"} and reason for kind, reason in ALLOWED.values())
