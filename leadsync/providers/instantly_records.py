"""Instantly API v2 as data: its registry entry (`VENDOR`), its capabilities and call model, its status codes, and
the decoding of its snapshot (the sandbox seed format: `campaigns`, `lists`, `members`, `leads`) into remote state.

No HTTP here (the spec checks read the entry): the live provider is `leadsync.providers.instantly`, imported when
a workspace is connected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leadsync._gc import paused_gc
from leadsync.progress import SILENT, Progress
from leadsync.providers.vendor import Vendor
from leadsync.snapshot import member_emails, place_names, records, resolve_destinations, resolve_owners
from leadsync.state import CallModel, Capabilities, DestinationRef, KeyKind, RemoteLead, ResolvedWorkspace

if TYPE_CHECKING:
    from leadsync.providers.base import Provider

BASE_URL_SETTING = "LEADSYNC_INSTANTLY_BASE_URL"

#: the endpoints as the plan counts them (and the provider and the sandbox name them)
MOVE = "POST /api/v2/leads/move"
ADD = "POST /api/v2/leads/add"
ASSIGN = "POST /api/v2/leads/bulk-assign"
REMOVE = "DELETE /api/v2/leads"
LIST_LEADS = "POST /api/v2/leads/list"
JOB_POLL = "GET /api/v2/background-jobs/{id}"
CATALOGUE = ("GET /api/v2/campaigns", "GET /api/v2/lead-lists", "GET /api/v2/workspace-members")

#: a move runs as a background job: at least one poll of it per move call
CALLS = CallModel(
    writes={"move": (MOVE, JOB_POLL), "add": (ADD,), "assign": (ASSIGN,), "remove": (REMOVE,)},
    list_leads=LIST_LEADS,
    catalogue=CATALOGUE,
)

#: Instantly API v2: add 1,000 leads a call; move and bulk-assign take lists of ids (their maximum is
#: undocumented: 1,000 keeps a call's body small); bulk delete takes up to 10,000 but we stay at 1,000;
#: 100 requests/s and 6,000/min per workspace; pages of 100.
CAPABILITIES = Capabilities(calls=CALLS)

# Instantly's numeric codes as leadsync status names (the names `policy.protect` lists)
INTEREST_STATUSES: Mapping[int, str] = {
    1: "interested",
    2: "meeting_booked",
    3: "meeting_completed",
    4: "won",
    0: "out_of_office",
    -1: "not_interested",
    -2: "wrong_person",
    -3: "lost",
    -4: "no_show",
}
LEAD_STATUSES: Mapping[int, str] = {-1: "bounced", -2: "unsubscribed", 3: "completed", 2: "paused", -3: "skipped"}


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


_STATUSES: dict[tuple[Any, ...], frozenset[str]] = {}  # (replies, interest, status) as sent, typed -> names


def instantly_statuses(lead: Mapping[str, Any]) -> frozenset[str]:
    """Status names of an Instantly lead: replied (email_reply_count > 0), its interest and its lead status.
    Memoised on the three raw values: a workspace's leads share a handful of combinations, and this runs
    once per record of every read."""
    raw = (lead.get("email_reply_count"), lead.get("lt_interest_status"), lead.get("status"))
    key = (*raw, *map(type, raw))  # typed: True == 1 in a dict, but a boolean is no status (see _int)
    try:
        return _STATUSES[key]
    except KeyError:
        names = _statuses(*raw)
        if len(_STATUSES) < 4096:
            _STATUSES[key] = names
        return names
    except TypeError:  # an unhashable value (a list, say): not a status of any kind we know
        return _statuses(*raw)


def _statuses(replies_raw: object, interest_raw: object, status_raw: object) -> frozenset[str]:
    names = []
    replies = _int(replies_raw)
    if replies is not None and replies > 0:
        names.append("replied")
    interest = _int(interest_raw)
    if interest is not None and interest in INTEREST_STATUSES:
        names.append(INTEREST_STATUSES[interest])
    status = _int(status_raw)
    if status is not None and status in LEAD_STATUSES:
        names.append(LEAD_STATUSES[status])
    return frozenset(names)


def decode(
    data: Mapping[str, Any],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    account_group: str | None = None,
    source: str = "snapshot",
) -> ResolvedWorkspace:
    """Remote state for a spec from an Instantly snapshot (an Instantly key is bound to one workspace: no group)."""
    catalogue = {
        "campaign": records(data, "campaigns", source, ("id",)),
        "list": records(data, "lists", source, ("id",)),
    }
    refs, conflicts = resolve_destinations(destinations, catalogue)
    members = [(m.get("user_id"), m.get("email")) for m in records(data, "members", source, ("user_id",))]
    owner_ids, owner_conflicts = resolve_owners(owners, members)
    name_of_ref = {ref: name for name, ref in refs.items()}
    name_of_user = {user: name for name, user in owner_ids.items()}
    normalise = KeyKind.EMAIL.normalise_function()  # hot loop: once per record of every read
    with paused_gc():
        remote = [_record(lead, normalise, name_of_ref, name_of_user)
                  for lead in records(data, "leads", source, ("id",))]  # fmt: skip
    return ResolvedWorkspace(
        tuple(remote),
        frozenset(refs),
        tuple(conflicts + owner_conflicts),
        refs,
        owner_ids,
        "",
        place_names={**place_names("campaign", catalogue["campaign"]), **place_names("list", catalogue["list"])},
        member_emails=member_emails(members),
    )


def _record(
    lead: Mapping[str, Any],
    normalise: Callable[[object], str | None],
    name_of_ref: Mapping[str, str],
    name_of_user: Mapping[str, str],
) -> RemoteLead:
    campaign, listed = lead.get("campaign"), lead.get("list_id")
    where = f"campaign:{campaign}" if campaign else f"list:{listed}" if listed else "none"
    user = lead.get("assigned_to")
    owner = None if user in (None, "") else name_of_user.get(str(user), str(user))
    return RemoteLead(
        str(lead["id"]), normalise(lead.get("email")), name_of_ref.get(where, where), owner, instantly_statuses(lead)
    )


def lead_records(data: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """A snapshot's lead records as the vendor sent them (none: an empty list)."""
    leads = data.get("leads", [])
    return leads if isinstance(leads, list) else []


def connect(
    base_url: str,
    api_key: str,
    key_source: str,
    *,
    account_group: str | None = None,
    max_rate: float | None = None,
    progress: Progress = SILENT,
) -> Provider:
    """The live provider (an Instantly key is bound to one workspace: `account_group` is not used)."""
    from leadsync.providers.instantly import InstantlyProvider  # late: the HTTP stack only when connecting

    return InstantlyProvider.connect(base_url, api_key, key_source, max_rate=max_rate, progress=progress)


def from_environment(
    api_key_env: str, *, account_group: str | None = None, max_rate: float | None = None, progress: Progress = SILENT
) -> Provider:
    from leadsync.providers.instantly import InstantlyProvider  # late, as in `connect`

    return InstantlyProvider.from_environment(api_key_env, max_rate=max_rate, progress=progress)


VENDOR = Vendor(
    name="instantly",
    title="Instantly",
    key_kind=KeyKind.EMAIL,
    capabilities=CAPABILITIES,
    destination_kinds=("campaign", "list"),
    has_owners=True,
    needs_account=False,
    key_env_example="INSTANTLY_API_KEY",
    base_url_env=BASE_URL_SETTING,
    lead_columns=("first_name", "last_name", "company_name"),
    snapshot_name="an Instantly snapshot",
    claims=None,  # a snapshot no other vendor claims is Instantly's (its listings are all optional)
    decode=decode,
    lead_records=lead_records,
    connect=connect,
    from_environment=from_environment,
)
