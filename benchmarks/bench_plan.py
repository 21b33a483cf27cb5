"""How fast the planner is at a million leads, and how much memory it takes.

    python benchmarks/bench_plan.py                  # 1,000,000 leads
    python benchmarks/bench_plan.py --leads 100000   # quicker
    python benchmarks/bench_plan.py --tracemalloc    # also the planning step's own peak allocation (slower)
    python benchmarks/bench_plan.py --adds-only      # the biggest plan document: every person is new
    python benchmarks/bench_plan.py --adds-only --repeat 3   # dump and load 3 times each, the best shown

It builds, in memory, N desired leads in 20 destinations with 10 owners and a remote snapshot of N records:
10% of the people sit in another destination (moves), 5% are new (adds), 5% have another owner (reassigns),
1% of the records are protected (replied: held when they would change), and the records the new people leave
free are people no route wants (kept: `unmanaged: keep`), so that the snapshot has N records too. Moving people
mostly keep their owner (as a sticky pool does). It then times `make_plan` alone, the plan document both ways
(`plan.to_json`, `load_plan` of that text, with its schema and consistency checks), and the renderers.
With --adds-only the remote is empty and each desired lead carries two fields: one add per person, the largest
document a million leads make. With --repeat N the document is dumped and loaded N times and the fastest of each
is shown (on a shared machine the best of a few is the steadier figure).

Memory: "peak RSS" is the process's ru_maxrss (inputs + plan + interpreter), which is what a CI runner sees;
"planning peak" (with --tracemalloc) is tracemalloc's peak of Python allocations during `make_plan` only.
Goals: make_plan under 5 s, peak RSS under 1 GB, writes / lower bound = 1.00 (the lower bound is counted from
each person's change, independently of the planner's batching), to_json and load_plan each under ~5 s.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from leadsync.plan import Plan, PlanContext, load_plan, make_plan
from leadsync.providers import INSTANTLY
from leadsync.render import render_markdown, render_text
from leadsync.state import DesiredLead, DesiredState, Policy, RemoteLead, ResolvedWorkspace

T = TypeVar("T")
DESTINATIONS = [f"campaign-{i:02d}" for i in range(20)]
OWNERS = [f"owner-{i}" for i in range(10)]
NO_FIELDS: dict[str, object] = {}  # shared: a dict per lead would measure the benchmark, not the planner
PROTECTED = frozenset({"replied"})
NONE: frozenset[str] = frozenset()


def _uuid(rng: random.Random) -> str:
    # random ids, as a vendor's are: the planner must not profit from records that arrive sorted by id
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_adds(n: int) -> tuple[list[DesiredLead], list[RemoteLead]]:
    """N new people, each with a couple of fields: the plan is N adds."""
    desired = [
        DesiredLead(
            f"lead{i}@company{i % 5003}.test",
            DESTINATIONS[i % 20],
            OWNERS[(i // 20) % 10],
            "route-a",
            {"first_name": "Ada", "company_size": i % 5000},
        )
        for i in range(n)
    ]
    return desired, []


def build(n: int, seed: int = 1) -> tuple[list[DesiredLead], list[RemoteLead]]:
    """N desired leads and N remote records with the mix described above. Deterministic."""
    rng = random.Random(seed)
    desired: list[DesiredLead] = []
    remote: list[RemoteLead] = []
    for i in range(n):
        key = f"lead{i}@company{i % 5003}.test"
        destination, owner = DESTINATIONS[i % 20], OWNERS[(i // 20) % 10]
        desired.append(DesiredLead(key, destination, owner, "route-a", NO_FIELDS))
        roll = rng.random()
        if roll < 0.05:  # new people: their place in the snapshot goes to people no route wants (below)
            continue
        if roll < 0.15:
            destination = DESTINATIONS[(i + 1 + i // 7) % 20]
        elif roll < 0.20:
            owner = OWNERS[(i // 20 + 1) % 10]
        statuses = PROTECTED if rng.random() < 0.01 else NONE
        remote.append(RemoteLead(_uuid(rng), key, destination, owner, statuses))
    for j in range(n - len(remote)):
        remote.append(RemoteLead(_uuid(rng), f"old{j}@gone.test", DESTINATIONS[j % 20]))
    return desired, remote


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def timed(label: str, fn: Callable[..., T], *args: Any) -> T:
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    print(f"  {label:<28} {time.perf_counter() - start:8.2f} s")
    return result


def best(times: int, label: str, fn: Callable[..., T], *args: Any) -> T:
    """`timed`, the fastest of `times` runs (each result dropped before the next, so memory stays as for one)."""
    if times <= 1:
        return timed(label, fn, *args)
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    spent = [time.perf_counter() - start]
    for _ in range(times - 1):
        del result
        gc.collect()
        start = time.perf_counter()
        result = fn(*args)
        spent.append(time.perf_counter() - start)
    print(f"  {label:<28} {min(spent):8.2f} s  (best of {times}: {', '.join(f'{t:.2f}' for t in spent)})")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="desired leads and remote records (1,000,000)")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure make_plan's peak allocation")
    parser.add_argument("--adds-only", action="store_true", help="no remote records: every person is an add")
    parser.add_argument("--repeat", type=int, default=1, help="dump and load N times, show the fastest (1)")
    args = parser.parse_args()
    n = args.leads

    records = 0 if args.adds_only else n
    print(f"leadsync planner benchmark: {n:,} desired leads, {records:,} remote records")
    desired, remote = timed("build inputs", build_adds if args.adds_only else build, n)
    print(f"  {'peak RSS after inputs':<28} {peak_rss_mb():8.0f} MB")

    def plan_once() -> Plan:
        return make_plan(
            DesiredState(desired), ResolvedWorkspace(remote, frozenset(DESTINATIONS)), Policy(), PlanContext(INSTANTLY)
        )

    plan: Plan = timed("make_plan", plan_once)
    print(f"  {'peak RSS after make_plan':<28} {peak_rss_mb():8.0f} MB")
    text = best(args.repeat, "plan.to_json", plan.to_json)
    loaded = best(args.repeat, "load_plan(to_json)", load_plan, text)
    assert loaded == plan, "the document does not round-trip"
    del loaded
    markdown = timed("render_markdown", render_markdown, plan)
    terminal = timed("render_text", render_text, plan)
    print(f"  {'peak RSS at the end':<28} {peak_rss_mb():8.0f} MB")
    size = len(text)
    del text
    if args.tracemalloc:
        gc.collect()
        tracemalloc.start()
        plan_once()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {'planning peak (tracemalloc)':<28} {peak / 2**20:8.0f} MB")
    s, c = plan.summary, plan.calls
    print(f"summary: {s.add:,} add, {s.move:,} move, {s.assign:,} reassign, {s.unchanged:,} unchanged, {s.held:,} held")
    print(
        f"calls: {c.writes:,} writes, lower bound {c.lower_bound:,}, ratio {c.writes / max(c.lower_bound, 1):.2f}; "
        f"{c.reads:,} reads; {c.seconds:,.0f} s at the rate limit"
    )
    print(f"sizes: JSON {size:,} chars, markdown {len(markdown):,} chars, text {len(terminal):,} chars")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
