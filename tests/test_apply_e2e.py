"""`leadsync apply` end to end, through the command, on the quickstart.

The quickstart runs twice: as shipped (`provider: sandbox`, the embedded emulator), and as an Instantly workspace
served by a sandbox this test starts, so that the calls the apply makes can be counted where the vendor would count
them (`GET /_sandbox/stats`) and the workspace changed behind the apply's back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from leadsync import sandbox
from leadsync.apply import Journal, WorkspaceLock
from leadsync.cli import main
from leadsync.spec import load_spec
from leadsync.workflow import lock_path, open_provider, workspace_identity, workspace_tag

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
FILES = ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json")
WRITES = ("POST /api/v2/leads/move", "POST /api/v2/leads/add", "POST /api/v2/leads/bulk-assign", "DELETE /api/v2/leads")
BOB = "7d0c6d2e-0000-4000-8000-000000000b0b"


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


#: what an apply of a vendor workspace asks before taking the lock: who the workspace is (its lock's name)
IDENTITY_CALL = {"GET /api/v2/workspace-members": 1}


def lock_of(spec: Path) -> Path:
    """The lock an apply of `spec` takes: named by the workspace as the vendor reports it."""
    loaded = load_spec(spec)
    with open_provider(loaded) as provider:
        return lock_path(loaded, workspace_identity(loaded, provider))


def writes(running: sandbox.RunningSandbox) -> dict[str, int]:
    calls = running.stats()["calls"]
    return {endpoint: calls[endpoint] for endpoint in WRITES if calls.get(endpoint)}


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart as shipped, copied into a fresh folder that is also the working directory."""
    for name in FILES:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path / "quickstart.yaml"


@pytest.fixture
def workspace(quickstart: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.RunningSandbox]:
    """The quickstart's spec on an Instantly workspace: a sandbox seeded like the quickstart's, reached over
    LEADSYNC_INSTANTLY_BASE_URL with the key in the variable the spec names."""
    text = quickstart.read_text()
    text = re.sub(
        r"workspace:\n  provider: sandbox\n  seed: quickstart.remote.json\n",
        "workspace:\n  provider: instantly\n  api_key_env: QUICKSTART_KEY\n",
        text,
    )
    assert "provider: instantly" in text
    quickstart.write_text(text)
    with sandbox.start(EXAMPLES / "quickstart.remote.json") as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        monkeypatch.setenv("QUICKSTART_KEY", running.api_key or "")
        yield running


def test_the_quickstart_plans_applies_and_plans_again_with_no_changes(quickstart: Path) -> None:
    code, out, _ = leadsync("plan", "quickstart.yaml")
    assert code == 0 and "Plan: 13 to add, 15 to move, 2 to reassign, 3 held." in out
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0, err
    assert "Converged: a fresh plan of the workspace shows no changes." in err
    code, out, _ = leadsync("plan", "quickstart.yaml", "--detailed-exitcode")
    assert code == 0 and out.rstrip().endswith("No changes.")
    journal = Journal(quickstart.parent / ".leadsync" / f"{workspace_tag(load_spec(quickstart))}.journal.jsonl")
    assert journal.unfinished() is None
    events = [json.loads(line)["event"] for line in journal.path.read_text().splitlines()]
    assert events[0] == "run" and events[-1] == "end"
    assert events.count("send") == events.count("sent") == events.count("done") == 12


def test_the_writes_the_vendor_counts_are_the_plans(workspace: sandbox.RunningSandbox) -> None:
    code, _, err = leadsync("plan", "quickstart.yaml", "--out", "plan.json")
    assert code == 0, err
    document = json.loads(Path("plan.json").read_text())
    predicted = {endpoint: n for endpoint, n in document["calls"]["by_endpoint"].items() if endpoint in WRITES}
    workspace.reset_stats()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    assert writes(workspace) == predicted
    assert sum(writes(workspace).values()) == document["calls"]["writes"] == 12
    workspace.reset_stats()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "No changes." in err
    assert writes(workspace) == {}


def test_a_dry_run_shows_every_request_and_sends_none(workspace: sandbox.RunningSandbox) -> None:
    before = workspace.state()
    workspace.reset_stats()
    code, out, err = leadsync("apply", "quickstart.yaml", "--dry-run")
    assert code == 0, err
    assert writes(workspace) == {}
    assert workspace.state() == before
    lines = out.splitlines()
    assert len(lines) == 12 and "Dry run: 12 requests shown, none sent." in err
    assert sum(line.startswith("POST /api/v2/leads/move ") for line in lines) == 8
    assert "@" not in out.replace("***@", "")  # emails masked
    # what each request does in the spec's names, and its body: scalars in full, lists by their length
    assert any(
        line.startswith("POST /api/v2/leads/move  move 2 leads enterprise -> nurture, owner bob  {assigned_to=")
        and "ids[2]" in line
        and "to_list_id=11570000-" in line
        for line in lines
    ), out
    assert any(
        " add 5 leads to enterprise  {campaign_id=" in line and "leads[5], skip_if_in_workspace=True}" in line
        for line in lines
    ), out


def test_a_saved_plan_applies_and_a_stale_one_is_refused(workspace: sandbox.RunningSandbox) -> None:
    assert leadsync("plan", "quickstart.yaml", "--out", "first.json")[0] == 0
    assert leadsync("plan", "quickstart.yaml", "--out", "second.json")[0] == 0
    workspace.reset_stats()
    code, _, err = leadsync("apply", "first.json", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    assert sum(writes(workspace).values()) == 12

    # second.json was made before first.json was applied: the workspace it describes is gone
    workspace.reset_stats()
    code, _, err = leadsync("apply", "second.json", "--auto-approve")
    assert code == 1 and "Error: stale plan: the workspace changed since second.json was made" in err
    assert writes(workspace) == {}


def test_a_change_behind_a_saved_plans_back_makes_it_stale(workspace: sandbox.RunningSandbox) -> None:
    assert leadsync("plan", "quickstart.yaml", "--out", "plan.json")[0] == 0
    document = json.loads(Path("plan.json").read_text())
    lead = next(op for op in document["operations"] if op["op"] == "move")["lead_ids"][0]
    with httpx.Client(base_url=workspace.url, headers={"Authorization": f"Bearer {workspace.api_key}"}) as client:
        client.patch(f"/api/v2/leads/{lead}", json={"assigned_to": BOB}).raise_for_status()
    workspace.reset_stats()
    code, _, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 1 and "stale plan" in err
    assert writes(workspace) == {}


def test_apply_without_a_terminal_or_auto_approve_refuses_and_changes_nothing(
    workspace: sandbox.RunningSandbox,
) -> None:
    before = workspace.state()
    workspace.reset_stats()
    code, _, err = leadsync("apply", "quickstart.yaml")
    assert code == 1
    assert "Error: refusing to apply without confirmation: no terminal to ask on (use --auto-approve in CI)" in err
    assert writes(workspace) == {} and workspace.state() == before


def test_the_final_report_counts_calls_by_endpoint_as_the_vendor_saw_them(
    workspace: sandbox.RunningSandbox, quickstart: Path
) -> None:
    workspace.reset_stats()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0, err
    seen = workspace.stats()["calls"]
    match = re.search(r"Calls: (\d+) \((\d+) writes, (\d+) reads and polls\), no retries:\n((?:  .*\n)+)", err)
    assert match, err
    reported = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1]) for line in match[4].splitlines()}
    assert reported == seen and int(match[1]) == sum(seen.values())
    assert int(match[2]) == sum(writes(workspace).values()) == 12


def test_two_checkouts_of_one_vendor_workspace_share_one_lock(
    workspace: sandbox.RunningSandbox, quickstart: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other-checkout")
    for name in ("quickstart.yaml", "quickstart.leads.csv"):
        (other / name).write_bytes((quickstart.parent / name).read_bytes())
    assert lock_of(other / "quickstart.yaml") == lock_of(quickstart)
    assert not lock_of(quickstart).is_relative_to(quickstart.parent)
    lock = lock_of(quickstart)
    workspace.reset_stats()
    with WorkspaceLock(lock):
        code, _, err = leadsync("apply", str(other / "quickstart.yaml"), "--auto-approve")
    assert code == 1 and "another apply is running on this workspace" in err
    assert workspace.stats()["calls"] == IDENTITY_CALL


@pytest.mark.parametrize("spelling", ["trailing slash", "localhost", "another variable"])
def test_one_lock_per_vendor_workspace_whatever_its_spelling(
    workspace: sandbox.RunningSandbox, quickstart: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """The lock is named by the workspace the vendor reports, not by how the base URL or the key's variable is
    written: before, each of these spellings took a lock of its own, and two applies ran on one workspace."""
    lock = lock_of(quickstart)
    if spelling == "trailing slash":
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", workspace.url + "/")
    elif spelling == "localhost":
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", workspace.url.replace("127.0.0.1", "localhost"))
    else:
        monkeypatch.setenv("OTHER_KEY", workspace.api_key or "")
        quickstart.write_text(quickstart.read_text().replace("api_key_env: QUICKSTART_KEY", "api_key_env: OTHER_KEY"))
    assert lock_of(quickstart) == lock
    workspace.reset_stats()
    with WorkspaceLock(lock):
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and "another apply is running on this workspace" in err, err
    assert workspace.stats()["calls"] == IDENTITY_CALL


def test_a_second_apply_while_the_lock_is_held_fails_clearly(
    workspace: sandbox.RunningSandbox, quickstart: Path
) -> None:
    lock = lock_of(quickstart)
    workspace.reset_stats()
    with WorkspaceLock(lock):
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    assert re.search(r"Error: another apply is running on this workspace \(pid \d+; lock .*\.lock\)", err), err
    assert workspace.stats()["calls"] == IDENTITY_CALL  # refused before reading anything but who the workspace is
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err  # and the lock is free again


def test_an_unsafe_plan_is_refused_without_force(workspace: sandbox.RunningSandbox, quickstart: Path) -> None:
    quickstart.write_text(
        quickstart.read_text().replace("max_change_ratio: 1.0", "max_change_ratio: 0.1\n  min_destination_size: 1")
    )
    workspace.reset_stats()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and "Error: " in err and "--force" in err
    assert writes(workspace) == {}
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve", "--force")
    assert code == 0 and "Converged" in err
    assert sum(writes(workspace).values()) == 12


def test_converged_says_what_it_leaves_as_it_is(quickstart: Path) -> None:
    """ "Converged" is never to be read as "everyone": the held, conflicting, unsupported and unrouted people a
    fresh plan leaves as they are are counted on the same line."""
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0
    assert (
        "Converged: a fresh plan of the workspace shows no changes. Left as they are (shown in the plan): "
        "3 held leads." in err
    ), err
