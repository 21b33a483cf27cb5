"""The CLI as a user meets it: validate and explain on the examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync import __version__
from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_validate_every_example() -> None:
    code, out, _ = run("validate", *sorted(str(p) for p in EXAMPLES.glob("*.yaml")))
    assert code == 0
    assert "quickstart.yaml: valid (3 destinations, 3 owners, 4 routes, 37 leads: 37 routed, 0 unrouted)" in out


def test_validate_reports_every_bad_spec_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n")
    code, out, err = run("validate", str(EXAMPLES / "quickstart.yaml"), str(bad))
    assert code == 1
    assert "quickstart.yaml: valid" in out
    assert f"{bad}:1:1: missing required key 'workspace'" in err
    assert err.rstrip().endswith("Error: 3 problems found")


def test_explain_a_lead() -> None:
    code, out, _ = run("explain", str(EXAMPLES / "quickstart.yaml"), "JANE.DOE@bigco.test")
    assert code == 0
    assert out.splitlines()[0].startswith("jane.doe@bigco.test  (")
    assert "✓ route strategic" in out
    assert "-> enterprise (campaign 'Enterprise Q4') via route strategic" in out
    assert "owner: alice — fixed owner of route 'strategic'" in out


def test_explain_an_unknown_lead_fails() -> None:
    code, _, err = run("explain", str(EXAMPLES / "quickstart.yaml"), "nobody@nowhere.test")
    assert code == 1
    assert "Error: not among the leads of" in err and "nobody@nowhere.test" in err


def test_explain_with_a_sticky_current_owner() -> None:
    spec = str(EXAMPLES / "acme-routing.yaml")
    code, out, _ = run("explain", spec, "elena.dubois1@zephyr-1.test", "--current-owner", "fay")
    assert code == 0
    assert "owner: fay — sticky: already owned by fay, still in pool 'ae-na'" in out


@pytest.mark.parametrize("flag", ["--version", "-h"])
def test_version_and_help(flag: str) -> None:
    code, out, _ = run(flag)
    assert code == 0
    assert (__version__ in out) if flag == "--version" else ("lead routing as code" in out)


def test_a_usage_error_exits_1_not_2() -> None:
    # 2 means "changes" under plan --detailed-exitcode: a misspelt flag must never read as that
    code, _, err = run("plan", "--bogus")
    assert code == 1
    assert "No such option '--bogus'" in err
