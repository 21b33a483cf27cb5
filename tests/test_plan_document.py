"""The plan document: schema, canonical bytes, save/load round trip, and clear errors for bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from test_plan_properties import Scenario, scenarios

from leadsync.errors import PlanError
from leadsync.plan import Plan, SpecRef, Workspace, load_plan, make_plan, plan_digest, plan_schema
from leadsync.render import render_json
from leadsync.state import Capabilities, DesiredLead, Policy, RemoteLead, Unmanaged

ROOT = Path(__file__).resolve().parents[1]


def sample() -> Plan:
    desired = [
        DesiredLead("jane@bigco.test", "enterprise", "alice", "strategic", {"first_name": "Jané", "size": 5000}),
        DesiredLead("joe@x.test", "enterprise", "bob", "big"),
        DesiredLead("amy@x.test", "nurture", "alice", "rest"),
        DesiredLead("held@x.test", "enterprise", "alice", "big"),
    ]
    remote = [
        RemoteLead("1", "joe@x.test", "nurture", "alice"),
        RemoteLead("2", "amy@x.test", "nurture", "bob"),
        RemoteLead("3", "held@x.test", "nurture", None, frozenset({"replied"})),
        RemoteLead("4", "old@x.test", "nurture", None),
        RemoteLead("5", None, "nurture", None),
    ]
    return make_plan(
        desired,
        remote,
        managed={"enterprise", "nurture"},
        policy=Policy(unmanaged=Unmanaged.REMOVE),
        capabilities=Capabilities(),
        unrouted=["lost@x.test"],
        spec=SpecRef("specs/acme.yaml", "ab" * 32),
        workspace=Workspace("instantly", "ws-1"),
    )


def test_the_packaged_schema_is_a_copy_of_the_repository_schema() -> None:
    repo = (ROOT / "schemas" / "plan.schema.json").read_bytes()
    packaged = (ROOT / "leadsync" / "schemas" / "plan.schema.json").read_bytes()
    assert packaged == repo, "run: cp schemas/plan.schema.json leadsync/schemas/plan.schema.json"
    assert plan_schema() == json.loads(repo)


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(plan_schema())
    assert plan_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_plan_document_validates_and_has_the_designed_fields() -> None:
    doc = sample().to_document()
    jsonschema.Draft202012Validator(plan_schema()).validate(doc)
    assert list(doc["summary"]) == [
        "add",
        "move",
        "assign",
        "remove",
        "unchanged",
        "held",
        "unrouted",
        "conflicts",
        "unsupported",
    ]
    assert [op["op"] for op in doc["operations"]] == ["move", "add", "assign", "remove"]
    assert doc["operations"][1] == {
        "op": "add",
        "destination": "enterprise",
        "leads": [
            {
                "key": "jane@bigco.test",
                "owner": "alice",
                "route": "strategic",
                "fields": {"first_name": "Jané", "size": 5000},
            }
        ],
    }
    assert doc["operations"][3] == {"op": "remove", "destination": "nurture", "lead_ids": ["4"], "keys": ["old@x.test"]}
    assert doc["spec"] == {"path": "specs/acme.yaml", "sha256": "ab" * 32}


@settings(max_examples=150)
@given(scenarios())
def test_every_generated_plan_validates_and_round_trips(s: Scenario) -> None:
    plan = s.plan()
    jsonschema.Draft202012Validator(plan_schema()).validate(plan.to_document())
    text = plan.to_json()
    again = load_plan(text)
    assert again == plan
    assert again.to_json() == text


def test_the_json_is_canonical_bytes(tmp_path: Path) -> None:
    text = sample().to_json()
    assert text.endswith("}\n") and text.count("\n") == 1
    assert json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" == text
    assert "Jané" in text  # UTF-8, not \u escapes
    assert sample().to_json() == text and plan_digest(sample()) == plan_digest(sample())
    assert render_json(sample()) == text
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    assert load_plan(path) == sample()
    assert load_plan(text.encode()) == sample()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version=2), "unsupported plan format_version 2"),
        (lambda d: d.pop("format_version"), "not a plan document"),
        (lambda d: d.pop("fingerprint"), "invalid plan document at the top level: 'fingerprint' is a required"),
        (lambda d: d["operations"][3].pop("lead_ids"), "invalid plan document at operations/3"),
        (lambda d: d["operations"][3].update(lead_ids=[]), "invalid plan document at operations/3/lead_ids"),
        (lambda d: d["operations"][0].update(op="merge"), "invalid plan document at operations/0/op"),
        (lambda d: d["summary"].update(add=-1), "invalid plan document at summary/add"),
        (lambda d: d["operations"][0].update(keys=["a", "b"]), "as many keys as lead_ids"),
    ],
)
def test_a_bad_document_is_a_clear_plan_error(mutate: object, message: str) -> None:
    doc = sample().to_document()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(PlanError) as caught:
        load_plan(json.dumps(doc))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format_version": 1,', "plan document: not a plan document: invalid JSON at line 1 column 22"),
        ("[1, 2]", "not a plan document: a JSON object with format_version is expected"),
        (b"\xff\xfe", "not a plan document: invalid JSON"),
    ],
)
def test_text_that_is_no_plan_is_a_clear_plan_error(text: str | bytes, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        load_plan(text)


def test_a_missing_plan_file_is_a_plan_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"nope\.json: cannot read the plan"):
        load_plan(tmp_path / "nope.json")
