"""Orchestration: spec + remote state -> plan. The CLI calls these; they never print."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from leadsync.errors import Location, Problem, ProviderError, SpecError
from leadsync.plan import Plan, SpecRef, Workspace, make_plan
from leadsync.providers import capabilities_for
from leadsync.providers.instantly import InstantlyProvider
from leadsync.routing import Router
from leadsync.snapshot import DestinationRef, ResolvedWorkspace, load_snapshot
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.spec.models import Spec

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
    with open_provider(loaded) as provider:
        return provider.read(destinations=destination_refs(loaded.spec), owners=owner_emails(loaded.spec), wanted=wanted)


@contextmanager
def open_provider(loaded: LoadedSpec) -> Iterator[InstantlyProvider]:
    """The provider of the spec's workspace; for `provider: sandbox`, over HTTP to an in-process sandbox."""
    spec = loaded.spec
    if spec.vendor == "sonarly":
        raise ProviderError("the Sonarly provider is not built yet: plan a Sonarly spec with --remote FILE")
    if spec.workspace.provider == "sandbox":
        from leadsync import sandbox  # late: only sandbox workspaces need the server stack

        seed, state = sandbox_paths(loaded)
        state.parent.mkdir(parents=True, exist_ok=True)
        with sandbox.start(seed, state=state, vendor=spec.vendor) as running:
            provider = InstantlyProvider.connect(running.url, running.api_key, "the sandbox's key")
            try:
                yield provider
            finally:
                provider.close()
        return
    assert spec.workspace.api_key_env is not None  # the spec checks make sure of it
    provider = InstantlyProvider.from_environment(spec.workspace.api_key_env)
    try:
        yield provider
    finally:
        provider.close()


def sandbox_paths(loaded: LoadedSpec) -> tuple[Path, Path]:
    """(seed, state) of a sandbox workspace: the seed beside the spec, the state in `.leadsync/` beside it."""
    seed = loaded.spec.workspace.seed
    if loaded.spec.workspace.provider != "sandbox" or seed is None:
        where = loaded.positions.of(("workspace",))
        raise SpecError([Problem(Location(where.file, where.line, where.column), "not a sandbox workspace with a seed")])
    state = loaded.root / ".leadsync" / f"{loaded.path.stem}.sandbox.sqlite"
    return loaded.root / seed, state


def plan_spec(spec_path: str | Path, remote: RemoteSource = live_source) -> Planned:
    """Load the spec, read the remote state, route (sticky pools see current owners) and plan."""
    loaded = load_spec(spec_path)
    leads = load_leads(loaded)
    resolved = remote(loaded, frozenset(lead.key for lead in leads.leads))
    current_owners = {
        record.key: record.owner
        for record in resolved.remote
        if record.key is not None and record.owner is not None and record.destination in resolved.managed
    }
    routing = Router(loaded).route(leads.leads, current_owners)
    spec = loaded.spec
    plan = make_plan(
        routing.desired,
        resolved.remote,
        managed=resolved.managed,
        policy=spec.policy.to_state(),
        capabilities=capabilities_for(spec.vendor),
        unrouted=[lead.key for lead in routing.unrouted],
        conflicts=resolved.conflicts,
        spec=SpecRef(str(spec_path), loaded.sha256),
        workspace=Workspace(provider=spec.workspace.provider, id=resolved.workspace_id, api=spec.vendor),
    )
    return Planned(loaded, plan, tuple(leads.warnings))
