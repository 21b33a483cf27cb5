"""The GitOps loop end to end on the sandbox: the review comment, the merge (apply), the drift check."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from click.testing import CliRunner

from leadsync import sandbox
from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_review_merge_and_drift(tmp_path: Path) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = str(tmp_path / "quickstart.yaml")

    # the pull request: a markdown plan for the review comment, and the drift check says "changes"
    code, comment, _ = run("plan", spec, "--format", "markdown")
    assert code == 0 and "**Plan: 13 to add, 15 to move, 2 to reassign, 3 held.**" in comment
    assert run("plan", spec, "--detailed-exitcode")[0] == 2

    # the merge: apply, verified
    code, _, err = run("apply", spec, "--auto-approve")
    assert code == 0, err
    assert "Converged" in err

    # the scheduled drift check: nothing to do
    code, out, _ = run("plan", spec, "--detailed-exitcode")
    assert code == 0 and out.rstrip().endswith("No changes.")

    # someone re-assigns a lead by hand in the vendor's UI ...
    state = tmp_path / ".leadsync" / "quickstart.remote.sandbox.sqlite"
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    members = {m["email"]: m["user_id"] for m in seed["members"]}
    with sandbox.start(state=state) as running:
        auth = {"Authorization": f"Bearer {running.api_key}"}
        found = httpx.post(f"{running.url}/api/v2/leads/list", json={"contacts": ["jane.doe@bigco.test"]}, headers=auth)
        [lead] = found.json()["items"]
        changed = httpx.patch(
            f"{running.url}/api/v2/leads/{lead['id']}", json={"assigned_to": members["carol@acme.test"]}, headers=auth
        )
        assert changed.status_code == 200

    # ... and the drift check catches it, naming what it would put back
    code, out, _ = run("plan", spec, "--detailed-exitcode")
    assert code == 2
    assert "jane.doe@bigco.test  owner carol -> alice" in out
    assert out.rstrip().endswith("Plan: 0 to add, 0 to move, 1 to reassign, 3 held.")
