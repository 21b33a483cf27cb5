"""`leadsync plan --remote`: the whole path from spec and snapshot to a rendered, saved plan."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.plan import load_plan, plan_schema

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
QUICKSTART = [str(EXAMPLES / "quickstart.yaml"), "--remote", str(EXAMPLES / "quickstart.remote.json")]

SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}
destinations: {big: {campaign: Big}, small: {list: Small}}
owners: {ana: {email: ana@acme.test}}
leads:
  - {email: a@x.test, size: 5000}
  - {email: b@x.test, size: 5}
routes:
  - {name: large, when: {size: {gte: 1000}}, to: big, owner: ana}
  - {name: rest, to: small}
"""
SEED = {
    "api_keys": [],
    "members": [{"user_id": "u-ana", "email": "ANA@acme.test"}],
    "campaigns": [{"id": "c-big", "name": "Big"}],
    "lists": [{"id": "l-small", "name": "Small"}],
    "leads": [
        {"id": "1", "email": "a@x.test", "campaign": "c-big", "assigned_to": "u-ana"},
        {"id": "2", "email": "B@x.test", "list_id": "l-small"},
    ],
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_quickstart_plan_in_text() -> None:
    code, out, _ = run("plan", *QUICKSTART)
    assert code == 0
    assert out.rstrip().splitlines()[-1] == "Plan: 13 to add, 15 to move, 2 to reassign, 3 held."


def test_detailed_exitcode_is_2_when_there_are_changes() -> None:
    assert run("plan", *QUICKSTART, "--detailed-exitcode")[0] == 2


def test_json_on_stdout_is_the_plan_document_and_out_saves_the_same(tmp_path: Path) -> None:
    saved = tmp_path / "plans" / "plan.json"
    code, out, err = run("plan", *QUICKSTART, "--format", "json", "--out", str(saved))
    assert code == 0 and err == ""
    document = json.loads(out)
    jsonschema.validate(document, plan_schema())
    assert saved.read_text() == out
    assert document["summary"]["move"] == 15
    assert document["calls"]["writes"] == document["calls"]["lower_bound"]
    assert load_plan(saved).fingerprint == document["fingerprint"]


def test_markdown_masks_every_email() -> None:
    code, out, _ = run("plan", *QUICKSTART, "--format", "markdown")
    assert code == 0
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    for lead in seed["leads"]:
        assert lead["email"] not in out


def test_a_workspace_that_matches_has_no_changes(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    code, out, _ = run(
        "plan", str(tmp_path / "spec.yaml"), "--remote", str(tmp_path / "seed.json"), "--detailed-exitcode"
    )
    assert code == 0
    assert out.rstrip().splitlines()[-1] == "No changes."


def test_plan_on_the_embedded_sandbox_is_the_readme_command(tmp_path: Path) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    code, out, _ = run("plan", str(tmp_path / "quickstart.yaml"))
    assert code == 0
    assert out.rstrip().splitlines()[-1] == "Plan: 13 to add, 15 to move, 2 to reassign, 3 held."


def test_plan_of_a_live_workspace_without_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSTANTLY_API_KEY", raising=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    code, _, err = run("plan", str(tmp_path / "spec.yaml"))
    assert code == 1
    assert err.strip() == "Error: no API key: set the environment variable INSTANTLY_API_KEY (named by the spec)"


def test_a_bad_snapshot_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "seed.json").write_text("{not json")
    code, _, err = run("plan", str(tmp_path / "spec.yaml"), "--remote", str(tmp_path / "seed.json"))
    assert code == 1
    assert "seed.json" in err and err.startswith("Error: ")


def test_two_spec_names_for_one_campaign_are_an_error_even_under_claim_move(tmp_path: Path) -> None:
    """Before issue #11 a conflict (a@x.test left in c-big, exit 0); a spec that cannot be met is an error."""
    spec = SPEC.replace(
        "destinations: {big: {campaign: Big}, small: {list: Small}}",
        "destinations: {big: {campaign: Big}, vip: {campaign_id: c-big}, small: {list: Small}}",
    )
    spec = spec.replace("to: big, owner: ana", "to: small, owner: ana") + "policy: {claim: move}\n"
    (tmp_path / "spec.yaml").write_text(spec)
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    code, out, err = run(
        "plan", str(tmp_path / "spec.yaml"), "--remote", str(tmp_path / "seed.json"), "--format", "json"
    )
    assert code == 1 and out == ""
    assert "spec.yaml:3:32: destination 'big': campaign:c-big is named by several destinations: big, vip" in err
    assert "destination 'vip': campaign:c-big is named by several destinations: big, vip" in err


EMAIL = __import__("re").compile(r"[\w.+-]{2,}@[\w-]{2,}\.\w+")


def test_mask_hides_every_email_of_the_text_plan_for_ci_logs() -> None:
    plain = CliRunner().invoke(main, ["plan", *QUICKSTART])
    masked = CliRunner().invoke(main, ["plan", *QUICKSTART, "--mask"])
    assert plain.exit_code == masked.exit_code == 0
    assert "jane.doe@bigco.test" in plain.stdout and EMAIL.search(plain.stdout)
    assert EMAIL.search(masked.stdout) is None, EMAIL.search(masked.stdout)
    assert "j***@b***.test" in masked.stdout
    assert masked.stdout.splitlines()[-1] == plain.stdout.splitlines()[-1]  # the same plan


def test_mask_on_apply_hides_emails_on_stderr_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["apply", "quickstart.yaml", "--dry-run", "--mask"])
    assert result.exit_code == 0 and "Dry run:" in result.stderr
    assert EMAIL.search(result.stdout + result.stderr) is None


DAVE = {"user_id": "7d0c6d2e-0000-4000-8000-00000000da7e", "email": "dave.outside@acme.test"}


def quickstart_with_outsiders(tmp_path: Path, claim: str) -> list[str]:
    """The quickstart where jane.doe (to be added) already sits in the unmanaged campaign 'Webinar Follow-up',
    and a nurture lead is owned by dave, a member the spec does not name."""
    for name in ("quickstart.yaml", "quickstart.leads.csv"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = (tmp_path / "quickstart.yaml").read_text()
    (tmp_path / "quickstart.yaml").write_text(spec.replace("claim: skip", f"claim: {claim}"))
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    seed["members"].append(DAVE)
    for lead in seed["leads"]:
        if lead.get("campaign") == "c0000000-0000-4000-8000-000000000003":  # Webinar Follow-up
            lead.update(email="jane.doe@bigco.test", status=1, lt_interest_status=None)
        if lead["email"] == "mira.larsen23@lumen23.test":  # in nurture, routed to bob
            lead["assigned_to"] = DAVE["user_id"]
    (tmp_path / "quickstart.remote.json").write_text(json.dumps(seed))  # the spec names it: it must exist
    return [str(tmp_path / "quickstart.yaml"), "--remote", str(tmp_path / "quickstart.remote.json")]


def test_the_plan_names_outside_places_and_members_by_what_the_workspace_calls_them(tmp_path: Path) -> None:
    args = quickstart_with_outsiders(tmp_path, "move")
    code, text, _ = run("plan", *args)
    assert code == 0
    assert 'campaign "Webinar Follow-up" (not managed)' in text
    assert '~ jane.doe@bigco.test  campaign "Webinar Follow-up" -> enterprise' in text
    assert "* mira.larsen23@lumen23.test  owner dave.outside@acme.test -> bob" in text
    assert "c0000000-0000-4000-8000-000000000003" not in text and DAVE["user_id"] not in text

    code, masked, _ = run("plan", *args, "--mask")
    assert code == 0 and "dave.outside" not in masked and DAVE["user_id"] not in masked
    assert "* m***@l***.test  owner d***@a***.test -> bob" in masked

    code, markdown, _ = run("plan", *args, "--format", "markdown")
    assert code == 0 and "dave.outside@acme.test" not in markdown and "jane.doe@bigco.test" not in markdown
    assert '`j***@b***.test` campaign `"Webinar Follow-up"` → enterprise' in markdown  # a vendor's name: code
    assert "owner `d***@a***.test` → bob" in markdown

    code, out, _ = run("plan", *args, "--format", "json")
    document = json.loads(out)
    jsonschema.validate(document, plan_schema())
    # the ids stay in the document, the names beside them; only those the plan mentions
    assert document["names"] == {
        "places": {"campaign:c0000000-0000-4000-8000-000000000003": "Webinar Follow-up"},
        "members": {DAVE["user_id"]: DAVE["email"]},
    }
    move = next(op for op in document["operations"] if op["from"].startswith("campaign:"))
    assert move["from"] == "campaign:c0000000-0000-4000-8000-000000000003" and move["keys"] == ["jane.doe@bigco.test"]


def test_a_conflict_outside_names_the_place_too(tmp_path: Path) -> None:
    code, text, _ = run("plan", *quickstart_with_outsiders(tmp_path, "skip"))
    assert code == 0
    assert (
        'jane.doe@bigco.test  outside only: found only outside managed destinations: campaign "Webinar Follow-up" '
        "(1ead0000-0000-4000-8000-000000000900) (claim: skip)"
    ) in text
    assert "campaign:c0000000" not in text


def test_mask_reaches_warnings_too(tmp_path: Path) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    rows = (tmp_path / "quickstart.leads.csv").read_text().splitlines()
    (tmp_path / "quickstart.leads.csv").write_text("\n".join([*rows, rows[1]]) + "\n")  # a row twice: a warning
    args = [str(tmp_path / "quickstart.yaml"), "--remote", str(tmp_path / "quickstart.remote.json")]
    plain = CliRunner().invoke(main, ["plan", *args])
    assert "Warning: " in plain.stderr and EMAIL.search(plain.stderr)
    for extra in (["--mask"], ["--format", "markdown"]):
        masked = CliRunner().invoke(main, ["plan", *args, *extra])
        assert masked.exit_code == 0 and "Warning: " in masked.stderr
        assert EMAIL.search(masked.stderr + masked.stdout) is None, (extra, masked.stderr)


def test_apply_shows_the_spec_warnings_before_it_sends_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number written as text made `plan` warn, but `apply` said nothing and moved the leads (a new user's walk,
    issue #11): apply warns too, in the dry run and before it sends."""
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = tmp_path / "quickstart.yaml"
    spec.write_text(spec.read_text().replace("company_size: {gte: 1000}", 'company_size: ">=1000"'))
    monkeypatch.chdir(tmp_path)
    for args in (["--dry-run"], ["--auto-approve"]):
        result = CliRunner().invoke(main, ["apply", "quickstart.yaml", *args])
        assert "Traceback" not in result.output
        first = result.stderr.splitlines()[0]
        assert first.startswith("Warning: quickstart.yaml:") and "'>=1000' is compared as text" in first, first
