"""Peak memory and wall time of `leadsync validate` on generated CSV sources of 1,000,000 and 3,000,000 rows.

    python benchmarks/bench_validate_memory.py [--rows N [N ...]] [--keep DIR]

Each run is `leadsync validate` in its own process; its peak memory is that child's own maximum resident set size
(the rusage `os.wait4` returns for it, as `getrusage(RUSAGE_CHILDREN)` would after it alone). The CSV has nine
columns, about 100 bytes a row (3,000,000 rows: the 300 MB file of issue #12), of which the spec's routes read
three; country, title, industry, size and names repeat, the email, company and phone hardly do.
Goal (issue #12): memory grows with the leads kept, not with the file.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
version: 1
workspace: {provider: instantly, api_key_env: INSTANTLY_API_KEY}
destinations:
  strategic: {campaign: Strategic}
  enterprise-na: {campaign: Enterprise NA}
  enterprise-emea: {campaign: Enterprise EMEA}
  mid-market: {campaign: Mid-Market}
  nurture: {list: Nurture}
owners:
  dana: {email: dana@acme.test}
  eli: {email: eli@acme.test, weight: 2}
  fay: {email: fay@acme.test}
  gus: {email: gus@acme.test, weight: 1.5}
pools:
  ae-na: {members: [eli, fay], sticky: true}
sources:
  - path: leads.csv
    fields: {company_size: employees, country: hq_country}
routes:
  - name: named-accounts
    when: {domain: [globex.test, initech.test, umbrella.test, hooli.test]}
    to: strategic
    owner: dana
  - name: enterprise-north-america
    when: {company_size: {gte: 1000}, country: [US, CA]}
    to: enterprise-na
    owner: {pool: ae-na}
  - name: enterprise-europe
    when: {company_size: {gte: 1000}, country: [GB, DE, FR, NL, SE]}
    to: enterprise-emea
    owner: gus
  - name: mid-market
    when: {all: [{company_size: {gte: 100, lt: 1000}}, {not: {industry: media}}]}
    to: mid-market
    owner: {pool: ae-na}
  - name: everyone-else
    to: nurture
"""

COUNTRIES = ["US", "US", "CA", "GB", "DE", "FR", "NL", "SE", "ES", "JP", "BR"]
INDUSTRIES = ["software", "fintech", "healthcare", "retail", "media", "logistics"]
SIZES = ["5", "20", "60", "150", "400", "900", "1500", "5000", "20000"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Growth", "Engineer", "Marketing Manager", "Founder", "COO"]
NAMED = ["globex.test", "initech.test", "umbrella.test", "hooli.test"]
COLUMNS = ["email", "first_name", "last_name", "company", "title", "employees", "hq_country", "industry", "phone"]


def generate(folder: Path, rows: int) -> Path:
    """A spec and its `leads.csv` of `rows` leads in `folder`; the spec's path."""
    rng = random.Random(12)
    (folder / "spec.yaml").write_text(SPEC)
    with (folder / "leads.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            domain = NAMED[i % 4] if i % 997 == 0 else f"company{rng.randrange(rows // 4 + 1)}.test"
            writer.writerow(
                [
                    f"lead{i}@{domain}",
                    f"First{i % 500}",
                    f"Last{i % 800}",
                    domain.split(".")[0],
                    rng.choice(TITLES),
                    rng.choice(SIZES),
                    rng.choice(COUNTRIES),
                    rng.choice(INDUSTRIES),
                    f"+1-555-{rng.randrange(10**7):07d}",
                ]
            )
    return folder / "spec.yaml"


def validate(spec: Path) -> tuple[int, float, float, float, str]:
    """Run `leadsync validate SPEC` in a child: (exit code, wall seconds, CPU seconds, peak MiB of the child, its
    last line). CPU time is the steadier figure on a shared machine."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "leadsync.cli", "validate", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return child.returncode, elapsed, cpu, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        base = validate(generate(Path(tmp), 1))[3]  # the interpreter, leadsync and the spec: what no row costs
    print(f"one row: {base:.0f} MiB")
    print("| rows | CSV | exit | wall time | CPU time | peak memory (max RSS) | per row, beyond one row's run |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = (args.keep / str(rows)) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            spec = generate(folder, rows)
            size = (folder / "leads.csv").stat().st_size
            code, elapsed, cpu, peak, last = validate(spec)
            if code != 0:
                sys.exit(f"validate failed ({code}): {last}")
            print(
                f"| {rows:,} | {size / 2**20:.0f} MiB | {code} | {elapsed:.1f} s | {cpu:.1f} s | {peak:,.0f} MiB | "
                f"{(peak - base) * 2**20 / rows:.0f} B |"
            )


if __name__ == "__main__":
    main()
