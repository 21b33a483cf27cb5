"""Churn of owner pools: how many leads change owner when a pool changes, against the least that must.

    python benchmarks/bench_churn.py [--leads N] [--seed S] [--workers W]

On N synthetic leads (default 100,000) and pools of 5, 10 and 20 members (weights 1..3), with and without
capacities (the pool ~85% full in total, uneven per member), each event is applied to one allocation and the
leads whose owner changed are counted against the ideal:

- join: the newcomer's share under the new weights;
- leave: the leads the leaver held;
- weight x2: |new share - old share| of the member;
- capacity -20% (capacities only): the leads the member held over its new capacity.

A member's share is N x its weight / the pool's; with capacities it is the capacity-aware share (water-filling:
a member whose share would pass its capacity gets its capacity, and the rest is shared by weight among the
others; what leadsync.allocation ranks by). The "clamped" column gives the ratio against an earlier definition,
min(share, capacity) without sharing out the rest (it does not add up to N when a capacity binds).

Non-sticky pools measure the hashing's own churn; sticky pools (each lead's `current` = its owner before) keep
what they have, so a join or a weight change moves nothing by design, and a leave or a capacity cut moves
only what must. Also printed: the largest deviation from the weights (without capacities) and from the
capacity-aware shares (with them), and a check (asserted) that no owner ends above its capacity.

    python benchmarks/bench_churn.py --once --leads 1000000   # one allocation: time and peak memory at scale

Goal: moved / ideal <= 1.1x without capacities, <= 1.5x with them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass

from leadsync._gc import paused_gc
from leadsync.allocation import Allocation, Ask, Member, OwnerPool, allocate

SIZES = (5, 10, 20)
FILL = 0.85  # leads / total capacity, in the capacity case
GOAL = {False: 1.1, True: 1.5}  # by capacities


@dataclass(frozen=True)
class Row:
    size: int
    capacities: bool
    sticky: bool
    event: str
    moved: int
    member: int  # of the moves, those to the newcomer or grower, from the leaver or the cut member
    ideal: float
    clamped: float  # the ideal by the earlier definition: min(share, capacity), the rest not shared out
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.moved / self.ideal if self.ideal >= 1 else None

    @property
    def clamped_ratio(self) -> float | None:
        return self.moved / self.clamped if self.clamped >= 1 else None


@dataclass(frozen=True)
class Result:
    size: int
    capacities: bool
    rows: list[Row]
    deviation_pp: float  # largest |share of leads - share of weight| (capacity-aware share with capacities)
    seconds: list[float]  # per allocation


def leads(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"lead{i}.{rng.getrandbits(32):08x}@company{rng.randrange(max(1, n // 20))}.test" for i in range(n)]


def members(size: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed * 1000 + size)
    return {f"owner{i:02d}": float(rng.choice((1, 1.5, 2, 2.5, 3))) for i in range(size)}


def capacities(weights: dict[str, float], n: int, seed: int) -> dict[str, int]:
    # uneven on purpose: a member's capacity is its weighted share of the total times 0.6..1.4, so some members
    # fill up and spill to the next-ranked member while others keep room
    rng = random.Random(seed * 7 + len(weights))
    raw = {owner: w * rng.uniform(0.6, 1.4) for owner, w in weights.items()}
    total = n / FILL
    scale = total / sum(raw.values())
    return {owner: int(v * scale) for owner, v in raw.items()}


def water_filled(weights: dict[str, float], caps: dict[str, int], n: int) -> dict[str, float]:
    """Each member's capacity-aware share of n leads: by weight, none above its capacity, the rest shared out."""
    fixed, free, level = 0.0, sum(weights.values()), 0.0
    for owner in sorted(weights, key=lambda o: (caps.get(o, float("inf")) / weights[o], o)):
        cap = caps.get(owner, float("inf"))
        if fixed + free * cap / weights[owner] >= n:
            break
        fixed, free = fixed + cap, free - weights[owner]
    level = (n - fixed) / free if free > 0 else float("inf")
    return {o: min(caps.get(o, float("inf")), level * w) for o, w in weights.items()}


def run(
    keys: list[str],
    weights: dict[str, float],
    caps: dict[str, int],
    sticky: bool,
    current: list[str | None] | None,
    seconds: list[float],
) -> list[str | None]:
    pool = OwnerPool("p", [Member(o, f"{o}@acme.test", w) for o, w in weights.items()], sticky)
    cur = current or [None] * len(keys)
    asks = [Ask(i, k, k, c) for i, (k, c) in enumerate(zip(keys, cur, strict=True))]
    started = time.perf_counter()
    with paused_gc():  # as routing calls it: the cycle collector would walk a million live asks again and again
        placed: Allocation = allocate({"p": asks}, {"p": pool}, capacity=caps)
    seconds.append(time.perf_counter() - started)
    for owner, held in placed.load.items():  # the promise the capacity case rests on
        assert owner not in caps or held <= caps[owner], f"{owner} holds {held} > capacity {caps[owner]}"
    return [placed.owners[i] for i in range(len(keys))]


def measure(task: tuple[int, bool, int, int]) -> Result:
    size, with_caps, n, seed = task
    keys = leads(n, seed)
    weights = members(size, seed)
    caps = capacities(weights, n, seed) if with_caps else {}
    seconds: list[float] = []
    before = run(keys, weights, caps, False, None, seconds)
    held = Counter(before)
    assert None not in held, "the pool has room for every lead before any event"
    total_w = sum(weights.values())

    def share(owner: str, ws: dict[str, float], cs: dict[str, int]) -> float:
        return water_filled(ws, cs, n)[owner]

    def clamped(owner: str, ws: dict[str, float], cs: dict[str, int]) -> float:
        fair = n * ws[owner] / sum(ws.values())
        return min(fair, cs[owner]) if owner in cs else fair

    events: list[tuple[str, dict[str, float], dict[str, int], float, float, str]] = []
    # join: a newcomer of weight 2, with a capacity at the pool's own fill
    new_w = {**weights, "newcomer": 2.0}
    new_c = {**caps, "newcomer": int(n * 2.0 / sum(new_w.values()) / FILL)} if with_caps else {}
    events.append(
        ("join", new_w, new_c, share("newcomer", new_w, new_c), clamped("newcomer", new_w, new_c), "newcomer")
    )
    # leave: the member with the smallest capacity (or weight), so the rest still has room for every lead
    leaver = min(weights, key=lambda o: (caps.get(o, 0), weights[o], o))
    events.append(
        (
            "leave",
            {o: w for o, w in weights.items() if o != leaver},
            {o: c for o, c in caps.items() if o != leaver},
            float(held[leaver]),
            float(held[leaver]),
            leaver,
        )
    )
    # weight x2: the member with the most room left (lowest weight without capacities): a capped member's
    # share could not grow
    grower = (
        max(weights, key=lambda o: (caps[o] / (n * weights[o] / total_w), o))
        if with_caps
        else min(weights, key=lambda o: (weights[o], o))
    )
    doubled = {**weights, grower: weights[grower] * 2}
    events.append(
        (
            "weight x2",
            doubled,
            caps,
            abs(share(grower, doubled, caps) - share(grower, weights, caps)),
            abs(clamped(grower, doubled, caps) - clamped(grower, weights, caps)),
            grower,
        )
    )
    if with_caps:
        # capacity -20%: the full member with the largest capacity (a member with room might lose nothing)
        full = [o for o in weights if held[o] >= caps[o]] or list(weights)
        cut = max(full, key=lambda o: (caps[o], o))
        cut_c = {**caps, cut: int(caps[cut] * 0.8)}
        over = float(max(0, held[cut] - cut_c[cut]))
        events.append(("capacity -20%", weights, cut_c, over, over, cut))

    rows: list[Row] = []
    for sticky in (False, True):
        for event, ws, cs, ideal, old_ideal, who in events:
            after = run(keys, ws, cs, sticky, before if sticky else None, seconds)
            moved = sum(1 for a, b in zip(before, after, strict=True) if a != b)
            # the moves the event itself asks for; the rest are other members' leads re-dealt among them
            mine = sum(1 for a, b in zip(before, after, strict=True) if a != b and who in (a, b))
            unplaced = after.count(None)
            note = f"{who}" + (f", {unplaced:,} unplaced" if unplaced else "")
            if sticky and event in ("join", "weight x2"):
                note += " (sticky: keeps what it has, no rebalancing)"
            rows.append(Row(size, with_caps, sticky, event, moved, mine, ideal, old_ideal, note))

    target = water_filled(weights, caps, n)  # the weights' own shares when no capacity is given
    deviation = 100 * max(abs(held[o] - target[o]) / n for o in weights)
    return Result(size, with_caps, rows, deviation, seconds)


def once(n: int, seed: int) -> None:
    """One allocation of n leads in a 20-member pool with capacities: its time and the process's peak memory."""
    keys = leads(n, seed)
    weights = members(20, seed)
    caps = capacities(weights, n, seed)
    seconds: list[float] = []
    run(keys, weights, caps, False, None, seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{n:,} leads, 20 members with capacities: {seconds[0]:.1f} s, peak RSS {peak:,.0f} MiB "
        f"(keys included; Python {sys.version.split()[0]}, {platform.machine()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes (one per pool size and capacity case)")
    parser.add_argument("--once", action="store_true", help="time one allocation of --leads (20 members, capped)")
    args = parser.parse_args()
    if args.once:
        once(args.leads, args.seed)
        return
    started = time.perf_counter()
    # the biggest pools first, so the two workers end together
    tasks = [(size, caps, args.leads, args.seed) for size in sorted(SIZES, reverse=True) for caps in (True, False)]
    with multiprocessing.Pool(args.workers) as workers:
        results = sorted(workers.map(measure, tasks, chunksize=1), key=lambda r: (r.size, r.capacities))
    wall = time.perf_counter() - started

    print(f"machine: {platform.machine()}, Python {sys.version.split()[0]}; {args.leads:,} leads, seed {args.seed}")
    print()
    print(
        "| pool size | capacities | sticky | event | moved | of which to/from the member | ideal | ratio "
        "| clamped ideal: ratio | member |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    misses: list[str] = []
    for result in results:
        for row in result.rows:
            ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}x"
            old = "n/a" if row.clamped_ratio is None else f"{row.clamped_ratio:.2f}x"
            print(
                f"| {row.size} | {'yes' if row.capacities else 'no'} | {'yes' if row.sticky else 'no'} | "
                f"{row.event} | {row.moved:,} | {row.member:,} | {row.ideal:,.0f} | {ratio} | {old} | {row.note} |"
            )
            # a sticky pool does not rebalance on a join or a weight change: below the ideal by design
            if row.ratio is not None and row.ratio > GOAL[row.capacities]:
                misses.append(
                    f"{row.size} members, capacities {'yes' if row.capacities else 'no'}, "
                    f"{'sticky' if row.sticky else 'non-sticky'}, {row.event}: {row.ratio:.2f}x"
                )
    print()
    for result in results:
        against = "capacity-aware shares" if result.capacities else "weights"
        print(
            f"largest deviation from the {against}, {result.size} members: {result.deviation_pp:.2f} percentage "
            "points of the leads"
        )
    for size in SIZES:
        times = [s for r in results if r.size == size for s in r.seconds]
        print(f"time per allocation, {size} members: {sum(times) / len(times):.2f} s (mean of {len(times)})")
    print("capacity check: no owner above its capacity in any allocation (asserted)")
    print()
    for caps, goal in GOAL.items():
        worst = max(
            (r.ratio for res in results for r in res.rows if r.capacities == caps and r.ratio is not None), default=0.0
        )
        print(
            f"goal: moved / ideal <= {goal}x {'with' if caps else 'without'} capacities: worst {worst:.2f}x, "
            f"{'met' if worst <= goal else 'MISSED'}"
        )
    for miss in misses:
        print(f"  missed: {miss}")
    print(f"wall time: {wall:.1f} s ({args.workers} workers)")


if __name__ == "__main__":
    main()
