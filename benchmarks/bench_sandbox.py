"""How fast the sandbox serves POST /api/v2/leads/list pages of 100: requests per second.

    python benchmarks/bench_sandbox.py [--leads N] [--seconds S] [--clients 1,4] [--in-process]

Goal (issue 4): at least the vendor's own rate limit, 100 requests/s, on this machine, so that the sandbox is never
what limits a benchmark. The sandbox runs in a child process (as `leadsync sandbox serve` would) with its rate
limiter off, seeded with N leads in one campaign; each client is a keep-alive httpx.Client paging through that
campaign with `limit: 100` and `starting_after`, starting over at the end, for S seconds. Every page is checked to
hold 100 leads (the last page of a pass excepted). Prints one line per client count and a summary line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from leadsync.sandbox import serve, start

CAMPAIGN = "0199c0de-0000-7000-8000-00000000ca01"
OTHER = "0199c0de-0000-7000-8000-00000000ca02"
KEY = "bench-key"
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]
LAST = ["Costa", "Novak", "Schmidt", "Eriksen", "Brandt", "Okafor", "Tanaka", "Silva"]


def make_seed(leads: int) -> dict[str, Any]:
    members = [{"user_id": f"7d0c6d2e-0000-4000-8000-{i:012x}", "email": f"owner{i}@acme.test"} for i in range(5)]
    rows = []
    for i in range(leads):
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        rows.append(
            {
                "id": f"0199c0de-{i // 65536:04x}-7{i % 4096:03x}-8000-{i:012x}",
                "email": f"{first.lower()}.{last.lower()}{i}@company{i % 997}.test",
                "campaign": CAMPAIGN if i % 10 else OTHER,
                "assigned_to": members[i % len(members)]["user_id"],
                "first_name": first,
                "last_name": last,
                "company_name": f"Company {i % 997}",
                "job_title": "Head of Sales",
                "status": 1,
                "lt_interest_status": [0, 1, -1][i % 3],
                "email_reply_count": i % 2,
                "email_open_count": i % 5,
                "timestamp_last_contact": "2026-01-02T03:04:05.000Z",
            }
        )
    return {
        "api_keys": [{"key": KEY, "scopes": ["leads:read"]}],
        "members": members,
        "campaigns": [{"id": CAMPAIGN, "name": "Bench"}, {"id": OTHER, "name": "Other"}],
        "lists": [],
        "leads": rows,
    }


def _serve_child(seed_path: str, queue: Any) -> None:
    serve(seed=seed_path, rate_limit=False, on_ready=queue.put)


def _client(url: str, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, trust_env=False, timeout=30) as client:
        cursor: str | None = None
        while time.perf_counter() < stop_at:
            body: dict[str, Any] = {"campaign": CAMPAIGN, "limit": 100}
            if cursor:
                body["starting_after"] = cursor
            began = time.perf_counter()
            response = client.post("/api/v2/leads/list", json=body)
            latencies.append(time.perf_counter() - began)
            page = response.json()
            if response.status_code != 200:
                errors.append(f"{response.status_code} {page}")
                return
            items = page["items"]
            if items and len(items) != 100 and page.get("next_starting_after") and cursor is None:
                errors.append(f"a first page of {len(items)} leads")
            cursor = page.get("next_starting_after") if items else None  # an empty page ends a pass


def measure(url: str, clients: int, seconds: float) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds
    threads = [threading.Thread(target=_client, args=(url, stop_at, latencies, errors)) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"benchmark failed: {errors[0]}")
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95)] if ordered else 0.0
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p95 * 1000, len(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in this process (shares the GIL)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        seed_path = Path(folder) / "bench.seed.json"
        seed_path.write_text(json.dumps(make_seed(args.leads)), encoding="utf-8")
        child = None
        running = None
        if args.in_process:
            running = start(seed_path, rate_limit=False)
            url = running.url
        else:
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            child = context.Process(target=_serve_child, args=(str(seed_path), queue), daemon=True)
            child.start()
            url = queue.get(timeout=60)
        try:
            print(
                f"sandbox {url}, {args.leads} leads ({args.leads - args.leads // 10} in the listed campaign), "
                f"python {platform.python_version()}, {multiprocessing.cpu_count()} cores"
            )
            rates = []
            for clients in (int(c) for c in args.clients.split(",")):
                rate, p50, p95, count = measure(url, clients, args.seconds)
                rates.append(rate)
                print(
                    f"  {clients} client(s): {rate:7.1f} requests/s"
                    f"  (p50 {p50:.1f} ms, p95 {p95:.1f} ms, {count} pages)"
                )
            best = max(rates)
            verdict = "meets" if best >= 100 else "FALLS SHORT OF"
            print(f"POST /api/v2/leads/list, pages of 100: {best:.0f} requests/s at best; {verdict} the vendor's 100/s")
        finally:
            if running is not None:
                running.stop()
            if child is not None:
                child.terminate()
                child.join(10)
    return 0 if max(rates) >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
