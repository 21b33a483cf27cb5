"""Carries out a plan: one request per operation, in the plan's order, journalled; never a blind re-send.

A write whose outcome is unknown (its answer lost, a 5xx, or any `OutcomeOpen` a provider raises: a job that
failed or stalled, a destination still busy past the provider's wait, people moved by someone else meanwhile) is
left open: the rest of the round still goes out (the operations of one plan concern different people, so none
depends on another), then the workspace is read again and re-planned, and only what did not happen is sent.
Because the planner is convergent, "re-read and re-plan" is also how a crashed apply is resumed and how the last
write is verified. Any other ProviderError is a refusal a re-read cannot change: the apply stops with it.

A place the latest read could not see into (DESTINATION_NOT_READY: being populated; a managed destination, or an
audience outside them where people the spec routes may be) hides whether the workspace matches the spec there,
so the apply does not count as converged while it lasts: it pauses and re-reads, round after round, up to
`max_rounds`.

Background jobs that stalled may still be running when the apply ends: the journal's end lists them, and the
next apply waits for them (`settle`) before it reads the workspace. Within one apply, a write the vendor took
whose effect did not show (a move job pending past the wait, a bulk-assign accepted and not visible) is never
sent again (`leadsync.apply.inflight`): the apply ends not converged, saying what is open.

A saved plan's apply passes a `guard` (`leadsync.apply.saved`): each round's residual must be the saved plan's
own work, or the apply stops (`PlanDiverged`) with nothing beyond it sent.

Sending and waiting are apart: a phase's requests go out as fast as the client's limiter allows, and the
background jobs they start are waited for on other threads, while the next phase is already being sent (with
`workers=0, waiters=0` everything happens in order in the caller's thread: each wait inside the `write` phase).

Each round is told to a `leadsync.progress.Progress` as the phase `write` (sized by its operations: writes sent,
and the leads moved, added, assigned and removed as each write's effect is done) and then `wait` (the jobs and
bulk-assigns still being waited for once the last write went out). Waiters report on their own threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, assert_never

from leadsync.apply.inflight import InFlight, withhold
from leadsync.apply.journal import Journal, Unfinished
from leadsync.errors import (
    AmbiguousWrite,
    ApplyError,
    AssignNotVisible,
    LeadsyncError,
    OutcomeOpen,
    PlanDiverged,
    UnavailableError,
)
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, Plan, RemoveOp, plan_digest
from leadsync.progress import SILENT, Progress, phase
from leadsync.providers.base import NewLead, Provider, WriteRequest, WriteResult
from leadsync.state import ConflictReason, ResolvedWorkspace

#: what the progress counts of an operation's people once its write's effect is done
DONE = {"move": "moved", "add": "added", "assign": "assigned", "remove": "removed"}
#: a fresh read and plan of the workspace
Replan = Callable[[], tuple[Plan, ResolvedWorkspace]]
#: what leaves a write's outcome open: the re-read that follows settles it
OUTCOME_OPEN = (AmbiguousWrite, OutcomeOpen)
#: ... and, while waiting for a job, a vendor that stops answering the polls
WAIT_OPEN = (OutcomeOpen, UnavailableError)


#: a saved plan's check of each round's fresh residual (given the read it was planned from, and whether part of
#: it was unreadable): what may be sent, or PlanDiverged
Guard = Callable[[Plan, ResolvedWorkspace, bool], Plan]


def not_ready(workspace: ResolvedWorkspace) -> frozenset[str]:
    """What the read could not see into because it is busy (being populated): spec destinations by name, and
    places outside them (where people the spec routes may be) by reference."""
    named = {c.subject for c in workspace.conflicts if c.reason is ConflictReason.DESTINATION_NOT_READY and c.subject}
    return frozenset(named) | workspace.unseen


def known_people(workspace: ResolvedWorkspace) -> frozenset[str]:
    """Every person with a record anywhere the read saw: in managed destinations, and outside them (the read
    looks up every person the spec routes)."""
    return frozenset(record.key for record in workspace.remote if record.key is not None)


def requests_for(
    provider: Provider, op: Operation, workspace: ResolvedWorkspace, known: frozenset[str] | None = None
) -> WriteRequest:
    """The one request that carries out `op`, with the plan's names resolved to the vendor's ids. `known`:
    `known_people(workspace)`, when the caller builds many requests (an add needs it)."""

    def place(name: str) -> str:
        ref = workspace.destination_refs.get(name)
        if ref is not None:
            return ref
        if ":" in name:  # an outside place, `claim: move`
            return name
        raise ApplyError(f"destination '{name}' no longer resolves in the workspace; plan again")

    def user(owner: str | None) -> str | None:
        if owner is None:
            return None
        found = workspace.owner_ids.get(owner)
        if found is None:
            raise ApplyError(f"owner '{owner}' is no longer a member of the workspace; plan again")
        return found

    match op:
        case MoveOp():
            return provider.move_request(
                ids=op.lead_ids, keys=op.keys, source=place(op.source), target=place(op.target), owner_id=user(op.owner)
            )
        case AddOp():
            known = known_people(workspace) if known is None else known
            leads = [NewLead(lead.key, user(lead.owner), lead.fields, elsewhere=lead.key in known) for lead in op.leads]
            return provider.add_request(target=place(op.destination), leads=leads)
        case AssignOp():
            owner_id = user(op.owner)
            assert owner_id is not None
            return provider.assign_request(
                ids=op.lead_ids, keys=op.keys, destination=place(op.destination), owner_id=owner_id
            )
        case RemoveOp():
            return provider.remove_request(ids=op.lead_ids, keys=op.keys, destination=place(op.destination))
        case _:
            assert_never(op)


@dataclass
class ApplyReport:
    """How an apply went: the writes it sent, the rounds it took, and whether the workspace converged."""

    writes: int = 0
    rounds: int = 0
    open_outcomes: int = 0  # writes whose outcome had to be settled by a re-read
    converged: bool = False
    residual: Plan | None = None
    final: Plan | None = None  # the fresh plan the apply ended on (converged or not): what it leaves as it is
    resumed: Unfinished | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    busy: frozenset[str] = frozenset()  # what the last read could not see into (being populated)
    open_items: list[str] = field(default_factory=list)  # accepted writes whose effect never showed (in flight)
    others_open: bool = False  # ... and the residual has changes for other people too
    diverged: str | None = None  # why a saved plan's apply stopped: the remaining work is not the saved plan's


class Applier:
    """Runs rounds of writes until a fresh plan is empty, or `max_rounds` rounds have been sent.

    `workers` requests are sent at once (the provider's limiter keeps the vendor's rate); up to `waiters` jobs
    are waited for at once (waiting is mostly sleeping between polls). 0 for either means the caller's thread;
    0 for both, one request at a time: each write sent and its job waited for before the next, in the plan's
    order (a reproducible apply, which the seeded fault campaign relies on). After a round that left outcomes
    open, it pauses `round_pause[0]` seconds (doubling each round, at most `round_pause[1]`) before re-reading: a job
    whose answer was lost has then most likely finished, and the re-read sees it instead of sending it again.
    """

    def __init__(
        self,
        provider: Provider,
        journal: Journal,
        *,
        max_rounds: int = 10,
        workers: int = 8,
        waiters: int = 32,
        round_pause: tuple[float, float] = (0.1, 2.0),
        on_write: Callable[[WriteRequest], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress = SILENT,
    ) -> None:
        self.provider = provider
        self.journal = journal
        self.max_rounds = max_rounds
        self.workers = workers
        self.waiters = waiters
        self.round_pause = round_pause
        self._lock = threading.Lock()
        self.on_write = on_write
        self.progress = progress
        self.clock = clock
        self.sleep = sleep
        self._carried: dict[str, float] = {}  # jobs an earlier run left running, still not done: job -> started
        self._open_jobs: dict[str, float] = {}  # jobs of this run that stalled (may still run): job -> started
        self._inflight: list[InFlight] = []  # accepted writes of this run whose effect did not show: not re-sent

    def settle(self, unfinished: Unfinished) -> None:
        """Before re-reading: let the jobs an earlier apply left running (killed, or ended with jobs stalled)
        finish or time out, all at once. Whatever they did or did not do, the re-read that follows sees; those
        still not done are taken over by this run, for the next apply to wait for again (within the journal's
        job horizon)."""
        if not unfinished.jobs:
            return
        now = self.journal.clock()

        def wait(job: str) -> None:
            try:
                self.provider.wait(WriteResult(WriteRequest("GET", "", "", {}, "settle"), job_id=job))
            except WAIT_OPEN as exc:
                if not (isinstance(exc, OutcomeOpen) and exc.job_ended):
                    with self._lock:
                        self._carried[job] = unfinished.since.get(job, now)

        with _pool(min(len(unfinished.jobs), self.waiters)) as pool:
            list(pool.map(wait, unfinished.jobs))

    def run(
        self, plan: Plan, workspace: ResolvedWorkspace, replan: Replan, report: ApplyReport, guard: Guard | None = None
    ) -> ApplyReport:
        """Apply `plan`; `replan()` reads the workspace again and plans it; `guard` (a saved plan's) checks each
        re-plan. The journal's run ends only when the apply does: one stopped by an error or an interrupt is left
        open, for the next apply to resume."""
        started = self.clock()
        self._open_jobs, self._inflight = {}, []
        self.journal.start(plan=plan_digest(plan), fingerprint=plan.fingerprint, writes=plan.calls.writes)
        if self._carried:
            self.journal.carried(self._carried)
        # what the latest read could not see into (being populated): until it can, nothing about the people there
        # is verified, whether it was busy from the start (the plan left them out) or became so on the way
        busy = not_ready(workspace)
        sendable = plan  # the plan without the people of writes in flight
        try:
            while (sendable.has_changes or busy) and report.rounds < self.max_rounds:
                report.rounds += 1
                # with nothing to send, the round only waits for a busy destination to be readable again; and a
                # plan made while one was busy left its people out: that round cannot be the last either
                complete = self._round(sendable, workspace, report) and not busy if sendable.has_changes else False
                if not complete:
                    self.sleep(min(self.round_pause[1], self.round_pause[0] * 2 ** (report.rounds - 1)))
                plan, workspace = replan()  # the verification, and the next round's plan
                busy = not_ready(workspace)
                if guard is not None:
                    plan = guard(plan, workspace, bool(busy))
                sendable = withhold(plan, self._withheld())
                if complete and not busy:
                    break  # every write of the round went through: what remains is not ours to retry
            report.converged = not plan.has_changes and not busy
        except PlanDiverged as exc:  # nothing of it was sent: the run ends, as one that did not converge
            report.diverged = str(exc)
        except BaseException as exc:
            report.seconds = self.clock() - started
            self.journal.note("stopped", why=type(exc).__name__, writes=report.writes, rounds=report.rounds)
            self.journal.close()
            raise
        report.busy = busy
        report.residual = None if report.converged else plan
        report.final = plan
        if not report.converged:
            report.open_items, report.others_open = self._still_open(plan)
        report.seconds = self.clock() - started
        # what the next apply must settle: in flight (ids, names, counts: no emails), or a saved plan that diverged
        unsettled: dict[str, Any] = {"open": report.open_items} if report.open_items else {}
        if report.diverged is not None:
            unsettled["diverged"] = True
        self.journal.end(converged=report.converged, writes=report.writes, rounds=report.rounds,
                         open_jobs={**self._carried, **self._open_jobs}, **unsettled)  # fmt: skip
        self._carried = {}
        return report

    def _withheld(self) -> frozenset[str]:
        return frozenset().union(*(item.keys for item in self._inflight))

    def _still_open(self, residual: Plan) -> tuple[list[str], bool]:
        """What each write in flight leaves open (those of its people the residual still has a change for), and
        whether the residual has changes for other people as well."""
        remaining = frozenset(key for op in residual.operations for key in op.keys)
        found = [item.describe(len(item.keys & remaining)) for item in self._inflight if item.keys & remaining]
        return found, bool(found) and bool(remaining - self._withheld())

    def _round(self, plan: Plan, workspace: ResolvedWorkspace, report: ApplyReport) -> bool:
        """Send the plan's operations phase by phase (moves, adds, assigns, removes), each phase's requests
        concurrently. Every operation of a plan concerns other people than the others (a moved and re-owned lead
        is one move), so an open outcome does not hold the rest back. False when any outcome was left open."""
        known = known_people(workspace) if any(isinstance(op, AddOp) for op in plan.operations) else frozenset()
        phases: dict[str, list[tuple[Operation, WriteRequest]]] = {}
        for op in plan.operations:
            phases.setdefault(op.op, []).append((op, requests_for(self.provider, op, workspace, known)))
        senders, waiters = _pool(self.workers), _pool(self.waiters)
        try:
            waits: list[Future[bool]] = []
            writes = len(plan.operations)
            with phase(self.progress, "write", totals={"writes": writes}, eta="writes") as sending:
                for ops in phases.values():
                    waits += self._send_phase(ops, senders, waiters, report)
                sending.text = f"Sent {writes:,} write{'s' if writes != 1 else ''}"
            return self._wait_all(waits)
        except BaseException:
            senders.shutdown(cancel_futures=True)  # interrupted, or a write refused: send nothing more
            waiters.shutdown(cancel_futures=True)
            raise
        finally:
            senders.shutdown()
            waiters.shutdown()

    def _wait_all(self, waits: list[Future[bool]]) -> bool:
        """Wait for every write's job or read-back (a refused poll must not go unseen), as the phase `wait`."""
        pending = [wait for wait in waits if not wait.done()]
        with phase(self.progress, "wait", totals={"jobs": len(pending)}) as waiting:
            for wait in pending:
                wait.add_done_callback(lambda _done: self.progress.advanced("jobs"))
            outcomes = [wait.result() for wait in waits]
            opened = outcomes.count(False)
            left = f" ({opened:,} left open, settled by re-reading)" if opened else ""
            waiting.text = f"Waited for {len(pending):,} background job{'s' if len(pending) != 1 else ''}{left}"
        return all(outcomes)

    def _send_phase(
        self, phase: Sequence[tuple[Operation, WriteRequest]], senders: Executor,
        waiters: Executor, report: ApplyReport,
    ) -> list[Future[bool]]:  # fmt: skip
        """Send every request of a phase; each answered one is handed to a waiter. Returns once all are sent."""
        sent = [senders.submit(self._send, op, request, waiters, report) for op, request in phase]
        return [future.result() for future in sent]

    def _send(self, op: Operation, request: WriteRequest, waiters: Executor, report: ApplyReport) -> Future[bool]:
        seq = self.journal.send(request.endpoint, request.summary)
        try:
            result = self.provider.send(request)
        except OUTCOME_OPEN as exc:
            done: Future[bool] = Future()
            done.set_result(self._open(seq, exc, report))
            return done
        finally:
            with self._lock:
                report.writes += 1
            self.progress.advanced("writes")
        self.journal.sent(seq, result.job_id)
        return waiters.submit(self._wait, op, seq, result, report)

    def _wait(self, op: Operation, seq: int, result: WriteResult, report: ApplyReport) -> bool:
        try:
            self.provider.wait(result)
        except WAIT_OPEN as exc:
            running = result.job_id is not None and not (isinstance(exc, OutcomeOpen) and exc.job_ended)
            if running or isinstance(exc, AssignNotVisible):  # taken by the vendor: not sent again by this run
                with self._lock:
                    self._inflight.append(InFlight(op, exc, str(result.job_id) if running else None))
            if running:  # stalled, or its polls went unanswered: it may still be running when this run ends
                with self._lock:
                    self._open_jobs[str(result.job_id)] = self.journal.clock()
            return self._open(seq, exc, report, job=result.job_id if running else None)
        self.journal.done(seq, result.job_id)
        self.progress.advanced(DONE.get(op.op, op.op), len(op.keys))
        if self.on_write is not None:
            self.on_write(result.request)
        return True

    def _open(self, seq: int, error: LeadsyncError, report: ApplyReport, job: str | None = None) -> bool:
        with self._lock:
            report.open_outcomes += 1
            report.notes.append(str(error))
        self.journal.note("open", seq=seq, why=type(error).__name__, **({"job": job} if job else {}))
        return False


_P = ParamSpec("_P")
_T = TypeVar("_T")


class _InOrder(Executor):
    """Each call run at once in the caller's thread, its outcome kept in the future it returns. Once a call has
    failed, later ones are not run (their futures come back cancelled): what a pool does with the calls still
    queued when its caller meets the failure and shuts it down, as the applier does (a write refused: send
    nothing more)."""

    def __init__(self) -> None:
        self._failed = False

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        if self._failed:
            future.cancel()
            return future
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # as a pool's thread would keep it; an interrupt goes up at once
            self._failed = True
            future.set_exception(exc)
        return future


def _pool(threads: int) -> Executor:
    """`threads` threads, or with 0 the caller's own thread (see `Applier`)."""
    if threads < 0:
        raise ValueError(f"a pool of {threads} threads")
    return ThreadPoolExecutor(threads) if threads > 0 else _InOrder()
