"""Sonarly API v1 as data: its registry entry (`VENDOR`), its capabilities and call model, and the decoding of its
snapshot (the sandbox seed format: `account_groups`, `audiences`, `prospects`) into remote state.

No HTTP here (the spec checks read the entry): the live provider is `leadsync.providers.sonarly`, imported when
a workspace is connected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leadsync.errors import SnapshotError
from leadsync.progress import SILENT, Progress
from leadsync.providers.vendor import Vendor
from leadsync.snapshot import place_names, records, resolve_destinations
from leadsync.state import (
    CallModel,
    Capabilities,
    Conflict,
    ConflictReason,
    DestinationRef,
    KeyKind,
    RemoteLead,
    ResolvedWorkspace,
)

if TYPE_CHECKING:
    from leadsync.providers.base import Provider

BASE_URL_SETTING = "LEADSYNC_SONARLY_BASE_URL"

#: the endpoints as the plan counts them (and the provider and the sandbox name them)
GROUPS = "/v1/accounts"
AUDIENCES = GROUPS + "/{accountGroupId}/audiences"
AUDIENCE = AUDIENCES + "/{audienceId}"
PROSPECTS = AUDIENCE + "/prospects"
MOVE = AUDIENCE + "/move-leads"
MOVE_ENDPOINT = f"POST {MOVE}"

#: Sonarly can only move, and move-leads answers when done (no job to poll); the other kinds never reach a plan
#: (capabilities), so only the move is named
CALLS = CallModel(
    writes={"move": (MOVE_ENDPOINT,)}, list_leads=f"GET {PROSPECTS}", catalogue=(f"GET {GROUPS}", f"GET {AUDIENCES}")
)

#: Sonarly API v1: prospects can only be moved between audiences (no add, no remove, no owners).
CAPABILITIES = Capabilities(
    add=False,
    move=True,
    assign=False,
    remove=False,
    move_sets_owner=False,
    requests_per_second=10.0,  # undocumented: a conservative default
    requests_per_minute=600.0,
    calls=CALLS,
)


_LINKEDIN = KeyKind.LINKEDIN.normalise_function()


def prospect_key(prospect: Mapping[str, Any]) -> str | None:
    """A prospect's lead key: its public identifier, else the one in its profile URL."""
    return _LINKEDIN(prospect.get("publicIdentifier")) or _LINKEDIN(prospect.get("linkedinUrl"))


def _account_group(groups: list[Mapping[str, Any]], wanted: str | None, source: str) -> str:
    ids = [str(g["id"]) for g in groups]
    if wanted is None:
        if len(ids) != 1:
            raise SnapshotError(f"{source}: {len(ids)} account groups; the spec must name one")
        return ids[0]
    if wanted in ids:
        return wanted
    named = [str(g["id"]) for g in groups if g.get("name") == wanted]
    if len(named) != 1:
        problem = "no account group" if not named else f"{len(named)} account groups"
        raise SnapshotError(f"{source}: {problem} named {wanted!r}")
    return named[0]


def decode(
    data: Mapping[str, Any],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    account_group: str | None = None,
    source: str = "snapshot",
) -> ResolvedWorkspace:
    """Remote state for a spec from a Sonarly snapshot, scoped to one account group (Sonarly has no owners)."""
    group = _account_group(records(data, "account_groups", source, ("id",)), account_group, source)
    audiences = [a for a in records(data, "audiences", source, ("id",)) if str(a.get("account_group_id")) == group]
    refs, conflicts = resolve_destinations(destinations, {"audience": audiences})
    busy = {f"audience:{a['id']}" for a in audiences if a.get("populating")}
    for name in sorted(n for n, ref in refs.items() if ref in busy):
        # its prospects cannot be read (409 AUDIENCE_NOT_READY), so it cannot be planned for
        ref = refs.pop(name)
        conflicts.append(
            Conflict(
                None,
                ConflictReason.DESTINATION_NOT_READY,
                f"{ref} is being populated by a prospecting job",
                name,
                (ref,),
            )
        )
    # people the spec routes may be in a busy audience it does not name: nobody can see them there. Not a plan
    # matter (a live read never lists such an audience), but an apply verifying against this read must know
    named = {ref for c in conflicts for ref in c.refs} | set(refs.values())
    unseen = frozenset(busy - named)
    name_of_ref = {ref: name for name, ref in refs.items()}
    ours = {str(a["id"]) for a in audiences}
    remote = []
    for prospect in records(data, "prospects", source, ("id",)):
        audience = str(prospect.get("audience_id"))
        if audience not in ours:  # another account group's: not this workspace
            continue
        where = f"audience:{audience}"
        remote.append(RemoteLead(str(prospect["id"]), prospect_key(prospect), name_of_ref.get(where, where)))
    return ResolvedWorkspace(
        tuple(remote),
        frozenset(refs),
        tuple(conflicts),
        refs,
        {},
        group,
        unseen=unseen,
        place_names=place_names("audience", audiences),
    )


def claims(data: Mapping[str, Any]) -> bool:
    """A snapshot is Sonarly's when it has account groups."""
    return "account_groups" in data


def lead_records(data: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """A snapshot's prospect records as the vendor sent them (none: an empty list)."""
    prospects = data.get("prospects", [])
    return prospects if isinstance(prospects, list) else []


def connect(
    base_url: str,
    api_key: str,
    key_source: str,
    *,
    account_group: str | None = None,
    max_rate: float | None = None,
    progress: Progress = SILENT,
) -> Provider:
    """The live provider of the account group `account_group` (by name or id)."""
    from leadsync.providers.sonarly import SonarlyProvider  # late: the HTTP stack only when connecting

    return SonarlyProvider.connect(base_url, api_key, key_source, account_group=account_group, max_rate=max_rate,
                                   progress=progress)  # fmt: skip


def from_environment(
    api_key_env: str, *, account_group: str | None = None, max_rate: float | None = None, progress: Progress = SILENT
) -> Provider:
    from leadsync.providers.sonarly import SonarlyProvider  # late, as in `connect`

    return SonarlyProvider.from_environment(api_key_env, account_group=account_group, max_rate=max_rate,
                                            progress=progress)  # fmt: skip


VENDOR = Vendor(
    name="sonarly",
    title="Sonarly",
    key_kind=KeyKind.LINKEDIN,
    capabilities=CAPABILITIES,
    destination_kinds=("audience",),
    has_owners=False,
    needs_account=True,
    key_env_example="SONARLY_API_KEY",
    base_url_env=BASE_URL_SETTING,
    lead_columns=("firstName", "lastName"),
    snapshot_name="a Sonarly snapshot (it has account_groups)",
    claims=claims,
    decode=decode,
    lead_records=lead_records,
    connect=connect,
    from_environment=from_environment,
)
