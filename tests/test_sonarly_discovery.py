"""`leadsync plan` of the Sonarly example with a key that has only the scopes its calls need.

The vendor: "The account discovery endpoint works with any valid API key". A key with `audiences:read`,
`audiences:write` and `prospects:read` (no `accounts:read`, a scope Sonarly does not document) must plan: the
spec's account group is found by name through `GET /v1/accounts` before anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync import sandbox
from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
FILES = ("sonarly-sandbox.yaml", "sonarly-sandbox.leads.csv", "sonarly-sandbox.remote.json")
PLANNER_KEY = "sk_live_planner_only"
PLANNER_SCOPES = ["audiences:read", "audiences:write", "prospects:read"]


@pytest.fixture
def vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.RunningSandbox]:
    """The example as a Sonarly workspace (`provider: sonarly`), served by a sandbox seeded like the example's but
    whose only key has the planner's scopes, reached over LEADSYNC_SONARLY_BASE_URL."""
    for name in FILES:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = tmp_path / "sonarly-sandbox.yaml"
    text = re.sub(
        r"  provider: sandbox\n  seed: sonarly-sandbox.remote.json\n",
        "  provider: sonarly\n  api_key_env: PLANNER_KEY\n",
        spec.read_text(),
    )
    assert "provider: sonarly" in text
    spec.write_text(text)
    seed = json.loads((EXAMPLES / "sonarly-sandbox.remote.json").read_text())
    seed["api_keys"] = [{"key": PLANNER_KEY, "scopes": PLANNER_SCOPES}]
    monkeypatch.chdir(tmp_path)
    with sandbox.start(seed, rate_limit=False) as running:
        monkeypatch.setenv("LEADSYNC_SONARLY_BASE_URL", running.url)
        monkeypatch.setenv("PLANNER_KEY", PLANNER_KEY)
        yield running


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_key_with_only_the_planners_scopes_plans_the_sonarly_example(vendor: sandbox.RunningSandbox) -> None:
    code, out, err = leadsync("plan", "sonarly-sandbox.yaml")
    assert code == 0, err
    assert out.rstrip().endswith("Plan: 0 to add, 7 to move, 0 to reassign, 5 unsupported."), out  # as embedded
    calls = vendor.stats()["calls"]
    assert calls.get("GET /v1/accounts") == 1  # the account group was discovered with this key
    assert not any(endpoint.startswith("POST") for endpoint in calls)  # a plan writes nothing


def test_a_key_the_vendor_does_not_know_cannot_plan(
    vendor: sandbox.RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_KEY", "sk_live_unknown")
    code, _, err = leadsync("plan", "sonarly-sandbox.yaml")
    assert code == 1
    assert "GET /v1/accounts: the key in $PLANNER_KEY was refused (401): Invalid API key" in err, err
