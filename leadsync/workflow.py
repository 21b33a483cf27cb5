"""Orchestration: spec + remote state -> plan. The CLI calls these; they never print: what long work does is
reported to a `leadsync.progress.Progress` (phases read, plan, write, wait, verify), which the CLI renders."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from leadsync.apply.applier import Applier, ApplyReport, known_people, requests_for
from leadsync.apply.journal import Journal
from leadsync.apply.lock import WorkspaceLock, private_dir, state_dir
from leadsync.apply.saved import SavedPlanGuard, untrusted
from leadsync.errors import Location, PlanError, Problem, SpecError
from leadsync.matching import timed
from leadsync.plan import Plan, PlanContext, PlanPolicy, PlanWarning, SpecRef, Workspace, make_plan, pool_weights
from leadsync.progress import SILENT, Progress, phase
from leadsync.providers import load_snapshot, vendor
from leadsync.providers.base import Provider, WriteRequest
from leadsync.render import summary_line
from leadsync.routing import Router
from leadsync.safefs import ensure_real_dir, has_nul
from leadsync.spec import LeadSet, LoadedSpec, load_leads, load_spec
from leadsync.spec.models import Spec
from leadsync.state import (
    Conflict,
    ConflictReason,
    DesiredState,
    DestinationRef,
    RemoteLead,
    ResolvedWorkspace,
    Unmanaged,
)
from leadsync.unmet import unmet_names

#: where the remote state comes from: given the spec and the keys of its people, the resolved workspace
RemoteSource = Callable[[LoadedSpec, frozenset[str]], ResolvedWorkspace]


@dataclass(frozen=True)
class Planned:
    """A plan and what was learnt on the way to it."""

    loaded: LoadedSpec
    plan: Plan
    warnings: tuple[Problem, ...]


def destination_refs(spec: Spec) -> dict[str, DestinationRef]:
    """How the spec names each destination, in the form remote resolution takes."""
    refs = {}
    for name, destination in spec.destinations.items():
        field, value = destination.ref
        refs[name] = DestinationRef(destination.kind, value, by_id=field.endswith("_id"))  # type: ignore[arg-type]
    return refs


def owner_emails(spec: Spec) -> dict[str, str]:
    return {name: owner.email for name, owner in spec.owners.items()}


def snapshot_source(path: str | Path) -> RemoteSource:
    """A snapshot file (sandbox seed format), resolved against the spec's names: no network, no key."""

    def read(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
        spec = loaded.spec
        return load_snapshot(
            path,
            destinations=destination_refs(spec),
            owners=owner_emails(spec),
            key_kind=spec.key_kind,
            account_group=spec.workspace.account_group,
        )

    return read


def live_source(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
    """The workspace the spec names, read through its provider (a sandbox is started in-process)."""
    return observed_source(SILENT)(loaded, wanted)


def observed_source(progress: Progress) -> RemoteSource:
    """`live_source`, its calls, pages and leads told to `progress`."""

    def read(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
        with open_provider(loaded, progress) as provider:
            spec = loaded.spec
            return provider.read(destinations=destination_refs(spec), owners=owner_emails(spec), wanted=wanted)

    return read


def read_summary(resolved: ResolvedWorkspace, verb: str = "Read") -> str:
    """What a read found, for its phase's end line: `Read 50,000 leads in 14 destinations`."""
    leads = sum(1 for record in resolved.remote if record.destination in resolved.managed)
    places = len(resolved.managed)
    return f"{verb} {leads:,} lead{'s' if leads != 1 else ''} in {places} destination{'s' if places != 1 else ''}"


def plan_summary(plan: Plan) -> str:
    """`Planned: 13 to add, 15 to move, 2 to reassign (12 writes)`, or `Planned: no changes`."""
    if not plan.has_changes:
        return "Planned: no changes"
    writes, outcomes = plan.calls.writes, summary_line(plan).removeprefix("Plan: ").removesuffix(".")
    return f"Planned: {outcomes} ({writes:,} write{'s' if writes != 1 else ''})"


@contextmanager
def open_provider(loaded: LoadedSpec, progress: Progress = SILENT) -> Iterator[Provider]:
    """The provider of the spec's workspace, connected by its vendor's entry in the registry; for `provider:
    sandbox`, over HTTP to an in-process sandbox. `progress` is told of its calls and of what its reads find."""
    spec = loaded.spec
    group, rate = spec.workspace.account_group, spec.workspace.max_rate
    speaks = vendor(spec.vendor)
    provider: Provider
    if spec.workspace.provider == "sandbox":
        from leadsync import sandbox  # late: only sandbox workspaces need the server stack

        seed, state = sandbox_paths(loaded)
        state.parent.mkdir(parents=True, exist_ok=True)
        with sandbox.start(seed, state=state, vendor=spec.vendor) as running:
            provider = speaks.connect(running.url, running.api_key or "", "the sandbox's key", account_group=group,
                                      max_rate=rate, progress=progress)  # fmt: skip
            try:
                yield provider
            finally:
                provider.close()
        return
    assert spec.workspace.api_key_env is not None  # the spec checks make sure of it
    provider = speaks.from_environment(spec.workspace.api_key_env, account_group=group, max_rate=rate,
                                       progress=progress)  # fmt: skip
    try:
        yield provider
    finally:
        provider.close()


def read_workspace_data(
    loaded: LoadedSpec, wanted: frozenset[str] = frozenset(), progress: Progress = SILENT
) -> dict[str, Any]:
    """The spec's workspace as a snapshot (the sandbox seed format, no keys): for `snapshot` and `import`."""
    places = len(loaded.spec.destinations)
    with open_provider(loaded, progress) as provider, phase(progress, "read", totals={"destinations": places}) as done:
        data = provider.read_data(destinations=destination_refs(loaded.spec), wanted=wanted)
        records = len(vendor(loaded.spec.vendor).lead_records(data))
        done.text = f"Read {records:,} lead record{'s' if records != 1 else ''}"
        return data


def sandbox_paths(loaded: LoadedSpec) -> tuple[Path, Path]:
    """(seed, state) of a sandbox workspace: the seed named by the spec, the state in `.leadsync/` beside it.
    A `.leadsync` that is a link (or no folder) is refused here, before anything opens a file in it."""
    seed = loaded.spec.workspace.seed
    if loaded.spec.workspace.provider != "sandbox" or seed is None:
        where = loaded.positions.of(("workspace",))
        raise SpecError(
            [Problem(Location(where.file, where.line, where.column), "not a sandbox workspace with a seed")]
        )
    if has_nul(seed):
        where = loaded.positions.of(("workspace", "seed"))
        raise SpecError([Problem(Location(where.file, where.line, where.column),
                                 f"seed {seed!r}: contains a NUL byte, which no file name can hold")])  # fmt: skip
    # keyed by the seed, not the spec: every spec seeded from one file works on one workspace, as with a vendor
    seed_path = loaded.root / seed
    folder = loaded.root / ".leadsync"
    if os.path.lexists(folder):
        ensure_real_dir(folder, loaded.root, what="the sandbox's state folder")
    return seed_path, folder / f"{seed_path.name.removesuffix('.json')}.sandbox.sqlite"


def today() -> date:
    """The plan's default date: today in UTC (absences are written in UTC dates)."""
    return datetime.now(UTC).date()


def default_at(loaded: LoadedSpec) -> date:
    """When a plan (or explain, or a routing test) is as of, unless told: now, to the second, for a spec whose
    routes match by time (`older_than`, `within`); today (UTC) for one whose owners are away on dates."""
    if any(timed(condition) for condition in loaded.conditions):
        return datetime.now(UTC).replace(microsecond=0)
    return today()


def stamp(at: date) -> str:
    """`at` as a plan document writes it: `2026-12-22`, or `2026-12-22T09:30:00Z` for a time."""
    if isinstance(at, datetime):
        return at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    return at.isoformat()


def parse_stamp(text: str) -> date:
    """The inverse of `stamp`."""
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).astimezone(UTC)


def with_max_rate(loaded: LoadedSpec, max_rate: float | None) -> LoadedSpec:
    """`loaded` with `--max-rate` in place of its `workspace.max_rate` (None: the spec's own)."""
    if max_rate is None:
        return loaded
    limit = vendor(loaded.spec.vendor).capabilities.requests_per_second
    if max_rate > limit:
        raise PlanError(f"--max-rate {max_rate:g} is above the vendor's limit of {limit:g} requests per second")
    workspace = loaded.spec.workspace.model_copy(update={"max_rate": max_rate})
    return replace(loaded, spec=loaded.spec.model_copy(update={"workspace": workspace}))


def plan_spec(
    spec_path: str | Path,
    remote: RemoteSource = live_source,
    *,
    at: date | None = None,
    max_rate: float | None = None,
    progress: Progress = SILENT,
) -> Planned:
    """Load the spec, read the remote state, route (sticky pools see current owners) and plan, at the date
    `at` (default today, UTC) for owners' absences, sending at most `max_rate` requests a second if given.
    The read and the planning are phases of `progress` (give `observed_source(progress)` for the read's counts)."""
    loaded = with_max_rate(load_spec(spec_path), max_rate)
    leads = load_leads(loaded, os.environ)
    with phase(progress, "read", totals={"destinations": len(loaded.spec.destinations)}) as read:
        resolved = remote(loaded, frozenset(lead.key for lead in leads.leads))
        read.text = read_summary(resolved)
    with phase(progress, "plan") as planning:
        plan = make_spec_plan(loaded, leads, resolved, at=at)
        planning.text = plan_summary(plan)
    return Planned(loaded, plan, tuple(leads.warnings))


def make_spec_plan(loaded: LoadedSpec, leads: LeadSet, resolved: ResolvedWorkspace, *, at: date | None = None) -> Plan:
    """Route the spec's leads (sticky pools see the current owners, capacities what owners hold) and plan
    against `resolved`. A destination or owner the workspace cannot resolve is a SpecError at its place in the
    spec (`leadsync.unmet`). Owners' absences are read at `at` (default today, UTC)."""
    unmet = unmet_names(loaded, resolved)
    if unmet:  # a spec that cannot be met is an error, never a plan of the rest
        raise SpecError(unmet)
    spec = loaded.spec
    router = Router(loaded)
    dated_spec = router.timed or any(owner.away for owner in spec.owners.values())
    day = (at or default_at(loaded)) if dated_spec else None
    routing = router.route(leads.leads, **_routing_context(loaded, leads, resolved), at=day)
    full = [Conflict(key, ConflictReason.POOL_FULL, f"pool '{pool}': {why}") for key, pool, why in routing.full]
    plan = make_plan(
        DesiredState(routing.desired, [lead.key for lead in routing.unrouted], full),
        resolved,
        spec.policy.to_state(),
        PlanContext(
            vendor(spec.vendor).capped(spec.workspace.max_rate),
            spec=SpecRef(str(loaded.path), loaded.sha256, tuple(sorted(leads.queries.items()))),
            workspace=Workspace(
                provider=spec.workspace.provider, id=resolved.workspace_id, api=spec.vendor, read=resolved.read
            ),
            pools=pool_weights(spec),
            at=stamp(day) if day is not None else None,
        ),
    )
    capacity = router.capacity
    if capacity:
        plan = replace(plan, owners=tuple(replace(o, capacity=capacity.get(o.owner or "")) for o in plan.owners))
    notes = routing_notes(loaded, plan, router.away(day), day)
    return replace(plan, warnings=(*plan.warnings, *notes)) if notes else plan


def _routing_context(loaded: LoadedSpec, leads: LeadSet, resolved: ResolvedWorkspace) -> dict[str, Any]:
    """What routing needs of the workspace: each person's owner now, what owners hold that no spec lead
    routes (kept as it is, so it counts against capacities), and the protected people (they keep theirs)."""
    managed, spec = resolved.managed, loaded.spec
    records = [r for r in resolved.remote if r.destination in managed]
    current = {r.key: r.owner for r in records if r.key is not None and r.owner is not None}
    if not spec.pools or not any(o.capacity is not None for o in spec.owners.values()):
        return {"current_owners": current}  # nothing counts loads: the one-pass path stays open
    protect = frozenset(spec.policy.protect)
    spec_keys = frozenset(lead.key for lead in leads.leads)
    removes = spec.policy.unmanaged is Unmanaged.REMOVE

    def protected(r: RemoteLead) -> bool:
        return bool(r.statuses) and not protect.isdisjoint(r.statuses)

    # what no spec lead routes stays, unless `unmanaged: remove` takes it, which never takes a protected lead
    standing = Counter(r.owner for r in records
                       if r.owner is not None and r.key not in spec_keys and (not removes or protected(r)))  # fmt: skip
    pinned = frozenset(r.key for r in records if r.key is not None and protected(r))
    return {"current_owners": current, "standing": standing, "pinned": pinned}


def routing_notes(loaded: LoadedSpec, plan: Plan, away: frozenset[str], day: date | None) -> list[PlanWarning]:
    """The plan's notes on routing: who is away at its date, and owners left over their capacity (by fixed
    routes or leads no pool places: those are never redirected)."""
    notes = []
    owners = loaded.spec.owners
    for name in sorted(away):
        spans = ", ".join(f"{a.start} to {a.until}" for a in owners[name].away if a.start <= day <= a.until)  # type: ignore[operator]
        notes.append(PlanWarning("away", None, None, None,
                                 f"{name} is away on {day} ({spans}): no new leads from pools; keeps the leads "
                                 f"{name} owns"))  # fmt: skip
    for load in plan.owners:
        cap = owners[load.owner].capacity if load.owner in owners else None
        if cap is not None and load.after > cap:
            why = "fixed-owner routes and leads no pool places are never redirected"
            message = f"{load.owner} holds {load.after} leads after the plan, over a capacity of {cap}: {why}"
            notes.append(PlanWarning("over_capacity", None, None, None, message))
    return notes


def workspace_tag(loaded: LoadedSpec, identity: str | None = None) -> str:
    """A file-name-safe name for the workspace, for its lock and journal: a sandbox's from its state file; a
    vendor's from `identity`, the workspace as the vendor reports it (`Provider.identity()`), so that every
    spelling of one workspace (a base URL with a trailing `/` or `localhost` for `127.0.0.1`, the key in another
    variable, a group by name or by id) shares one lock."""
    ws = loaded.spec.workspace
    if ws.provider == "sandbox":
        return f"sandbox-{sandbox_paths(loaded)[1].name.removesuffix('.sandbox.sqlite')}"
    if not identity:
        raise PlanError(f"the {ws.provider} workspace's identity is needed for its lock and journal")
    return f"{ws.provider}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def workspace_identity(loaded: LoadedSpec, provider: Provider) -> str | None:
    """The vendor workspace's identity as the vendor reports it (one read call) at the origin it was reached at
    (two deployments, or two sandboxes, may report one workspace id); None for a sandbox's."""
    if loaded.spec.workspace.provider == "sandbox":
        return None
    return f"{provider.identity()} at {provider.origin}"


def _adopt_legacy_journal(loaded: LoadedSpec, journal: Path) -> None:
    """Until issue #12 a vendor workspace's journal was named after the spellings of its settings (provider, base
    URL setting, key variable, account group): take it over, once, so that what a run of an earlier leadsync left
    open (writes in doubt, jobs running) is settled by the first apply after the upgrade, not forgotten."""
    ws = loaded.spec.workspace
    if ws.provider == "sandbox" or os.path.lexists(journal):
        return
    setting = vendor(ws.provider).base_url_env
    spelt = "|".join([ws.provider, os.environ.get(setting, ""), ws.api_key_env or "", ws.account_group or ""])
    legacy = journal.with_name(f"{ws.provider}-{hashlib.sha256(spelt.encode()).hexdigest()[:12]}.journal.jsonl")
    if legacy.is_file() and not legacy.is_symlink():
        os.replace(legacy, journal)


class ApplySession:
    """One apply: the workspace locked, its journal open, its state read and planned."""

    def __init__(
        self, loaded: LoadedSpec, provider: Provider, state_dir: Path, identity: str | None = None,
        progress: Progress = SILENT, applier_options: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """`applier_options`: the Applier's keywords (its pace and threads), in force from the first settle."""
        self.loaded = loaded
        self.provider = provider
        self.progress = progress
        self.first_read: int | None = None  # the first read's calls: what sizes the verifying read (its ETA)
        self.leads = load_leads(loaded, os.environ)
        self.guard: SavedPlanGuard | None = None  # set by use_saved: later rounds may send only the saved plan's
        self.warnings: list[str] = []
        # the plan's time, once for the session (its rounds and its verifying read route as of it): now or today,
        # or a saved plan's
        self.at: date | None = default_at(loaded)
        tag = workspace_tag(loaded, identity or workspace_identity(loaded, provider))
        journal = state_dir / f"{tag}.journal.jsonl"
        _adopt_legacy_journal(loaded, journal)
        self.journal = Journal(journal)
        self.resumed = self.journal.unfinished()
        self.applier = Applier(provider, self.journal, progress=progress, **(applier_options or {}))
        if self.resumed is not None:
            self.applier.settle(self.resumed)
        self.plan, self.workspace = self.replan()

    def replan(self) -> tuple[Plan, ResolvedWorkspace]:
        """Read the workspace and plan it: the first time as phases read and plan, then as the phase verify
        (sized by the first read's calls)."""
        spec = self.loaded.spec
        wanted = frozenset(lead.key for lead in self.leads.leads)
        calls = sum(self.provider.stats.calls.values())
        first = self.first_read is None
        places = {"destinations": len(spec.destinations)}
        sized = places if first else {**places, "calls": self.first_read or 1}
        if first:
            with phase(self.progress, "read", totals=sized) as read:
                resolved = self.provider.read(destinations=destination_refs(spec), owners=owner_emails(spec),
                                              wanted=wanted)  # fmt: skip
                self.first_read = sum(self.provider.stats.calls.values()) - calls
                read.text = read_summary(resolved)
            with phase(self.progress, "plan") as planning:
                plan = make_spec_plan(self.loaded, self.leads, resolved, at=self.at)
                planning.text = plan_summary(plan)
            return plan, resolved
        with phase(self.progress, "verify", totals=sized, eta="calls") as verify:
            resolved = self.provider.read(destinations=destination_refs(spec), owners=owner_emails(spec), wanted=wanted)
            plan = make_spec_plan(self.loaded, self.leads, resolved, at=self.at)
            left = plan_summary(plan).removeprefix("Planned: ")
            verify.text = f"{read_summary(resolved, 'Re-read')}, {left if plan.has_changes else 'no changes'} left"
        return plan, resolved

    def use_saved(self, saved: Plan, path: str) -> None:
        """Apply `saved` instead of a fresh plan, unless the workspace changed since it was made; and only it:
        each later round's residual must be the saved plan's own work (`SavedPlanGuard`). A spec edited since
        the plan is named in `warnings`."""
        spec = self.loaded.spec
        contradicted = untrusted(
            saved,
            provider=spec.workspace.provider,
            api=spec.vendor,
            policy=PlanPolicy.of(spec.policy.to_state()),
            workspace=self.workspace,
        )
        if contradicted is not None:
            raise PlanError(f"{path} refused, nothing sent: {contradicted}; run leadsync plan again")
        if saved.is_stale(self.workspace.remote):
            raise PlanError(f"stale plan: the workspace changed since {path} was made; run leadsync plan again")
        if saved.spec.sha256 and saved.spec.sha256 != self.loaded.sha256:
            self.warnings.append(
                f"{saved.spec.path} changed since {path} was made (sha256 {saved.spec.sha256[:12]} then, "
                f"{self.loaded.sha256[:12]} now): only the saved plan is carried out; run leadsync plan again "
                "to see what the spec asks for now"
            )
        for query, then in saved.spec.queries:
            now = self.leads.queries.get(query)
            if now != then:
                said = f"{now[:12]} now" if now else "not a source of the spec now"
                self.warnings.append(
                    f"the query {query} changed since {path} was made (sha256 {then[:12]} then, {said}): only the "
                    "saved plan is carried out; run leadsync plan again to see what the query selects now"
                )
        self.plan = saved
        self.guard = SavedPlanGuard(saved)
        if saved.at is not None:  # later rounds route as the reviewed plan did: on its date, at its time
            self.at = parse_stamp(saved.at)

    def requests(self) -> list[WriteRequest]:
        known = known_people(self.workspace)  # once: an add needs it, and it is a set of every record's person
        return [requests_for(self.provider, op, self.workspace, known) for op in self.plan.operations]

    def apply(self, on_write: Callable[[WriteRequest], None] | None = None) -> ApplyReport:
        self.applier.on_write = on_write
        return self.applier.run(self.plan, self.workspace, self.replan, ApplyReport(resumed=self.resumed), self.guard)


def workspace_state_dir(loaded: LoadedSpec) -> Path:
    """Where the lock and journal of the spec's workspace live: machine-wide for a vendor's (checked private),
    beside its state for a sandbox's (created if need be, and never a link: `leadsync.safefs`)."""
    if loaded.spec.workspace.provider == "sandbox":
        return ensure_real_dir(loaded.root / ".leadsync", loaded.root, what="the sandbox's state folder")
    return private_dir(state_dir())


def lock_path(loaded: LoadedSpec, identity: str | None = None) -> Path:
    """The lock of the spec's workspace (see `workspace_state_dir`; `identity`: see `workspace_tag`)."""
    return workspace_state_dir(loaded) / f"{workspace_tag(loaded, identity)}.lock"


@contextmanager
def apply_session(
    loaded: LoadedSpec, *, job_timeout: float | None = None, progress: Progress = SILENT
) -> Iterator[ApplySession]:
    """Open the spec's workspace for an apply: its provider, its lock, its journal (resuming an interrupted run).
    `job_timeout`: how long to wait for a background job (and a bulk-assign to show), when not the provider's.
    `progress`: told of each phase (read, plan, write, wait, verify) and of what it counts."""
    with ExitStack() as stack:
        if loaded.spec.workspace.provider == "sandbox":  # locked before its emulator opens the state file
            stack.enter_context(WorkspaceLock(lock_path(loaded)))
            provider, identity = stack.enter_context(open_provider(loaded, progress)), None
        else:  # a vendor's lock is named by the workspace the vendor reports: one read call comes first
            provider = stack.enter_context(open_provider(loaded, progress))
            identity = workspace_identity(loaded, provider)
            stack.enter_context(WorkspaceLock(lock_path(loaded, identity)))
        if job_timeout is not None and hasattr(provider, "job_timeout"):  # moves that start no jobs have no timeout
            provider.job_timeout = job_timeout
        session = ApplySession(loaded, provider, workspace_state_dir(loaded), identity, progress)
        try:
            yield session
        finally:
            session.journal.close()
