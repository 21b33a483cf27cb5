"""Remote state from a snapshot in the sandbox seed format (docs/design.md section 6), resolved against a spec.

Pure apart from `read_snapshot` / `load_snapshot` reading the file. It takes plain data (destination
references, owner emails), not spec models, so the spec side and the providers can both use it. The
resolution helpers (`resolve_destinations`, `resolve_owners`, `instantly_statuses`) are what a provider
resolving the live workspace needs too: names are matched exactly, emails case-insensitively, and
anything unknown or ambiguous is a Conflict, never a guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from leadsync._gc import paused_gc
from leadsync.errors import DocumentTooLarge, JsonTooDeep, SnapshotError
from leadsync.jsontext import decode, loads_bounded, read_bounded
from leadsync.state import Conflict, ConflictReason, KeyKind, ReadCost, RemoteLead

DestinationKind = Literal["campaign", "list", "audience"]


@dataclass(frozen=True, slots=True)
class DestinationRef:
    """How the spec names a destination: its kind and a name (or, with `by_id`, an id)."""

    kind: DestinationKind
    value: str
    by_id: bool = False

    def __str__(self) -> str:
        return f"{self.kind}{'_id' if self.by_id else ''} {self.value!r}"


@dataclass(frozen=True, slots=True)
class ResolvedWorkspace:
    """A snapshot's records as remote state for one spec, with what resolving the spec's names found."""

    remote: tuple[RemoteLead, ...]
    managed: frozenset[str]  # destination names that resolved to exactly one place
    conflicts: tuple[Conflict, ...]  # key None, `subject` the spec name (`refs`: where it may point)
    destination_refs: Mapping[str, str]  # managed name -> "campaign:<id>" / "list:<id>" / "audience:<id>"
    owner_ids: Mapping[str, str]  # owner name -> user id
    workspace_id: str  # the Sonarly account group id; "" for Instantly (a key is bound to one workspace)
    read: ReadCost | None = None  # a live read's strategy and price; None for a snapshot
    unseen: frozenset[str] = frozenset()  # places outside the managed ones the read could not see into (busy)
    #: for display only (never for resolving or planning): the vendor's name of every place the read saw,
    #: "campaign:<id>" / "list:<id>" / "audience:<id>" -> name, and the email of every workspace member, by user id
    place_names: Mapping[str, str] = field(default_factory=dict)
    member_emails: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocked_refs(self) -> frozenset[str]:
        """Places a spec destination that did not resolve may name (ambiguous, a by-id reference that is not
        in the catalogue, an audience still populating): their records are no one's to move. The planner reads
        them from the conflicts' `refs`."""
        return frozenset(ref for c in self.conflicts if c.reason.blocks_destination for ref in c.refs)


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


def resolve_destinations(
    destinations: Mapping[str, DestinationRef], catalogue: Mapping[str, Iterable[Mapping[str, Any]]]
) -> tuple[dict[str, str], list[Conflict]]:
    """Spec destination name -> "kind:<id>", from `catalogue` (kind -> items with id and name).

    A name matching nothing is unknown, several is ambiguous, and two spec names for one place are both
    ambiguous (records there could not be told apart): none of those is managed. Each such conflict carries
    in `refs` the places the name may mean (every match; the id itself for an unknown `*_id` reference), so
    that records there are left alone rather than taken for records outside the spec.
    """
    by_kind = {kind: [item for item in items if isinstance(item, Mapping)] for kind, items in catalogue.items()}
    refs: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for name in sorted(destinations):
        ref = destinations[name]
        items = by_kind.get(ref.kind)
        field = "id" if ref.by_id else "name"
        matches = sorted({str(i.get("id")) for i in items or () if i.get(field) == ref.value})
        by_id = (f"{ref.kind}:{ref.value}",) if ref.by_id else ()
        if items is None:
            conflicts.append(
                Conflict(
                    None, ConflictReason.UNKNOWN_DESTINATION, f"{ref}: this workspace has no {ref.kind}s", name, by_id
                )
            )
        elif not matches:
            conflicts.append(
                Conflict(None, ConflictReason.UNKNOWN_DESTINATION, f"no {ref} in the workspace", name, by_id)
            )
        elif len(matches) > 1:
            conflicts.append(
                Conflict(
                    None,
                    ConflictReason.AMBIGUOUS_DESTINATION,
                    f"{len(matches)} {ref.kind}s match {ref}: {', '.join(matches)}",
                    name,
                    tuple(f"{ref.kind}:{m}" for m in matches),
                )
            )
        else:
            refs[name] = f"{ref.kind}:{matches[0]}"
    names_by_ref: dict[str, list[str]] = {}
    for name, target in refs.items():
        names_by_ref.setdefault(target, []).append(name)
    for target, names in sorted(names_by_ref.items()):
        if len(names) > 1:
            for name in names:
                del refs[name]
                conflicts.append(
                    Conflict(
                        None,
                        ConflictReason.AMBIGUOUS_DESTINATION,
                        f"{target} is named by several destinations: {', '.join(names)}",
                        name,
                        (target,),
                    )
                )
    return refs, conflicts


def place_names(kind: DestinationKind, items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """ "kind:<id>" -> the vendor's name, for the items that have both a usable id and a non-empty name."""
    names = {}
    for item in items:
        ident, name = item.get("id"), item.get("name")
        usable = isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident) != ""
        if usable and isinstance(name, str) and name.strip():
            names[f"{kind}:{ident}"] = name.strip()
    return names


def member_emails(members: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """User id -> the member's email (as the vendor spells it, trimmed), for members that have both."""
    emails = {}
    for member in members:
        user, email = member.get("user_id"), member.get("email")
        if user not in (None, "") and not isinstance(user, bool) and isinstance(email, str) and email.strip():
            emails[str(user)] = email.strip()
    return emails


def resolve_owners(
    owners: Mapping[str, str], members: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, str], list[Conflict]]:
    """Spec owner name -> user id, matching emails case-insensitively; unknown or shared emails conflict."""
    users: dict[str, set[str]] = {}
    for member in members:
        email, user = member.get("email"), member.get("user_id")
        if isinstance(email, str) and user is not None:
            users.setdefault(email.strip().lower(), set()).add(str(user))
    resolved: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for name in sorted(owners):
        email = owners[name].strip().lower()
        found = sorted(users.get(email, ()))
        if not found:
            conflicts.append(
                Conflict(None, ConflictReason.UNKNOWN_OWNER, f"{owners[name]} is not a member of the workspace", name)
            )
        elif len(found) > 1:
            conflicts.append(
                Conflict(
                    None,
                    ConflictReason.AMBIGUOUS_OWNER,
                    f"{len(found)} workspace members have the email {owners[name]}",
                    name,
                )
            )
        else:
            resolved[name] = found[0]
    names_by_user: dict[str, list[str]] = {}
    for name, user in resolved.items():
        names_by_user.setdefault(user, []).append(name)
    for names in names_by_user.values():
        if len(names) > 1:
            for name in names:
                del resolved[name]
                conflicts.append(
                    Conflict(
                        None,
                        ConflictReason.AMBIGUOUS_OWNER,
                        f"owners {', '.join(names)} are the same workspace member",
                        name,
                    )
                )
    return resolved, conflicts


def read_snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in a snapshot file; SnapshotError naming the file when it cannot be one."""
    name = os.fspath(path)
    try:
        data = loads_bounded(decode(read_bounded(path)))
    except OSError as exc:
        raise SnapshotError(f"{name}: cannot read the snapshot: {exc.strerror or exc}") from None
    except DocumentTooLarge as exc:
        raise SnapshotError(f"{name}: {exc}, the most a snapshot may be") from None
    except JsonTooDeep as exc:
        raise SnapshotError(f"{name}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{name}: not a snapshot: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{name}: not a snapshot: the file is not UTF-8 text") from None
    if not isinstance(data, dict):
        raise SnapshotError(f"{name}: not a snapshot: a JSON object is expected")
    return data


def _records(data: Mapping[str, Any], field: str, source: str, required: tuple[str, ...]) -> list[Mapping[str, Any]]:
    items = data.get(field, [])
    if not isinstance(items, list):
        raise SnapshotError(f"{source}: {field}: a list is expected")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SnapshotError(f"{source}: {field}[{i}]: an object is expected")
        for attr in required:
            value = item.get(attr)
            if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
                raise SnapshotError(f"{source}: {field}[{i}]: {attr!r} is missing or not a string")
    return items


def resolve_snapshot(
    data: Mapping[str, Any],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    key_kind: KeyKind,
    account_group: str | None = None,
    source: str = "snapshot",
) -> ResolvedWorkspace:
    """Remote state for a spec from snapshot `data` (Instantly, or Sonarly when it has account_groups)."""
    sonarly = "account_groups" in data
    if sonarly != (key_kind is KeyKind.LINKEDIN):
        vendor = "a Sonarly snapshot (it has account_groups)" if sonarly else "an Instantly snapshot"
        raise SnapshotError(f"{source}: {vendor} cannot serve a workspace keyed by {key_kind.value}")
    if sonarly:
        return _sonarly(data, destinations, account_group, source)
    return _instantly(data, destinations, owners, source)


def _instantly(
    data: Mapping[str, Any], destinations: Mapping[str, DestinationRef], owners: Mapping[str, str], source: str
) -> ResolvedWorkspace:
    catalogue = {
        "campaign": _records(data, "campaigns", source, ("id",)),
        "list": _records(data, "lists", source, ("id",)),
    }
    refs, conflicts = resolve_destinations(destinations, catalogue)
    members = _records(data, "members", source, ("user_id",))
    owner_ids, owner_conflicts = resolve_owners(owners, members)
    name_of_ref = {ref: name for name, ref in refs.items()}
    name_of_user = {user: name for name, user in owner_ids.items()}
    normalise = KeyKind.EMAIL.normalise_function()  # hot loop: once per record of every read
    with paused_gc():
        remote = [_instantly_record(lead, normalise, name_of_ref, name_of_user)
                  for lead in _records(data, "leads", source, ("id",))]  # fmt: skip
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


def _instantly_record(
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


def _sonarly(
    data: Mapping[str, Any], destinations: Mapping[str, DestinationRef], account_group: str | None, source: str
) -> ResolvedWorkspace:
    group = _account_group(_records(data, "account_groups", source, ("id",)), account_group, source)
    audiences = [a for a in _records(data, "audiences", source, ("id",)) if str(a.get("account_group_id")) == group]
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
    for prospect in _records(data, "prospects", source, ("id",)):
        audience = str(prospect.get("audience_id"))
        if audience not in ours:  # another account group's: not this workspace
            continue
        key = KeyKind.LINKEDIN.normalise(prospect.get("publicIdentifier")) or KeyKind.LINKEDIN.normalise(
            prospect.get("linkedinUrl")
        )
        where = f"audience:{audience}"
        remote.append(RemoteLead(str(prospect["id"]), key, name_of_ref.get(where, where)))
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


def load_snapshot(
    path: str | os.PathLike[str],
    *,
    destinations: Mapping[str, DestinationRef],
    owners: Mapping[str, str],
    key_kind: KeyKind,
    account_group: str | None = None,
) -> ResolvedWorkspace:
    """`read_snapshot` then `resolve_snapshot`, errors naming the file."""
    return resolve_snapshot(
        read_snapshot(path),
        destinations=destinations,
        owners=owners,
        key_kind=key_kind,
        account_group=account_group,
        source=os.fspath(path),
    )
