"""Carries out a plan: one request per operation, in the plan's order, journalled; never a blind re-send.

A write whose outcome is unknown (its answer lost, a 5xx, a job that failed or stalled) stops the round:
the workspace is read again and re-planned, and only what did not happen is sent. Because the planner is
convergent, "re-read and re-plan" is also how a crashed apply is resumed and how the last write is verified.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field

from leadsync.apply.journal import Journal, Unfinished
from leadsync.errors import LeadsyncError
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, Plan, RemoveOp, plan_digest
from leadsync.providers._http import AmbiguousWrite
from leadsync.providers.base import JobFailed, JobStalled, NewLead, Provider, WriteRequest, WriteResult
from leadsync.snapshot import ResolvedWorkspace

#: a fresh read and plan of the workspace
Replan = Callable[[], tuple[Plan, ResolvedWorkspace]]
OUTCOME_OPEN = (AmbiguousWrite, JobFailed, JobStalled)


class ApplyError(LeadsyncError):
    """An apply that cannot go on (a refused write, an owner or destination that no longer resolves)."""


def requests_for(provider: Provider, op: Operation, workspace: ResolvedWorkspace) -> WriteRequest:
    """The one request that carries out `op`, with the plan's names resolved to the vendor's ids."""

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

    if isinstance(op, MoveOp):
        return provider.move_request(ids=op.lead_ids, keys=op.keys, source=place(op.source), target=place(op.target),
                                     owner_id=user(op.owner))  # fmt: skip
    if isinstance(op, AddOp):
        leads = [NewLead(lead.key, user(lead.owner), lead.fields) for lead in op.leads]
        return provider.add_request(target=place(op.destination), leads=leads)
    if isinstance(op, AssignOp):
        owner_id = user(op.owner)
        assert owner_id is not None
        return provider.assign_request(ids=op.lead_ids, keys=op.keys, destination=place(op.destination),
                                       owner_id=owner_id)  # fmt: skip
    if isinstance(op, RemoveOp):
        return provider.remove_request(ids=op.lead_ids, keys=op.keys, destination=place(op.destination))
    raise ApplyError(f"unknown operation {op!r}")


@dataclass
class ApplyReport:
    """How an apply went: the writes it sent, the rounds it took, and whether the workspace converged."""

    writes: int = 0
    rounds: int = 0
    open_outcomes: int = 0  # writes whose outcome had to be settled by a re-read
    converged: bool = False
    residual: Plan | None = None
    resumed: Unfinished | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Applier:
    def __init__(
        self,
        provider: Provider,
        journal: Journal,
        *,
        max_rounds: int = 5,
        workers: int = 8,
        on_write: Callable[[WriteRequest], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.journal = journal
        self.max_rounds = max_rounds
        self.workers = workers
        self._lock = threading.Lock()
        self.on_write = on_write
        self.clock = clock

    def settle(self, unfinished: Unfinished) -> None:
        """Before re-reading after a crash: let the jobs the crashed apply started finish (or time out)."""
        for job in unfinished.jobs:
            try:
                self.provider.wait(WriteResult(WriteRequest("GET", "", "", {}, "settle"), job_id=job))
            except OUTCOME_OPEN:
                pass  # whatever it did or did not do, the re-read sees

    def run(self, plan: Plan, workspace: ResolvedWorkspace, replan: Replan, report: ApplyReport) -> ApplyReport:
        started = self.clock()
        self.journal.start(plan=plan_digest(plan), fingerprint=plan.fingerprint, writes=plan.calls.writes)
        try:
            while plan.has_changes and report.rounds < self.max_rounds:
                report.rounds += 1
                complete = self._round(plan, workspace, report)
                plan, workspace = replan()  # the verification, and the next round's plan
                if complete:
                    break  # every write of the round went through: what remains is not ours to retry
            report.converged = not plan.has_changes
            report.residual = None if report.converged else plan
        finally:
            report.seconds = self.clock() - started
            self.journal.end(converged=report.converged, writes=report.writes, rounds=report.rounds)
        return report

    def _round(self, plan: Plan, workspace: ResolvedWorkspace, report: ApplyReport) -> bool:
        """Send the plan's operations phase by phase (moves, adds, assigns, removes); the operations of one
        phase touch different leads, so they run concurrently, the client's limiter keeping the vendor's rate.
        False when an outcome was left open: the caller re-reads and re-plans."""
        requests = [requests_for(self.provider, op, workspace) for op in plan.operations]
        phases: dict[str, list[WriteRequest]] = {}
        for op, request in zip(plan.operations, requests, strict=True):
            phases.setdefault(op.op, []).append(request)
        with ThreadPoolExecutor(self.workers) as pool:
            for phase in phases.values():
                outcomes = list(pool.map(lambda request: self._write(request, report), phase))
                if not all(outcomes):
                    return False  # the next phase may depend on this one: re-read first
        return True

    def _write(self, request: WriteRequest, report: ApplyReport) -> bool:
        seq = self.journal.send(request.endpoint, request.summary)
        try:
            result = self.provider.send(request)
        except AmbiguousWrite as exc:
            return self._open(seq, exc, report)
        finally:
            with self._lock:
                report.writes += 1
        self.journal.sent(seq, result.job_id)
        try:
            self.provider.wait(result)
        except (JobFailed, JobStalled) as exc:
            return self._open(seq, exc, report)
        self.journal.done(seq, result.job_id)
        if self.on_write is not None:
            self.on_write(request)
        return True

    def _open(self, seq: int, error: LeadsyncError, report: ApplyReport) -> bool:
        with self._lock:
            report.open_outcomes += 1
            report.notes.append(str(error))
        self.journal.note("open", seq=seq, why=type(error).__name__)
        return False
