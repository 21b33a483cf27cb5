"""The append-only apply journal: every write is recorded before it is sent and after it is answered.

One JSON object a line, flushed and fsynced around every write, so that whatever kills an apply, the next one
knows which writes may have happened and which background jobs may still be running. It holds counts, ids of
jobs and summaries; never a key, never an email.

A run that ends normally can still leave jobs running: one that stalled (not seen to finish in time) and was
settled by a re-read that happened to see enough. Its `end` event lists them (`open_jobs`: id -> when started),
as a `carried` event lists those a run took over from the one before, so that the next apply waits for them
first. Journals written before `open_jobs` existed read as before: an ended run leaves nothing open.

The journal is opened without following links and only as a regular file (`leadsync.safefs`). A line the disk
could not take (full, read-only, failing) is taken back, so the file never ends in half a line, and the journal
refuses every later event: a write is never sent that the journal could not record first (`JournalError`).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadsync.errors import JournalError
from leadsync.safefs import ensure_real_dir, open_no_follow, refuse_link


@dataclass
class Unfinished:
    """What an interrupted run left open."""

    run: str
    started: float
    sent: int  # writes answered
    in_doubt: int  # writes sent whose answer never came
    jobs: list[str] = field(default_factory=list)  # background jobs started and not seen to finish
    ended: bool = False  # the run ended normally: only `jobs` (stalled, so maybe still running) are left open
    since: dict[str, float] = field(default_factory=dict)  # job -> when it was started (the journal's clock)


#: how long a stalled job is waited for by later applies: one still not done after that is taken for dead
JOB_HORIZON = 3600.0


class Journal:
    """Appends events to `path`; `unfinished()` reads back the last run if it did not end, or if it ended with
    background jobs that may still be running."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, job_horizon: float = JOB_HORIZON) -> None:
        self.path = path
        self.clock = clock
        self.job_horizon = job_horizon
        self.run = ""
        self._fd: int | None = None
        self._size = 0  # bytes of whole lines in the file: where a line the disk refused is cut back to
        self._broken: str | None = None  # why the journal can no longer be written: every later event is refused
        self._seq = 0
        self._lock = threading.Lock()  # writes run concurrently: one line at a time
        self._sync_lock = threading.Lock()  # ... and one fsync at a time, which covers every line before it
        self._written = 0
        self._synced = 0

    def unfinished(self) -> Unfinished | None:
        """The last run, when it has no `end` event (it crashed or was killed), or when its `end` lists jobs that
        may still be running (`ended`). Jobs started longer than `job_horizon` ago are left out."""
        refuse_link(self.path, "the journal")
        try:
            fd = open_no_follow(self.path, os.O_RDONLY, what="the journal")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise JournalError(f"cannot read the journal {self.path}: {error.strerror}") from None
        last: Unfinished | None = None
        with os.fdopen(fd, "rb") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash (or not UTF-8): the events before it stand
                if not isinstance(event, dict):
                    continue
                kind = event.get("event")
                if kind == "run":
                    last = Unfinished(str(event.get("run", "")), _at(event), 0, 0)
                elif last is None or event.get("run") != last.run:
                    continue
                elif kind == "send":
                    last.in_doubt += 1
                elif kind == "sent":
                    last.in_doubt -= 1
                    last.sent += 1
                    if isinstance(event.get("job"), str) and event["job"]:
                        _track(last, {event["job"]: _at(event)})
                elif kind == "done" and event.get("job") in last.jobs:
                    last.jobs.remove(event["job"])
                elif kind == "carried":
                    _track(last, _jobs(event.get("jobs")))
                elif kind == "end":
                    left = _jobs(event.get("open_jobs"))  # absent in older journals: nothing left open
                    last = Unfinished(last.run, last.started, last.sent, 0, ended=True) if left else None
                    if last is not None:
                        _track(last, left)
        if last is None:
            return None
        horizon = self.clock() - self.job_horizon
        last.jobs = [job for job in last.jobs if last.since.get(job, horizon) >= horizon]
        last.since = {job: last.since[job] for job in last.jobs if job in last.since}
        return None if last.ended and not last.jobs else last

    def start(self, **facts: Any) -> str:
        ensure_real_dir(self.path.parent, what="the journal's folder")
        try:
            fd = open_no_follow(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, what="the journal")
        except OSError as error:
            raise JournalError(f"cannot write the journal {self.path}: {error.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            cut = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        except OSError as error:
            os.close(fd)
            raise JournalError(f"cannot read the journal {self.path}: {error.strerror}") from None
        self._fd, self._size = fd, size
        self._broken = None
        if cut:
            # a crash cut the last line short: end it, or this run's first event would be glued to it and lost,
            # and unfinished() would take the crashed run for the last one for ever after
            with self._lock:
                self._append(b"\n")
        self.run = uuid.uuid4().hex[:12]
        self._write({"event": "run", **facts})
        return self.run

    def send(self, endpoint: str, summary: str) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
        self._write({"event": "send", "seq": seq, "endpoint": endpoint, "summary": summary})
        return seq

    def sent(self, seq: int, job: str | None) -> None:
        self._write({"event": "sent", "seq": seq, "job": job})

    def done(self, seq: int, job: str | None) -> None:
        self._write({"event": "done", "seq": seq, "job": job})

    def note(self, what: str, **facts: Any) -> None:
        self._write({"event": what, **facts})

    def carried(self, jobs: Mapping[str, float]) -> None:
        """Jobs an earlier run left running that this run took over (id -> when started)."""
        self._write({"event": "carried", "jobs": dict(jobs)})

    def end(self, *, open_jobs: Mapping[str, float] | None = None, **facts: Any) -> None:
        """The run is over; `open_jobs` (id -> when started) may still be running, for the next apply to wait for."""
        self._write({"event": "end", **facts, **({"open_jobs": dict(open_jobs)} if open_jobs else {})})
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _write(self, event: dict[str, Any]) -> None:
        event = {"run": self.run, "at": round(self.clock(), 3), **event}
        line = (json.dumps(event, sort_keys=True) + "\n").encode()
        with self._lock:
            assert self._fd is not None, "Journal.start() first"
            self._append(line)
            self._written += 1
            mine, fd = self._written, self._fd
        # Group commit: the line is on disk once an fsync that began after it was written has returned. Threads
        # that wrote while another thread's fsync ran share the next one, instead of queueing one fsync each.
        with self._sync_lock:
            if self._broken is not None:  # the fsync that was to cover this line failed: it is not on disk
                raise JournalError(self._broken)
            if self._synced >= mine:
                return
            with self._lock:
                upto = self._written
            try:
                os.fsync(fd)
            except OSError as error:
                with self._lock:
                    self._broken = f"cannot write the journal {self.path}: {error.strerror}"
                raise JournalError(self._broken) from None
            self._synced = upto

    def _append(self, data: bytes) -> None:
        """Put `data` (whole lines) at the end of the file, or none of it; the caller holds `_lock`."""
        if self._broken is not None:
            raise JournalError(self._broken)
        assert self._fd is not None
        done = 0
        try:
            while done < len(data):  # a write may take only part of the bytes: the rest goes in the next
                done += os.write(self._fd, data[done:])
        except OSError as error:
            self._broken = f"cannot write the journal {self.path}: {error.strerror}"
            # take back the part that went down, so that the file ends in a whole line; if that fails too, the
            # reader skips a cut line, and the next start() ends it
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise JournalError(self._broken) from None
        self._size += len(data)


def _at(event: dict[str, Any]) -> float:
    """When an event happened, on the journal's clock (0 for a value that is not a number)."""
    at = event.get("at")
    return float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0


def _jobs(found: Any) -> dict[str, float]:
    """Job ids -> when started, from an event's `jobs` or `open_jobs`."""
    if not isinstance(found, dict):
        return {}
    return {
        str(k): float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0
        for k, v in found.items()
        if k
    }


def _track(unfinished: Unfinished, jobs: Mapping[str, float]) -> None:
    for job, since in jobs.items():
        if job not in unfinished.jobs:
            unfinished.jobs.append(job)
        unfinished.since.setdefault(job, since)
