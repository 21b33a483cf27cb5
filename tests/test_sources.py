"""Reading leads: CSV (with or without BOM), JSONL and inline; keys normalised; duplicates merged or refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadsync.errors import SpecError
from leadsync.spec import LoadedSpec, load_leads

SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: K}
destinations: {a: {campaign: A}}
routes: [{name: all, to: a}]
"""


def test_csv_with_bom_and_field_mapping(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv, fields: {email: E-Mail, company_size: Employees}}]\n",
        {"l.csv": "\ufeffE-Mail,Employees,Country\n  Ana@One.TEST ,120,DE\n"},
    )
    [lead] = load_leads(loaded).leads
    assert lead.key == "ana@one.test"
    assert lead.value("company_size") == "120"
    assert lead.value("Country") == "DE"
    assert str(lead.origin).endswith("l.csv:2")


def test_csv_line_numbers_count_multi_line_cells(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv}]\n",
        {"l.csv": 'email,note\na@x.test,"two\nlines"\nnot-an-email,x\n'},
    )
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    [problem] = caught.value.problems
    assert problem.location.line == 4


def test_jsonl_and_inline(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.jsonl}]\nleads:\n  - {email: Cy@Three.test, size: 5}\n",
        {"l.jsonl": '{"email": "a@x.test", "size": 10}\n\n{"email": "b@x.test", "country": "FR"}\n'},
    )
    leads = {lead.key: lead for lead in load_leads(loaded).leads}
    assert set(leads) == {"a@x.test", "b@x.test", "cy@three.test"}
    assert leads["a@x.test"].value("size") == 10
    assert leads["b@x.test"].value("size") is None
    assert str(leads["b@x.test"].origin).endswith("l.jsonl:3")
    assert str(leads["cy@three.test"].origin) == f"{loaded.path}:7"


def test_exact_duplicates_merge_with_a_warning(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv}]\nleads:\n  - {email: a@x.test, size: 10}\n",
        {"l.csv": "email,size\nA@X.test,10\n"},
    )
    result = load_leads(loaded)
    assert [lead.key for lead in result.leads] == ["a@x.test"]
    [warning] = result.warnings
    assert "l.csv:2" in str(warning.location)
    assert f"a@x.test repeats {loaded.path}:7 exactly; merged" in warning.message


def test_same_person_with_different_attributes_names_both_places(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv}, {path: m.csv}]\n",
        {"l.csv": "email,size\na@x.test,10\n", "m.csv": "email,size\nb@x.test,1\nA@x.test,20\n"},
    )
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    [problem] = caught.value.problems
    assert str(problem.location).endswith("m.csv:3")
    assert "l.csv:2" in problem.message and "size: '10' vs '20'" in problem.message


def test_every_bad_row_is_reported_up_to_a_cap(make_spec: Callable[..., LoadedSpec]) -> None:
    rows = "".join(f"bad{i},1\n" for i in range(500))
    loaded = make_spec(SPEC + "sources: [{path: l.csv}]\n", {"l.csv": "email,size\n" + rows})
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    problems = caught.value.problems
    assert len(problems) == 201
    assert any("... and 300 more problems in this file" in p.message for p in problems)


def test_header_problems(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(SPEC + "sources: [{path: l.csv}, {path: e.csv}]\n", {"l.csv": "email,x,x\n", "e.csv": ""})
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    messages = sorted(p.message for p in caught.value.problems)
    assert messages == ["column 'x' appears twice in the header", "empty CSV file: expected a header row"]


def test_sonarly_leads_are_keyed_by_linkedin_identifier(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        "version: 1\nworkspace: {provider: sonarly, api_key_env: S, account_group: G}\n"
        "destinations: {f: {audience: F}}\nroutes: [{name: all, to: f}]\n"
        "sources: [{path: l.csv, fields: {linkedin: url}}]\n",
        {"l.csv": "url\nhttps://www.linkedin.com/in/Jane-Doe/\njohn-roe\n"},
    )
    assert [lead.key for lead in load_leads(loaded).leads] == ["jane-doe", "john-roe"]
