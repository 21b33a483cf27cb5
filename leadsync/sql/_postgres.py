"""PostgreSQL: a source query run read-only through a server-side cursor (psycopg 3, the `postgres` extra).

The query is declared as a cursor in a READ ONLY transaction with a `statement_timeout`, and fetched a batch at a
time, so the client holds one batch, not the result. At the deadline a cancel ends whatever is running. Messages
name the server as host:port/database and never the URL's password; an error PostgreSQL places in the query (its
`position`) is placed in the query file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from leadsync.errors import Location, QueryFailed
from leadsync.sql._secret import scrub

BATCH = 10_000  # rows a FETCH takes: a few MB of Python objects, and a cancel never more than one away

_CURSOR = "leadsync_source"
#: the text sent before the query: an error's position in the query is its position in the statement less this
_DECLARE = f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR "
#: SQLSTATEs that mean the query tried to write (a read-only transaction; a data-modifying WITH in a cursor)
WRITES = frozenset({"25006", "0A000"})
_CONNECT_TIMEOUT = 10


class _Rows:
    def __init__(self, columns: list[str], first: list[tuple[Any, ...]], fetch: Any) -> None:
        self.columns = columns
        self._first = first
        self._fetch = fetch

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        rows = self._first
        while rows:
            yield rows
            rows = self._fetch()


def server_name(url: str) -> str:
    """`host:port/database` of a PostgreSQL URL, for messages (never its user's password)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # an unparsable URL: say nothing of it but that
        return "an unreadable URL"
    host = str(info.get("host") or info.get("hostaddr") or "localhost")
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or '?'}"


@contextmanager
def open_rows(query: Any, target: Any, *, timeout: float) -> Iterator[_Rows]:
    try:
        import psycopg
    except ImportError as exc:
        raise QueryFailed(target.where, "PostgreSQL sources need psycopg: pip install 'leadsync[postgres]'") from exc
    url: str = target.url
    server = server_name(url)
    where = f"PostgreSQL at {server} (${target.url_env})"
    cancelled = threading.Event()
    try:
        conn = psycopg.connect(
            url, connect_timeout=max(1, min(_CONNECT_TIMEOUT, int(timeout))), application_name="leadsync"
        )
    except psycopg.Error as exc:
        raise QueryFailed(target.where, f"cannot connect to {where}: {_said(exc, url)}") from exc
    except Exception as exc:  # a URL psycopg cannot read: its text may hold the password, never shown
        raise QueryFailed(target.where, f"${target.url_env} is not a PostgreSQL URL the driver can read") from exc

    def cancel() -> None:
        cancelled.set()
        conn.cancel_safe()

    timer = threading.Timer(timeout, cancel)
    timer.daemon = True
    timer.start()
    try:
        conn.read_only = True
        cursor = conn.cursor()
        try:
            cursor.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
            # the extended protocol (binary=True) takes one statement: a second one hidden from the lexer (a
            # server reading backslashes in strings, say) is refused by the server, never run after a COMMIT
            cursor.execute(_DECLARE + query.text, binary=True)
            fetch_sql = f"FETCH FORWARD {BATCH} FROM {_CURSOR}"

            def fetch() -> list[tuple[Any, ...]]:
                if cancelled.is_set():  # the deadline passed while leadsync read the last batch: no more FETCH
                    raise QueryFailed(Location(query.label), f"the query ran past its timeout of {timeout:g} s")
                cursor.execute(fetch_sql)
                return cursor.fetchall()

            def guarded() -> list[tuple[Any, ...]]:
                try:
                    return fetch()
                except psycopg.Error as exc:
                    raise _failure(exc, query, where, url, timeout, cancelled) from exc

            first = fetch()
            columns = [column.name for column in cursor.description or ()]
            yield _Rows(columns, first, guarded)
        except psycopg.Error as exc:
            raise _failure(exc, query, where, url, timeout, cancelled) from exc
    finally:
        timer.cancel()
        with suppress(psycopg.Error):  # a cancelled or broken connection has nothing to roll back
            conn.rollback()
        conn.close()


def _failure(
    exc: Exception, query: Any, where: str, url: str, timeout: float, cancelled: threading.Event
) -> QueryFailed:
    import psycopg

    state = getattr(exc, "sqlstate", None)
    if cancelled.is_set() or isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryFailed(Location(query.label), f"the query ran past its timeout of {timeout:g} s ({where})")
    if state in WRITES:
        return QueryFailed(Location(query.label), f"the query writes, and a source only reads: {_said(exc, url)}")
    diag = getattr(exc, "diag", None)
    position = getattr(diag, "statement_position", None)
    location = Location(query.label)
    if position and position.isdigit() and int(position) > len(_DECLARE):
        location = query.at(int(position) - len(_DECLARE) - 1)
    if isinstance(exc, psycopg.OperationalError):
        return QueryFailed(location, f"{where}: {_said(exc, url)}")
    return QueryFailed(location, f"PostgreSQL: {_said(exc, url)}")


def _said(exc: Exception, url: str) -> str:
    """The driver's message in one line, with anything of the URL's secret taken out."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = primary or str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return scrub(" ".join(lines[:2]) or type(exc).__name__, url)
