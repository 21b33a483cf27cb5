"""leadsync apply against a naive sync, on the same sandbox workspace, at the vendor's rate limit.

    python benchmarks/bench_apply.py [--leads N] [--naive-leads M | --no-naive] [--mix MOVE,ADD,ASSIGN] [--trace FILE]

A workspace of N people (default 100,000) in four campaigns and a list, owned by six reps through two pools and
fixed owners; by default 20% of them must move (half of those to a new owner too), 20% are new, 20% must change
owner, the rest are right. The sandbox runs in its own process with the vendor's limiter on (100 requests/s and
6,000/min) and counts every call; each contender starts from a fresh copy of the same state.

- leadsync: `leadsync apply SPEC --auto-approve`, the command itself in a child process (reading, planning,
  writing, waiting for jobs and bulk-assigns, the verifying re-read and re-plan: everything a user waits for).
- naive: a sync as written by hand, 8 threads under the same client-side limiter, a 429 waited out: it reads the
  same destinations, then sends one `/leads/add` per new lead, one `/leads/move` job per moved lead (not waited for:
  the kindest reading), and one `PATCH /leads/{id}` per owner change (a moved lead that changes owner is a move and
  a PATCH). It is given the desired state (leadsync's router): its thinking is not what is measured.

Prints, for each: calls (reads, writes, by endpoint), wall time, the floor (calls / 100 per second: the time the
vendor's limit alone needs for those calls) and the ratio of the two, and whether a fresh plan afterwards is empty.
With --trace, the sandbox also writes every request it serves to FILE, and leadsync's wall time is broken down
into stretches (start, read, plan, write and wait, re-read, re-plan), each with its time beyond the floor.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

from leadsync.providers._http import RateLimiter
from leadsync.routing import Router
from leadsync.sandbox import reset, serve
from leadsync.spec import load_leads, load_spec

KEY = "bench-apply-key"
KEY_ENV = "LEADSYNC_BENCH_KEY"
RATE = 100.0  # requests per second: the vendor's limit (and 6,000 a minute: the same rate, sustained)
OWNERS = [f"rep{i}" for i in range(6)]
USER = {name: f"7d0c6d2e-0000-4000-8000-{i + 1:012x}" for i, name in enumerate([*OWNERS, "gone"])}
PLACES = {
    "enterprise": ("campaign", "Enterprise", 1),
    "mid": ("campaign", "Mid-Market", 2),
    "smb": ("campaign", "SMB", 3),
    "emea": ("campaign", "EMEA", 4),
    "nurture": ("list", "Nurture", 1),
}
WRITES = (
    "POST /api/v2/leads/add",
    "POST /api/v2/leads/move",
    "POST /api/v2/leads/bulk-assign",
    "PATCH /api/v2/leads/{id}",
    "DELETE /api/v2/leads",
)


def place_id(name: str) -> str:
    kind, _, n = PLACES[name]
    return f"c0000000-0000-4000-8000-{n:012x}" if kind == "campaign" else f"11570000-0000-4000-8000-{n:012x}"


SPEC = f"""version: 1
workspace: {{provider: instantly, api_key_env: {KEY_ENV}}}
destinations:
  enterprise: {{campaign: Enterprise}}
  mid: {{campaign: Mid-Market}}
  smb: {{campaign: SMB}}
  emea: {{campaign: EMEA}}
  nurture: {{list: Nurture}}
owners:
{chr(10).join(f"  {o}: {{email: {o}@acme.test}}" for o in OWNERS)}
pools:
  ae: {{members: [rep0, rep1, rep2], sticky: true}}
  sdr: {{members: [rep3, rep4]}}
sources:
  - path: leads.csv
routes:
  - {{name: emea, when: {{country: [DE, FR, GB]}}, to: emea, owner: rep5}}
  - {{name: enterprise, when: {{company_size: {{gte: 1000}}}}, to: enterprise, owner: {{pool: ae}}}}
  - {{name: mid, when: {{company_size: {{gte: 200}}}}, to: mid, owner: {{pool: sdr}}}}
  - {{name: smb, when: {{company_size: {{gte: 20}}}}, to: smb, owner: rep3}}
  - {{name: nurture, to: nurture, owner: rep4}}
policy: {{max_change_ratio: 1.0}}
"""


def build(folder: Path, leads: int, mix: tuple[float, float, float], seed: int = 1) -> dict[str, Any]:
    """Write spec.yaml and leads.csv into `folder`; return the workspace seed."""
    rng = random.Random(seed)
    rows = [
        {
            "email": f"lead{i}@company{i % 997}.test",
            "first_name": f"Lead{i}",
            "company_size": rng.choice([5, 50, 300, 2000]),
            "country": rng.choice(["US", "DE", "BR", "JP", "FR"]),
        }
        for i in range(leads)
    ]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (folder / "leads.csv").write_text(text.getvalue())
    (folder / "spec.yaml").write_text(SPEC)
    loaded = load_spec(folder / "spec.yaml")
    desired = Router(loaded).route(load_leads(loaded).leads).desired
    move, add, assign = mix
    records = []
    for i, want in enumerate(desired):
        draw = rng.random()
        place, owner = want.destination, want.owner or "rep4"
        if draw < move:
            place = rng.choice([p for p in PLACES if p != want.destination])
            if draw < move / 2:
                owner = "gone"
        elif draw < move + add:
            continue
        elif draw < move + add + assign:
            owner = "gone"
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
    return {
        "api_keys": [{"key": KEY, "scopes": ["all:*"]}],
        "members": [{"user_id": user, "email": f"{name}@acme.test"} for name, user in USER.items()],
        "campaigns": [{"id": place_id(p), "name": PLACES[p][1]} for p in PLACES if PLACES[p][0] == "campaign"],
        "lists": [{"id": place_id(p), "name": PLACES[p][1]} for p in PLACES if PLACES[p][0] == "list"],
        "leads": records,
    }


def _serve(state: str, queue: Any, trace: str | None = None) -> None:
    if trace:
        _trace_requests(trace)
    serve(state=state, rate_limit=True, on_ready=queue.put)


def _trace_requests(path: str) -> None:
    """Record, for every vendor request the sandbox serves: when it arrived, when its answer was sent, its status
    and endpoint (JSON lines in `path`, written as the server goes). For finding where wall time exceeds the floor."""
    from leadsync.sandbox import _http

    out = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the server process
    serve_request = _http.App.__call__

    async def traced(self: Any, scope: Any, receive: Any, send: Any) -> None:
        started, status = time.time(), [0]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await serve_request(self, scope, receive, sending)
        if not scope["path"].startswith("/_sandbox/"):
            out.write(json.dumps([started, time.time(), status[0], scope["method"], scope["path"]]) + "\n")

    _http.App.__call__ = traced  # type: ignore[method-assign]


def idle(trace: str, began: float, ended: float) -> None:
    """Where the apply's wall time went beyond the floor, from the sandbox's trace: each stretch of the run with its
    calls, its time, and its time beyond calls / 100 per s (the excesses add up to wall time minus the floor)."""
    rows = sorted(row for row in map(json.loads, Path(trace).read_text().splitlines()) if began <= row[0] <= ended)
    arrivals = [row[0] for row in rows]
    writes = [row[0] for row in rows if row[3] in ("PATCH", "DELETE") or (row[3] == "POST" and "/list" not in row[4])]
    marks = [("start", began), ("read", arrivals[0])]
    if writes:  # the plan: from the answer to the last read to the first write
        marks += [("plan", max(row[1] for row in rows if row[0] < writes[0])), ("write, wait", writes[0])]
        reread = [row[0] for row in rows if row[0] > writes[0] and row[4].endswith("/campaigns")]
        marks += [("re-read", reread[0])] if reread else []
    marks += [("re-plan, exit", rows[-1][1]), ("end", ended)]
    print("  where the time went (calls, seconds, seconds beyond calls / 100 per s):")
    for (name, since), (_, until) in pairwise(marks):
        calls = sum(1 for t in arrivals if since <= t < until or (t == arrivals[-1] and since <= t <= until))
        print(f"    {name:14} {calls:6,} calls {until - since:6.2f} s  {until - since - calls / RATE:+6.2f} s")


class Vendor:
    """A sandbox in a child process (its own interpreter: it shares no GIL with the contender)."""

    def __init__(self, template: Path, folder: Path, trace: str | None = None) -> None:
        state = folder / "workspace.sqlite"
        shutil.copyfile(template, state)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        self.process = context.Process(target=_serve, args=(str(state), queue, trace), daemon=True)
        self.process.start()
        self.url: str = queue.get(timeout=300)

    def calls(self) -> Counter[str]:
        controls = {"Authorization": f"Bearer {KEY}"}  # the sandbox's controls need one of its keys
        return Counter(httpx.get(self.url + "/_sandbox/stats", headers=controls, timeout=60).json()["calls"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(30)


def leadsync(folder: Path, url: str, *args: str) -> tuple[int, str, float]:
    env = {**os.environ, "LEADSYNC_INSTANTLY_BASE_URL": url, KEY_ENV: KEY, "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stderr, time.monotonic() - started


def naive_sync(folder: Path, url: str) -> float:
    """The hand-made sync (see the module docstring). Returns its wall time."""
    loaded = load_spec(folder / "spec.yaml")
    desired = {d.key: d for d in Router(loaded).route(load_leads(loaded).leads).desired}
    limiter = RateLimiter(RATE, RATE * 60)
    local = threading.local()

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
        while True:
            limiter.acquire()
            answer = local.http.request(method, path, json=body)
            if answer.status_code == 429:
                time.sleep(1.0)
                continue
            answer.raise_for_status()
            return answer.json() if answer.content else None

    started = time.monotonic()
    current: dict[str, dict[str, Any]] = {}
    for name in PLACES:
        kind = "campaign" if PLACES[name][0] == "campaign" else "list_id"
        cursor = None
        while True:
            page = call(
                "POST",
                "/api/v2/leads/list",
                {kind: place_id(name), "limit": 100, **({"starting_after": cursor} if cursor else {})},
            )
            if not page["items"]:
                break
            for lead in page["items"]:
                current[lead["email"]] = lead
            cursor = page["next_starting_after"]
    work = []
    for key, want in desired.items():
        target, owner = place_id(want.destination), USER[want.owner or "rep4"]
        lead = current.get(key)
        if lead is None:
            field = "campaign_id" if PLACES[want.destination][0] == "campaign" else "list_id"
            work.append(("POST", "/api/v2/leads/add", {field: target, "leads": [{"email": key, "assigned_to": owner}]}))
            continue
        here = lead.get("campaign") or lead.get("list_id")
        if here != target:
            source = {"campaign": here} if lead.get("campaign") else {"list_id": here}
            to = "to_campaign_id" if PLACES[want.destination][0] == "campaign" else "to_list_id"
            work.append(("POST", "/api/v2/leads/move", {"ids": [lead["id"]], **source, to: target}))
        if lead.get("assigned_to") != owner:
            work.append(("PATCH", f"/api/v2/leads/{lead['id']}", {"assigned_to": owner}))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: call(*item), work))
    return time.monotonic() - started


def describe(name: str, calls: Counter[str], seconds: float) -> dict[str, Any]:
    writes = sum(n for endpoint, n in calls.items() if endpoint in WRITES)
    total = sum(calls.values())
    floor = total / RATE
    print(
        f"{name}: {total:,} calls ({total - writes:,} reads, {writes:,} writes), {seconds:.1f} s; floor "
        f"{floor:.1f} s (calls / {RATE:g} per s): {seconds / floor:.2f}x the floor"
    )
    for endpoint, n in sorted(calls.items()):
        print(f"    {endpoint:40} {n:>8,}")
    return {"calls": total, "writes": writes, "seconds": seconds, "floor": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--naive-leads", type=int, default=None, help="people for the naive sync (default: --leads)")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-leadsync", action="store_true")
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="write every request the sandbox serves (arrival, answer, "
        "status, path) as JSON lines to FILE (the leadsync run only)",
    )
    parser.add_argument("--mix", default="0.2,0.2,0.2", help="shares of people to move, add and re-own")
    args = parser.parse_args()
    mix = tuple(float(x) for x in args.mix.split(","))
    assert len(mix) == 3
    print(
        f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"sandbox limiter 100/s and 6,000/min"
    )
    root = Path(tempfile.mkdtemp(prefix="leadsync-bench-apply-"))
    try:
        sizes = [] if args.no_leadsync else [("leadsync", args.leads)]
        if not args.no_naive:
            sizes.append(("naive", args.naive_leads or args.leads))
        for who, leads in sizes:
            folder = root / who
            folder.mkdir()
            started = time.monotonic()
            template = root / f"seed{leads}.sqlite"
            seed = build(folder, leads, mix)  # type: ignore[arg-type]
            (folder / "seed.json").write_text(json.dumps(seed))
            if not template.exists():
                reset(template, seed)
            print(f"\n{who}: {leads:,} people; workspace built in {time.monotonic() - started:.0f} s")
            vendor = Vendor(template, folder, args.trace if who == "leadsync" else None)
            try:
                # planned from the seed itself (--remote): no calls that would use up the vendor's rate window
                code, err, _ = leadsync(
                    folder, vendor.url, "plan", "spec.yaml", "--remote", "seed.json", "--out", "plan.json"
                )
                assert code == 0, err
                plan = json.loads((folder / "plan.json").read_text())
                print(
                    f"  plan: {plan['summary']}; predicted writes {plan['calls']['writes']}, "
                    f"reads {plan['calls']['reads']}"
                )
                httpx.delete(vendor.url + "/_sandbox/stats", headers={"Authorization": f"Bearer {KEY}"})
                if who == "leadsync":
                    began = time.time()
                    code, err, seconds = leadsync(folder, vendor.url, "apply", "spec.yaml", "--auto-approve", "--force")
                    print("  " + "\n  ".join(err.strip().splitlines()[-2:]))
                    if args.trace:
                        idle(args.trace, began, began + seconds)
                    assert code == 0, err[-3000:]
                else:
                    seconds = naive_sync(folder, vendor.url)
                calls = vendor.calls()
                figures = describe(f"  {who}", calls, seconds)
                if who == "leadsync":
                    print(
                        f"  writes sent {figures['writes']} = plan's calls.writes {plan['calls']['writes']}: "
                        f"{figures['writes'] == plan['calls']['writes']}"
                    )
                time.sleep(1.5)  # the naive sync's last move jobs finish
                code, _, _ = leadsync(folder, vendor.url, "plan", "spec.yaml", "--detailed-exitcode")
                verdict = "no changes" if code == 0 else "CHANGES REMAIN" if code == 2 else "error"
                print(f"  a fresh plan afterwards: {verdict}")
            finally:
                vendor.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
