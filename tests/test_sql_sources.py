"""SQL sources end to end (issue #23): the same scenarios on DuckDB (a database file, and Parquet files read by
the query) and on a real PostgreSQL server (tests/pgcluster.py), directly and through SQLAlchemy.

Each scenario writes its rows into the engine, a query file and a spec beside a sandbox seed, and runs the
command a user would: plan, apply, plan again; or the bad input and the one located line it must give.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_run import leadsync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgcluster import READER, PgServer

from leadsync.errors import SpecError
from leadsync.spec import load_leads, load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
URL_ENV = "LEADS_DATABASE_URL"
#: generic column types, as each engine spells them
TYPES = {
    "text": ("VARCHAR", "text"),
    "int": ("BIGINT", "bigint"),
    "numeric": ("DECIMAL(12,2)", "numeric(12,2)"),
    "bool": ("BOOLEAN", "boolean"),
    "date": ("DATE", "date"),
}
LEADS = {"email": "text", "employees": "int", "country": "text", "customer": "bool"}
ROWS: list[tuple[Any, ...]] = [
    ("jane@bigco.test", 5000, "DE", False),
    ("tom@globex.test", 1200, "US", False),
    ("ana@small.test", 12, "FR", None),
    ("li@shop.test", None, "DE", True),
]


@dataclass
class Engine:
    """Rows put where a source query reads them, and the spec keys that say how to reach them."""

    name: str
    root: Path
    pg: PgServer | None = None
    via_sqlalchemy: bool = False

    def table(self, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> str:
        """A new table (or Parquet file) holding `rows`: what a query's FROM names."""
        name = f"leads_{uuid.uuid4().hex[:8]}"
        if self.pg is not None:
            spelt = ", ".join(f"{c} {TYPES[t][1]}" for c, t in columns.items())
            self.pg.execute(f"CREATE TABLE {name} ({spelt})")
            if rows:
                self.pg.copy_rows(name, list(columns), rows)
            return name
        database = self.root / "warehouse.duckdb"
        with duckdb.connect(str(database)) as con:
            spelt = ", ".join(f"{c} {TYPES[t][0]}" for c, t in columns.items())
            con.execute(f"CREATE TABLE {name} ({spelt})")
            if rows:
                con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", list(rows))
            if self.name == "parquet":
                (self.root / "exports").mkdir(exist_ok=True)
                con.execute(f"COPY {name} TO '{self.root / 'exports' / name}.parquet' (FORMAT parquet)")
                return f"read_parquet('exports/{name}.parquet')"
        return name

    def source(self, **more: Any) -> dict[str, Any]:
        """The spec's source entry for a query file `queries/leads.sql`."""
        entry: dict[str, Any] = {"sql": "queries/leads.sql", **more}
        if self.pg is not None:
            entry["url_env"] = URL_ENV
        elif self.name == "duckdb":
            entry["database"] = "warehouse.duckdb"
        return entry

    def url(self, user: str = READER, password: str | None = None) -> str:
        assert self.pg is not None
        url = self.pg.url(user, password)
        return url.replace("postgresql://", "postgresql+psycopg://") if self.via_sqlalchemy else url


ENGINES = ["duckdb", "parquet", "postgresql", "sqlalchemy"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queries").mkdir()
    if request.param in ("postgresql", "sqlalchemy"):
        pg: PgServer = request.getfixturevalue("postgres")
        found = Engine(request.param, tmp_path, pg, via_sqlalchemy=request.param == "sqlalchemy")
        monkeypatch.setenv(URL_ENV, found.url())
        return found
    monkeypatch.delenv(URL_ENV, raising=False)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # the database a `duckdb` source names
    return Engine(request.param, tmp_path)


def write_spec(root: Path, source: dict[str, Any], query: str, routes: list[dict[str, Any]] | None = None) -> Path:
    """A quickstart-like spec at the sandbox, reading its leads from `source` and `query`."""
    (root / "queries" / "leads.sql").write_text(query, encoding="utf-8")
    seed = root / "quickstart.remote.json"
    if not seed.exists():
        seed.write_bytes((EXAMPLES / "quickstart.remote.json").read_bytes())
    spec = {
        "version": 1,
        "workspace": {"provider": "sandbox", "seed": seed.name},
        "destinations": {"enterprise": {"campaign": "Enterprise Q4"}, "nurture": {"list": "Nurture"}},
        "owners": {"alice": {"email": "alice@acme.test"}, "bob": {"email": "bob@acme.test"}},
        "sources": [source],
        "routes": routes
        or [
            {
                "name": "big",
                "when": {"company_size": {"gte": 1000}, "customer": False},
                "to": "enterprise",
                "owner": "alice",
            },
            {"name": "rest", "to": "nurture", "owner": "bob"},
        ],
    }
    path = root / "spec.yaml"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")  # JSON is YAML
    return path.relative_to(Path.cwd())  # as a user in the folder would name it: messages name files so


def one_error(*args: str) -> str:
    """What a failing command says (exit 1, no traceback): `Error: ...` and the located problems."""
    code, out, err = leadsync(*args)
    assert code == 1, (out, err)
    assert "Traceback" not in err and re.search("^Error: ", err, re.MULTILINE), err
    return err


#: routes that name no attribute, for rows of other columns than LEADS
CATCH_ALL = [{"name": "all", "to": "nurture"}]
QUERY = "-- the leads to route\nSELECT email, employees, country, customer\nFROM {table}\n;\n"


# -- the whole flow ---------------------------------------------------------------------------------------------------


def test_plan_apply_converge(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(fields={"company_size": "employees"}), QUERY.format(table=table))
    code, out, err = leadsync("plan", str(spec), "--out", "plan.json")
    assert code == 0, err
    assert "+ jane@bigco.test  owner alice  (route big)" in out
    assert "+ tom@globex.test  owner alice  (route big)" in out
    assert "+ li@shop.test  owner bob  (route rest)" in out  # a customer (true) and no size: not `big`
    assert "Plan: 4 to add" in out
    saved = json.loads((engine.root / "plan.json").read_text())
    assert [q["path"] for q in saved["spec"]["queries"]] == ["queries/leads.sql"]
    code, out, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 0, err
    assert "Converged" in out + err
    code, out, err = leadsync("plan", str(spec), "--detailed-exitcode")
    assert code == 0 and out.strip().endswith("No changes."), err
    code, out, _ = leadsync("explain", str(spec), "JANE@bigco.test")
    assert code == 0 and "(queries/leads.sql, row 1)" in out


def test_a_saved_plan_says_when_its_query_changed(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(fields={"company_size": "employees"}), QUERY.format(table=table))
    assert leadsync("plan", str(spec), "--out", "plan.json")[0] == 0
    query = engine.root / "queries" / "leads.sql"
    query.write_text(query.read_text() + "-- reviewed\n")
    code, _, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 0, err
    assert "the query queries/leads.sql changed since plan.json was made" in err


# -- types -------------------------------------------------------------------------------------------------------------


def test_values_keep_their_types(engine: Engine) -> None:
    columns = {"email": "text", "size": "numeric", "seats": "int", "paying": "bool", "signed": "date", "note": "text"}
    rows = [
        ("a@x.test", Decimal("1000.00"), 3, True, date(2026, 1, 5), None),
        ("b@x.test", Decimal("999.50"), None, False, None, ""),
    ]
    table = engine.table(columns, rows)
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table} ORDER BY email", CATCH_ALL)
    leads = load_leads(load_spec(spec), {URL_ENV: engine.url()} if engine.pg else {}).by_key()
    a, b = leads["a@x.test"], leads["b@x.test"]
    assert (a.value("size"), a.value("seats"), a.value("paying"), a.value("signed")) == (
        1000,
        3,
        True,
        date(2026, 1, 5),
    )
    assert type(a.value("size")) is int and b.value("size") == 999.5  # a whole decimal is an int
    assert b.value("seats") is None and "seats" not in b  # NULL: absent
    assert b.value("paying") is False and b.value("note") is None  # false is a value; '' absent, as in CSV
    assert "note" not in a


def test_numbers_compare_as_numbers_and_null_is_absent(engine: Engine) -> None:
    rows = [("a@x.test", Decimal("1000.00")), ("b@x.test", Decimal("999.99")), ("c@x.test", None)]
    table = engine.table({"email": "text", "size": "numeric"}, rows)
    routes = [
        {"name": "big", "when": {"size": {"gte": 1000}}, "to": "enterprise"},
        {"name": "unknown", "when": {"size": {"exists": False}}, "to": "nurture"},
    ]
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table}", routes)
    code, out, err = leadsync("plan", str(spec))
    assert code == 0, err
    assert "+ a@x.test  (route big)" in out and "+ c@x.test  (route unknown)" in out
    assert "+ b@x.test" not in out  # 999.99 < 1000, and present


# -- bad input: one located line, exit 1, nothing sent ----------------------------------------------------------------


def test_a_column_the_query_does_not_return_names_those_it_does(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(fields={"company_size": "staff"}), QUERY.format(table=table))
    error = one_error("plan", str(spec))
    assert re.search(r"spec\.yaml:\d+:\d+: source 'queries/leads.sql' returns no column 'staff' \(columns: "
                     r"email, employees, country, customer\)", error), error  # fmt: skip


def test_no_key_column(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(), f"SELECT employees, country FROM {table}")
    error = one_error("plan", str(spec))
    assert "queries/leads.sql: no 'email' column (columns: employees, country); select one AS email" in error


def test_a_duplicate_key_names_both_rows(engine: Engine) -> None:
    rows = [("jane@bigco.test", 5000, "DE", False), ("x@y.test", 1, "FR", False), ("JANE@bigco.test", 10, "DE", False)]
    table = engine.table(LEADS, rows)
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table} ORDER BY country, employees DESC")
    error = one_error("plan", str(spec))
    assert "queries/leads.sql, row 2: jane@bigco.test is listed twice with different " \
           "attributes: here and at queries/leads.sql, row 1 (employees: '5000' vs '10')" in error  # fmt: skip


def test_a_null_or_invalid_key_names_its_row(engine: Engine) -> None:
    rows = [("a@x.test", 1, "DE", False), (None, 2, "DE", False), ("not an email", 3, "DE", False)]
    table = engine.table(LEADS, rows)
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table} ORDER BY employees")
    error = one_error("plan", str(spec))
    assert "queries/leads.sql, row 2: invalid email address: NULL" in error
    assert "queries/leads.sql, row 3: invalid email address: 'not an email'" in error


def test_a_value_that_is_not_plain_names_its_column_and_row(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    array = "[country, country]" if engine.pg is None else "ARRAY[country, country]"
    spec = write_spec(engine.root, engine.source(), f"SELECT email, {array} AS tags FROM {table}")
    error = one_error("plan", str(spec))
    assert "queries/leads.sql, row 1: column 'tags' holds a list; a lead attribute is one plain value" in error


@pytest.mark.parametrize("mistake", ["misspelt", "unknown column"])
def test_an_sql_error_points_at_the_query_file(engine: Engine, mistake: str) -> None:
    table = engine.table(LEADS, ROWS)
    body = "SELECT email,\n       employees\nFORM {t}" if mistake == "misspelt" else "SELECT email,\n  nosuch\nFROM {t}"
    spec = write_spec(engine.root, engine.source(), body.format(t=table))
    error = one_error("plan", str(spec))
    if engine.via_sqlalchemy:  # no position through SQLAlchemy's generic path: the file, and the database's words
        assert re.search("^queries/leads.sql: ", error, re.MULTILINE), error
        return
    where = "queries/leads.sql:3:6: " if mistake == "misspelt" else "queries/leads.sql:2:3: "
    assert re.search(f"^{re.escape(where)}", error, re.MULTILINE), error


WRITES = [
    "INSERT INTO {t} VALUES ('evil@x.test', 1, 'DE', true)",
    "DELETE FROM {t}",
    "UPDATE {t} SET country = 'XX'",
    "DROP TABLE {t}",
    "SELECT 1; DELETE FROM {t}",
    "COPY {t} TO 'stolen.csv'",
]


@pytest.mark.parametrize("statement", WRITES)
def test_a_query_that_writes_is_refused_before_it_runs(engine: Engine, statement: str) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(), statement.format(t=table))
    for command in (["validate"], ["plan"]):
        error = one_error(*command, str(spec))
        assert "only reads" in error or "holds one statement" in error, error
    assert count_rows(engine, table) == len(ROWS)


def test_a_query_that_writes_inside_a_select_is_refused_by_the_database(engine: Engine) -> None:
    if engine.pg is None:
        pytest.skip("DuckDB has no data-modifying WITH or sequences a SELECT can advance on a read-only file")
    table = engine.table(LEADS, ROWS)
    engine.pg.execute("CREATE SEQUENCE IF NOT EXISTS leadsync_seq")
    engine.pg.execute("GRANT ALL ON SEQUENCE leadsync_seq TO reader")
    engine.pg.execute(f"GRANT ALL ON {table} TO reader")  # even a role that could write is read-only here
    for query in (f"WITH gone AS (DELETE FROM {table} RETURNING *) SELECT * FROM gone",
                  f"SELECT email, nextval('leadsync_seq') AS n FROM {table}"):  # fmt: skip
        spec = write_spec(engine.root, engine.source(), query)
        error = one_error("plan", str(spec))
        assert "the query writes, and a source only reads" in error or "cannot" in error.lower(), error
    assert count_rows(engine, table) == len(ROWS)
    assert engine.pg.execute("SELECT last_value, is_called FROM leadsync_seq")[0][1] is False


def count_rows(engine: Engine, table: str) -> int:
    if engine.pg is not None:
        return int(engine.pg.execute(f"SELECT count(*) FROM {table}")[0][0])
    with duckdb.connect(str(engine.root / "warehouse.duckdb"), read_only=True) as con:
        name = table.split("'")[1].removeprefix("exports/").removesuffix(".parquet") if "(" in table else table
        found = con.execute(f"SELECT count(*) FROM {name}").fetchone()
        return int(found[0]) if found else 0


def test_a_query_past_its_timeout_is_an_error_not_a_hang(engine: Engine) -> None:
    slow = "SELECT 'a@x.test' AS email, pg_sleep(30)" if engine.pg else \
        "SELECT 'a@x.test' AS email, count(*) AS n FROM range(1000000) a, range(1000000) b"  # fmt: skip
    spec = write_spec(engine.root, engine.source(timeout=1), slow)
    started = time.monotonic()
    error = one_error("plan", str(spec))
    assert time.monotonic() - started < 15
    assert "queries/leads.sql: the query ran past its timeout of 1 s" in error, error


def test_more_rows_than_max_rows_is_refused_without_reading_them_all(engine: Engine) -> None:
    # a hundred million rows from a join that streams (PostgreSQL holds a set-returning function's rows whole)
    table = engine.table({"n": "int"}, [(n,) for n in range(10_000)])
    many = f"SELECT 'u' || a.n || '-' || b.n || '@x.test' AS email FROM {table} a, {table} b"
    spec = write_spec(engine.root, engine.source(max_rows=25_000), many)
    started = time.monotonic()
    error = one_error("plan", str(spec))
    assert time.monotonic() - started < 20  # a billion rows: only streaming stops this soon
    assert "the query returns more than 25,000 rows; narrow it, or raise sources[0].max_rows" in error


# -- the database side: connection, credentials ------------------------------------------------------------------------


def postgres_only(engine: Engine) -> PgServer:
    if engine.pg is None:
        pytest.skip("a database URL is PostgreSQL's (or SQLAlchemy's)")
    return engine.pg


def test_an_unset_url_variable_is_located_and_validate_needs_none(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres_only(engine)
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(), QUERY.format(table=table))
    monkeypatch.delenv(URL_ENV)
    error = one_error("plan", str(spec))
    assert re.search(r"spec\.yaml:\d+:\d+: the environment variable LEADS_DATABASE_URL is not set", error), error
    code, out, err = leadsync("validate", str(spec))
    assert code == 0, err
    assert "not run: queries/leads.sql (sources[0]: checked, not run; `validate --sources` runs it, with " \
           "$LEADS_DATABASE_URL set)" in out  # fmt: skip
    assert one_error("validate", "--sources", str(spec))


@pytest.mark.parametrize("failure", ["refused", "wrong password", "no such database"])
def test_a_failed_connection_names_the_server_never_the_password(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    pg = postgres_only(engine)
    secret = "s3cr3t-Passw0rd"
    url = engine.url(READER, secret)
    if failure == "refused":
        url = url.replace(f":{pg.port}/", ":1/")
    elif failure == "no such database":
        url = engine.url().rsplit("/", 1)[0] + "/nowhere"
        secret = "reader-secret"
    monkeypatch.setenv(URL_ENV, url)
    spec = write_spec(engine.root, engine.source(), "SELECT 'a@x.test' AS email")
    error = one_error("plan", str(spec))
    port = 1 if failure == "refused" else pg.port
    assert f"127.0.0.1:{port}/" in error, error
    assert secret not in error and "reader-secret" not in error
    assert re.search(r"spec\.yaml:\d+:\d+: ", error)


def test_the_reader_role_reads(engine: Engine) -> None:
    pg = postgres_only(engine)
    table = engine.table(LEADS, ROWS)
    pg.execute(f"REVOKE ALL ON {table} FROM reader")
    spec = write_spec(engine.root, engine.source(), QUERY.format(table=table))
    error = one_error("plan", str(spec))
    assert "permission denied" in error and "queries/leads.sql" in error


# -- DuckDB: files inside the spec's folder only, nothing written ------------------------------------------------------


def duckdb_only(engine: Engine) -> None:
    if engine.pg is not None:
        pytest.skip("DuckDB's file readers")


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "linked.csv", "exports/*.csv", "https://x.test/a"])
def test_duckdb_reads_no_file_outside_the_spec_folder(engine: Engine, tmp_path: Path, path: str) -> None:
    duckdb_only(engine)
    root = engine.root / "team"
    (root / "queries").mkdir(parents=True)
    (root / "exports").mkdir()
    (engine.root / "outside.csv").write_text("email\nsecret@outside.test\n")
    (root / "linked.csv").symlink_to(engine.root / "outside.csv")
    (root / "exports" / "ok.csv").write_text("email\nok@inside.test\n")
    (root / "exports" / "sneaky.csv").symlink_to(engine.root / "outside.csv")
    spec = write_spec(root, {"sql": "queries/leads.sql"}, f"SELECT * FROM read_csv('{path}')")
    error = one_error("plan", str(spec))
    assert "which is not inside the spec's folder" in error, error
    assert "secret@outside.test" not in error


def test_duckdb_reads_relative_to_the_spec_folder_and_writes_nothing(engine: Engine) -> None:
    duckdb_only(engine)
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(fields={"company_size": "employees"}), QUERY.format(table=table))
    before = sorted(p.relative_to(engine.root) for p in engine.root.rglob("*"))
    elsewhere = engine.root / "elsewhere"
    elsewhere.mkdir()
    assert leadsync("plan", str(spec))[0] == 0
    after = sorted(p.relative_to(engine.root) for p in engine.root.rglob("*") if ".leadsync" not in p.parts)
    assert after == sorted([*before, Path("elsewhere")])  # no spill file, no .tmp, no copy of a row


# -- validate: offline by default --------------------------------------------------------------------------------------


def test_validate_checks_a_duckdb_query_offline(engine: Engine) -> None:
    duckdb_only(engine)
    spec = write_spec(engine.root, engine.source(), "SELECT email\nFROM leads WHERE (")
    error = one_error("validate", str(spec))
    assert "queries/leads.sql:2:" in error and "syntax error" in error, error


def test_validate_runs_nothing_without_sources_and_everything_with(engine: Engine) -> None:
    table = engine.table(LEADS, ROWS)
    spec = write_spec(engine.root, engine.source(fields={"company_size": "employees"}), QUERY.format(table=table))
    code, out, _ = leadsync("validate", str(spec))
    assert code == 0 and "0 leads from files and the spec" in out and "not run: queries/leads.sql" in out
    code, out, err = leadsync("validate", "--sources", str(spec))
    assert code == 0, err
    assert "4 leads: 4 routed, 0 unrouted" in out and "not run" not in out


# -- property: whatever the rows, the leads are the rows ---------------------------------------------------------------

EMAILS = st.from_regex(r"[a-z]{1,8}@[a-z]{1,6}\.test", fullmatch=True)
ROW = st.tuples(
    EMAILS,
    st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2999, 12, 31))),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=30, unique_by=lambda row: row[0]))
def test_the_leads_are_the_rows(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    columns = {"email": "text", "n": "int", "t": "text", "b": "bool", "d": "date"}
    table = engine.table(columns, rows)
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table}", CATCH_ALL)
    environ = {URL_ENV: engine.url()} if engine.pg else {}
    leads = load_leads(load_spec(spec), environ)
    expected = {
        row[0]: {name: v for name, v in zip(columns, row, strict=True) if v is not None and v != ""} for row in rows
    }
    assert {lead.key: lead.attributes() for lead in leads.leads} == expected


# -- the query file itself ---------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queries").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "queries/leads.sql:1:1: the query file holds no statement"),
        ("-- only a comment\n/* and another */", "queries/leads.sql:1:1: the query file holds no statement"),
        ("SELECT 1 AS email;\nSELECT 2", "queries/leads.sql:2:1: a query file holds one statement"),
        (
            "\n  insert into t values (1)",
            "queries/leads.sql:2:3: a source query only reads (SELECT, WITH, VALUES, TABLE): INSERT refused",
        ),
        ("PRAGMA database_list", "a source query only reads"),
        ("ATTACH 'x.db'", "a source query only reads"),
        ("SET threads = 1", "a source query only reads"),
    ],
)
def test_a_query_file_is_one_statement_that_reads(folder: Path, query: str, message: str) -> None:
    spec = write_spec(folder, {"sql": "queries/leads.sql"}, query)
    with pytest.raises(SpecError) as raised:
        load_leads(load_spec(spec), run_queries=False)
    assert message in str(raised.value)


def test_the_query_file_stays_inside_the_folder(folder: Path) -> None:
    team = folder / "team"
    (team / "queries").mkdir(parents=True)
    (folder / "outside.sql").write_text("SELECT 1 AS email")
    spec = write_spec(team, {"sql": "../outside.sql"}, "")
    with pytest.raises(SpecError, match=r"query '\.\./outside\.sql': leaves the spec's folder tree"):
        load_spec(spec)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"sql": "queries/leads.sql", "path": "a.csv"}, "give exactly one of path"),
        ({"sql": "queries/leads.sql", "format": "csv"}, "format is not for a sql source"),
        ({"path": "a.csv", "url_env": "X"}, "url_env is not for a path source"),
        ({"sql": "queries/leads.sql", "url_env": "X", "database": "w.duckdb"}, "database (DuckDB) or url_env"),
        ({"sql": "queries/leads.sql", "url_env": "postgresql://u:p@h/db"}, "url_env"),
        ({"sql": "queries/leads.sql", "timeout": 0}, "timeout"),
        ({"sql": "queries/leads.sql", "max_rows": 0}, "max_rows"),
    ],
)
def test_source_keys_are_checked(folder: Path, source: dict[str, Any], message: str) -> None:
    (folder / "a.csv").write_text("email\na@x.test\n")
    spec = write_spec(folder, source, "SELECT 'a@x.test' AS email")
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert message in str(raised.value)
    assert "postgresql://u:p@h/db" not in str(raised.value)  # a URL where a NAME belongs is never echoed


def test_engines_run_in_a_throwaway_cluster(postgres: PgServer) -> None:
    assert postgres.execute("SELECT 1") == [(1,)]


def test_a_boolean_column_stays_boolean_beside_a_number_column(engine: Engine) -> None:
    # repeating values are held once per column: true and 1 are equal keys, and must not stand for each other
    table = engine.table({"email": "text", "seats": "int", "customer": "bool", "ratio": "numeric"},
                         [(f"u{i}@x.test", 1, True, Decimal("1.00")) for i in range(50)])  # fmt: skip
    spec = write_spec(engine.root, engine.source(), f"SELECT * FROM {table}", CATCH_ALL)
    leads = load_leads(load_spec(spec), {URL_ENV: engine.url()} if engine.pg else {}).leads
    assert {(type(lead.value("seats")), type(lead.value("customer"))) for lead in leads} == {(int, bool)}
    assert {lead.value("customer") for lead in leads} == {True}
