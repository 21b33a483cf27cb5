"""Plan from N rows in DuckDB (Parquet, a database file) and in PostgreSQL, against the same leads from CSV.

    python benchmarks/bench_sql_sources.py                      # 1,000,000 rows, 3 rounds
    python benchmarks/bench_sql_sources.py --rows 100000 --repeat 2
    python benchmarks/bench_sql_sources.py --keep /tmp/sqlbench # keep the folder (specs, data, snapshot, plans)

Needs only the test extras (`pip install -e '.[test]'`: duckdb, psycopg, pytest). PostgreSQL runs as the
throwaway cluster of tests/pgcluster.py (initdb'd in a temporary folder, as the `postgres` user when root); without
its binaries (initdb, pg_ctl) the PostgreSQL row is skipped with a note.

In one folder it writes N generated leads (seeded: email unique, first_name, company, employees an int, country
and title repeating) as `leads.csv`, as Parquet (`exports/leads.parquet`, written by DuckDB from the CSV), as a
table `leads` in a DuckDB database file (`warehouse/leads.duckdb`) and as a table `leads` in PostgreSQL (COPY);
four specs that differ only in their one source line (the CSV; `sql:` reading the Parquet with read_parquet;
`sql:` + `database:`; `sql:` + `url_env:`, the URL a SELECT-only role's), with the same routes, owners and pools;
and one `--remote` snapshot (the sandbox seed format) of a workspace that already holds 60% of the people
(a tenth of those in another destination, a twentieth with another owner; the other 40% are adds).

Each round runs `leadsync plan SPEC --remote SNAPSHOT --format json --quiet` once per source, the order rotated
from round to round, through a small helper process (so that rusage is leadsync's: a child forked from this
benchmark, which has held a million routed leads, would inherit its peak). Measured per run: leadsync's wall time;
the peak of the summed resident memory (VmRSS) of leadsync and all its descendants (DuckDB runs in a child of
leadsync), sampled from /proc every 20 ms ("tree"); leadsync's own peak (its VmHWM) and its children's; CPU time
(user + system, children included) and ru_maxrss (RUSAGE_CHILDREN in the helper: the larger of leadsync's and its
child's peaks, not their sum). A PostgreSQL server's own memory is not counted: it is the database's, as a
warehouse's would be. Every plan must be the same document as the CSV's but for its `spec` member (path, sha256,
query files) and the JSON type of its added leads' fields (SQL values are typed: the column's 1150 is the CSV's
'1150'; compared as text, and counted): a benchmark comparing different work is worthless, so any other difference
stops it (exit 1) naming the first one.

Goals (issue #23): a SQL source plans within 1.5x the CSV's time, with a peak (tree) within 10% of the CSV's.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(1, str(ROOT / "tests"))  # tests/pgcluster.py: the throwaway PostgreSQL server

from leadsync.routing import Router  # noqa: E402
from leadsync.spec import load_leads, load_spec  # noqa: E402

URL_ENV = "LEADS_DATABASE_URL"
SAMPLE_EVERY = 0.02  # seconds between two samples of the process tree's memory
GOAL_TIME = 1.5  # a SQL source's time / the CSV's, at most
GOAL_MEMORY = 1.10  # a SQL source's peak (tree) / the CSV's, at most

COLUMNS = ["email", "first_name", "company", "employees", "country", "title"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "NL", "SE", "ES", "JP", "BR", "IN", "AU"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Growth", "Engineer", "Marketing Manager", "Founder", "COO", "CFO"]
FIRST_NAMES = [f"{a}{b}" for a in ("Al", "Be", "Ca", "Da", "El", "Fi", "Ga", "Ha") for b in ("na", "ro", "x", "lia")]
OWNERS = [f"rep{i}" for i in range(8)]
USER = {name: f"7d0c6d2e-0000-4000-8000-{i + 1:012x}" for i, name in enumerate([*OWNERS, "gone"])}
PLACES = {  # destination: (kind, vendor name, number for its id)
    "enterprise-na": ("campaign", "Enterprise NA", 1),
    "enterprise-emea": ("campaign", "Enterprise EMEA", 2),
    "mid-market": ("campaign", "Mid-Market", 3),
    "smb": ("campaign", "SMB", 4),
    "nurture": ("list", "Nurture", 1),
}
KEY_ENV = "LEADSYNC_BENCH_KEY"  # never read: --remote plans need no key

# the four specs share every line but the source's (one line each, so warnings would place routes alike)
SPEC = f"""\
version: 1
workspace: {{provider: instantly, api_key_env: {KEY_ENV}}}
destinations:
  enterprise-na: {{campaign: Enterprise NA}}
  enterprise-emea: {{campaign: Enterprise EMEA}}
  mid-market: {{campaign: Mid-Market}}
  smb: {{campaign: SMB}}
  nurture: {{list: Nurture}}
owners:
{chr(10).join(f"  {o}: {{email: {o}@acme.test}}" for o in OWNERS)}
pools:
  ae-na: {{members: [rep0, rep1, rep2], sticky: true}}
  ae-emea: {{members: [rep3, rep4]}}
  sdr: {{members: [rep5, rep6]}}
sources:
  - SOURCE
routes:
  - name: enterprise-na
    when: {{company_size: {{gte: 1000}}, country: [US, CA]}}
    to: enterprise-na
    owner: {{pool: ae-na}}
  - name: enterprise-emea
    when: {{company_size: {{gte: 1000}}, country: [GB, DE, FR, NL, SE, ES]}}
    to: enterprise-emea
    owner: {{pool: ae-emea}}
  - {{name: mid-market, when: {{company_size: {{gte: 100, lt: 1000}}}}, to: mid-market, owner: {{pool: sdr}}}}
  - {{name: smb, when: {{company_size: {{gte: 10}}}}, to: smb, owner: rep7}}
  - {{name: nurture, to: nurture, owner: rep7}}
policy: {{max_change_ratio: 1.0}}
"""
FIELDS = "fields: {company_size: employees}"
SOURCES = {  # label: the spec's one source line
    "CSV": f"{{path: leads.csv, {FIELDS}}}",
    "DuckDB, Parquet (read_parquet)": f"{{sql: queries/parquet.sql, {FIELDS}}}",
    "DuckDB, database file": f"{{sql: queries/leads.sql, database: warehouse/leads.duckdb, {FIELDS}}}",
    "PostgreSQL (psycopg)": f"{{sql: queries/leads.sql, url_env: {URL_ENV}, {FIELDS}}}",
}
SELECT = ", ".join(COLUMNS)
QUERIES = {
    "parquet.sql": f"-- the exports a nightly job writes\nSELECT {SELECT}\nFROM read_parquet('exports/*.parquet')\n",
    "leads.sql": f"SELECT {SELECT}\nFROM leads\n",
}
PG_TABLE = """CREATE TABLE leads (
    email text NOT NULL, first_name text, company text, employees integer, country char(2), title text
)"""


# --- the data ------------------------------------------------------------------------------------------------------


def write_csv(folder: Path, rows: int, seed: int = 23) -> None:
    """`leads.csv`: `rows` leads, the same for the same seed."""
    rng = random.Random(seed)
    companies = max(rows // 5, 1)
    with (folder / "leads.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            company = rng.randrange(companies)
            writer.writerow(
                [
                    f"lead{i}@company{company}.test",
                    rng.choice(FIRST_NAMES),
                    f"Company {company}",
                    min(int(rng.lognormvariate(4.0, 1.8)) + 1, 250_000),
                    rng.choice(COUNTRIES),
                    rng.choice(TITLES),
                ]
            )


def write_duckdb(folder: Path) -> None:
    """The CSV as Parquet (exports/leads.parquet) and as the table `leads` of warehouse/leads.duckdb."""
    import duckdb

    (folder / "exports").mkdir(exist_ok=True)
    (folder / "warehouse").mkdir(exist_ok=True)
    database = folder / "warehouse" / "leads.duckdb"
    database.unlink(missing_ok=True)
    typed = (
        "read_csv('leads.csv', header = true, columns = {'email': 'VARCHAR', 'first_name': 'VARCHAR', "
        "'company': 'VARCHAR', 'employees': 'INTEGER', 'country': 'VARCHAR', 'title': 'VARCHAR'})"
    )
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM {typed}) TO 'exports/leads.parquet' (FORMAT parquet)")
        with duckdb.connect(str(database)) as con:
            con.execute("CREATE TABLE leads AS SELECT * FROM read_parquet('exports/leads.parquet')")
            con.execute("CHECKPOINT")
    finally:
        os.chdir(cwd)


def write_specs(folder: Path) -> dict[str, Path]:
    (folder / "queries").mkdir(exist_ok=True)
    for name, text in QUERIES.items():
        (folder / "queries" / name).write_text(text)
    specs = {}
    for i, (label, source) in enumerate(SOURCES.items()):
        spec = folder / f"spec{i}-{label.split(' ')[0].split(',')[0].lower()}.yaml"
        spec.write_text(SPEC.replace("SOURCE", source))
        specs[label] = spec
    return specs


def place_id(name: str) -> str:
    kind, _, n = PLACES[name]
    return f"c0000000-0000-4000-8000-{n:012x}" if kind == "campaign" else f"11570000-0000-4000-8000-{n:012x}"


def write_snapshot(folder: Path, csv_spec: Path, seed: int = 24) -> dict[str, int]:
    """`snapshot.json` (the sandbox seed format): 60% of the people routed from the CSV are in the workspace, a
    tenth of them in another destination and a twentieth with another owner; the rest are adds. Returns the mix."""
    loaded = load_spec(csv_spec)
    desired = Router(loaded).route(load_leads(loaded).leads).desired
    rng = random.Random(seed)
    records, mix = [], {"add": 0, "move": 0, "reassign": 0, "right": 0}
    for i, want in enumerate(desired):
        draw = rng.random()
        place, owner = want.destination, want.owner or "rep7"
        if draw < 0.4:
            mix["add"] += 1
            continue
        if draw < 0.46:
            place = rng.choice([p for p in PLACES if p != want.destination])
            mix["move"] += 1
        elif draw < 0.49:
            owner = "gone"
            mix["reassign"] += 1
        else:
            mix["right"] += 1
        kind = PLACES[place][0]
        records.append(
            {
                "id": f"1ead0000-0000-4000-8000-{i:012x}",
                "email": want.key,
                "assigned_to": USER[owner],
                "campaign" if kind == "campaign" else "list_id": place_id(place),
                "status": 1,
            }
        )
    seed_doc = {
        "api_keys": [{"key": "bench-sql-key", "scopes": ["all:*"]}],
        "members": [{"user_id": user, "email": f"{name}@acme.test"} for name, user in USER.items()],
        "campaigns": [{"id": place_id(p), "name": PLACES[p][1]} for p in PLACES if PLACES[p][0] == "campaign"],
        "lists": [{"id": place_id(p), "name": PLACES[p][1]} for p in PLACES if PLACES[p][0] == "list"],
        "leads": records,
    }
    with (folder / "snapshot.json").open("w") as handle:
        json.dump(seed_doc, handle)
    return mix


# --- PostgreSQL ----------------------------------------------------------------------------------------------------


@dataclass
class Postgres:
    """The throwaway server (tests/pgcluster.py) while the benchmark runs; `note` says why there is none."""

    url: str | None = None
    version: str = ""
    note: str = ""
    _cluster: Any = field(default=None, repr=False)

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.destroy()


def start_postgres(folder: Path) -> Postgres:
    """Start tests/pgcluster.py's cluster and COPY leads.csv into its table `leads`; a note instead when the
    binaries, psycopg or pytest (which pgcluster.py imports) are missing, or the server cannot start."""
    try:
        import pgcluster
        import psycopg
        import pytest
    except ImportError as exc:
        return Postgres(note=f"PostgreSQL skipped: {exc} (pip install -e '.[test]')")
    bindir = pgcluster._find_bindir()
    if bindir is None:
        return Postgres(
            note="PostgreSQL skipped: no initdb / pg_ctl on PATH nor in /usr/lib/postgresql/*/bin "
            "(e.g. apt-get install postgresql)"
        )
    try:
        cluster = pgcluster._Cluster(bindir)
    except pytest.fail.Exception as exc:  # pgcluster speaks pytest: a failure is pytest.fail's exception
        return Postgres(note=f"PostgreSQL skipped: {exc}")
    try:
        server = cluster.start()
        server.execute(PG_TABLE)
        with (
            psycopg.connect(server.admin_url, autocommit=True) as conn,
            conn.cursor() as cursor,
            cursor.copy("COPY leads FROM STDIN (FORMAT csv, HEADER true)") as copy,
            (folder / "leads.csv").open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        server.execute("VACUUM (FREEZE, ANALYZE) leads")  # as a warehouse table is: hint bits set, statistics made
        version = server.execute("SHOW server_version")[0][0]
        count = server.execute("SELECT count(*) FROM leads")[0][0]
    except (Exception, pytest.fail.Exception) as exc:
        cluster.destroy()
        return Postgres(note=f"PostgreSQL skipped: the throwaway server failed: {exc}")
    return Postgres(url=server.reader_url, version=f"PostgreSQL {version}", note=f"{count:,} rows", _cluster=cluster)


# --- one measured run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # wall time of the leadsync process, start to exit
    cpu: float  # user + system, leadsync and its children
    tree_mib: float  # peak of the summed VmRSS of leadsync and its descendants
    own_mib: float  # leadsync's own peak (its VmHWM)
    children_mib: float  # the largest VmHWM of its descendants (DuckDB's child), 0 without any
    maxrss_mib: float  # ru_maxrss of RUSAGE_CHILDREN in the helper: max(leadsync, its children), not their sum
    digest: str  # of the plan, but its `spec` member and its added leads' field types
    typed: int  # added leads' field values that are not text (SQL values are typed; CSV cells are text)


# runs one command and reports its wall time and rusage: a fresh, small process per run, so that ru_maxrss is the
# command's (a child forked from this benchmark, which holds the snapshot's people, would inherit its peak)
HELPER = """\
import json, resource, subprocess, sys, time
out, err, result, *command = sys.argv[1:]
with open(out, "wb") as stdout, open(err, "wb") as stderr:
    started = time.perf_counter()
    code = subprocess.call(command, stdout=stdout, stderr=stderr)
    seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(result, "w") as handle:
    cpu = usage.ru_utime + usage.ru_stime
    json.dump({"code": code, "seconds": seconds, "cpu": cpu, "maxrss": usage.ru_maxrss}, handle)
"""


def _status(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) when it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return rss, hwm


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(c) for c in handle.read().split())
        except FileNotFoundError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    """The descendants of `pid`, children first (the /proc children files: CONFIG_PROC_CHILDREN, as mainstream
    kernels have)."""
    pids, i = _children(pid), 0
    while i < len(pids):
        pids.extend(_children(pids[i]))
        i += 1
    return pids


def canonical(plan: dict[str, Any]) -> int:
    """Take out of a plan what differs between sources by design: its `spec` member (path, sha256 and query files)
    and the JSON types of its added leads' fields (a SQL column's 1150 is the CSV cell '1150': compared as text).
    Returns how many of those fields were not text."""
    plan.pop("spec", None)
    typed = 0
    for op in plan.get("operations", ()):
        for lead in op.get("leads", ()):
            fields = lead.get("fields")
            if fields:
                typed += sum(type(v) is not str for v in fields.values())
                lead["fields"] = {k: v if type(v) is str else json.dumps(v) for k, v in fields.items()}
    return typed


def canonical_digest(plan: dict[str, Any]) -> tuple[str, int]:
    """The digest of `canonical(plan)`, and its count."""
    typed = canonical(plan)
    return hashlib.sha256(json.dumps(plan, sort_keys=True, separators=(",", ":")).encode()).hexdigest(), typed


def run_plan(folder: Path, spec: Path, out: Path, env: dict[str, str]) -> Run:
    """`leadsync plan SPEC --remote snapshot.json --format json --quiet` in a child, measured (see the docstring)."""
    command = [sys.executable, "-m", "leadsync.cli", "plan", spec.name, "--remote", "snapshot.json"]
    command += ["--format", "json", "--quiet"]
    err, result = out.with_suffix(".stderr"), out.with_suffix(".rusage")
    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, out.name, err.name, result.name, *command], cwd=folder, env=env
    )
    tree_kib = own_hwm = children_hwm = 0
    while helper.poll() is None:
        pids = _descendants(helper.pid)  # the helper itself is not counted: leadsync is its one child
        total = 0
        for i, pid in enumerate(pids):
            rss, hwm = _status(pid)
            total += rss
            if i == 0:
                own_hwm = max(own_hwm, hwm)
            else:
                children_hwm = max(children_hwm, hwm)
        tree_kib = max(tree_kib, total)
        time.sleep(SAMPLE_EVERY)
    usage = json.loads(result.read_text())
    if helper.returncode != 0 or usage["code"] != 0:
        said = err.read_text(errors="replace").strip().splitlines()
        sys.exit(f"{spec.name}: leadsync plan exited {usage['code']}: {said[-1] if said else '(nothing said)'}")
    with out.open("rb") as handle:
        digest, typed = canonical_digest(json.load(handle))
    return Run(
        seconds=usage["seconds"],
        cpu=usage["cpu"],
        tree_mib=max(tree_kib, own_hwm) / 1024,  # the tree's peak is at least leadsync's (a sample can miss it)
        own_mib=own_hwm / 1024,
        children_mib=children_hwm / 1024,
        maxrss_mib=usage["maxrss"] / 1024,
        digest=digest,
        typed=typed,
    )


def first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, as a path and the two values (shortened)."""
    if type(a) is not type(b):
        return f"{path or '/'}: {str(a)[:200]!r} vs {str(b)[:200]!r}"
    if isinstance(a, dict):
        for key in sorted(a.keys() | b.keys()):
            if key not in a or key not in b:
                return f"{path}/{key}: only in the {'first' if key in a else 'second'}"
            if a[key] != b[key]:
                return first_difference(a[key], b[key], f"{path}/{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a):,} items vs {len(b):,}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}/{i}")
    return f"{path or '/'}: {str(a)[:200]!r} vs {str(b)[:200]!r}"


# --- the report ----------------------------------------------------------------------------------------------------


def machine(pg: Postgres) -> str:
    import duckdb

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " " + line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psycopg

        driver = f", psycopg {psycopg.__version__}"
    except ImportError:
        driver = ""
    server = pg.version or "PostgreSQL: none"
    return (
        f"{os.cpu_count()} CPUs{model}{memory}, {platform.system()} {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, DuckDB {duckdb.__version__}{driver}, "
        f"{server}"
    )


def table(results: dict[str, list[Run]], notes: dict[str, str]) -> list[str]:
    """The markdown table: times best and median of the rounds, their ratios to the CSV's (the goal judged on the
    median), peak memory the largest of the rounds."""
    base = results["CSV"]
    base_best, base_median = min(r.seconds for r in base), statistics.median(r.seconds for r in base)
    base_tree = max(r.tree_mib for r in base)
    lines = [
        "| source | best | median | time / CSV (best, median) | CPU (median) | peak memory, tree | memory / CSV | "
        "leadsync alone / its child | goals (≤ 1.5x time, ≤ +10% memory) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in SOURCES:
        runs = results.get(label)
        if not runs:
            lines.append(f"| {label} | — | — | — | — | — | — | — | {notes.get(label, 'not run')} |")
            continue
        best, median = min(r.seconds for r in runs), statistics.median(r.seconds for r in runs)
        tree = max(r.tree_mib for r in runs)
        own, child = max(r.own_mib for r in runs), max(r.children_mib for r in runs)
        time_ratio, memory_ratio = median / base_median, tree / base_tree
        if label == "CSV":
            verdict = "(the baseline)"
        else:
            verdict = ", ".join(
                [
                    f"time {'met' if time_ratio <= GOAL_TIME else '**missed**'}",
                    f"memory {'met' if memory_ratio <= GOAL_MEMORY else '**missed**'}",
                ]
            )
        lines.append(
            f"| {label} | {best:.1f} s | {median:.1f} s | {best / base_best:.2f}x, {time_ratio:.2f}x | "
            f"{statistics.median(r.cpu for r in runs):.1f} s | {tree:,.0f} MiB | {memory_ratio:.2f}x | "
            f"{own:,.0f} / {child:,.0f} MiB | {verdict} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="leads in every source (1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each running the four sources (3)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat are at least 1")

    temporary = None
    if args.keep:
        folder = args.keep.resolve()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        temporary = tempfile.mkdtemp(prefix="leadsync-bench-sql-")
        folder = Path(temporary)
    pg = Postgres()
    try:
        print(f"SQL sources benchmark: {args.rows:,} rows, {args.repeat} rounds, in {folder}")
        started = time.perf_counter()
        write_csv(folder, args.rows)
        print(f"  leads.csv ({(folder / 'leads.csv').stat().st_size / 2**20:,.0f} MiB) {_since(started)}")
        write_duckdb(folder)
        parquet = (folder / "exports" / "leads.parquet").stat().st_size / 2**20
        database = (folder / "warehouse" / "leads.duckdb").stat().st_size / 2**20
        print(
            f"  exports/leads.parquet ({parquet:,.0f} MiB), warehouse/leads.duckdb ({database:,.0f} MiB) "
            + _since(started)
        )
        specs = write_specs(folder)
        mix = write_snapshot(folder, specs["CSV"])
        size = (folder / "snapshot.json").stat().st_size / 2**20
        print(
            f"  snapshot.json ({size:,.0f} MiB): "
            + ", ".join(f"{k} {v:,}" for k, v in mix.items())
            + f" {_since(started)}"
        )
        pg = start_postgres(folder)
        print(f"  PostgreSQL: {pg.version + ', ' if pg.url else ''}{pg.note} {_since(started)}")

        env = {k: v for k, v in os.environ.items() if k != URL_ENV}
        if pg.url:
            env[URL_ENV] = pg.url
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        labels = [label for label in SOURCES if pg.url or label != "PostgreSQL (psycopg)"]
        notes = {} if pg.url else {"PostgreSQL (psycopg)": pg.note}
        results: dict[str, list[Run]] = {label: [] for label in labels}
        for round_ in range(args.repeat):
            order = labels[round_ % len(labels) :] + labels[: round_ % len(labels)]
            for label in order:
                spec = specs[label]
                run = run_plan(folder, spec, folder / f"plan-{spec.stem}.json", env)
                results[label].append(run)
                print(
                    f"  round {round_ + 1} {label:<31} {run.seconds:6.1f} s  CPU {run.cpu:6.1f} s  "
                    f"tree {run.tree_mib:6,.0f} MiB  (leadsync {run.own_mib:,.0f}, child {run.children_mib:,.0f}, "
                    f"maxrss {run.maxrss_mib:,.0f})"
                )
                check_same(folder, specs, results)

        print()
        print(f"Machine: {machine(pg)}.")
        print(
            f"`python benchmarks/bench_sql_sources.py --rows {args.rows} --repeat {args.repeat}`: {args.rows:,} leads, "
            f"snapshot: {mix['add']:,} adds, {mix['move']:,} moves, {mix['reassign']:,} reassigns, "
            f"{mix['right']:,} in place. Every plan is the CSV's but its `spec` member and the JSON type of "
            + ", ".join(
                f"{max(r.typed for r in runs):,} ({label})" for label, runs in results.items() if label != "CSV"
            )
            + " added leads' field values (a number from SQL, text from CSV)."
        )
        print()
        print("\n".join(table(results, notes)))
        return 0
    finally:
        pg.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def check_same(folder: Path, specs: dict[str, Path], results: dict[str, list[Run]]) -> None:
    """Stop (exit 1) when a plan differs from the CSV's, naming where."""
    reference = results["CSV"][-1].digest if results["CSV"] else None
    for label, runs in results.items():
        for run in runs:
            reference = reference or run.digest
            if run.digest == reference:
                continue
            plans = [json.loads((folder / f"plan-{specs[name].stem}.json").read_text()) for name in ("CSV", label)]
            for plan in plans:
                canonical(plan)
            where = first_difference(*plans) if results["CSV"] else "(no CSV plan yet to compare)"
            sys.exit(f"the {label} plan differs from the CSV's: {where}")


def _since(started: float) -> str:
    return f"[{time.perf_counter() - started:.1f} s]"


if __name__ == "__main__":
    raise SystemExit(main())
