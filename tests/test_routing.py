"""Routing: matchers with typed comparisons, first match wins, owners, unrouted leads, explanations."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadsync.errors import RoutingError
from leadsync.routing import Router
from leadsync.spec import LoadedSpec, load_leads

HEADER = """\
version: 1
workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}
destinations:
  a: {campaign: A}
  b: {campaign: B}
  rest: {list: Rest}
owners:
  alice: {email: alice@acme.test}
  bob: {email: bob@acme.test}
pools:
  team: {members: [alice, bob]}
"""


def route(make_spec: Callable[..., LoadedSpec], when: str, leads_csv: str) -> dict[str, str]:
    loaded = make_spec(
        HEADER + f"sources: [{{path: leads.csv}}]\nroutes:\n  - {{name: hit, when: {when}, to: a}}\n",
        {"leads.csv": leads_csv},
    )
    routing = Router(loaded).route(load_leads(loaded).leads)
    return {d.key: d.destination for d in routing.desired} | {lead.key: "-" for lead in routing.unrouted}


CSV = (
    "email,size,country,title,flag\nana@one.test,1200,DE,CEO,true\nben@two.test,40,us,Engineer,no\n"
    "cy@three.test,,FR,,\n"
)


@pytest.mark.parametrize(
    ("when", "hits"),
    [
        ("{country: DE}", {"ana@one.test"}),
        ("{country: US}", {"ben@two.test"}),  # text compares case-blind
        ("{country: [DE, FR]}", {"ana@one.test", "cy@three.test"}),
        ("{size: 1200}", {"ana@one.test"}),  # a CSV number equals a YAML number
        ("{size: {gte: 1000}}", {"ana@one.test"}),
        ("{size: {gt: 40}}", {"ana@one.test"}),
        ("{size: {lte: 40}}", {"ben@two.test"}),
        ("{size: {gte: 40, lt: 1200}}", {"ben@two.test"}),
        ("{size: {exists: false}}", {"cy@three.test"}),
        ("{title: {exists: true}}", {"ana@one.test", "ben@two.test"}),
        ("{title: {matches: '^(CEO|CTO)$'}}", {"ana@one.test"}),
        ("{domain: two.test}", {"ben@two.test"}),
        ("{flag: true}", {"ana@one.test"}),
        ("{flag: false}", {"ben@two.test"}),
        ("{any: [{country: FR}, {size: {lt: 100}}]}", {"ben@two.test", "cy@three.test"}),
        ("{all: [{country: DE}, {size: {gt: 100}}]}", {"ana@one.test"}),
        ("{not: {country: DE}}", {"ben@two.test", "cy@three.test"}),
        ("{country: DE, title: Engineer}", set()),
    ],
)
def test_matchers(make_spec: Callable[..., LoadedSpec], when: str, hits: set[str]) -> None:
    routed = route(make_spec, when, CSV)
    assert {key for key, dest in routed.items() if dest == "a"} == hits


def test_numeric_comparison_on_text_is_an_error_naming_file_and_line(make_spec: Callable[..., LoadedSpec]) -> None:
    with pytest.raises(RoutingError) as caught:
        route(make_spec, "{size: {gte: 100}}", "email,size\nana@one.test,1200\nben@two.test,a few\n")
    [problem] = caught.value.problems
    assert problem.location.file.endswith("leads.csv")
    assert problem.location.line == 3
    assert "size: 'a few' is not a number (needed by size >= 100)" in problem.message


def test_numeric_equality_on_text_is_an_error_too(make_spec: Callable[..., LoadedSpec]) -> None:
    with pytest.raises(RoutingError, match="'5,000' is not a number"):
        route(make_spec, "{size: 5000}", 'email,size\nana@one.test,"5,000"\n')


def test_first_match_wins_and_unmatched_leads_are_unrouted(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        HEADER + "sources: [{path: l.csv}]\nroutes:\n"
        "  - {name: de, when: {country: DE}, to: a, owner: alice}\n"
        "  - {name: big, when: {size: {gte: 1000}}, to: b, owner: {pool: team}}\n",
        {"l.csv": "email,size,country\nana@one.test,5000,DE\nben@two.test,5000,US\ncy@three.test,1,US\n"},
    )
    routing = Router(loaded).route(load_leads(loaded).leads)
    desired = {d.key: (d.destination, d.owner, d.route) for d in routing.desired}
    assert desired["ana@one.test"] == ("a", "alice", "de")
    assert desired["ben@two.test"][0::2] == ("b", "big")
    assert desired["ben@two.test"][1] in {"alice", "bob"}
    assert [lead.key for lead in routing.unrouted] == ["cy@three.test"]


def test_a_route_without_owner_leaves_owners_alone(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(HEADER + "leads: [{email: ana@one.test}]\nroutes: [{name: all, to: rest}]\n")
    [desired] = Router(loaded).route(load_leads(loaded).leads).desired
    assert desired.owner is None


def test_sticky_pool_keeps_the_current_owner(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        HEADER.replace("members: [alice, bob]}", "members: [alice, bob], sticky: true}")
        + "leads: [{email: ana@one.test}, {email: ben@two.test}]\nroutes: [{name: all, to: a, owner: {pool: team}}]\n"
    )
    router, leads = Router(loaded), load_leads(loaded).leads
    for current in ("alice", "bob"):
        owners = {lead.key: current for lead in leads}
        assert {d.owner for d in router.route(leads, owners).desired} == {current}
    # an owner who is not in the pool is replaced by the pool's pick
    fresh = {d.key: d.owner for d in router.route(leads).desired}
    assert {d.key: d.owner for d in router.route(leads, {lead.key: "zed" for lead in leads}).desired} == fresh


def test_explain_says_which_route_and_why(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        HEADER + "sources: [{path: l.csv}]\nroutes:\n"
        "  - {name: de, when: {country: DE}, to: a, owner: alice}\n"
        "  - {name: big, when: {size: {gte: 1000}}, to: b, owner: {pool: team}}\n"
        "  - {name: rest, to: rest}\n",
        {"l.csv": "email,size,country\nben@two.test,5000,US\n"},
    )
    [lead] = load_leads(loaded).leads
    explanation = Router(loaded).explain(lead)
    assert [(c.route, c.matched) for c in explanation.checks] == [("de", False), ("big", True)]
    assert explanation.checks[0].reasons == ("country = 'DE' fails: country is 'US'",)
    assert explanation.checks[1].reasons == ("size >= 1000 holds: size is '5000'",)
    assert explanation.destination == "b"
    assert explanation.owner_reason.startswith("pool 'team': weighted rendezvous hash, weight 1 of 2")
