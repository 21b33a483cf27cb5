"""SQL sources under attack: inputs that try to break what issue #23 promises of `- sql:` sources.

Each test states a promise and feeds it a hostile input: a query file that lexes one way for leadsync and another
for the database, a statement that writes while looking like a read, a path out of the spec's folder, a value of
an exotic type, a password that is hard to hide, a timeout too short to start a process, a process killed, a
result of millions of rows. A failing test here is a broken promise, not a broken test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import duckdb
import pytest
from click.testing import CliRunner
from pgcluster import READER, READER_PASSWORD, PgServer

from leadsync.cli import main
from leadsync.errors import SpecError
from leadsync.spec import load_leads, load_spec
from leadsync.sql._text import line_column

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
LEADSYNC = Path(sys.executable).parent / "leadsync"
URL_ENV = "HOSTILE_DATABASE_URL"
CATCH_ALL = [{"name": "all", "to": "nurture"}]
NUMERIC_ROUTE = [{"name": "big", "when": {"n": {"gte": 1000}}, "to": "nurture"}, {"name": "rest", "to": "nurture"}]
#: a line of stderr that places its problem: `file:LINE:COL: `, `file, row N: ` or `file: `
LOCATED = re.compile(r"^[^\s:]+(?::\d+:\d+|, row \d+)?: \S")


# -- helpers ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(URL_ENV, raising=False)
    (tmp_path / "queries").mkdir()
    return tmp_path


def write_spec(
    root: Path, source: dict[str, Any], query: str | bytes, routes: list[dict[str, Any]] | None = None
) -> str:
    """A sandbox spec in `root` reading its leads from `source` and the query file `queries/leads.sql`."""
    (root / "queries").mkdir(exist_ok=True)
    data = query if isinstance(query, bytes) else query.encode("utf-8")
    (root / "queries" / "leads.sql").write_bytes(data)
    seed = root / "quickstart.remote.json"
    if not seed.exists():
        seed.write_bytes((EXAMPLES / "quickstart.remote.json").read_bytes())
    spec = {
        "version": 1,
        "workspace": {"provider": "sandbox", "seed": seed.name},
        "destinations": {"enterprise": {"campaign": "Enterprise Q4"}, "nurture": {"list": "Nurture"}},
        "owners": {"alice": {"email": "alice@acme.test"}},
        "sources": [source],
        "routes": routes or CATCH_ALL,
    }
    path = root / "spec.yaml"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def leadsync(*args: str) -> tuple[int, str, str]:
    """The command in this process; an exception that escapes it is a traceback a user would see."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        pytest.fail(f"a traceback escaped `leadsync {' '.join(args)}`: {type(exc).__name__}: {exc}", pytrace=False)
    return result.exit_code, result.stdout, result.stderr


def one_error(*args: str) -> str:
    """A failing command's stderr: exit 1, no traceback, every line located or the closing `Error:` line."""
    code, out, err = leadsync(*args)
    assert code == 1, (code, out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines and lines[-1].startswith("Error: "), err
    for line in lines[:-1]:
        assert LOCATED.match(line) or line.startswith(("... and ", "Warning: ")), f"not a located line: {line!r}"
    return err


def plain_or_located(*args: str) -> tuple[int, str]:
    """The command either succeeds or fails with located lines only: never a traceback."""
    code, out, err = leadsync(*args)
    if code != 0:
        one_error(*args)
    return code, out + err


def pg_url(pg: PgServer, user: str = READER, password: str | None = None, *, via: str = "postgresql") -> str:
    url = pg.url(user, password)
    return url.replace("postgresql://", "postgresql+psycopg://") if via == "sqlalchemy" else url


def pg_table(pg: PgServer, rows: int = 3, *, writable: bool = False) -> str:
    """A table of `rows` leads the reader can read (and, `writable`, also write: a role given too much)."""
    name = f"victims_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE TABLE {name} (email text, n int)")
    pg.copy_rows(name, ["email", "n"], [(f"v{i}@x.test", i) for i in range(rows)])
    if writable:
        pg.execute(f"GRANT ALL ON {name} TO {READER}")
    return name


def pg_count(pg: PgServer, table: str) -> int:
    return int(pg.execute(f"SELECT count(*) FROM {table}")[0][0])


def children_running(parent: int, marker: bytes = b"leadsync.sql._duckdb") -> list[int]:
    """Live (not zombie) processes whose parent is `parent` and whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and marker in command:
            found.append(int(entry.name))
    return found


def wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


# -- the query file: one statement, for leadsync and for the database alike ------------------------------------------

#: a second statement leadsync's lexer does not see, each by a rule where it reads SQL differently from PostgreSQL:
#: `--` comments end at \r too; `$` is an identifier character (`a$$x$` is a name, not a dollar quote); a byte past
#: ASCII starts an identifier (`€$x$` is a name)
HIDDEN = {
    "comment ended by CR": "SELECT 'a@x.test' AS email -- a note\r; COMMIT; DELETE FROM {t}; --\n",
    "dollar inside a name": "SELECT 'a@x.test' AS email, 1 AS a$$x$; COMMIT; DELETE FROM {t}; SELECT 1 AS b$x$",
    "non-ASCII name": "SELECT 'a@x.test' AS email, 1 AS €$x$; COMMIT; DELETE FROM {t}; SELECT 1 AS b$x$",
}


@pytest.mark.parametrize("url", ["set", "unset"])
@pytest.mark.parametrize("trick", list(HIDDEN))
def test_a_hidden_second_statement_is_refused_offline(folder: Path, trick: str, url: str) -> None:
    # `validate` without --sources: what CI runs on a pull request, with or without the database's variable set
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, HIDDEN[trick].format(t="victims"))
    environ = {URL_ENV: "postgresql://reader@db.example.test/leads"} if url == "set" else {}
    with pytest.raises(SpecError) as raised:
        load_leads(load_spec(spec), environ, run_queries=False)
    assert "holds one statement" in str(raised.value) or "only reads" in str(raised.value)


POSTGRES_ONLY_SYNTAX = [
    "SELECT email FROM ONLY {t}",
    "SELECT xmlelement(name td, email)::text AS x, email FROM {t}",
    "SELECT v.email FROM ROWS FROM (unnest(ARRAY['a@x.test'])) AS v(email)",
]


@pytest.mark.parametrize("query", POSTGRES_ONLY_SYNTAX)
def test_offline_validate_does_not_judge_a_postgres_query_by_duckdb_grammar(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    table = pg_table(postgres)
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, query.format(t=table))
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    code, _, err = leadsync("validate", "--sources", spec)
    assert code == 0, err  # PostgreSQL runs it
    monkeypatch.delenv(URL_ENV)
    code, _, err = leadsync("validate", spec)  # CI without the database's credentials
    assert code == 0, err


@pytest.mark.parametrize("via", ["postgresql", "sqlalchemy"])
@pytest.mark.parametrize("trick", list(HIDDEN))
def test_a_hidden_second_statement_writes_nothing(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, trick: str, via: str
) -> None:
    table = pg_table(postgres, writable=True)  # a role that could write: the READ ONLY transaction is the guard
    monkeypatch.setenv(URL_ENV, pg_url(postgres, via=via))
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, HIDDEN[trick].format(t=table))
    leadsync("validate", "--sources", spec)
    assert pg_count(postgres, table) == 3, "the query's hidden DELETE ran and was committed"


def test_a_server_without_standard_strings_does_not_hide_a_statement(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a legacy server (or role) with standard_conforming_strings off reads \' inside '...' as a quote
    table = pg_table(postgres, writable=True)
    url = pg_url(postgres) + "?options=-c%20standard_conforming_strings%3Doff"
    monkeypatch.setenv(URL_ENV, url)
    query = f"SELECT 'a\\' AS email, '; COMMIT; DELETE FROM {table}; --' AS x"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, query)
    leadsync("validate", "--sources", spec)
    assert pg_count(postgres, table) == 3, "the query's hidden DELETE ran and was committed"


def test_duckdb_hidden_second_statement_writes_nothing(folder: Path) -> None:
    query = "SELECT 'a@x.test' AS email -- a note\r; COPY (SELECT 42 AS n) TO 'stolen.csv'; --\n"
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, query)
    leadsync("validate", "--sources", spec)
    assert not (folder / "stolen.csv").exists()


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_a_nul_byte_does_not_cut_the_reviewed_query(
    folder: Path, engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the reviewed file says WHERE false; libpq stops reading the query at the NUL: the filter must not vanish
    source: dict[str, Any] = {"sql": "queries/leads.sql"}
    if engine == "postgresql":
        monkeypatch.setenv(URL_ENV, pg_url(request.getfixturevalue("postgres")))
        source["url_env"] = URL_ENV
    spec = write_spec(folder, source, "SELECT 'a@x.test' AS email -- \x00\nWHERE false")
    code, out, _ = leadsync("validate", "--sources", spec)
    assert code == 1 or " 0 leads" in out, out


LEGIT = {
    "semicolon in a string": ("SELECT 'a;b' AS x, 'a@x.test' AS email", 1),
    "dollar-quoted body": ("SELECT $t$a;--/*$t$ AS x, $$a@x.test$$ AS email", 1),
    "nested comments": ("/* a /* b ; */ c ; */ SELECT 'a@x.test' AS email", 1),
    "E-string escape": ("SELECT E'it\\'s; fine' AS x, 'a@x.test' AS email", 1),
    "byte order mark": ("\ufeffSELECT 'a@x.test' AS email", 1),
    "CRLF": ("SELECT 'a@x.test'\r\n  AS email\r\n;\r\n-- done\r\n", 1),
    "comment with ; at the end": ("SELECT 'a@x.test' AS email -- ;", 1),
    "parenthesised": ("(SELECT 'a@x.test' AS email)", 1),
    "WITH": ("WITH t AS (SELECT 'a@x.test' AS email) SELECT * FROM t", 1),
}


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
@pytest.mark.parametrize("case", list(LEGIT))
def test_a_legit_query_with_tricky_lexing_is_accepted(
    folder: Path, engine: str, case: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, leads = LEGIT[case]
    source: dict[str, Any] = {"sql": "queries/leads.sql"}
    if engine == "postgresql":
        monkeypatch.setenv(URL_ENV, pg_url(request.getfixturevalue("postgres")))
        source["url_env"] = URL_ENV
    spec = write_spec(folder, source, query)
    assert leadsync("validate", spec)[0] == 0
    code, out, err = leadsync("validate", "--sources", spec)
    assert code == 0 and f"{leads} leads" in out, err


def test_a_query_file_too_big_or_not_utf8_is_one_located_line(folder: Path) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, b"SELECT 'a@x.test' AS email -- " + b"x" * (2 << 20))
    assert "queries/leads.sql: a query file is at most" in one_error("validate", spec)
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, b"SELECT '\xff' AS x, 'a@x.test' AS email")
    assert "queries/leads.sql: not UTF-8 text" in one_error("validate", spec)


# -- statements that write, looking like reads -------------------------------------------------------------------------

DUCKDB_WRITES = [
    "SELECT * FROM query('COPY (SELECT 1) TO ''stolen.csv''')",
    "CALL pragma_version()",
    "EXPORT DATABASE 'stolen'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "COPY (SELECT 'a@x.test' AS email) TO 'stolen.csv'",
    "CREATE TEMP TABLE t AS SELECT 'a@x.test' AS email",
    "FROM range(1); COPY (SELECT 1) TO 'stolen.csv'",
    "ATTACH 'stolen.duckdb' AS s",
    "SELECT 1 AS email; DETACH memory",
    "WITH t AS (SELECT 1) SELECT * FROM t; CHECKPOINT",
]


@pytest.mark.parametrize("query", DUCKDB_WRITES)
def test_duckdb_a_query_that_writes_or_configures_is_refused(folder: Path, query: str) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, query)
    one_error("validate", "--sources", spec)
    assert sorted(p.name for p in folder.iterdir()) == ["queries", "quickstart.remote.json", "spec.yaml"]


@pytest.mark.parametrize(
    ("query", "left"),
    [
        ("SELECT 'a@x.test' AS email, pg_advisory_lock(4242)::text AS x",
         "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"),
        ("SELECT 'a@x.test' AS email, lo_from_bytea(0, 'stolen')::text AS x",
         "SELECT count(*) FROM pg_largeobject_metadata"),
        ("SELECT 'a@x.test' AS email, pg_notify('leadsync', 'payload')::text AS x", None),
        ("SELECT 'a@x.test' AS email, set_config('default_transaction_read_only', 'off', false) AS x", None),
    ],
)  # fmt: skip
def test_pg_a_select_that_writes_leaves_nothing(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, query: str, left: str | None
) -> None:
    monkeypatch.setenv(URL_ENV, postgres.admin_url)  # even the superuser's session only reads
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, query)
    plain_or_located("validate", "--sources", spec)
    if left is not None:
        assert postgres.execute(left)[0][0] == 0


def test_pg_select_for_update_is_refused(folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    table = pg_table(postgres, writable=True)
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, f"SELECT * FROM {table} FOR UPDATE")
    assert "read-only" in one_error("validate", "--sources", spec)


# -- DuckDB reads nothing outside the spec's folder ----------------------------------------------------------------


@pytest.fixture
def team(folder: Path) -> Path:
    """A spec folder `team/` beside an `outside/` folder holding a secret, with links from inside to it."""
    outside = folder / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("email\nsecret@outside.test\n")
    root = folder / "team"
    (root / "exports").mkdir(parents=True)
    (root / "exports" / "ok.csv").write_text("email\nok@inside.test\n")
    (root / "exports" / "sub").symlink_to(outside)
    (root / "linkdir").symlink_to(outside)
    return root


OUTSIDE_READS = [
    "SELECT * FROM read_csv('exports/sub/secret.csv')",
    "SELECT * FROM read_csv('exports/*/secret.csv')",
    "SELECT * FROM read_csv('linkdir/secret.csv')",
    "SELECT * FROM read_csv('exports/../../outside/secret.csv')",
    "SELECT * FROM read_csv('{root}/../outside/secret.csv')",
    "SELECT * FROM read_csv('{root}//exports//..//..//outside/secret.csv')",
    "SELECT * FROM read_csv('/proc/self/cwd/../outside/secret.csv')",
    "SELECT * FROM read_csv('~/secret.csv')",
    "SELECT * FROM read_csv('file://{base}/outside/secret.csv')",
    "SELECT * FROM read_csv('http://127.0.0.1:9/secret.csv')",
    "SELECT content AS email FROM read_text('{base}/outside/secret.csv')",
    "SELECT 'a@x.test' AS email, size AS n FROM read_blob('exports/*/*')",
    "SELECT file || '@x.test' AS email FROM glob('{base}/outside/*')",
    "SELECT file || '@x.test' AS email FROM glob('exports/sub/*')",
    "SELECT getenv('HOME') AS email",
    "SELECT * FROM read_csv('/proc/self/environ')",
]


@pytest.mark.parametrize("query", OUTSIDE_READS)
def test_duckdb_reads_nothing_outside_the_spec_folder(team: Path, query: str) -> None:
    spec = write_spec(team, {"sql": "queries/leads.sql"}, query.format(root=team, base=team.parent))
    error = one_error("validate", "--sources", spec)
    assert "secret@outside.test" not in error and "secret.csv@x.test" not in error


def test_duckdb_a_recursive_glob_does_not_follow_a_link_out(team: Path) -> None:
    spec = write_spec(team, {"sql": "queries/leads.sql"}, "SELECT * FROM read_csv('exports/**/*.csv')")
    code, out, err = leadsync("plan", spec)
    assert "secret@outside.test" not in out + err
    assert code == 1 or "ok@inside.test" in out


def test_duckdb_a_view_in_the_database_file_reads_nothing_outside(team: Path) -> None:
    with duckdb.connect(str(team / "w.duckdb")) as con:
        con.execute(f"CREATE VIEW v AS SELECT * FROM read_csv('{team.parent}/outside/secret.csv')")
        con.execute("CREATE MACRO m() AS TABLE SELECT * FROM read_csv('/etc/passwd')")
    for query in ("SELECT * FROM v", "SELECT * FROM m()"):
        spec = write_spec(team, {"sql": "queries/leads.sql", "database": "w.duckdb"}, query)
        error = one_error("validate", "--sources", spec)
        assert "not inside the spec's folder" in error, error


@pytest.mark.parametrize("kind", ["link out", "not duckdb", "sqlite", "directory"])
def test_duckdb_a_database_that_is_not_a_duckdb_file_inside_is_one_located_line(team: Path, kind: str) -> None:
    database = team / "w.duckdb"
    if kind == "link out":
        with duckdb.connect(str(team.parent / "outside" / "real.duckdb")) as con:
            con.execute("CREATE TABLE t AS SELECT 'secret@outside.test' AS email")
        database.symlink_to(team.parent / "outside" / "real.duckdb")
    elif kind == "not duckdb":
        database.write_text("email\na@x.test\n")
    elif kind == "sqlite":
        import sqlite3

        with sqlite3.connect(str(database)) as lite:
            lite.execute("CREATE TABLE t (email text)")
    else:
        database.mkdir()
    spec = write_spec(team, {"sql": "queries/leads.sql", "database": "w.duckdb"}, "SELECT * FROM t")
    error = one_error("validate", "--sources", spec)
    assert re.search(r"spec\.yaml:\d+:\d+: ", error), error
    assert "secret@outside.test" not in error


def test_duckdb_installs_no_extension(team: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for query in ("SELECT * FROM read_xlsx('a.xlsx')", "SELECT * FROM sqlite_scan('a.db', 't')",
                  "SELECT * FROM 's3://bucket/a.parquet'", "SELECT * FROM st_read('a.shp')"):  # fmt: skip
        spec = write_spec(team, {"sql": "queries/leads.sql"}, query)
        done = subprocess.run(
            [str(LEADSYNC), "validate", "--sources", spec], capture_output=True, text=True, timeout=60,
            env={**os.environ, "HOME": str(home)}, check=False,
        )  # fmt: skip
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert list(home.rglob("*")) == []


# -- timeouts and processes -------------------------------------------------------------------------------------------

SLOW_DUCKDB = "SELECT 'a@x.test' AS email, count(*) AS n FROM range(100000000) a, range(1000000) b"


@pytest.mark.parametrize("timeout", [0.001, 0.02])
def test_duckdb_a_tiny_timeout_is_a_timeout_not_a_broken_pipe(folder: Path, timeout: float) -> None:
    # a query file near the size limit takes longer to hand to the child than the child lives
    query = ("-- " + "x" * 1000 + "\n") * 900 + "SELECT 'a@x.test' AS email"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "timeout": timeout}, query)
    try:
        load_leads(load_spec(spec))
    except SpecError as exc:
        assert "ran past its timeout" in str(exc), str(exc)
    except Exception as exc:  # what escapes load_leads is the finding
        pytest.fail(f"load_leads raised {type(exc).__name__}: {exc}, not a SpecError", pytrace=False)
    else:
        pytest.fail("a query past its timeout was read")
    assert "queries/leads.sql: the query ran past its timeout" in one_error("validate", "--sources", spec)


@needs_proc
@pytest.mark.parametrize("ending", ["timeout", "error", "max_rows", "bad key"])
def test_duckdb_child_does_not_outlive_its_query(folder: Path, ending: str) -> None:
    source: dict[str, Any] = {"sql": "queries/leads.sql"}
    query = {
        "timeout": SLOW_DUCKDB,
        "error": "SELECT 'a@x.test' AS email, nosuch",
        "max_rows": "SELECT 'u' || i || '@x.test' AS email FROM range(100000000) t(i)",
        "bad key": "SELECT NULL AS email FROM range(300000)",
    }[ending]
    if ending == "timeout":
        source["timeout"] = 1
    if ending == "max_rows":
        source["max_rows"] = 1000
    spec = write_spec(folder, source, query)
    started = time.monotonic()
    one_error("validate", "--sources", spec)
    assert time.monotonic() - started < 30
    assert wait_for(lambda: not children_running(os.getpid()), 2), children_running(os.getpid())


def _run_and_signal(spec: str, cwd: Path, sig: int) -> list[int]:
    """`leadsync validate --sources` on a long DuckDB query, sent `sig` once its child runs; the DuckDB children
    still running two seconds later (killed before returning)."""
    proc = subprocess.Popen([str(LEADSYNC), "validate", "--sources", spec], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert wait_for(lambda: children_running(proc.pid), 20), "the DuckDB child never started"
        kids = children_running(proc.pid)
        time.sleep(0.5)  # the query is running
        proc.send_signal(sig)
        proc.communicate(timeout=20)
        wait_for(lambda: not [k for k in kids if Path(f"/proc/{k}").exists()], 2)
        alive = [k for k in kids if Path(f"/proc/{k}").exists()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for kid in alive:  # orphans of the leadsync this test started
        os.kill(kid, signal.SIGKILL)
    return alive


@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT], ids=["TERM", "KILL", "INT"])
def test_duckdb_child_does_not_outlive_a_killed_leadsync(folder: Path, sig: int) -> None:
    # CI cancels a job with SIGTERM (then SIGKILL): the query's child must not run on, unbounded, without a parent
    spec = write_spec(folder, {"sql": "queries/leads.sql", "timeout": 600}, SLOW_DUCKDB)
    alive = _run_and_signal(spec, folder, sig)
    assert alive == [], f"DuckDB child {alive} still ran its query after leadsync was sent signal {sig}"


def test_pg_no_backend_is_left_after_a_timeout(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    tag = uuid.uuid4().hex[:8]
    query = f"SELECT 'a@x.test' AS email, pg_sleep(30)::text AS {'t' + tag}"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV, "timeout": 1}, query)
    assert "ran past its timeout of 1 s" in one_error("validate", "--sources", spec)
    running = f"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%t{tag}%' AND pid <> pg_backend_pid()"
    assert wait_for(lambda: postgres.execute(running)[0][0] == 0, 3), postgres.execute(running)


@pytest.mark.parametrize("engine", ["postgresql", "sqlalchemy"])  # DuckDB's: test_duckdb_a_tiny_timeout_...
def test_a_timeout_of_a_millisecond_is_a_located_timeout(
    folder: Path, engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    source: dict[str, Any] = {"sql": "queries/leads.sql", "timeout": 0.001}
    query = SLOW_DUCKDB
    if engine != "duckdb":
        monkeypatch.setenv(URL_ENV, pg_url(request.getfixturevalue("postgres"), via=engine))
        source["url_env"] = URL_ENV
        query = "SELECT 'a@x.test' AS email, pg_sleep(30)::text AS x"
    spec = write_spec(folder, source, query)
    started = time.monotonic()
    error = one_error("validate", "--sources", spec)
    assert time.monotonic() - started < 10
    assert "timeout" in error, error


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes connections (the kernel completes them) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@pytest.mark.parametrize("via", ["postgresql", "sqlalchemy"])
def test_a_server_that_never_answers_is_a_timeout_not_a_hang(folder: Path, silent_server: int, via: str) -> None:
    url = f"{'postgresql+psycopg' if via == 'sqlalchemy' else 'postgresql'}://u:pw@127.0.0.1:{silent_server}/db"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV, "timeout": 2}, "SELECT 1 AS email")
    started = time.monotonic()
    proc = subprocess.Popen([str(LEADSYNC), "validate", "--sources", spec], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, URL_ENV: url})  # fmt: skip
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"timeout: 2, and leadsync still waited for the server after {time.monotonic() - started:.0f} s")
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert f"127.0.0.1:{silent_server}" in err


# -- types: a plain value or a located error, never a traceback ----------------------------------------------------

PG_VALUES = [
    "10::numeric ^ 400",  # a whole number too big for a float
    "'NaN'::numeric",
    "'Infinity'::numeric",
    "'-Infinity'::float8",
    "'$1,000.00'::money",
    "'infinity'::date",
    "'-infinity'::timestamp",
    "'infinity'::timestamptz",
    "now()",
    "'1 mon 2 days'::interval",
    "gen_random_uuid()",
    "'{\"a\": 1}'::jsonb",
    "'1'::json",
    "'\\x00ff'::bytea",
    "ARRAY[1, 2]",
    "'10.0.0.1'::inet",
    "int4range(1, 5)",
    "ROW(1, 2)",
    "'<a/>'::xml",
    "B'101'",
    "'294277-01-01'::date",
    "'12:00+02'::timetz",
]


@pytest.mark.parametrize("value", PG_VALUES)
def test_pg_every_type_is_a_plain_value_or_a_located_error(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    query = f"SELECT 'a@x.test' AS email, {value} AS n"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, query, NUMERIC_ROUTE)
    plain_or_located("plan", spec)


DUCKDB_VALUES = [
    "170141183460469231731687303715884105727::HUGEINT",
    "340282366920938463463374607431768211455::UHUGEINT",
    "repeat('9', 5000)::VARINT",
    "'nan'::DOUBLE",
    "'infinity'::DATE",
    "'-infinity'::TIMESTAMP",
    "'294247-01-10'::DATE",
    "TIMESTAMPTZ '2020-01-01 00:00:00+05'",
    "TIMESTAMP_NS '2020-01-01 00:00:00.123456789'",
    "INTERVAL 1 MONTH",
    "gen_random_uuid()",
    "'{\"a\": 1}'::JSON",
    "'\\x00'::BLOB",
    "map(['a'], [1])",
    "{'a': 1}",
    "[1, 2]",
    "[1, 2]::INTEGER[2]",
    "union_value(k := 1)",
    "'ab'::ENUM('ab', 'cd')",
    "'101'::BIT",
    "TIMETZ '12:00:00+02'",
]


@pytest.mark.parametrize("value", DUCKDB_VALUES)
def test_duckdb_every_type_is_a_plain_value_or_a_located_error(folder: Path, value: str) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, f"SELECT 'a@x.test' AS email, {value} AS n", NUMERIC_ROUTE)
    plain_or_located("plan", spec)


def test_pg_a_huge_whole_number_is_compared_or_refused_not_a_traceback(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV},
                      "SELECT 'a@x.test' AS email, 10::numeric ^ 400 AS n", NUMERIC_ROUTE)  # fmt: skip
    plain_or_located("plan", spec)


def test_pg_a_duplicate_key_with_huge_numbers_names_both_rows(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    query = "SELECT 'a@x.test' AS email, 10::numeric ^ 5000 AS n UNION ALL SELECT 'a@x.test', 10::numeric ^ 5000 + 1"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, query)
    error = one_error("validate", "--sources", spec)
    # a number past a float's range is refused at its row, one line, rather than held and never printable
    assert "queries/leads.sql, row 1: column 'n' holds a number of more than 300 digits: too large" in error, error


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT 42 AS email", "queries/leads.sql, row 1: invalid email address: 42"),
        ("SELECT true AS email", "queries/leads.sql, row 1: invalid email address: True"),
        ("SELECT NULL::VARCHAR AS email FROM range(3)", "queries/leads.sql, row 3: invalid email address: NULL"),
        ("SELECT 'a@x.test' AS email, 1 AS n, 2 AS n", "queries/leads.sql: the query returns column 'n' twice"),
        ("SELECT 'jane@bigco.test' AS email, 1 AS n UNION ALL SELECT 'jane\u200b@bigco.test', 2",
         "row 2: jane@bigco.test (written 'jane\\u200b@bigco.test') is listed twice with different attributes: "
         "here and at queries/leads.sql, row 1"),
        ("SELECT 'a@x.test' AS Email", "queries/leads.sql: no 'email' column (columns: Email)"),
    ],
)  # fmt: skip
def test_bad_keys_and_columns_are_located(folder: Path, query: str, message: str) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, query)
    assert message in one_error("validate", "--sources", spec)


def test_an_empty_result_and_a_look_alike_are_not_errors(folder: Path) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, "SELECT 'a@x.test' AS email WHERE false")
    code, out, err = leadsync("validate", "--sources", spec)
    assert code == 0 and "0 leads" in out, err
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, "SELECT 'j\u0430ne@bigco.test' AS email")  # Cyrillic a
    code, out, err = leadsync("validate", "--sources", spec)
    assert code == 0 and "queries/leads.sql, row 1: 'j\u0430ne@bigco.test' mixes Cyrillic and Latin" in err, err


def test_a_column_renamed_onto_another_returned_column_is_not_silently_dropped(folder: Path) -> None:
    # fields maps `size` to the column `employees`, and the query also returns a column `size`: which one?
    query = "SELECT 'a@x.test' AS email, 5 AS employees, 7000 AS size"
    routes = [{"name": "big", "when": {"size": {"gte": 1000}}, "to": "nurture"}, {"name": "rest", "to": "nurture"}]
    spec = write_spec(folder, {"sql": "queries/leads.sql", "fields": {"size": "employees"}}, query, routes)
    error = one_error("validate", "--sources", spec)
    assert "size" in error and "employees" in error, error


def test_max_rows_is_exact(folder: Path) -> None:
    query = "SELECT 'u' || i || '@x.test' AS email FROM range({n}) t(i)"
    spec = write_spec(folder, {"sql": "queries/leads.sql", "max_rows": 25_000}, query.format(n=25_000))
    code, out, err = leadsync("validate", "--sources", spec)
    assert code == 0 and "25000 leads" in out.replace(",", ""), err
    spec = write_spec(folder, {"sql": "queries/leads.sql", "max_rows": 25_000}, query.format(n=25_001))
    assert "the query returns more than 25,000 rows" in one_error("validate", "--sources", spec)


# -- SQL errors at the query file's LINE:COL ---------------------------------------------------------------------------

PLACED = {
    "tab-indented": "SELECT 'a@x.test' AS email,\n\tnosuch",
    "two tabs": "SELECT 'a@x.test' AS email,\n\t\tn,\tnosuch",
    "wide characters": "SELECT '日本' AS email, nosuch",
    "emoji": "SELECT '😀😀' AS email, nosuch",
    "CRLF": "SELECT 'a@x.test' AS email,\r\n  nosuch\r\n",
}


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
@pytest.mark.parametrize("case", list(PLACED))
def test_an_sql_error_is_at_its_line_and_column(
    folder: Path, engine: str, case: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = PLACED[case]
    if "\tn," in query:
        query = "WITH t AS (SELECT 1 AS n) " + query + " FROM t"
    source: dict[str, Any] = {"sql": "queries/leads.sql"}
    if engine == "postgresql":
        monkeypatch.setenv(URL_ENV, pg_url(request.getfixturevalue("postgres")))
        source["url_env"] = URL_ENV
    spec = write_spec(folder, source, query)
    line, column = line_column(query, query.index("nosuch"))
    error = one_error("validate", "--sources", spec)
    assert f"queries/leads.sql:{line}:{column}: " in error, error


def test_duckdb_a_syntax_error_offline_is_at_its_line_and_column(folder: Path) -> None:
    query = "SELECT 'a@x.test' AS email\nFROM range(3) t\n\tWHERE WHERE"
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, query)
    line, column = line_column(query, query.rindex("WHERE"))
    assert f"queries/leads.sql:{line}:{column}: " in one_error("validate", spec)


# -- output: one located line, whatever the names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x\ny", "x\x1b]0;pwned\x07y", "x\ry"], ids=["newline", "OSC escape", "CR"])
def test_a_column_name_cannot_break_the_one_line_or_drive_the_terminal(folder: Path, name: str) -> None:
    quoted = '"' + name + '"'
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, f"SELECT 'a@x.test' AS email, 1 AS {quoted}, 2 AS {quoted}")
    code, _, err = leadsync("validate", "--sources", spec)
    assert code == 1
    assert len(err.splitlines()) == 2, err  # the problem, then `Error: 1 problem found`
    assert "\x1b" not in err and "\r" not in err, repr(err)


# -- secrets: never the password, in any form, anywhere -----------------------------------------------------------


def _forms(password: str) -> set[str]:
    return {password, quote(password, safe=""), unquote(password), quote(unquote(password), safe="")}


@pytest.mark.parametrize("via", ["postgresql", "sqlalchemy"])
def test_a_password_with_a_raw_at_sign_never_shows(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    # users paste passwords unencoded: `@` makes part of it look like the host
    scheme = "postgresql+psycopg" if via == "sqlalchemy" else "postgresql"
    monkeypatch.setenv(URL_ENV, f"{scheme}://reader:hunter2@topsecret@127.0.0.1:{postgres.port}/leads")
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, "SELECT 'a@x.test' AS email")
    error = one_error("validate", "--sources", spec)
    assert "hunter2" not in error and "topsecret" not in error, error


@pytest.mark.parametrize("via", ["postgresql", "sqlalchemy"])
@pytest.mark.parametrize("password", ["p@ss:w0rd/x?y#z", "p%40ss", "pässwörd-日本", "a b+c&d=e", "%zz%"])
@pytest.mark.parametrize("failure", ["wrong password", "refused"])
def test_a_failed_connection_never_shows_the_password(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, via: str, password: str, failure: str
) -> None:
    url = pg_url(postgres, READER, password, via=via)
    if failure == "refused":
        url = url.replace(f":{postgres.port}/", ":1/")
    monkeypatch.setenv(URL_ENV, url)
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, "SELECT 'a@x.test' AS email")
    code, out, err = leadsync("validate", "--sources", spec)
    assert code == 1
    port = 1 if failure == "refused" else postgres.port
    assert f"127.0.0.1:{port}/leads" in err, err
    for form in _forms(password) | _forms(quote(password, safe="")):
        assert form not in out + err, (form, err)


@pytest.mark.parametrize("key", ["database", "sql", "path"])
def test_a_url_where_a_file_belongs_is_not_echoed(folder: Path, key: str) -> None:
    url = "postgresql://reader:hunter2topsecret@db.example.test/leads"
    source: dict[str, Any] = {"sql": "queries/leads.sql", key: url} if key == "database" else {key: url}
    spec = write_spec(folder, source, "SELECT 'a@x.test' AS email")
    for command in (["validate"], ["validate", "--sources"], ["plan"]):
        error = one_error(*command, spec)
        assert "hunter2topsecret" not in error, error


def test_the_password_is_in_no_file_and_no_output_after_plan_and_apply(
    folder: Path, postgres: PgServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    table = pg_table(postgres)
    monkeypatch.setenv(URL_ENV, pg_url(postgres))
    spec = write_spec(folder, {"sql": "queries/leads.sql", "url_env": URL_ENV}, f"SELECT email, n FROM {table}")
    said = ""
    for command in (["plan", spec, "--out", "plan.json"], ["apply", "plan.json", "--auto-approve"], ["plan", spec]):
        code, out, err = leadsync(*command)
        assert code == 0, err
        said += out + err
    state = Path(os.environ.get("LEADSYNC_STATE_DIR", str(tmp_path)))
    for form in _forms(READER_PASSWORD) | {os.environ[URL_ENV]}:
        assert form not in said
        for place in (folder, state):
            for path in place.rglob("*"):
                if path.is_file():
                    assert form.encode() not in path.read_bytes(), path


# -- bad input sends nothing ---------------------------------------------------------------------------------------


def test_apply_with_a_failing_query_writes_nothing(folder: Path) -> None:
    # the query reads a@x.test, then fails (the same person twice, different): apply must not add them
    failing = "SELECT 'a@x.test' AS email, 1 AS n UNION ALL SELECT 'a@x.test' AS email, 2 AS n"
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, failing)
    one_error("apply", spec, "--auto-approve")
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, "SELECT 'a@x.test' AS email")
    code, out, err = leadsync("plan", spec)
    assert code == 0 and "+ a@x.test" in out, out + err  # still to add: nothing was sent


# -- memory: grows with the leads kept, not the rows fetched ----------------------------------------------------------


def _peak_python_memory(spec: str) -> int:
    tracemalloc.start()
    try:
        load_leads(load_spec(spec))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rows_of_one_lead_do_not_pile_up_in_memory(folder: Path) -> None:
    # every row the same person, exactly: one lead kept, whatever the number of rows
    query = "SELECT 'a@x.test' AS email, 'DE' AS country FROM range({n})"
    small = write_spec(folder, {"sql": "queries/leads.sql"}, query.format(n=10_000))
    few = _peak_python_memory(small)
    large = write_spec(folder, {"sql": "queries/leads.sql"}, query.format(n=200_000))
    many = _peak_python_memory(large)
    assert many < few + (8 << 20), f"peak {few / 1e6:.1f} MB for 10,000 rows, {many / 1e6:.1f} MB for 200,000"


def _peak_rss_mb(spec: str, cwd: Path, env: dict[str, str]) -> tuple[int, float, str]:
    """Peak RSS (MB) of `leadsync validate --sources` and its DuckDB child, measured in a process of its own."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "started = time.monotonic()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,"
        " time.monotonic() - started, done.stderr[-300:] + done.stdout[-300:]]))\n"
    )
    command = [sys.executable, "-c", probe, str(LEADSYNC), "validate", "--sources", spec]
    environ = {**os.environ, **env}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environ, timeout=600, check=True)
    rss, seconds, said = json.loads(done.stdout)
    return int(rss), float(seconds), str(said)


@pytest.mark.slow  # four runs of up to 2,000,000 rows: about a minute
@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_peak_memory_of_two_million_rows_of_one_lead(
    folder: Path, engine: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    env: dict[str, str] = {}
    source: dict[str, Any] = {"sql": "queries/leads.sql", "max_rows": 10_000_000}
    query = "SELECT 'a@x.test' AS email, 'DE' AS country FROM range({n})"
    if engine == "postgresql":
        env[URL_ENV] = pg_url(request.getfixturevalue("postgres"))
        source["url_env"] = URL_ENV
        query = "SELECT 'a@x.test' AS email, 'DE' AS country FROM generate_series(1, {n})"
    measured = {}
    for n in (20_000, 2_000_000):
        spec = write_spec(folder, source, query.format(n=n))
        measured[n] = _peak_rss_mb(spec, folder, env)
    with capsys.disabled():
        for n, (rss, seconds, _) in measured.items():
            print(f"\n{engine}: {n:,} rows of one lead: peak RSS {rss} MB, {seconds:.1f} s")
    assert measured[2_000_000][0] < measured[20_000][0] + 100, measured
