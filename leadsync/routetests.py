"""Routing tests (`tests:` in a spec, or case files): each case's lead routed by the spec's router and compared
with what the case expects. Pure: cases in, results out; the CLI prints and picks the date.

A case's lead is built the way an inline lead of the spec is (`leadsync.spec.sources`), so key normalisation,
`domain` derivation and attribute look-up are those of real routing. Case files are read like specs: within the
spec's size budget, through the located YAML loader, checked by the spec's models and checker, every problem
located at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path as FsPath

from pydantic import TypeAdapter, ValidationError

from leadsync.errors import Location, Problem, RoutingError, SpecError
from leadsync.routing import Router
from leadsync.spec import LoadedSpec
from leadsync.spec.checks import SpecChecker, resolve_inside
from leadsync.spec.loader import MAX_SPEC_BYTES, _translate
from leadsync.spec.models import RouteExpectation, RoutingCase
from leadsync.spec.yamlpos import Positions, load_yaml
from leadsync.state import Lead

_CASES = TypeAdapter(list[RoutingCase])


@dataclass(frozen=True)
class Case:
    """One routing test, numbered from 1 within its file."""

    number: int
    where: Location  # the case's file and line
    lead: Lead
    expect: RouteExpectation


@dataclass(frozen=True)
class CaseResult:
    case: Case
    route: str | None  # what routing made of the lead (None: unrouted)
    destination: str | None
    owner: str | None
    mismatches: tuple[str, ...]  # `expected owner alice, got bob`, one per key that differs

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def describe(self) -> str:
        """`FILE:LINE: case N (key): expected ..., got ... (route R -> D, owner O)`: one greppable line."""
        got = "unrouted" if self.route is None else f"route {self.route} -> {self.destination}"
        if self.route is not None:
            got += f", owner {self.owner}" if self.owner else ", no owner set"
        return (
            f"{self.case.where}: case {self.case.number} ({self.case.lead.key}): {'; '.join(self.mismatches)} ({got})"
        )


@dataclass(frozen=True)
class RoutingTestRun:
    results: tuple[CaseResult, ...]

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def passed(self) -> int:
        return len(self.results) - len(self.failures)

    def summary(self) -> str:
        """`12 cases: 11 passed, 1 failed`."""
        total = len(self.results)
        return f"{total} case{'s' if total != 1 else ''}: {self.passed} passed, {len(self.failures)} failed"


def spec_cases(loaded: LoadedSpec) -> list[Case]:
    """The spec's own `tests:` (already checked with the spec)."""
    return _cases(loaded, loaded.spec.tests, loaded.positions, ("tests",))


def load_case_file(loaded: LoadedSpec, raw: str, cwd: FsPath | None = None) -> list[Case]:
    """The cases of the YAML file `raw` names (relative to `cwd`, never outside it: as a spec's sources are to the
    spec's folder), checked against `loaded`; raises SpecError listing every problem."""
    resolved = resolve_inside(cwd or FsPath("."), raw)
    if isinstance(resolved, str):
        why = resolved.replace("the spec's folder", "the current folder")  # where case files are named from
        raise SpecError([Problem(Location(raw), f"routing test file: {why}")])
    with resolved.open("rb") as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)  # never more than a spec's budget in memory
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            [Problem(Location(raw), f"larger than {MAX_SPEC_BYTES // 2**20} MiB, the most a routing test file may be")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(Location(raw), f"not UTF-8 text (byte {exc.start})")]) from None
    value, positions, problems = load_yaml(text, raw)
    if problems:
        raise SpecError(problems)
    if value is None:
        return []  # an empty file holds no cases
    if not isinstance(value, list):
        raise SpecError(
            [
                Problem(
                    Location(raw, 1, 1),
                    "a routing test file is a YAML list of cases, each `- lead: {...}` with `expect: {...}`",
                )
            ]
        )
    try:
        cases = _CASES.validate_python(value)
    except ValidationError as exc:
        raise SpecError(_translate(exc, value, positions)) from None  # type: ignore[arg-type]
    checker = SpecChecker(loaded.spec, positions, loaded.root)
    checker.routing_tests(cases, base=())
    if checker.problems:
        raise SpecError(checker.problems)
    return _cases(loaded, cases, positions, ())


def _cases(loaded: LoadedSpec, cases: list[RoutingCase], positions: Positions, base: tuple[str, ...]) -> list[Case]:
    return [
        Case(
            i + 1,
            Location(positions.file, positions.of((*base, i)).line),
            _lead(loaded, case, positions, (*base, i)),
            case.expect,
        )
        for i, case in enumerate(cases)
    ]


def _lead(loaded: LoadedSpec, case: RoutingCase, positions: Positions, path: tuple[str | int, ...]) -> Lead:
    """The case's lead as `leadsync.spec.sources` builds an inline lead: sorted fields, the normalised key."""
    kind = loaded.spec.key_kind
    key = kind.normalise(case.lead[kind.value])
    assert key is not None  # the checker refused a lead without a valid key
    names = sorted(str(name) for name in case.lead)
    fields = {name: j for j, name in enumerate(names)}
    where = positions.of((*path, "lead"))
    return Lead(key, tuple(case.lead[name] for name in names), fields, positions.file, where.line)


def run_cases(loaded: LoadedSpec, cases: list[Case], at: datetime.date | None = None) -> RoutingTestRun:
    """Each case routed alone, as `leadsync explain` routes a lead (no current owner), owners' absences read
    at `at`."""
    router = Router(loaded)
    results = []
    for case in cases:
        try:  # as plan routes it: a value a route cannot read (a size of 'lots') is an error there, so a failure here
            router.route([case.lead], at=at)
        except RoutingError as exc:
            error = "; ".join(p.message for p in exc.problems)
            results.append(CaseResult(case, None, None, None, (f"routing refuses this lead: {error}",)))
            continue
        found = router.explain(case.lead, None, at=at)
        results.append(
            CaseResult(
                case,
                found.route,
                found.destination,
                found.owner,
                _mismatches(case.expect, found.route, found.destination, found.owner),
            )
        )
    return RoutingTestRun(tuple(results))


def _mismatches(expect: RouteExpectation, route: str | None, to: str | None, owner: str | None) -> tuple[str, ...]:
    """What differs from `expect`; keys it does not give are not checked."""
    found: list[str] = []
    if expect.unrouted is True and route is not None:
        found.append("expected unrouted, got routed")
    if expect.unrouted is False and route is None:
        found.append("expected routed, got unrouted")
    for name, wanted, actual in (
        ("route", expect.route, route),
        ("destination", expect.to, to),
        ("owner", expect.owner, owner),
    ):
        if wanted is not None and wanted != actual:
            shown = actual if actual is not None else ("unrouted" if route is None else "none")
            found.append(f"expected {name} {wanted}, got {shown}")
    return tuple(found)
