"""Predicted API calls of a plan, by endpoint, and the time the rate limit alone needs for them.

The read model (a floor: retries, and the extra empty page some listings need, come on top):

- the catalogue: one page each of the vendor's catalogue listings (Instantly: campaigns, lead lists,
  workspace members; Sonarly: account groups, audiences);
- every managed destination listed once: max(1, ceil(records / page_size)) pages;
- the records found outside managed destinations: ceil(records / page_size) pages;
- Instantly moves run as background jobs: at least one `GET /api/v2/background-jobs/{id}` per move call.

Time: calls / requests_per_second, or calls / requests_per_minute minutes when that is longer. It ignores
latency and how long jobs take: it is the floor the vendor's rate limit sets, not a forecast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from leadsync.plan._model import Calls, Operation
from leadsync.state import Capabilities


@dataclass(frozen=True, slots=True)
class _Api:
    writes: Mapping[str, str]  # op name -> endpoint
    list_leads: str
    catalogue: tuple[str, ...]
    job_poll: str | None  # polled once per move, when moves are background jobs


_APIS: dict[str, _Api] = {
    "instantly": _Api(
        writes={
            "move": "POST /api/v2/leads/move",
            "add": "POST /api/v2/leads/add",
            "assign": "POST /api/v2/leads/bulk-assign",
            "remove": "DELETE /api/v2/leads",
        },
        list_leads="POST /api/v2/leads/list",
        catalogue=("GET /api/v2/campaigns", "GET /api/v2/lead-lists", "GET /api/v2/workspace-members"),
        job_poll="GET /api/v2/background-jobs/{id}",
    ),
    "sonarly": _Api(
        # Sonarly can only move; the other kinds never reach a plan (capabilities), named here for safety
        writes={"move": "POST /v1/accounts/{accountGroupId}/audiences/{audienceId}/move-leads"},
        list_leads="GET /v1/accounts/{accountGroupId}/audiences/{audienceId}/prospects",
        catalogue=("GET /v1/accounts", "GET /v1/accounts/{accountGroupId}/audiences"),
        job_poll=None,  # move-leads answers when done
    ),
}


def _pages(records: int, page_size: int) -> int:
    return -(-records // max(1, page_size))


def predict_calls(
    operations: Iterable[Operation],
    *,
    destination_sizes: Mapping[str, int],
    outside_records: int,
    capabilities: Capabilities,
    api: str,
    lower_bound: int,
) -> Calls:
    """The calls a plan needs: its writes, the reads that found the state it is based on, and job polls."""
    vendor = _APIS.get(api, _APIS["instantly"])
    by_endpoint: Counter[str] = Counter()
    writes = 0
    for op in operations:
        writes += 1
        by_endpoint[vendor.writes.get(op.op, op.op)] += 1
        if op.op == "move" and vendor.job_poll:
            by_endpoint[vendor.job_poll] += 1
    for endpoint in vendor.catalogue:
        by_endpoint[endpoint] += 1
    lists = sum(max(1, _pages(n, capabilities.page_size)) for n in destination_sizes.values())
    lists += _pages(outside_records, capabilities.page_size)
    if lists:
        by_endpoint[vendor.list_leads] += lists
    total = sum(by_endpoint.values())
    return Calls(
        writes=writes,
        lower_bound=lower_bound,
        reads=total - writes,
        by_endpoint=dict(sorted(by_endpoint.items())),
        seconds=rate_limited_seconds(total, capabilities),
    )


def rate_limited_seconds(calls: int, capabilities: Capabilities) -> float:
    """Seconds `calls` requests take at the provider's rate limit (per second and per minute), 3 decimals."""
    seconds = 0.0
    if capabilities.requests_per_second > 0:
        seconds = calls / capabilities.requests_per_second
    if capabilities.requests_per_minute > 0:
        seconds = max(seconds, calls * 60.0 / capabilities.requests_per_minute)
    return round(seconds, 3)
