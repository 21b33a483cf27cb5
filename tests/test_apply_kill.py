"""`kill -9` of a running `leadsync apply`, at a random moment, then a fresh `apply`: it resumes from the journal
and converges, and the workspace passes the fault campaign's checks (nothing lost, nothing duplicated, everyone
where the spec says, nothing outside the plan changed).

The apply runs as the real command in a child process, against a sandbox served by this process (with some faults
on, so that the killed apply may be in the middle of anything: a write, a retry, a job poll, the verification).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_apply_faults import KEY, KEY_ENV, POLICIES, Scenario, build_scenario, check

from leadsync import sandbox
from leadsync.apply import Journal

RUNS = 12
MASTER_SEED = 99


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scenario]]:
    root = tmp_path_factory.mktemp("kill")
    yield {policy: build_scenario(root / policy, policy=policy, seed=11) for policy in POLICIES}


def leadsync(folder: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "LEADSYNC_INSTANTLY_BASE_URL": url,
        KEY_ENV: KEY,
        "NO_COLOR": "1",
        "LEADSYNC_STATE_DIR": str(folder / ".state"),
    }  # the workspace's lock and journal: looked at below
    return subprocess.Popen(
        [sys.executable, "-m", "leadsync.cli", *args],
        cwd=folder,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow  # 12 applies killed and resumed, each in processes of their own: about a minute
@pytest.mark.parametrize("run", range(RUNS))
def test_an_apply_killed_at_a_random_moment_is_resumed_by_the_next(
    scenarios: dict[str, Scenario], tmp_path: Path, run: int
) -> None:
    rng = random.Random(f"{MASTER_SEED}/{run}")
    scenario = scenarios[POLICIES[run % 3]]
    folder = tmp_path / "spec"
    folder.mkdir()
    for name in ("spec.yaml", "leads.csv"):
        shutil.copyfile(scenario.folder / name, folder / name)
    faults = (
        f"seed={run},job_ms={rng.randint(50, 300)},429=0.03:burst=2:retry_after=0,"
        "5xx=0.02:when=after:on=writes,drop=0.02:when=after:on=writes,job_fail=0.1"
    )
    running = sandbox.start(state=scenario.fresh_state(tmp_path / "state"), faults=faults)
    try:
        killed = leadsync(folder, running.url, "apply", "spec.yaml", "--auto-approve")
        time.sleep(rng.uniform(0.3, 2.8))  # the apply takes about 3 s: import, read, plan, ~60 writes, verify
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
        journals = list(folder.glob(".state/*.journal.jsonl"))  # none when killed before its first write
        interrupted = any(Journal(path).unfinished() is not None for path in journals)

        fresh = leadsync(folder, running.url, "apply", "spec.yaml", "--auto-approve")
        _, err = fresh.communicate(timeout=120)
        assert fresh.returncode == 0, err[-2000:]
        assert "Converged" in err or "No changes." in err  # the killed one may have finished its writes
        assert ("Resuming an interrupted apply" in err) == interrupted
        final = running.state()
    finally:
        running.stop(wait=False)
    findings = check(scenario, scenario.first_plan, final)
    assert findings.clean, f"run {run} ({scenario.policy}, {faults}): {findings}"
