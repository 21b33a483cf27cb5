"""What long work shows on stderr (issue #16): the renderers of `leadsync.progress` events, for cli.py.

On a terminal, a live display (rich): the phase, a bar where its size is known, its counts, rate, elapsed time
and ETA. Without one (CI logs), plain lines: one when a phase starts, one every `interval` seconds while it runs
(Terraform's "Still reading... [20s elapsed, ...]"), and one when it ends ("Read 50,000 leads in 14
destinations: 512 calls, 12.3 s"). Nothing is shown before the command has run `DELAY` seconds: a quick one
prints only its result. `--quiet` shows nothing; stdout is never written to.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from leadsync.progress import SILENT, Progress

#: seconds between two "Still ..." lines without a terminal; LEADSYNC_PROGRESS_INTERVAL changes it (tests)
INTERVAL = 10.0
#: the seconds over which the rate shown is measured
RATE_SPAN = 10.0
#: seconds a command runs before its progress is first shown: one done sooner prints none of it;
#: LEADSYNC_PROGRESS_DELAY changes it
DELAY = 2.0
#: phase -> (how it starts, its verb in "Still ...", what it did when it ends without a summary)
LABELS = {
    "read": ("Reading the workspace", "reading", "Read the workspace"),
    "plan": ("Planning", "planning", "Planned"),
    "write": ("Sending the writes", "writing", "Sent the writes"),
    "wait": ("Waiting for background jobs", "waiting", "Background jobs done"),
    "verify": ("Re-reading the workspace to verify", "verifying", "Re-read the workspace"),
}
#: the order counters are shown in; those with a total read "3 of 14 destinations"
SHOWN = ("destinations", "writes", "jobs", "leads", "moved", "added", "assigned", "removed", "pages", "calls")
#: how a counter reads after its number
WORDS = {
    "destinations": "destinations",
    "writes": "writes",
    "jobs": "done",
    "leads": "leads",
    "moved": "leads moved",
    "added": "leads added",
    "assigned": "leads assigned",
    "removed": "leads removed",
    "pages": "pages",
    "calls": "calls",
}


@dataclass
class Phase:
    """A running phase and what it counted so far."""

    name: str
    started: float
    totals: Mapping[str, int] = field(default_factory=dict)
    eta: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    parts: dict[str, Counter[str]] = field(default_factory=dict)  # a read's destinations, by spec name
    #: (when, calls) as the display ticks, over the last RATE_SPAN seconds: the rate shown is the recent one
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def sample(self, now: float) -> None:
        self.samples.append((now, self.counts.get("calls", 0)))
        while self.samples and self.samples[0][0] < now - RATE_SPAN:
            self.samples.popleft()

    def rate(self, now: float) -> float | None:
        """Calls a second over the last RATE_SPAN seconds (a limiter's first burst is not a rate), or since the
        phase began when it has not ticked for a second yet; None before a second has passed."""
        calls = self.counts.get("calls", 0)
        if self.samples and now - self.samples[0][0] >= 1:
            since, then = self.samples[0]
            return (calls - then) / (now - since)
        return calls / (now - self.started) if now - self.started >= 1 else None


def duration(seconds: float) -> str:
    """`20s`, `1m05s`, `1h02m`: as Terraform writes elapsed time."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _words(n: int, name: str) -> str:
    """`14 destinations`, `1 destination`: the counter's words after its number."""
    word = "jobs" if name == "jobs" else WORDS.get(name, name)
    return f"{n:,} {word.removesuffix('s') if n == 1 and word.endswith('s') and ' ' not in word else word}"


def _about(phase: Phase, name: str) -> str:
    """The verifying read's calls are known only as the first read's: "about"."""
    return "about " if phase.name == "verify" and name == "calls" else ""


def start_line(phase: Phase) -> str:
    label = LABELS.get(phase.name, (phase.name, phase.name, phase.name))[0]
    totals = ", ".join(f"{_about(phase, k)}{_words(n, k)}" for k, n in phase.totals.items())
    return f"{label} ({totals})..." if totals else f"{label}..."


def counts(phase: Phase, now: float, *, brief: bool = False) -> list[str]:
    """The phase's counters as words: `3 of 14 destinations`, `4,200 leads`, `42 calls`, `9.8 calls/s`, and
    where the phase's size is known, its share done and the time left."""
    shown = []
    for name in SHOWN:
        if brief and name == "pages":  # a terminal's line is short: the bar says as much
            continue
        got, total = phase.counts.get(name, 0), phase.totals.get(name)
        if total is None and not got:
            continue
        if name == "jobs":
            shown.append(f"{got:,} of {total or 0:,} done")
        elif total is not None:
            shown.append(f"{got:,} of {_about(phase, name)}{_words(total, name)}")
        else:
            shown.append(_words(got, name))
    elapsed = now - phase.started
    if phase.eta is not None and phase.totals.get(phase.eta):
        done, total = phase.counts.get(phase.eta, 0), phase.totals[phase.eta]
        share = min(done, total) / total
        shown.append(f"{share:.0%}")
        if 0 < done < total and elapsed > 0:
            shown.append(f"about {duration((total - done) * elapsed / done)} left")
    rate = phase.rate(now)
    if phase.counts.get("calls") and rate is not None:
        shown.append(f"{rate:.1f} calls/s")
    return shown


def part_line(phase: Phase, part: str) -> str:
    """A destination read whole: `  enterprise: 12,300 leads, 123 pages`."""
    counted = phase.parts.get(part, Counter())
    return f"  {part}: {_words(counted.get('leads', 0), 'leads')}, {_words(counted.get('pages', 0), 'pages')}"


def still_line(phase: Phase, now: float) -> str:
    verb = LABELS.get(phase.name, (phase.name, phase.name, phase.name))[1]
    return f"Still {verb}... [{', '.join([f'{duration(now - phase.started)} elapsed', *counts(phase, now)])}]"


def end_line(phase: Phase, summary: str, now: float) -> str:
    said = summary or LABELS.get(phase.name, (phase.name, phase.name, phase.name))[2]
    calls = phase.counts.get("calls", 0)
    spent = f"{now - phase.started:.1f} s"
    return f"{said}: {calls:,} call{'s' if calls != 1 else ''}, {spent}" if calls else f"{said} in {spent}"


class _Shown:
    """What both displays share: the running phase, its counters (under a lock: events come from many threads),
    and the `delay` before anything is shown, so that a command done within it prints nothing of its progress
    (a plan of a small workspace, a saved plan read from disk). A thread ticks until `close()`; `tick()` is public
    so that a test with a fake clock needs none."""

    def __init__(self, *, interval: float, delay: float, clock: Callable[[], float], ticking: bool) -> None:
        self.interval, self.delay, self.clock = interval, delay, clock
        self._lock = threading.Lock()
        self._phase: Phase | None = None
        self._since = clock()
        self._shown = delay <= 0  # whether the delay has passed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if ticking:
            self._thread = threading.Thread(target=self._tick_until_closed, name="leadsync progress", daemon=True)
            self._thread.start()

    def started(self, phase: str, *, totals: Mapping[str, int] | None = None, eta: str | None = None) -> None:
        with self._lock:
            now = self.clock()
            self._phase = Phase(phase, now, dict(totals or {}), eta)
            if self._due(now):
                self._begin(self._phase, now)

    def advanced(self, counter: str, amount: int = 1, *, part: str | None = None) -> None:
        with self._lock:
            phase = self._phase
            if phase is None:
                return
            phase.counts[counter] += amount
            if part is not None:
                phase.parts.setdefault(part, Counter())[counter] += amount
            if self._shown:
                if part is not None and counter == "destinations" and phase.name == "read":
                    self._part(phase, part_line(phase, part))  # the first read only: the verifying one is as long
                self._update(phase, self.clock())

    def ended(self, summary: str = "", *, failed: bool = False) -> None:
        with self._lock:
            phase, self._phase = self._phase, None
            if phase is None:
                return
            now = self.clock()
            if self._due(now):
                self._end(phase, None if failed else end_line(phase, summary, now), now)  # an error says the rest

    def tick(self) -> None:
        with self._lock:
            now = self.clock()
            if self._phase is not None:
                self._phase.sample(now)
                if not self._shown and self._due(now):
                    self._begin(self._phase, now)
                elif self._shown:
                    self._still(self._phase, now)

    def _due(self, now: float) -> bool:
        self._shown = self._shown or now - self._since >= self.delay
        return self._shown

    def _tick_until_closed(self) -> None:
        while True:
            pause = min(1.0, self.interval / 4)
            if not self._shown:  # look again as the delay ends
                pause = min(pause, max(0.05, self._since + self.delay - self.clock()))
            if self._stop.wait(pause):
                return
            self.tick()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._close()

    # what each display does, called under the lock
    def _begin(self, phase: Phase, now: float) -> None: ...
    def _part(self, phase: Phase, line: str) -> None: ...
    def _update(self, phase: Phase, now: float) -> None: ...
    def _still(self, phase: Phase, now: float) -> None: ...
    def _end(self, phase: Phase, line: str | None, now: float) -> None: ...
    def _close(self) -> None: ...


class LineProgress(_Shown):
    """Plain lines for logs: when a phase starts and ends, and every `interval` seconds in between."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        interval: float = INTERVAL,
        delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        ticking: bool = True,
    ) -> None:
        self.write = write
        self._last = 0.0  # when the last line was written
        super().__init__(interval=interval, delay=delay, clock=clock, ticking=ticking)

    def _begin(self, phase: Phase, now: float) -> None:
        self.write(start_line(phase))
        self._last = now

    def _part(self, phase: Phase, line: str) -> None:
        self.write(line)  # a line of its own: the interval's clock runs on

    def _still(self, phase: Phase, now: float) -> None:
        if now - self._last >= self.interval:
            self.write(still_line(phase, now))
            self._last = now

    def _end(self, phase: Phase, line: str | None, now: float) -> None:
        if line is not None:
            self.write(line)
        self._last = now


class LiveProgress(_Shown):
    """A live display on a terminal (rich): the running phase, redrawn; each phase's end line stays."""

    def __init__(
        self,
        file: Any = None,
        *,
        force_terminal: bool | None = None,
        delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        ticking: bool = True,
    ) -> None:
        from rich.console import Console  # late: only a terminal needs it

        # rich honours NO_COLOR itself; highlighting off: the lines are ours, not rich's guess at them
        self.console = Console(file=file or sys.stderr, highlight=False, force_terminal=force_terminal)
        self._display: Any = None
        self._task: Any = None
        super().__init__(interval=0.25, delay=delay, clock=clock, ticking=ticking)

    def _begin(self, phase: Phase, now: float) -> None:
        from rich.progress import BarColumn, SpinnerColumn, TextColumn
        from rich.progress import Progress as Display

        self._close()
        # the phase's own elapsed time, not rich's: the display may start after the delay, the phase before it
        self._display = Display(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[elapsed]}"),
            TextColumn("{task.fields[counts]}"),
            console=self.console,
            transient=True,
            refresh_per_second=4,
        )
        total = phase.totals.get(phase.eta) if phase.eta is not None else None
        label = LABELS.get(phase.name, (phase.name, phase.name, phase.name))[1].capitalize()  # "Reading"
        self._task = self._display.add_task(label, total=total or None, counts="", elapsed="")
        self._update(phase, now)
        self._display.start()

    def _update(self, phase: Phase, now: float) -> None:
        if self._display is not None:
            done = phase.counts.get(phase.eta, 0) if phase.eta is not None else 0
            self._display.update(
                self._task,
                completed=done,
                counts=", ".join(counts(phase, now, brief=True)),
                elapsed=duration(now - phase.started),
            )

    def _part(self, phase: Phase, line: str) -> None:
        self.console.print(line)  # above the live line, which rich redraws below it

    def _still(self, phase: Phase, now: float) -> None:
        self._update(phase, now)  # the rate and the time left change with no event

    def _end(self, phase: Phase, line: str | None, now: float) -> None:
        self._close()
        if line is not None:
            self.console.print(line)

    def _close(self) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None


def setting(name: str, default: float, *, zero: bool = False) -> float:
    """A number of seconds from the environment variable `name` (> 0, or >= 0 with `zero`), else `default`."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if (value >= 0 if zero else value > 0) and value < float("inf") else default


def interval() -> float:
    """The seconds between "Still ..." lines: INTERVAL, or LEADSYNC_PROGRESS_INTERVAL."""
    return setting("LEADSYNC_PROGRESS_INTERVAL", INTERVAL)


def delay() -> float:
    """The seconds before progress is first shown: DELAY, or LEADSYNC_PROGRESS_DELAY (0: at once)."""
    return setting("LEADSYNC_PROGRESS_DELAY", DELAY, zero=True)


@contextmanager
def progress_shown(quiet: bool) -> Iterator[Progress]:
    """The progress display for one command: none with `--quiet`, live on a terminal, else plain lines on stderr."""
    if quiet:
        yield SILENT
        return
    shown: LineProgress | LiveProgress
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        shown = LiveProgress(delay=delay())
    else:
        shown = LineProgress(lambda line: print(line, file=sys.stderr, flush=True), interval=interval(), delay=delay())
    try:
        yield shown
    finally:
        shown.close()
