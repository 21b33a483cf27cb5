"""Loads and routes N generated leads from CSV (default 1,000,000): wall time and peak memory.

    python benchmarks/bench_route.py [--leads N] [--keep DIR]

Goal (issue 2): under 10 s and under 1 GB for 1,000,000 leads.
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from leadsync.routing import Router
from leadsync.spec import load_leads, load_spec

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
  hana: {email: hana@acme.test}
  ivo: {email: ivo@acme.test}
pools:
  ae-na: {members: [eli, fay], sticky: true}
  ae-emea: {members: [gus, hana, ivo]}
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
    owner: {pool: ae-emea}
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
NAMED = ["globex.test", "initech.test", "umbrella.test", "hooli.test"]


def generate(folder: Path, n: int) -> None:
    rng = random.Random(1)
    (folder / "spec.yaml").write_text(SPEC)
    with (folder / "leads.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "last_name", "company", "employees", "hq_country", "industry"])
        for i in range(n):
            domain = NAMED[i % 4] if i % 997 == 0 else f"company{rng.randrange(n // 4 + 1)}.test"
            writer.writerow(
                [
                    f"lead{i}@{domain}",
                    f"First{i % 500}",
                    f"Last{i % 800}",
                    domain.split(".")[0],
                    rng.choice(SIZES),
                    rng.choice(COUNTRIES),
                    rng.choice(INDUSTRIES),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        generate(folder, args.leads)
        size = (folder / "leads.csv").stat().st_size
        started = time.perf_counter()
        loaded = load_spec(folder / "spec.yaml")
        leads = load_leads(loaded)
        loaded_at = time.perf_counter()
        routing = Router(loaded).route(leads.leads)
        done = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {sys.version.split()[0]}")
    print(
        f"leads: {len(leads.leads):,} from a {size / 2**20:.0f} MiB CSV; routed {len(routing.desired):,}, "
        f"unrouted {len(routing.unrouted):,}"
    )
    print(
        f"load: {loaded_at - started:.2f} s, route: {done - loaded_at:.2f} s, total: {done - started:.2f} s "
        f"(goal < 10 s)"
    )
    print(f"peak memory (max RSS of the process): {peak_mib:.0f} MiB (goal < 1024 MiB)")


if __name__ == "__main__":
    main()
