"""`leadsync test`: a spec's routing tests, and their one-line summary in the markdown plan (kept out of cli.py,
which holds the other commands; registered on its group there)."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

import click

from leadsync.cli_common import at_option, tell
from leadsync.errors import Problem, SpecError
from leadsync.render import render_markdown
from leadsync.routetests import Case, RoutingTestRun, load_case_file, run_cases, spec_cases
from leadsync.spec import LoadedSpec, load_spec
from leadsync.workflow import Planned, default_at, parse_stamp


def test_command(path: type[click.Path], errors: Callable[[], AbstractContextManager[None]]) -> click.Command:
    """The `test` command, made with cli.py's path type and error handling (passed in: this module imports
    nothing of cli.py, which registers the command, so `python -m leadsync.cli` loads each module once)."""

    @click.command("test")
    @click.argument("spec", type=path(dir_okay=False))
    @click.argument("files", nargs=-1, type=path(dir_okay=False))
    @at_option("Route the cases")
    def test(spec: str, files: tuple[str, ...], at: datetime.date | None) -> None:
        """Run SPEC's routing tests (`tests:`) and those in FILES (YAML lists of cases, relative to the current
        folder): exit 0 when all pass, 1 when one fails or a spec or file is invalid."""
        with errors():
            loaded = load_spec(spec)
            cases = _all_cases(loaded, files)
            if not cases:
                tell(f"{spec}: no routing tests (add `tests:` to the spec, or give files of cases)")
                return
            run = run_cases(loaded, cases, at if at is not None else default_at(loaded))
        for failure in run.failures:
            tell(failure.describe())
        click.echo(run.summary())
        if run.failures:
            sys.exit(1)

    return test


def _all_cases(loaded: LoadedSpec, files: tuple[str, ...]) -> list[Case]:
    """The spec's cases, then each file's; every file's problems reported at once."""
    cases = spec_cases(loaded)
    problems: list[Problem] = []
    for path in files:
        try:
            cases.extend(load_case_file(loaded, path))
        except SpecError as error:
            problems.extend(error.problems)
    if problems:
        raise SpecError(problems)
    return cases


def markdown_plan(planned: Planned) -> str:
    """The markdown plan, saying how the spec's own routing tests fare (offline, at the plan's date) when it has
    any."""
    tests: RoutingTestRun | None = None
    if planned.loaded.spec.tests:
        day = parse_stamp(planned.plan.at) if planned.plan.at else default_at(planned.loaded)
        tests = run_cases(planned.loaded, spec_cases(planned.loaded), day)
    return render_markdown(planned.plan, tests=tests)
