"""The planner's public surface and its purity: what the CLI may import, and what the planner may not."""

from __future__ import annotations

import re
from pathlib import Path

import leadsync.plan
import leadsync.render
from leadsync.plan import Workspace, make_plan, remote_fingerprint
from leadsync.state import Capabilities, DesiredLead, Policy, RemoteLead

PACKAGE = Path(leadsync.plan.__file__).resolve().parents[1]


def test_the_public_names_are_deliberate() -> None:
    for module in (leadsync.plan, leadsync.render):
        # isort order (constants, classes, functions), as ruff keeps it
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
        assert all(hasattr(module, name) for name in module.__all__)
    assert {"make_plan", "load_plan", "Plan", "UnsafePlanError", "remote_fingerprint"} <= set(leadsync.plan.__all__)
    assert {"render", "render_text", "render_markdown", "render_json"} <= set(leadsync.render.__all__)


def test_plan_and_render_do_no_io_of_their_own() -> None:
    forbidden = re.compile(
        r"^\s*(?:import|from)\s+(?:httpx|click|random|time|datetime|leadsync\.spec|leadsync\.providers|"
        r"leadsync\.cli)\b|os\.environ|getenv",
        re.MULTILINE,
    )
    files = [*(PACKAGE / "plan").glob("*.py"), *(PACKAGE / "render").glob("*.py"), PACKAGE / "snapshot.py"]
    assert len(files) > 8
    for path in files:
        assert not forbidden.search(path.read_text(encoding="utf-8")), path


def test_the_workspace_names_its_api() -> None:
    assert Workspace("instantly").api == "instantly" and Workspace().api == "instantly"
    assert Workspace("sonarly", "g1").api == "sonarly"
    assert Workspace("sandbox", "", "sonarly").api == "sonarly"


def test_a_sonarly_plan_counts_sonarly_endpoints_and_no_job_polls() -> None:
    plan = make_plan(
        [DesiredLead("jane-doe", "founders", None, "r")],
        [RemoteLead("p1", "jane-doe", "other")],
        managed={"founders", "other"},
        policy=Policy(),
        workspace=Workspace("sonarly", "g1"),
        capabilities=Capabilities(add=False, assign=False, remove=False, move_sets_owner=False),
    )
    assert plan.calls.by_endpoint == {
        "GET /v1/accounts": 1,
        "GET /v1/accounts/{accountGroupId}/audiences": 1,
        "GET /v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects": 2,
        "POST /v1/accounts/{accountGroupId}/audiences/{audienceId}/move-leads": 1,
    }


def test_a_fingerprint_stays_unambiguous_when_values_hold_its_separators() -> None:
    plain = [RemoteLead("1", "a@x.test", "d"), RemoteLead("2", None, "d")]
    odd = [RemoteLead("1\x1fa@x.test", None, "d"), RemoteLead("2", None, "d")]
    assert remote_fingerprint(odd, managed={"d"}) != remote_fingerprint(plain, managed={"d"})
    assert remote_fingerprint(odd, managed={"d"}) == remote_fingerprint(list(reversed(odd)), managed=["d"])
    assert re.fullmatch(r"[0-9a-f]{64}", remote_fingerprint(iter(plain), managed={"d"}))
