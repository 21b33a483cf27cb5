"""The progress renderers (issue #16), with a fake clock: plain lines for CI logs, and the live display's frames;
and what a live read reports to them, for either vendor."""

from __future__ import annotations

import io
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from leadsync.cli_progress import LineProgress, LiveProgress, duration, interval
from leadsync.progress import SILENT, phase
from leadsync.workflow import observed_source, plan_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines_of(clock: Clock, every: float = 10.0) -> tuple[LineProgress, list[str]]:
    lines: list[str] = []
    return LineProgress(lines.append, interval=every, clock=clock, ticking=False), lines


def test_a_phase_has_a_start_line_still_lines_every_interval_and_an_end_line() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    shown.started("read", totals={"destinations": 14})
    for second in range(1, 26):
        clock.now += 1
        shown.advanced("calls")
        shown.advanced("pages")
        shown.advanced("leads", 100)
        if second == 12:
            shown.advanced("destinations", 3)
        shown.tick()
    shown.ended("Read 2,500 leads in 14 destinations")
    assert lines == [
        "Reading the workspace (14 destinations)...",
        "Still reading... [10s elapsed, 0 of 14 destinations, 1,000 leads, 10 pages, 10 calls, 1.0 calls/s]",
        "Still reading... [20s elapsed, 3 of 14 destinations, 2,000 leads, 20 pages, 20 calls, 1.0 calls/s]",
        "Read 2,500 leads in 14 destinations: 25 calls, 25.0 s",
    ]


def test_each_destination_of_the_first_read_gets_its_line_once_read_whole() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    for name in ("read", "verify"):
        shown.started(name, totals={"destinations": 2})
        for part, leads in (("enterprise", 250), ("smb, smb-eu", 1)):
            shown.advanced("pages", part=part)
            shown.advanced("leads", leads, part=part)
        shown.advanced("destinations", part="smb, smb-eu")
        shown.advanced("destinations", part="enterprise")
        shown.ended("Read 251 leads in 2 destinations")
    assert lines[:4] == [
        "Reading the workspace (2 destinations)...",
        "  smb, smb-eu: 1 lead, 1 page",
        "  enterprise: 250 leads, 1 page",
        "Read 251 leads in 2 destinations in 0.0 s",
    ]
    assert not any(line.startswith("  ") for line in lines[4:])  # the verifying read: no line per destination


def test_writes_show_their_share_and_the_time_left() -> None:
    clock = Clock()
    shown, lines = lines_of(clock, every=5)
    shown.started("write", totals={"writes": 40}, eta="writes")
    clock.now += 5
    shown.advanced("writes", 10)
    shown.advanced("moved", 2_000)
    shown.advanced("calls", 12)
    shown.tick()
    assert lines[0] == "Sending the writes (40 writes)..."
    assert lines[1] == (
        "Still writing... [5s elapsed, 10 of 40 writes, 2,000 leads moved, 12 calls, 25%, about 15s left, 2.4 calls/s]"
    )


def test_the_verifying_read_is_sized_by_the_first() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    shown.started("verify", totals={"destinations": 6, "calls": 500}, eta="calls")
    clock.now += 65
    shown.advanced("calls", 250)
    shown.tick()
    shown.ended()
    assert lines == [
        "Re-reading the workspace to verify (6 destinations, about 500 calls)...",
        (
            "Still verifying... [1m05s elapsed, 0 of 6 destinations, 250 of about 500 calls, 50%, about 1m05s left, "
            "3.8 calls/s]"
        ),
        "Re-read the workspace: 250 calls, 65.0 s",
    ]


def test_no_still_line_before_the_interval_and_none_between_phases() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    shown.started("plan")
    clock.now += 9.9
    shown.tick()
    shown.ended("Planned: 3 to add")
    clock.now += 30
    shown.tick()
    shown.advanced("calls")  # outside a phase: ignored
    assert lines == ["Planning...", "Planned: 3 to add in 9.9 s"]


def test_nothing_is_shown_before_the_delay_and_a_phase_running_then_is_shown_from_there() -> None:
    clock = Clock()
    lines: list[str] = []
    shown = LineProgress(lines.append, interval=10, delay=2, clock=clock, ticking=False)
    shown.started("read", totals={"destinations": 1})
    clock.now += 1
    shown.advanced("calls")
    shown.ended("Read 1 lead in 1 destination")  # done within the delay: a quick command prints none of it
    shown.started("plan")
    clock.now += 1.5
    shown.tick()
    shown.ended("Planned: no changes")
    shown.started("write", totals={"writes": 1}, eta="writes")
    assert lines == ["Planning...", "Planned: no changes in 1.5 s", "Sending the writes (1 write)..."]


def test_counters_advanced_from_many_threads_all_count() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    shown.started("wait", totals={"jobs": 8000})

    def count() -> None:
        for _ in range(1000):
            shown.advanced("jobs")

    workers = [threading.Thread(target=count) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    clock.now += 10
    shown.tick()
    assert lines[-1] == "Still waiting... [10s elapsed, 8,000 of 8,000 done]"


def test_the_phase_helper_ends_the_phase_on_an_error_too() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    with pytest.raises(RuntimeError), phase(shown, "read"):
        raise RuntimeError
    with phase(shown, "plan") as summary:
        summary.text = "Planned: no changes"
    with phase(SILENT, "plan"):
        pass
    assert lines == [
        "Reading the workspace...",
        "Planning...",
        "Planned: no changes in 0.0 s",
    ]  # the error says the rest


def test_the_ticking_thread_writes_at_the_real_interval() -> None:
    lines: list[str] = []
    shown = LineProgress(lines.append, interval=0.2)
    shown.started("read")
    threading.Event().wait(0.5)
    shown.ended()
    shown.close()
    assert lines[0] == "Reading the workspace..." and lines[1].startswith("Still reading... [0s elapsed")
    assert 2 <= sum(line.startswith("Still") for line in lines) <= 3


def test_durations_and_the_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [duration(s) for s in (0.4, 20, 65, 3725)] == ["0s", "20s", "1m05s", "1h02m"]
    monkeypatch.setenv("LEADSYNC_PROGRESS_INTERVAL", "0.5")
    assert interval() == 0.5
    for bad in ("0", "-1", "nan", "inf", "soon"):
        monkeypatch.setenv("LEADSYNC_PROGRESS_INTERVAL", bad)
        assert interval() == 10.0


def test_the_live_display_draws_the_phase_and_leaves_its_end_line() -> None:
    out = io.StringIO()
    clock = Clock()
    live = LiveProgress(out, force_terminal=True, clock=clock, ticking=False)  # a StringIO is no terminal: as if
    live.console.width = 120
    live.started("write", totals={"writes": 4}, eta="writes")
    live.advanced("writes", 2)
    live.advanced("moved", 300)
    clock.now += 2
    live.tick()
    live._display.refresh()
    live.ended("Sent 4 writes")
    live.close()
    drawn = out.getvalue()
    assert "Writing" in drawn and "2 of 4 writes, 300 leads moved, 50%, about 2s left" in drawn
    assert drawn.rstrip().endswith("Sent 4 writes in 2.0 s")


def test_the_rate_shown_is_the_recent_one_not_a_limiters_first_burst() -> None:
    clock = Clock()
    shown, lines = lines_of(clock)
    shown.started("read")
    shown.advanced("calls", 20)  # a window's worth at once, as a limiter lets them go
    for _ in range(40):
        clock.now += 0.25
        shown.advanced("calls", 5)  # then 20 a second
        shown.tick()
    assert lines[1] == "Still reading... [10s elapsed, 220 calls, 20.0 calls/s]"  # 220 / 10 s would read 22.0


class Recorded:
    """A progress that keeps every event: what the providers, the workflow and the applier report."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.counts: dict[str, Counter[str]] = {}
        self.parts: Counter[tuple[str, str]] = Counter()
        self._phase = ""
        self._lock = threading.Lock()

    def started(self, phase: str, *, totals: object = None, eta: object = None) -> None:
        self._phase = phase
        self.counts[phase] = Counter()
        self.events.append(("started", phase))

    def advanced(self, counter: str, amount: int = 1, *, part: str | None = None) -> None:
        with self._lock:
            if self._phase:
                self.counts[self._phase][counter] += amount
            if part is not None:
                self.parts[(part, counter)] += amount

    def ended(self, summary: str = "", *, failed: bool = False) -> None:
        self.events.append(("ended", summary))
        self._phase = ""


@pytest.mark.parametrize(
    ("spec", "files"),
    [
        ("quickstart.yaml", ("quickstart.leads.csv", "quickstart.remote.json")),
        ("sonarly-sandbox.yaml", ("sonarly-sandbox.leads.csv", "sonarly-sandbox.remote.json")),
    ],
)
def test_a_live_plan_reports_its_read_and_its_planning_for_either_vendor(
    spec: str, files: tuple[str, ...], tmp_path: Path
) -> None:
    for name in (spec, *files):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    recorded = Recorded()
    planned = plan_spec(tmp_path / spec, observed_source(recorded), progress=recorded)
    places = len(planned.loaded.spec.destinations)
    read = recorded.events[1]
    assert [kind for kind, _ in recorded.events] == ["started", "ended", "started", "ended"]
    assert read[1].startswith("Read ") and read[1].endswith(f" in {places} destinations")
    assert recorded.events[3][1].startswith("Planned: ")
    counted = recorded.counts["read"]
    assert counted["destinations"] == places and counted["pages"] >= places
    cost = planned.plan.workspace.read  # Instantly's reads say what they cost; Sonarly's do not
    assert counted["calls"] == cost.calls if cost is not None else counted["calls"] > places
    found = int(read[1].removeprefix("Read ").split(" lead")[0].replace(",", ""))
    assert counted["leads"] == found  # the managed destinations' records, page by page
    # ... and each destination's, under its spec name
    assert {part for part, counter in recorded.parts if counter == "destinations"} == set(
        planned.loaded.spec.destinations
    )
    assert sum(n for (_, counter), n in recorded.parts.items() if counter == "leads") == found
