"""The append-only apply journal: every write is recorded before it is sent and after it is answered.

One JSON object a line, flushed and fsynced around every write, so that whatever kills an apply, the next one
knows which writes may have happened and which background jobs may still be running. It holds counts, ids of
jobs and summaries; never a key, never an email.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass
class Unfinished:
    """What an interrupted run left open."""

    run: str
    started: float
    sent: int  # writes answered
    in_doubt: int  # writes sent whose answer never came
    jobs: list[str] = field(default_factory=list)  # background jobs started and not seen to finish


class Journal:
    """Appends events to `path`; `unfinished()` reads back the last run if it did not end."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.run = ""
        self._handle: TextIO | None = None
        self._seq = 0
        self._lock = threading.Lock()  # writes run concurrently: one line at a time
        self._sync_lock = threading.Lock()  # ... and one fsync at a time, which covers every line before it
        self._written = 0
        self._synced = 0

    def unfinished(self) -> Unfinished | None:
        """The last run, when it has no `end` event (it crashed or was killed)."""
        if not self.path.exists():
            return None
        last: Unfinished | None = None
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash: the events before it stand
                kind = event.get("event")
                if kind == "run":
                    last = Unfinished(event["run"], event.get("at", 0.0), 0, 0)
                elif last is None or event.get("run") != last.run:
                    continue
                elif kind == "send":
                    last.in_doubt += 1
                elif kind == "sent":
                    last.in_doubt -= 1
                    last.sent += 1
                    if event.get("job"):
                        last.jobs.append(event["job"])
                elif kind == "done" and event.get("job") in last.jobs:
                    last.jobs.remove(event["job"])
                elif kind == "end":
                    last = None
        return last

    def start(self, **facts: Any) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        if _ends_mid_line(self.path):
            # a crash cut the last line short: end it, or this run's first event would be glued to it and lost,
            # and unfinished() would take the crashed run for the last one for ever after
            self._handle.write("\n")
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

    def end(self, **facts: Any) -> None:
        self._write({"event": "end", **facts})
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, event: dict[str, Any]) -> None:
        event = {"run": self.run, "at": round(self.clock(), 3), **event}
        line = json.dumps(event, sort_keys=True) + "\n"
        with self._lock:
            assert self._handle is not None, "Journal.start() first"
            self._handle.write(line)
            self._handle.flush()
            self._written += 1
            mine, fd = self._written, self._handle.fileno()
        # Group commit: the line is on disk once an fsync that began after it was written has returned. Threads
        # that wrote while another thread's fsync ran share the next one, instead of queueing one fsync each.
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                upto = self._written
            os.fsync(fd)
            self._synced = upto


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"
