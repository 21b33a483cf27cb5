"""`leadsync import`: a spec that reproduces a workspace as it is, so a team adopts leadsync with no big-bang
change — the first plan of the imported spec shows `No changes.`

Each lead goes into a CSV beside the new spec with the destination and owner it has now; one route per
(destination, owner) sends it back there. From then on the team edits routes, not the CSV.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from leadsync.providers import resolve_snapshot, vendor
from leadsync.spec import LoadedSpec
from leadsync.spec.models import Spec


@dataclass(frozen=True)
class Imported:
    spec_text: str
    csv_text: str
    leads: int
    skipped: Mapping[str, int]  # why -> how many records were left out


#: how a spreadsheet begins a formula: a vendor's first name `=HYPERLINK(...)` must open as text, not run
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A vendor's field as a CSV cell a spreadsheet opens as text: one that would begin a formula gets a leading
    apostrophe (OWASP's advice). Only the fields' columns: the key and the imported place and owner, which the
    imported routes match, are written as they are (a key cannot begin with `@`, nor hold a formula's parentheses)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _owner_names(emails: list[str], known: Mapping[str, str]) -> dict[str, str]:
    """A spec name per owner email: the spec's own name when it has one, else the email's local part."""
    names: dict[str, str] = {}
    used = set(known.values())
    for email in sorted(emails):
        if email in known:
            names[email] = known[email]
            continue
        base = re.sub(r"[^A-Za-z0-9_.\-]+", "-", email.partition("@")[0]).strip("-.") or "owner"
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        names[email] = name
    return names


def import_workspace(loaded: LoadedSpec, data: Mapping[str, Any], csv_name: str) -> Imported:
    """The spec (YAML text) and its leads (CSV text) reproducing the destinations of `loaded` in `data`."""
    spec: Spec = loaded.spec
    from leadsync.workflow import destination_refs  # late: workflow imports this module's siblings

    resolved = resolve_snapshot(data, destinations=destination_refs(spec), owners={}, key_kind=spec.key_kind,
                                account_group=spec.workspace.account_group, source="the workspace")  # fmt: skip
    skipped: Counter[str] = Counter()
    per_key: dict[str, list[Any]] = {}
    for record in resolved.remote:
        if record.destination not in resolved.managed:
            continue
        if record.key is None:
            skipped["no email or profile (never touched)"] += 1
            continue
        per_key.setdefault(record.key, []).append(record)
    members = {user: email.lower() for user, email in resolved.member_emails.items()}
    known = {owner.email.strip().lower(): name for name, owner in spec.owners.items()}
    emails = sorted({members[r[0].owner] for r in per_key.values() if len(r) == 1 and r[0].owner in members})
    owner_of = _owner_names(emails, known)
    at = vendor(spec.vendor)  # the vendor's facts: whether it has owners, the record fields a lead keeps
    columns, has_owners = at.lead_columns, at.has_owners
    raw = {str(item.get("id")): item for item in at.lead_records(data)}
    key_column = spec.key_kind.value
    rows = []
    former: dict[str, set[str]] = {}  # destination -> user ids that own leads there but are no longer members
    for key in sorted(per_key):
        records = per_key[key]
        if len(records) > 1:
            skipped["in several managed destinations (a conflict to settle by hand)"] += len(records)
            continue
        record = records[0]
        owner = owner_of.get(members.get(record.owner or "", ""), "") if has_owners else ""
        if has_owners and record.owner and not owner:
            # a former member's lead (a vendor keeps the owner when a member leaves): imported where it
            # is with its owner left alone (a route with no owner), the user id kept in the CSV for the record
            owner = record.owner
            former.setdefault(record.destination, set()).add(owner)
        fields = raw.get(record.id, {})
        rows.append([key, *(_cell(fields.get(c) or "") for c in columns), record.destination, owner])

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # csv quotes a field holding the line terminator, "\n" here, but not a lone CR, which a reader takes for a
    # line break: a row with one is written with every field quoted
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([key_column, *columns, "imported_destination", *(["imported_owner"] * has_owners)])
    for row in rows:
        kept = row if has_owners else row[:-1]
        (quoted if any("\r" in str(cell) for cell in kept) else writer).writerow(kept)

    routes = []
    for destination, owner in sorted({(row[-2], row[-1]) for row in rows if row[-1] not in former.get(row[-2], ())}):
        when: dict[str, Any] = {"imported_destination": destination}
        route: dict[str, Any] = {"name": destination, "when": when, "to": destination}
        if has_owners:
            when["imported_owner"] = owner if owner else {"exists": False}
            route["name"] = f"{destination}-{owner or 'unowned'}"
        if owner:
            route["owner"] = owner
        routes.append(route)
    for destination, users in sorted(former.items()):
        routes.append({"name": f"{destination}-former-members",
                       "when": {"imported_destination": destination, "imported_owner": sorted(users)},
                       "to": destination})  # fmt: skip
    taken: set[str] = set()
    for route in routes:  # an owner may be named like a suffix ("unowned", "former-members"): keep names unique
        name, n = route["name"], 2
        while route["name"] in taken:
            route["name"], n = f"{name}-{n}", n + 1
        taken.add(route["name"])
    document: dict[str, Any] = {
        "version": 1,
        "workspace": spec.workspace.model_dump(exclude_none=True),
        "destinations": {name: d.model_dump(exclude_none=True) for name, d in spec.destinations.items()},
    }
    if has_owners:
        document["owners"] = {owner_of[email]: {"email": email} for email in emails}
    document["sources"] = [{"path": csv_name}]
    document["routes"] = routes or [{"name": "nothing-yet", "when": {"imported_destination": {"exists": True}},
                                     "to": next(iter(spec.destinations))}]  # fmt: skip
    document["policy"] = {**spec.policy.model_dump(mode="json"), "unmanaged": "keep"}
    if spec.workspace.seed is not None:
        document["workspace"]["seed"] = spec.workspace.seed
    text = "# Imported by `leadsync import`: each lead goes back where it is now. Edit the routes.\n"
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    return Imported(text, out.getvalue(), len(rows), dict(skipped))
