"""Routing like a lead router, end to end on the sandbox: specs/examples/team-routing.yaml (capacity, away, accounts,
fallbacks) plans, applies, converges, and plans to No changes; the plan's date decides who is away, is written into
the plan document and binds its fingerprint; a pool nobody can take from is a 'pool full' conflict, never a guess."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.plan import load_plan

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
FILES = ("team-routing.yaml", "team-routing.remote.json", "quickstart.leads.csv")
HOLIDAY, WORKDAY = "2026-12-22", "2026-12-02"  # bob is away 2026-12-20 .. 2027-01-04


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in FILES:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path / "team-routing.yaml"


def _document(*args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = leadsync("plan", "team-routing.yaml", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def _owners_added_or_moved(doc: dict) -> set[str]:  # type: ignore[type-arg]
    owners = {lead["owner"] for op in doc["operations"] if op["op"] == "add" for lead in op["leads"]}
    owners |= {op["owner"] for op in doc["operations"] if op["op"] in ("move", "assign") and op.get("owner")}
    return owners


def test_the_example_applies_and_converges_to_no_changes(team: Path) -> None:
    code, out, err = leadsync("plan", "team-routing.yaml")
    assert code == 0, err
    assert "Capacity (leads held in managed destinations" in out
    code, _, err = leadsync("apply", "team-routing.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    code, out, _ = leadsync("plan", "team-routing.yaml", "--detailed-exitcode")
    assert code == 0 and out.rstrip().endswith("No changes."), out


def test_capacities_are_never_exceeded_by_the_pools(team: Path) -> None:
    doc = _document("--at", WORKDAY)
    capped = {o["owner"]: o for o in doc["owners"] if "capacity" in o}
    assert set(capped) == {"alice", "carol"}
    assert all(o["after"] <= o["capacity"] for o in capped.values()), capped
    assert not [w for w in doc["warnings"] if w["kind"] == "over_capacity"]


def test_an_away_owner_gets_no_new_leads_and_the_plan_says_so(team: Path) -> None:
    working, holiday = _document("--at", WORKDAY), _document("--at", HOLIDAY)

    def pool_drawn(doc: dict) -> set[str]:  # type: ignore[type-arg]
        return {
            lead["owner"]
            for op in doc["operations"]
            if op["op"] == "add"
            for lead in op["leads"]
            if lead["route"] in ("big-companies", "smb-europe")
        }

    assert "bob" in pool_drawn(working)  # bob takes new pool leads on a working day ...
    assert "bob" not in pool_drawn(holiday)  # ... and none while away (his fixed route still gives him some)
    assert "bob" in _owners_added_or_moved(holiday)
    assert holiday["at"] == HOLIDAY and working["at"] == WORKDAY
    assert [w["message"] for w in holiday["warnings"] if w["kind"] == "away"] == [
        f"bob is away on {HOLIDAY} (2026-12-20 to 2027-01-04): no new leads from pools; keeps the leads bob owns"
    ]
    assert not [w for w in working["warnings"] if w["kind"] == "away"]
    code, out, _ = leadsync("plan", "team-routing.yaml", "--at", HOLIDAY)
    assert code == 0 and "bob is away on 2026-12-22" in out


def test_the_date_is_part_of_the_fingerprint(team: Path) -> None:
    assert _document("--at", WORKDAY)["fingerprint"] != _document("--at", "2026-12-03")["fingerprint"]
    assert _document("--at", WORKDAY)["fingerprint"] == _document("--at", WORKDAY)["fingerprint"]


def test_a_saved_plan_keeps_its_date_when_applied(team: Path) -> None:
    code, _, err = leadsync("plan", "team-routing.yaml", "--at", HOLIDAY, "--out", "plan.json")
    assert code == 0, err
    assert load_plan(Path("plan.json")).at == HOLIDAY
    code, _, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    code, out, _ = leadsync("plan", "team-routing.yaml", "--at", HOLIDAY, "--detailed-exitcode")
    assert code == 0 and out.rstrip().endswith("No changes."), out


def test_a_pool_nobody_can_take_from_is_a_pool_full_conflict(team: Path) -> None:
    text = team.read_text()
    text = text.replace("capacity: 4}", "capacity: 0}").replace(
        "  dana: {email: dana@acme.test}", "  dana: {email: dana@acme.test, capacity: 0}"
    )
    text = re.sub(
        r"alice: \{email: alice@acme.test, capacity: 9\}", "alice: {email: alice@acme.test, capacity: 0}", text
    )
    team.write_text(
        text.replace("bob: {email: bob@acme.test, weight: 2,", "bob: {email: bob@acme.test, weight: 2, capacity: 0,")
    )
    doc = _document("--at", WORKDAY)
    full = [c for c in doc["conflicts"] if c["reason"] == "pool_full"]
    assert full and all(c["detail"].startswith("pool '") for c in full)
    assert all("full (" in c["detail"] for c in full)
    routed = {
        lead["key"]
        for op in doc["operations"]
        if op["op"] == "add"
        for lead in op["leads"]
        if lead["route"] in ("big-companies", "smb-europe")
    }
    assert not routed  # nobody is given a lead no owner had room for
    _, out, _ = leadsync("plan", "team-routing.yaml", "--at", WORKDAY)
    assert "pool full: pool 'ae-team': no member or fallback can take it" in out


def test_a_bad_date_is_a_clear_error(team: Path) -> None:
    code, _, err = leadsync("plan", "team-routing.yaml", "--at", "2026-13-01")
    assert code == 1 and "--at" in err and "Traceback" not in err


def test_max_rate_above_the_vendors_is_a_located_error(team: Path) -> None:
    team.write_text(
        team.read_text().replace(
            "  seed: team-routing.remote.json\n", "  seed: team-routing.remote.json\n  max_rate: 150\n"
        )
    )
    code, _, err = leadsync("validate", "team-routing.yaml")
    assert (
        code == 1
        and "team-routing.yaml:9:13: max_rate 150 is above the vendor's limit of 100 requests per second" in err
    )


def test_max_rate_caps_the_request_rate(team: Path) -> None:
    """A rate cap, so a lower bound on time (never an upper one): N calls at R a second take at least (N - R) / R."""
    started = time.monotonic()
    code, out, err = leadsync("plan", "team-routing.yaml", "--format", "json", "--max-rate", "4")
    elapsed = time.monotonic() - started
    assert code == 0, err
    calls = json.loads(out)["workspace"]["read"]["calls"]
    assert calls >= 10 and elapsed >= (calls - 4) / 4, (calls, elapsed)


def test_explain_places_a_lead_among_the_specs_leads(team: Path) -> None:
    code, out, err = leadsync("explain", "team-routing.yaml", "greta.jensen25@acme25.test", "--at", HOLIDAY)
    assert code == 0, err
    assert "owner: dana — pool 'smb-team'" in out and "placed with the spec's 37 leads" in out


def test_the_markdown_plan_shows_capacity_away_and_the_routing_tests(team: Path) -> None:
    code, out, err = leadsync("plan", "team-routing.yaml", "--format", "markdown", "--at", HOLIDAY)
    assert code == 0, err
    assert "| owner | before | after | Δ | capacity |" in out
    assert re.search(r"\| alice \| \d+ \| \d+ \| [+-]\d+ \| 9 \|", out), out
    assert "- bob is away on 2026-12-22 (2026-12-20 to 2027-01-04)" in out
    assert "**Routing tests:** ✅ 4 of 4 passed" in out


def test_max_rate_on_the_command_line_is_checked(team: Path) -> None:
    for value, message in (
        ("nan", "nan is not a number of requests per second"),
        ("inf", "inf is not a number of requests per second"),
        ("0.01", "0.01 is not in the range x>=0.1"),
        ("150", "--max-rate 150 is above the vendor's limit of 100 requests per second"),
    ):
        code, _, err = leadsync("plan", "team-routing.yaml", "--max-rate", value)
        assert code == 1 and message in err and "Traceback" not in err, (value, err)


def test_a_routing_case_routing_refuses_fails(team: Path) -> None:
    Path("cases.yaml").write_text("- {lead: {email: a@b.test, company_size: lots}, expect: {route: everyone-else}}\n")
    code, out, _ = leadsync("test", "team-routing.yaml", "cases.yaml")
    assert code == 1 and "cases.yaml:1: case 1 (a@b.test): routing refuses this lead: company_size: 'lots'" in out
