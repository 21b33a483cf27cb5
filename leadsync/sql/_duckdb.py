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
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from leadsync.errors import Location, Problem, QueryFailed
from leadsync.sql._text import line_column

_CONTEXT = re.compile(r"\n\nLINE (\d+): (.*)\n( *)\^", re.DOTALL)
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
        child.stdin.write(json.dumps(request).encode("utf-8"))
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
    """Where DuckDB's error is (its `LINE n:` context and caret) and what it says, in one line."""
    head, _, _ = message.partition("\n\nLINE ")
    said = "; ".join(line.strip() for line in head.splitlines() if line.strip())
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
    match = _CONTEXT.search(message)
    if match is None:
        return Location(query.label), said
    line, context, caret = int(match.group(1)), match.group(2), len(match.group(3))
    column = caret - len(f"LINE {line}: ") + 1
    lines = query.text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1] != context:  # a long line is shown cut: find the part shown
        shown = context.strip(". ")
        found = lines[line - 1].find(shown) if shown else -1
        column = found + (column - context.find(shown)) if found >= 0 else 1
    return Location(query.label, line, max(column, 1)), said


def parse_problems(query: Any) -> list[Problem]:
    """DuckDB's parser on the query, in this process (parsing reads no file): a syntax error, located, or a
    statement that is not a query."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query.text)
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
    request = json.loads(sys.stdin.buffer.read())

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
        con.execute("SET temp_directory = ''")  # no spilling: nothing a query reads is written to disk
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET allowed_directories = [{_literal(root)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        statements = duckdb.extract_statements(request["query"])
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            send("error", "refused", "a source query only reads (SELECT)")
            return
        result = con.execute(request["query"])
        send("columns", [column[0] for column in result.description or ()])
        batch = request["batch"]
        while rows := result.fetchmany(batch):
            send("rows", rows)
        send("end")
    except duckdb.Error as exc:
        send("error", type(exc).__name__, str(exc))
    except BrokenPipeError:  # the parent stopped reading (a row limit, an error of its own)
        pass


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":  # pragma: no cover
    _child()
