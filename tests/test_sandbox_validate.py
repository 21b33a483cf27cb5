"""The sandbox's quick body check never calls valid what jsonschema (the reference for Ajv's verdicts) would not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.errors import ApiError
from leadsync.sandbox import _instantly_schemas as schemas
from leadsync.sandbox._validate import _quick, _validator, check_body, strip_unknown

BODIES = {
    "LIST_LEADS": schemas.LIST_LEADS,
    "ADD_LEADS": schemas.ADD_LEADS,
    "MOVE_LEADS": schemas.MOVE_LEADS,
    "BULK_ASSIGN": schemas.BULK_ASSIGN,
    "BULK_DELETE": schemas.BULK_DELETE,
    "PATCH_LEAD": schemas.PATCH_LEAD,
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 20_000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=200),
    st.sampled_from(["", "a@b.co", "not an email", "FILTER_VAL_ACTIVE", "more", "reply", "1", "x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "email",
                    "first_name",
                    "assigned_to",
                    "custom_variables",
                    "condition",
                    "count",
                    "actionType",
                    "values",
                    "lead-status",
                    "status",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def shaped(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies built from the schema's own property names, with values that are often right and sometimes not."""
    names = sorted(schema.get("properties", {}))
    return st.dictionaries(st.sampled_from(names), values, max_size=6) | values


@pytest.mark.parametrize("name", sorted(BODIES))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_quick_yes_means_jsonschema_yes(name: str, data: st.DataObject) -> None:
    schema = BODIES[name]
    body = strip_unknown(schema, data.draw(shaped(schema)))
    if _quick(schema)(body):
        assert next(iter(_validator(schema).iter_errors(body)), None) is None


def test_quick_accepts_the_bodies_leadsync_sends() -> None:
    leads = [
        {"email": f"p{i}@x.test", "first_name": "P", "assigned_to": "u", "custom_variables": {"n": 1}}
        for i in range(1000)
    ]
    assert _quick(schemas.ADD_LEADS)({"campaign_id": "c", "skip_if_in_workspace": True, "leads": leads})
    assert _quick(schemas.MOVE_LEADS)({"ids": ["a", "b"], "campaign": "c", "to_list_id": "l", "assigned_to": "u"})
    assert _quick(schemas.BULK_ASSIGN)({"organization_user_ids": ["u"], "ids": ["a"], "campaign": "c"})
    assert _quick(schemas.LIST_LEADS)({"campaign": "c", "limit": 100, "starting_after": "a"})
    assert _quick(schemas.LIST_LEADS)({"contacts": ["a@b.co"], "limit": 100})


@pytest.mark.parametrize(
    ("schema", "body", "message"),
    [
        (schemas.LIST_LEADS, {"limit": 101}, "body/limit must be <= 100"),
        (schemas.LIST_LEADS, {"contacts": ["nope"]}, 'body/contacts/0 must match format "email"'),
        (schemas.ADD_LEADS, {"campaign_id": "c"}, "body must have required property 'leads'"),
        (schemas.ADD_LEADS, {"leads": [{"email": 5}]}, "body/leads/0/email must be string,null"),
        (
            schemas.BULK_ASSIGN,
            {"organization_user_ids": []},
            "body/organization_user_ids must NOT have fewer than 1 items",
        ),
        (schemas.BULK_DELETE, {"ids": ["a"]}, "body must match a schema in anyOf"),
    ],
)
def test_invalid_bodies_keep_ajvs_first_message(schema: dict[str, Any], body: Any, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_body(schema, body)
    assert caught.value.status == 400
    assert caught.value.message == message
