"""Seeds and state: loading (and refusing) seeds, the state endpoint round-trip, the state file, reset, serve."""

from __future__ import annotations

import ast
import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sandbox.support import (
    COLD,
    ENTERPRISE,
    NURTURE,
    QUICKSTART_SEED,
    SONARLY_SEED,
    WEBINAR,
    Api,
    instantly_seed,
    lead_id,
)

import leadsync.sandbox
from leadsync.errors import LeadsyncError, SandboxError, SeedError
from leadsync.sandbox import ManualClock, RunningSandbox, reset, serve, start

Sandboxes = Callable[..., RunningSandbox]


def test_the_quickstart_seed_loads_and_its_state_is_the_seed(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes(QUICKSTART_SEED)
    assert sandbox.state() == json.loads(QUICKSTART_SEED.read_text(encoding="utf-8"))
    api = Api(sandbox, key=sandbox.api_key)
    names = [c["name"] for c in api.get("/api/v2/campaigns").json()["items"]]
    assert names == ["Enterprise Q4", "SMB Outbound", "Webinar Follow-up"]
    assert len(api.all_leads(list_id="11570000-0000-4000-8000-000000000001")) == 8


def test_the_sonarly_seed_round_trips(sandboxes: Sandboxes) -> None:
    assert sandboxes(SONARLY_SEED).state() == json.loads(SONARLY_SEED.read_text(encoding="utf-8"))


def test_a_changed_state_loads_again_as_a_seed(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    sandbox = sandboxes(clock=clock)
    api = Api(sandbox)
    api.post(
        "/api/v2/leads/add",
        json={"campaign_id": ENTERPRISE, "leads": [{"email": "new@x.test", "custom_variables": {"tier": "gold"}}]},
    )
    api.post("/api/v2/leads/move", json={"list_id": NURTURE, "ids": [lead_id(10)], "to_list_id": COLD})
    api.patch(f"/api/v2/leads/{lead_id(2)}", json={"lt_interest_status": 2})
    clock.advance(5)
    saved = sandbox.state()
    assert {lead["id"]: lead.get("list_id") for lead in saved["leads"]}[lead_id(10)] == COLD
    reloaded = sandboxes(saved)
    assert reloaded.state() == saved
    assert Api(reloaded).all_leads() == api.all_leads()  # the same leads, answered the same way


def test_a_state_file_persists_and_then_the_seed_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / ".leadsync" / "sandbox.sqlite"
    with start(instantly_seed(), state=state, rate_limit=False) as first:
        Api(first).post("/api/v2/leads/add", json={"list_id": COLD, "leads": [{"email": "kept@x.test"}]})
        job = Api(first).post("/api/v2/leads/move", json={"list_id": NURTURE, "to_list_id": COLD}).json()
    with start(QUICKSTART_SEED, state=state, rate_limit=False) as second:
        api = Api(second)
        assert "kept@x.test" in [lead["email"] for lead in api.all_leads(list_id=COLD)]
        assert api.get(f"/api/v2/background-jobs/{job['id']}").status_code == 200  # jobs persist with the state
        assert second.api_key == "test-key-all"


def test_reset_starts_a_state_over_from_its_seed(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    with start(instantly_seed(), state=state, rate_limit=False) as running:
        Api(running).delete_with_body("/api/v2/leads", {"campaign_id": ENTERPRISE})
    reset(state, instantly_seed())
    with start(None, state=state, rate_limit=False) as running:
        assert len(Api(running).all_leads(campaign=ENTERPRISE)) == 5
    with pytest.raises(SeedError):
        reset(state, {"leads": [{"id": lead_id(1)}]})  # in no campaign or list
    assert state.exists()  # a bad seed leaves the old state alone


# vendor-shaped ids, so that each bad seed below is bad only as it means to be
_C, _C2, _L, _A, _B = ENTERPRISE, WEBINAR, NURTURE, lead_id(1), lead_id(2)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.remote.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        ('{"leads": [', ["bad.remote.json:1:12: invalid JSON"]),
        ("[]", ["a seed must be a JSON object"]),
        ('{"lead": []}', ["unknown field 'lead'"]),
        (
            f'{{"leads": [{{"id": "{_A}", "email": 5, "campaign": "{_C}"}}]}}',
            ["leads[0].email: 5 is not of type 'string', 'null'"],
        ),
        (
            f'{{"campaigns": [{{"id": "{_C}", "name": "C"}}], "leads": [{{"id": "{_A}", "campaign": "{_C}",'
            ' "colour": "red"}]}',
            ["leads[0]: unknown field 'colour'"],
        ),
        (
            f'{{"campaigns": [{{"id": "{_C}", "name": "C"}}], "lists": [{{"id": "{_L}", "name": "L"}}], "leads": ['
            f'{{"id": "{_A}"}}, {{"id": "{_B}", "campaign": "{_C2}"}}, {{"id": "{_B}", "campaign": "{_C}",'
            f' "list_id": "{_L}"}}]}}',
            [
                "leads[0]: a lead belongs to exactly one campaign or one list",
                f"leads[1].campaign: no campaign with id '{_C2}'",
                f"leads[2].id: duplicate id '{_B}'",
                "leads[2]: a lead belongs to exactly one campaign or one list",
            ],
        ),
        ('{"account_groups": [{"id": "x", "name": "G"}]}', ["account_groups[0].id: 'x' is not an id Sonarly makes"]),
        ('{"leads": [{"id": "x"}]}', ["leads[0].id: 'x' is not an id Instantly makes (a UUID such as"]),
        (
            '{"account_groups": [], "audiences": [{"id": "65b000000000000000000001", "name": "A",'
            ' "account_group_id": "65a000000000000000000009"}]}',
            ["audiences[0].account_group_id: no account group with id"],
        ),
    ],
)
def test_seed_errors_name_the_file_and_every_problem(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SeedError) as caught:
        start(path)
    assert isinstance(caught.value, LeadsyncError)
    for message in messages:
        assert message in str(caught.value)
    assert all(line.startswith(str(path)) for line in str(caught.value).splitlines())


def test_a_missing_seed_or_a_state_that_is_not_one_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"nowhere\.json: cannot read the seed"):
        start(tmp_path / "nowhere.json")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database", encoding="utf-8")
    with pytest.raises(SeedError, match=r"junk\.sqlite: not a sandbox state file"):
        start(state=junk)


def test_the_vendor_is_inferred_and_a_mismatch_refused(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="this is a Sonarly seed, not a Instantly one"):
        start(SONARLY_SEED, vendor="instantly")
    state = tmp_path / "sonarly.sqlite"
    with start(SONARLY_SEED, state=state) as running:
        assert running.vendor == "sonarly"
    with pytest.raises(SandboxError, match="serves Sonarly, not Instantly"):
        start(state=state, vendor="instantly")


def test_no_seed_gives_an_empty_workspace_with_one_key() -> None:
    with start(rate_limit=False) as sandbox:
        assert sandbox.api_key == "sandbox"
        assert Api(sandbox, key="sandbox").all_leads() == []
        assert sandbox.state() == {
            "api_keys": [{"key": "sandbox", "scopes": ["all:all"]}],
            "members": [],
            "campaigns": [],
            "lists": [],
            "leads": [],
        }


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_serve_refuses_a_host_that_is_not_loopback(host: str) -> None:
    with pytest.raises(SandboxError, match="loopback"):
        serve(host=host, seed=instantly_seed())


def _serve_child(queue: Any) -> None:
    serve(seed=str(QUICKSTART_SEED), on_ready=queue.put)


def test_serve_blocks_until_terminated() -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_serve_child, args=(queue,))
    child.start()
    try:
        url = queue.get(timeout=20)
        response = httpx.get(
            url + "/api/v2/campaigns", headers={"Authorization": "Bearer sandbox-quickstart-key"}, trust_env=False
        )
        assert response.status_code == 200
    finally:
        child.terminate()
        child.join(20)
    assert child.exitcode == 0  # SIGTERM is a clean shutdown


def test_the_public_api_is_deliberate() -> None:
    assert leadsync.sandbox.__all__ == sorted(leadsync.sandbox.__all__)
    assert {"start", "serve", "reset", "parse_faults", "RunningSandbox", "SeedError", "FaultSpecError"} <= set(
        leadsync.sandbox.__all__
    )


def test_the_sandbox_imports_nothing_of_the_client_side() -> None:
    allowed = {"leadsync.errors", "leadsync.jsontext"}  # both leaves: the error tree, JSON within budgets
    for module in Path(leadsync.sandbox.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module
                and node.module.startswith("leadsync")
            ):
                assert node.module in allowed, f"{module.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("leadsync") and a.name not in allowed for a in node.names), module.name


def test_the_quickstart_spec_runs_on_the_seed_next_to_it(sandboxes: Sandboxes) -> None:
    """specs/examples/quickstart.yaml names `seed: quickstart.remote.json`: that file serves every destination and
    owner the spec names, so `leadsync plan specs/examples/quickstart.yaml` has a workspace to read."""
    spec_path = QUICKSTART_SEED.parent / "quickstart.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    assert spec["workspace"]["provider"] == "sandbox"
    seed = spec_path.parent / spec["workspace"]["seed"]
    sandbox = sandboxes(seed)
    api = Api(sandbox, key=sandbox.api_key)
    campaigns = {c["name"] for c in api.get("/api/v2/campaigns").json()["items"]}
    lists = {c["name"] for c in api.get("/api/v2/lead-lists").json()["items"]}
    members = {m["email"] for m in api.get("/api/v2/workspace-members").json()["items"]}
    for destination in spec["destinations"].values():
        assert destination.get("campaign", destination.get("list")) in (
            campaigns if "campaign" in destination else lists
        )
    assert {owner["email"] for owner in spec["owners"].values()} <= members


# -- ids the vendor could make ------------------------------------------------------------------------------

_CAMPAIGN_ID, _LIST_ID, _LEAD_ID = ENTERPRISE, NURTURE, "1ead0000-0000-4000-8000-000000000001"
_USER_ID, _WORKSPACE_ID = "7d0c6d2e-0000-4000-8000-00000000a11c", "0a9c0000-0000-4000-8000-000000000001"
_UUID_HINT = "is not an id Instantly makes (a UUID such as 1ead0000-0000-4000-8000-000000000001)"


def _instantly_ids_seed() -> dict[str, Any]:
    """One of each record, every id vendor-shaped: each case below spoils one."""
    return {
        "workspace_id": _WORKSPACE_ID,
        "members": [{"user_id": _USER_ID, "id": "3e3b0000-0000-4000-8000-000000000001", "email": "a@acme.test"}],
        "campaigns": [{"id": _CAMPAIGN_ID, "name": "C", "organization": _WORKSPACE_ID}],
        "lists": [{"id": _LIST_ID, "name": "L"}],
        "leads": [{"id": _LEAD_ID, "campaign": _CAMPAIGN_ID}, {"id": lead_id(2), "list_id": _LIST_ID}],
    }


def test_a_seed_of_vendor_shaped_ids_loads() -> None:
    with start(_instantly_ids_seed(), rate_limit=False) as running:
        assert {lead["id"] for lead in Api(running, key=running.api_key).all_leads()} == {_LEAD_ID, lead_id(2)}


@pytest.mark.parametrize(
    ("spoil", "where", "bad"),
    [
        (lambda s: s["leads"][1].update(id="l2"), "leads[1].id", "l2"),
        (lambda s: s["campaigns"][0].update(id="c-1"), "campaigns[0].id", "c-1"),
        (
            lambda s: s["lists"][0].update(id="l0000000-0000-4000-8000-000000000001"),
            "lists[0].id",
            "l0000000-0000-4000-8000-000000000001",
        ),
        (lambda s: s["members"][0].update(user_id="u-0001"), "members[0].user_id", "u-0001"),
        (lambda s: s["members"][0].update(id="m-1"), "members[0].id", "m-1"),
        (lambda s: s.update(workspace_id="ws-7f00"), "workspace_id", "ws-7f00"),
        (lambda s: s["campaigns"][0].update(organization="ws-7f00"), "campaigns[0].organization", "ws-7f00"),
        (lambda s: s["leads"][0].update(id=_LEAD_ID.upper()), "leads[0].id", _LEAD_ID.upper()),
        (lambda s: s["leads"][0].update(id=_LEAD_ID.replace("-", "")), "leads[0].id", _LEAD_ID.replace("-", "")),
    ],
    ids=[
        "lead",
        "campaign",
        "list-not-hex",
        "member-user",
        "membership",
        "workspace",
        "organization",
        "upper-case",
        "no-dashes",
    ],
)
def test_an_instantly_id_the_vendor_could_not_make_is_refused_where_it_is(
    spoil: Callable[[dict[str, Any]], None], where: str, bad: str
) -> None:
    seed = _instantly_ids_seed()
    spoil(seed)
    with pytest.raises(SeedError) as caught:
        start(seed)
    assert f"<seed>: {where}: {bad!r} {_UUID_HINT}" in str(caught.value).splitlines()


def test_every_wrong_instantly_id_is_reported_at_once() -> None:
    seed = _instantly_ids_seed()
    seed["leads"][0]["id"], seed["campaigns"][0]["id"] = "x", "y"
    with pytest.raises(SeedError) as caught:
        start(seed)
    assert str(caught.value).splitlines() == [
        f"<seed>: campaigns[0].id: 'y' {_UUID_HINT}",
        f"<seed>: leads[0].id: 'x' {_UUID_HINT}",
    ]


@pytest.mark.parametrize(
    ("seed", "line"),
    [
        ({"account_groups": [{"id": "g-1", "name": "G"}]}, "account_groups[0].id: 'g-1'"),
        (
            {"account_groups": [{"id": "65A000000000000000000001", "name": "G"}]},
            "account_groups[0].id: '65A000000000000000000001'",
        ),
        (
            {
                "account_groups": [{"id": "65a000000000000000000001", "name": "G"}],
                "audiences": [{"id": "aud-1", "name": "A", "account_group_id": "65a000000000000000000001"}],
            },
            "audiences[0].id: 'aud-1'",
        ),
        (
            {"account_groups": [], "prospects": [{"id": "p-1", "audience_id": "65b000000000000000000001"}]},
            "prospects[0].id: 'p-1'",
        ),
    ],
    ids=["account-group", "upper-case", "audience", "prospect"],
)
def test_a_sonarly_id_the_vendor_could_not_make_is_refused_where_it_is(seed: dict[str, Any], line: str) -> None:
    with pytest.raises(SeedError) as caught:
        start(seed)
    hint = "is not an id Sonarly makes (an ObjectId such as 65a000000000000000000001)"
    assert f"<seed>: {line} {hint}" in str(caught.value).splitlines()


@pytest.mark.parametrize("vendor", ["instantly", "sonarly"])
def test_the_default_seeds_are_valid(vendor: str) -> None:
    from leadsync.sandbox._seed import DEFAULT_SEEDS, validate_seed

    validate_seed(json.loads(json.dumps(DEFAULT_SEEDS[vendor])), vendor, "<default>")
