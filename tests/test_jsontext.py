"""loads_bounded: json.loads within a nesting budget, located like json.JSONDecodeError."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.errors import JsonTooDeep
from leadsync.jsontext import loads_bounded

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\\n ab:,'),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=20,
)


def depth_of(value: Any) -> int:
    """How many arrays/objects nest in `value`, counted from the value itself."""
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def test_nesting_at_the_budget_is_read() -> None:
    assert loads_bounded("[" * 100 + "]" * 100) == json.loads("[" * 100 + "]" * 100)
    assert loads_bounded('{"a":' * 5 + "1" + "}" * 5, max_depth=5) == {"a": {"a": {"a": {"a": {"a": 1}}}}}


def test_nesting_one_past_the_budget_is_refused_at_the_bracket() -> None:
    with pytest.raises(JsonTooDeep) as caught:
        loads_bounded("[" * 101 + "]" * 101)
    assert caught.value.msg == "JSON nested deeper than 100 levels"
    assert (caught.value.lineno, caught.value.colno, caught.value.pos) == (1, 101, 100)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, json.JSONDecodeError)


def test_the_location_counts_lines_and_columns_from_one() -> None:
    text = '{\n  "a": [\n    [1, {"b": [2]}]\n  ]\n}'
    with pytest.raises(JsonTooDeep) as caught:
        loads_bounded(text, max_depth=4)
    # the fifth opener is the "[" after "b": on line 3
    assert (caught.value.lineno, caught.value.colno) == (3, 15)
    assert text.splitlines()[2][14] == "["
    assert "line 3 column 15" in str(caught.value)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[[[[{{{{" * 50, "b": ['\\"[[[', "]]]]"]})
    assert loads_bounded(text, max_depth=2) == json.loads(text)


def test_an_escaped_quote_does_not_end_the_string() -> None:
    text = '["\\"[[[[[[", 1]'
    assert loads_bounded(text, max_depth=1) == ['"[[[[[[', 1]


def test_a_hundred_thousand_levels_are_refused_fast_not_by_recursion() -> None:
    text = "[" * 100_000 + "]" * 100_000
    started = time.perf_counter()
    with pytest.raises(JsonTooDeep):
        loads_bounded(text)
    assert time.perf_counter() - started < 10  # a bound, not a speed: recursion would never end well
    with pytest.raises(RecursionError):
        json.loads(text)  # what loads_bounded saves its callers from


def test_a_hundred_thousand_unclosed_openers_are_refused_too() -> None:
    with pytest.raises(JsonTooDeep):
        loads_bounded('{"a":' * 100_000)


def test_invalid_json_within_the_budget_is_still_a_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_bounded('{"a": [1, 2}')
    with pytest.raises(json.JSONDecodeError):
        loads_bounded('["unterminated')
    with pytest.raises(json.JSONDecodeError):
        loads_bounded("]]]]]]")


def test_a_large_flat_document_scans_in_linear_time() -> None:
    text = json.dumps([{"email": f"a{i}@x.test", "tags": ["a", "b"]} for i in range(100_000)])
    started = time.perf_counter()
    assert len(loads_bounded(text)) == 100_000
    assert time.perf_counter() - started < 10  # a bound, not a speed


@settings(max_examples=300)
@given(JSON_VALUES, st.integers(min_value=0, max_value=6))
def test_any_value_reads_back_exactly_when_within_the_budget(value: Any, max_depth: int) -> None:
    text = json.dumps(value, indent=1)
    if depth_of(value) <= max_depth:
        assert loads_bounded(text, max_depth=max_depth) == value
    else:
        with pytest.raises(JsonTooDeep) as caught:
            loads_bounded(text, max_depth=max_depth)
        assert text[caught.value.pos] in "[{"


@given(st.text(alphabet='[]{}"\\\n ,:1a'))
def test_any_text_is_either_json_too_deep_or_what_json_says(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except (ValueError, RecursionError) as error:
        expected = type(error)
    try:
        got: Any = loads_bounded(text, max_depth=3)
    except JsonTooDeep:
        return
    except ValueError as error:
        got = type(error)
    assert got == expected


def test_a_backslash_outside_strings_is_json_s_error_whatever_follows() -> None:
    # the byte passes drop `\"` as an escape, the token scan sees a string start: either way json stops at `\`
    for text in ('[\\"' + "[" * 200 + "]" * 200 + "]", "\\[" + "[" * 100 + "]" * 101):
        with pytest.raises(ValueError):
            loads_bounded(text)


def test_a_plan_sized_document_is_measured_faster_than_json_reads_it() -> None:
    leads = [{"key": f"u{i}@x.test", "fields": {"company": 'Globex "[Q4]"', "n": [1, 2]}} for i in range(200_000)]
    text = json.dumps(leads)  # brackets inside strings: the slower of the two measuring paths
    started = time.perf_counter()
    loads_bounded(text, max_depth=4)
    bounded = time.perf_counter() - started
    started = time.perf_counter()
    json.loads(text)
    plain = time.perf_counter() - started
    assert bounded < 2.5 * plain + 0.2  # the depth passes cost well under what json itself does


def test_an_integer_too_long_for_python_is_a_located_decode_error() -> None:
    digits = "9" * 5000
    with pytest.raises(json.JSONDecodeError) as caught:
        loads_bounded('{"a": "' + digits + '",\n "b": [1.' + digits + ", 1e" + digits + ", -" + digits + "]}")
    assert (caught.value.lineno, caught.value.colno) == (2, 2 * 5000 + 16)  # at the minus sign
    assert caught.value.msg == f"a number with more than {sys.get_int_max_str_digits()} digits"
