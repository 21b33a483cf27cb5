"""The one error tree of leadsync.

Library code raises these; only the CLI prints them (one line each, exit 1).

    LeadsyncError
    ├── ProblemsError            carries every located Problem at once
    │   ├── SpecError            a spec or one of its sources is invalid
    │   └── RoutingError         lead data a route cannot evaluate (a number expected, text found)
    ├── PlanError                a plan document that cannot be read, or a plan that cannot be made
    │   ├── UnsafePlanError      (leadsync.plan) changes over max_change_ratio without --force
    │   └── SnapshotError        (leadsync.snapshot) a snapshot file not in the seed format
    └── ProviderError            a vendor API refused or failed a request (its message, never the key)
        ├── CredentialsError     no key in the environment variable the spec names, or a refused key (401)
        ├── AccessError          402 (plan), 403 (a missing scope), 404 (what was not found)
        └── UnavailableError     the vendor kept failing (429, 5xx, connection) past the retry budget
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Where something came from: a file and, when known, a 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the input, and where."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo of `value` most likely meant, for a message's "did you mean"; None if none is close."""
    found = difflib.get_close_matches(value, sorted(set(candidates)), n=1)
    return found[0] if found else None


class LeadsyncError(Exception):
    """Base of every error leadsync raises on purpose."""


class ProblemsError(LeadsyncError):
    """An error that reports every problem found, each with its location."""

    #: how many problems str() shows before summarising the rest
    shown = 50

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [str(p) for p in self.problems[: self.shown]]
        hidden = len(self.problems) - self.shown
        if hidden > 0:
            lines.append(f"... and {hidden} more problem{'s' if hidden != 1 else ''}")
        return "\n".join(lines)


class SpecError(ProblemsError):
    """A spec, or a source it names, is invalid."""


class RoutingError(ProblemsError):
    """Routing met lead data it cannot evaluate."""


class PlanError(LeadsyncError):
    """A plan document cannot be read or a plan cannot be made."""


class ProviderError(LeadsyncError):
    """A vendor API refused or failed a request."""


class CredentialsError(ProviderError):
    """The API key is missing from the environment, or the vendor refused it."""


class AccessError(ProviderError):
    """The vendor answered 402, 403 or 404: the account, the key's scopes or the thing asked for."""


class UnavailableError(ProviderError):
    """The vendor kept failing (rate limit, 5xx, dropped connections) past the retry budget."""
