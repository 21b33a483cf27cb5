"""The one error tree of leadsync: every exception it defines lives here.

Library code raises these; only the CLI prints them (one line each, exit 1, never a traceback, never a key).

    LeadsyncError
    ├── ProblemsError              carries every located Problem at once
    │   ├── SpecError              a spec or one of its sources is invalid
    │   ├── RoutingError           lead data a route cannot evaluate (a number expected, text found)
    │   └── SeedError              (also a SandboxError) a seed or saved state not in the seed format
    ├── PlanError                  a plan document that cannot be read, or a plan that cannot be made
    │   ├── UnsafePlanError        changes over max_change_ratio without --force
    │   └── SnapshotError          a snapshot file not in the seed format
    ├── ApplyError                 an apply that cannot go on (a refused write, a name that no longer resolves)
    │   └── PlanDiverged           what remains differs from the saved plan being applied
    ├── JournalError               the apply journal cannot be read or written
    ├── WorkspaceBusy              another apply holds the workspace's lock
    ├── UnsafePath                 a path leadsync would write through is a link, or not a regular file
    ├── SandboxError               the sandbox cannot start or serve as asked
    │   ├── SeedError
    │   └── FaultSpecError         a --faults spec cannot be parsed
    └── ProviderError              a vendor API refused or failed a request (its message, never the key)
        ├── CredentialsError       no key in the environment variable the spec names, or a refused key (401)
        │   └── KeyRefused         (also a VendorRefusal)
        ├── AccessError            402 (plan), 403 (a missing scope), 404 (what was not found)
        │   ├── AccessRefused      (also a VendorRefusal) 402 or 403
        │   └── NotFound           (also a VendorRefusal) 404
        ├── UnavailableError       the vendor kept failing (429, 5xx, connection) past the retry budget
        ├── AmbiguousWrite         a write whose outcome is unknown: re-read before acting again
        ├── AnswerTooBig           an answer over the client's body limit
        ├── AnswerTooSlow          an answer not whole within the client's deadline
        ├── AnswerUnreadable       an answer whose body cannot be decoded
        ├── WrongAnswer            a 2xx answer not in the shape leadsync reads
        ├── PagingRunaway          a listing the vendor pages without end
        ├── VendorRefusal          an error answer in the vendor's own words (status, code, message, trace id)
        │   ├── KeyRefused, AccessRefused, NotFound
        │   ├── DestinationNotReady  (also an OutcomeOpen) a destination still being populated (409)
        │   └── WriteRejected      a write refused for good (422): re-sending would only repeat it
        │       └── MovedMeanwhile (also an OutcomeOpen) part of a move left its source meanwhile
        └── OutcomeOpen            a write that may not have happened: re-read and re-plan, never re-send blindly
            ├── JobFailed          a background job ended failed (or cancelled)
            └── JobStalled         a background job did not finish in time
                └── AssignNotVisible  an accepted assign whose owners did not read back in time

Signals, caught where they are raised and never shown to a user as such:

    ValueError
    ├── JsonTooDeep                a JSON text nested deeper than its budget (located like JSONDecodeError)
    └── DocumentTooLarge           a file larger than its read budget
    Exception
    ├── NotANumber                 a numeric condition met text (routing turns it into a RoutingError)
    │   └── NotATime               a time matcher met a value that is not a date or a time
    ├── LineTooLong                a source line over its budget (the loader turns it into a SpecError)
    ├── QueryFailed                a source query refused or failed, located (the loader turns it into a SpecError)
    ├── PageBudgetSpent            a listing with more pages than allowed (the provider reports the cut)
    └── ApiError                   the sandbox's error answer (its HTTP layer turns it into a response)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Where something came from: a file and, when known, a 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return place(self.file, self.line, self.column)


#: a file label ending so names the rows of a query's result, whose "line" is a row: `queries/leads.sql, row 17`
RESULT_ROWS = ", row"


def place(file: str, line: int = 0, column: int = 0) -> str:
    """`FILE:LINE:COL`, `FILE:LINE` or `FILE`; for a query's result rows, `FILE, row N`."""
    if line and file.endswith(RESULT_ROWS):
        return f"{file} {line}"
    if line and column:
        return f"{file}:{line}:{column}"
    if line:
        return f"{file}:{line}"
    return file


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


# -- reading a plan, a snapshot, a spec's sources -------------------------------------------------------------------


class UnsafePlanError(PlanError):
    """A plan changes more of a destination than the policy allows; apply needs `--force`."""


class SnapshotError(PlanError):
    """A snapshot file that cannot be read or is not in the seed format."""


# -- apply ----------------------------------------------------------------------------------------------------------


class ApplyError(LeadsyncError):
    """An apply that cannot go on (a refused write, an owner or destination that no longer resolves)."""


class PlanDiverged(ApplyError):
    """What remains to do differs from the saved plan being applied: nothing beyond it is sent; plan again."""


class JournalError(LeadsyncError):
    """The journal cannot be read or written: the apply stops, having sent nothing it did not record first."""


class WorkspaceBusy(LeadsyncError):
    """Another apply holds the workspace's lock."""


class UnsafePath(LeadsyncError):
    """A path leadsync would write through is a link, or not the kind of file it should be."""


# -- vendors --------------------------------------------------------------------------------------------------------


class AmbiguousWrite(ProviderError):
    """A write whose outcome is unknown (timeout, dropped connection, 5xx): re-read before acting again."""


class AnswerTooBig(ProviderError):
    """An answer over the client's body limit."""


class AnswerTooSlow(ProviderError):
    """An answer that did not come whole within the client's deadline."""


class AnswerUnreadable(ProviderError):
    """An answer whose body cannot be decoded (a Content-Encoding it does not hold to)."""


class WrongAnswer(ProviderError):
    """A vendor's 2xx answer that is not the shape leadsync reads: the vendor, the endpoint and what was wrong."""


class PagingRunaway(ProviderError):
    """A listing the vendor pages without end."""


class OutcomeOpen(ProviderError):
    """The write did not happen, or may have partly happened: re-read and re-plan, never re-send blindly.

    What the applier settles by reading the workspace again, whatever the vendor: a job that failed or stalled,
    a destination still being populated past the provider's wait, leads moved by someone else meanwhile. A
    refusal that a re-read cannot change (a bad request, a permission) is a plain ProviderError instead.
    `job_ended`: the background job the write started is known to have ended (nothing of it runs on)."""

    job_ended: ClassVar[bool] = False


class JobFailed(OutcomeOpen):
    """A background job the vendor ran ended `failed` (or cancelled): re-read, then re-plan what remains."""

    job_ended = True


class JobStalled(OutcomeOpen):
    """A background job did not finish in time: its outcome is open, and it may still be running. `waited`:
    how long it was waited for (seconds)."""

    def __init__(self, message: str, *, waited: float = 0.0) -> None:
        super().__init__(message)
        self.waited = waited


class AssignNotVisible(JobStalled):
    """A bulk-assign was accepted, but its leads did not read back with the new owner within the wait:
    `left` of them after `reads` re-reads. Re-read, do not re-send: the vendor took the request."""

    def __init__(self, message: str, *, waited: float = 0.0, reads: int = 0, left: int = 0) -> None:
        super().__init__(message, waited=waited)
        self.reads, self.left = reads, left


class VendorRefusal(ProviderError):
    """An error answer in the vendor's own words: HTTP status, the vendor's code, its message, its trace id."""

    def __init__(self, text: str, *, status: int, code: str, message: str, trace_id: str | None) -> None:
        super().__init__(text)
        self.status, self.code, self.vendor_message, self.trace_id = status, code, message, trace_id


class KeyRefused(VendorRefusal, CredentialsError):
    """401: the key was refused."""


class AccessRefused(VendorRefusal, AccessError):
    """402 (the account's plan or credits) or 403 (a permission the key lacks)."""


class NotFound(VendorRefusal, AccessError):
    """404: what was asked for is not there (an account, a destination, or one not in this account)."""


class DestinationNotReady(VendorRefusal, OutcomeOpen):
    """A destination the vendor is still populating (a 409): nothing was done; re-read and re-plan later."""

    def after(self, waiting: str) -> DestinationNotReady:
        """The same answer, saying how long it was waited out."""
        return DestinationNotReady(
            f"{self}; {waiting}",
            status=self.status,
            code=self.code,
            message=self.vendor_message,
            trace_id=self.trace_id,
        )


class WriteRejected(VendorRefusal):
    """The vendor refused a write (a 422), and nothing in the workspace explains why (every lead is still where
    it was): a bad request or a permanent refusal, which re-sending would only repeat. Nothing was written."""


class MovedMeanwhile(WriteRejected, OutcomeOpen):
    """Leads of a move left its source meanwhile (someone else moved them: the vendor's 422 "not in the source").
    What could be moved was; the rest is for a re-read and re-plan to settle."""

    def __init__(self, text: str, *, cause: VendorRefusal | None = None) -> None:
        super().__init__(
            text,
            status=cause.status if cause else 422,
            code=cause.code if cause else "",
            message=cause.vendor_message if cause else "",
            trace_id=cause.trace_id if cause else None,
        )


# -- the sandbox ----------------------------------------------------------------------------------------------------


class SandboxError(LeadsyncError):
    """The sandbox cannot start or serve as asked."""


class SeedError(ProblemsError, SandboxError):
    """A seed (or a saved state) is unreadable or not in the seed format; every problem, each with its file."""


class FaultSpecError(SandboxError):
    """A faults spec (`--faults`) has bad syntax or values."""


class ApiError(Exception):
    """The sandbox's error answer, as the vendor it plays would send it: status, message, and a code and details."""

    def __init__(self, status: int, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.details = status, message, code, details


# -- signals --------------------------------------------------------------------------------------------------------


class JsonTooDeep(ValueError):
    """A JSON text nested deeper than its budget; located like `json.JSONDecodeError` (1-based line and column)."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        self.msg = msg
        self.doc = doc
        self.pos = pos
        self.lineno = doc.count("\n", 0, pos) + 1
        self.colno = pos - doc.rfind("\n", 0, pos)
        super().__init__(f"{msg}: line {self.lineno} column {self.colno} (char {pos})")

    def __reduce__(self) -> tuple[type[JsonTooDeep], tuple[str, str, int]]:
        return self.__class__, (self.msg, self.doc, self.pos)


class DocumentTooLarge(ValueError):
    """A file larger than the budget of `read_bounded`; `limit` is that budget in bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"larger than {limit // 2**20} MiB")


class NotANumber(Exception):
    """A numeric comparison met a value that is not a number (reported, never a silent miss)."""

    def __init__(self, attr: str, value: Any, condition: str) -> None:
        super().__init__(f"{attr}: {value!r} is not a number (needed by {condition})")
        self.attr = attr
        self.value = value
        self.condition = condition


class NotATime(NotANumber):
    """A time matcher met a value that is not a date or a time (reported like a number that is not one)."""

    def __init__(self, attr: str, value: Any, condition: str) -> None:
        Exception.__init__(self, f"{attr}: {value!r} is not a date or a time (needed by {condition})")
        self.attr = attr
        self.value = value
        self.condition = condition


class QueryFailed(Exception):
    """A source query that could not be run or read, at its place (the source reader makes it a SpecError)."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.problem = Problem(location, message)


class LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class PageBudgetSpent(Exception):
    """A listing that had more pages than it was allowed: `items`, what the allowed pages held."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(f"stopped after reading {len(items)} items")
        self.items = items
