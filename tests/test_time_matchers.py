"""Time in conditions (DESIGN section 9): `older_than`, `within`, `before`, `after`, measured from the plan's
time (`--at`, a date or a time), deterministic, located when written wrong; on dates from inline leads, CSV text
and SQL sources alike."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_run import leadsync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.errors import RoutingError, SpecError
from leadsync.routing import Router
from leadsync.spec import load_leads
from leadsync.spec.loader import LoadedSpec

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def spec_with(make_spec: Any, when: dict[str, Any], leads: list[dict[str, Any]] | None = None) -> LoadedSpec:
    doc = {
        "version": 1,
        "workspace": {"provider": "sandbox", "seed": "seed.json"},
        "destinations": {"recycle": {"campaign": "Recycle"}, "nurture": {"list": "Nurture"}},
        "leads": leads or [{"email": "a@x.test", "last_contacted": "2026-11-01"}],
        "routes": [{"name": "stale", "when": when, "to": "recycle"}, {"name": "rest", "to": "nurture"}],
    }
    return make_spec(json.dumps(doc), files={"seed.json": "{}"})


def routes_of(loaded: LoadedSpec, at: date | None = AT) -> dict[str, str | None]:
    routing = Router(loaded).route(load_leads(loaded).leads, at=at)
    found: dict[str, str | None] = {d.key: d.route for d in routing.desired}
    found.update({lead.key: None for lead in routing.unrouted})
    return found


# -- what each matcher means -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "value", "stale"),
    [
        ({"older_than": "14d"}, "2026-11-23T11:59:59Z", True),  # 14 days and a second before AT
        ({"older_than": "14d"}, "2026-11-23T12:00:00Z", False),  # exactly 14 days: not older
        ({"older_than": "2w"}, "2026-11-22", True),  # a date is its day's start (UTC)
        ({"older_than": "36h"}, "2026-12-06T01:30:00+01:00", False),  # 35.5 h before AT, zone taken into account
        ({"within": "7d"}, "2026-11-30T12:00:00Z", True),  # exactly 7 days: within
        ({"within": "7d"}, "2026-11-30T11:59:59Z", False),
        ({"within": "7d"}, "2026-12-25", True),  # ahead of the plan's time counts as within
        ({"before": "2026-12-01"}, "2026-11-30T23:59:59Z", True),
        ({"before": "2026-12-01"}, "2026-12-01", False),  # the day itself is not before it
        ({"after": "2026-12-01"}, "2026-12-01T23:59:59Z", False),  # nor after it
        ({"after": "2026-12-01"}, "2026-12-02T00:00:00Z", True),
        ({"after": "2026-12-01T08:00:00Z"}, "2026-12-01T08:00:00Z", True),  # a time bound: at or past it
        ({"before": "2026-12-01T08:00:00"}, "2026-12-01T07:59:59Z", True),  # no zone: UTC
    ],
)
def test_each_matcher(make_spec: Any, when: dict[str, Any], value: str, stale: bool) -> None:
    loaded = spec_with(make_spec, {"last_contacted": when}, [{"email": "a@x.test", "last_contacted": value}])
    assert routes_of(loaded)["a@x.test"] == ("stale" if stale else "rest")


def test_a_time_the_lead_lacks_matches_neither(make_spec: Any) -> None:
    leads = [{"email": "a@x.test"}, {"email": "b@x.test", "last_contacted": ""}]
    for op in ("older_than", "within"):
        loaded = spec_with(make_spec, {"last_contacted": {op: "1d"}}, leads)
        assert set(routes_of(loaded).values()) == {"rest"}
    loaded = spec_with(make_spec, {"not": {"last_contacted": {"within": "1d"}}}, leads)
    assert set(routes_of(loaded).values()) == {"stale"}  # `not` of a miss holds: say `exists` to ask for one


def test_yaml_dates_and_typed_times_are_times(make_spec: Any, tmp_path: Path) -> None:
    # YAML reads an unquoted 2026-11-01 as a date; a SQL source gives dates and timestamps typed
    text = (
        "version: 1\nworkspace: {provider: sandbox, seed: seed.json}\n"
        "destinations: {recycle: {campaign: Recycle}, nurture: {list: Nurture}}\n"
        "leads:\n  - {email: a@x.test, last_contacted: 2026-11-01}\n  - {email: b@x.test, last_contacted: 2026-12-06}\n"
        "routes:\n  - {name: stale, when: {last_contacted: {older_than: 14d}}, to: recycle}\n"
        "  - {name: rest, to: nurture}\n"
    )
    loaded = make_spec(text, files={"seed.json": "{}"})
    assert routes_of(loaded) == {"a@x.test": "stale", "b@x.test": "rest"}


def test_a_value_that_is_not_a_time_is_an_error_at_its_lead(make_spec: Any) -> None:
    loaded = spec_with(make_spec, {"last_contacted": {"older_than": "14d"}},
                       [{"email": "a@x.test", "last_contacted": "last tuesday"}])  # fmt: skip
    with pytest.raises(RoutingError, match=r"last_contacted: 'last tuesday' is not a date or a time \(needed by "
                                           r"last_contacted older than 14d\)"):  # fmt: skip
        routes_of(loaded)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            {"older_than": "14 days"},
            "'older_than' takes a duration, a whole number and a unit, h (hours), d (days) "
            "or w (weeks): 36h, 14d, 2w; got '14 days'",
        ),
        ({"within": 14}, "'within' takes a duration"),
        ({"within": "1.5d"}, "'within' takes a duration"),
        ({"before": "next week"}, "'before' takes a date (2027-01-01, the day in UTC) or a time"),
        ({"after": True}, "'after' takes a date"),
        ({"after": "2026-02-30"}, "'after' takes a date"),
        ({"older_then": "14d"}, "unknown comparison 'older_then'"),
    ],
)
def test_a_time_written_wrong_is_located_and_shows_the_forms(
    make_spec: Any, when: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError) as raised:
        spec_with(make_spec, {"last_contacted": when})
    text = str(raised.value)
    assert message in text and "spec.yaml:" in text, text


# -- deterministic: the same leads and the same time give the same routes ----------------------------------------------

TIMES = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=TIMES, value=TIMES, days=st.integers(0, 400))
def test_older_than_and_within_split_every_time(make_spec: Any, at: datetime, value: datetime, days: int) -> None:
    value = value.replace(microsecond=0)
    leads = [{"email": "a@x.test", "t": value.isoformat()}]
    older = spec_with(make_spec, {"t": {"older_than": f"{days}d"}}, leads)
    within = spec_with(make_spec, {"t": {"within": f"{days}d"}}, leads)
    is_older = routes_of(older, at)["a@x.test"] == "stale"
    assert is_older == (value < at - timedelta(days=days))
    assert is_older != (routes_of(within, at)["a@x.test"] == "stale")  # one or the other, never both
    assert routes_of(older, at) == routes_of(older, at)


# -- the commands: --at, the plan document, explain, a saved plan ------------------------------------------------------


@pytest.fixture
def recycling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec that recycles leads not contacted for 14 days, its leads from a DuckDB table with real dates."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "leads.sql").write_text("SELECT email, last_contacted FROM leads ORDER BY email")
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("CREATE TABLE leads (email VARCHAR, last_contacted TIMESTAMPTZ)")
        con.executemany("INSERT INTO leads VALUES (?, ?)", [
            ("old@x.test", datetime(2026, 11, 1, 9, tzinfo=UTC)),
            ("fresh@x.test", datetime(2026, 12, 1, 9, tzinfo=UTC)),
            ("never@x.test", None),
        ])  # fmt: skip
    (tmp_path / "seed.json").write_bytes((EXAMPLES / "quickstart.remote.json").read_bytes())
    spec = {
        "version": 1,
        "workspace": {"provider": "sandbox", "seed": "seed.json"},
        "destinations": {"recycle": {"campaign": "Enterprise Q4"}, "nurture": {"list": "Nurture"}},
        "sources": [{"sql": "queries/leads.sql", "database": "crm.duckdb"}],
        "routes": [
            {"name": "stale", "when": {"last_contacted": {"older_than": "14d"}}, "to": "recycle"},
            {"name": "rest", "to": "nurture"},
        ],
    }
    (tmp_path / "spec.yaml").write_text(json.dumps(spec))
    return tmp_path


def test_plan_at_a_time_is_recorded_and_decides(recycling: Path) -> None:
    code, out, err = leadsync("plan", "spec.yaml", "--at", "2026-12-07T12:00:00Z", "--out", "a.json")
    assert code == 0, err
    assert "+ old@x.test  (route stale)" in out and "+ fresh@x.test  (route rest)" in out
    document = json.loads(Path("a.json").read_text())
    assert document["at"] == "2026-12-07T12:00:00Z"
    code, out, _ = leadsync("plan", "spec.yaml", "--at", "2026-12-20", "--out", "b.json")  # a date: its start
    assert "+ fresh@x.test  (route stale)" in out
    later = json.loads(Path("b.json").read_text())
    assert later["at"] == "2026-12-20" and later["fingerprint"] != document["fingerprint"]
    code, out, _ = leadsync("plan", "spec.yaml", "--at", "2026-12-07T12:00:00Z", "--format", "json")
    assert json.loads(out) == document  # the same spec, workspace and --at: the same plan


def test_plan_without_at_is_as_of_now_and_says_so(recycling: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    code, out, err = leadsync("plan", "spec.yaml", "--format", "json")
    assert code == 0, err
    at = datetime.fromisoformat(json.loads(out)["at"])
    assert before <= at <= datetime.now(UTC)


def test_a_wrong_at_is_one_line(recycling: Path) -> None:
    code, _, err = leadsync("plan", "spec.yaml", "--at", "yesterday")
    assert code == 1 and "'yesterday' is neither a date (2026-12-22) nor a time (2026-12-22T09:30:00Z)" in err


def test_explain_says_how_long_ago(recycling: Path) -> None:
    code, out, err = leadsync("explain", "spec.yaml", "old@x.test", "--at", "2026-12-07T12:00:00Z")
    assert code == 0, err
    assert "last_contacted older than 14d holds: last_contacted is 2026-11-01T09:00:00+00:00 (36.1d before " \
           "2026-12-07T12:00:00Z)" in out  # fmt: skip


def test_a_saved_plan_is_applied_as_of_its_own_time(recycling: Path) -> None:
    assert leadsync("plan", "spec.yaml", "--at", "2026-12-07T12:00:00Z", "--out", "plan.json")[0] == 0
    # applied "later": had it been re-planned now, fresh@x.test (contacted 2026-12-01) would be stale too
    code, out, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 0, out + err
    assert "Converged" in out + err
    code, out, _ = leadsync("plan", "spec.yaml", "--at", "2026-12-07T12:00:00Z")
    assert out.rstrip().endswith("No changes.")


def test_validate_and_test_with_time_matchers(recycling: Path) -> None:
    code, out, err = leadsync("validate", "--sources", "spec.yaml")
    assert code == 0 and "Warning" not in err, err  # which routes match depends on the time: no warning now
    Path("cases.yaml").write_text(
        "- lead: {email: a@x.test, last_contacted: 2026-11-01}\n  expect: {route: stale}\n"
        "- lead: {email: b@x.test, last_contacted: '2026-12-06T09:00:00Z'}\n  expect: {route: rest}\n"
    )
    code, out, err = leadsync("test", "spec.yaml", "cases.yaml", "--at", "2026-12-07T12:00:00Z")
    assert code == 0 and "2 cases: 2 passed" in out, out + err
    code, out, _ = leadsync("test", "spec.yaml", "cases.yaml", "--at", "2027-03-01")
    assert code == 1 and "expected route rest, got stale" in out
