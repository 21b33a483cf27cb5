"""Generates the data of specs/examples/warehouse/ (deterministic: the same rows every run).

    python scripts/make_warehouse_example.py [FOLDER]

FOLDER (default specs/examples/warehouse) is where `exports/` and the seed go: a test can generate the data into a
copy of the example (with warehouse.yaml and queries/ copied beside them) and leave the repository alone.

Writes, with DuckDB:

- `specs/examples/warehouse/exports/*.parquet`: what a warehouse's nightly export would hold, and what is NOT
  committed (the folder is in .gitignore): three monthly exports of product sign-ups, `signups-2026-0N.parquet`,
  in which a person appears again when their enrichment changed (the company grew, the trial ended, the email was
  typed with capitals), and `customers.parquet`, the domains of the accounts that already pay;
- `specs/examples/warehouse/warehouse.remote.json`: the sandbox seed, committed: the Instantly workspace the
  example plans against (members, campaigns, a list, and the people of the first two exports, routed a month ago).

After running it again on a spec whose sandbox has already run, start the sandbox over from the seed:
`leadsync sandbox reset specs/examples/warehouse/warehouse.yaml`.

Every name and address is made up, on `.test` domains.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

try:
    import duckdb
except ImportError:  # pragma: no cover - a clone without leadsync's dependencies installed
    sys.exit("make_warehouse_example.py needs DuckDB, a dependency of leadsync: pip install -e . (or duckdb)")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs" / "examples" / "warehouse"

#: the night each monthly export was taken
EXPORTED = [datetime(2026, 1, 31, 2, 0), datetime(2026, 2, 28, 2, 0), datetime(2026, 3, 31, 2, 0)]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Mira"]
FIRST += ["Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoe"]
LAST = ["Adler", "Brandt", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen"]
LAST += ["Keller", "Larsen", "Moreau", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Tanaka", "Weber"]
NAMES = ["Nimbus", "Orbit", "Zephyr", "Quanta", "Lumen", "Vertex", "Atlas", "Helix", "Kestrel", "Pylon", "Ridge"]
NAMES += ["Tandem", "Umbra", "Vanta", "Wren", "Yonder", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor"]
KINDS = ["Labs", "Systems", "Health", "Freight", "Retail", "Works"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "DE", "FR", "NL", "SE", "ES", "IT", "BR", "JP"]
SIZES = [8, 15, 30, 60, 120, 250, 600, 900, 1500, 4000, 12000]


@dataclass
class Company:
    name: str
    domain: str
    country: str | None
    sizes: list[int | None]  # employees as each monthly export has it
    customer: bool


def companies(rng: random.Random) -> list[Company]:
    found = []
    for i, name in enumerate(NAMES):
        kind = KINDS[i % len(KINDS)]
        size = rng.choice(SIZES)
        sizes: list[int | None] = [size, size, size]
        if rng.random() < 0.3:  # the enrichment vendor revised the head count in a later export
            month = rng.randrange(1, 3)
            sizes[month:] = [round(size * rng.choice([1.4, 1.8, 0.7]))] * (3 - month)
        if i == 5:
            sizes = [None, None, 180]  # unknown to the enrichment vendor at first
        country = rng.choice(COUNTRIES) if i != 9 else None  # one company whose country nobody knows
        found.append(Company(f"{name} {kind}", f"{name}-{kind}.test".lower(), country, sizes, customer=i % 5 == 2))
    return found


def signups(rng: random.Random, firms: list[Company]) -> list[list[dict[str, object]]]:
    """The rows of each monthly export: a person's first sign-up, and a row again when their data changed."""
    months: list[list[dict[str, object]]] = [[], [], []]
    taken: set[str] = set()
    for firm in firms:
        for _ in range(rng.choice([1, 2, 2, 3, 4])):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}@{firm.domain}".lower()
            n = 2
            while email in taken:
                email, n = f"{first}.{last}{n}@{firm.domain}".lower(), n + 1
            taken.add(email)
            start = rng.randrange(3)
            trial = rng.random() < 0.45
            shown = email
            for month in range(start, 3):
                changed = month == start or firm.sizes[month] != firm.sizes[month - 1]
                if month > start and trial and rng.random() < 0.3:
                    trial, changed = False, True  # the trial ended
                if month > start and rng.random() < 0.08:
                    shown, changed = f"{first}.{last}@{firm.domain}", True  # typed with capitals this time
                if not changed:
                    continue
                months[month].append(
                    {
                        "email": shown,
                        "first_name": first,
                        "last_name": last,
                        "company": firm.name,
                        "employees": firm.sizes[month],
                        "hq_country": firm.country,
                        "trial_active": trial,
                        "exported_at": EXPORTED[month],
                    }
                )
    return months


COLUMNS = (
    "email VARCHAR, first_name VARCHAR, last_name VARCHAR, company VARCHAR, employees INTEGER, "
    "hq_country VARCHAR, trial_active BOOLEAN, exported_at TIMESTAMP"
)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_parquet(con: duckdb.DuckDBPyConnection, path: Path, columns: str, rows: list[tuple[object, ...]]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE rows ({columns})")
    if rows:
        con.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(rows[0]))})", rows)
    target = str(path).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM rows ORDER BY ALL) TO '{target}' (FORMAT parquet)")
    print(f"wrote {shown(path)} ({len(rows)} rows)")


def exports(folder: Path, firms: list[Company], months: list[list[dict[str, object]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    con = duckdb.connect()
    for month, rows in enumerate(months, start=1):
        write_parquet(con, folder / f"signups-2026-{month:02d}.parquet", COLUMNS, [tuple(r.values()) for r in rows])
    customers = [(f.domain, f.name, date(2025, 1 + i % 12, 1)) for i, f in enumerate(firms) if f.customer]
    write_parquet(con, folder / "customers.parquet", "domain VARCHAR, account VARCHAR, customer_since DATE", customers)
    con.close()


def latest_rows(firms: list[Company], months: list[list[dict[str, object]]]) -> list[dict[str, object]]:
    """What queries/leads.sql returns from these exports, computed here: each person's newest row, customers
    left out, in email order."""
    latest: dict[str, dict[str, object]] = {}
    for rows in months:
        for row in rows:
            latest[str(row["email"]).lower()] = row
    customers = {f.domain for f in firms if f.customer}
    return [latest[k] for k in sorted(latest) if k.rpartition("@")[2] not in customers]


#: warehouse.yaml's routes, mirrored to place the seed's leads (the example's plan is what differs from them)
ENTERPRISE_COUNTRIES = {"US", "CA", "GB", "DE", "FR", "NL", "SE", "ES", "IT"}
EUROPE = {"DE", "FR", "NL", "ES", "IT", "SE"}


def route(row: dict[str, object]) -> str:
    size, country = row["employees"], row["hq_country"]
    if isinstance(size, int) and size >= 1000 and country in ENTERPRISE_COUNTRIES:
        return "enterprise"
    if row["trial_active"] and isinstance(size, int) and size >= 50:
        return "trials"
    if country in EUROPE and isinstance(size, int) and size >= 50:
        return "smb-europe"
    return "nurture"


def seed(path: Path, firms: list[Company], months: list[list[dict[str, object]]]) -> None:
    """The Instantly workspace the example plans against: the people of the January and February exports, routed
    as the spec routes them, as a team would have left them a month ago (a few moved or re-owned by hand since,
    one who replied), and three people of accounts that have since bought, still in the Nurture list (the query
    leaves customers out: `unmanaged: report` lists them, nothing touches them). The plan then shows what the
    March export changes: new sign-ups to add, people whose company grew or whose trial ended to move."""
    members = {
        "alice": {"user_id": "7d0c6d2e-0000-4000-8000-0000000a11ce", "email": "alice@acme.test"},
        "bob": {"user_id": "7d0c6d2e-0000-4000-8000-000000000b0b", "email": "bob@acme.test"},
        "carol": {"user_id": "7d0c6d2e-0000-4000-8000-0000000ca201", "email": "carol@acme.test"},
    }
    campaigns = [
        {"id": "c0000000-0000-4000-8000-00000000da01", "name": "Enterprise Outbound"},
        {"id": "c0000000-0000-4000-8000-00000000da02", "name": "Trial Assist"},
        {"id": "c0000000-0000-4000-8000-00000000da03", "name": "SMB Europe"},
    ]
    lists = [{"id": "11570000-0000-4000-8000-00000000da01", "name": "Nurture"}]
    place = {
        "enterprise": ("campaign", campaigns[0]["id"]),
        "trials": ("campaign", campaigns[1]["id"]),
        "smb-europe": ("campaign", campaigns[2]["id"]),
        "nurture": ("list_id", lists[0]["id"]),
    }
    owners = {"enterprise": ["alice", "bob", "bob"], "trials": ["carol"], "smb-europe": ["bob"], "nurture": [None]}
    leads: list[dict[str, object]] = []

    def add(row: dict[str, object], where: str, owner: str | None, **fields: object) -> None:
        kind, ident = place[where]
        record: dict[str, object] = {
            "id": f"1ead0000-0000-4000-8000-00000000d{len(leads):03d}",
            "email": str(row["email"]).lower(),
            kind: ident,
        }
        if owner is not None:
            record["assigned_to"] = members[owner]["user_id"]
        record |= {"first_name": row["first_name"], "last_name": row["last_name"], "company_name": row["company"]}
        leads.append(record | {"status": 1, "lt_interest_status": 0, "email_reply_count": 0} | fields)

    taken = {where: 0 for where in place}
    now = {str(row["email"]).lower(): route(row) for row in latest_rows(firms, months)}
    before = latest_rows(firms, months[:2])  # as of the February export
    # who replied: the first person the March export would move; a reply holds them where they are
    replied = next(
        i for i, row in enumerate(before) if i not in (4, 17) and route(row) != now[str(row["email"]).lower()]
    )
    for i, row in enumerate(before):
        where = route(row)
        owner = owners[where][taken[where] % len(owners[where])]
        taken[where] += 1
        if i in (4, 17):  # moved by hand to the wrong place
            where = "nurture" if where != "nurture" else "smb-europe"
        elif i == 9:  # re-owned by hand
            owner = "carol"
        add(row, where, owner, **({"email_reply_count": 1, "lt_interest_status": 1} if i == replied else {}))
    customers = {f.domain for f in firms if f.customer}
    bought = {
        str(r["email"]).lower(): r for rows in months for r in rows if str(r["email"]).partition("@")[2] in customers
    }
    for email in sorted(bought)[:3]:
        add(bought[email], "nurture", None)  # signed up before their company bought: still in the Nurture list
    document = {
        "api_keys": [{"key": "sandbox-warehouse-key", "scopes": ["all:*"]}],
        "members": list(members.values()),
        "campaigns": campaigns,
        "lists": lists,
        "leads": leads,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {shown(path)} ({len(leads)} leads)")


def main(folder: Path = EXAMPLE) -> None:
    rng = random.Random(2026)
    firms = companies(rng)
    months = signups(rng, firms)
    exports(folder / "exports", firms, months)
    seed(folder / "warehouse.remote.json", firms, months)


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        sys.exit(__doc__)
    main(Path(sys.argv[1]).resolve() if len(sys.argv) == 2 else EXAMPLE)
