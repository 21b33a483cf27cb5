"""Hostile lead data (issue #12): look-alike keys, catastrophic regexes, huge or malformed source files.

Each case is a named test; each says what it guards against. The sources are real files in a temporary folder,
read by the real loader and CLI.
"""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from leadsync.cli import main
from leadsync.errors import Problem, RoutingError, SpecError
from leadsync.routing import Router
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.state import KeyKind, look_alike, normalise_email, normalise_linkedin

SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: K}
destinations: {a: {campaign: A}}
routes: [{name: all, to: a}]
"""

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


# --- 1. look-alike keys -----------------------------------------------------------------------------------------

LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=12).filter(
    lambda s: s[0] not in ".-" and s[-1] != "." and ".." not in s
)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
EMAILS = st.builds(
    lambda local, host, tld: f"{local}@{host}.{tld}", LOCAL, LABEL, st.sampled_from(["test", "com", "de"])
)


def disguised(draw: st.DrawFn, text: str) -> str:
    """`text` with zero-width characters inserted and some characters replaced by their fullwidth forms."""
    out = []
    for char in text:
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(ZERO_WIDTH)))
        if "!" <= char <= "~" and draw(st.booleans()):
            char = chr(ord(char) + 0xFEE0)  # U+FF01..U+FF5E: the fullwidth forms of ASCII
        out.append(char.upper() if draw(st.booleans()) else char)
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(ZERO_WIDTH)))
    return "".join(out)


@given(data=st.data(), email=EMAILS)
def test_an_email_with_zero_width_or_fullwidth_characters_is_the_same_key(data: st.DataObject, email: str) -> None:
    key = normalise_email(email)
    assert key is not None
    assert normalise_email(disguised(data.draw, email)) == key


@given(data=st.data(), ident=st.from_regex(r"[a-z][a-z0-9-]{2,30}[a-z0-9]", fullmatch=True))
def test_a_linkedin_identifier_with_zero_width_or_fullwidth_characters_is_the_same_key(
    data: st.DataObject, ident: str
) -> None:
    key = normalise_linkedin(ident)
    assert key is not None
    assert normalise_linkedin(disguised(data.draw, ident)) == key
    assert normalise_linkedin(f"https://www.linkedin.com/in/{disguised(data.draw, ident)}/") == key


def test_a_percent_encoded_zero_width_space_in_a_profile_url_is_dropped() -> None:
    assert normalise_linkedin("https://www.linkedin.com/in/jane%E2%80%8B-doe-4711/") == "jane-doe-4711"


def test_cyrillic_and_greek_look_alikes_stay_different_people() -> None:
    # NFKC keeps them: they are other letters, and may be another person's real address
    assert normalise_email("\u0430lice@acme.test") != "alice@acme.test"
    assert normalise_email("alice@\u03bfne.test") != "alice@one.test"


def test_look_alike_names_the_scripts_and_the_latin_key_it_imitates() -> None:
    assert look_alike("\u0430lice@acme.test") == ("Cyrillic and Latin", "alice@acme.test")
    assert look_alike("alice@acm\u03b5.test") == ("Greek and Latin", None)  # epsilon has no listed look-alike
    assert look_alike("alice@acme.test") is None
    assert look_alike("иван@почта.рф") is None  # one script per part: a real Cyrillic address
    assert look_alike("ivan@почта.рф") is None


def test_zero_width_and_fullwidth_copies_of_a_person_merge_with_located_warnings(
    make_spec: Callable[..., LoadedSpec],
) -> None:
    rows = ["alice@acme.test", "ali\u200bce@acme.test", "ａｌｉｃｅ@acme.test", "\ufeffalice@acme.test\u2060"]
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv}]\n", {"l.csv": "email,size\n" + "".join(f"{r},5\n" for r in rows)}
    )
    leads = load_leads(loaded)
    assert [lead.key for lead in leads.leads] == ["alice@acme.test"]
    found = [m for m in messages(leads.warnings) if "repeats" in m]
    assert len(found) == 3
    assert found[0].endswith(
        f"l.csv:3: alice@acme.test (written {rows[1]!r}) repeats {loaded.root}/l.csv:2 exactly; merged"
    )


def test_a_disguised_copy_with_other_attributes_is_the_located_duplicate_error(
    make_spec: Callable[..., LoadedSpec],
) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.csv}]\n", {"l.csv": "email,size\nalice@acme.test,5\nalice\u200b@acme.test,7\n"}
    )
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    [message] = messages(caught.value.problems)
    assert message.endswith(
        "l.csv:3: alice@acme.test (written 'alice\\u200b@acme.test') is listed twice with "
        f"different attributes: here and at {loaded.root}/l.csv:2 (size: '5' vs '7')"
    )


def test_a_cyrillic_look_alike_in_a_csv_is_a_warning_at_its_row_and_column(
    make_spec: Callable[..., LoadedSpec],
) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: leads.csv}]\n",
        {"leads.csv": 'size,email\n5,alice@acme.test\n"1,000",\u0430lice@acme.test\n'},
    )
    leads = load_leads(loaded)
    assert len(leads.leads) == 2  # another person, as far as anyone can prove
    assert messages(leads.warnings) == [
        f"{loaded.root}/leads.csv:3:9: '\u0430lice@acme.test' mixes Cyrillic and Latin letters; "
        "it looks like 'alice@acme.test'"
    ]


def test_a_look_alike_in_jsonl_and_inline_leads_is_located_too(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.jsonl}]\nleads:\n  - {email: b\u043eb@acme.test}\n",
        {"l.jsonl": '{"size": 1, "email": "c\u0430rol@acme.test"}\n'},
    )
    found = messages(load_leads(loaded).warnings)
    assert found == [
        f"{loaded.path}:7:5: 'b\u043eb@acme.test' mixes Cyrillic and Latin letters; it looks like 'bob@acme.test'",
        f"{loaded.root}/l.jsonl:1:22: 'c\u0430rol@acme.test' mixes Cyrillic and Latin letters; "
        "it looks like 'carol@acme.test'",
    ]


def test_a_look_alike_linkedin_identifier_is_a_warning(make_spec: Callable[..., LoadedSpec]) -> None:
    spec = SPEC.replace("provider: instantly, api_key_env: K", "provider: sonarly, api_key_env: K, account_group: G")
    spec = spec.replace("{campaign: A}", "{audience: A}")
    loaded = make_spec(spec + "sources: [{path: l.csv}]\n", {"l.csv": "linkedin\nj\u0430ne-doe\n"})
    assert messages(load_leads(loaded).warnings) == [
        f"{loaded.root}/l.csv:2:1: 'j\u0430ne-doe' mixes Cyrillic and Latin letters; it looks like 'jane-doe'"
    ]


REMOTE_SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}
destinations: {big: {campaign: Big}}
owners: {ana: {email: ana@acme.test}}
leads: [{email: alice@acme.test}]
routes: [{name: all, to: big, owner: ana}]
"""


def test_a_vendor_record_with_a_zero_width_email_is_the_spec_person_not_a_second_add(tmp_path: Path) -> None:
    seed = {
        "api_keys": [],
        "members": [{"user_id": "u-ana", "email": "ana@acme.test"}],
        "campaigns": [{"id": "c-big", "name": "Big"}],
        "lists": [],
        "leads": [{"id": "1", "email": "Alice\u200b@ACME.test", "campaign": "c-big", "assigned_to": "u-ana"}],
    }
    (tmp_path / "spec.yaml").write_text(REMOTE_SPEC)
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    code, out = run("plan", str(tmp_path / "spec.yaml"), "--remote", str(tmp_path / "seed.json"))
    assert code == 0
    assert out.rstrip().splitlines()[-1] == "No changes."


def test_a_sonarly_prospect_with_a_disguised_identifier_is_the_same_key() -> None:
    assert KeyKind.LINKEDIN.normalise("jane\u200b-doe") == KeyKind.LINKEDIN.normalise(
        "https://linkedin.com/in/jane-doe"
    )


# --- 2. regular expressions in `matches` -----------------------------------------------------------------------


def matches_spec(pattern: str, values: list[str]) -> tuple[str, dict[str, str]]:
    spec = SPEC.replace(
        "routes: [{name: all, to: a}]",
        f"routes:\n  - name: odd\n    when: {{title: {{matches: {json.dumps(pattern)}}}}}\n    to: a\n"
        "  - {name: rest, to: a}",
    )
    rows = "".join(f"p{i}@acme.test,{value}\n" for i, value in enumerate(values))
    return spec + "sources: [{path: l.csv}]\n", {"l.csv": "email,title\n" + rows}


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(a*)*", "(a|a)*", r"^(\w+\s?)+$", "(?:x+)+y", "((a+)b?)+", r"(\d+)*\.", "(a+?)+"]
)
def test_a_catastrophic_pattern_is_refused_at_validate_in_under_a_second(
    pattern: str, make_spec: Callable[..., LoadedSpec]
) -> None:
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        make_spec(*matches_spec(pattern, ["a" * 40 + "!"]))
    assert time.perf_counter() - started < 10  # a bound, not a speed (CI may share the machine)
    [message] = messages(caught.value.problems)
    assert message.endswith(
        f"spec.yaml:6:29: 'title': the pattern {pattern!r} can take exponential time "
        "(a repeated group that can match the same text in more than one way); simplify it"
    )


@pytest.mark.parametrize(
    "pattern", ["^(CEO|CTO)$", r"[a-z]+(-[a-z]+)*", r"^\w+(\.\w+)*@", "(ab)+", "(a|b)*c", r"(?:\d{3}-)+\d{4}", "x++y"]
)
def test_a_safe_repetition_passes_the_shape_check(pattern: str, make_spec: Callable[..., LoadedSpec]) -> None:
    make_spec(*matches_spec(pattern, ["CEO"]))


def test_a_pattern_valid_only_in_the_regex_module_is_still_refused(make_spec: Callable[..., LoadedSpec]) -> None:
    # `matches` stays a Python regular expression: the module that runs it with a time limit adds no syntax
    with pytest.raises(SpecError, match="invalid regular expression"):
        make_spec(*matches_spec(r"\p{Lu}", ["CEO"]))


def test_a_slow_search_gives_up_after_a_tenth_of_a_second_naming_the_route_and_the_value(
    make_spec: Callable[..., LoadedSpec],
) -> None:
    loaded = make_spec(*matches_spec("(a|aa)+$", ["CEO", "a" * 60 + "!"]))  # not caught by the shape check
    started = time.perf_counter()
    with pytest.raises(RoutingError) as caught:
        load_leads(loaded)  # the meaning checks run the routes over the leads
    assert time.perf_counter() - started < 10  # a bound, not a speed (CI may share the machine)
    [message] = messages(caught.value.problems)
    assert message.startswith(
        f"{loaded.path}:6:29: 'title': the pattern '(a|aa)+$' took longer than 0.1 s on the value '{'a' * 40}...'"
    )
    assert message.endswith("; simplify it")


def test_a_slow_search_names_the_lead_it_was_given() -> None:
    from leadsync.errors import Location
    from leadsync.spec.conditions import Pattern
    from leadsync.state import Lead

    pattern = Pattern("(a|aa)+$", "title", Location("spec.yaml", 6, 29))
    lead = Lead("p1@acme.test", ("a" * 60 + "!",), {"title": 0}, "leads.csv", 3)
    with pytest.raises(RoutingError) as caught:
        pattern.search(lead.value("title"), lead)
    assert str(caught.value) == (
        f"spec.yaml:6:29: 'title': the pattern '(a|aa)+$' took longer than 0.1 s on the value '{'a' * 40}...' "
        "(leads.csv:3); simplify it"
    )


def test_validate_of_a_slow_pattern_is_one_line_and_exit_1(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(*matches_spec("(a|aa)+$", ["a" * 60 + "!"]))
    code, out = run("validate", str(loaded.path))
    assert code == 1
    [problem, summary] = out.strip().splitlines()  # the house form of located problems: each, then the count
    assert problem.startswith(f"{loaded.path}:6:29: 'title': the pattern '(a|aa)+$' took longer than 0.1 s")
    assert summary == "Error: 1 problem found"


def test_all_searches_of_a_pattern_share_a_time_budget(
    make_spec: Callable[..., LoadedSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsync.spec import conditions

    monkeypatch.setattr(conditions, "SEARCH_BUDGET", 0.3)  # seconds; 10 by default, too long for a test
    # each search takes a few milliseconds: under the per-search limit, but it adds up over many leads
    loaded = make_spec(*matches_spec("(a|aa)+$", ["a" * 22 + "!"] * 2000))
    started = time.perf_counter()
    with pytest.raises(RoutingError) as caught:
        load_leads(loaded)
    assert time.perf_counter() - started < 10  # a bound, not a speed (CI may share the machine)
    [message] = messages(caught.value.problems)
    assert "'title': the pattern '(a|aa)+$' spent more than 0.3 s searching" in message


def test_each_routing_has_its_own_matches_budget(make_spec: Callable[..., LoadedSpec]) -> None:
    """An apply routes again each round with the same loaded spec: the budget is per routing, or a pattern that
    passed in round 1 would fail in round 3, after writes went out."""
    from leadsync.matching import patterns as _patterns

    loaded = make_spec(*matches_spec("^(CEO|CTO)$", ["CEO", "VP Sales"] * 5))
    leads = load_leads(loaded).leads
    router = Router(loaded)
    [pattern] = [p for route in router.routes for p in _patterns(route.condition)]
    pattern._spent = pattern._budget  # as if earlier routings had spent it all
    assert {d.route for d in router.route(leads).desired} == {"odd", "rest"}


def test_the_time_limit_costs_little_on_a_plain_pattern(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(*matches_spec("^(CEO|CTO)$", ["CEO", "VP Sales"] * 5000))
    leads = load_leads(loaded).leads
    started = time.perf_counter()
    routing = Router(loaded).route(leads)
    assert time.perf_counter() - started < 10  # a bound, not a speed (CI may share the machine)
    assert {d.route for d in routing.desired} == {"odd", "rest"}


def test_the_regex_module_reads_ascii_classes_as_python_does_but_for_the_information_separators() -> None:
    """`matches` runs on the `regex` module (for its time limit): on ASCII its classes are Python's, except that
    \\x1c-\\x1f (which str.isspace() calls space, and Unicode does not) are not `\\s` (docs/design.md section 2)."""
    import re

    import regex

    differ = set()
    for code in range(0x80):
        for cls in (r"\s", r"\S", r"\w", r"\W", r"\d", r"\D", r"\b", ".", r"(?i)[a-z]"):
            if bool(re.search(cls, chr(code))) != bool(regex.search(cls, chr(code))):
                differ.add((cls, code))
    assert differ == {(cls, code) for cls in (r"\s", r"\S") for code in range(0x1C, 0x20)}


def routes_spec(patterns: list[str]) -> tuple[str, dict[str, str]]:
    """A spec with one route per pattern (route i at line 6 + 3*i), and one lead."""
    routes = "".join(
        f"  - name: r{i}\n    when: {{title: {{matches: {json.dumps(p)}}}}}\n    to: a\n"
        for i, p in enumerate(patterns)
    )
    spec = SPEC.replace("routes: [{name: all, to: a}]", "routes:\n" + routes + "  - {name: rest, to: a}")
    return spec + "sources: [{path: l.csv}]\n", {"l.csv": "email,title\np0@acme.test,CEO\n"}


def test_nested_counted_repeats_are_refused_at_validate_in_bounded_memory(tmp_path: Path) -> None:
    """`(((a{1000}){1000}){1000})` made the `regex` module unroll 10^9 items: 21 GB in a minute. Run as users
    run it, in a process that may take 1.5 GB at most: one located line, exit 1, in seconds."""
    import resource
    import subprocess
    import sys

    spec, files = matches_spec("(((a{1000}){1000}){1000})", ["CEO"])
    (tmp_path / "spec.yaml").write_text(spec)
    (tmp_path / "l.csv").write_text(files["l.csv"])

    def at_most_1_5_gb() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from leadsync.cli import main; main()", "validate", str(tmp_path / "spec.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=at_most_1_5_gb,
    )
    assert time.perf_counter() - started < 10
    assert done.returncode == 1, done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 2, done.stderr
    assert lines[0] == (
        f"{tmp_path / 'spec.yaml'}:6:29: 'title': the pattern '(((a{{1000}}){{1000}}){{1000}})' expands to "
        "1,000,000,000 items when compiled (counted repeats multiply), more than 10,000; use smaller counts"
    )


def test_a_counted_repeat_inside_a_counted_repeat_is_refused_with_its_size(
    make_spec: Callable[..., LoadedSpec],
) -> None:
    with pytest.raises(SpecError) as caught:
        make_spec(*matches_spec("(?:a{1000}){1000}", ["CEO"]))  # 312 MB in the regex module
    [message] = messages(caught.value.problems)
    assert message.endswith(
        "spec.yaml:6:29: 'title': the pattern '(?:a{1000}){1000}' expands to 1,000,000 items when compiled "
        "(counted repeats multiply), more than 10,000; use smaller counts"
    )


def test_the_expansion_check_runs_before_the_regex_module_compiles(
    make_spec: Callable[..., LoadedSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check must come first: loading, the meaning checks and routing compile no refused pattern."""
    import regex._main

    compiled: list[str] = []
    real = regex._main._compile

    def spy(pattern: Any, *args: Any) -> Any:
        compiled.append(pattern)
        if pattern == "(?:a{2000}){2000}":
            raise AssertionError("the regex module was asked to compile the pattern before the check")
        return real(pattern, *args)

    monkeypatch.setattr(regex._main, "_compile", spy)
    with pytest.raises(SpecError, match="expands to 4,000,000 items"):
        make_spec(*matches_spec("(?:a{2000}){2000}", ["CEO"]))
    assert "(?:a{2000}){2000}" not in compiled


@pytest.mark.parametrize(
    "pattern",
    [r"^\d{3}-\d{4}$", r"^(?:[a-z0-9-]{1,63}\.){1,10}[a-z]{2,24}$", "a{10000}", r"(?:\w{2,50}\s?){1,100}", "x{5,}"],
)
def test_counted_repeats_within_the_budget_pass(pattern: str, make_spec: Callable[..., LoadedSpec]) -> None:
    make_spec(*matches_spec(pattern, ["CEO"]))


def test_all_patterns_of_a_spec_share_one_expansion_budget(make_spec: Callable[..., LoadedSpec]) -> None:
    """Each `(?:a{90}){90}` is 8,100 items, within one pattern's budget; a spec of thousands of them would
    still take gigabytes, so the spec's patterns share 200,000 items: the one that crosses it is refused."""
    with pytest.raises(SpecError) as caught:
        make_spec(*routes_spec([f"(?:{letter}{{90}}){{90}}" for letter in "abcdefghijklmnopqrstuvwxyz"]))
    found = messages(caught.value.problems)
    assert len(found) == 2  # routes 24 and 25: each one past the budget is refused (neither compiled)
    assert found[0].endswith(
        "spec.yaml:78:29: 'title': the pattern '(?:y{90}){90}' expands to 8,100 items when compiled, which takes "
        "the spec's patterns past 200,000 in all; use smaller counts"
    )


@pytest.mark.parametrize(
    ("pattern", "instead"),
    [
        ("[[:alpha:]]+", "[a-zA-Z]+"),
        ("^[[:digit:]]{5}$", "^[0-9]{5}$"),
        ("[^[:space:]]", r"[^\s]"),
        ("[a-z[:digit:]_]", "[a-z0-9_]"),
        ("[[:upper:][:lower:]]", "[A-Za-z]"),
        ("[[:foo:]]", None),
    ],
)
def test_a_posix_class_is_refused_with_what_to_write_instead(
    pattern: str, instead: str | None, make_spec: Callable[..., LoadedSpec]
) -> None:
    """`[[:alpha:]]` is a POSIX class to the `regex` module, and to Python (whose syntax `matches` takes) the
    characters `[`, `:`, `a`, `l`, `p`, `h`: one text, two meanings, so it is refused."""
    with pytest.raises(SpecError) as caught:
        make_spec(*matches_spec(pattern, ["CEO"]))
    [message] = messages(caught.value.problems)
    assert f"spec.yaml:6:29: 'title': the pattern {pattern!r} has a POSIX class" in message
    if instead is not None:
        assert message.endswith(f"; write {instead!r} instead"), message
    else:
        assert message.endswith("; write the characters it stands for (e.g. [a-zA-Z]), or \\[ for a '['"), message


@pytest.mark.parametrize("pattern", ["(?:acme){e<=1}", "foo{e}", "(?:corp){i<=1,d<=1}", "x{s<=2}y"])
def test_a_fuzzy_match_constraint_is_refused(pattern: str, make_spec: Callable[..., LoadedSpec]) -> None:
    """`{e<=1}` is a fuzzy-match constraint to the `regex` module and literal text to Python."""
    with pytest.raises(SpecError) as caught:
        make_spec(*matches_spec(pattern, ["CEO"]))
    [message] = messages(caught.value.problems)
    assert f"'title': the pattern {pattern!r} has a '{{' at position" in message
    assert "that is not a count {m,n}: Python reads it as a brace" in message
    assert message.endswith(r"; write \{ for a brace"), message


@pytest.mark.parametrize(
    "pattern",
    [r"a{2,3}", "a{,3}", "a{2,}", r"\{e<=1\}", "[{]e}", r"\N{LEFT CURLY BRACKET}", "(?#{e})x", "[[a-z]]", r"[\[:]"],
)
def test_braces_and_brackets_read_alike_by_both_engines_pass(
    pattern: str, make_spec: Callable[..., LoadedSpec]
) -> None:
    make_spec(*matches_spec(pattern, ["CEO"]))


def test_a_set_that_looks_nested_prints_no_warning(make_spec: Callable[..., LoadedSpec]) -> None:
    """Python warns (FutureWarning, on stderr) of `[[`; validate's output is its lines, nothing else."""
    import warnings

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        loaded = make_spec(*matches_spec("^[[b-y]]+$", ["CEO"]))  # a pattern of its own: `re` caches what it compiled
        code, _ = run("validate", str(loaded.path))
    assert code == 0
    assert [str(w.message) for w in shown] == []


PIECES = st.sampled_from(
    [
        "a",
        "b",
        ":",
        "[",
        "]",
        "{",
        "}",
        "e",
        "<=",
        "1",
        ",",
        ".",
        r"\w",
        r"\d",
        "[ab]",
        "[^a]",
        "[[:alpha:]]",
        "[:digit:]",
        "[a[:lower:]]",
        "*",
        "+",
        "?",
        "{2}",
        "{1,3}",
        "{e<=1}",
        "{e}",
        "(",
        ")",
        "(?:",
        "|",
    ]
)
TEXTS = st.text(alphabet="ab:[]{}e1,<= xyz9AB", max_size=12)


@given(st.lists(PIECES, min_size=1, max_size=8).map("".join), st.lists(TEXTS, min_size=1, max_size=8))
def test_a_pattern_validate_accepts_means_the_same_to_python_and_to_the_regex_module(
    source: str, texts: list[str]
) -> None:
    """What validate lets through, Python's `re` and the `regex` module that runs it find at the same place."""
    import re
    import warnings

    import regex

    from leadsync.spec.regexshape import refusal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            python = re.compile(source)
        except (re.error, OverflowError):
            return  # refused as invalid
    if refusal(source) is not None:
        return
    running = regex.compile(source)
    for text in texts:
        expected, found = python.search(text), running.search(text)
        assert (expected and expected.span()) == (found and found.span()), (source, text)


# --- 3. large and malformed sources ----------------------------------------------------------------------------


def test_a_field_larger_than_the_csv_limit_is_one_located_line(make_spec: Callable[..., LoadedSpec]) -> None:
    big = "x" * (csv.field_size_limit() + 1)
    loaded = make_spec(SPEC + "sources: [{path: l.csv}]\n", {"l.csv": f"email,note\na@x.test,ok\nb@x.test,{big}\n"})
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    assert messages(caught.value.problems) == [
        f"{loaded.root}/l.csv:3: a field is longer than {csv.field_size_limit():,} characters"
    ]


def test_a_line_of_many_megabytes_is_refused_without_holding_it(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(SPEC + "sources: [{path: l.csv}]\n", {"l.csv": "email,note\na@x.test,ok\n"})
    with (loaded.root / "l.csv").open("a") as handle:  # 40 MB of one line, no newline: as a broken export ends
        for _ in range(40):
            handle.write("y," * 500_000)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SpecError) as caught:
            load_leads(loaded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 15  # a bound, not a speed (CI may share the machine)
    assert peak < 16 * 2**20, peak  # the limit is 1 Mi characters: a few MB at most, not the line's 40
    assert messages(caught.value.problems) == [
        f"{loaded.root}/l.csv:3: a line is longer than 1,048,576 characters; is this a CSV file?"
    ]


def test_cli_validate_of_a_huge_line_is_one_line_and_exit_1(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.jsonl}]\n", {"l.jsonl": '{"email": "a@x.test", "n": "' + "z" * 2**21 + '"}\n'}
    )
    code, out = run("validate", str(loaded.path))
    assert code == 1
    assert out.strip().splitlines() == [
        f"{loaded.root}/l.jsonl:1: a line is longer than 1,048,576 characters; is this a JSONL file?",
        "Error: 1 problem found",
    ]


def test_jsonl_nested_a_hundred_thousand_deep_is_a_located_error(make_spec: Callable[..., LoadedSpec]) -> None:
    deep = '{"email": "a@x.test", "n": ' + "[" * 100_000 + "]" * 100_000 + "}"
    loaded = make_spec(SPEC + "sources: [{path: l.jsonl}]\n", {"l.jsonl": '{"email": "b@x.test"}\n' + deep + "\n"})
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    [message] = messages(caught.value.problems)
    assert message.startswith(f"{loaded.root}/l.jsonl:2:") and "nested deeper than" in message


def test_jsonl_with_an_integer_of_ten_thousand_digits_is_a_located_error(make_spec: Callable[..., LoadedSpec]) -> None:
    loaded = make_spec(
        SPEC + "sources: [{path: l.jsonl}]\n", {"l.jsonl": '{"email": "a@x.test", "n": ' + "9" * 10_000 + "}\n"}
    )
    with pytest.raises(SpecError) as caught:
        load_leads(loaded)
    [message] = messages(caught.value.problems)
    assert message.startswith(f"{loaded.root}/l.jsonl:1:") and "invalid JSON" in message


def test_repeated_values_are_held_once(make_spec: Callable[..., LoadedSpec]) -> None:
    rows = "".join(f"p{i}@acme.test,{['US', 'DE'][i % 2]},Title {i % 3}\n" for i in range(3000))
    loaded = make_spec(SPEC + "sources: [{path: l.csv}]\n", {"l.csv": "email,country,title\n" + rows})
    leads = load_leads(loaded).leads
    assert len({id(lead.value("country")) for lead in leads}) == 2
    assert len({id(lead.value("title")) for lead in leads}) == 3
    assert all(lead["email"] is lead.key for lead in leads)  # an email already in key form is one object


def test_memory_per_lead_stays_small_when_values_repeat(make_spec: Callable[..., LoadedSpec]) -> None:
    columns = "email,first_name,last_name,title,employees,country,industry,phone"
    rows = "".join(
        f"lead{i}@company{i // 4}.test,First{i % 500},Last{i % 800},{['CEO', 'CTO', 'VP Sales'][i % 3]},"
        f"{[5, 50, 500, 5000][i % 4]},{['US', 'DE', 'FR'][i % 3]},{['media', 'retail'][i % 2]},+1-555-{i:07d}\n"
        for i in range(20_000)
    )
    loaded = make_spec(SPEC + "sources: [{path: l.csv}]\n", {"l.csv": columns + "\n" + rows})
    tracemalloc.start()
    try:
        leads = load_leads(loaded)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(leads.leads) == 20_000
    # before: ~1,000 bytes a lead (eight strings each); now the two unique values, the tuple and the Lead
    assert held / 20_000 < 450, held / 20_000


ROW = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=8), min_size=3, max_size=3
)


@given(rows=st.lists(ROW, max_size=30))
def test_the_streaming_reader_keeps_every_cell_of_every_row(rows: list[list[str]]) -> None:
    """Whatever the reader holds once (interning, column order), each lead's attributes are its row's cells."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["email", "a", "b", "c"])
        for i, row in enumerate(rows):
            writer.writerow([f"p{i}@x.test", *row])
        (Path(folder) / "l.csv").write_text(out.getvalue(), encoding="utf-8")
        (Path(folder) / "spec.yaml").write_text(SPEC + "sources: [{path: l.csv}]\n")
        loaded = load_spec(Path(folder) / "spec.yaml")
        leads = load_leads(loaded).leads
        expected = [
            {name: value for name, value in zip(["email", "a", "b", "c"], [f"p{i}@x.test", *row], strict=True) if value}
            for i, row in enumerate(rows)
        ]
        assert [lead.attributes() for lead in leads] == expected
