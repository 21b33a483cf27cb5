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
_FIELD, _ROW, _NONE = "\x1f", "\x1e", "\x00"  # None (and "") is NUL: no key, no owner
_CHUNK = 65_536


def remote_fingerprint(
    remote: Iterable[RemoteLead], *, managed: Collection[str], outside_keys: Collection[str] = ()
) -> str:
    """sha256 (hex) over the records in `managed` destinations and the outside records of `outside_keys`."""
    records = remote if isinstance(remote, (list, tuple)) else list(remote)
    managed = managed if isinstance(managed, (set, frozenset)) else frozenset(managed)
    outside = outside_keys if isinstance(outside_keys, (set, frozenset)) else frozenset(outside_keys)
    # one joined string per record, sorted as strings: ~3x faster than tuples + json at a million records
    rows = [
        _FIELD.join(
            (r.id, r.key or _NONE, r.destination, r.owner or _NONE, ",".join(sorted(r.statuses)) if r.statuses else "")
        )
        for r in records
        if r.destination in managed or r.key in outside
    ]
    rows.sort()
    digest = _header(_VERSION, managed)
    for start in range(0, len(rows), _CHUNK):  # in chunks: no 100 MB string, then 100 MB of bytes
        chunk = rows[start : start + _CHUNK]
        text = (_ROW if start else "") + _ROW.join(chunk)
        if text.count(_FIELD) != 4 * len(chunk) or text.count(_ROW) != len(chunk) - (0 if start else 1):
            # a value holds a separator, so the joined text could be ambiguous: spell records out in JSON
            return _json_fingerprint(records, managed, outside)
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _header(encoding: str, managed: Collection[str]) -> hashlib._Hash:
    return hashlib.sha256(json.dumps([encoding, sorted(managed)], ensure_ascii=False).encode("utf-8"))


def _json_fingerprint(records: Iterable[RemoteLead], managed: Collection[str], outside: Collection[str]) -> str:
    rows = sorted(
        (r.id, r.key or _NONE, r.destination, r.owner or _NONE, ",".join(sorted(r.statuses)))
        for r in records
        if r.destination in managed or r.key in outside
    )
    digest = _header(_VERSION + "-json", managed)
    digest.update(json.dumps(rows, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
