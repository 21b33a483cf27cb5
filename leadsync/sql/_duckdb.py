"""DuckDB, embedded: a source query run in a child process, its rows streamed back in pickled batches.

Why a child: DuckDB resolves a relative path (`read_parquet('exports/*.parquet')`) against the process's working
folder, and checks its allow-list against that; the child's working folder is the spec's, so a path means what the
spec's author wrote and nothing outside the folder can be read (links out included: DuckDB resolves them first).
The parent's own working folder is never changed, and a timeout is a kill, which ends any query at once.

The child (`python -m leadsync.sql._duckdb`) reads one JSON request on stdin and writes frames on stdout, each a
pickled tuple: ("columns", [names]), ("rows", [tuples])..., then ("end",) or ("error", kind, message). Only the
parent's own child is unpickled; its stdout carries nothing else (stray output of the C library goes to stderr).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

from leadsync.errors import Location, Problem, QueryFailed
from leadsync.sql._text import line_column

_OUTSIDE = re.compile(r'Cannot access (?:file|directory) "([^"]*)"')
#: stderr kept from a child that died, for its message
_STDERR_KEPT = 4000


class _Rows:
    def __init__(self, columns: list[str], frames: Iterator[tuple[Any, ...]]) -> None:
        self.columns = columns
        self._frames = frames

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        for frame in self._frames:
            if frame[0] == "end":
                return
            yield frame[1]


@contextmanager
def open_rows(query: Any, target: Any, *, timeout: float) -> Iterator[_Rows]:
    """The query run by DuckDB in a child process; see the module's docstring."""
    request = {
        "query": query.text,
        "database": str(target.database) if target.database is not None else None,
        "root": str(target.root.resolve()),
        "batch": 10_000,
        "timeout": timeout,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "leadsync.sql._duckdb"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=target.root.resolve(),
    )
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        child.kill()

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    stderr: list[bytes] = []
    drain = threading.Thread(target=_drain, args=(child.stderr, stderr), daemon=True)
    drain.start()
    try:
        assert child.stdin is not None and child.stdout is not None
        with suppress(OSError):  # a child killed meanwhile (the timeout): its frames say so
            child.stdin.write(json.dumps(request).encode("utf-8"))
        with suppress(OSError):
            child.stdin.close()
        frames = _frames(child.stdout, query, target, timeout, timed_out, stderr, drain)
        first = next(frames)
        yield _Rows(list(first[1]), frames)
    finally:
        timer.cancel()
        if child.poll() is None:
            child.kill()
        child.wait()
        drain.join(timeout=5)
        if child.stdout is not None:
            child.stdout.close()


def _drain(stream: IO[bytes] | None, kept: list[bytes]) -> None:
    if stream is None:
        return
    size = 0
    for chunk in iter(lambda: stream.read(4096), b""):
        if size < _STDERR_KEPT:
            kept.append(chunk)
            size += len(chunk)
    stream.close()


def _frames(
    stdout: IO[bytes],
    query: Any,
    target: Any,
    timeout: float,
    timed_out: threading.Event,
    stderr: list[bytes],
    drain: threading.Thread,
) -> Iterator[tuple[Any, ...]]:
    while True:
        try:
            frame = pickle.load(stdout)  # an unpickler each: each frame was pickled with a memo of its own
        except (EOFError, pickle.UnpicklingError, OSError) as exc:
            if timed_out.is_set():
                raise QueryFailed(Location(query.label), f"the query ran past its timeout of {timeout:g} s") from exc
            drain.join(timeout=5)
            said = b"".join(stderr).decode("utf-8", "replace").strip().splitlines()
            why = said[-1] if said else "no message"
            raise QueryFailed(Location(query.label), f"DuckDB stopped without an answer ({why})") from exc
        if frame[0] == "error":
            raise QueryFailed(*_located(query, target, frame[1], frame[2]))
        yield frame
        if frame[0] == "end":
            return


def _located(query: Any, target: Any, kind: str, message: str) -> tuple[Location, str]:
    """Where DuckDB's error is and what it says, in one line. The connections run with `errors_as_json`, whose
    `position` is a byte offset in the query (its caret drawing counts display width, wrong after a tab)."""
    said, position = _parsed(message)
    outside = _OUTSIDE.search(said)
    if outside:
        said = (
            f"the query reads {outside.group(1)!r}, which is not inside the spec's folder: a DuckDB source reads "
            "files in the spec's folder tree only"
        )
    elif kind == "database":
        return target.where, f"cannot open the DuckDB database: {said}"
    else:
        said = f"DuckDB: {said}"
    if position is None:
        return Location(query.label), said
    characters = len(query.text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    return query.at(characters), said


def _parsed(message: str) -> tuple[str, int | None]:
    """DuckDB's `Kind Error: {json}` as (its words in one line, its byte position or None)."""
    head, _, body = message.partition(": ")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = message.partition("\n\nLINE ")[0]
        return "; ".join(line.strip() for line in text.splitlines() if line.strip()), None
    words = "; ".join(line.strip() for line in str(data.get("exception_message", "")).splitlines() if line.strip())
    position = str(data.get("position", ""))
    return f"{head}: {words}", int(position) if position.isdigit() else None


def parse_problems(query: Any) -> list[Problem]:
    """DuckDB's parser on the query, in this process (parsing reads no file): a syntax error, located, or a
    statement that is not a query."""
    import duckdb

    try:
        with duckdb.connect() as con:
            con.execute("SET errors_as_json = true")
            statements = con.extract_statements(query.text)
    except duckdb.Error as exc:
        location, said = _located(query, None, type(exc).__name__, str(exc))
        return [Problem(location, said)]
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kind = statements[0].type.name if statements else "nothing"
        line, column = line_column(query.text, 0)
        return [Problem(Location(query.label, line, column), f"a source query only reads: DuckDB reads {kind}")]
    return []


def _child() -> None:  # pragma: no cover - runs in the child process (tests reach it through open_rows)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr: stdout carries the frames only
    _die_with_parent()
    request = json.loads(sys.stdin.buffer.read())
    # the child's own deadline, a little after the parent's: SIGALRM's default action ends it even when the
    # parent was killed before it could (a query left running would hold a core and the files it reads)
    signal.setitimer(signal.ITIMER_REAL, float(request["timeout"]) + 1.0)

    def send(*frame: Any) -> None:
        pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    import duckdb

    database = request["database"]
    try:
        con = duckdb.connect(
            database or ":memory:",
            read_only=database is not None,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        send("error", "database", str(exc).partition("\n")[0])
        return
    try:
        root = request["root"].rstrip(os.sep) + os.sep
        con.execute("SET errors_as_json = true")  # an error's position, for its line and column
        con.execute("SET temp_directory = ''")  # no spilling: nothing a query reads is written to disk
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET allowed_directories = [{_literal(root)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        statements = con.extract_statements(request["query"])
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            send("error", "refused", "a source query only reads (SELECT)")
            return
        result = con.execute(request["query"])
        description = result.description or ()
        unbounded = [column[0] for column in description if str(column[1]).upper() in ("BIGNUM", "VARINT")]
        if unbounded:  # integers of any length: Python declines to print one of 4,300 digits
            send("error", "refused", f"column {unbounded[0]!r} is a BIGNUM: cast it (::HUGEINT or ::DOUBLE)")
            return
        send("columns", [column[0] for column in description])
        batch = request["batch"]
        while rows := result.fetchmany(batch):
            send("rows", rows)
        send("end")
    except duckdb.Error as exc:
        send("error", type(exc).__name__, str(exc))
    except BrokenPipeError:  # the parent stopped reading (a row limit, an error of its own)
        pass


def _die_with_parent() -> None:  # pragma: no cover - in the child
    """On Linux, the child gets SIGKILL when leadsync ends, however it ends (elsewhere the deadline stands). The
    signal follows the thread that started the child: `open_rows` reads the child to its end in that thread."""
    with suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":  # pragma: no cover
    _child()
