"""The plan document: schema, canonical bytes, save/load round trip, and clear errors for bad documents."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_properties import Scenario, scenarios

from leadsync.errors import PlanError
from leadsync.plan import (
    Names,
    Plan,
    PlanContext,
    PoolWeights,
    SpecRef,
    Workspace,
    load_plan,
    make_plan,
    plan_digest,
    plan_schema,
)
from leadsync.plan._document import _validate
from leadsync.plan._schema import plan_json_schema
from leadsync.plan._shape import ARRAYS, _kinds_of_a_lead, _shapes
from leadsync.providers import INSTANTLY
from leadsync.render import render_json
from leadsync.state import (
    Claim,
    DesiredLead,
    DesiredState,
    Policy,
    ReadCost,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)

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
        DesiredState(desired, unrouted=["lost@x.test"]),
        ResolvedWorkspace(remote, {"enterprise", "nurture"}),
        Policy(unmanaged=Unmanaged.REMOVE),
        PlanContext(INSTANTLY, spec=SpecRef("specs/acme.yaml", "ab" * 32), workspace=Workspace("instantly", "ws-1")),
    )


def test_the_packaged_schema_is_a_copy_of_the_repository_schema() -> None:
    repo = (ROOT / "schemas" / "plan.schema.json").read_bytes()
    packaged = (ROOT / "leadsync" / "schemas" / "plan.schema.json").read_bytes()
    assert packaged == repo, "run: python scripts/gen_plan_schema.py"
    assert plan_schema() == json.loads(repo)


def test_the_committed_schema_is_the_one_the_definition_generates() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_plan_schema", ROOT / "scripts" / "gen_plan_schema.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    text = (ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8")
    assert text == script.render(), "leadsync/plan/_schema.py changed: run python scripts/gen_plan_schema.py"
    assert plan_schema() == plan_json_schema()


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
        (lambda d: d.update(format_version=1), "unsupported plan format_version 1"),  # the ratio meant another thing
        (lambda d: d.pop("format_version"), "not a plan document"),
        (lambda d: d.pop("fingerprint"), "invalid plan document at the top level: 'fingerprint' is a required"),
        (lambda d: d["operations"][3].pop("lead_ids"), "invalid plan document at operations/3"),
        (lambda d: d["operations"][3].update(lead_ids=[]), "invalid plan document at operations/3/lead_ids"),
        (lambda d: d["operations"][0].update(op="merge"), "invalid plan document at operations/0/op"),
        (lambda d: d["summary"].update(add=-1), "invalid plan document at summary/add"),
        (lambda d: d["operations"][0].update(keys=["a", "b"]), "as many keys as lead_ids"),
        (lambda d: d.update(format_version=2.0), "unsupported plan format_version 2.0"),
        (lambda d: d.update(format_version=True), "unsupported plan format_version True"),
        (lambda d: d.pop("policy"), "'policy' is a required property"),
        (lambda d: d["operations"][1]["leads"][0].update(key=5), "invalid plan document at operations/1/leads/0/key"),
        (lambda d: d["held"][0].pop("change"), "invalid plan document at held/0: 'change' is a required"),
        (lambda d: d["unrouted"].append("lost@x.test"), "invalid plan document at unrouted: has non-unique"),
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


# -- what the schema cannot say -----------------------------------------------------------------------------


def _remove(lead_id: str, key: str, destination: str = "nurture") -> dict[str, object]:
    return {"op": "remove", "destination": destination, "lead_ids": [lead_id], "keys": [key]}


SEMANTIC = [
    (
        "remove from an unmanaged place",
        lambda d: d["operations"].append(_remove("9", "z@x.test", "campaign:c9")),
        "operations/4 (remove) writes into 'campaign:c9', which is not a managed destination",
    ),
    (
        "move into an unmanaged place",
        lambda d: d["operations"][0].update(to="campaign:zzz"),
        "operations/0 (move) moves into 'campaign:zzz', which is not a managed destination",
    ),
    (
        "move out of an outside place without claim: move",
        lambda d: d["operations"][0].update({"from": "list:l9"}),
        "moves out of 'list:l9', which is not managed (only under claim: move)",
    ),
    (
        "a remove without unmanaged: remove",
        lambda d: d["policy"].update(unmanaged="keep"),
        "operations/3 (remove) removes leads, which only unmanaged: remove allows",
    ),
    (
        "a held lead in an operation",
        lambda d: d["operations"][0].update(lead_ids=["3"]),
        "lead id '3' is held and also in an operation",
    ),
    (
        "one id twice",
        lambda d: d["operations"][3].update(lead_ids=["4", "4"], keys=["old@x.test"] * 2),
        "lead id '4' is in more than one remove",
    ),
    (
        "removed and moved",
        lambda d: d["operations"][3].update(lead_ids=["1"]),
        "lead id '1' is removed and also moved or re-owned",
    ),
    (
        "apply order",
        lambda d: d["operations"].insert(0, d["operations"].pop(3)),
        "operations/1 (move) comes after a later kind: apply order is moves, adds, assigns, removes",
    ),
    ("calls.writes", lambda d: d["calls"].update(writes=0), "calls.writes is 0, but there are 4 operations"),
    ("lower bound over writes", lambda d: d["calls"].update(lower_bound=9), "calls.lower_bound 9 is more than"),
    (
        "safe but unsafe listed",
        lambda d: d["safety"].update(safe=True, unsafe=["nurture"]),
        "safety.unsafe lists ['nurture'], the safety rule finds []",
    ),
    (
        "unsafe but declared safe",
        lambda d: d["safety"].update(safe=False),
        "safety.safe is false but safety.unsafe lists []",
    ),
    (
        "a destination's unsafe flag",
        lambda d: d["destinations"]["nurture"].update(unsafe=True),
        "destinations.nurture.unsafe is true, the safety rule says otherwise",
    ),
    (
        "summary says nothing changes",
        lambda d: d["summary"].update(add=0, move=0, assign=0),
        "summary.add is 0, but the plan lists 1; summary.move is 0, but the plan lists 1",
    ),
    (
        "stats hide a change",
        lambda d: d["destinations"]["nurture"].update(move_out=0, changed=2, after=4),
        "destinations.nurture.move_out is 0, the operations make 1",
    ),
    ("an empty key", lambda d: d["operations"][1]["leads"][0].update(key=""), "adds a lead with an empty key"),
    ("an empty lead id", lambda d: d["operations"][0].update(lead_ids=[""]), "has an empty lead id or key"),
    (
        "keys and ids",
        lambda d: d["operations"][2]["keys"].append("z@x.test"),
        "operations/2 (assign) needs as many keys as lead_ids (2 keys, 1 ids)",
    ),
    (
        "an owner from nowhere",
        lambda d: d["operations"][1]["leads"][0].update(owner="mallory"),
        "owner 'mallory' gets leads but is not in the owner load",
    ),
    (
        "added twice",
        lambda d: d["operations"][1]["leads"].append(dict(d["operations"][1]["leads"][0])),
        "'jane@bigco.test' is added more than once",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in SEMANTIC], ids=[n for n, _, _ in SEMANTIC])
def test_a_plan_that_contradicts_itself_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, mutate: object, message: str
) -> None:
    doc = sample().to_document()
    mutate(doc)  # type: ignore[operator]
    jsonschema.Draft202012Validator(plan_schema()).validate(doc)  # the schema alone lets it through
    path = tmp_path / "saved.plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: inconsistent plan document: ")
    assert message in str(caught.value)


def test_claim_move_lets_a_move_come_from_outside() -> None:
    doc = sample().to_document()
    doc["operations"][0]["from"] = "list:l9"
    doc["policy"]["claim"] = "move"
    doc["destinations"]["nurture"].update(move_out=0, changed=2, after=4)
    doc["owners"][1]["before"] = 0  # alice gained one more: bob's lead arrived from outside
    doc["owners"][1]["after"] = 2
    plan = load_plan(json.dumps(doc))
    assert plan.operations[0].destinations == ("list:l9", "enterprise")


# -- the hand-written checker of the big arrays agrees with the schema --------------------------------------


def _rich_document() -> dict[str, Any]:
    """A valid document with every array non-empty and every optional property used."""
    doc = sample().to_document()
    doc["conflicts"] = [
        {"key": None, "reason": "ambiguous_destination", "detail": "2 campaigns", "subject": "big", "refs": ["c:1"]},
        {"key": "a@x.test", "reason": "outside_only", "detail": "outside", "subject": None},
    ]
    doc["unsupported"] = [{"key": "u@x.test", "destination": "enterprise", "reason": "cannot add"}]
    doc["warnings"] = [{"kind": "unmanaged", "key": None, "destination": None, "lead_id": None, "message": "m"}]
    doc["operations"][0]["previous_owners"] = [None]
    # a second lead: the bad-array cases reach past the first lead of an add
    doc["operations"][1]["leads"].append({"key": "kim@x.test", "owner": None, "route": "big"})
    return doc


def _schema_accepts(doc: Any) -> bool:
    return not any(True for _ in jsonschema.Draft202012Validator(plan_schema()).iter_errors(doc))


def _shape_accepts(doc: Any) -> bool:
    try:
        _validate(doc, "doc")
    except PlanError:
        return False
    return True


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*path, i))
    return found


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.floats(allow_nan=False) | st.sampled_from(["", "x", "move"]),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["key", "op", "zz"]), inner, max_size=2)
    ),
    max_leaves=4,
)

BAD_ARRAYS = [
    lambda d: d["operations"].append(7),
    lambda d: d["operations"].append({}),
    lambda d: d["operations"].append({"op": "merge"}),
    lambda d: d["operations"].append({"op": None}),
    lambda d: d["operations"][0].update(owner=3),
    lambda d: d["operations"][0].update(previous_owners=[1]),
    lambda d: d["operations"][0].update(previous_owners="alice"),
    lambda d: d["operations"][0].update(extra=1),
    lambda d: d["operations"][0].update(lead_ids=[]),
    lambda d: d["operations"][0].update(lead_ids=["1", None]),
    lambda d: d["operations"][0].pop("from"),
    lambda d: d["operations"][1].update(leads=[]),
    lambda d: d["operations"][1].update(leads={}),
    lambda d: d["operations"][1]["leads"].append("jane"),
    lambda d: d["operations"][1]["leads"][0].update(fields=None),
    lambda d: d["operations"][1]["leads"][0].update(fields=[]),
    lambda d: d["operations"][1]["leads"][0].update(owner=False),
    lambda d: d["operations"][1]["leads"][0].pop("route"),
    lambda d: d["operations"][1]["leads"][0].update(lead_id="1"),
    lambda d: d["operations"][2].update(owner=None),
    lambda d: d["operations"][3].update(previous_owners=["x"]),
    lambda d: d["held"][0].update(statuses="replied"),
    lambda d: d["held"][0].update(statuses=[None]),
    lambda d: d["held"].append(None),
    lambda d: d["conflicts"][0].update(reason="other"),
    lambda d: d["conflicts"][0].update(refs=None),
    lambda d: d["conflicts"][1].update(key=1),
    lambda d: d["conflicts"][1].pop("subject"),
    lambda d: d["unrouted"].append(None),
    lambda d: d["unrouted"].append(d["unrouted"][0]),
    lambda d: d.update(unrouted="lost@x.test"),
    lambda d: d["unsupported"][0].update(reason=None),
    lambda d: d["warnings"][0].update(kind=None),
    lambda d: d["warnings"][0].update(lead_id=[]),
    lambda d: d.update(warnings={}),
]


@pytest.mark.parametrize("mutate", BAD_ARRAYS, ids=[str(i) for i in range(len(BAD_ARRAYS))])
def test_the_array_checker_rejects_what_the_schema_rejects(mutate: object) -> None:
    doc = _rich_document()
    assert _schema_accepts(doc) and _shape_accepts(doc)
    mutate(doc)  # type: ignore[operator]
    assert not _schema_accepts(doc)
    assert not _shape_accepts(doc)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_array_checker_and_the_schema_agree_on_any_change_to_the_arrays(data: st.DataObject) -> None:
    doc = _rich_document()
    paths = [p for key in ARRAYS for p in _paths(doc[key], (key,))]
    path = data.draw(st.sampled_from(paths))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace" or len(path) == 1:
        parent[path[-1]] = data.draw(JSON_VALUES)
    elif action == "delete":
        del parent[path[-1]]
    else:
        target = parent[path[-1]]
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(["zz", "fields", "refs", "previous_owners", "key"]))] = data.draw(
                JSON_VALUES
            )
        elif isinstance(target, list):
            target.append(data.draw(JSON_VALUES))
    assert _schema_accepts(doc) == _shape_accepts(doc)


# -- the optional parts: workspace.read and pools ------------------------------------------------------------

READ = ReadCost(outside="workspace", calls=812, outside_calls=52, lookup_calls=130, missing=1234)
POOLS = (PoolWeights("ae", (("alice", 1.0), ("bob", 2.5)), ("big", "strategic"), sticky=True),)


def with_extras() -> Plan:
    base = sample()
    return make_plan(
        DesiredState(
            [
                DesiredLead("jane@bigco.test", "enterprise", "alice", "strategic"),
                DesiredLead("joe@x.test", "enterprise", "bob", "big"),
                DesiredLead("amy@x.test", "nurture", "alice", "rest"),
            ]
        ),
        ResolvedWorkspace(
            [RemoteLead("1", "joe@x.test", "nurture", "alice"), RemoteLead("2", "amy@x.test", "nurture", "carol")],
            {"enterprise", "nurture"},
        ),
        Policy(),
        PlanContext(INSTANTLY, spec=base.spec, workspace=Workspace("instantly", "ws-1", read=READ), pools=POOLS),
    )


def test_the_read_and_the_pools_are_in_the_document_and_round_trip(tmp_path: Path) -> None:
    plan = with_extras()
    doc = plan.to_document()
    jsonschema.Draft202012Validator(plan_schema()).validate(doc)
    assert doc["workspace"] == {
        "provider": "instantly",
        "id": "ws-1",
        "api": "instantly",
        "read": {"outside": "workspace", "calls": 812, "outside_calls": 52, "lookup_calls": 130, "missing": 1234},
    }
    assert doc["pools"] == {
        "ae": {
            "routes": ["big", "strategic"],
            "sticky": True,
            "members": [
                # joe is alice's before and bob's after (moved and re-owned); jane is new, added for alice
                {"owner": "alice", "weight": 1.0, "before": 1, "after": 1},
                {"owner": "bob", "weight": 2.5, "before": 0, "after": 1},
            ],
            "others": {"before": 0, "after": 0},
        }
    }
    text = plan.to_json()
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    again = load_plan(path)
    assert again == plan and again.workspace.read == READ and again.pools == plan.pools
    assert again.to_json() == text


def test_a_document_without_the_read_and_pools_still_loads_and_keeps_its_bytes() -> None:
    plan = sample()  # made without pools, its workspace without a read: what every older plan file is
    doc = plan.to_document()
    assert "pools" not in doc and "read" not in doc["workspace"]
    again = load_plan(json.dumps(doc))
    assert again.pools == () and again.workspace.read is None and again == plan
    newer = with_extras().to_document()
    del newer["pools"], newer["workspace"]["read"]  # a newer plan with the optional parts taken out
    older = load_plan(json.dumps(newer))
    assert older.pools == () and older.workspace.read is None
    assert older.to_json() == json.dumps(newer, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["workspace"]["read"].pop("calls"), "at workspace/read: 'calls' is a required property"),
        (lambda d: d["workspace"]["read"].update(calls=-1), "at workspace/read/calls"),
        (lambda d: d["workspace"]["read"].update(cost=1), "at workspace/read: Additional properties"),
        (lambda d: d["pools"]["ae"]["members"][0].update(weight=0), "at pools/ae/members/0/weight"),
        (lambda d: d["pools"]["ae"]["members"][0].update(after=-2), "at pools/ae/members/0/after"),
        (lambda d: d["pools"]["ae"].pop("others"), "at pools/ae: 'others' is a required property"),
        (
            lambda d: d["pools"]["ae"]["members"].append(dict(d["pools"]["ae"]["members"][0])),
            "inconsistent plan document: pools.ae lists member 'alice' more than once",
        ),
    ],
)
def test_a_bad_read_or_pool_is_a_clear_plan_error(mutate: object, message: str) -> None:
    doc = with_extras().to_document()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(PlanError) as caught:
        load_plan(json.dumps(doc))
    assert message in str(caught.value)


PLACES = {"campaign:c-9": "Old Outbound", "list:l-9": "Badge scans", "campaign:c-unused": "Never mentioned"}
MEMBERS = {"u-zed": "zed@acme.test", "u-alice": "alice@acme.test"}


NAMES = Names(PLACES, MEMBERS)


def with_names(names: Names | None = NAMES) -> Plan:
    """A claim: move from an outside campaign, a reassign from a member the spec does not name, an outside-only
    conflict in a list: every place the names reach."""
    return make_plan(
        DesiredState(
            [
                DesiredLead("jane@bigco.test", "enterprise", "alice", "strategic"),
                DesiredLead("joe@x.test", "nurture", "bob", "rest"),
                DesiredLead("amy@x.test", "nurture", "bob", "rest"),
            ]
        ),
        ResolvedWorkspace(
            [
                RemoteLead("1", "jane@bigco.test", "campaign:c-9", "u-zed"),
                RemoteLead("2", "joe@x.test", "nurture", "u-zed"),
                RemoteLead("3", "amy@x.test", "list:l-9", None),
                RemoteLead("4", "amy@x.test", "campaign:c-9", None),
            ],
            {"enterprise", "nurture"},
        ),
        Policy(claim=Claim.MOVE),
        PlanContext(
            INSTANTLY, spec=SpecRef("specs/acme.yaml", "ab" * 32), workspace=Workspace("instantly", "ws-1"), names=names
        ),
    )


def test_the_names_of_what_the_plan_mentions_are_in_the_document_and_round_trip(tmp_path: Path) -> None:
    plan = with_names()
    doc = plan.to_document()
    jsonschema.Draft202012Validator(plan_schema()).validate(doc)
    # only the places and members the plan mentions: not c-unused, not alice (a spec owner, never an id here)
    assert doc["names"] == {
        "places": {"campaign:c-9": "Old Outbound", "list:l-9": "Badge scans"},
        "members": {"u-zed": "zed@acme.test"},
    }
    # the ids stay where they were
    assert doc["operations"][0]["from"] == "campaign:c-9" and doc["operations"][0]["previous_owners"] == ["u-zed"]
    text = plan.to_json()
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    again = load_plan(path)
    assert again == plan and again.names == plan.names
    assert again.to_json() == text


def test_names_change_neither_the_fingerprint_nor_the_digest_nor_anything_else() -> None:
    named, bare = with_names(), with_names(None)
    assert bare.names == Names() and "names" not in bare.to_document()
    assert named.fingerprint == bare.fingerprint
    assert plan_digest(named) == plan_digest(bare)
    renamed = with_names(Names({"campaign:c-9": "Renamed", "list:l-9": "x"}, {"u-zed": "z@acme.test"}))
    assert plan_digest(renamed) == plan_digest(named) and renamed.fingerprint == named.fingerprint
    assert dataclasses.replace(named, names=Names()) == bare
    doc = named.to_document()
    del doc["names"]
    assert doc == bare.to_document()


def test_a_document_without_names_still_loads_and_keeps_its_bytes() -> None:
    doc = with_names().to_document()
    del doc["names"]  # what every older plan file is
    older = load_plan(json.dumps(doc))
    assert older.names == Names() and not older.names
    assert older.to_json() == json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["names"].pop("members"), "at names: 'members' is a required property"),
        (lambda d: d["names"]["places"].update({"c-9": "x"}), "at names/places"),
        (lambda d: d["names"]["places"].update({"campaign:c-9": 7}), "at names/places/campaign:c-9"),
        (lambda d: d["names"]["members"].update({"u-zed": ""}), "at names/members/u-zed"),
        (lambda d: d["names"].update(extra={}), "at names: Additional properties"),
    ],
)
def test_bad_names_are_a_clear_plan_error(mutate: object, message: str) -> None:
    doc = with_names().to_document()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(PlanError) as caught:
        load_plan(json.dumps(doc))
    assert message in str(caught.value)


def test_the_quick_lead_check_passes_exactly_the_leads_the_schema_accepts() -> None:
    """The leads of an add are checked by a loop spelled out for speed: it assumes what a lead is, and that
    assumption is the schema's (change the definition and this fails until the loop follows)."""
    assert _kinds_of_a_lead() == _shapes().lead[0]
    good = {"key": "a@x.test", "owner": None, "route": "r", "fields": {"n": 1}}
    variants: list[Any] = [
        good,
        {**good, "owner": "alice"},
        {k: v for k, v in good.items() if k != "fields"},
        {**good, "fields": []},
        {**good, "owner": 1},
        {**good, "key": None},
        {**good, "route": 2},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "route"},
        "a@x.test",
        None,
    ]
    for lead in variants:
        doc = sample().to_document()
        doc["operations"][1]["leads"] = [good, lead]
        assert _shape_accepts(doc) == _schema_accepts(doc), lead
