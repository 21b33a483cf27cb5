"""Validation by meaning: attributes no lead has, routes no lead takes, numbers written as text."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.errors import SpecError
from leadsync.routing import Router
from leadsync.spec import LoadedSpec, load_leads
from leadsync.spec.meaning import comparison_for

HEAD = """\
version: 1
workspace: {provider: sandbox}
destinations: {big: {campaign: Big}, rest: {list: Rest}}
"""
CSV = "email,employees,country\nana@one.test,120,DE\nben@two.test,4000,US\n"


def load(make_spec: Callable[..., LoadedSpec], body: str, files: dict[str, str] | None = None) -> list[str]:
    """The problems (as LINE:COL: message) load_spec + load_leads report, or the warnings when there are none."""
    try:
        loaded = make_spec(HEAD + body, files if files is not None else {"leads.csv": CSV})
        leads = load_leads(loaded)
    except SpecError as exc:
        return [f"{p.location.line}:{p.location.column}: {p.message}" for p in exc.problems]
    return [f"warning {p.location.line}:{p.location.column}: {p.message}" for p in leads.warnings]


SOURCE = "sources: [{path: leads.csv, fields: {company_size: employees}}]\n"


# --- attributes no lead has ----------------------------------------------------------------------------------


def test_an_attribute_no_lead_has_is_an_error_with_a_did_you_mean(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, SOURCE + "routes:\n  - {name: b, when: {compnay_size: {gte: 1000}}, to: big}\n")
    assert found == ["6:22: route 'b': no lead has the attribute 'compnay_size' (did you mean 'company_size'?)"]


def test_a_column_used_by_its_name_after_fields_renamed_it(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, SOURCE + "routes:\n  - {name: b, when: {employees: {gte: 1000}}, to: big}\n")
    assert found == [
        "6:22: route 'b': no lead has the attribute 'employees' "
        "(sources[0].fields reads column 'employees' as 'company_size'; write company_size)"
    ]


def test_without_a_close_match_the_attributes_are_listed(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, SOURCE + "routes:\n  - {name: b, when: {industry: media}, to: big}\n")
    assert found == [
        "6:22: route 'b': no lead has the attribute 'industry' (leads have: company_size, country, domain, email)"
    ]


def test_attributes_inside_all_any_and_not_are_checked_each_at_its_key(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        SOURCE + "routes:\n  - name: b\n    when:\n      all:\n        - countyr: DE\n"
        "        - not: {any: [{sise: 1}, {country: US}]}\n"
        "    to: big\n",
    )
    assert found == [
        "9:11: route 'b': no lead has the attribute 'countyr' (did you mean 'country'?)",
        "10:24: route 'b': no lead has the attribute 'sise' (leads have: company_size, country, domain, email)",
    ]


@pytest.mark.parametrize(
    ("body", "files"),
    [
        ("sources: [{path: leads.csv}]\nroutes: [{name: b, when: {employees: 1, country: DE}, to: big}]\n", None),
        (
            "routes: [{name: b, when: {domain: one.test, email: {exists: true}}, to: big}]\n"
            "leads: [{email: a@one.test}]\n",
            {},
        ),
        ("leads: [{email: a@one.test, tier: gold}]\nroutes: [{name: b, when: {tier: gold}, to: big}]\n", {}),
        (
            "sources: [{path: l.jsonl, fields: {size: n}}]\n"
            "routes: [{name: b, when: {size: 1, seen: true}, to: big}]\n",
            {"l.jsonl": '{"email": "a@x.test", "n": 1}\n{"email": "b@x.test", "seen": true}\n'},
        ),
    ],
    ids=["csv-columns", "derived", "inline-keys", "jsonl-keys"],
)
def test_attributes_that_leads_supply(
    make_spec: Callable[..., LoadedSpec], body: str, files: dict[str, str] | None
) -> None:
    assert [p for p in load(make_spec, body, files) if not p.startswith("warning")] == []


def test_a_spec_without_leads_has_nothing_to_check_attributes_against(make_spec: Callable[..., LoadedSpec]) -> None:
    assert load(make_spec, "routes: [{name: b, when: {anything: 1}, to: big}, {name: r, to: rest}]\n", {}) == []


def test_sonarly_leads_have_no_derived_domain(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded_text = (
        "version: 1\nworkspace: {provider: sandbox, account_group: G}\ndestinations: {a: {audience: A}}\n"
        "leads: [{linkedin: jane-doe, title: CEO}]\nroutes: [{name: r, when: {domain: acme.test}, to: a}]\n"
    )
    with pytest.raises(SpecError) as caught:
        load_leads(make_spec(loaded_text))
    assert [p.message for p in caught.value.problems] == [
        "route 'r': no lead has the attribute 'domain' (leads have: linkedin, title)"
    ]


def test_attribute_errors_come_with_the_sources_problems(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        SOURCE + "routes: [{name: b, when: {contry: DE}, to: big}]\n",
        {"leads.csv": CSV + "not-an-email,3,FR\n"},
    )
    assert sorted(found) == [
        "4:1: invalid email address: 'not-an-email'",
        "5:27: route 'b': no lead has the attribute 'contry' (did you mean 'country'?)",
    ]


def test_a_missing_mapped_column_is_told_once(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        "sources: [{path: leads.csv, fields: {size: headcount}}]\nroutes: [{name: b, when: {size: 1}, to: big}]\n",
    )
    assert len(found) == 1 and "has no column 'headcount'" in found[0]


def test_an_unreadable_source_leaves_attributes_unchecked(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, "sources: [{path: gone.csv}]\nroutes: [{name: b, when: {size: 1}, to: big}]\n")
    assert found == ["4:18: source 'gone.csv': file not found"]


# --- routes no lead takes ------------------------------------------------------------------------------------


def test_a_route_that_matches_none_of_the_leads(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, SOURCE + "routes:\n  - {name: fr, when: {country: FR}, to: big}\n  - {name: r, to: rest}\n")
    assert found == ["warning 6:5: route 'fr' matches none of the spec's 2 leads (country = 'FR')"]


def test_a_route_whose_leads_all_go_to_earlier_routes(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        SOURCE
        + "routes:\n  - {name: us, when: {country: US}, to: big}\n  - {name: de, when: {country: DE}, to: rest}\n"
        "  - {name: big, when: {company_size: {gte: 100}}, to: big}\n  - {name: r, to: rest}\n",
    )
    assert found == [
        "warning 8:5: route 'big' routes no lead: earlier routes take all 2 leads it matches (us: 1, de: 1)",
        "warning 9:5: route 'r' routes no lead: earlier routes take all 2 leads it matches (us: 1, de: 1)",
    ]


def test_routes_that_each_take_a_lead_get_no_warning(make_spec: Callable[..., LoadedSpec]) -> None:
    assert (
        load(make_spec, SOURCE + "routes:\n  - {name: us, when: {country: US}, to: big}\n  - {name: r, to: rest}\n")
        == []
    )


def test_a_spec_without_leads_gets_no_route_warnings(make_spec: Callable[..., LoadedSpec]) -> None:
    assert load(make_spec, "routes: [{name: b, when: {x: 1}, to: big}]\n", {}) == []


def test_route_warnings_leave_routing_alone(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        HEAD + SOURCE + "routes:\n  - {name: fr, when: {country: FR}, to: big}\n  - {name: r, to: rest}\n",
        {"leads.csv": CSV},
    )
    leads = load_leads(loaded)
    routed = Router(loaded).route(leads.leads)
    assert [d.route for d in routed.desired] == ["r", "r"]


def test_a_lead_routing_cannot_evaluate_is_left_to_routing(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        SOURCE + "routes:\n  - {name: b, when: {company_size: {gte: 1000}}, to: big}\n  - {name: r, to: rest}\n",
        {"leads.csv": CSV + "cy@three.test,about 40,FR\n"},
    )
    assert found == []  # the text in company_size is routing's error (RoutingError), not a warning here


# --- numbers written as text ---------------------------------------------------------------------------------


def test_a_comparison_written_as_text(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec, SOURCE + "routes:\n  - {name: b, when: {company_size: '>=1000'}, to: big}\n  - {name: r, to: rest}\n"
    )
    assert found == [
        "warning 6:36: 'company_size': '>=1000' is compared as text and matches no lead; write {gte: 1000}"
    ]


def test_text_with_a_number_against_numbers(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(
        make_spec,
        SOURCE + "routes:\n  - {name: b, when: {company_size: [10, '1000+']}, to: big}\n  - {name: r, to: rest}\n",
    )
    assert found == ["warning 6:41: 'company_size': '1000+' is compared as text and matches no lead; write {gte: 1000}"]


def test_text_that_leads_have_is_left_alone(make_spec: Callable[..., LoadedSpec]) -> None:
    bands = "email,band\nana@one.test,1000+\nben@two.test,1-10\n"
    found = load(
        make_spec,
        "sources: [{path: leads.csv}]\nroutes:\n  - {name: b, when: {band: ['1000+', '11-50']}, to: big}\n"
        "  - {name: r, to: rest}\n",
        {"leads.csv": bands},
    )
    assert found == []  # '11-50' matches no lead, but band holds text, so it is a band, not a number


def test_a_comparison_as_text_is_told_without_leads(make_spec: Callable[..., LoadedSpec]) -> None:
    found = load(make_spec, "routes: [{name: b, when: {size: '> 5'}, to: big}]\n", {})
    assert found == ["warning 4:33: 'size': '> 5' is compared as text and matches no lead; write {gt: 5}"]


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        (">=1000", "{gte: 1000}"),
        ("=> 1,000", "{gte: 1000}"),
        ("> 5", "{gt: 5}"),
        ("<=10", "{lte: 10}"),
        ("<0.5", "{lt: 0.5}"),
        ("=42", "42 (a number, unquoted)"),
        ("1000+", "{gte: 1000}"),
        ("100-999", "{gte: 100, lte: 999}"),
        ("about 40", None),
        ("Q4", None),
    ],
)
def test_how_a_comparison_is_written(text: str, advice: str | None) -> None:
    assert comparison_for(text) == advice


# --- validate and plan show the warnings ---------------------------------------------------------------------


def test_plan_shows_the_route_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "leads.csv").write_text(CSV)
    (tmp_path / "spec.yaml").write_text(
        HEAD + SOURCE + "routes:\n  - {name: fr, when: {country: FR}, to: big}\n  - {name: r, to: rest}\n"
    )
    remote = {
        "members": [],
        "campaigns": [{"id": "c1", "name": "Big"}],
        "lists": [{"id": "l1", "name": "Rest"}],
        "leads": [],
    }
    (tmp_path / "remote.json").write_text(json.dumps(remote))
    monkeypatch.chdir(tmp_path)
    for args in (["validate", "spec.yaml"], ["plan", "spec.yaml", "--remote", "remote.json"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "Warning: spec.yaml:6:5: route 'fr' matches none of the spec's 2 leads (country = 'FR')" in result.output


def test_an_attribute_asked_about_only_with_exists_is_no_error(make_spec: Callable[..., LoadedSpec]) -> None:
    """`exists: false` matches every lead without it: no lead having it yet is what the route is for (review)."""
    found = load(make_spec, SOURCE + "routes:\n  - {name: b, when: {phone: {exists: false}}, to: big}\n")
    assert not [f for f in found if not f.startswith("warning")], found


def test_an_empty_jsonl_source_leaves_attributes_unchecked(make_spec: Callable[..., LoadedSpec]) -> None:
    """A JSONL file has no header: with no record yet, its attributes are unknown (review: an empty file beside
    one inline lead made a valid route an error)."""
    body = (
        "sources: [{path: leads.jsonl}]\nleads: [{email: ana@one.test}]\n"
        "routes:\n  - {name: b, when: {company_size: {gte: 1000}}, to: big}\n  - {name: r, to: rest}\n"
    )
    found = load(make_spec, body, {"leads.jsonl": ""})
    assert not [f for f in found if not f.startswith("warning")], found
