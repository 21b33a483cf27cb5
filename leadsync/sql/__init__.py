"""SQL sources: a reviewed query file run where the leads live, read-only, streamed, within a time budget.

    query file --check (offline)--> Query --open_rows(Target)--> Result: columns, then batches of row tuples

Three engines behind one shape (docs/design.md §2, "SQL sources"):

- DuckDB, embedded: on a database file opened read-only, or on none, the query reading files inside the spec's
  folder (`read_parquet('exports/*.parquet')`). It runs in a child process whose working folder is the spec's, so
  relative paths mean what they say, with external access off but for that folder, no extension installed or
  loaded, nothing spilled to disk and the configuration locked; the timeout kills the child.
- PostgreSQL (psycopg 3, the `postgres` extra): a READ ONLY transaction, `statement_timeout`, the rows fetched
  through a server-side cursor, a cancel at the deadline.
- Any other SQLAlchemy URL (the `warehouse` extra): streamed results, read-only where the dialect can say so.

Engines raise `QueryFailed` at the place the problem is: the query file's line and column when the database says
where, else the query file or the spec key naming the connection. A URL's password never appears in a message.
Nothing a query returns is written anywhere; the caller holds the rows it keeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from leadsync.errors import Location, Problem, QueryFailed
from leadsync.sql._text import READS, line_column, statement


@dataclass(frozen=True, slots=True)
class Query:
    """A query file's one statement: `text` as sent (offsets in it are offsets in the file), `label` the file
    as messages name it."""

    text: str
    label: str

    def at(self, offset: int) -> Location:
        """The place in the query file of the character at 0-based `offset` of the text sent."""
        line, column = line_column(self.text, offset)
        return Location(self.label, line, column)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a query runs. `url` set: the database it names (`url_env` names its variable, `where` the spec key
    that says so); else DuckDB on `database` (a file, opened read-only) or on none, reading files under `root`."""

    root: Path
    where: Location
    database: Path | None = None
    url: str | None = None
    url_env: str | None = None

    @property
    def engine(self) -> str:
        """duckdb, postgresql or sqlalchemy; `unknown` for a URL variable not set (offline)."""
        if self.url_env is not None and self.url is None:
            return "unknown"
        if self.url is None:
            return "duckdb"
        scheme = self.url.partition(":")[0].lower()
        return "postgresql" if scheme in ("postgresql", "postgres") else "sqlalchemy"


class Result(Protocol):
    """An open query: its column names, then its rows a batch at a time (each a list of tuples)."""

    columns: list[str]

    def batches(self) -> Iterator[list[tuple[Any, ...]]]: ...


def check(text: str, label: str) -> tuple[Query | None, list[Problem]]:
    """The query of a file's `text`, or the problems that keep it from being run: no statement, more than one,
    or one that does not only read."""
    nul = text.find("\0")
    if nul >= 0:  # a driver stops reading there: what runs would not be what was reviewed
        line, column = line_column(text, nul)
        return None, [Problem(Location(label, line, column), "a NUL character: a query file is text")]
    found = statement(text)
    query = Query(found.text, label)
    if not found.text:
        return None, [Problem(Location(label, 1, 1), "the query file holds no statement")]
    problems = []
    if found.second is not None:
        line, column = line_column(text, found.second)
        problems.append(
            Problem(Location(label, line, column), "a query file holds one statement; a second begins here")
        )
    if found.first not in READS:
        word = found.first.upper()
        problems.append(
            Problem(query.at(found.start), f"a source query only reads (SELECT, WITH, VALUES, TABLE): {word} refused")
        )
    return (None if problems else query), problems


def open_rows(query: Query, target: Target, *, timeout: float) -> AbstractContextManager[Result]:
    """Run `query` at `target` within `timeout` seconds (connecting included): a context manager whose value
    holds the columns and yields the rows; leaving it ends the query (a child killed, a cursor closed)."""
    if target.url is not None and target.url.partition("://")[2].split("/")[0].count("@") > 1:
        # drivers split user and host at different '@'s: part of the password would be taken for the host
        raise QueryFailed(target.where, f"${target.url_env}: the URL's user or password holds '@'; write it as %40")
    engine = target.engine
    if engine == "duckdb":
        from leadsync.sql import _duckdb

        return _duckdb.open_rows(query, target, timeout=timeout)
    if engine == "postgresql":
        from leadsync.sql import _postgres

        return _postgres.open_rows(query, target, timeout=timeout)
    from leadsync.sql import _alchemy

    return _alchemy.open_rows(query, target, timeout=timeout)


_PLAIN = frozenset({str, int, float, bool, type(None)})
#: digits past which a number is refused: beyond a float's range, and far below what Python declines to print
_DIGITS = 300
_KEPT = frozenset({date, datetime, time})
_FAST = _PLAIN | _KEPT  # a batch of only these is kept as it came


def plain_rows(rows: list[tuple[Any, ...]], columns: Sequence[str], label: str, first: int) -> list[tuple[Any, ...]]:
    """`rows` with every value a lead attribute can hold: text, numbers (a decimal as an int when whole, else a
    float), booleans, dates and times as they are, NULL as None, a UUID as its text. Anything else (a list, a
    struct, JSON, bytes) raises QueryFailed at its row (`label` names the result's rows, `first` is the number of
    rows[0]): a lead attribute is one plain value, which the query can make with a cast."""
    # the common case, at C speed; an integer is as long as its column's type allows (DuckDB's unbounded BIGNUM
    # is refused by the engine), and a PostgreSQL numeric comes as a Decimal, checked below
    if set(map(type, chain.from_iterable(rows))) <= _FAST:
        return rows
    plain = []
    for number, row in enumerate(rows, start=first):
        try:
            plain.append(tuple(map(_plain, row)))
        except TypeError as exc:
            column = next(i for i, value in enumerate(row) if _kind(value) is None)
            name = shown_name(columns[column])
            if "digits" in str(exc):
                raise QueryFailed(
                    Location(label, number), f"column {name} holds {exc}: too large to route by"
                ) from None
            what = type(row[column]).__name__
            raise QueryFailed(
                Location(label, number),
                f"column {name} holds a {what}; a lead attribute is one plain value (text, number, "
                "boolean, date): cast it in the query",
            ) from None
    return plain


def _kind(value: Any) -> str | None:
    try:
        _plain(value)
    except TypeError:
        return None
    return type(value).__name__


def shown_name(name: str) -> str:
    """A column name as a message shows it: quoted, with any control character escaped (a name can come from
    data, and must not end the message's line or drive the terminal)."""
    return repr(name) if not name.isprintable() else f"'{name}'"


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN or kind in _KEPT:
        return value
    if kind is Decimal:
        if not value.is_finite():
            return float(value)
        if value.adjusted() > _DIGITS:
            raise TypeError("a number of more than 300 digits")
        return int(value) if value == value.to_integral_value() else float(value)
    if kind is UUID or kind is timedelta:
        return str(value)
    raise TypeError(kind.__name__)


def duckdb_problems(query: Query) -> list[Problem]:
    """What DuckDB's own parser says of `query`, offline: a syntax error at its place, or a statement that is
    not a query."""
    from leadsync.sql import _duckdb

    return _duckdb.parse_problems(query)


__all__ = [
    "Query",
    "QueryFailed",
    "Result",
    "Target",
    "check",
    "duckdb_problems",
    "open_rows",
    "plain_rows",
    "shown_name",
]
