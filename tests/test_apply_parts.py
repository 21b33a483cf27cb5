"""The parts of apply, one promise each: retries and the retry budget, writes never re-sent blindly, job and
bulk-assign waits, the journal, the lock, resuming, and rounds. Against the sandbox over HTTP, or an httpx
MockTransport where the vendor must be made to answer something exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadsync import sandbox
from leadsync.apply import Applier, ApplyReport, Journal, Unfinished, WorkspaceLock
from leadsync.errors import AmbiguousWrite, JobStalled, UnavailableError, WorkspaceBusy
from leadsync.providers._http import RateLimiter, RetryPolicy
from leadsync.providers.base import NewLead
from leadsync.providers.instantly import InstantlyProvider
from leadsync.spec import load_spec
from leadsync.workflow import ApplySession

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
SEED = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
ENTERPRISE = "c0000000-0000-4000-8000-000000000001"
WEBINAR = "c0000000-0000-4000-8000-000000000003"
NURTURE = "11570000-0000-4000-8000-000000000001"
ALICE = "7d0c6d2e-0000-4000-8000-00000000a11c"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path / "quickstart.yaml"


def connect(running: sandbox.RunningSandbox, sleeps: list[float] | None = None) -> InstantlyProvider:
    provider = InstantlyProvider.connect(running.url, running.api_key or "", "$KEY")
    provider.poll, provider.job_timeout = (0.01, 0.05), 5.0
    provider.client.retry = RetryPolicy(base=0.001, cap=0.01)
    provider.client.limiter = RateLimiter(5000, 300_000)
    if sleeps is not None:
        provider.client.sleep = sleeps.append
    return provider


def session(spec: Path, provider: InstantlyProvider) -> ApplySession:
    applying = ApplySession(load_spec(spec), provider, spec.parent / ".leadsync")
    applying.applier.round_pause = (0.05, 0.1)
    return applying


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[InstantlyProvider, list[float]]:
    sleeps: list[float] = []
    provider = InstantlyProvider.connect(
        "https://api.instantly.test", "k", "$K", transport=httpx.MockTransport(handler)
    )
    provider.client.sleep = sleeps.append
    provider.client.limiter = RateLimiter(100_000, 6_000_000)
    return provider, sleeps


def lead_records(running: sandbox.RunningSandbox, email: str) -> list[dict[str, Any]]:
    return [lead for lead in running.state()["leads"] if lead.get("email") == email]


# -- claim: add (a bug: every skip_if_* flag skipped the very people it adds) -------------------------------------


def test_claim_add_of_a_person_found_in_an_outside_campaign_converges(quickstart: Path) -> None:
    (quickstart.parent / "quickstart.leads.csv").open("a").write("old.contact@legacy.test,Old,Contact,Legacy,5000,US\n")
    quickstart.write_text(quickstart.read_text().replace("claim: skip", "claim: add"))
    with sandbox.start(quickstart.parent / "quickstart.remote.json", rate_limit=False) as running:
        provider = connect(running)
        applying = session(quickstart, provider)
        assert any("old.contact@legacy.test" in op.keys for op in applying.plan.operations if op.op == "add")
        report = applying.apply()
        assert report.converged and report.rounds == 1
        places = sorted(lead["campaign"] for lead in lead_records(running, "old.contact@legacy.test"))
        assert places == [ENTERPRISE, WEBINAR]  # added where the spec says; the outside record left alone


def test_adds_ask_the_vendor_to_skip_known_people_unless_the_plan_adds_them_on_purpose() -> None:
    provider, _ = mock(lambda request: httpx.Response(500))
    new = provider.add_request(target=f"campaign:{ENTERPRISE}", leads=[NewLead("a@b.test", None)])
    assert new.body["skip_if_in_workspace"] is True
    assert not {"skip_if_in_campaign", "skip_if_in_list"} & set(new.body)
    claimed = provider.add_request(
        target=f"list:{NURTURE}", leads=[NewLead("a@b.test", None), NewLead("c@d.test", ALICE, elsewhere=True)]
    )
    assert not {"skip_if_in_workspace", "skip_if_in_campaign", "skip_if_in_list"} & set(claimed.body)


# -- retries ---------------------------------------------------------------------------------------------------


def test_retry_after_is_honoured_in_seconds_and_as_a_date_for_reads_and_writes() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"retry-after": "7"}),
            httpx.Response(200, json={"items": []}),
            httpx.Response(
                429, headers={"retry-after": format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)}
            ),
            httpx.Response(200, json={"status": "success"}),
            httpx.Response(429),
            httpx.Response(200, json={"items": []}),
        ]
    )
    provider, sleeps = mock(lambda request: next(answers))
    provider.client.read("GET", "/api/v2/campaigns", endpoint="GET /api/v2/campaigns")
    provider.client.write("POST", "/api/v2/leads/add", endpoint="POST /api/v2/leads/add", json={})
    provider.client.read("GET", "/api/v2/campaigns", endpoint="GET /api/v2/campaigns")
    assert sleeps[0] == 7 and 28 <= sleeps[1] <= 30
    assert 0.25 <= sleeps[2] <= 0.5  # no Retry-After: jittered backoff, between half and all of base * 2^0
    assert provider.stats.retries == 3


@pytest.mark.parametrize(
    ("failure", "resent"),
    [
        (lambda: httpx.Response(502, text="<html>bad gateway</html>"), False),
        (lambda: httpx.Response(500, json={"message": "boom"}), False),
        ("read", False),  # the connection dropped after the request went out
        ("connect", True),  # it never reached the vendor
        (lambda: httpx.Response(429, json={"message": "slow down"}), True),  # refused before any work
    ],
)
def test_a_write_is_resent_only_when_it_cannot_have_happened(failure: Any, resent: bool) -> None:
    calls: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            if failure == "read":
                raise httpx.ReadError("connection reset", request=request)
            if failure == "connect":
                raise httpx.ConnectError("refused", request=request)
            return failure()  # type: ignore[no-any-return]
        return httpx.Response(200, json={"id": "6b0000000000000000000001"})

    provider, _ = mock(vendor)
    request = provider.move_request(
        ids=["x"], keys=["a@b.test"], source=f"campaign:{ENTERPRISE}", target=f"list:{NURTURE}", owner_id=None
    )
    if resent:
        assert provider.send(request).job_id == "6b0000000000000000000001"
        assert len(calls) == 2
    else:
        with pytest.raises(AmbiguousWrite, match="POST /api/v2/leads/move"):
            provider.send(request)
        assert len(calls) == 1


def test_the_retry_budget_grows_with_the_calls_made() -> None:
    count = [0]

    def vendor(request: httpx.Request) -> httpx.Response:
        count[0] += 1
        return httpx.Response(503) if count[0] % 8 == 0 else httpx.Response(200, json={"items": []})

    provider, _ = mock(vendor)
    provider.client.retry = RetryPolicy(budget=10, budget_ratio=0.2)
    for _ in range(2000):  # 250 retries: far over 10, within 10 + 20% of the calls
        provider.client.read("GET", "/api/v2/campaigns", endpoint="GET /api/v2/campaigns")
    assert provider.stats.retries > 200
    provider.client.retry = RetryPolicy(budget=10, budget_ratio=0.0)
    with pytest.raises(UnavailableError, match="still failing"):
        for _ in range(2000):
            provider.client.read("GET", "/api/v2/campaigns", endpoint="GET /api/v2/campaigns")


# -- waiting ---------------------------------------------------------------------------------------------------


def test_job_polls_ride_out_errors_and_a_stalled_job_times_out() -> None:
    faults = "job_stall=1:count=1,5xx=0.3:on=reads:path=*/background-jobs/*,429=0.3:path=*/background-jobs/*"
    with sandbox.start(SEED, faults=faults, rate_limit=False) as running:
        provider = connect(running)
        provider.job_timeout = 0.3
        ids = [lead["id"] for lead in SEED["leads"] if lead.get("campaign") == ENTERPRISE][:2]
        stalled = provider.send(
            provider.move_request(
                ids=ids[:1], keys=["a"], source=f"campaign:{ENTERPRISE}", target=f"list:{NURTURE}", owner_id=None
            )
        )
        started = time.monotonic()
        with pytest.raises(JobStalled, match=r"still pending after 0\.3 s"):
            provider.wait(stalled)
        assert time.monotonic() - started < 1.0
        done = provider.send(
            provider.move_request(
                ids=ids[1:], keys=["b"], source=f"campaign:{ENTERPRISE}", target=f"list:{NURTURE}", owner_id=None
            )
        )
        provider.job_timeout = 10.0
        provider.wait(done)  # through the 5xx and 429 on the polls
        assert provider.stats.retries > 0
        assert [lead.get("list_id") for lead in running.state()["leads"] if lead["id"] == ids[1]] == [NURTURE]


def test_a_bulk_assign_is_read_back_one_probe_page_a_poll() -> None:
    leads = [
        {"id": f"1ead0000-0000-4000-8000-{i:012x}", "email": f"p{i}@x.test", "campaign": ENTERPRISE} for i in range(250)
    ]
    with sandbox.start({**SEED, "leads": leads}, faults="assign_ms=300", rate_limit=False) as running:
        provider = connect(running)
        pauses: list[float] = []
        provider.sleep = lambda seconds: (pauses.append(seconds), time.sleep(seconds))  # type: ignore[func-returns-value]
        result = provider.send(
            provider.assign_request(
                ids=[lead["id"] for lead in leads],
                keys=["k"] * 250,
                destination=f"campaign:{ENTERPRISE}",
                owner_id=ALICE,
            )
        )
        running.reset_stats()
        provider.wait(result)
        reads = running.stats()["calls"]["POST /api/v2/leads/list"]
        assert {lead.get("assigned_to") for lead in running.state()["leads"]} == {ALICE}
        # a probe page a poll while it is pending; once the probe is done, the two other pages, once
        assert len(pauses) >= 3 and reads == len(pauses) + 2


def test_settling_a_killed_runs_jobs_waits_for_them_together(tmp_path: Path) -> None:
    with sandbox.start(SEED, faults="job_stall=1", rate_limit=False) as running:
        provider = connect(running)
        provider.job_timeout = 0.4
        ids = [lead["id"] for lead in SEED["leads"] if lead.get("campaign") == ENTERPRISE][:4]
        jobs = [
            provider.send(
                provider.move_request(
                    ids=[i], keys=["k"], source=f"campaign:{ENTERPRISE}", target=f"list:{NURTURE}", owner_id=None
                )
            ).job_id
            for i in ids
        ]
        applier = Applier(provider, Journal(tmp_path / "j.jsonl"))
        started = time.monotonic()
        applier.settle(Unfinished("run", 0.0, 4, 0, [str(job) for job in jobs]))
        assert time.monotonic() - started < 1.2  # one job_timeout, not four


# -- rounds ----------------------------------------------------------------------------------------------------


def test_an_open_outcome_does_not_hold_back_the_rest_of_the_round(quickstart: Path) -> None:
    faults = "seed=1,job_ms=30,drop=1:when=after:path=*/leads/move:count=1"
    with sandbox.start(quickstart.parent / "quickstart.remote.json", faults=faults, rate_limit=False) as running:
        applying = session(quickstart, connect(running))
        report = applying.apply()
        calls = running.stats()["calls"]
    assert report.converged and report.open_outcomes == 1
    assert calls["POST /api/v2/leads/add"] == 3 and calls["POST /api/v2/leads/bulk-assign"] == 1  # in round 1
    # the lost move had in fact happened: the re-read after the round saw it, so nothing was sent again
    assert report.rounds == 1 and calls["POST /api/v2/leads/move"] == 8


def test_an_apply_that_cannot_converge_stops_after_its_rounds_and_says_what_remains(quickstart: Path) -> None:
    with sandbox.start(quickstart.parent / "quickstart.remote.json", faults="job_fail=1", rate_limit=False) as running:
        applying = session(quickstart, connect(running))
        applying.applier.max_rounds = 3
        report = applying.apply()
    assert not report.converged and report.rounds == 3
    assert report.residual is not None and {op.op for op in report.residual.operations} == {"move"}
    assert applying.journal.unfinished() is None  # it ended, unconverged: nothing to resume


def test_an_apply_stopped_by_an_error_is_left_open_for_the_next_to_resume(quickstart: Path) -> None:
    with sandbox.start(quickstart.parent / "quickstart.remote.json", rate_limit=False) as running:
        applying = session(quickstart, connect(running))

        def vendor_gone() -> Any:
            raise UnavailableError("instantly: POST /api/v2/leads/list: HTTP 503, still failing after 6 attempts")

        with pytest.raises(UnavailableError):
            applying.applier.run(applying.plan, applying.workspace, vendor_gone, ApplyReport())
        stopped = applying.journal.unfinished()
        assert stopped is not None and stopped.sent == 12 and stopped.in_doubt == 0
        resumed = session(quickstart, connect(running))
        assert resumed.resumed is not None and resumed.resumed.run == stopped.run
        assert not resumed.plan.has_changes  # every write had gone through before the verification failed


# -- the journal ----------------------------------------------------------------------------------------------


def test_a_journal_line_cut_short_by_a_crash_does_not_swallow_the_next_run(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.start(plan="p")
    seq = journal.send("POST /api/v2/leads/move", "move 1 lead")
    journal.sent(seq, "6b0000000000000000000001")
    journal.close()
    with journal.path.open("a") as handle:
        handle.write('{"event": "sent", "run": "')  # killed mid-line
    crashed = Journal(journal.path).unfinished()
    assert crashed is not None and crashed.jobs == ["6b0000000000000000000001"]

    again = Journal(journal.path)
    again.start(plan="q")
    again.end(converged=True)
    assert Journal(journal.path).unfinished() is None
    lines = journal.path.read_text().splitlines()
    assert sum(1 for line in lines if line.startswith("{") and line.endswith("}")) == len(lines) - 1


def test_journal_lines_stay_whole_when_many_threads_write(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.start()

    def writer() -> None:
        for _ in range(100):
            journal.sent(journal.send("POST /x", "y" * 50), None)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.end()
    events = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert len(events) == 2 + 8 * 100 * 2
    assert len({e["seq"] for e in events if e["event"] == "send"}) == 800
    assert Journal(journal.path).unfinished() is None


def test_a_resumed_apply_waits_for_the_jobs_the_killed_one_started(quickstart: Path) -> None:
    with sandbox.start(quickstart.parent / "quickstart.remote.json", faults="job_ms=400", rate_limit=False) as running:
        provider = connect(running)
        applying = session(quickstart, provider)
        move = next(r for r in applying.requests() if r.endpoint == "POST /api/v2/leads/move")
        applying.journal.start(plan="killed")
        seq = applying.journal.send(move.endpoint, move.summary)
        applying.journal.sent(seq, provider.send(move).job_id)
        applying.journal.close()  # ... and then the process was killed: no `done`, no `end`

        resumed = session(quickstart, provider)
        assert resumed.resumed is not None and resumed.resumed.run == applying.journal.run
        assert len(resumed.plan.operations) == len(applying.plan.operations) - 1  # the job was waited for first
        assert resumed.apply().converged


# -- the lock --------------------------------------------------------------------------------------------------


def test_the_lock_names_its_holder_and_is_freed_when_the_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / ".leadsync" / "w.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from leadsync.apply import WorkspaceLock\n"
                f"with WorkspaceLock(Path({str(path)!r})):\n    print('held', flush=True); time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = rf"another apply is running on this workspace \(pid {holder.pid};"
        with pytest.raises(WorkspaceBusy, match=busy), WorkspaceLock(path):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with WorkspaceLock(path):
        assert path.read_text() == str(os.getpid())


# -- stalled jobs outlive the run that started them (issue #5) ----------------------------------------------------


def test_an_ended_run_lists_the_jobs_that_may_still_run_and_forgets_them_after_the_horizon(tmp_path: Path) -> None:
    now = [1000.0]
    journal = Journal(tmp_path / "j.jsonl", clock=lambda: now[0], job_horizon=60.0)
    journal.start(plan="p")
    for job in ("6b0000000000000000000001", "6b0000000000000000000002"):
        journal.sent(journal.send("POST /api/v2/leads/move", "move 1 lead"), job)
    journal.end(converged=True, open_jobs={"6b0000000000000000000002": 1000.0})
    left = Journal(journal.path, clock=lambda: now[0], job_horizon=60.0).unfinished()
    assert left is not None and left.ended and left.run == journal.run
    assert left.jobs == ["6b0000000000000000000002"] and left.in_doubt == 0  # the one that stalled, not the other
    now[0] += 61
    assert Journal(journal.path, clock=lambda: now[0], job_horizon=60.0).unfinished() is None  # taken for dead


def test_journals_written_before_open_jobs_existed_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    old = [
        {"event": "run", "run": "r1", "at": 1.0, "plan": "p"},
        {"event": "send", "run": "r1", "at": 1.1, "seq": 1, "endpoint": "POST /x", "summary": "s"},
        {"event": "sent", "run": "r1", "at": 1.2, "seq": 1, "job": "6b0000000000000000000001"},
        {"event": "open", "run": "r1", "at": 1.3, "seq": 1, "why": "JobStalled"},
        {"event": "end", "run": "r1", "at": 1.4, "converged": False, "rounds": 1, "writes": 1},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in old))
    assert Journal(path, clock=lambda: 2.0).unfinished() is None  # an ended run of the old code: nothing open
    path.write_text("".join(json.dumps(e) + "\n" for e in old[:-1]))
    killed = Journal(path, clock=lambda: 2.0).unfinished()
    assert killed is not None and not killed.ended and killed.jobs == ["6b0000000000000000000001"]


def move_jobs(running: sandbox.RunningSandbox) -> int:
    return running.stats()["calls"].get("POST /api/v2/leads/move", 0)


def test_jobs_that_stalled_in_a_run_that_ended_are_waited_for_by_the_next_apply(quickstart: Path) -> None:
    # every move job is done at its 6th poll: the first apply gives up on each after 3 and ends unconverged
    faults = "job_ms=600000,job_polls=6,assign_ms=10"
    with sandbox.start(quickstart.parent / "quickstart.remote.json", faults=faults, rate_limit=False) as running:
        provider = connect(running)
        provider.job_timeout = 0.1
        first = session(quickstart, provider)
        first.applier.max_rounds = 1
        moves = sum(1 for op in first.plan.operations if op.op == "move")
        report = first.apply()
        assert not report.converged and move_jobs(running) == moves
        stalled = [
            e
            for e in map(json.loads, first.journal.path.read_text().splitlines())
            if e.get("job") and e["event"] == "open"
        ]
        assert len(stalled) == moves and {e["why"] for e in stalled} == {"JobStalled"}

        provider.job_timeout = 5.0
        second = session(quickstart, provider)  # settles the jobs left running before it reads the workspace
        assert second.resumed is not None and second.resumed.ended and second.resumed.run == first.journal.run
        assert sorted(second.resumed.jobs) == sorted(e["job"] for e in stalled)
        assert not [op for op in second.plan.operations if op.op == "move"]  # the jobs were waited for: done
        assert second.apply().converged
        assert move_jobs(running) == moves  # no move was sent twice
    assert Journal(second.journal.path).unfinished() is None  # every job was seen to end: nothing carried on


def test_jobs_still_stalled_are_carried_to_the_apply_after_the_next(quickstart: Path) -> None:
    faults = "job_ms=600000,job_polls=9,assign_ms=10"
    with sandbox.start(quickstart.parent / "quickstart.remote.json", faults=faults, rate_limit=False) as running:
        provider = connect(running)
        provider.job_timeout = 0.1
        first = session(quickstart, provider)
        first.applier.max_rounds = 1
        first.apply()
        jobs = sorted(Journal(first.journal.path).unfinished().jobs)  # type: ignore[union-attr]
        second = session(quickstart, provider)  # 3 more polls each: still pending
        second.applier.max_rounds = 1
        second.apply()  # sends the moves again, whose own jobs stall too
        carried = Journal(second.journal.path).unfinished()
        assert carried is not None and carried.ended and set(jobs) < set(carried.jobs)
        events = [json.loads(line) for line in second.journal.path.read_text().splitlines()]
        assert sorted(next(e for e in events if e["event"] == "carried")["jobs"]) == jobs


def test_the_state_folder_must_be_private_and_the_lock_is_never_a_link(tmp_path: Path) -> None:
    from leadsync.apply.lock import private_dir
    from leadsync.errors import LeadsyncError

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # another user could plant links here
    with pytest.raises(LeadsyncError, match="nobody else can write to"):
        private_dir(shared)
    assert private_dir(tmp_path / "mine").stat().st_mode & 0o777 == 0o700
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "mine" / "w.lock").symlink_to(victim)
    with pytest.raises(LeadsyncError, match="cannot open the lock"), WorkspaceLock(tmp_path / "mine" / "w.lock"):
        pass
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("serial", [False, True])
def test_a_refused_write_stops_the_phase_threaded_or_one_at_a_time(quickstart: Path, serial: bool) -> None:
    """A write the vendor keeps refusing past the retries ends the apply; what is still queued is not sent, with
    a pool of senders and with `workers=0` (each write in the caller's thread), which must not send the rest of
    the phase after the refusal."""
    with sandbox.start(
        quickstart.parent / "quickstart.remote.json", rate_limit=False, faults="429=1:on=writes"
    ) as running:
        provider = connect(running)
        provider.client.retry = RetryPolicy(attempts=2, base=0.001, cap=0.001)
        options = {"workers": 0, "waiters": 0} if serial else {"workers": 1}
        applying = ApplySession(
            load_spec(quickstart), provider, quickstart.parent / ".leadsync", applier_options=options
        )
        moves = sum(op.op == "move" for op in applying.plan.operations)
        with pytest.raises(UnavailableError, match="HTTP 429, still failing after 2 attempts"):
            applying.apply()
        sent = running.stats()["calls"].get("POST /api/v2/leads/move", 0)
    assert moves > 2
    # one move's two attempts; the one sender thread may have started the next move before the refusal was seen
    assert sent == 2 if serial else 2 <= sent <= 4, sent
