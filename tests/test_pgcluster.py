"""The throwaway PostgreSQL server of tests/pgcluster.py: the superuser writes, `reader` only reads, passwords count."""

from __future__ import annotations

import psycopg
import pytest
from pgcluster import PgServer


def test_superuser_creates_and_inserts(postgres: PgServer) -> None:
    postgres.execute("CREATE TABLE su_leads (id integer PRIMARY KEY, email text NOT NULL)")
    postgres.execute("INSERT INTO su_leads VALUES (%s, %s)", (1, "ada@example.com"))
    assert postgres.copy_rows("su_leads", ["id", "email"], [(2, "bob@example.com"), (3, "cy@example.com")]) == 2

    assert postgres.execute("SELECT id, email FROM su_leads ORDER BY id") == [
        (1, "ada@example.com"),
        (2, "bob@example.com"),
        (3, "cy@example.com"),
    ]


def test_reader_selects_but_cannot_insert(postgres: PgServer) -> None:
    # created after the grants: the default privileges are what make it readable
    postgres.execute("CREATE TABLE reader_leads (id integer PRIMARY KEY)")
    postgres.execute("INSERT INTO reader_leads VALUES (1), (2)")

    with psycopg.connect(postgres.reader_url) as conn:
        assert conn.execute("SELECT count(*) FROM reader_leads").fetchone() == (2,)
    with psycopg.connect(postgres.reader_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO reader_leads VALUES (3)")


def test_wrong_password_is_refused(postgres: PgServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.url("reader", password="not-the-secret")).close()
