"""Issue #16 beside the progress display: `leadsync show PLANFILE` (offline), `plan` given a saved plan, a vendor
that cannot be reached named and given up on in seconds, `--quiet`, and `--help` with examples, exit codes and
shell completion."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
QUICKSTART = ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json")
SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: LEADSYNC_SHOW_KEY}
destinations: {big: {campaign: Big}}
routes: [{name: all, to: big}]
"""


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def closed_port() -> str:
    with socket.socket() as spare:  # a port nobody listens on
        spare.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{spare.getsockname()[1]}"


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart's plan, saved; then the vendor and the sandbox's seed made unreachable: show needs neither."""
    for name in QUICKSTART:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    code, _, _ = run("plan", "quickstart.yaml", "--remote", "quickstart.remote.json", "--out", "plan.json")
    assert code == 0
    for name in QUICKSTART:
        (tmp_path / name).unlink()  # no spec, no seed, no snapshot
    monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", closed_port())
    return tmp_path / "plan.json"


def test_show_renders_a_saved_plan_in_each_format_with_no_spec_and_no_network(saved: Path) -> None:
    code, text, err = run("show", "plan.json")
    assert code == 0 and err == ""
    assert text.rstrip().splitlines()[-1] == "Plan: 13 to add, 15 to move, 2 to reassign, 3 held."
    assert "jane.doe@bigco.test" in text
    code, masked, _ = run("show", "plan.json", "--mask")
    assert code == 0 and "jane.doe@bigco.test" not in masked and masked.splitlines()[-1] == text.splitlines()[-1]
    code, markdown, _ = run("show", "plan.json", "--format", "markdown")
    assert code == 0 and markdown.startswith("### leadsync plan") and "jane.doe@bigco.test" not in markdown
    code, document, _ = run("show", "plan.json", "--format", "json")
    assert code == 0 and document == saved.read_text()  # the document as saved: canonical
    assert json.loads(document)["summary"]["move"] == 15


def test_show_refuses_what_is_no_plan_in_one_line(saved: Path) -> None:
    Path("spec.yaml").write_text(SPEC)
    for args, said in [
        (("show", "spec.yaml"), "spec.yaml: not a plan document: invalid JSON"),
        (("show", "missing.json"), "missing.json: no such file"),
    ]:
        code, _, err = run(*args)
        assert code == 1 and err.count("\n") == 1 and err.startswith(f"Error: {said}"), err


def test_plan_given_a_saved_plan_says_what_to_do_with_it(saved: Path) -> None:
    code, out, err = run("plan", "plan.json")
    assert code == 1 and out == ""
    assert err == "Error: plan.json is a saved plan; use 'leadsync apply plan.json' or 'leadsync show plan.json'\n"


def test_an_unreachable_vendor_is_named_and_given_up_on_within_seconds(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = closed_port()
    env = {**os.environ, "LEADSYNC_INSTANTLY_BASE_URL": url, "LEADSYNC_SHOW_KEY": "a-key", "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", "plan", "spec.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seconds = time.monotonic() - started
    host_port = url.removeprefix("http://")
    assert done.returncode == 1 and done.stdout == ""
    assert f"Error: instantly: cannot reach the vendor at {host_port} (connection refused)" in done.stderr
    assert "failed 3 times" in done.stderr
    print(f"connection refused: {seconds:.2f} s ({done.stderr.strip()})")
    assert seconds < 5  # it was 13 s of silence (six attempts, backing off)


def test_quiet_turns_the_progress_off_and_only_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in QUICKSTART:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    shown = {"LEADSYNC_PROGRESS_DELAY": "0"}  # at once: the quickstart is over long before the 2 s delay
    code, out, err = run("plan", "quickstart.yaml", "--format", "json", env=shown)
    assert code == 0 and json.loads(out)["summary"]["add"] == 13
    lines = err.splitlines()
    assert sorted(lines[1:4]) == [
        "  enterprise: 8 leads, 2 pages",
        "  nurture: 8 leads, 2 pages",
        "  smb: 8 leads, 2 pages",
    ]  # each destination once read whole, in any order
    assert lines[:1] + lines[4:] == [
        "Reading the workspace (3 destinations)...",
        *[line for line in err.splitlines() if line.startswith("Read 24 leads in 3 destinations: 13 calls, ")],
        "Planning...",
        *[
            line
            for line in err.splitlines()
            if line.startswith("Planned: 13 to add, 15 to move, 2 to reassign, 3 held")
        ],
    ], err
    code, quiet_out, quiet_err = run("plan", "quickstart.yaml", "--format", "json", "--quiet", env=shown)
    assert code == 0 and quiet_err == "" and json.loads(quiet_out) == json.loads(out)
    code, _, err = run("apply", "quickstart.yaml", "--auto-approve", "-q", env=shown)
    assert code == 0 and "Converged: " in err and "Reading the workspace" not in err and "Sending the writes" not in err
    code, _, err = run("snapshot", "quickstart.yaml", "--out", "snap.json", env=shown)
    assert code == 0 and err.startswith("Reading the workspace (3 destinations)...\n  ") and "\nRead " in err
    code, _, err = run("snapshot", "quickstart.yaml", "--out", "snap.json", "--quiet", env=shown)
    assert code == 0 and err.startswith("Saved ")


def test_a_quick_command_prints_no_progress_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in QUICKSTART:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADSYNC_PROGRESS_DELAY", raising=False)
    code, _, err = run("plan", "quickstart.yaml")
    assert code == 0 and err == ""  # done within the 2 s before progress is first shown


@pytest.mark.parametrize("command", ["validate", "explain", "plan", "apply", "show", "test", "snapshot", "import"])
def test_each_commands_help_has_examples_and_exit_codes(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Examples:\n" in out and f"\n    leadsync {command} " in out  # kept on their own lines (click's \b)
    assert "Exit codes: 0" in out


def test_the_main_help_lists_the_exit_codes_and_completion() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "Exit codes:\n    0  success" in out and "\n    2  plan --detailed-exitcode" in out
    assert "_LEADSYNC_COMPLETE=bash_source leadsync" in out
    for command in ("show", "apply", "plan", "validate"):
        assert f"\n  {command} " in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_shell_completion_script_generates(shell: str) -> None:
    env = {**os.environ, "_LEADSYNC_COMPLETE": f"{shell}_source"}
    done = subprocess.run(
        [sys.executable, "-c", "from leadsync.cli import main; main(prog_name='leadsync')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "_leadsync_completion" in done.stdout or "leadsync" in done.stdout
    assert "_LEADSYNC_COMPLETE" in done.stdout  # the script calls leadsync back for the words


def test_completion_completes_the_commands() -> None:
    env = {**os.environ, "_LEADSYNC_COMPLETE": "bash_complete", "COMP_WORDS": "leadsync sh", "COMP_CWORD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "from leadsync.cli import main; main(prog_name='leadsync')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "plain,show" in done.stdout.replace("\n", ",")
