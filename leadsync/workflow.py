"""Orchestration: spec + remote state -> plan. The CLI calls these; they never print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from leadsync.errors import Problem, SpecError
from leadsync.plan import Plan, SpecRef, Workspace, make_plan
from leadsync.providers import capabilities_for
from leadsync.routing import Router
from leadsync.snapshot import DestinationRef, ResolvedWorkspace, load_snapshot
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.spec.models import Spec


#: where the remote state comes from: a snapshot file, or (later) a provider reading the live workspace
RemoteSource = Callable[[LoadedSpec], ResolvedWorkspace]


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


def resolve_remote_file(loaded: LoadedSpec, path: str | Path) -> ResolvedWorkspace:
    """A snapshot file (sandbox seed format) resolved against the spec's destination and owner names."""
    spec = loaded.spec
    return load_snapshot(
        path,
        destinations=destination_refs(spec),
        owners={name: owner.email for name, owner in spec.owners.items()},
        key_kind=spec.key_kind,
        account_group=spec.workspace.account_group,
    )


def sandbox_paths(loaded: LoadedSpec) -> tuple[Path, Path]:
    """(seed, state) of a sandbox workspace: the seed beside the spec, the state in `.leadsync/` beside it."""
    seed = loaded.spec.workspace.seed
    if loaded.spec.workspace.provider != "sandbox" or seed is None:
        raise SpecError([Problem(loaded.positions.of(("workspace",)), "not a sandbox workspace with a seed")])
    state = loaded.root / ".leadsync" / f"{loaded.path.stem}.sandbox.sqlite"
    return loaded.root / seed, state


def plan_spec(spec_path: str | Path, resolve: RemoteSource) -> Planned:
    """Load the spec, read the remote state, route (sticky pools see current owners) and plan."""
    loaded = load_spec(spec_path)
    leads = load_leads(loaded)
    resolved = resolve(loaded)
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
