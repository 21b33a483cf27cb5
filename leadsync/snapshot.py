"""Resolving a spec's names against a workspace's catalogue, and snapshot files read within their budgets.

Vendor-neutral: nothing here knows a vendor's record fields or status codes. A vendor's decoder
(`leadsync.providers`, `Vendor.decode`) turns its snapshot into remote state with these helpers, and so does its
live provider: names are matched exactly, emails case-insensitively, and anything unknown or ambiguous is a
Conflict, never a guess. Reading a snapshot and picking the vendor whose it is: `leadsync.providers.load_snapshot`.
Pure apart from `read_snapshot` reading the file. The remote state itself lives in `leadsync.state`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from leadsync.errors import DocumentTooLarge, JsonTooDeep, SnapshotError
from leadsync.jsontext import decode, loads_bounded, read_bounded
from leadsync.state import Conflict, ConflictReason, DestinationKind, DestinationRef, ResolvedWorkspace

__all__ = [
    "DestinationKind",
    "DestinationRef",
    "ResolvedWorkspace",
    "member_emails",
    "place_names",
    "read_snapshot",
    "records",
    "resolve_destinations",
    "resolve_owners",
]


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


def member_emails(members: Iterable[tuple[object, object]]) -> dict[str, str]:
    """User id -> the member's email (as the vendor spells it, trimmed), from (user id, email) pairs, for the
    members that have both."""
    emails = {}
    for user, email in members:
        if user not in (None, "") and not isinstance(user, bool) and isinstance(email, str) and email.strip():
            emails[str(user)] = email.strip()
    return emails


def resolve_owners(
    owners: Mapping[str, str], members: Iterable[tuple[object, object]]
) -> tuple[dict[str, str], list[Conflict]]:
    """Spec owner name -> user id, from the workspace's (user id, email) pairs, matching emails
    case-insensitively; unknown or shared emails conflict."""
    users: dict[str, set[str]] = {}
    for user, email in members:
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


def records(data: Mapping[str, Any], field: str, source: str, required: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """The list of objects at `data[field]` (none: empty), each with the `required` attributes a non-empty string
    or number; a SnapshotError naming `source` and the item otherwise."""
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
