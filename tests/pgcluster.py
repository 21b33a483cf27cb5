"""A pytest plugin: a real, throwaway PostgreSQL server for the tests that ask for the `postgres` fixture.

One cluster per test session: initdb'd into a fresh temporary folder, listening on a free loopback port, with a
database `leads`, a superuser `postgres` (random password) and a SELECT-only role `reader`. It is stopped and its
folder removed at the end of the session, whether the tests passed or not.

Without the PostgreSQL binaries (or psycopg) the tests that use it are skipped, except on CI (CI=true or CI=1),
where a missing server is a failure: CI is where the coverage has to be real.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import pytest

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "leads"
READER = "reader"
READER_PASSWORD = "reader-secret"

# a port picked free can be taken by someone else before the server binds it; that race is the only start retried
_START_ATTEMPTS = 5
_PORT_CLASH = re.compile(r"could not bind IPv4 address .*: Address already in use")
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class PgServer:
    """A running throwaway server: where it listens, and the passwords to log in with."""

    host: str
    port: int
    password: str = field(repr=False)  # the superuser's
    log_path: Path

    def url(self, user: str = SUPERUSER, password: str | None = None, database: str = DATABASE) -> str:
        """A postgresql:// URL; without a password, the known one of `postgres` or `reader` (none for others)."""
        if password is None:
            password = {SUPERUSER: self.password, READER: READER_PASSWORD}.get(user)
        credentials = quote(user, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(database, safe='')}"

    @property
    def admin_url(self) -> str:
        return self.url(SUPERUSER)

    @property
    def reader_url(self) -> str:
        return self.url(READER)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL as the superuser on `leads`, autocommitted; the rows it returns, if any. For test setup only:
        the SQL is trusted."""
        import psycopg  # imported here: a suite without psycopg must still load this plugin

        with psycopg.connect(self.admin_url, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []

    def copy_rows(self, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
        """Bulk-load rows with COPY (much faster than INSERTs); `table` may be `schema.table`. The rows written."""
        import psycopg
        from psycopg import sql

        target = sql.Identifier(*table.split("."))
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(map(sql.Identifier, columns)))
        count = 0
        with (
            psycopg.connect(self.admin_url, autocommit=True) as conn,
            conn.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _unavailable(reason: str) -> NoReturn:
    # on CI a skip would pass silently with the database tests never run
    if _ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin, newest."""
    candidates: list[Path] = []
    for name in ("pg_ctl", "initdb"):
        found = shutil.which(name)
        if found:
            # resolved: /usr/local/bin holds symlinks, and the binaries must come from one installation
            candidates.append(Path(found).resolve().parent)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(part) if part.isdigit() else 0 for part in p.parent.name.split(".")],
        reverse=True,
    )
    candidates.extend(versions)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


class _Cluster:
    """The server's life: initdb, start, stop, remove. `destroy` is idempotent, for the finalizer and atexit both."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="leadsync-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.started = False
        self.destroyed = False
        self._user: tuple[int, int] | None = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root
            try:
                entry = pwd.getpwnam(SUPERUSER)
            except KeyError:
                self.destroy()
                pytest.fail("running as root, and there is no `postgres` user to run the server as", pytrace=False)
            self._user = (entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        # subprocess's user/group (rather than runuser or su) needs no tool installed; extra_groups drops root's
        ownership: dict[str, Any] = {}
        if self._user is not None:
            ownership = {"user": self._user[0], "group": self._user[1], "extra_groups": []}
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}  # no stray PGDATA, PGPORT
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,  # the caller's folder may be unreadable to the postgres user
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **ownership,
        )

    def _give(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, *self._user)

    def start(self) -> PgServer:
        password = secrets.token_urlsafe(24)
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        for path in (self.root, self.sockets, pwfile):
            self._give(path)

        initdb = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throwaway cluster needs no durability
        )
        pwfile.unlink()
        if initdb.returncode != 0:
            pytest.fail(f"initdb failed ({initdb.returncode}):\n{_tail(initdb.stdout + initdb.stderr)}", pytrace=False)

        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            offset = self.log.stat().st_size if self.log.exists() else 0
            options = f"-c listen_addresses={HOST} -p {port} -k {self.sockets} -c fsync=off"
            ctl = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"
            )
            if ctl.returncode == 0:
                self.started = True
                break
            with self.log.open(encoding="utf-8", errors="replace") as log:
                log.seek(offset)
                attempt_log = log.read()
            if not _PORT_CLASH.search(attempt_log):
                pytest.fail(
                    f"pg_ctl start failed ({ctl.returncode}): {ctl.stderr.strip()}\nserver log:\n{_tail(attempt_log)}",
                    pytrace=False,
                )
        else:
            pytest.fail(
                f"no free port after {_START_ATTEMPTS} attempts; server log:\n{_tail(self._log())}", pytrace=False
            )

        server = PgServer(host=HOST, port=port, password=password, log_path=self.log)
        self._provision(server)
        return server

    def _provision(self, server: PgServer) -> None:
        import psycopg

        with psycopg.connect(server.url(database="postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
            conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            # PUBLIC may connect and make temporary tables by default; reader gets CONNECT alone
            conn.execute(f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC")
            conn.execute(f"GRANT CONNECT ON DATABASE {DATABASE} TO {READER}")
            conn.execute(f"GRANT USAGE ON SCHEMA public TO {READER}")
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
            # tables the tests create later, as the superuser, are readable too
            conn.execute(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {SUPERUSER} IN SCHEMA public GRANT SELECT ON TABLES TO {READER}"
            )

    def _log(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"

    def destroy(self) -> None:
        if self.destroyed:
            return
        self.destroyed = True
        try:
            if self.started or (self.data / "postmaster.pid").exists():
                # immediate: nothing is worth a shutdown checkpoint, the folder is about to go
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session, with a database `leads` and a SELECT-only role `reader`."""
    bindir = _find_bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL binaries (initdb, pg_ctl) not found: not on PATH nor in /usr/lib/postgresql/*/bin; "
            "install PostgreSQL (e.g. apt-get install postgresql)"
        )
    try:
        import psycopg  # noqa: F401  # checked here: the fixture is useless without it
    except ImportError as error:
        _unavailable(f"psycopg is not installed: {error}")

    started = time.monotonic()
    cluster = _Cluster(bindir)
    # a backstop: if the session ends without running fixture teardown, the server still goes
    atexit.register(cluster.destroy)
    try:
        server = cluster.start()
        print(f"\nPostgreSQL on {server.host}:{server.port}, started in {time.monotonic() - started:.2f}s")
        yield server
    finally:
        cluster.destroy()
        atexit.unregister(cluster.destroy)
