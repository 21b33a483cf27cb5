"""The sandbox's part of the error tree (see leadsync.errors).

LeadsyncError
└── SandboxError         the sandbox cannot start or serve as asked (a non-loopback host, a state of the
    │                    other vendor, a port in use)
    ├── SeedError        a seed or state is not valid JSON or not in the seed format; names the file
    └── FaultSpecError   a --faults spec cannot be parsed
"""

from __future__ import annotations

from leadsync.errors import LeadsyncError, ProblemsError


class SandboxError(LeadsyncError):
    """The sandbox cannot start or serve as asked."""


class SeedError(ProblemsError, SandboxError):
    """A seed (or a saved state) is unreadable or not in the seed format; every problem, each with its file."""


class FaultSpecError(SandboxError):
    """A faults spec (`--faults`) has bad syntax or values."""
