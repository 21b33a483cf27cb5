"""`snapshot` and `import`: a workspace saved for planning without a key, and adopted as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def copy(tmp_path: Path, stem: str) -> str:
    for path in EXAMPLES.glob(f"{stem}.*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return str(tmp_path / f"{stem}.yaml")


@pytest.mark.parametrize("stem", ["quickstart", "sonarly-sandbox"])
def test_a_snapshot_plans_like_the_live_workspace_and_holds_no_key(tmp_path: Path, stem: str) -> None:
    spec = copy(tmp_path, stem)
    snapshot = tmp_path / "snap.json"
    assert run("snapshot", spec, "--out", str(snapshot))[0] == 0
    data = json.loads(snapshot.read_text())
    assert data["api_keys"] == []
    assert "sandbox-" not in snapshot.read_text()  # the sandbox's own keys stay out too
    live = run("plan", spec)[1].rstrip().splitlines()[-1]
    saved = run("plan", spec, "--remote", str(snapshot))[1].rstrip().splitlines()[-1]
    assert live == saved


@pytest.mark.parametrize("stem", ["quickstart", "sonarly-sandbox"])
def test_an_imported_spec_plans_no_changes_before_and_after_an_apply(tmp_path: Path, stem: str) -> None:
    spec = copy(tmp_path, stem)
    for _ in range(2):  # the seeded workspace, then the workspace once the spec was applied
        imported = tmp_path / "imported.yaml"
        code, _, err = run("import", spec, "--out", str(imported))
        assert code == 0, err
        assert run("validate", str(imported))[0] == 0
        code, out, _ = run("plan", str(imported), "--detailed-exitcode")
        assert code == 0 and out.rstrip().endswith("No changes.")
        assert run("apply", spec, "--auto-approve")[0] == 0


def test_import_writes_beside_the_spec_only(tmp_path: Path) -> None:
    spec = copy(tmp_path, "quickstart")
    (tmp_path / "elsewhere").mkdir()
    code, _, err = run("import", spec, "--out", str(tmp_path / "elsewhere" / "new.yaml"))
    assert code == 1 and "write the imported spec beside" in err
