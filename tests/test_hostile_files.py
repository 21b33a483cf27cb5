"""Hostile files (issue #12): alias bombs, deep nesting and huge files are located errors, fast and small.

Every case is refused through the loader's own error (SpecError, SnapshotError, PlanError, SeedError) with
FILE:LINE:COL or the file's path, in well under a second; the CLI prints it as one line and exits 1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.errors import LeadsyncError, PlanError, SeedError, SnapshotError, SpecError
from leadsync.plan import load_plan
from leadsync.providers import DestinationRef, load_snapshot, read_snapshot
from leadsync.sandbox import read_seed
from leadsync.spec import load_spec
from leadsync.spec.loader import MAX_SPEC_BYTES
from leadsync.spec.yamlpos import MAX_ALIAS_NODES, MAX_DEPTH, load_yaml
from leadsync.state import KeyKind

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: each level is `width` aliases of the one before; 500 bytes that expand to width**levels."""
    lines = ["version: 1", "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@contextmanager
def within(seconds: float, mebibytes: float = 64) -> Iterator[None]:
    """The block must finish within `seconds` and allocate at most `mebibytes` at its peak (traced by
    tracemalloc, which slows Python down some threefold, on a machine CI may share: the time budget allows ten
    times `seconds`, still far below the minutes, or the never, of what it guards against)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert elapsed < 10 * seconds, f"took {elapsed:.2f} s under tracemalloc"
    assert peak < mebibytes, f"peaked at {peak:.0f} MiB"


def spec_problem(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert len(caught.value.problems) == 1, caught.value.problems
    return str(caught.value.problems[0])


def sparse(path: Path, size: int = 3 * 2**30) -> Path:
    """A file of `size` bytes that costs no disk: what a multi-GB download looks like to a reader."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


# -- YAML: aliases ----------------------------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(alias_bomb())
    with within(seconds=1.0):
        problem = spec_problem(tmp_path / "spec.yaml")
    assert "aliases expand the document by more than 250,000 values" in problem


def test_yaml_alias_bomb_is_located_at_the_alias_that_crossed_the_budget(tmp_path: Path) -> None:
    # a0 is 10 nodes, a1 91, a2 820, a3 7,381, a4 66,430; aliases have added 74,718 when a5 begins, so the third
    # *a4 of a5 (line 7) passes 250,000
    (tmp_path / "spec.yaml").write_text(alias_bomb())
    line = alias_bomb().splitlines()[6]
    third = line.index("*a4", line.index("*a4", line.index("*a4") + 1) + 1) + 1
    assert spec_problem(tmp_path / "spec.yaml").startswith(f"{tmp_path / 'spec.yaml'}:7:{third}: YAML error: aliases")


def aliased(times: int) -> str:
    """An anchored sequence of 1,000 nodes (itself and 999 scalars), then `times` aliases to it."""
    return "a: &a [" + ", ".join(["x"] * 999) + "]\nb: [" + ", ".join(["*a"] * times) + "]\n"


def test_yaml_aliases_up_to_the_budget_load_and_one_more_is_refused() -> None:
    fits = MAX_ALIAS_NODES // 1_000
    data, _, problems = load_yaml(aliased(fits), "spec.yaml")
    assert problems == []
    assert len(data["b"]) == fits and data["b"][-1] == data["a"]
    _, _, problems = load_yaml(aliased(fits + 1), "spec.yaml")
    assert len(problems) == 1 and "alias bomb" in problems[0].message
    assert (problems[0].location.line, problems[0].location.column) == (2, 5 + 4 * fits)


def test_yaml_merges_and_reused_lists_keep_working(tmp_path: Path) -> None:
    spec = (
        (EXAMPLES / "quickstart.yaml")
        .read_text()
        .replace(
            "routes:\n",
            "x-countries: &europe [DE, FR, NL, ES, IT, SE]\n"
            "x-route: &route {to: smb, owner: carol}\n"
            "routes:\n"
            "  - {<<: *route, name: eu-first, when: {country: *europe, company_size: {gte: 5000}}}\n",
        )
    )
    spec = spec.replace(
        "when: {country: [DE, FR, NL, ES, IT, SE], company_size: {gte: 50}}",
        "when: {country: *europe, company_size: {gte: 50}}",
    )
    data, _, problems = load_yaml(spec, "spec.yaml")
    assert problems == []
    assert data["routes"][0] == {
        "to": "smb",
        "owner": "carol",
        "name": "eu-first",
        "when": {"country": ["DE", "FR", "NL", "ES", "IT", "SE"], "company_size": {"gte": 5000}},
    }
    assert data["routes"][3]["when"]["country"] == data["x-countries"]


def test_yaml_alias_inside_its_own_anchor_is_refused() -> None:
    for text in ("a: &a [1, *a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n"):
        _, _, problems = load_yaml(text, "spec.yaml")
        assert [str(p) for p in problems] == [
            f"spec.yaml:1:{text.index('*a') + 1}: YAML error: alias *a refers to a value that contains it"
        ]


def test_yaml_undefined_alias_is_still_the_composer_s_error() -> None:
    _, _, problems = load_yaml("a: *nowhere\n", "spec.yaml")
    assert len(problems) == 1 and "undefined alias" in problems[0].message


# -- YAML: nesting -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, body",
    [
        ("flow sequences", "x: " + "[" * 1000 + "]" * 1000 + "\n"),
        ("flow mappings", "x: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n"),
        ("block mappings", "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600)) + "  " * 601 + "v\n"),
        ("block sequences", "x:\n" + "".join("  " * i + "- \n" for i in range(600)) + "  " * 600 + "- v\n"),
        ("100,000 openers", "x: " + "[" * 100_000 + "\n"),
    ],
)
def test_yaml_nesting_past_the_budget_is_located_not_a_recursion_error(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / "spec.yaml").write_text("version: 1\n" + body)
    with within(seconds=1.0):
        problem = spec_problem(tmp_path / "spec.yaml")
    assert problem.startswith(f"{tmp_path / 'spec.yaml'}:")
    assert problem.endswith(f": YAML error: nested deeper than {MAX_DEPTH} levels")
    line, column = (int(part) for part in problem.removeprefix(f"{tmp_path / 'spec.yaml'}:").split(":")[:2])
    assert line >= 2 and column >= 1


def test_yaml_nesting_at_the_budget_is_read() -> None:
    data, _, problems = load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "spec.yaml")
    assert problems == []
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []
    _, _, problems = load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "spec.yaml")
    assert [str(p) for p in problems] == [f"spec.yaml:1:{MAX_DEPTH + 1}: YAML error: nested deeper than 64 levels"]


def test_yaml_aliases_that_nest_past_the_budget_are_refused() -> None:
    half = MAX_DEPTH // 2 + 1
    text = "a: &a " + "[" * half + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
    _, _, problems = load_yaml(text, "spec.yaml")
    assert [str(p) for p in problems] == [
        f"spec.yaml:2:{4 + half}: YAML error: alias *a nests the document deeper than {MAX_DEPTH} levels"
    ]
    # each level of aliases adds the anchor's depth: chained anchors are counted through
    chained = "a: &a [[[1]]]\n" + "".join(f"a{i}: &a{i} [[[{'*a' if i == 0 else f'*a{i - 1}'}]]]\n" for i in range(30))
    _, _, problems = load_yaml(chained, "spec.yaml")
    assert len(problems) == 1 and "nests the document deeper" in problems[0].message


# -- sizes -------------------------------------------------------------------------------------------------------


def test_spec_larger_than_the_budget_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    huge = sparse(tmp_path / "spec.yaml", 2 * 2**30)
    with within(seconds=1.0, mebibytes=3 * MAX_SPEC_BYTES / 2**20):
        problem = spec_problem(huge)
    assert (
        problem == f"{huge}: larger than 2 MiB, the most a spec may be: put the leads in a CSV or JSONL source "
        "(sources:)"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_spec_is_refused_at_the_budget() -> None:
    with within(seconds=1.0, mebibytes=3 * MAX_SPEC_BYTES / 2**20):
        assert spec_problem(Path("/dev/zero")).startswith("/dev/zero: larger than 2 MiB")


def test_a_spec_at_the_budget_is_read(tmp_path: Path) -> None:
    text = (EXAMPLES / "quickstart.yaml").read_text()
    padded = text + "#" * (MAX_SPEC_BYTES - len(text.encode()) - 1) + "\n"
    shutil.copy(EXAMPLES / "quickstart.leads.csv", tmp_path)
    shutil.copy(EXAMPLES / "quickstart.remote.json", tmp_path)
    (tmp_path / "quickstart.yaml").write_text(padded)
    assert (tmp_path / "quickstart.yaml").stat().st_size == MAX_SPEC_BYTES
    assert load_spec(tmp_path / "quickstart.yaml").spec.version == 1


# -- JSON: --remote, plan files, seeds ---------------------------------------------------------------------------


def snapshot_of(path: Path) -> Any:
    return load_snapshot(path, destinations={"n": DestinationRef("list", "Nurture")}, owners={}, key_kind=KeyKind.EMAIL)


def test_remote_snapshot_nested_100000_deep_is_located(tmp_path: Path) -> None:
    (tmp_path / "remote.json").write_text(DEEP_JSON)
    with within(seconds=1.0), pytest.raises(SnapshotError) as caught:
        snapshot_of(tmp_path / "remote.json")
    assert str(caught.value) == f"{tmp_path / 'remote.json'}:1:101: JSON nested deeper than 100 levels"


def test_plan_file_nested_100000_deep_is_located(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text('{"format_version": 1,\n "operations": ' + DEEP_JSON + "}")
    with within(seconds=1.0), pytest.raises(PlanError) as caught:
        load_plan(tmp_path / "plan.json")
    assert str(caught.value) == f"{tmp_path / 'plan.json'}:2:115: JSON nested deeper than 100 levels"
    with pytest.raises(PlanError) as caught:
        load_plan(DEEP_JSON.encode())
    assert str(caught.value) == "plan document:1:101: JSON nested deeper than 100 levels"


def test_seed_nested_100000_deep_is_located(tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_text('{"campaigns": ' + DEEP_JSON + "}")
    with within(seconds=1.0), pytest.raises(SeedError) as caught:
        read_seed(tmp_path / "seed.json", None)
    assert str(caught.value) == f"{tmp_path / 'seed.json'}:1:114: JSON nested deeper than 100 levels"


@pytest.mark.parametrize("kind", ["remote", "plan", "seed"])
def test_a_multi_gigabyte_json_file_is_refused_without_reading_it(tmp_path: Path, kind: str) -> None:
    huge = sparse(tmp_path / f"{kind}.json")
    readers: dict[str, Callable[[], Any]] = {
        "remote": lambda: read_snapshot(huge),
        "plan": lambda: load_plan(huge),
        "seed": lambda: read_seed(huge, None),
    }
    with within(seconds=1.0, mebibytes=16), pytest.raises(LeadsyncError) as caught:
        readers[kind]()
    assert str(caught.value).startswith(f"{huge}: larger than 512 MiB, the most a")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_json_stream_is_refused_at_the_budget() -> None:
    # not a regular file: the size is known only by reading, so reading stops one byte past the budget
    with pytest.raises(SnapshotError) as caught:
        read_snapshot("/dev/zero")
    assert str(caught.value).startswith("/dev/zero: larger than 512 MiB, the most a snapshot may be")


def test_json_files_within_the_budgets_still_load() -> None:
    assert "campaigns" in read_snapshot(EXAMPLES / "quickstart.remote.json")
    data, vendor = read_seed(EXAMPLES / "quickstart.remote.json", None)
    assert vendor == "instantly" and data["campaigns"]


# -- properties: any text is a leadsync error or a value, in bounded time ----------------------------------------

YAMLISH = st.lists(
    st.sampled_from([*"[]{}&*:-, \n\t'\"#!|>?%@`ab01<", "<<: ", "&a ", "*a", "- ", ": ", "\n  "]), max_size=150
).map("".join)
JSONISH = st.text(alphabet=list('[]{}",:\\ \n01aetrufnl-.e'), max_size=300)


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["text", "deep", "bomb", "self", "value"]))
    if kind == "value":
        digits = "1" * draw(st.integers(min_value=4000, max_value=6000))
        return "version: 1\nx: " + draw(st.sampled_from([digits, "-" + digits, "2001-02-30", "1e99999", "0x" + digits]))
    if kind == "deep":
        depth = draw(st.integers(min_value=1, max_value=3000))
        opener = draw(st.sampled_from(["[", "{a: ", "- "]))
        return "version: 1\nx: " + opener * depth + draw(YAMLISH)
    if kind == "bomb":
        return alias_bomb(draw(st.integers(min_value=1, max_value=12)), draw(st.integers(min_value=1, max_value=12)))
    if kind == "self":
        return "version: 1\nx: &a " + draw(st.sampled_from(["[*a]", "{k: *a}", "{<<: *a}", "[[1, *a]]"]))
    return draw(YAMLISH)


@st.composite
def hostile_json(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(JSONISH) + "1" * draw(st.integers(min_value=4000, max_value=6000)) + draw(JSONISH)
    if draw(st.booleans()):
        depth = draw(st.integers(min_value=1, max_value=200_000))
        return draw(st.sampled_from(["[", '{"a":'])) * depth + draw(JSONISH)
    return draw(JSONISH)


def only_leadsync_errors(call: Callable[[], Any]) -> None:
    started = time.perf_counter()
    with contextlib.suppress(LeadsyncError):
        call()
    assert time.perf_counter() - started < 10  # a bound, not a speed: the bomb took minutes


@settings(max_examples=150)
@given(hostile_yaml())
def test_any_text_given_to_load_spec_raises_only_leadsync_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "spec.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        only_leadsync_errors(lambda: load_spec(Path(folder) / "spec.yaml"))


@settings(max_examples=150)
@given(hostile_json())
def test_any_text_given_to_load_plan_raises_only_leadsync_errors(text: str) -> None:
    only_leadsync_errors(lambda: load_plan(text))


@settings(max_examples=150)
@given(hostile_json())
def test_any_text_given_to_load_snapshot_or_read_seed_raises_only_leadsync_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "remote.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        only_leadsync_errors(lambda: snapshot_of(Path(folder) / "remote.json"))
        only_leadsync_errors(lambda: read_seed(Path(folder) / "remote.json", None))


# -- the CLI: exit 1, one located line, no traceback -------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        shutil.copy(EXAMPLES / name, tmp_path)
    (tmp_path / "bomb.yaml").write_text(alias_bomb())
    (tmp_path / "deep.yaml").write_text("version: 1\nx: " + "[" * 600 + "]" * 600 + "\n")
    (tmp_path / "deep.json").write_text(DEEP_JSON)
    (tmp_path / "deep.plan.json").write_text('{"format_version": 1, "x": ' + DEEP_JSON + "}")
    (tmp_path / "number.yaml").write_text("version: 1\nowners: " + "1" * 5000 + "\n")
    (tmp_path / "number.json").write_text('{"leads": ' + "1" * 5000 + "}")
    sparse(tmp_path / "huge.yaml", 2 * 2**30)
    sparse(tmp_path / "huge.json")
    sparse(tmp_path / "huge.plan.json")
    for seed in ("deep", "huge"):
        spec = (tmp_path / "quickstart.yaml").read_text().replace("quickstart.remote.json", f"{seed}.json")
        (tmp_path / f"{seed}-seed.yaml").write_text(spec)
    return tmp_path


CLI_CASES = {
    "alias bomb": (["validate", "bomb.yaml"], "bomb.yaml:7:", "alias bomb"),
    "deep yaml": (["validate", "deep.yaml"], "deep.yaml:2:", "nested deeper than 64 levels"),
    "huge yaml": (["validate", "huge.yaml"], "huge.yaml: larger than 2 MiB", "the most a spec may be"),
    "long number, yaml": (["validate", "number.yaml"], "number.yaml:2:9:", "a number with more than"),
    "long number, remote": (
        ["plan", "quickstart.yaml", "--remote", "number.json"],
        "number.json: not a snapshot",
        "line 1 column 11",
    ),
    "deep remote": (["plan", "quickstart.yaml", "--remote", "deep.json"], "deep.json:1:101:", "deeper than 100"),
    "huge remote": (["plan", "quickstart.yaml", "--remote", "huge.json"], "huge.json: larger than 512 MiB", "snapshot"),
    "deep plan": (["apply", "deep.plan.json"], "deep.plan.json:1:127:", "nested deeper than 100 levels"),
    "huge plan": (["apply", "huge.plan.json"], "huge.plan.json: larger than 512 MiB", "plan"),
    "deep seed": (["sandbox", "reset", "deep-seed.yaml"], "deep.json:1:101:", "nested deeper than 100 levels"),
    "huge seed": (["sandbox", "reset", "huge-seed.yaml"], "huge.json: larger than 512 MiB", "seed"),
    "deep seed, served": (["sandbox", "serve", "--seed", "deep.json", "--port", "0"], "deep.json:1:101:", "deeper"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_refuses_each_hostile_file_in_one_line(folder: Path, case: str) -> None:
    args, starts, contains = CLI_CASES[case]
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert time.perf_counter() - started < 10
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line.removeprefix("Error: ") for line in result.stderr.splitlines()]
    located = [line for line in lines if line.startswith(starts)]
    assert len(located) == 1 and contains in located[0], result.stderr
    # besides it, at most validate's count of problems
    assert [line for line in lines if line not in located] in ([], ["1 problem found"]), result.stderr


# -- values Python refuses to build: a 5,000-digit number, a date that does not exist -------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        ("1" * 5000, f"a number with more than {sys.get_int_max_str_digits()} digits"),
        ("-" + "9" * 5000, f"a number with more than {sys.get_int_max_str_digits()} digits"),
        ("2001-02-30", "not a date: day is out of range for month"),
    ],
)
def test_yaml_values_python_cannot_build_are_located(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "spec.yaml").write_text(f"version: 1\nworkspace:\n  seed: {value}\n")
    assert spec_problem(tmp_path / "spec.yaml") == f"{tmp_path / 'spec.yaml'}:3:9: YAML error: {message}"
    _, _, problems = load_yaml(f"? {value}\n: 1\n", "spec.yaml")  # as a key (explicit: a plain key ends at 1,024)
    assert [str(p) for p in problems] == [f"spec.yaml:1:3: YAML error: {message}"]


def test_json_numbers_python_cannot_build_are_located(tmp_path: Path) -> None:
    digits = sys.get_int_max_str_digits()
    # a string of digits and a fraction's digits are no integer: the third number is
    line = '  "' + "1" * 5000 + '", 1.' + "1" * 5000 + ", " + "7" * 5000 + "]}"
    (tmp_path / "remote.json").write_text('{"leads": [\n' + line)
    with pytest.raises(SnapshotError) as caught:
        read_snapshot(tmp_path / "remote.json")
    column = line.index("7") + 1
    assert str(caught.value) == (
        f"{tmp_path / 'remote.json'}: not a snapshot: invalid JSON at line 2 column {column}: "
        f"a number with more than {digits} digits"
    )
    (tmp_path / "plan.json").write_text('{"format_version": ' + "1" * 5000 + "}")
    with pytest.raises(PlanError, match=r"plan\.json: not a plan document: invalid JSON at line 1 column 20: a number"):
        load_plan(tmp_path / "plan.json")
    (tmp_path / "seed.json").write_text("[" + "1" * 5000 + "]")
    with pytest.raises(SeedError) as caught:
        read_seed(tmp_path / "seed.json", None)
    assert str(caught.value) == f"{tmp_path / 'seed.json'}:1:2: invalid JSON: a number with more than {digits} digits"
