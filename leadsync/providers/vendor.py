"""A vendor as the rest of leadsync sees it: one frozen `Vendor` per vendor, listed by `leadsync.providers.registry`.

Everything outside `leadsync/providers/` (and the sandbox) that depends on which vendor a workspace is at asks
its `Vendor`: what the vendor can do and what its calls are named and cost (`capabilities`, with a `CallModel`),
which destination kinds it has, whether it has owners or needs an account group, the environment variables a
user sets, the lead columns `leadsync import` keeps, how a snapshot of it is recognised and decoded into the
vendor-neutral `ResolvedWorkspace`, and how its live provider is connected. This module imports no HTTP code:
the spec checks and the schema read it, so the factories import their provider when called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from leadsync.progress import SILENT, Progress
from leadsync.state import Capabilities, DestinationKind, DestinationRef, KeyKind, ResolvedWorkspace

if TYPE_CHECKING:  # the protocol's module imports the HTTP client: only for the type
    from leadsync.providers.base import Provider


class Decoder(Protocol):
    """A snapshot (the sandbox seed format) of one vendor's workspace, resolved against a spec's names."""

    def __call__(
        self,
        data: Mapping[str, Any],
        *,
        destinations: Mapping[str, DestinationRef],
        owners: Mapping[str, str],
        account_group: str | None,
        source: str,
    ) -> ResolvedWorkspace: ...


class Connect(Protocol):
    """The live provider of the workspace at `base_url`, with `api_key` (named `key_source` in messages)."""

    def __call__(
        self,
        base_url: str,
        api_key: str,
        key_source: str,
        *,
        account_group: str | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> Provider: ...


class FromEnvironment(Protocol):
    """The live provider with the key from `$api_key_env` and the base URL from `Vendor.base_url_env`."""

    def __call__(
        self,
        api_key_env: str,
        *,
        account_group: str | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> Provider: ...


@dataclass(frozen=True)
class Vendor:
    """One vendor's facts, as data (see the module docstring and docs/design.md, "Providers")."""

    name: str  # the spec's `workspace.provider` and the plan's `workspace.api`: "instantly"
    title: str  # how messages name it: "Instantly"
    key_kind: KeyKind  # what identifies a person there
    capabilities: Capabilities  # what it can do, its rate limit, and its calls' names and costs
    destination_kinds: tuple[DestinationKind, ...]  # the kinds of place a spec may name there
    has_owners: bool  # whether its lead records have an owner (spec owners, pools, route owners)
    needs_account: bool  # whether a workspace must name an account group (`workspace.account_group`)
    key_env_example: str  # the example variable name a message suggests for `api_key_env`
    base_url_env: str  # the environment variable that may point leadsync at another base URL
    lead_columns: tuple[str, ...]  # the record fields `leadsync import` keeps beside the key, as CSV columns
    snapshot_name: str  # how a message names a snapshot of it: "an Instantly snapshot"
    #: whether a snapshot is this vendor's; None for the vendor a snapshot no other vendor claims is (the default)
    claims: Callable[[Mapping[str, Any]], bool] | None
    decode: Decoder  # a snapshot of it -> remote state for a spec
    lead_records: Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]  # a snapshot's lead records, raw
    connect: Connect
    from_environment: FromEnvironment

    def capped(self, max_rate: float | None = None) -> Capabilities:
        """The capabilities with leadsync's own request rate capped at `max_rate` per second (and 60 times that a
        minute) when given: a share of the vendor's limit."""
        return capped(self.capabilities, max_rate)

    def allows(self, kind: str) -> bool:
        """Whether a spec destination of `kind` (campaign, list, audience) can be at this vendor."""
        return kind in self.destination_kinds


def capped(caps: Capabilities, max_rate: float | None) -> Capabilities:
    """`caps` with the request rate capped at `max_rate` a second (and 60 times that a minute), when given."""
    if max_rate is None:
        return caps
    # whole requests per window, rounded down, as the limiter counts them: never faster than asked, and the
    # plan's predicted time is the limiter's (1.5/s runs at 1 a second, 90 a minute)
    return replace(caps, requests_per_second=min(caps.requests_per_second, max(1, math.floor(max_rate))),
                   requests_per_minute=min(caps.requests_per_minute, math.floor(max_rate * 60)))  # fmt: skip
