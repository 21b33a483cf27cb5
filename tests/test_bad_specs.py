"""One named fixture per failure mode: each `tests/specs/bad-*.yaml` says on its first line where and what."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main

SPECS = Path(__file__).parent / "specs"
FIXTURES = sorted(SPECS.glob("bad-*.yaml"))
WARNINGS = sorted(SPECS.glob("warn-*.yaml"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of tests/specs, with the symlink that leads out of it (git cannot be trusted to keep one)."""
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    outside = tmp_path / "outside.csv"
    outside.write_text("email\nsecret@outside.test\n")
    (root / "data" / "outside-link.csv").symlink_to(outside)
    monkeypatch.chdir(root)
    return root


def expectation(fixture: Path) -> str:
    first = fixture.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{fixture.name} must start with '# expect: LOCATION: MESSAGE'"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_bad_spec_is_refused_with_its_located_message(fixture: Path, workdir: Path) -> None:
    result = CliRunner().invoke(main, ["validate", fixture.name])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert expectation(fixture) in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("Error: ")


def test_there_is_a_fixture_for_every_failure_mode() -> None:
    names = {f.stem.removeprefix("bad-") for f in FIXTURES}
    required = {
        "yaml-syntax",
        "duplicate-key",
        "unknown-key",
        "wrong-type",
        "version",
        "literal-api-key",
        "api-key-env-value",
        "unknown-destination",
        "unknown-owner",
        "unknown-pool",
        "duplicate-route",
        "unreachable-route",
        "invalid-regex",
        "weight",
        "source-absolute",
        "sql-writes",
        "sql-two",
        "sql-syntax",
        "sql-url-in-spec",
        "sql-escape",
        "source-escape",
        "source-symlink",
        "source-missing",
        "source-not-utf8",
        "invalid-email",
        "duplicate-person",
        "not-a-number",
        "invalid-linkedin",
        "unknown-attribute",
    }
    assert required <= names


@pytest.mark.parametrize("fixture", WARNINGS, ids=[f.stem for f in WARNINGS])
def test_questionable_spec_is_valid_with_its_located_warning(fixture: Path, workdir: Path) -> None:
    """`tests/specs/warn-*.yaml` are valid, and say on their first line the one warning they get."""
    result = CliRunner().invoke(main, ["validate", fixture.name])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert warnings == [f"Warning: {expectation(fixture)}"]


def test_there_is_a_fixture_for_every_warning() -> None:
    names = {f.stem.removeprefix("warn-") for f in WARNINGS}
    assert {"route-matches-none", "route-shadowed", "number-as-text"} <= names


def test_a_literal_key_is_never_repeated(workdir: Path) -> None:
    for name in ("bad-literal-api-key.yaml", "bad-api-key-env-value.yaml"):
        result = CliRunner().invoke(main, ["validate", name])
        assert result.exit_code == 1
        assert "CANARY" not in result.output
        assert "ZmFrZWtleUNBTkFSWTAxMjM0NTY3ODk6c2VjcmV0" not in result.output


def test_unreadable_source(workdir: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can read any file")
    (workdir / "data" / "good.csv").chmod(0)
    spec = workdir / "unreadable.yaml"
    spec.write_text(
        "version: 1\nworkspace: {provider: sandbox}\ndestinations: {n: {list: N}}\n"
        "sources:\n  - path: data/good.csv\nroutes:\n  - {name: all, to: n}\n"
    )
    result = CliRunner().invoke(main, ["validate", spec.name])
    assert result.exit_code == 1
    assert "unreadable.yaml:5:11: source 'data/good.csv': file is not readable" in result.output


def test_every_problem_is_reported_at_once(workdir: Path) -> None:
    spec = workdir / "many.yaml"
    spec.write_text(
        "version: 1\n"
        "workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}\n"
        "destinations: {enterprise: {campaign: E}}\n"
        "owners: {alice: {email: alice@acme.test}}\n"
        "routes:\n"
        "  - {name: a, to: nowhere, owner: nobody}\n"
        "  - {name: a, when: {x: {matches: '['}}, to: enterprise}\n"
    )
    result = CliRunner().invoke(main, ["validate", spec.name])
    assert result.exit_code == 1
    for expected in (
        "many.yaml:6:19: route 'a': unknown destination 'nowhere'",
        "many.yaml:6:35: route 'a': unknown owner 'nobody'",
        "many.yaml:7:5: route 'a' can never match: catch-all route 'a' (line 6) comes before it",
        "many.yaml:7:12: duplicate route name 'a' (first used at line 6)",
        "many.yaml:7:35: 'x': invalid regular expression '['",
    ):
        assert expected in result.output
    assert "Error: 5 problems found" in result.output


def test_the_installed_command_exits_1_without_traceback(workdir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", "validate", "bad-unknown-key.yaml", "missing.yaml"],
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "missing.yaml: spec file not found" in proc.stderr
