"""`leadsync test`: routing tests in a spec (`tests:`) and in case files, run by the spec's own router."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.cli import main
from leadsync.render import render_markdown
from leadsync.routetests import RoutingTestRun, load_case_file, run_cases, spec_cases
from leadsync.routing import Router
from leadsync.spec import load_spec
from leadsync.workflow import plan_spec, snapshot_source

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "tests" / "specs"
EXAMPLES = ROOT / "specs" / "examples"
SPEC = SPECS / "routing-tests-spec.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the test spec, made the current one (case files are named from it)."""
    shutil.copy(SPEC, tmp_path / "spec.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the module: cases in, results out -------------------------------------------------------------------


def test_the_specs_own_cases_pass_with_their_lines() -> None:
    loaded = load_spec(SPEC)
    cases = spec_cases(loaded)
    assert [case.number for case in cases] == [1, 2, 3]
    assert [case.where.line for case in cases] == [33, 35, 37]
    assert cases[0].lead.key == "cfo@bigco.test"  # normalised as an inline lead is
    assert cases[0].lead.value("domain") == "bigco.test"  # derived as in real routing
    result = run_cases(loaded, cases)
    assert [r.passed for r in result.results] == [True, True, True]
    assert result.summary() == "3 cases: 3 passed, 0 failed"


def test_a_failing_case_says_what_was_expected_and_what_came(here: Path) -> None:
    loaded = load_spec("spec.yaml")
    shutil.copy(SPECS / "routing-tests-cases.yaml", here / "cases.yaml")
    cases = load_case_file(loaded, "cases.yaml")
    result = run_cases(loaded, cases)
    assert result.summary() == "3 cases: 2 passed, 1 failed"
    (failure,) = result.failures
    assert failure.describe() == (
        "cases.yaml:4: case 2 (cto@globex.test): expected owner bob, got alice "
        "(route strategic -> enterprise, owner alice)"
    )


def test_keys_not_given_are_not_checked_and_unrouted_both_ways(here: Path) -> None:
    (here / "cases.yaml").write_text(
        "- lead: {email: a@tiny.test}\n  expect: {route: strategic}\n"
        "- lead: {email: b@bigco.test}\n  expect: {unrouted: true}\n"
        "- lead: {email: c@tiny.test}\n  expect: {unrouted: false}\n"
        "- lead: {email: d@bigco.test}\n  expect: {unrouted: false, to: enterprise}\n"
    )
    loaded = load_spec("spec.yaml")
    result = run_cases(loaded, load_case_file(loaded, "cases.yaml"))
    assert [r.mismatches for r in result.results] == [
        ("expected route strategic, got unrouted",),
        ("expected unrouted, got routed",),
        ("expected routed, got unrouted",),
        (),
    ]
    assert result.results[0].describe().endswith("(unrouted)")


def test_owners_away_are_read_at_the_date_given(here: Path) -> None:
    (here / "cases.yaml").write_text(
        "- lead: {email: anna@example.test, country: FR, company_size: 80}\n  expect: {owner: carol}\n"
    )
    loaded = load_spec("spec.yaml")
    cases = load_case_file(loaded, "cases.yaml")
    assert run_cases(loaded, cases, datetime.date(2026, 12, 1)).failures == ()
    (away,) = run_cases(loaded, cases, datetime.date(2026, 12, 25)).failures
    assert away.mismatches == ("expected owner carol, got bob",)  # the pool's fallback while she is away


# --- the command ----------------------------------------------------------------------------------------


def test_cli_passing_run() -> None:
    code, out, err = run("test", str(SPEC))
    assert (code, out, err) == (0, "3 cases: 3 passed, 0 failed\n", "")


def test_cli_failing_run_shows_file_line_and_exits_1(here: Path) -> None:
    shutil.copy(SPECS / "routing-tests-cases.yaml", here / "cases.yaml")
    code, out, _ = run("test", "spec.yaml", "cases.yaml")
    assert code == 1
    assert out.splitlines() == [
        "cases.yaml:4: case 2 (cto@globex.test): expected owner bob, got alice (route strategic -> enterprise, "
        "owner alice)",
        "6 cases: 5 passed, 1 failed",
    ]


def test_cli_at(here: Path) -> None:
    (here / "cases.yaml").write_text(
        "- lead: {email: anna@example.test, country: FR, company_size: 80}\n  expect: {owner: carol}\n"
    )
    assert run("test", "spec.yaml", "cases.yaml", "--at", "2026-12-01")[0] == 0
    code, out, _ = run("test", "spec.yaml", "cases.yaml", "--at", "2026-12-24")
    assert code == 1 and "expected owner carol, got bob" in out
    code, _, err = run("test", "spec.yaml", "--at", "2026-13-01")
    assert code == 1 and "--at" in err


def test_cli_no_cases_says_so_and_exits_0() -> None:
    code, out, _ = run("test", str(EXAMPLES / "quickstart.yaml"))
    assert (
        code == 0
        and out
        == f"{EXAMPLES / 'quickstart.yaml'}: no routing tests (add `tests:` to the spec, or give files of cases)\n"
    )


def test_cli_invalid_spec_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\n")
    code, _, err = run("test", str(tmp_path / "bad.yaml"))
    assert code == 1 and "bad.yaml:1:1: missing required key 'workspace'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- lead: {email: a@b.test\n  expect: {}\n", "cases.yaml:2:9: YAML syntax error: "),
        ("lead: {email: a@b.test}\n", "cases.yaml:1:1: a routing test file is a YAML list of cases"),
        ("- lead: {email: a@b.test}\n  expect: {rout: strategic}\n", "cases.yaml:2:12: unknown key 'rout'"),
        (
            "- lead: {email: a@b.test}\n  expect: {route: strategc}\n",
            "cases.yaml:2:19: case 1: unknown route 'strategc' (did you mean 'strategic'?)",
        ),
        (
            "- lead: {email: a@b.test}\n  expect: {to: smbb}\n",
            "cases.yaml:2:16: case 1: unknown destination 'smbb' (did you mean 'smb'?)",
        ),
        (
            "- lead: {email: a@b.test}\n  expect: {owner: alcie}\n",
            "cases.yaml:2:19: case 1: unknown owner 'alcie' (did you mean 'alice'?)",
        ),
        (
            "- lead: {email: a@b.test}\n  expect: {owner: ae-team}\n",
            "case 1: unknown owner 'ae-team' (expect names the owner a pool picks, not the pool)",
        ),
        (
            "- lead: {email: a@b.test}\n  expect: {route: strategic, to: smb}\n",
            "case 1: route 'strategic' goes to 'enterprise', not 'smb'",
        ),
        (
            "- lead: {company_size: 3}\n  expect: {unrouted: true}\n",
            "cases.yaml:1:9: case 1: the lead needs 'email' (the key routing tests use)",
        ),
        (
            "- lead: {email: nope}\n  expect: {unrouted: true}\n",
            "cases.yaml:1:17: case 1: invalid email address: 'nope'",
        ),
        ("- lead: {email: a@b.test}\n  expect: {}\n", "case 1: expect checks nothing"),
        (
            "- lead: {email: a@b.test}\n  expect: {unrouted: true, owner: bob}\n",
            "case 1: expect says unrouted: true and gives owner too: it can never pass",
        ),
        (
            "- lead: {email: a@b.test, tags: [x]}\n  expect: {unrouted: true}\n",
            "case 1: lead attribute 'tags' must be a plain value",
        ),
        ("- lead: {email: a@b.test}\n", "cases.yaml:1:3: [0]: missing required key 'expect'"),
        ("- &a [*a]\n", "cases.yaml:1:7: YAML error: alias *a refers to a value that contains it"),
    ],
)
def test_bad_case_files_are_located_one_line_errors(here: Path, text: str, expected: str) -> None:
    (here / "cases.yaml").write_text(text)
    code, out, err = run("test", "spec.yaml", "cases.yaml")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert any(expected in line for line in lines), err
    assert lines[-1].startswith("Error: ") and "Traceback" not in err


def test_case_files_are_named_from_the_current_folder_and_never_leave_it(here: Path) -> None:
    outside = here.parent / f"{here.name}-outside.yaml"
    outside.write_text("- lead: {email: a@b.test}\n  expect: {unrouted: true}\n")
    os.symlink(outside, here / "link.yaml")
    code, _, err = run("test", "spec.yaml", "link.yaml", f"../{outside.name}", str(outside), "missing.yaml")
    assert code == 1
    assert "link.yaml: routing test file: is a symlink that leads out of the current folder tree" in err
    assert f"../{outside.name}: routing test file: leaves the current folder tree" in err
    assert f"{outside}: routing test file: must be a path relative to the current folder" in err
    assert "missing.yaml: routing test file: file not found" in err
    assert err.rstrip().endswith("Error: 4 problems found")


def test_a_case_file_over_the_spec_budget_is_refused_unread(here: Path) -> None:
    with (here / "big.yaml").open("wb") as handle:
        handle.truncate(2 * 2**20 + 1)
    code, _, err = run("test", "spec.yaml", "big.yaml")
    assert code == 1 and "big.yaml: larger than 2 MiB" in err


def test_an_empty_case_file_holds_no_cases(here: Path) -> None:
    (here / "empty.yaml").write_text("# nothing yet\n")
    code, out, _ = run("test", "spec.yaml", "empty.yaml")
    assert code == 0 and out == "3 cases: 3 passed, 0 failed\n"


def test_validate_checks_the_specs_own_tests(tmp_path: Path) -> None:
    text = SPEC.read_text().replace(
        "expect: {route: strategic, to: enterprise, owner: alice}", "expect: {route: strategik, owner: alise}"
    )
    (tmp_path / "spec.yaml").write_text(text)
    code, _, err = run("validate", str(tmp_path / "spec.yaml"))
    assert code == 1
    assert f"{tmp_path / 'spec.yaml'}:34:21: case 1: unknown route 'strategik' (did you mean 'strategic'?)" in err
    assert f"{tmp_path / 'spec.yaml'}:34:39: case 1: unknown owner 'alise' (did you mean 'alice'?)" in err


def test_a_sonarly_case_needs_linkedin_and_names_no_owner(tmp_path: Path) -> None:
    for name in ("sonarly-founders.yaml", "sonarly-founders.leads.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    spec = tmp_path / "sonarly-founders.yaml"
    spec.write_text(
        spec.read_text() + "tests:\n"
        "  - lead: {email: a@b.test, title: CEO}\n    expect: {unrouted: true}\n"
        "  - lead: {linkedin: 'linkedin.com/in/ann-1', title: CEO, country: DE}\n"
        "    expect: {route: founders-europe, owner: bob}\n"
    )
    code, _, err = run("test", str(spec))
    assert code == 1
    assert "case 1: the lead needs 'linkedin'" in err and "case 2: a Sonarly workspace has no owners" in err
    spec.write_text(
        spec.read_text()
        .replace("email: a@b.test", "linkedin: ann-2")
        .replace(", owner: bob", "")
        .replace("expect: {unrouted: true}", "expect: {route: founders-us, to: founders-us}")
    )
    code, out, _ = run("test", str(spec))
    assert (code, out) == (0, "2 cases: 2 passed, 0 failed\n")


# --- the markdown plan -----------------------------------------------------------------------------------


def _quickstart_with(tmp_path: Path, tests: str) -> list[str]:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    spec = tmp_path / "quickstart.yaml"
    spec.write_text(spec.read_text() + tests)
    return ["plan", str(spec), "--remote", str(tmp_path / "quickstart.remote.json"), "--format", "markdown"]


def test_the_markdown_plan_says_how_many_routing_tests_passed(tmp_path: Path) -> None:
    tests = (
        "tests:\n  - lead: {email: cfo@bigco.test, company_size: 5000}\n"
        "    expect: {route: strategic, to: enterprise, owner: alice}\n"
        "  - lead: {email: someone@tiny.test}\n    expect: {route: everyone-else}\n"
    )
    code, out, _ = run(*_quickstart_with(tmp_path, tests))
    assert code == 0 and "**Routing tests:** ✅ 2 of 2 passed" in out
    code, out, _ = run(*_quickstart_with(tmp_path, tests.replace("owner: alice", "owner: bob")))
    assert code == 0  # the plan shows it; `leadsync test` is the gate
    assert "**Routing tests:** ❌ 1 of 2 passed; `leadsync test` shows why" in out
    assert "quickstart.yaml:" in out and "case 1: expected owner bob, got alice" in out
    assert "cfo@bigco.test" not in out  # the comment is masked


def test_the_markdown_plan_of_a_spec_without_tests_does_not_mention_them(tmp_path: Path) -> None:
    code, out, _ = run(*_quickstart_with(tmp_path, ""))
    assert code == 0 and "Routing tests" not in out


def test_render_markdown_stays_compatible() -> None:
    planned = plan_spec(EXAMPLES / "quickstart.yaml", snapshot_source(EXAMPLES / "quickstart.remote.json"))
    loaded = load_spec(SPEC)
    assert "Routing tests" not in render_markdown(planned.plan)
    assert "Routing tests" not in render_markdown(planned.plan, tests=RoutingTestRun(()))
    assert "✅ 3 of 3 passed" in render_markdown(planned.plan, tests=run_cases(loaded, spec_cases(loaded)))


# --- a property: a case written from what routing does always passes -------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    local=st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,10}", fullmatch=True),
    domain=st.sampled_from(["bigco.test", "globex.test", "tiny.test", "example.test", "Acme.Test"]),
    size=st.none() | st.integers(0, 10_000),
    country=st.none() | st.sampled_from(["DE", "fr", "US"]),
    at=st.dates(datetime.date(2026, 12, 20), datetime.date(2027, 1, 5)),
)
def test_a_case_built_from_what_explain_returns_always_passes(
    local: str, domain: str, size: int | None, country: str | None, at: datetime.date
) -> None:
    loaded = load_spec(SPEC)
    lead: dict[str, object] = {"email": f" {local}@{domain} "}
    if size is not None:
        lead["company_size"] = size
    if country is not None:
        lead["country"] = country
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "cases.yaml").write_text(json.dumps([{"lead": lead, "expect": {"unrouted": True}}]))
        (case,) = load_case_file(loaded, "cases.yaml", Path(folder))
        found = Router(loaded).explain(case.lead, None, at=at)
        expect = (
            {"unrouted": True}
            if found.route is None
            else {"route": found.route, "to": found.destination, "owner": found.owner, "unrouted": False}
        )
        Path(folder, "cases.yaml").write_text(json.dumps([{"lead": lead, "expect": expect}]))
        cases = load_case_file(loaded, "cases.yaml", Path(folder))
    assert run_cases(loaded, cases, at).failures == ()


# --- CI: the action runs the routing tests before it plans -----------------------------------------------


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_the_action_stops_before_plan_when_a_routing_test_fails(tmp_path: Path) -> None:
    from test_gitops import _run_action  # the action's step run as the runner runs it (tests/test_gitops.py)

    work, runs = tmp_path / "repo", tmp_path / "runs"
    work.mkdir()
    runs.mkdir()
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        shutil.copy(EXAMPLES / name, work / name)
    spec = work / "quickstart.yaml"
    spec.write_text(spec.read_text() + "tests:\n  - lead: {email: cfo@bigco.test}\n    expect: {owner: bob}\n")
    outputs, _, done = _run_action(runs, work, command="plan", spec="quickstart.yaml")
    assert done.returncode == 0 and outputs["exitcode"] == "1", done.stdout + done.stderr
    assert "plan-file" not in outputs and "not planned" in done.stdout
    errors = Path(outputs["errors-file"]).read_text()
    assert "Error: quickstart.yaml:" in errors and "case 1 (cfo@bigco.test): expected owner bob, got alice" in errors
    spec.write_text(spec.read_text().replace("owner: bob}\n", "owner: alice}\n"))
    outputs, _, done = _run_action(runs, work, command="plan", spec="quickstart.yaml")
    assert outputs["exitcode"] == "2" and "1 case: 1 passed, 0 failed" in done.stdout, done.stdout + done.stderr
