"""The loader's messages: located, complete, and never noisy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from leadsync.errors import SpecError
from leadsync.spec import LoadedSpec

GOOD = """\
version: 1
workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}
destinations: {e: {campaign: E}}
owners: {a: {email: a@x.test}}
pools: {p: {members: [a]}}
"""


def problems(make_spec: Callable[..., LoadedSpec], text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        make_spec(text)
    return [f"{p.location.line}:{p.location.column}: {p.message}" for p in caught.value.problems]


def test_a_union_problem_is_told_once_by_the_branch_that_explains_it(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(make_spec, GOOD + "routes:\n  - {name: r, to: e, owner: {pool: p, extra: 1}}\n")
    assert found == ["7:39: unknown key 'extra' (allowed: pool)"]


def test_owner_of_the_wrong_type(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(make_spec, GOOD + "routes:\n  - {name: r, to: e, owner: [a]}\n")
    assert found == ["7:29: routes[0].owner: expected an owner name or {pool: NAME}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1:1: a spec must be a YAML mapping"),
        ("- just\n- a list\n", "1:1: a spec must be a YAML mapping"),
        ("version: 1\nx: !!python/object/apply:os.system [echo]\n", "2:4: YAML error: unsupported tag"),
        ("version: 1\nx: !!python/name:os.system\n", "2:4: YAML error: could not determine a constructor"),
    ],
)
def test_documents_that_are_not_specs(make_spec: Callable[..., LoadedSpec], text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(make_spec, text))


def test_merge_keys_work_like_safe_load(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        GOOD + "routes:\n  - &r {name: one, when: {n: 1}, to: e, owner: a}\n  - {<<: *r, name: two, when: {n: 2}}\n"
    )
    assert [(r.name, r.to, r.owner) for r in loaded.spec.routes] == [("one", "e", "a"), ("two", "e", "a")]


def test_an_owner_used_as_a_pool_gets_a_hint(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(make_spec, GOOD + "routes:\n  - {name: r, to: e, owner: p}\n")
    assert found == ["7:29: route 'r': unknown owner 'p' (to use a pool, write owner: {pool: NAME})"]


def test_cross_vendor_destinations_are_refused(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(
        make_spec,
        "version: 1\nworkspace: {provider: instantly, api_key_env: K}\n"
        "destinations: {e: {audience: E}}\nroutes: [{name: r, to: e}]\n",
    )
    assert "3:19: destination 'e': an Instantly workspace has campaigns and lists, not audiences" in found


def test_two_names_for_one_campaign_are_refused(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(
        make_spec,
        "version: 1\nworkspace: {provider: instantly, api_key_env: K}\n"
        "destinations:\n  a: {campaign: Sales}\n  b: {campaign: ' sales'}\nroutes: [{name: r, to: a}]\n",
    )
    assert found == ["5:6: destination 'b' names the same campaign as 'a'"]


HEAD = "version: 1\nworkspace: {provider: sandbox}\ndestinations: {e: {campaign: E}}\nroutes: [{name: r, to: e}]\n"


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("owners: {a: {email: a@x.test, weight: '2'}}\n", "5:39: owners.a.weight: Input should be a valid number"),
        ("owners: {a: {email: a@x.test, weight: yes}}\n", "5:39: owners.a.weight: Input should be a valid number"),
        ("pools: {p: {members: [a], sticky: 'yes'}}\n", "5:35: pools.p.sticky: Input should be a valid boolean"),
        (
            "policy: {min_destination_size: '10'}\n",
            "5:32: policy.min_destination_size: Input should be a valid integer",
        ),
        ("policy: {protect: [won, replyed]}\n", "5:25: unknown outreach status 'replyed' (known: active, bounced, "),
    ],
    ids=["weight-text", "weight-yes", "sticky-text", "size-text", "protect"],
)
def test_numbers_booleans_and_statuses_are_what_the_schema_says(
    make_spec: Callable[..., LoadedSpec], tail: str, expected: str
) -> None:
    found = problems(make_spec, HEAD + tail)
    assert any(p.startswith(expected) for p in found), found


def test_a_whole_number_written_as_a_float_is_an_integer(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(GOOD + "routes:\n  - {name: r, to: e}\npolicy: {min_destination_size: 10.0}\n")
    assert loaded.spec.policy.min_destination_size == 10


def test_version_true_is_not_version_1(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(make_spec, GOOD.replace("version: 1", "version: true") + "routes:\n  - {name: r, to: e}\n")
    assert found == ["1:10: version: unsupported spec version (this leadsync reads version: 1)"]


def test_an_inline_lead_is_checked_with_the_spec(make_spec: Callable[..., LoadedSpec]) -> None:
    found = problems(make_spec, GOOD + "routes:\n  - {name: r, to: e}\nleads:\n  - {first_name: Jane, tags: [a]}\n")
    assert found == [
        "9:5: an inline lead needs 'email'",
        "9:5: lead attribute 'tags' must be a plain value, not a list or mapping",
    ]


def test_a_blank_destination_name_is_refused_by_the_spec_and_the_schema(tmp_path: Path) -> None:
    """A name of spaces passed both and could never resolve (review)."""
    import json

    import jsonschema

    from leadsync.spec import load_spec

    text = 'version: 1\nworkspace: {provider: instantly, api_key_env: K}\ndestinations: {a: {campaign: "  "}}\n'
    (tmp_path / "s.yaml").write_text(text + "leads: [{email: q@a.test}]\nroutes: [{name: r, to: a}]\n")
    try:
        load_spec(tmp_path / "s.yaml")
    except SpecError as exc:
        assert [str(p) for p in exc.problems] == [
            f"{tmp_path / 's.yaml'}:3:30: destinations.a.campaign: a campaign cannot be blank: it would never name "
            "a place in the workspace"
        ]
    else:
        raise AssertionError("a blank campaign name was accepted")
    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "leadsync.schema.json").read_text())
    document = {
        "version": 1,
        "workspace": {"provider": "instantly", "api_key_env": "K"},
        "destinations": {"a": {"campaign": "  "}},
        "leads": [{"email": "q@a.test"}],
        "routes": [{"name": "r", "to": "a"}],
    }
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)


@pytest.mark.parametrize("value", ["2", "-0.1", '"20%"', "true"])
def test_a_change_ratio_out_of_range_says_what_the_ratio_is(tmp_path: Path, value: str) -> None:
    """A new user wrote 2 and 20% and got pydantic's 'Input should be less than or equal to 1'."""
    from leadsync.spec import load_spec

    (tmp_path / "s.yaml").write_text(
        "version: 1\nworkspace: {provider: instantly, api_key_env: K}\ndestinations: {a: {campaign: A}}\n"
        f"leads: [{{email: q@a.test}}]\nroutes: [{{name: r, to: a}}]\npolicy: {{max_change_ratio: {value}}}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "s.yaml")
    (problem,) = caught.value.problems
    assert problem.location.line == 6
    assert problem.message.startswith("policy.max_change_ratio: a share of a destination's existing leads, from 0 to 1")
