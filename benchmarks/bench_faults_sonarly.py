"""The Sonarly fault campaign, longer: lost / duplicated / unconverged over many seeded runs.

    python benchmarks/bench_faults_sonarly.py [--runs N] [--first K] [--master SEED] [--people N] [--workers W]
    python benchmarks/bench_faults.py --vendor sonarly ...      (the same)

The campaign of tests/test_sonarly_campaign.py (whose workspace, colleague and checks it imports): a 600-person
Sonarly account group (four managed audiences, an Archive moved in under `claim: move`, an audience being
populated, another group's same-named audience) applied through the real Sonarly provider over HTTP to a
sandbox. Each run draws its trouble from the master seed: 429 bursts, 5xx and dropped connections before and
after the commit, latency, audiences that start populating for a moment or past the provider's wait (409
AUDIENCE_NOT_READY), and a colleague moving prospects by hand meanwhile (422). Every run is checked from the
sandbox's final state.

Prints the faults injected by kind, the runs, the open outcomes settled by re-reading, and
lost / duplicated / misplaced / outside-the-plan / unconverged, with the seeds of any run that found something.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_apply_faults import fault_kinds, scratch
from test_sonarly_campaign import Kind, campaign_run, large_workspace

MASTER_SEED = 20261124


def draw_kind(run: int, master: int = MASTER_SEED) -> tuple[Kind, int]:
    """The trouble of run `run` and its fault seed: a seeded mix, at least one kind each run."""
    rng = random.Random(f"sonarly/{master}/{run}")
    items: list[str] = []
    meddle = 0.0
    ready_timeout = 5.0
    while not items and not meddle:
        if rng.random() < 0.4:
            items.append(
                f"429={rng.uniform(0.02, 0.15):.3f}:burst={rng.randint(1, 3)}" + rng.choice(["", ":retry_after=0"])
            )
        if rng.random() < 0.4:
            on, when = rng.choice(["writes", "reads", "all"]), rng.choice(["before", "after"])
            items.append(f"5xx={rng.uniform(0.02, 0.3):.3f}:when={when}:on={on}:status={rng.choice([500, 502, 503])}")
        if rng.random() < 0.4:
            on, when = rng.choice(["writes", "all"]), rng.choice(["before", "after"])
            items.append(f"drop={rng.uniform(0.02, 0.3):.3f}:when={when}:on={on}")
        if rng.random() < 0.2:
            items.append(f"latency={rng.uniform(0.05, 0.2):.3f}:ms={rng.randint(5, 30)}")
        if rng.random() < 0.4:  # populating for a moment: the provider waits it out
            items.append(f"populating={rng.uniform(0.02, 0.15):.3f}:requests={rng.randint(2, 6)}")
        if rng.random() < 0.4:  # populating past the provider's wait: the applier's open outcome
            items.append(f"populating={rng.uniform(0.03, 0.12):.3f}:on=writes:requests={rng.randint(15, 60)}")
            ready_timeout = 0.05
        if rng.random() < 0.4:
            meddle = rng.uniform(0.05, 0.4)
    return Kind(",".join(items), ready_timeout=ready_timeout, meddle=round(meddle, 3)), rng.randrange(1 << 30)


def kind_names(faults: str) -> list[str]:
    """The kinds a faults spec injects, as the Instantly benchmark names them; a populating audience that
    outlasts the provider's wait (a writes-only rule, here) is told apart from one it waits out."""
    items = [i for i in faults.split(",") if i.partition("=")[0] not in ("seed", "job_ms", "job_polls", "assign_ms")]
    return [
        "populating past the wait" if name == "populating" and ":on=writes" in item else name
        for name, item in zip(fault_kinds(faults), items, strict=True)
    ]


def _worker_run(run: int, master: int, people: int, root: str) -> tuple[int, str, dict[str, Any]]:
    """One run in a folder of its own under `root`, removed after it."""
    kind, fault_seed = draw_kind(run, master)
    folder = Path(root) / f"run{run}"
    folder.mkdir()
    faults = f"seed={fault_seed}" + (f",{kind.faults}" if kind.faults else "")
    trouble = f"{faults} meddle={kind.meddle} ready_timeout={kind.ready_timeout}"
    try:
        seed, spec = large_workspace(folder, people)
        result = campaign_run(seed, spec, kind, fault_seed, fired_names=kind_names)
    except Exception as error:
        return run, trouble, {"error": f"{type(error).__name__}: {error}", "kinds": kind_names(faults)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report = result.report
    return (
        run,
        trouble,
        {
            "counts": dict(result.counts),
            "opened": dict(result.opened),
            "fired": dict(result.fired),
            "kinds": kind_names(faults) + (["colleague moving prospects"] if kind.meddle else []),
            "colleague": result.colleague_moves,
            "gave_up": result.gave_up,
            "writes": report.writes,
            "rounds": report.rounds,
            "open": report.open_outcomes,
            "seconds": report.seconds,
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--first", type=int, default=0, help="index of the first run (runs are drawn by index)")
    parser.add_argument("--master", type=int, default=MASTER_SEED)
    parser.add_argument("--people", type=int, default=600)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes running runs")
    args = parser.parse_args(argv)

    root = scratch("leadsync-bench-sonarly-")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, {os.cpu_count()} CPUs")
    kinds: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    opened: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    flagged: list[str] = []
    started = time.monotonic()
    indices = list(range(args.first, args.first + args.runs))
    try:
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = pool.map(
                _worker_run,
                indices,
                [args.master] * len(indices),
                [args.people] * len(indices),
                [str(root)] * len(indices),
            )
            for done, (index, trouble, r) in enumerate(results, start=1):
                kinds.update(r["kinds"])
                if "error" in r:
                    totals.update(runs=1, errors=1)
                    flagged.append(f"run {index} ({trouble}): {r['error']}")
                    continue
                counts: dict[str, int] = r["counts"]
                hits.update(r["fired"])
                hits["colleague moving prospects"] += r["colleague"]
                opened.update(r["opened"])
                totals.update(
                    runs=1, writes=r["writes"], rounds=r["rounds"], open=r["open"], gave_up=r["gave_up"], **counts
                )
                if any(counts.values()):
                    flagged.append(f"run {index} ({trouble}): {counts}")
                if done % 100 == 0:
                    print(f"  ... {done} runs, {time.monotonic() - started:.0f} s, flagged {len(flagged)}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.monotonic() - started

    print(
        f"\nSonarly fault runs: {totals['runs']} in {seconds:.0f} s ({args.workers} processes, {args.people} people "
        f"a run); master seed {args.master}, runs {args.first}..{args.first + args.runs - 1}"
    )
    print(f"faults injected, by kind: {'runs with it':>12} {'requests hit':>14}")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:32} {n:>12} {hits[kind]:>14}")
    print(f"  {'total':32} {sum(kinds.values()):>12} {sum(hits.values()):>14}")
    print(
        f"writes sent: {totals['writes']}, rounds: {totals['rounds']}, open outcomes settled by re-reading: "
        f"{totals['open']} ({', '.join(f'{k} {n}' for k, n in sorted(opened.items())) or 'none'}); applies "
        f"that gave up (vendor failing past the retry budget), then run again: {totals['gave_up']}; runs that "
        f"failed: {totals['errors']}"
    )
    print(
        f"lost / duplicated / unconverged: {totals['lost']} / {totals['duplicated']} / {totals['unconverged']}"
        f"   (misplaced {totals['misplaced']}, changed outside the plan {totals['outside']})"
    )
    for line in flagged:
        print("FLAGGED", line)


if __name__ == "__main__":
    main()
