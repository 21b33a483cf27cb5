"""A hostile vendor, case by case: exit code, time to give up, peak memory, and whether the key leaked or a
traceback showed, for `leadsync plan` (or `apply`) against the loopback vendor of tests/hostile/vendor.py.

    python benchmarks/bench_hostile.py                      # this checkout
    python benchmarks/bench_hostile.py --tree /path/to/old  # another checkout's leadsync (e.g. a git worktree
                                                            # of an older commit), the same cases: before/after

Each run is a child process, killed after --kill-after seconds or when it passes --memory-cap MiB (then its
figures say so): the "before" of a case that never ends.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from hostile.support import CANARY, KEY_ENV, canary_seed, instantly_folder, leaks  # noqa: E402
from hostile.vendor import (  # noqa: E402
    Answer,
    HostileVendor,
    body,
    deep_json,
    drip,
    drip_headers,
    echo_all,
    endless_body,
    endless_pages,
    gzip_bomb,
)

from leadsync import sandbox  # noqa: E402

LIST = "/api/v2/leads/list"


def bend_text(change: Callable[[str], str]) -> Callable[[object, HostileVendor], Answer]:
    """Forward the request and answer the vendor's JSON text as `change` makes it."""

    def act(request: object, vendor: HostileVendor) -> Answer:
        answer = vendor.forward(request)  # type: ignore[arg-type]
        return Answer(answer.status_code, change(answer.text).encode())

    return act


Setup = Callable[[HostileVendor], object]
CASES: dict[str, tuple[list[str], Setup]] = {
    "key echoed (401, every encoding)": (["plan"], lambda v: v.on("POST", LIST, echo_all(401))),
    "key echoed (422 on a write)": (["apply"], lambda v: v.on("POST", "/api/v2/leads/add", echo_all(422))),
    "key echoed (403 HTML page)": (["plan"], lambda v: v.on("GET", "/api/v2/campaigns", echo_all(403, html=True))),
    "200 with []": (["plan"], lambda v: v.on("POST", LIST, body(200, b"[]"))),
    "200 with null": (["plan"], lambda v: v.on("POST", LIST, body(200, b"null"))),
    "200 with a string": (["plan"], lambda v: v.on("POST", LIST, body(200, b'"ok"'))),
    "200 empty": (["plan"], lambda v: v.on("POST", LIST, body(200, b""))),
    "items not objects": (["plan"], lambda v: v.on("POST", LIST, body(200, b'{"items": [1, "two"]}'))),
    "a lead without id": (["plan"], lambda v: v.on("POST", LIST, body(200, b'{"items": [{"email": "a@b.test"}]}'))),
    "a cursor that is an object": (
        ["plan"],
        lambda v: v.on(
            "POST", LIST, body(200, b'{"items": [{"id": "x1", "email": "a@b.test"}], "next_starting_after": {"a": 1}}')
        ),
    ),
    "a job answered as a list": (
        ["apply", "--job-timeout", "5"],
        lambda v: v.on("GET", "/api/v2/background-jobs/.*", body(200, b"[]")),
    ),
    "JSON 100,000 deep": (["plan"], lambda v: v.on("POST", LIST, deep_json())),
    "endless paging, same item": (["plan"], lambda v: v.on("POST", LIST, endless_pages())),
    "endless paging, growing pages": (["plan"], lambda v: v.on("POST", LIST, endless_pages(grow=True))),
    "endless body": (["plan"], lambda v: v.on("POST", LIST, endless_body())),
    "body dripped 1 byte / 2 s": (["plan"], lambda v: v.on("GET", "/api/v2/campaigns", drip(every=2.0))),
    "headers dripped 1 byte / 2 s": (["plan"], lambda v: v.on("GET", "/api/v2/campaigns", drip_headers(every=2.0))),
    "Retry-After: 86400": (["plan"], lambda v: v.on("POST", LIST, body(429, b"{}", **{"retry-after": "86400"}))),
    "Retry-After: nan": (["plan"], lambda v: v.on("POST", LIST, body(429, b"{}", **{"retry-after": "nan"}))),
    "Retry-After: 119, for ever": (["plan"], lambda v: v.on("POST", LIST, body(429, b"{}", **{"retry-after": "119"}))),
    "gzip bomb (3 KB -> 2 GB)": (["plan"], lambda v: v.on("POST", LIST, gzip_bomb())),
    "gzip bomb, 2 layers": (["plan"], lambda v: v.on("POST", LIST, gzip_bomb(layers=2))),
    "not the gzip it says": (
        ["plan"],
        lambda v: v.on("POST", LIST, body(200, b"nope", **{"content-encoding": "gzip"})),
    ),
    "key echoed, base64 wrapped at 76": (
        ["plan"],
        lambda v: v.on(
            "POST",
            LIST,
            lambda r, _: Answer(
                401,
                json.dumps(
                    {"message": base64.encodebytes(f"Authorization: {r.headers['authorization']}".encode()).decode()}
                ).encode(),
            ),
        ),
    ),
    "lone surrogate in a record (snapshot)": (
        ["snapshot", "--out", "snap.json"],
        lambda v: v.on("POST", LIST, bend_text(lambda t: re.sub(r'"first_name": ?"', r'"first_name": "\\ud800', t))),
    ),
}


def run_case(tree: Path, args: list[str], setup: Setup, kill_after: float, cap_mib: int) -> dict[str, object]:
    seed = canary_seed()
    with (
        tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch,
        sandbox.start(seed) as upstream,
        HostileVendor(upstream.url) as vendor,
    ):
        folder = Path(scratch)
        instantly_folder(folder)
        setup(vendor)
        command = [args[0], "quickstart.yaml", *(["--auto-approve"] if args[0] == "apply" else []), *args[1:]]
        env = {
            **os.environ,
            "PYTHONPATH": str(tree),
            "LEADSYNC_INSTANTLY_BASE_URL": vendor.url,
            KEY_ENV: CANARY,
            "NO_COLOR": "1",
            "LEADSYNC_STATE_DIR": str(folder / ".state"),
        }

        def cap() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (cap_mib * 2**20, cap_mib * 2**20))

        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "leadsync.cli", *command],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=cap,
        )
        killed = False
        try:
            out, _ = child.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate()
            killed = True
        seconds = time.monotonic() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest child so far: one case a process
        text = out.decode("utf-8", "replace")
        files = "".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())
        return {
            "code": "killed" if killed else child.returncode,
            "seconds": seconds,
            "rss_mib": usage.ru_maxrss / 1024,
            "traceback": "Traceback" in text or "MemoryError" in text,
            "leaked": bool(leaks(text + files)),
            "last": (text.strip().splitlines() or [""])[-1][:150],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose leadsync runs")
    parser.add_argument("--kill-after", type=float, default=20.0)
    parser.add_argument("--memory-cap", type=int, default=2048, help="MiB")
    parser.add_argument("--case", action="append", help="run only these cases (substring)")
    options = parser.parse_args()
    print(f"leadsync from {options.tree}")
    print("| case | exit | time to give up | peak RSS | traceback | key leaked | last line |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in CASES:
        if options.case and not any(c in name for c in options.case):
            continue
        # a fresh interpreter per case, so that RUSAGE_CHILDREN is that case's child alone
        found = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                name,
                "--tree",
                str(options.tree),
                "--kill-after",
                str(options.kill_after),
                "--memory-cap",
                str(options.memory_cap),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        print(found.stdout.strip() or f"| {name} | (bench failed: {found.stderr.strip().splitlines()[-1:]}) |")
        sys.stdout.flush()


def one(name: str, tree: Path, kill_after: float, cap_mib: int) -> None:
    args, setup = CASES[name]
    r = run_case(tree, args, setup, kill_after, cap_mib)
    last = str(r["last"]).replace("|", "/")
    print(
        f"| {name} | {r['code']} | {r['seconds']:.1f} s | {r['rss_mib']:.0f} MiB | {'yes' if r['traceback'] else 'no'} "
        f"| {'YES' if r['leaked'] else 'no'} | {last} |"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        extra = argparse.ArgumentParser()
        extra.add_argument("--one")
        extra.add_argument("--tree", type=Path)
        extra.add_argument("--kill-after", type=float)
        extra.add_argument("--memory-cap", type=int)
        o = extra.parse_args()
        one(o.one, o.tree, o.kill_after, o.memory_cap)
    else:
        main()
