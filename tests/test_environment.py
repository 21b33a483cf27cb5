"""No traceback, whatever the environment (issue #25): a terminal that cannot encode what leadsync prints, a
closed stdout, a malformed base URL in the environment, numbers at their limits: one line each, exit 1 (or the
output shown with escapes, exit 0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def run(
    args: list[str], cwd: Path, *, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "leadsync.cli", *args], cwd=cwd, env=environment, capture_output="stdout" not in kwargs,
        text=True, timeout=120, check=False, **kwargs,
    )  # fmt: skip


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_a_terminal_that_cannot_encode_gets_escapes(quickstart: Path, encoding: str) -> None:
    done = run(["explain", "quickstart.yaml", "kira.eriksen0@globex.test"], quickstart,
               env={"PYTHONIOENCODING": encoding, "LANG": "C", "LC_ALL": "C"})  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    # shown as its escape where the encoding cannot hold it (Python's C-locale coercion may still pick UTF-8)
    assert "\\u2713 route strategic" in done.stdout or "✓ route strategic" in done.stdout


def test_a_closed_stdout_is_one_line(quickstart: Path) -> None:
    args = ["plan", "quickstart.yaml", "--remote", "quickstart.remote.json"]
    closing = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "preexec_fn": lambda: os.close(1)}
    done = run(args, quickstart, **closing)
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: stdout closed: leadsync has nowhere to write"


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:port", "https://x.test:99999999"])
def test_a_malformed_base_url_is_one_line(quickstart: Path, url: str) -> None:
    spec = yaml.safe_load((quickstart / "quickstart.yaml").read_text())
    spec["workspace"] = {"provider": "instantly", "api_key_env": "INSTANTLY_API_KEY"}
    (quickstart / "live.yaml").write_text(yaml.safe_dump(spec))
    done = run(["plan", "live.yaml"], quickstart, env={"LEADSYNC_INSTANTLY_BASE_URL": url, "INSTANTLY_API_KEY": "k"})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error: LEADSYNC_INSTANTLY_BASE_URL:") and len(done.stderr.splitlines()) == 1


def test_weights_at_the_limit_of_a_float_are_refused(quickstart: Path) -> None:
    spec = yaml.safe_load((quickstart / "quickstart.yaml").read_text())
    spec["owners"]["alice"]["weight"] = 1e308
    spec["owners"]["bob"]["weight"] = 1e308
    (quickstart / "heavy.yaml").write_text(yaml.safe_dump(spec))
    done = run(["validate", "heavy.yaml"], quickstart)
    assert done.returncode == 1
    assert "owners.alice.weight: Input should be less than or equal to 1000000" in done.stderr
