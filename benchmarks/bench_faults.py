"""The fault campaign, longer: lost / duplicated / unconverged over many seeded runs.

    python benchmarks/bench_faults.py [--runs N] [--first K] [--master SEED] [--leads N] [--kill N]
    python benchmarks/bench_faults.py --vendor sonarly [...]      (the Sonarly campaign: bench_faults_sonarly.py)

The same campaign as tests/test_apply_faults.py (whose scenario, faults and checks it imports): a 2,000-lead
workspace that needs moves (some re-owned), adds, re-owns, and holds held leads, conflicts, unrouted people and
records nobody routes, under three policies in turn (claim: skip; claim: move with unmanaged: remove; claim: add);
each run draws its faults from the master seed (429 bursts with and without Retry-After, 5xx and dropped connections
before and after the commit, failing and stalling move jobs, latency) and applies through the real Instantly
provider over HTTP to a sandbox; when the first apply does not converge, a second one runs, as a user would run it.
Every run is checked from the sandbox's final state. `--kill N` adds N runs of `leadsync apply` in a child process
killed with SIGKILL at a random moment, then a fresh apply (as tests/test_apply_kill.py does).

Prints the faults injected by kind, the runs, and lost / duplicated / misplaced / outside-the-plan / unconverged,
with the seeds of any run that found something.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_apply_faults import (
    KEY,
    KEY_ENV,
    MASTER_SEED,
    POLICIES,
    Scenario,
    _worker_run,
    build_scenario,
    check,
    fault_kinds,
    scratch,
)

from leadsync import sandbox


def kill_run(scenario: Scenario, run: int, root: Path, rng: random.Random) -> tuple[bool, bool, object]:
    """(fresh apply exit 0, converged, findings) of one kill -9 run."""
    folder = root / f"kill{run}"
    folder.mkdir()
    for name in ("spec.yaml", "leads.csv"):
        shutil.copyfile(scenario.folder / name, folder / name)
    faults = (
        f"seed={run},job_ms={rng.randint(50, 300)},429=0.03:burst=2:retry_after=0,"
        "5xx=0.02:when=after:on=writes,drop=0.02:when=after:on=writes,job_fail=0.1"
    )
    running = sandbox.start(state=scenario.fresh_state(folder / "state"), faults=faults)
    env = {**os.environ, "LEADSYNC_INSTANTLY_BASE_URL": running.url, KEY_ENV: KEY, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "leadsync.cli", "apply", "spec.yaml", "--auto-approve"]
    try:
        child = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.8))
        child.send_signal(signal.SIGKILL)
        child.wait()
        fresh = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False)
        final = running.state()
    finally:
        running.stop(wait=False)
    ok = fresh.returncode == 0
    return (
        ok,
        ok and ("Converged" in fresh.stderr or "No changes." in fresh.stderr),
        check(scenario, scenario.first_plan, final),
    )


def main() -> None:
    if "--vendor" in sys.argv[1:]:  # --vendor instantly (this campaign) or sonarly (bench_faults_sonarly.py)
        at = sys.argv.index("--vendor")
        vendor, rest = (sys.argv[at + 1] if at + 1 < len(sys.argv) else ""), sys.argv[1:at] + sys.argv[at + 2 :]
        if vendor == "sonarly":
            from bench_faults_sonarly import main as sonarly_main

            sonarly_main(rest)
            return
        if vendor != "instantly":
            sys.exit(f"bench_faults.py: --vendor must be instantly or sonarly, not {vendor!r}")
        sys.argv[1:] = rest
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--first", type=int, default=0, help="index of the first run (runs are drawn by index)")
    parser.add_argument("--master", type=int, default=MASTER_SEED)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--kill", type=int, default=0, help="kill -9 runs to add")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes running runs")
    args = parser.parse_args()

    root = scratch("leadsync-bench-faults-")
    scenarios = {policy: build_scenario(root / policy, leads=args.leads, policy=policy) for policy in POLICIES}
    for scenario in scenarios.values():
        scenario.state, scenario.first_plan  # noqa: B018  (for the kill runs, built before the clock starts)
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, {os.cpu_count()} CPUs")
    s = scenarios["skip"].first_plan.summary
    print(
        f"scenario: {args.leads} leads; first plan (claim: skip): {s.move} move, {s.add} add, {s.assign} assign, "
        f"{s.held} held, {s.conflicts} conflicts, {s.unrouted} unrouted, {s.unchanged} unchanged"
    )

    kinds: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    flagged: list[str] = []
    started = time.monotonic()
    indices = list(range(args.first, args.first + args.runs))
    claims = [POLICIES[index % 3] for index in indices]
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(
            _worker_run,
            claims,
            indices,
            [args.master] * len(indices),
            [args.leads] * len(indices),
            [str(root)] * len(indices),
        )
        for done, (index, claim, result) in enumerate(zip(indices, claims, results, strict=True), start=1):
            kinds.update(fault_kinds(result.faults))
            hits.update(result.fired)
            f = result.findings
            totals.update(
                runs=1,
                lost=len(f.lost),
                duplicated=len(f.duplicated),
                misplaced=len(f.misplaced),
                outside=len(f.outside),
                unconverged=int(not result.converged),
                second_apply=int(not result.converged_first),
                gave_up=len(result.errors),
                rounds=result.rounds,
                writes=result.writes,
                open_outcomes=result.open_outcomes,
            )
            if not f.clean or not result.converged:
                flagged.append(f"run {index} ({claim}, {result.faults}): {f} converged={result.converged}")
            if done % 100 == 0:
                print(f"  ... {done} runs, {time.monotonic() - started:.0f} s, flagged {len(flagged)}", flush=True)
    seconds = time.monotonic() - started

    kill: Counter[str] = Counter()
    rng = random.Random(args.master)
    for run in range(args.kill):
        ok, converged, findings = kill_run(scenarios[POLICIES[run % 3]], run, root, rng)
        kill.update(
            runs=1,
            failed=int(not ok),
            unconverged=int(not converged),
            lost=len(findings.lost),  # type: ignore[attr-defined]
            duplicated=len(findings.duplicated),
            misplaced=len(findings.misplaced),  # type: ignore[attr-defined]
            outside=len(findings.outside),
        )  # type: ignore[attr-defined]
        if not (ok and converged and findings.clean):  # type: ignore[attr-defined]
            flagged.append(f"kill run {run}: exit ok={ok} converged={converged} {findings}")
    shutil.rmtree(root, ignore_errors=True)

    print(
        f"\nfault runs: {totals['runs']} in {seconds:.0f} s ({args.workers} processes); master seed {args.master}, "
        f"runs {args.first}..{args.first + args.runs - 1}"
    )
    print(f"faults injected, by kind: {'runs with it':>12} {'requests (jobs) hit':>20}")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:32} {n:>12} {hits[kind]:>20}")
    print(f"  {'total':32} {sum(kinds.values()):>12} {sum(hits.values()):>20}")
    print(
        f"writes sent: {totals['writes']}, rounds: {totals['rounds']}, open outcomes settled by re-reading: "
        f"{totals['open_outcomes']}, applies that gave up (then resumed): {totals['gave_up']}, "
        f"runs needing a second apply: {totals['second_apply']}"
    )
    print(
        f"lost / duplicated / unconverged: {totals['lost']} / {totals['duplicated']} / {totals['unconverged']}"
        f"   (misplaced {totals['misplaced']}, changed outside the plan {totals['outside']})"
    )
    if args.kill:
        print(
            f"kill -9 runs: {kill['runs']}; fresh apply failed {kill['failed']}; lost / duplicated / unconverged: "
            f"{kill['lost']} / {kill['duplicated']} / {kill['unconverged']}   (misplaced {kill['misplaced']}, "
            f"outside {kill['outside']})"
        )
    for line in flagged:
        print("FLAGGED", line)


if __name__ == "__main__":
    main()
