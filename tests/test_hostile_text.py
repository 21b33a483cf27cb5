"""Text leadsync did not write never acts on a terminal (issue #25, "Terminal control sequences"): escape, OSC 52,
backspace, carriage return, C1 controls and bidirectional overrides from a vendor's answer or a lead file are shown
as escapes in every human-readable output (text plan, markdown, explain, errors, did-you-mean, test results), and a
lead key that holds a control character is an invalid key at its row."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_run import leadsync
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.render import render, visible

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
#: what must never reach a terminal raw: C0 but the line break, DEL, C1, bidirectional controls
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
ATTACKS = [OSC52, "\x1bc", "\x1b[2J", "\x08\x08\x08evil", "\r", "\u202egnp.exe", "\x9b31m", "\x00", "\x7f"]


def test_visible_escapes_what_acts_and_keeps_what_reads() -> None:
    assert visible(f"a{OSC52}b") == "a\\x1b]52;c;cm0gLXJmIH4=\\x07b"
    assert visible("x\u202ey\u2066z\x9b") == "x\\u202ey\\u2066z\\x9b"
    assert visible("line one\nline two: é, 日本, emoji 🎉") == "line one\nline two: é, 日本, emoji 🎉"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_visible_leaves_nothing_that_acts(text: str) -> None:
    assert not RAW.search(visible(text))


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart whose workspace a hostile vendor answers: control sequences in a campaign's name outside the
    spec, a member's email, a member's id, and in a lead file's values."""
    monkeypatch.chdir(tmp_path)
    for name in ("quickstart.yaml", "quickstart.leads.csv"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    seed["campaigns"].append({"id": "c-evil", "name": f"Evil{OSC52}\x1bc\u202eCampaign"})
    seed["members"].append({"user_id": "u-\x1b[2Jx", "email": f"mallory{OSC52}@acme.test"})
    seed["leads"][0]["assigned_to"] = "u-\x1b[2Jx"  # a lead in a managed destination, owned by no spec owner
    seed["leads"].append(
        {"id": "1ead-evil", "email": "zed.hostile@bigco.test", "campaign": "c-evil", "status": 1}
    )  # someone the spec routes, found in the hostile campaign
    (tmp_path / "snapshot.json").write_text(json.dumps(seed))
    (tmp_path / "quickstart.remote.json").write_text(json.dumps(seed))
    spec = yaml.safe_load((tmp_path / "quickstart.yaml").read_text())
    spec["policy"] = {**spec.get("policy", {}), "claim": "move", "unmanaged": "report"}
    (tmp_path / "quickstart.yaml").write_text(json.dumps(spec))  # JSON is YAML
    with (tmp_path / "quickstart.leads.csv").open("a", encoding="utf-8") as leads:
        leads.write(f"zed.hostile@bigco.test,Jane{OSC52},Doe\x1bc,BigCo,5000,US\n")
    return tmp_path


def header(path: Path) -> str:
    return path.read_text().splitlines()[0]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_plan_shows_a_hostile_workspace_without_acting_on_the_terminal(hostile: Path, fmt: str) -> None:
    code, out, err = leadsync("plan", "quickstart.yaml", "--remote", "snapshot.json", "--format", fmt)
    assert code == 0, err
    assert not RAW.search(out) and not RAW.search(err), (out + err)[:2000]
    if fmt == "text":
        assert "Evil" in out  # shown, its controls as escapes


def test_a_colored_plan_keeps_its_own_colours_only(hostile: Path) -> None:
    from leadsync.spec import load_spec
    from leadsync.workflow import plan_spec, snapshot_source

    planned = plan_spec(load_spec("quickstart.yaml").path, snapshot_source("snapshot.json"))
    text = render(planned.plan, "text", color=True)
    ours = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the renderer's own colour codes, and nothing else
    assert not RAW.search(ours)


def test_explain_shows_a_hostile_value(hostile: Path) -> None:
    code, out, err = leadsync("explain", "quickstart.yaml", "zed.hostile@bigco.test")
    assert code == 0, err
    assert not RAW.search(out)


def test_an_error_naming_a_hostile_vendor_name_does_not_act(hostile: Path) -> None:
    spec = (hostile / "quickstart.yaml").read_text().replace('"Enterprise Q4"', '"Evil"')
    (hostile / "quickstart.yaml").write_text(spec)
    code, _, err = leadsync("plan", "quickstart.yaml", "--remote", "snapshot.json")
    assert code == 1
    assert "Evil" in err and not RAW.search(err), err  # the did-you-mean names the hostile campaign, escaped


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_lead_key_with_a_control_character_is_invalid_at_its_row(tmp_path: Path, attack: str) -> None:
    (tmp_path / "leads.csv").write_text(f"email\nok@x.test\nja{attack}ne@x.test\n", encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nworkspace: {provider: instantly, api_key_env: K}\ndestinations: {n: {list: N}}\n"
        "sources: [{path: leads.csv}]\nroutes: [{name: all, to: n}]\n"
    )
    code, _, err = leadsync("validate", str(tmp_path / "spec.yaml"))
    if attack == "\u202egnp.exe":  # an invisible direction mark is dropped from a key, as zero-width characters are
        assert code == 0, err
        return
    assert code == 1 and "leads.csv:3" in err and "invalid email address" in err, err
    assert not RAW.search(err)


def test_routing_test_results_do_not_act(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nworkspace: {provider: instantly, api_key_env: K}\ndestinations: {n: {list: N}, e: {list: E}}\n"
        "routes: [{name: big, when: {title: {matches: CEO}}, to: e}, {name: all, to: n}]\n"
    )
    case: dict[str, Any] = {"lead": {"email": "a@x.test", "title": f"CEO{OSC52}"}, "expect": {"route": "all"}}
    (tmp_path / "cases.yaml").write_text(json.dumps([case]))
    code, out, err = leadsync("test", "spec.yaml", "cases.yaml")
    assert code == 1 and "expected route all, got big" in out
    assert not RAW.search(out + err)
