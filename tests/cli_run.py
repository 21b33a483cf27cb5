"""The `leadsync` command run in this process, as the tests of this session's features call it: (exit code,
stdout, stderr); an exception other than the CLI's own exit is raised, so a traceback fails the test."""

from __future__ import annotations

from click.testing import CliRunner

from leadsync.cli import main


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
