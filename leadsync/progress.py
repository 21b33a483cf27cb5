"""Progress of long work, reported as events: only the CLI turns them into lines or a live display.

Long-running code (a provider's read, the applier, `leadsync.workflow`) is given a `Progress` and calls it; the
default, `SILENT`, does nothing, so library callers and tests need not care. Events come from many threads (the
read's listings, the applier's senders and waiters): an implementation locks what it keeps.

A phase is one of `PHASES`; it starts with the totals known for it (`{"writes": 512}`; `eta` names the counter
whose total gives an ETA), counters are advanced while it runs (`calls`, `pages`, `leads`, `destinations`,
`writes`, `jobs`, `moved`, `added`, `assigned`, `removed`), and it ends with a summary ("Read 50,000 leads in 14
destinations"), to which a renderer adds the calls and the time it took. A counter may be advanced for a `part` of
the phase too — a destination of a read, by its spec name: its `pages` and `leads`, and `destinations` once it is
read whole. Counters carry counts only: never an email, never a key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

#: the phases, in the order an apply goes through them
PHASES = ("read", "plan", "write", "wait", "verify")


class Progress(Protocol):
    def started(self, phase: str, *, totals: Mapping[str, int] | None = None, eta: str | None = None) -> None:
        """`phase` (one of PHASES) begins; `totals`: what is known of its size; `eta`: the counter of `totals`
        whose progress gives the time left."""

    def advanced(self, counter: str, amount: int = 1, *, part: str | None = None) -> None:
        """`counter` of the running phase (and of its `part`, if given) went up by `amount` (outside a phase:
        ignored)."""

    def ended(self, summary: str = "", *, failed: bool = False) -> None:
        """The running phase is over; `summary` says what it did (counts and names from the spec only). `failed`:
        it ended with an error, which the caller reports."""


class Silent:
    """The default progress: nothing is shown."""

    def started(self, phase: str, *, totals: Mapping[str, int] | None = None, eta: str | None = None) -> None:
        pass

    def advanced(self, counter: str, amount: int = 1, *, part: str | None = None) -> None:
        pass

    def ended(self, summary: str = "", *, failed: bool = False) -> None:
        pass


SILENT: Progress = Silent()


class Summary:
    """What a phase will say when it ends; set by the work inside `phase()` once it knows."""

    def __init__(self, text: str = "") -> None:
        self.text = text


@contextmanager
def phase(
    progress: Progress, name: str, *, totals: Mapping[str, int] | None = None, eta: str | None = None
) -> Iterator[Summary]:
    """`progress.started(...)`, then `ended(summary.text)`; an error ends the phase too, as failed."""
    summary = Summary()
    progress.started(name, totals=totals, eta=eta)
    try:
        yield summary
    except BaseException:
        progress.ended(failed=True)
        raise
    progress.ended(summary.text)
