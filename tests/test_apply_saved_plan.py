"""`apply PLANFILE` carries out that plan and nothing else (issue 11).

The workspace: 500 people in the Nurture list, all bob's; the spec sends the 97 big companies to Enterprise with
alice and leaves the rest in Nurture with bob. The plan is saved; then the spec is edited (the rest go to carol) and
the saved plan is applied while the first write's answer is lost. Before the fix, the round after the lost answer
re-planned from the edited spec: 403 leads got carol, whom the reviewed plan never named, and it said "Converged".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from leadsync import sandbox
from leadsync.apply.saved import SavedPlanGuard
from leadsync.cli import main
from leadsync.errors import PlanDiverged
from leadsync.plan import AddLead, AddOp, AssignOp, MoveOp, PlanContext, load_plan
from leadsync.providers import INSTANTLY
from leadsync.state import DesiredState, ResolvedWorkspace

KEY = "saved-plan-key"
ALICE, BOB, CAROL = (
    "7d0c6d2e-0000-4000-8000-00000000a11c",
    "7d0c6d2e-0000-4000-8000-000000000b0b",
    "7d0c6d2e-0000-4000-8000-0000000ca201",
)
ENTERPRISE, NURTURE = "c0000000-0000-4000-8000-000000000001", "11570000-0000-4000-8000-000000000001"
PEOPLE, BIG = 500, 97
LOST_MOVE = "seed=1,job_ms=30,drop=1:when=after:path=*/leads/move:count=1"  # committed, its answer lost
FAILED_MOVE = "seed=1,job_ms=30,5xx=1:when=before:status=503:path=*/leads/move:count=1"  # not done, answer 503


def seed() -> dict[str, Any]:
    leads = [
        {"id": f"1ead0000-0000-4000-8000-{n:012d}", "email": f"p{n}@co{n}.test", "list_id": NURTURE, "assigned_to": BOB}
        for n in range(PEOPLE)
    ]
    members = [
        {"user_id": user, "email": f"{name}@acme.test"}
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"))
    ]
    return {
        "api_keys": [{"key": KEY, "scopes": ["all:all"]}],
        "members": members,
        "campaigns": [{"id": ENTERPRISE, "name": "Enterprise"}],
        "lists": [{"id": NURTURE, "name": "Nurture"}],
        "leads": leads,
    }


def spec(rest_owner: str = "bob", comment: str = "") -> str:
    return f"""version: 1{comment}
workspace: {{provider: instantly, api_key_env: SAVED_PLAN_KEY}}
destinations:
  enterprise: {{campaign: Enterprise}}
  nurture: {{list: Nurture}}
owners:
  alice: {{email: alice@acme.test}}
  bob: {{email: bob@acme.test}}
  carol: {{email: carol@acme.test}}
sources:
  - path: leads.csv
    fields: {{email: Email, company_size: size}}
routes:
  - {{name: big, when: {{company_size: {{gte: 1000}}}}, to: enterprise, owner: alice}}
  - {{name: rest, to: nurture, owner: {rest_owner}}}
policy: {{max_change_ratio: 1.0}}
"""


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make_folder(tmp_path, monkeypatch)


def make_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (spec, leads, key, state) as the current directory: `folder`, for other modules too."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAVED_PLAN_KEY", KEY)
    monkeypatch.setenv("LEADSYNC_STATE_DIR", str(tmp_path / "state"))
    rows = "".join(f"p{n}@co{n}.test,{5000 if n < BIG else 10}\n" for n in range(PEOPLE))
    (tmp_path / "leads.csv").write_text("Email,size\n" + rows)
    (tmp_path / "spec.yaml").write_text(spec())
    return tmp_path


@contextmanager
def vendor(folder: Path, monkeypatch: pytest.MonkeyPatch, faults: str) -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(seed(), faults=faults, rate_limit=False) as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        yield running


def owners(running: sandbox.RunningSandbox) -> Counter[str]:
    names = {ALICE: "alice", BOB: "bob", CAROL: "carol"}
    return Counter(names.get(lead.get("assigned_to"), "?") for lead in running.state()["leads"])


def writes(running: sandbox.RunningSandbox) -> dict[str, int]:
    return {
        k: v
        for k, v in running.stats()["calls"].items()
        if k.startswith(("POST /api/v2/leads/move", "POST /api/v2/leads/bulk-assign"))
    }


@contextmanager
def plan_then(folder: Path, monkeypatch: pytest.MonkeyPatch, faults: str, edited: str | None) -> Iterator[Any]:
    """Plan into plan.json on a fault-free read, write `edited` over the spec, then apply plan.json through
    `faults` (the plan's read is not counted)."""
    with vendor(folder, monkeypatch, faults) as running:
        assert leadsync("plan", "spec.yaml", "--out", "plan.json")[0] == 0
        if edited is not None:
            (folder / "spec.yaml").write_text(edited)
        running.reset_stats()
        code, _, err = leadsync("apply", "plan.json", "--auto-approve")
        yield running, code, err


@pytest.mark.parametrize(
    ("faults", "why"),
    [
        (LOST_MOVE, "carried out in full, but the spec, its sources or the workspace changed since it was made"),
        (FAILED_MOVE, "the remaining work differs from the saved plan"),
    ],
    ids=["answer-lost-after-commit", "503-before"],
)
def test_a_saved_plan_never_sends_what_an_edited_spec_asks_for(
    folder: Path, monkeypatch: pytest.MonkeyPatch, faults: str, why: str
) -> None:
    with plan_then(folder, monkeypatch, faults, spec("carol")) as (running, code, err):
        assert owners(running)["carol"] == 0  # before: 403 leads re-owned to carol, "Converged"
        assert "POST /api/v2/leads/bulk-assign" not in writes(running)
        assert code == 1 and "Converged" not in err
        assert why in err and "run leadsync plan again" in err
        assert "Warning: spec.yaml changed since plan.json was made" in err  # named, sha256 differs


def test_a_saved_plan_with_its_spec_edited_applies_in_full_and_says_the_spec_wants_more(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with plan_then(folder, monkeypatch, "job_ms=30", spec("carol")) as (running, code, err):
        assert owners(running) == Counter(alice=BIG, bob=PEOPLE - BIG)  # the saved plan, all of it, nothing else
        assert writes(running) == {"POST /api/v2/leads/move": 1}
        assert code == 1 and "carried out in full, but the spec, its sources or the workspace changed" in err
        assert "a fresh plan has 403 more changes" in err and "run leadsync plan again" in err


def test_a_saved_change_a_fresh_plan_no_longer_makes_is_not_called_converged(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody_big = spec().replace("{gte: 1000}", "{gte: 1000000}")  # the edit drops the saved moves
    with plan_then(folder, monkeypatch, FAILED_MOVE, nobody_big) as (running, code, err):
        assert owners(running) == Counter(bob=PEOPLE)  # the move failed, and was not sent again
        assert code == 1 and "Converged" not in err
        assert f"{BIG} changes of it did not happen, and a fresh plan of the workspace no longer makes them" in err


def test_a_lost_answer_of_a_saved_plan_is_settled_and_it_converges(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with plan_then(folder, monkeypatch, LOST_MOVE, None) as (running, code, err):
        assert code == 0 and "Converged" in err and "Warning" not in err, err
        assert owners(running) == Counter(alice=BIG, bob=PEOPLE - BIG)
        assert writes(running) == {"POST /api/v2/leads/move": 1}  # seen done by the re-read: not sent again


def test_a_saved_plan_not_done_is_sent_again_by_itself(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with plan_then(folder, monkeypatch, FAILED_MOVE, None) as (running, code, err):
        assert code == 0 and "Converged" in err, err
        assert owners(running) == Counter(alice=BIG, bob=PEOPLE - BIG)
        assert writes(running) == {"POST /api/v2/leads/move": 2}


def test_a_spec_changed_only_in_its_text_is_named_in_a_warning(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with plan_then(folder, monkeypatch, LOST_MOVE, spec(comment="  # reviewed")) as (running, code, err):
        assert code == 0 and "Converged" in err, err
        assert "Warning: spec.yaml changed since plan.json was made" in err
        document = json.loads((folder / "plan.json").read_text())
        assert document["spec"]["sha256"][:12] in err  # which version the plan was made from
        assert owners(running) == Counter(alice=BIG, bob=PEOPLE - BIG)


# -- the guard, on plans built by hand ------------------------------------------------------------------------


def saved_plan(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with vendor(folder, monkeypatch, ""):
        assert leadsync("plan", "spec.yaml", "--out", "plan.json")[0] == 0
    return load_plan(folder / "plan.json")


def test_the_guard_lets_a_re_chunked_subset_through_and_stops_anything_else(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    saved = saved_plan(folder, monkeypatch)
    [move] = saved.operations
    assert isinstance(move, MoveOp) and move.owner == "alice" and len(move.lead_ids) == BIG
    guard = SavedPlanGuard(saved)
    halves = (
        replace(move, lead_ids=move.lead_ids[:10], keys=move.keys[:10]),
        replace(move, lead_ids=move.lead_ids[10:20], keys=move.keys[10:20]),
    )
    assert guard(replace(saved, operations=halves)).operations == halves
    # a moved lead whose owner did not stick: the assign that finishes the saved move is the saved plan's
    finish = AssignOp("alice", "enterprise", move.lead_ids[:1], move.keys[:1])
    assert guard(replace(saved, operations=(finish,))).operations == (finish,)
    with pytest.raises(PlanDiverged, match="differs from the saved plan"):
        guard(replace(saved, operations=(replace(halves[0], owner="bob"),)))  # another owner
    with pytest.raises(PlanDiverged, match="1 change"):
        guard(replace(saved, operations=(AssignOp("carol", "nurture", ("x",), ("p400@co400.test",)),)))
    with pytest.raises(PlanDiverged):
        guard(replace(saved, operations=(AddOp("enterprise", (AddLead("new@x.test", "alice", "big"),)),)))
    assert not guard(replace(saved, operations=())).operations


def test_people_riding_in_an_owner_setting_move_match_a_plain_move_of_them() -> None:
    """The planner folds people who keep owner X into the call that gives others X. When a round regroups them
    (the re-owned person's part happened, theirs did not), their change is the same plain move: no divergence."""
    from leadsync.plan import make_plan
    from leadsync.state import DesiredLead, Policy, RemoteLead

    managed = frozenset({"enterprise", "nurture"})
    remote = [RemoteLead("r1", "a@x.test", "nurture", "bob"), RemoteLead("r2", "b@x.test", "nurture", "alice")]
    desired = [DesiredLead("a@x.test", "enterprise", "alice", "r"), DesiredLead("b@x.test", "enterprise", None, "r")]
    saved = make_plan(DesiredState(desired), ResolvedWorkspace(remote, managed), Policy(), PlanContext(INSTANTLY))
    [move] = saved.operations
    assert isinstance(move, MoveOp) and move.owner == "alice" and move.keys == ("a@x.test", "b@x.test")
    after = [RemoteLead("r1", "a@x.test", "enterprise", "alice"), remote[1]]  # a's part happened, b's did not
    residual = make_plan(DesiredState(desired), ResolvedWorkspace(after, managed), Policy(), PlanContext(INSTANTLY))
    assert [(op.owner, op.keys) for op in residual.operations if isinstance(op, MoveOp)] == [(None, ("b@x.test",))]
    assert SavedPlanGuard(saved)(residual).operations == residual.operations
