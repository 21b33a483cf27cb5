"""The API key never appears in any output, plan, journal, lock or log, raw or encoded (docs/design.md section 5).

A canary key is put in the variable the spec names, and the commands run as a user runs them (child processes):
plan in every format, plan --out, apply through faults that cause retries, ambiguous writes and failed jobs,
apply of the saved plan, a dry run, a refused key, and an unreachable vendor. Every byte they print or leave
behind is searched for the canary: as it is, in base64 (standard and URL-safe, at each of the three alignments a
longer encoded text could put it in, e.g. a Basic or Bearer header encoded whole), in hex, and reversed.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile.support import CANARY, KEY_ENV, instantly_folder, leaks

from leadsync import sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def test_the_encodings_find_the_canary_inside_a_longer_encoded_text() -> None:
    for prefix in ("", "B", "Be", "Bearer ", "user:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            assert leaks(encode((prefix + CANARY + "!").encode()).decode()), prefix
    assert not leaks(base64.b64encode(b"an ordinary plan").decode())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The quickstart, as an Instantly workspace whose key is in $LEADSYNC_CANARY_KEY."""
    instantly_folder(tmp_path)
    return tmp_path


@pytest.fixture
def vendor(caplog: pytest.LogCaptureFixture) -> Iterator[sandbox.RunningSandbox]:
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    seed["api_keys"] = [{"key": CANARY, "scopes": ["all:*"]}]
    faults = (
        "seed=4,job_ms=100,429=0.1:burst=2:retry_after=0,5xx=0.1:when=after:on=writes,"
        "drop=0.1:when=after:on=writes,5xx=0.05:status=503:on=reads,job_fail=0.2"
    )
    caplog.set_level(logging.DEBUG)
    with sandbox.start(seed, faults=faults) as running:
        yield running


def run(folder: Path, url: str, key: str, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "LEADSYNC_INSTANTLY_BASE_URL": url,
        KEY_ENV: key,
        "NO_COLOR": "1",
        "LEADSYNC_STATE_DIR": str(folder / ".state"),
    }  # the lock and journal too are searched
    done = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + "\n" + done.stderr


def test_the_key_never_appears_in_any_output_plan_journal_lock_or_log(
    folder: Path, vendor: sandbox.RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    outputs: dict[str, str] = {}
    for name, args in {
        "plan text": ["plan", "quickstart.yaml", "--out", "plan.json"],
        "plan json": ["plan", "quickstart.yaml", "--format", "json"],
        "plan markdown": ["plan", "quickstart.yaml", "--format", "markdown"],
        "dry run": ["apply", "quickstart.yaml", "--dry-run"],
        "no terminal": ["apply", "quickstart.yaml"],
        "apply": ["apply", "quickstart.yaml", "--auto-approve"],
        "apply saved (stale by now)": ["apply", "plan.json", "--auto-approve"],
        "apply again": ["apply", "quickstart.yaml", "--auto-approve"],
    }.items():
        code, outputs[name] = run(folder, vendor.url, CANARY, *args)
        outputs[name] = f"exit {code}\n{outputs[name]}"
    assert "Converged" in outputs["apply"] or "Converged" in outputs["apply again"], outputs["apply"]
    assert "stale plan" in outputs["apply saved (stale by now)"]
    # the faults did bite (an apply may also give up on a run of 429s, and the next resumes it)
    # (which of the two depends on the order the faults fall in, which the timing of the job polls shifts)
    bitten = outputs["apply"] + outputs["apply again"]
    assert "open outcomes settled by re-reading" in bitten or "Resuming an interrupted apply" in bitten, bitten

    code, outputs["refused key"] = run(folder, vendor.url, CANARY + "x", "apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and f"${KEY_ENV} was refused (401)" in outputs["refused key"]
    with socket.socket() as spare:  # a port nobody listens on
        spare.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{spare.getsockname()[1]}"
    code, outputs["vendor down"] = run(folder, closed, CANARY, "plan", "quickstart.yaml")
    assert code == 1 and "Error: " in outputs["vendor down"]

    files = {
        str(path.relative_to(folder)): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    assert "plan.json" in files
    assert any(name.endswith(".journal.jsonl") for name in files) and any(name.endswith(".lock") for name in files)
    found = {name: leaks(text) for name, text in {**outputs, **files, "log": caplog.text}.items()}
    assert {name: kinds for name, kinds in found.items() if kinds} == {}
