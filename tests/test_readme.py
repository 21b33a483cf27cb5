"""The README's console examples are what leadsync prints: every `validate`, `explain` and error `plan` shown
there is run, and its output compared line for line (a new user's walk found four blocks that had drifted or
named files that do not ship; the mistakes now live in specs/examples/mistakes/)."""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUNNABLE = re.compile(r"^leadsync (validate|explain|plan specs/examples/mistakes/)")


def examples() -> list[tuple[str, list[str]]]:
    """(command, the lines the README shows for it) of each runnable command in a console block."""
    found: list[tuple[str, list[str]]] = []
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        command: str | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:] if RUNNABLE.match(line[2:]) else None
                if command is not None:
                    found.append((command, []))
            elif command is not None:
                found[-1][1].append(line)
    return found


EXAMPLES = examples()


def test_the_readme_has_runnable_examples() -> None:
    commands = [c for c, _ in EXAMPLES]
    assert len(commands) >= 6 and any("mistakes/broken.yaml" in c for c in commands), commands


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_a_readme_example_prints_what_the_readme_shows(
    command: str, shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    args: list[str] = []
    for word in shlex.split(command)[1:]:
        args += sorted(glob.glob(word)) if "*" in word else [word]
    result = CliRunner().invoke(main, args)
    printed = result.output.rstrip("\n").splitlines()
    while shown and not shown[-1]:
        shown = shown[:-1]
    assert printed == shown
