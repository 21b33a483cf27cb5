"""`snapshot` and `import`: a workspace saved for planning without a key, and adopted as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from leadsync import sandbox
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
        code, _, err = run("import", spec, "--out", str(imported), "--force")  # the second time, over the first
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


READ_ONLY = "sandbox-acme-routing-readonly"  # the seed's read-only key: import and plan need nothing more


def test_a_realistic_instantly_workspace_imports_to_no_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #7: adopt the realistic example's workspace (acme-routing.remote.json: members who own no route,
    unmanaged campaigns and lists, people in two places, held leads, a former member's leads) through the real
    Instantly provider, over HTTP, with the read-only key: the imported spec's first plan changes nothing."""
    spec = copy(tmp_path, "acme-routing")
    seed = json.loads((EXAMPLES / "acme-routing.remote.json").read_text())
    assert READ_ONLY in {key["key"] for key in seed["api_keys"]}
    with sandbox.start(seed, rate_limit=False) as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        monkeypatch.setenv("INSTANTLY_API_KEY", READ_ONLY)

        code, out, _ = run("plan", spec, "--detailed-exitcode")  # the hand-made routing is far from the spec's
        assert code == 2 and "to add" in out and "to move" in out and "to reassign" in out and "held" in out

        imported = tmp_path / "imported.yaml"
        code, _, err = run("import", spec, "--out", str(imported))
        assert code == 0, err
        assert "(a conflict to settle by hand)" in err  # people in two managed campaigns are left out, and said so
        assert "(279 leads)" in err and "not a workspace member" not in err
        # a former member's leads are imported where they are, their owner left alone (a route with no owner)
        routes = yaml.safe_load(imported.read_text())["routes"]
        former = [route for route in routes if route["name"].endswith("-former-members")]
        assert former and all("owner" not in route for route in former)
        assert run("validate", str(imported))[0] == 0

        code, out, err = run("plan", str(imported))
        assert code == 0, err
        assert out.rstrip().endswith("No changes.")
        code, out, _ = run("plan", str(imported), "--detailed-exitcode")
        assert code == 0 and out.rstrip().endswith("No changes.")

        calls = running.stats()["calls"]
    assert not [call for call in calls if not call.startswith(("GET ", "POST /api/v2/leads/list"))], calls


def test_imported_route_names_stay_unique(tmp_path: Path) -> None:
    """A member whose email reads like a route suffix ("unowned@...") does not collide with the route of
    the leads nobody owns, nor with that of a former member's leads."""
    from leadsync.adopt import import_workspace
    from leadsync.spec import load_spec

    (tmp_path / "bootstrap.yaml").write_text(
        "version: 1\nworkspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}\n"
        "destinations: {na: {campaign: NA}}\nroutes: [{name: placeholder, to: na}]\n"
    )
    member = {"user_id": "u-1", "email": "unowned@acme.test"}
    leads = [
        {"id": f"l-{n}", "email": f"p{n}@x.test", "campaign": "c-1", **owner}
        for n, owner in enumerate([{"assigned_to": "u-1"}, {}, {"assigned_to": "u-gone"}])
    ]
    data = {"members": [member], "campaigns": [{"id": "c-1", "name": "NA"}], "lists": [], "leads": leads}
    imported = import_workspace(load_spec(tmp_path / "bootstrap.yaml"), data, "imported.leads.csv")
    names = [route["name"] for route in yaml.safe_load(imported.spec_text)["routes"]]
    assert sorted(names) == ["na-former-members", "na-unowned", "na-unowned-2"]
    (tmp_path / "imported.yaml").write_text(imported.spec_text)
    (tmp_path / "imported.leads.csv").write_text(imported.csv_text)
    assert run("validate", str(tmp_path / "imported.yaml"))[0] == 0
