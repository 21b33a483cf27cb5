"""Apply: carry out a plan, journalled, under a lock, settling every open outcome by a re-read."""

from leadsync.apply.applier import Applier, ApplyReport, requests_for
from leadsync.apply.journal import Journal, Unfinished
from leadsync.apply.lock import WorkspaceLock
from leadsync.errors import ApplyError, PlanDiverged, WorkspaceBusy

__all__ = [
    "Applier",
    "ApplyError",
    "ApplyReport",
    "Journal",
    "PlanDiverged",
    "Unfinished",
    "WorkspaceBusy",
    "WorkspaceLock",
    "requests_for",
]
