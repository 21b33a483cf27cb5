"""A saved plan is checked, not trusted (issue #25): before `apply PLANFILE` sends anything, the plan's workspace
and vendor must be the spec's, its policy the spec's, and every lead id in its operations the record, in a fresh
read, of the key named beside it. A mismatch refuses the whole plan in one line; nothing is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_run import leadsync

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart planned with `protect: []` and saved."""
    monkeypatch.chdir(tmp_path)
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = yaml.safe_load((tmp_path / "quickstart.yaml").read_text())
    spec["policy"] = {**spec.get("policy", {}), "protect": []}
    (tmp_path / "quickstart.yaml").write_text(json.dumps(spec))
    code, _, err = leadsync("plan", "quickstart.yaml", "--out", "plan.json")
    assert code == 0, err
    return tmp_path / "plan.json"


def edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def refused(plan: Path, reason: str) -> None:
    before = leadsync("plan", "quickstart.yaml")[1]
    code, out, err = leadsync("apply", plan.name, "--auto-approve")
    assert code == 1, out + err
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "plan.json refused, nothing sent:" in lines[0] and reason in lines[0], err
    assert leadsync("plan", "quickstart.yaml")[1] == before  # the workspace as it was


def test_a_plan_made_without_protection_is_refused_under_a_spec_that_protects(saved: Path) -> None:
    spec = yaml.safe_load(Path("quickstart.yaml").read_text())
    spec["policy"]["protect"] = ["replied", "interested"]
    Path("quickstart.yaml").write_text(json.dumps(spec))
    refused(saved, "its policy is not the spec's (protect: () in the plan, ('interested', 'replied') in the spec)")


def test_a_plan_for_another_vendor_is_refused(saved: Path) -> None:
    edit(saved, lambda doc: doc["workspace"].update(provider="instantly"))
    refused(saved, "it is for a instantly workspace (instantly API), and the spec's is a sandbox workspace")


def test_a_lead_id_named_as_another_person_is_refused(saved: Path) -> None:
    def swap(doc: dict[str, Any]) -> None:
        op = next(op for op in doc["operations"] if op["op"] in ("move", "assign") and len(op["lead_ids"]) > 1)
        op["keys"] = [op["keys"][1], op["keys"][0], *op["keys"][2:]]  # the ids stay: each now named as another

    edit(saved, swap)
    refused(saved, "it names lead ")


def test_the_plan_as_saved_applies(saved: Path) -> None:
    code, out, err = leadsync("apply", saved.name, "--auto-approve")
    assert code == 0 and "Converged" in out + err, out + err
