"""Any other database by an SQLAlchemy URL (the `warehouse` extra and the database's own dialect package).

Results are streamed (`stream_results`, a batch at a time). Read-only where the dialect can say so: a READ ONLY
transaction for PostgreSQL, Redshift and MySQL, `PRAGMA query_only` for SQLite; elsewhere (Snowflake, BigQuery)
the database's role is the guard, and docs/design.md says to give leadsync a role that can only read. At the
deadline the driver's own cancel (or SQLite's interrupt) is called, and the read stops between batches anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from leadsync.errors import Location, QueryFailed
from leadsync.sql._postgres import WRITES
from leadsync.sql._secret import scrub

#: dialects whose sessions take SET TRANSACTION READ ONLY
_READ_ONLY_TRANSACTION = frozenset({"postgresql", "redshift", "mysql", "mariadb", "cockroachdb"})
_BATCH = 10_000
#: dialects whose drivers take `connect_timeout` (seconds)
_CONNECT_TIMEOUT = frozenset({"postgresql", "redshift", "mysql", "mariadb", "cockroachdb"})


class _Rows:
    def __init__(self, columns: list[str], batches: Iterator[list[tuple[Any, ...]]]) -> None:
        self.columns = columns
        self._batches = batches

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        return self._batches


@contextmanager
def open_rows(query: Any, target: Any, *, timeout: float) -> Iterator[_Rows]:
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError as exc:
        raise QueryFailed(
            target.where,
            f"${target.url_env} is not a postgresql:// URL: other databases need SQLAlchemy and the database's "
            "dialect: pip install 'leadsync[warehouse]' and, for example, snowflake-sqlalchemy",
        ) from exc
    raw: str = target.url
    try:
        url = sqlalchemy.engine.make_url(raw)
        # the drivers that take a connect timeout get the query's: a server that accepts and never answers
        # would otherwise hold the read before any cancel can reach it
        waits = {"connect_timeout": max(1, int(timeout))} if url.get_backend_name() in _CONNECT_TIMEOUT else {}
        engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args=waits)
    except Exception as exc:  # an unreadable URL or a dialect not installed; the URL itself is never shown
        missing = isinstance(exc, ImportError) or "NoSuchModule" in type(exc).__name__
        why = "its dialect or driver is not installed" if missing else "not a database URL"
        raise QueryFailed(target.where, f"${target.url_env}: {why} ({scrub(str(exc), raw)[:200]})") from exc
    dialect = url.get_backend_name()
    where = f"{dialect} at {url.host or 'localhost'}:{url.port or 'default port'}/{url.database or '?'}"
    deadline = time.monotonic() + timeout
    cancelled = threading.Event()

    def failure(exc: Exception) -> QueryFailed:
        if cancelled.is_set():
            return QueryFailed(Location(query.label), f"the query ran past its timeout of {timeout:g} s ({where})")
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        text = scrub(" ".join(said[:2]) or type(exc).__name__, raw)
        state = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
            getattr(exc, "orig", None), "pgcode", None
        )
        if state in WRITES or "read-only" in text.lower() or "readonly" in text.lower():
            return QueryFailed(Location(query.label), f"the query writes, and a source only reads: {text}")
        return QueryFailed(Location(query.label), f"{where}: {text}")

    try:
        conn = engine.connect()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise QueryFailed(
            target.where, f"cannot connect to {where} (${target.url_env}): {failure(exc).problem.message}"
        ) from exc
    driver = conn.connection.dbapi_connection

    def cancel() -> None:
        cancelled.set()
        for name in ("interrupt", "cancel_safe", "cancel"):  # SQLite, psycopg 3, most other drivers
            stop = getattr(driver, name, None)
            if callable(stop):
                try:
                    stop()
                except Exception:  # a driver that cannot cancel now: the batch loop still stops
                    continue
                return

    timer = threading.Timer(timeout, cancel)
    timer.daemon = True
    timer.start()
    try:
        if dialect in _READ_ONLY_TRANSACTION:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        result = conn.execution_options(stream_results=True).exec_driver_sql(query.text)
        columns = [str(name) for name in result.keys()]  # noqa: SIM118 (a Result, not a dict)

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            try:
                while rows := result.fetchmany(_BATCH):
                    if time.monotonic() > deadline:
                        cancelled.set()
                        raise QueryFailed(Location(query.label), f"the query ran past its timeout of {timeout:g} s")
                    yield [tuple(row) for row in rows]
            except sqlalchemy.exc.SQLAlchemyError as exc:
                raise failure(exc) from exc

        yield _Rows(columns, batches())
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise failure(exc) from exc
    finally:
        timer.cancel()
        with suppress(sqlalchemy.exc.SQLAlchemyError):  # a cancelled or broken connection has nothing to undo
            conn.rollback()
        conn.close()
        engine.dispose()
