"""The fingerprint of the remote facts a plan depends on, so that apply can refuse a stale plan.

It covers every record in a managed destination, and the records outside managed destinations of the
people the plan does something about (ops, held, conflicts, unsupported): those are the only outside
records that can change what the plan says. Each record contributes (id, key, destination, owner,
statuses); records are sorted, so the order they were fetched in does not matter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable

from leadsync.state import RemoteLead

_VERSION = "leadsync-fingerprint-1"
_NONE = "\x00"  # stands for None in a row, so that every row is all strings and rows always sort


def remote_fingerprint(
    remote: Iterable[RemoteLead], *, managed: Collection[str], outside_keys: Collection[str] = ()
) -> str:
    """sha256 (hex) over the records in `managed` destinations and the outside records of `outside_keys`."""
    managed = managed if isinstance(managed, (set, frozenset)) else frozenset(managed)
    outside = outside_keys if isinstance(outside_keys, (set, frozenset)) else frozenset(outside_keys)
    rows: list[tuple[str, str, str, str, str]] = []
    append = rows.append
    for r in remote:
        if r.destination in managed or (r.key is not None and r.key in outside):
            owner = r.owner
            append(
                (
                    r.id,
                    _NONE if r.key is None else r.key,
                    r.destination,
                    _NONE if owner is None else owner,
                    ",".join(sorted(r.statuses)) if r.statuses else "",
                )
            )
    rows.sort()
    text = json.dumps([_VERSION, sorted(managed), rows], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
