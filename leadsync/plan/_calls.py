"""Predicted API calls of a plan, by endpoint, and the time the rate limit alone needs for them.

The endpoints and what each call costs are the vendor's data (`Capabilities.calls`, a `CallModel` from the
vendor's registry entry): this module names none. The read model (a floor: retries, and the extra empty page
some listings need, come on top):

- the catalogue: one page each of the vendor's catalogue listings (its places and members);
- every managed destination listed once: max(1, ceil(records / page_size)) pages;
- the records found outside managed destinations: ceil(records / page_size) pages;
- each write call, and what it costs beyond itself (a move that runs as a background job: one poll of it).

Time: calls / requests_per_second, or calls / requests_per_minute minutes when that is longer. It ignores
latency and how long jobs take: it is the floor the vendor's rate limit sets, not a forecast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from leadsync.plan._model import Calls, Operation
from leadsync.state import CallModel, Capabilities

#: a plan made with capabilities that name no call model counts its operations under their own names
_UNNAMED = CallModel()


def _pages(records: int, page_size: int) -> int:
    return -(-records // max(1, page_size))


def predict_calls(
    operations: Iterable[Operation],
    *,
    destination_sizes: Mapping[str, int],
    outside_records: int,
    capabilities: Capabilities,
    lower_bound: int,
) -> Calls:
    """The calls a plan needs: its writes and what they cost (job polls), and the reads that found the state it
    is based on, named as `capabilities.calls` names them."""
    model = capabilities.calls or _UNNAMED
    by_endpoint: Counter[str] = Counter()
    writes = 0
    for op in operations:
        writes += 1
        by_endpoint.update(model.write_calls(op.op))
    by_endpoint.update(model.catalogue)
    lists = sum(max(1, _pages(n, capabilities.page_size)) for n in destination_sizes.values())
    lists += _pages(outside_records, capabilities.page_size)
    if lists:
        by_endpoint[model.list_leads] += lists
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
