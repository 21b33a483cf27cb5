"""Hostile files and file systems (issue #12), case by case: exit code, time to give up, peak memory, whether a
traceback showed and whether anything was written outside the spec's folder, for the command a user runs on an
alias bomb, deep nesting, a NUL in a path, a full or read-only disk under the journal, planted links, a key no
header can carry, and two applies of one vendor workspace spelled two ways.

    python benchmarks/bench_hostile_files.py                          # this checkout
    python benchmarks/bench_hostile_files.py --tree /path/to/old      # another checkout's leadsync (e.g. a git
                                                                      # worktree of an older commit)
    python benchmarks/bench_hostile_files.py --before /path/to/old    # both, one before/after table
    python benchmarks/bench_hostile_files.py --case NUL --case lock   # only the cases whose name has these

Each measured run is a child process (`python bench_hostile_files.py --child FAULT -- ARGS`: this file, which
installs FAULT and calls the CLI's main, so that a NUL can be put in an argument and a full disk under the
journal), killed after --kill-after seconds or capped at --memory-cap MiB of address space (RLIMIT_AS); its
peak RSS is its own (os.wait4). The child imports leadsync from --tree (first on PYTHONPATH), the harness
(sandboxes, the hostile vendor, the check of the journal) from this checkout.

Faults are made at the OS's edge for the journal alone, as tests/test_hostile_fs.py makes them: `os.write` and
`os.fsync` raise ENOSPC or EROFS for the journal's descriptor (and, for a leadsync that writes it through a
buffered file, `Path.open` hands back a file whose `write` does the same), so the same fault is met by either.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import re
import sys
from collections.abc import Callable
from typing import Any

NUL_TOKEN = "{NUL}"
JOURNAL_SUFFIX = ".journal.jsonl"


# -- the child: a fault installed, then the CLI ----------------------------------------------------------------
# (stdlib only, and above the imports of this checkout: the child's leadsync is --tree's)


class _FailingFile:
    """A journal opened through `Path.open` whose `count`-th write fails as `os.write` would on a full disk."""

    def __init__(self, handle: Any, fault: _Fault) -> None:
        self._handle = handle
        self._fault = fault

    def write(self, text: str) -> int:
        if self._fault.hit("write"):
            if self._fault.partial and self._fault.seen == self._fault.at:
                self._handle.write(text[: len(text) // 2])
                self._handle.flush()
            raise OSError(self._fault.code, os.strerror(self._fault.code))
        written: int = self._handle.write(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FailingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class _Fault:
    """FAULT is `-` (none), `write:N:ERRNO[:partial]`, `fsync:N:ERRNO` or `open:ERRNO` (the journal refused)."""

    def __init__(self, text: str) -> None:
        parts = text.split(":")
        self.call = parts[0]
        self.at = int(parts[1]) if self.call in ("write", "fsync") else 0
        self.code = getattr(errno, parts[-1] if self.call == "open" else parts[2], 0) if self.call != "-" else 0
        self.partial = parts[-1] == "partial"
        self.seen = 0
        self.fired = 0

    def hit(self, call: str) -> bool:
        if call != self.call:
            return False
        self.seen += 1
        if self.seen >= self.at:
            self.fired += 1
            return True
        return False

    def install(self) -> None:
        if self.call == "-":
            return
        real_write, real_fsync, real_os_open, real_path_open = os.write, os.fsync, os.open, pathlib.Path.open
        fault = self

        def is_journal(fd: int) -> bool:
            try:
                return os.readlink(f"/proc/self/fd/{fd}").endswith(JOURNAL_SUFFIX)
            except OSError:
                return False

        def write(fd: int, data: Any) -> int:
            if is_journal(fd) and fault.hit("write"):
                if fault.partial and fault.seen == fault.at:
                    real_write(fd, bytes(data)[: len(data) // 2])
                raise OSError(fault.code, os.strerror(fault.code))
            return real_write(fd, data)

        def fsync(fd: int) -> None:
            if is_journal(fd) and fault.hit("fsync"):
                raise OSError(fault.code, os.strerror(fault.code))
            real_fsync(fd)

        def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if fault.call == "open" and str(path).endswith(JOURNAL_SUFFIX) and flags & (os.O_WRONLY | os.O_RDWR):
                fault.fired += 1
                raise OSError(fault.code, os.strerror(fault.code), str(path))
            return real_os_open(path, flags, *args, **kwargs)

        def path_open(self: pathlib.Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            writing = str(self).endswith(JOURNAL_SUFFIX) and any(c in mode for c in "aw+")
            if writing and fault.call == "open":
                fault.fired += 1
                raise OSError(fault.code, os.strerror(fault.code), str(self))
            handle = real_path_open(self, mode, *args, **kwargs)
            return _FailingFile(handle, fault) if writing and fault.call == "write" else handle

        os.write, os.fsync, os.open = write, fsync, os_open  # type: ignore[assignment]
        pathlib.Path.open = path_open  # type: ignore[method-assign]


def child(fault_text: str, args: list[str]) -> None:
    import atexit

    fault = _Fault(fault_text)
    fault.install()
    report = os.environ.get("BENCH_FAULT_REPORT")
    if report:
        atexit.register(lambda: pathlib.Path(report).write_text(str(fault.fired)))
    from leadsync.cli import main  # --tree's, first on PYTHONPATH

    sys.argv = ["leadsync", *(arg.replace(NUL_TOKEN, "\0") for arg in args)]
    main()


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    child(sys.argv[2], sys.argv[4:])
    sys.exit(0)


# -- the harness -------------------------------------------------------------------------------------------------

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from hostile.support import CANARY, EXAMPLES, KEY_ENV, canary_seed, instantly_folder  # noqa: E402
from hostile.vendor import HostileVendor, Request  # noqa: E402
from test_hostile_files import DEEP_JSON, alias_bomb  # noqa: E402

from leadsync import sandbox  # noqa: E402

FILES = ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json")
WRITES = ("POST /api/v2/leads/move", "POST /api/v2/leads/add", "POST /api/v2/leads/bulk-assign", "DELETE /api/v2/leads")
WRITE_PATHS = r"/+api/v2/leads/(add|move|bulk-assign)"
LIST = "/+api/v2/leads/list"
PRECIOUS = b"precious\n"


@dataclass
class Ctx:
    """One case's folders: `spec` (the working directory, the spec's folder), `outside` its neighbour."""

    tree: Path
    scratch: Path
    spec: Path
    outside: Path
    env: dict[str, str] = field(default_factory=dict)
    upstream: sandbox.RunningSandbox | None = None
    vendor: HostileVendor | None = None
    names: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    code: str
    seconds: float
    rss_mib: float
    output: str
    fired: str = ""

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.output or "MemoryError" in self.output

    @property
    def line(self) -> str:
        """The first `Error:` line (validate's first problem, when the error only counts them); else the exception
        a traceback ended with; else the last line."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        for at, line in enumerate(lines):
            if line.startswith("Error:"):
                counted = re.fullmatch(r"Error: \d+ problems? found", line) and at > 0
                return lines[0] if counted else line
        return lines[-1] if lines else ""


@dataclass
class Case:
    args: list[str]
    setup: Callable[[Ctx], None] = lambda ctx: None
    vendor: bool = False  # the quickstart on an Instantly workspace (a sandbox in this process), else as shipped
    fault: str = "-"
    check: Callable[[Ctx, Result], None] | None = None
    runner: Callable[[Ctx, Case, float, int], Result] | None = None  # instead of one run of `args`


def child_env(ctx: Ctx, extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADSYNC_") and k != "PYTHONPATH"}
    return {
        **base,
        "PYTHONPATH": str(ctx.tree),
        "NO_COLOR": "1",
        "LEADSYNC_STATE_DIR": str(ctx.spec / ".state"),
        **ctx.env,
        **(extra or {}),
    }


def start(
    ctx: Ctx, args: list[str], fault: str = "-", cap_mib: int = 0, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    out = Path(tempfile.mkstemp(prefix="bench-out-")[1])
    report = Path(tempfile.mkstemp(prefix="bench-fault-")[1])

    def cap() -> None:
        if cap_mib:
            resource.setrlimit(resource.RLIMIT_AS, (cap_mib * 2**20, cap_mib * 2**20))

    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", fault, "--", *args],
            cwd=ctx.spec,
            env=child_env(ctx, {"BENCH_FAULT_REPORT": str(report), **(extra or {})}),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=cap,
        )
    return process, out, report


def finish(process: subprocess.Popen[bytes], out: Path, report: Path, started: float, kill_after: float) -> Result:
    """Wait for the child (killing it at `kill_after` s), with its own rusage."""
    killed = False
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > kill_after:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            killed = True
            break
        time.sleep(0.01)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    code = f"killed at {kill_after:.0f} s" if killed else str(process.returncode)
    text = out.read_bytes().decode("utf-8", "replace")
    fired = report.read_text()
    out.unlink()
    report.unlink()
    return Result(code, seconds, usage.ru_maxrss / 1024, text, fired)


def run(
    ctx: Ctx,
    args: list[str],
    fault: str = "-",
    kill_after: float = 20.0,
    cap_mib: int = 0,
    extra: dict[str, str] | None = None,
) -> Result:
    started = time.monotonic()
    process, out, report = start(ctx, args, fault, cap_mib, extra)
    return finish(process, out, report, started, kill_after)


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def outside_change(before: dict[str, bytes], after: dict[str, bytes]) -> str:
    said = []
    for name, data in after.items():
        if name not in before:
            said.append(f"created {name} ({len(data):,} bytes)")
        elif data != before[name]:
            grown, lines = len(data) - len(before[name]), data.count(b"\n") - before[name].count(b"\n")
            said.append(
                f"appended {grown:,} bytes ({lines} lines) to {name}"
                if data.startswith(before[name]) and grown > 0
                else f"changed {name}"
            )
    said += [f"removed {name}" for name in before if name not in after]
    return "; ".join(said) or "no"


# -- set-ups -----------------------------------------------------------------------------------------------------


def write(name: str, text: str) -> Callable[[Ctx], None]:
    def put(ctx: Ctx) -> None:
        (ctx.spec / name).write_text(text)

    return put


def both(*steps: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def each(ctx: Ctx) -> None:
        for step in steps:
            step(ctx)

    return each


def env(**values: str) -> Callable[[Ctx], None]:
    def put(ctx: Ctx) -> None:
        ctx.env.update(values)

    return put


def spec_edit(old: str, new: str, name: str = "quickstart.yaml") -> Callable[[Ctx], None]:
    def edit(ctx: Ctx) -> None:
        text = (ctx.spec / "quickstart.yaml").read_text()
        assert old in text, old
        (ctx.spec / name).write_text(text.replace(old, new))

    return edit


def learn_names(ctx: Ctx) -> None:
    """The names this tree gives the quickstart's journal and sandbox state under `.leadsync/`: from an apply of a
    copy of the folder (names differ between versions, so they are read, not computed)."""
    probe = ctx.scratch / "probe"
    probe.mkdir()
    for name in FILES:
        shutil.copy(EXAMPLES / name, probe)
    done = run(Ctx(ctx.tree, ctx.scratch, probe, ctx.outside), ["apply", "quickstart.yaml", "--auto-approve"])
    found = sorted(p.name for p in (probe / ".leadsync").iterdir())
    ctx.names = {
        "journal": next(n for n in found if n.endswith(JOURNAL_SUFFIX)),
        "state": next(n for n in found if n.endswith(".sandbox.sqlite")),
    }
    assert done.code == "0", done.output
    shutil.rmtree(probe)


def folder_link(ctx: Ctx) -> None:
    (ctx.spec / ".leadsync").symlink_to(ctx.outside, target_is_directory=True)


def state_file_link(which: str, how: str) -> Callable[[Ctx], None]:
    def plant(ctx: Ctx) -> None:
        learn_names(ctx)
        (ctx.spec / ".leadsync").mkdir()
        link = ctx.spec / ".leadsync" / ctx.names[which]
        if how == "dangling":
            link.symlink_to(ctx.outside / "state.sqlite")
            return
        target = ctx.outside / "target"
        target.write_bytes(PRECIOUS)
        if how == "symlink":
            link.symlink_to(target)
        else:
            os.link(target, link)

    return plant


def journal_check(ctx: Ctx, result: Result) -> None:
    """After a fault under the journal: whole lines only? every write the vendor got recorded? and does the next
    apply (no fault) converge?"""
    assert ctx.upstream is not None
    calls = ctx.upstream.stats()["calls"]
    got = sum(calls.get(endpoint, 0) for endpoint in WRITES)
    journals = list((ctx.spec / ".state").glob(f"*{JOURNAL_SUFFIX}"))
    if not journals:
        ctx.notes.append(f"no journal; vendor got {got} writes")
    else:
        text = journals[0].read_bytes()
        events: list[dict[str, Any]] = []
        whole = text == b"" or text.endswith(b"\n")
        for line in text.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                whole = False
        sends = sum(e.get("event") == "send" for e in events if isinstance(e, dict))
        ctx.notes.append(
            ("whole lines" if whole else "a CUT line in the journal")
            + f"; vendor got {got} writes, journal has {sends} sends"
        )
    again = run(ctx, ["apply", "quickstart.yaml", "--auto-approve"])
    converged = again.code == "0" and "Converged" in again.output
    ctx.notes.append("2nd apply converged" if converged else f"2nd apply: exit {again.code}, {again.line[:80]}")
    if result.fired in ("", "0"):
        ctx.notes.append("the fault never fired")


def vendor_env(ctx: Ctx) -> None:
    assert ctx.vendor is not None
    ctx.env.update({"LEADSYNC_INSTANTLY_BASE_URL": ctx.vendor.url, KEY_ENV: CANARY})


# -- two applies of one workspace --------------------------------------------------------------------------------


def two_applies(spelling: str) -> Callable[[Ctx, Case, float, int], Result]:
    """Apply A (the spec as written) is held by the vendor for 15 s in its first read of the leads, its lock taken
    (every leadsync locks before that read) and no write sent (it cannot plan until the read ends); then apply B,
    of the same workspace spelled another way, is measured: does it refuse, or run beside A? Every write the vendor
    gets meanwhile is B's."""

    def runner(ctx: Ctx, case: Case, kill_after: float, cap_mib: int) -> Result:
        assert ctx.vendor is not None and ctx.upstream is not None
        vendor = ctx.vendor
        held = threading.Event()

        def hold(request: Request, _: HostileVendor) -> None:
            held.set()
            time.sleep(15)
            return None  # then forward it

        vendor.on("POST", LIST, hold, times=1)
        a_started = time.monotonic()
        a, a_out, a_report = start(ctx, ["apply", "quickstart.yaml", "--auto-approve"])
        if not held.wait(30):
            ctx.notes.append("apply A never read the leads")
        extra: dict[str, str] = {}
        spec = "quickstart.yaml"
        if spelling == "trailing slash":
            extra["LEADSYNC_INSTANTLY_BASE_URL"] = vendor.url + "/"
        elif spelling == "localhost":
            extra["LEADSYNC_INSTANTLY_BASE_URL"] = vendor.url.replace("127.0.0.1", "localhost")
        else:
            extra["OTHER_KEY"] = CANARY
            spec = "other.yaml"
            spec_edit(f"api_key_env: {KEY_ENV}", "api_key_env: OTHER_KEY", spec)(ctx)
        seen = len(vendor.seen)
        b = run(ctx, ["apply", spec, "--auto-approve"], kill_after=kill_after, cap_mib=cap_mib, extra=extra)
        b_writes = sum(
            1
            for r in vendor.seen[seen:]
            if (re.fullmatch(WRITE_PATHS, r.path.split("?")[0]) and r.method == "POST") or r.method == "DELETE"
        )
        done_a = finish(a, a_out, a_report, a_started, 60)
        ctx.notes.append(
            f"B sent {b_writes} writes while A held its lock; A: exit {done_a.code}"
            + ("" if done_a.code == "0" else f" ({done_a.line[:100]})")
        )
        return b

    return runner


# -- the cases ---------------------------------------------------------------------------------------------------

DEEP_SEED_SPEC = spec_edit("seed: quickstart.remote.json", "seed: deep.json", "deep-seed.yaml")
NUL_SOURCE = spec_edit("path: quickstart.leads.csv", 'path: "quick\\u0000start.leads.csv"')
APPLY = ["apply", "quickstart.yaml", "--auto-approve"]
BAD_KEY = "sk_live_caf\u00e9_4f9e2b7c1d8a"

CASES: dict[str, Case] = {
    "YAML alias bomb (9x9, 1.7 KB): validate": Case(["validate", "bomb.yaml"], write("bomb.yaml", alias_bomb())),
    "YAML alias bomb (9x9, 1.7 KB): plan": Case(["plan", "bomb.yaml"], write("bomb.yaml", alias_bomb())),
    "YAML 1,000 deep flow sequences: validate": Case(
        ["validate", "deep.yaml"], write("deep.yaml", "version: 1\nx: " + "[" * 1000 + "]" * 1000 + "\n")
    ),
    "YAML 100,000 deep flow sequences: validate": Case(
        ["validate", "deep.yaml"], write("deep.yaml", "version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n")
    ),
    "YAML 100,000 deep flow sequences: plan": Case(
        ["plan", "deep.yaml"], write("deep.yaml", "version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n")
    ),
    "JSON 100,000 deep: plan --remote": Case(
        ["plan", "quickstart.yaml", "--remote", "deep.json"], write("deep.json", DEEP_JSON)
    ),
    "JSON 100,000 deep: apply PLANFILE": Case(
        ["apply", "deep.plan.json", "--auto-approve"],
        write("deep.plan.json", '{"format_version": 1, "x": ' + DEEP_JSON + "}"),
    ),
    "JSON 100,000 deep: the spec's seed (plan)": Case(
        ["plan", "deep-seed.yaml"], both(write("deep.json", DEEP_JSON), DEEP_SEED_SPEC)
    ),
    "JSON 100,000 deep: the spec's seed (sandbox reset)": Case(
        ["sandbox", "reset", "deep-seed.yaml"], both(write("deep.json", DEEP_JSON), DEEP_SEED_SPEC)
    ),
    "JSON 100,000 deep: sandbox serve --seed": Case(
        ["sandbox", "serve", "--seed", "deep.json", "--port", "0"], write("deep.json", DEEP_JSON)
    ),
    "NUL in a source path (spec): validate": Case(["validate", "quickstart.yaml"], NUL_SOURCE),
    "NUL in a source path (spec): plan": Case(["plan", "quickstart.yaml"], NUL_SOURCE),
    "NUL in the seed path (spec): plan": Case(
        ["plan", "quickstart.yaml"], spec_edit("seed: quickstart.remote.json", 'seed: "quick\\u0000start.remote.json"')
    ),
    "NUL on the command line: plan SPEC": Case(["plan", "quick{NUL}start.yaml"]),
    "NUL on the command line: plan --remote": Case(["plan", "quickstart.yaml", "--remote", "quick{NUL}start.json"]),
    "NUL on the command line: plan --out": Case(["plan", "quickstart.yaml", "--out", "plan{NUL}.json"]),
    "full disk (ENOSPC) at the journal's 5th write, cut short": Case(
        APPLY, vendor_env, vendor=True, fault="write:5:ENOSPC:partial", check=journal_check
    ),
    "full disk (ENOSPC) at the journal's 3rd fsync": Case(
        APPLY, vendor_env, vendor=True, fault="fsync:3:ENOSPC", check=journal_check
    ),
    "read-only fs (EROFS) at the journal's 4th write": Case(
        APPLY, vendor_env, vendor=True, fault="write:4:EROFS", check=journal_check
    ),
    "read-only fs (EROFS): the journal cannot be opened": Case(
        APPLY, vendor_env, vendor=True, fault="open:EROFS", check=journal_check
    ),
    "non-ASCII API key in $VAR: plan": Case(
        ["plan", "quickstart.yaml"], both(vendor_env, env(**{KEY_ENV: BAD_KEY})), vendor=True
    ),
    "non-ASCII API key in $VAR: apply": Case(APPLY, both(vendor_env, env(**{KEY_ENV: BAD_KEY})), vendor=True),
    "`.leadsync/` a symlink to a folder outside: apply": Case(APPLY, folder_link),
    "journal a symlink to a file outside: apply": Case(APPLY, state_file_link("journal", "symlink")),
    "journal a hard link to a file outside: apply": Case(APPLY, state_file_link("journal", "hardlink")),
    "sandbox state a dangling symlink out: apply": Case(APPLY, state_file_link("state", "dangling")),
    "two applies, base URL with a trailing /": Case(
        APPLY, vendor_env, vendor=True, runner=two_applies("trailing slash")
    ),
    "two applies, localhost for 127.0.0.1": Case(APPLY, vendor_env, vendor=True, runner=two_applies("localhost")),
    "two applies, the key in another variable": Case(
        APPLY, vendor_env, vendor=True, runner=two_applies("another variable")
    ),
}


def run_case(name: str, tree: Path, kill_after: float, cap_mib: int) -> dict[str, Any]:
    case = CASES[name]
    with tempfile.TemporaryDirectory(prefix="bench-hostile-files-") as scratch, ExitStack() as stack:
        root = Path(scratch)
        ctx = Ctx(tree, root, root / "spec", root / "outside")
        ctx.spec.mkdir()
        ctx.outside.mkdir()
        (ctx.outside / "precious.txt").write_bytes(PRECIOUS)
        if case.vendor:
            ctx.upstream = stack.enter_context(sandbox.start(canary_seed()))
            ctx.vendor = stack.enter_context(HostileVendor(ctx.upstream.url))
            instantly_folder(ctx.spec)
            shutil.copy(EXAMPLES / "quickstart.remote.json", ctx.spec)
        else:
            for file in FILES:
                shutil.copy(EXAMPLES / file, ctx.spec)
        case.setup(ctx)
        if ctx.upstream is not None:
            ctx.upstream.reset_stats()
        outside_before = snapshot_of(ctx.outside)
        if case.runner is not None:
            result = case.runner(ctx, case, kill_after, cap_mib)
        else:
            result = run(ctx, case.args, case.fault, kill_after, cap_mib)
        outside = outside_change(outside_before, snapshot_of(ctx.outside))
        if case.check is not None:
            case.check(ctx, result)
        if BAD_KEY in result.output or "4f9e2b7c" in result.output:
            ctx.notes.append("the key SHOWN")
        line = result.line.replace(str(root), "$TMP")  # the case's scratch folder
        return {
            "code": result.code,
            "seconds": result.seconds,
            "rss_mib": result.rss_mib,
            "traceback": result.traceback,
            "outside": outside,
            "line": line,
            "notes": ctx.notes,
        }


def cell(text: str, limit: int = 100) -> str:
    """`text` for a table cell, at most `limit` characters: cut in the middle, where a long path is (the end of
    a line says what went wrong)."""
    text = text.replace("|", "/").replace("\0", "\\0")
    head = limit * 3 // 5
    return text if len(text) <= limit else text[:head] + "…" + text[len(text) - (limit - head - 1) :]


def measure(name: str, tree: Path, options: argparse.Namespace) -> dict[str, Any] | str:
    """The case in a fresh interpreter (its sandboxes and vendor with it), as JSON; or why the bench failed."""
    found = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            name,
            "--tree",
            str(tree),
            "--kill-after",
            str(options.kill_after),
            "--memory-cap",
            str(options.memory_cap),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        measured: dict[str, Any] = json.loads(found.stdout.strip().splitlines()[-1])
        return measured
    except (ValueError, IndexError):
        return f"(bench failed: {(found.stderr.strip().splitlines() or ['?'])[-1]})"


def summary(r: dict[str, Any] | str) -> str:
    """`exit, time, peak RSS (what went wrong; notes)`, as the README's tables give a run."""
    if isinstance(r, str):
        return r
    said = []
    if r["traceback"]:
        said.append("traceback: " + cell(r["line"], 70))
    if r["outside"] != "no":
        said.append("**wrote outside**: " + r["outside"])
    said += r["notes"]
    return f"{r['code']}, {r['seconds']:.1f} s, {r['rss_mib']:.0f} MiB" + (f" ({'; '.join(said)})" if said else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose leadsync runs")
    parser.add_argument("--before", type=Path, help="also run this checkout's leadsync: one before/after table")
    parser.add_argument("--kill-after", type=float, default=20.0)
    parser.add_argument("--memory-cap", type=int, default=2048, help="MiB")
    parser.add_argument("--case", action="append", help="run only these cases (substring)")
    options = parser.parse_args()
    names = [n for n in CASES if not options.case or any(c.lower() in n.lower() for c in options.case)]
    if options.before:
        print(f"before: leadsync from {options.before}; after: leadsync from {options.tree}")
        print(
            "| case | before: exit, time to give up, peak RSS | after: exit, time to give up, peak RSS "
            "| after: the one line the user sees |"
        )
        print("| --- | --- | --- | --- |")
    else:
        print(f"leadsync from {options.tree}")
        print("| case | exit | time to give up | peak RSS | traceback | written outside | first error line / notes |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in names:  # one at a time: the machine is small and shared
        after = measure(name, options.tree, options)
        if options.before:
            before = measure(name, options.before, options)
            line = after if isinstance(after, str) else f"`{cell(after['line'])}`"
            print(f"| {name} | {cell(summary(before), 400)} | {cell(summary(after), 400)} | {line} |")
        elif isinstance(after, str):
            print(f"| {name} | {after} |")
        else:
            notes = "; ".join(after["notes"])
            print(
                f"| {name} | {after['code']} | {after['seconds']:.2f} s | {after['rss_mib']:.0f} MiB "
                f"| {'yes' if after['traceback'] else 'no'} | {cell(after['outside'])} "
                f"| {cell(after['line'])}{' (' + cell(notes, 200) + ')' if notes else ''} |"
            )
        sys.stdout.flush()


def one() -> None:
    extra = argparse.ArgumentParser()
    extra.add_argument("--one")
    extra.add_argument("--tree", type=Path)
    extra.add_argument("--kill-after", type=float)
    extra.add_argument("--memory-cap", type=int)
    o = extra.parse_args()
    print(json.dumps(run_case(o.one, o.tree, o.kill_after, o.memory_cap)))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one()
    else:
        main()
