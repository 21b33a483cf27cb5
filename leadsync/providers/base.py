"""The narrow interface between leadsync and a vendor: read the workspace, build the request for one change,
send it, wait for what it started. Capabilities are data (`leadsync.state.Capabilities`).

Building a request is pure, so `apply --dry-run` prints exactly what `apply` would send. Places are vendor
references (`campaign:<id>`, `list:<id>`, `audience:<id>`) and owners user ids: the applier resolves the plan's
names; providers never see the planner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from leadsync.providers.stats import CallStats
from leadsync.state import Capabilities, DestinationRef, ResolvedWorkspace


@dataclass(frozen=True)
class WriteRequest:
    """One write call: what to send, and a one-line summary fit for any log (emails masked)."""

    method: str
    path: str
    endpoint: str  # the path template the sandbox and the plan count by, e.g. "POST /api/v2/leads/move"
    body: Mapping[str, Any]
    summary: str
    keys: tuple[str, ...] = ()  # the people it concerns (for journals and reports; never printed unmasked)


@dataclass(frozen=True)
class WriteResult:
    """What a write started: a background job to wait for, or a change still to confirm by reading back."""

    request: WriteRequest
    job_id: str | None = None
    answer: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewLead:
    """A lead record to create: its key, its owner's user id (None: unassigned), and its spec fields.

    `elsewhere`: the person already has a record outside the target (a `claim: add`), so the vendor must not be
    asked to skip people it already knows."""

    key: str
    owner_id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    elsewhere: bool = False


class Provider(Protocol):
    name: str
    capabilities: Capabilities

    @property
    def stats(self) -> CallStats: ...

    def read(
        self, *, destinations: Mapping[str, DestinationRef], owners: Mapping[str, str], wanted: Iterable[str] = ()
    ) -> ResolvedWorkspace: ...

    def read_data(
        self, *, destinations: Mapping[str, DestinationRef], wanted: Iterable[str] = ()
    ) -> dict[str, Any]: ...

    @property
    def origin(self) -> str:
        """`scheme://host:port` of the API this provider talks to, spelt one way (`_http.origin`)."""
        ...

    def identity(self) -> str:
        """The workspace as the vendor names it, `<provider>:<id>` (`instantly:<workspace id>`, `sonarly:<account
        group id>`): the same whatever the base URL's spelling or the key's variable, for the apply lock. A
        ProviderError when the vendor reports none."""
        ...

    def move_request(
        self, *, ids: Sequence[str], keys: Sequence[str], source: str, target: str, owner_id: str | None
    ) -> WriteRequest: ...

    def add_request(self, *, target: str, leads: Sequence[NewLead]) -> WriteRequest: ...

    def assign_request(
        self, *, ids: Sequence[str], keys: Sequence[str], destination: str, owner_id: str
    ) -> WriteRequest: ...

    def remove_request(self, *, ids: Sequence[str], keys: Sequence[str], destination: str) -> WriteRequest: ...

    def send(self, request: WriteRequest) -> WriteResult: ...

    def wait(self, result: WriteResult) -> None: ...

    def close(self) -> None: ...
