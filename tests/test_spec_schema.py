"""The checked-in JSON Schema is the one the models generate, and the examples obey both."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadsync.spec import Spec, load_leads, load_spec, spec_json_schema
from leadsync.spec.checks import KNOWN_STATUSES, SpecChecker
from leadsync.spec.models import DESTINATION_KINDS
from leadsync.spec.yamlpos import Positions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "specs" / "examples").glob("*.yaml"))


def test_checked_in_schema_matches_the_models() -> None:
    checked_in = json.loads((ROOT / "schemas" / "leadsync.schema.json").read_text())
    assert checked_in == spec_json_schema(), "run: python scripts/gen_schemas.py"


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(spec_json_schema())


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_examples_are_valid_by_the_models_and_by_the_schema(example: Path) -> None:
    text = example.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/leadsync.schema.json\n")
    # editors read YAML 1.2, where `2026-12-20` is a string: PyYAML's dates go to the schema as ISO text
    jsonschema.validate(json.loads(json.dumps(yaml.safe_load(text), default=str)), spec_json_schema())
    loaded = load_spec(example)
    assert load_leads(loaded).leads


def test_schema_and_models_agree_on_a_bad_spec() -> None:
    bad = {
        "version": 1,
        "workspace": {"provider": "instantly", "api_key_env": "K"},
        "destinations": {"e": {"campaign": "E"}},
        "routes": [{"name": "a", "to": "e", "extra": 1}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, spec_json_schema())


# --- the schema and the models give the same answer -------------------------------------------------------------

VALIDATOR = jsonschema.Draft202012Validator(spec_json_schema())


def accepted_by_the_models(doc: dict[str, Any]) -> bool:
    """What `validate` says of a document's shape: the models, then the rules the schema expresses too."""
    try:
        spec = Spec.model_validate(doc)
    except ValidationError:
        return False
    return not SpecChecker(spec, Positions("spec.yaml"), Path(".")).shape()


def base(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "workspace": {"provider": "instantly", "api_key_env": "INSTANTLY_API_KEY"},
        "destinations": {"e": {"campaign": "E"}},
        "owners": {"a": {"email": "a@x.test"}},
        "routes": [{"name": "r", "to": "e", "owner": "a"}],
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("two destination kinds", base(destinations={"e": {"campaign": "E", "list": "L"}})),
        ("no destination kind", base(destinations={"e": {"campaign": None}})),
        ("an unknown protect status", base(policy={"protect": ["replyed"]})),
        ("a vendor without api_key_env", base(workspace={"provider": "instantly"})),
        ("a weight written as text", base(owners={"a": {"email": "a@x.test", "weight": "2"}})),
        ("a size written as text", base(policy={"min_destination_size": "10"})),
        ("sticky: 'yes'", base(pools={"p": {"members": ["a"], "sticky": "yes"}})),
        ("version: true", base(version=True)),
        ("a destination name outside the pattern", base(destinations={"-e": {"campaign": "E"}})),
        ("an empty condition", base(routes=[{"name": "r", "to": "e", "when": {}}])),
        (
            "a Sonarly spec with owners",
            base(
                workspace={"provider": "sonarly", "api_key_env": "K", "account_group": "G"},
                destinations={"e": {"audience": "E"}},
            ),
        ),
        (
            "a sandbox with audiences and campaigns",
            base(workspace={"provider": "sandbox"}, destinations={"e": {"campaign": "E"}, "f": {"audience": "F"}}),
        ),
        ("an inline lead without its key", base(leads=[{"first_name": "Jane"}])),
        ("a pool naming a member twice", base(pools={"p": {"members": ["a", "a"]}})),
    ],
)
def test_the_schema_and_the_models_refuse_alike(name: str, doc: dict[str, Any]) -> None:
    assert not accepted_by_the_models(doc), name
    assert not VALIDATOR.is_valid(doc), name


def test_the_schema_and_the_models_accept_alike() -> None:
    docs = [
        base(),
        base(owners={"a": {"email": "a@x.test", "weight": 2}}, policy={"min_destination_size": 10.0}),
        base(
            workspace={"provider": "sandbox", "seed": "seed.json", "account_group": "G"},
            destinations={"e": {"audience": "E"}},
            owners={},
            routes=[{"name": "r", "to": "e"}],
            leads=[{"linkedin": "jane-doe"}],
        ),
        base(destinations={"e": {"campaign": "E", "list": None}}, leads=[{"email": "j@x.test", "size": 5}]),
    ]
    for doc in docs:
        assert accepted_by_the_models(doc), doc
        assert VALIDATOR.is_valid(doc), doc


NAMES = st.sampled_from(["a", "b", "e", "team", "n.x", "Z_9"])
BAD_NAMES = st.sampled_from(["-bad", "has space", "", "é", "x" * 101])
TEXT = st.text(max_size=4)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3000), st.floats(allow_nan=False, allow_infinity=False), TEXT
)
JUNK = st.one_of(SCALAR, st.lists(SCALAR, max_size=2), st.dictionaries(TEXT, SCALAR, max_size=2))
REGEXES = st.sampled_from(["^a", "b+", "(x|y)", ""])  # valid only: the schema cannot tell a regex from text
NUMBER = st.one_of(st.integers(-5, 5000), st.floats(allow_nan=False, allow_infinity=False))


class Mutator:
    """Draws the usual value, or (one time in `odds`, when odds is set) an odd one: each document gets a rate."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.odds = draw(st.sampled_from([0, 0, 0, 0, 12]))  # 0: a valid document, up to `mutations`

    def __call__(self, usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
        if self.odds and self.draw(st.integers(0, self.odds - 1)) == 0:
            return self.draw(odd)
        return self.draw(usual)

    def chance(self, one_in: int) -> bool:
        return self.draw(st.integers(0, one_in - 1)) == 0

    def odd(self, one_in: int) -> bool:
        """A mutation that is not a value (a key added or left out), for mutated documents only."""
        return bool(self.odds) and self.chance(one_in)

    def maybe(
        self, target: dict[str, Any], key: str, usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]
    ) -> None:
        """Maybe set `key` (a key left out tests the defaults)."""
        if self.draw(st.booleans()):
            target[key] = self(usual, odd)


def condition(m: Mutator, depth: int = 0) -> dict[str, Any]:
    def matcher() -> Any:
        kind = m.draw(st.integers(0, 3))
        if kind == 0:
            return m(SCALAR, st.just([]))
        if kind == 1:
            return m(st.lists(SCALAR, min_size=1, max_size=2), st.lists(JUNK, min_size=1, max_size=2))
        op = m.draw(st.sampled_from(["gt", "gte", "lt", "lte", "matches", "exists"]))
        usual = {"matches": REGEXES, "exists": st.booleans()}.get(op, NUMBER)
        comparison = {op: m(usual, st.one_of(SCALAR, JUNK))}
        if m.chance(8):
            comparison[m(st.just("gte"), st.just("gteq"))] = m(NUMBER, TEXT)
        return m(st.just(comparison), st.just({}))

    result: dict[str, Any] = {}
    for attr in m.draw(
        st.lists(st.sampled_from(["company_size", "country", "domain", "title"]), min_size=1, max_size=2, unique=True)
    ):
        result[attr] = matcher()
    if depth < 2 and m.chance(4):
        combination = m.draw(st.sampled_from(["all", "any", "not"]))
        if combination == "not":
            result["not"] = m(st.just(condition(m, depth + 1)), st.one_of(st.just({}), JUNK))
        else:
            items = [condition(m, depth + 1) for _ in range(m.draw(st.integers(1, 2)))]
            result[combination] = m(st.just(items), st.one_of(st.just([]), JUNK))
    return m(st.just(result), st.just({}))


@st.composite
def generated_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Spec-shaped documents over sandbox, Instantly and Sonarly workspaces: valid, or with random odd values."""
    m = Mutator(draw)
    provider = m(st.sampled_from(["instantly", "sonarly", "sandbox"]), st.sampled_from(["Instantly", "hubspot", 1]))
    # mostly the vendor a provider implies; sometimes the other one, which the cross-field rules refuse
    sonarly = (provider == "sonarly" or (provider == "sandbox" and draw(st.booleans()))) != m.odd(15)
    workspace: dict[str, Any] = {"provider": provider}
    key_env = st.sampled_from(["INSTANTLY_API_KEY", "SONARLY_API_KEY", "_K1"])
    odd_env = st.sampled_from([None, "1BAD", "has-dash", 5])
    if provider in ("instantly", "sonarly") and not m.odd(15):
        workspace["api_key_env"] = m(key_env, odd_env)
    elif provider == "sandbox":
        m.maybe(workspace, "api_key_env", key_env, odd_env)
    group = st.sampled_from(["", None, 3, "Growth Team"])
    if sonarly and not m.odd(15):
        workspace["account_group"] = m(st.just("Growth Team"), group)
    elif m.odd(10):
        workspace["account_group"] = draw(group)
    if provider == "sandbox" or m.chance(10):
        m.maybe(workspace, "seed", st.just("seed.json"), st.sampled_from([None, 1]))
    if m.odd(30):
        workspace["region"] = "eu"

    kinds = ["audience", "audience_id"] if sonarly else ["campaign", "campaign_id", "list", "list_id"]
    destinations: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        destination = m(
            st.just({kind: draw(TEXT)}),
            st.one_of(
                st.dictionaries(
                    st.sampled_from([*DESTINATION_KINDS, "campain"]),
                    st.one_of(TEXT, st.none(), st.integers()),
                    max_size=3,
                ),
                JUNK,
            ),
        )
        destinations[m(NAMES, BAD_NAMES)] = destination

    routes = []
    for _ in range(draw(st.integers(1, 3))):
        route: dict[str, Any] = {"name": m(NAMES, BAD_NAMES), "to": m(NAMES, BAD_NAMES)}
        if draw(st.booleans()):
            route["when"] = m(st.just(condition(m)), st.one_of(st.none(), JUNK))
        if not sonarly or m.odd(10):
            m.maybe(
                route,
                "owner",
                st.one_of(NAMES, st.fixed_dictionaries({"pool": NAMES}), st.none()),
                st.one_of(BAD_NAMES, st.fixed_dictionaries({"pool": BAD_NAMES}), st.just({"pool": "p", "x": 1}), JUNK),
            )
        if m.odd(30):
            route["too"] = "e"
        routes.append(route)

    doc: dict[str, Any] = {
        "version": m(st.just(1), st.sampled_from([2, "1", True, 1.0, None])),
        "workspace": m(st.just(workspace), st.one_of(st.just({}), JUNK)),
        "destinations": m(st.just(destinations), st.one_of(st.just({}), JUNK)),
        "routes": m(st.just(routes), st.one_of(st.just([]), JUNK)),
    }
    if not sonarly or m.odd(10):
        weight = m(
            st.one_of(st.floats(min_value=0.1, max_value=10), st.integers(1, 5)),
            st.sampled_from(["2", 0, -1, True, None, "x"]),
        )
        owner = {"email": m(st.just("a@x.test"), st.integers())}
        m.maybe(owner, "weight", st.just(weight), st.just(weight))
        if m.odd(30):
            owner["team"] = "x"
        m.maybe(doc, "owners", st.just({m(NAMES, BAD_NAMES): owner}), JUNK)
        pool: dict[str, Any] = {
            "members": m(
                st.lists(NAMES, min_size=1, max_size=3, unique=True),
                st.one_of(st.lists(NAMES, max_size=3), st.lists(BAD_NAMES, min_size=1), TEXT),
            )
        }
        m.maybe(pool, "sticky", st.booleans(), st.sampled_from(["yes", 1, 0, None]))
        m.maybe(doc, "pools", st.just({m(NAMES, BAD_NAMES): pool}), JUNK)
    source: dict[str, Any]
    if draw(st.booleans()):
        source = {"path": m(st.just("leads.csv"), st.integers())}
        m.maybe(source, "format", st.sampled_from(["csv", "jsonl", None]), st.just("xml"))
    else:  # a SQL source: DuckDB on no database or a file, or a database URL's variable
        source = {"sql": m(st.just("queries/leads.sql"), st.integers())}
        m.maybe(source, "database", st.just("w.duckdb"), st.sampled_from([1, None]))
        m.maybe(source, "url_env", st.just("LEADS_DATABASE_URL"), odd_env)
        m.maybe(source, "timeout", st.sampled_from([0.5, 60, 86400]), st.sampled_from([0, -1, 86401, "60", True]))
        m.maybe(source, "max_rows", st.sampled_from([1, 5_000_000]), st.sampled_from([0, 2.5, "10", True]))
    if m.odd(15):  # a key of the other kind of source, or both kinds at once
        extra = draw(st.sampled_from(["path", "sql", "format", "database", "url_env", "timeout", "max_rows"]))
        source[extra] = {"path": "leads.csv", "sql": "q.sql", "format": "csv", "timeout": 5, "max_rows": 9}.get(
            extra, "X"
        )
    m.maybe(source, "fields", st.dictionaries(TEXT, TEXT, max_size=2), JUNK)
    m.maybe(doc, "sources", st.just([source]), JUNK)
    key = m(st.just("linkedin" if sonarly else "email"), st.sampled_from(["email", "linkedin", "name"]))
    lead = {key: "jane@x.test", "size": m(SCALAR, JUNK)}
    m.maybe(doc, "leads", st.just([lead]), st.one_of(st.just([1]), JUNK))
    policy: dict[str, Any] = {}
    m.maybe(policy, "unmanaged", st.sampled_from(["keep", "report", "remove"]), st.sampled_from(["delete", 1]))
    m.maybe(policy, "claim", st.sampled_from(["skip", "move", "add"]), st.sampled_from(["steal", None]))
    m.maybe(
        policy,
        "protect",
        st.lists(st.sampled_from(sorted(KNOWN_STATUSES)), max_size=2),
        st.lists(st.sampled_from(["replyed", "", 5, None]), min_size=1, max_size=1),
    )
    m.maybe(
        policy,
        "max_change_ratio",
        st.floats(min_value=0.01, max_value=1),
        st.one_of(st.floats(1.01, 5), st.sampled_from(["0.3", True, 0])),
    )
    m.maybe(
        policy,
        "min_destination_size",
        st.one_of(st.integers(0, 50), st.just(10.0)),
        st.sampled_from([-1, 2.5, "10", True, None]),
    )
    m.maybe(doc, "policy", st.just(policy), JUNK)
    if m.odd(30):
        doc["extra"] = 1
    if m.odd(30):
        del doc[draw(st.sampled_from(sorted(doc)))]
    return doc


DELETE = object()


@dataclass(frozen=True)
class Set:
    """A targeted mutation: set `key` of the mapping at `path` to one of `values` (made if missing)."""

    path: tuple[str | int, ...]
    key: str
    values: tuple[Any, ...]

    def __str__(self) -> str:
        return ".".join(str(part) for part in (*self.path, self.key))

    def __call__(self, draw: st.DrawFn, doc: dict[str, Any]) -> None:
        target = _object(doc, *self.path)
        value = draw(st.sampled_from(self.values))
        if value is DELETE:
            target.pop(self.key, None)
        else:
            target[self.key] = copy.deepcopy(value)
        if self.path[:1] == ("owners",):
            target.setdefault("email", "a@x.test")
        if self.path[:1] == ("pools",):
            target.setdefault("members", ["a"])


def _object(doc: dict[str, Any], *path: str | int) -> dict[str, Any]:
    """The mapping at `path` (list indexes are 0), made where it is missing or of another type."""
    node: Any = doc
    for i, part in enumerate(path):
        kind = list if i + 1 < len(path) and isinstance(path[i + 1], int) else dict
        if isinstance(part, int):
            if not node:
                node.append(kind())
            if not isinstance(node[0], kind):
                node[0] = kind()
            node = node[0]
        else:
            if not isinstance(node.get(part), kind):
                node[part] = kind()
            node = node[part]
    return node  # type: ignore[no-any-return]


def two_kinds(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    destinations = _object(doc, "destinations")
    name = next(iter(destinations), "e")
    if not isinstance(destinations.get(name), dict):
        destinations[name] = {"campaign": "E"}
    destinations[name][draw(st.sampled_from(DESTINATION_KINDS))] = draw(st.sampled_from(["X", "X", None]))


def another_family(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    """A destination, or all of them, of the other vendor."""
    destinations = _object(doc, "destinations")
    audience = any(isinstance(d, dict) and ("audience" in d or "audience_id" in d) for d in destinations.values())
    if draw(st.booleans()):
        destinations.clear()
    destinations["zz"] = {
        draw(st.sampled_from(["campaign", "list_id"] if audience else ["audience", "audience_id"])): "Z"
    }


def bad_name(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    where = draw(st.sampled_from(["destinations", "owners", "pools"]))
    entry = {"destinations": {"campaign": "E"}, "owners": {"email": "a@x.test"}}.get(where, {"members": ["a"]})
    _object(doc, where)[draw(BAD_NAMES)] = entry


ODD_CONDITIONS = (
    {},
    {"x": []},
    {"x": {}},
    {"x": {"gteq": 1}},
    {"x": {"gt": "5"}},
    {"x": {"gt": True}},
    {"x": {"exists": 1}},
    {"all": []},
    {"not": {}},
    {"x": [[1]]},
    {"x": [{"a": 1}]},
    {"all": [1]},
    {"any": {"x": 1}},
    "text",
    [],
    None,
    {"x": {"matches": 5}},
    {"x": {"gte": 1, "lt": 5.5}},
    {"not": {"x": None}},
    {"x": [1, "a", None, True]},
)
Mutation = Callable[[st.DrawFn, dict[str, Any]], None]
MUTATIONS: list[Mutation] = [
    two_kinds,
    another_family,
    bad_name,
    Set(("destinations",), "e", ({}, {"campaign": None}, {"audience_id": 5}, {"campain": "E"})),
    Set(("workspace",), "provider", ("instantly", "sonarly", "sandbox", "hubspot")),
    Set(("workspace",), "api_key_env", (DELETE, None, "1BAD")),
    Set(("workspace",), "account_group", ("Growth", "Growth", "", None, 3, DELETE)),
    Set(("workspace",), "seed", ("seed.json", None, 1)),
    Set(("workspace",), "region", ("eu",)),
    Set((), "owners", ({"a": {"email": "a@x.test"}}, {})),
    Set((), "pools", ({"p": {"members": ["a"]}}, {})),
    Set(("routes", 0), "owner", ("a", {"pool": "p"}, None, "-x", {"pool": "p", "x": 1}, {}, 5, ["a"])),
    Set(("routes", 0), "when", ODD_CONDITIONS),
    Set(("routes", 0), "name", ("-x", "", "x" * 101, 5, DELETE)),
    Set(("routes", 0), "too", ("e",)),
    Set(
        (),
        "leads",
        ([{"email": "j@x.test"}], [{"linkedin": "jane"}], [{"name": "J"}], [{"email": "j@x.test", "tags": [1]}]),
    ),
    Set(("policy",), "protect", (["replyed"], ["replyed"], [5], ["won"], "won")),
    Set(("policy",), "min_destination_size", ("10", True, 2.5, 10.0, -1)),
    Set(("policy",), "max_change_ratio", ("0.3", True, 0, 1.5, 1)),
    Set(("policy",), "unmanaged", ("keep", "delete", "KEEP", 1)),
    Set(("policy",), "claim", ("add", "steal", None)),
    Set(("owners", "a"), "weight", ("2", "2", True, 0, 2)),
    Set(("pools", "p"), "sticky", ("yes", 1, True)),
    Set(("pools", "p"), "members", (["a", "a"], ["a", "a"], [], ["-x"], "a")),
    Set((), "version", (2, "1", True, 1.0)),
    Set((), "workspace", (DELETE,)),
    Set((), "extra", (1,)),
    Set(("sources", 0), "path", (5, DELETE)),
    Set(("sources", 0), "fields", ({"a": 1}, {"a": "b"}, [])),
]


@st.composite
def spec_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Generated documents, most given one targeted mutation (a mutation alone tells most), some two or none."""
    doc = draw(generated_documents())
    for _ in range(draw(st.integers(0, 2))):
        draw(st.sampled_from(MUTATIONS))(draw, doc)
    return doc


def assert_same_answer(doc: dict[str, Any]) -> None:
    models = accepted_by_the_models(doc)
    event("accepted" if models else "refused")
    assert VALIDATOR.is_valid(doc) == models, doc


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_documents())
def test_the_schema_accepts_exactly_what_the_models_accept(doc: dict[str, Any]) -> None:
    """jsonschema (Draft 2020-12) and the models + `SpecChecker.shape` agree on every generated document.

    Outside the comparison, because a JSON Schema cannot see them (`validate` checks them elsewhere):
    - files: source and seed paths exist, are readable and stay inside the spec's folder (SpecChecker.file_path);
    - cross-references: a route's `to`, `owner` and `{pool}`; pool members being owners; a pool also an owner;
    - uniqueness across entries: route names, owner emails, two destinations naming one campaign, equal conditions;
    - order: a route after a catch-all;
    - content: owner emails and inline lead keys being valid emails or LinkedIn profiles, `matches` being a valid
      regular expression, secret-looking key names and a key-like api_key_env (loader._secret_keys);
    - meaning against the leads (spec/meaning.py): attributes no lead has, routes no lead takes;
    - what JSON cannot hold (non-string keys, NaN and infinity, dates, bytes), and names ending in a newline
      (python-jsonschema's `$` matches before a final newline; ECMA-262 and the models' regex do not).
    """
    assert_same_answer(doc)


@pytest.mark.parametrize("change", MUTATIONS, ids=[getattr(m, "__name__", str(m)) for m in MUTATIONS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_mutation_gets_the_same_answer_from_both(change: Mutation, data: st.DataObject) -> None:
    """Each targeted mutation on generated documents (hypothesis alone draws some too rarely); skips as above."""
    doc = data.draw(generated_documents())
    change(data.draw, doc)
    assert_same_answer(doc)
