"""leadsync: lead routing as code."""

from leadsync.errors import LeadsyncError, Location, Problem, SpecError

__version__ = "0.1.0"

__all__ = sorted(["LeadsyncError", "Location", "Problem", "SpecError", "__version__"])
