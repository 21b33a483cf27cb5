"""Unconverged is unconverged (issue 11): a move job still pending past its wait, or a bulk-assign accepted and
never seen to take effect, ends the apply with exit 1 and says what is open; neither is sent again in the same
apply; the next apply settles it. The job wait is `apply --job-timeout SECONDS`.

Before the fix, a job that stayed pending was sent again every round (10 moves of the same 97 leads, 10 jobs
left running), a stalled job among others was doubled and the apply said "Converged", and an assign that never
showed was sent again every round (10 bulk-assigns of the same 403 leads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_apply_saved_plan import BIG, PEOPLE, leadsync, make_folder, owners, seed, spec

from leadsync import sandbox
from leadsync.spec import load_spec
from leadsync.workflow import apply_session, open_provider, workspace_identity, workspace_tag

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make_folder(tmp_path, monkeypatch)


@contextmanager
def vendor(monkeypatch: pytest.MonkeyPatch, faults: str, data: object = None) -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(seed() if data is None else data, faults=faults, rate_limit=False) as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        yield running


def sent(running: sandbox.RunningSandbox, what: str) -> int:
    return int(running.stats()["calls"].get(f"POST /api/v2/leads/{what}", 0))


def journal_end(folder: Path) -> dict[str, object]:
    loaded = load_spec(folder / "spec.yaml")
    with open_provider(loaded) as provider:
        tag = workspace_tag(loaded, workspace_identity(loaded, provider))
    path = folder / "state" / f"{tag}.journal.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert events[-1]["event"] == "end"
    return events[-1]


def test_a_move_job_pending_past_its_wait_ends_unconverged_and_is_not_sent_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with vendor(monkeypatch, "job_stall=1") as running:
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve", "--job-timeout", "0.3")
        assert code == 1 and "Converged" not in err
        assert sent(running, "move") == 1  # before: 10, one a round
        assert "still pending after 0.3 s; the next apply waits for it" in err, err
        assert "(nurture -> enterprise, 97 leads)" in err
        end = journal_end(folder)
        assert end["converged"] is False and len(end["open_jobs"]) == 1  # type: ignore[arg-type]
        job = next(iter(end["open_jobs"]))  # type: ignore[call-overload]
        assert f"move job {job} (nurture -> enterprise, 97 leads)" in err


def test_a_saved_plan_left_with_a_job_pending_says_what_to_run_next(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: "the next apply waits for it", yet applying the same PLANFILE again is refused as stale once the
    job has moved anyone: the message says so, and what to run then."""
    with vendor(monkeypatch, "job_stall=1") as running:
        assert leadsync("plan", "spec.yaml", "--out", "plan.json")[0] == 0
        code, _, err = leadsync("apply", "plan.json", "--auto-approve", "--job-timeout", "0.3")
        assert code == 1 and sent(running, "move") == 1
        assert (
            "applying plan.json again waits for it first, and is refused as stale once that work has changed "
            "the workspace: then run leadsync plan again"
        ) in err, err
        # the job never ends here, so nothing changed: the plan is not stale, its job is waited for, then re-sent
        code, _, err = leadsync("apply", "plan.json", "--auto-approve", "--job-timeout", "0.3")
        assert code == 1 and "left background jobs running: they were waited for" in err and "still pending" in err


def test_the_next_apply_waits_for_the_pending_job_and_settles_it(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with vendor(monkeypatch, "job_ms=600000,job_polls=4") as running:  # done at its 4th poll
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve", "--job-timeout", "0.25")
        assert code == 1 and "still pending after 0.25 s" in err
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve")
        assert code == 0 and "left background jobs running: they were waited for" in err, err
        assert sent(running, "move") == 1
        assert owners(running)["alice"] == BIG


def test_a_stalled_job_does_not_hold_back_the_rest_and_is_not_doubled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADSYNC_STATE_DIR", str(tmp_path / "state"))
    text = (
        (tmp_path / "quickstart.yaml")
        .read_text()
        .replace(
            "  provider: sandbox\n  seed: quickstart.remote.json\n",
            "  provider: instantly\n  api_key_env: QUICKSTART_KEY\n",
        )
    )
    (tmp_path / "quickstart.yaml").write_text(text)
    with sandbox.start(
        EXAMPLES / "quickstart.remote.json", faults="job_ms=30,job_stall=1:count=1", rate_limit=False
    ) as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        monkeypatch.setenv("QUICKSTART_KEY", running.api_key or "")
        assert leadsync("plan", "quickstart.yaml", "--out", "plan.json")[0] == 0
        moves = json.loads((tmp_path / "plan.json").read_text())["calls"]["by_endpoint"]["POST /api/v2/leads/move"]
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve", "--job-timeout", "0.3")
        assert code == 1 and "Converged" not in err  # before: the stalled job's move sent again, "Converged"
        assert sent(running, "move") == moves and sent(running, "add") == 3 and sent(running, "bulk-assign") == 1
        assert err.count("still pending after 0.3 s") == 1, err
        code, out, _ = leadsync("plan", "quickstart.yaml")
        assert "Plan: 0 to add" in out and "0 to reassign" in out  # only the stalled job's leads are left


def test_an_assign_accepted_but_never_applied_ends_unconverged_and_is_sent_once(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "spec.yaml").write_text(spec("carol"))
    with vendor(monkeypatch, "job_ms=30,assign_lost=1:count=1") as running:
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve", "--job-timeout", "0.3")
        assert code == 1 and "Converged" not in err
        assert sent(running, "bulk-assign") == 1  # before: 10, one a round
        assert f"bulk-assign of {PEOPLE - BIG} leads to carol accepted but not visible after " in err, err
        assert "re-reads" in err
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve")  # the next apply: this one takes
        assert code == 0 and "Converged" in err, err
        assert sent(running, "bulk-assign") == 2 and owners(running)["carol"] == PEOPLE - BIG


def test_the_job_wait_is_an_option_whose_default_stays_300_s(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = leadsync("apply", "--help")
    assert code == 0 and "--job-timeout" in out and "300" in out
    with vendor(monkeypatch, ""), apply_session(load_spec(folder / "spec.yaml")) as session:
        assert session.provider.job_timeout == 300.0  # type: ignore[attr-defined]
    for bad in ("0", "-1", "abc", "nan", "inf", "1e400", "86401"):  # nan and inf once passed: a wait without end
        code, _, err = leadsync("apply", "spec.yaml", "--auto-approve", "--job-timeout", bad)
        assert code == 1 and "job-timeout" in err, bad


def test_withholding_people_keeps_each_operation_s_records_aligned(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from test_apply_saved_plan import saved_plan

    from leadsync.apply.inflight import withhold
    from leadsync.plan import AddLead, AddOp, AssignOp

    plan = saved_plan(folder, monkeypatch)
    [move] = plan.operations
    assign = AssignOp("carol", "nurture", ("a", "b", "c"), ("a@x.test", "b@x.test", "c@x.test"), ("bob", None, "bob"))
    add = AddOp("nurture", (AddLead("d@x.test", "bob", "rest"),))
    both = replace(plan, operations=(move, add, assign))
    kept = withhold(both, {"b@x.test", "d@x.test", *move.keys[1:]})
    assert [op.op for op in kept.operations] == ["move", "assign"]
    assert kept.operations[0].lead_ids == move.lead_ids[:1] and kept.operations[0].keys == move.keys[:1]
    assert kept.operations[1] == AssignOp("carol", "nurture", ("a", "c"), ("a@x.test", "c@x.test"), ("bob", "bob"))
    assert kept.operations[1].previous_owners == ("bob", "bob")
    assert withhold(both, set()) is both


def test_a_journal_an_earlier_leadsync_left_unfinished_is_taken_over(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before issue #12 a vendor workspace's journal was named after its settings' spellings; a run of that
    version killed mid-apply must still be settled by the first apply after the upgrade."""
    import hashlib
    import os

    with vendor(monkeypatch, ""):
        loaded = load_spec(folder / "spec.yaml")
        ws = loaded.spec.workspace
        spelt = "|".join(
            [
                ws.provider,
                os.environ.get("LEADSYNC_INSTANTLY_BASE_URL", ""),
                ws.api_key_env or "",
                ws.account_group or "",
            ]
        )
        legacy = folder / "state" / f"instantly-{hashlib.sha256(spelt.encode()).hexdigest()[:12]}.journal.jsonl"
        legacy.parent.mkdir(parents=True, exist_ok=True)
        legacy.write_text(json.dumps({"event": "run", "run": "old", "at": 1.0}) + "\n")  # killed: no end
        with apply_session(loaded) as session:
            assert session.resumed is not None and session.resumed.run == "old"
        assert not legacy.exists()
