"""The checked-in JSON Schema is the one the models generate, and the examples obey both."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from leadsync.spec import load_leads, load_spec, spec_json_schema

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
    jsonschema.validate(yaml.safe_load(text), spec_json_schema())
    loaded = load_spec(example)
    assert load_leads(loaded).leads


def test_schema_and_models_agree_on_a_bad_spec() -> None:
    bad = {"version": 1, "workspace": {"provider": "instantly", "api_key_env": "K"},
           "destinations": {"e": {"campaign": "E"}}, "routes": [{"name": "a", "to": "e", "extra": 1}]}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, spec_json_schema())
