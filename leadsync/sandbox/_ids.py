"""Vendor-shaped identifiers and timestamps.

Instantly ids are UUIDv7 (time first, so sorting by id is sorting by creation, which its cursor pagination relies
on); background-job and Sonarly ids are 24-hex ObjectIds (seconds, then a per-process value, then a counter).
The random parts come from a seeded generator, so with a ManualClock the ids of a run are reproducible.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

#: the timestamp of seeded records that carry none (fixed, so that a state dump is reproducible)
SEED_TIME = "2025-01-01T00:00:00.000Z"
_NAMESPACE = uuid.UUID("6c3f6f2e-9f6b-4a39-9f61-5a1d1f1c2b7e")


def seeded_time(record_id: str) -> str:
    """The creation time of a seeded record that carries none, distinct per id: the vendor's lead-list cursor is a
    creation time, so lists seeded at one shared instant would make a page that ends among them skip the rest.
    SEED_TIME plus the id's value modulo 10**9 ms (11.6 days): ids seeded in sequence get consecutive times."""
    try:
        offset = uuid.UUID(record_id).int % 10**9
    except ValueError:
        offset = int(uuid.uuid5(_NAMESPACE, record_id).int % 10**9)
    return iso(datetime(2025, 1, 1, tzinfo=UTC).timestamp() + offset / 1000)


def iso(ts: float) -> str:
    """An ISO 8601 UTC timestamp with milliseconds, as the vendors write them."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def derived_uuid(*parts: str) -> str:
    """A stable id derived from other values (a membership id from a user id, a workspace id from a key)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


class IdMaker:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(f"leadsync-sandbox-ids/{seed}")
        self._last_uuid = 0
        self._oid_process = self._rng.getrandbits(40)
        self._oid_counter = self._rng.getrandbits(24)

    def uuid7(self, now: float) -> str:
        value = (int(now * 1000) & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76 | self._rng.getrandbits(12) << 64 | 0b10 << 62 | self._rng.getrandbits(62)
        if value <= self._last_uuid:  # several in one millisecond: keep ids increasing, as the vendor's sort needs
            value = self._last_uuid + 1
        self._last_uuid = value
        return str(uuid.UUID(int=value))

    def object_id(self, now: float) -> str:
        self._oid_counter = (self._oid_counter + 1) & 0xFFFFFF
        return f"{int(now) & 0xFFFFFFFF:08x}{self._oid_process:010x}{self._oid_counter:06x}"
