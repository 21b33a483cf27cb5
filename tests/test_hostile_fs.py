"""The filesystem as an adversary (issue #12): links, NUL bytes, a full disk, a read-only folder.

Every case runs through the command as users hit it, on the quickstart copied into a fresh folder (the embedded
sandbox, or an Instantly workspace served by a sandbox this test starts, so that the writes the vendor received can
be counted). Each failure must be one `Error:` line naming the path, exit 1, no traceback, nothing written outside
the spec's folder, and no write sent that the journal did not record first.

A full disk and a read-only folder are made at the OS's edge: `os.write`, `os.fsync` and `os.open` raise the
errno the kernel would (ENOSPC, EROFS) for the one file concerned, and SQLite is given a page limit
(`max_page_count`), which makes it fail exactly as on a full disk (SQLITE_FULL). The suite runs as root here, for
whom a chmod 0o500 folder is still writable: the chmod cases run only as another user.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from leadsync import sandbox
from leadsync.apply import Journal
from leadsync.cli import main
from leadsync.errors import SandboxError
from leadsync.spec import load_spec
from leadsync.workflow import sandbox_paths, workspace_tag

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
FILES = ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json")
WRITES = ("POST /api/v2/leads/move", "POST /api/v2/leads/add", "POST /api/v2/leads/bulk-assign", "DELETE /api/v2/leads")
AS_ROOT = os.geteuid() == 0


def leadsync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_error(err: str) -> str:
    """The one `Error:` line of a failed command (asserting there is exactly one, and no traceback)."""
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart as shipped (embedded sandbox), in a fresh folder that is also the working directory; its
    outside neighbour `outside/` is where a planted link points."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (tmp_path / "outside").mkdir()
    for name in FILES:
        (spec_dir / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(spec_dir)
    return spec_dir / "quickstart.yaml"


@pytest.fixture
def outside(quickstart: Path) -> Path:
    return quickstart.parent.parent / "outside"


@pytest.fixture
def names(quickstart: Path) -> dict[str, str]:
    """The file names of the quickstart's workspace state under `.leadsync/` (as the code names them)."""
    loaded = load_spec(quickstart)
    tag, state = workspace_tag(loaded), sandbox_paths(loaded)[1].name
    return {
        "journal": f"{tag}.journal.jsonl",
        "lock": f"{tag}.lock",
        "state": state,
        "state-wal": f"{state}-wal",
        "state-shm": f"{state}-shm",
        "state-journal": f"{state}-journal",
    }


@pytest.fixture
def vendor(quickstart: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[sandbox.RunningSandbox]:
    """The quickstart on an Instantly workspace served by a sandbox this test starts (its calls are countable);
    its lock and journal in a private state folder of this test."""
    text = quickstart.read_text()
    text = re.sub(
        r"workspace:\n  provider: sandbox\n  seed: quickstart.remote.json\n",
        "workspace:\n  provider: instantly\n  api_key_env: QUICKSTART_KEY\n",
        text,
    )
    assert "provider: instantly" in text
    quickstart.write_text(text)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    monkeypatch.setenv("LEADSYNC_STATE_DIR", str(state))
    with sandbox.start(EXAMPLES / "quickstart.remote.json") as running:
        monkeypatch.setenv("LEADSYNC_INSTANTLY_BASE_URL", running.url)
        monkeypatch.setenv("QUICKSTART_KEY", running.api_key or "")
        yield running


def vendor_writes(running: sandbox.RunningSandbox) -> int:
    calls = running.stats()["calls"]
    return sum(calls.get(endpoint, 0) for endpoint in WRITES)


def vendor_journal(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "state").glob("*.journal.jsonl")
    return found


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- links: nothing is written outside the spec's folder --------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "apply", "sandbox reset"])
@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-folder", "dangling"])
def test_a_leadsync_folder_that_is_a_link_is_refused(
    quickstart: Path, outside: Path, command: str, dangling: bool
) -> None:
    target = outside / "state" if dangling else outside
    (quickstart.parent / ".leadsync").symlink_to(target, target_is_directory=True)
    args = [*command.split(), "quickstart.yaml", *(["--auto-approve"] if command == "apply" else [])]
    code, _, err = leadsync(*args)
    assert code == 1
    line = one_error(err)
    assert ".leadsync" in line and "link" in line, line
    assert list(outside.iterdir()) == []  # nothing created or written there


@pytest.mark.parametrize("which", ["journal", "lock", "state", "state-wal", "state-shm", "state-journal"])
@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_workspace_state_file_that_is_a_link_is_refused(
    quickstart: Path, outside: Path, names: dict[str, str], which: str, dangling: bool
) -> None:
    folder = quickstart.parent / ".leadsync"
    folder.mkdir()
    target = outside / "target"
    if not dangling:
        target.write_bytes(b"precious\n")
    before = snapshot_of(outside)
    (folder / names[which]).symlink_to(target)
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    line = one_error(err)
    assert names[which] in line and "link" in line, line
    assert snapshot_of(outside) == before  # the file there unchanged, or still not there


@pytest.mark.parametrize("which", ["journal", "lock", "state-journal", "state-wal", "state-shm"])
def test_a_workspace_state_file_that_is_a_hard_link_out_of_the_folder_is_refused(
    quickstart: Path, outside: Path, names: dict[str, str], which: str
) -> None:
    """A hard link is no symbolic link: `O_NOFOLLOW` opens it, and an apply appended its journal to a file in
    another folder. A file with more than one name is refused, after it is opened (nothing between check and use)."""
    folder = quickstart.parent / ".leadsync"
    folder.mkdir()
    target = outside / "target"
    target.write_bytes(b"precious\n")
    os.link(target, folder / names[which])
    before = snapshot_of(outside)
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    line = one_error(err)
    assert names[which] in line and "hard links" in line, line
    assert snapshot_of(outside) == before


def test_a_sandbox_state_that_is_a_hard_link_to_a_state_out_of_the_folder_is_refused(
    quickstart: Path, outside: Path, names: dict[str, str]
) -> None:
    """The state a hard link names is a real sandbox state elsewhere: SQLite would open and change it."""
    assert leadsync("plan", "quickstart.yaml")[0] == 0  # makes the workspace's state
    state = quickstart.parent / ".leadsync" / names["state"]
    state.rename(outside / "state.sqlite")
    os.link(outside / "state.sqlite", state)
    before = snapshot_of(outside)
    for command in ("plan", "apply"):
        code, _, err = leadsync(command, "quickstart.yaml", *(["--auto-approve"] if command == "apply" else []))
        assert code == 1, (command, err)
        line = one_error(err)
        assert names["state"] in line and "hard links" in line, line
    assert snapshot_of(outside) == before
    # `sandbox reset` starts the state over: it removes the name, which changes nothing the other name holds
    assert leadsync("sandbox", "reset", "quickstart.yaml")[0] == 0
    assert snapshot_of(outside) == before and state.stat().st_nlink == 1


def test_a_journal_hard_linked_in_its_own_folder_is_refused_in_one_line(
    quickstart: Path, names: dict[str, str]
) -> None:
    """Two names for the journal, both in `.leadsync`: still a second name leadsync did not make; the one line
    names the file and says how to break the link."""
    assert leadsync("apply", "quickstart.yaml", "--auto-approve")[0] == 0
    journal = quickstart.parent / ".leadsync" / names["journal"]
    os.link(journal, journal.with_name("copy.jsonl"))
    kept = journal.read_bytes()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    assert one_error(err) == (
        f"Error: cannot open the journal {Path('.leadsync') / names['journal']}: it has 2 hard links (other names "
        "for the same file, maybe outside this folder), and leadsync writes nothing through links (replace it "
        "with a copy of itself)"
    )
    assert journal.read_bytes() == kept


def test_a_journal_that_is_a_fifo_is_refused_at_once(quickstart: Path, names: dict[str, str]) -> None:
    folder = quickstart.parent / ".leadsync"
    folder.mkdir()
    os.mkfifo(folder / names["journal"])  # opening it to append would wait for a reader for ever
    started = time.monotonic()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and time.monotonic() - started < 10
    line = one_error(err)
    assert names["journal"] in line and "not a regular file" in line, line


def test_a_sandbox_state_that_is_a_fifo_is_refused(quickstart: Path, names: dict[str, str]) -> None:
    folder = quickstart.parent / ".leadsync"
    folder.mkdir()
    os.mkfifo(folder / names["state"])
    code, _, err = leadsync("plan", "quickstart.yaml")
    assert code == 1
    line = one_error(err)
    assert names["state"] in line and "not a regular file" in line, line


@pytest.mark.parametrize("command", ["plan", "snapshot", "import"])
def test_an_out_file_that_is_a_link_is_refused_not_followed_nor_replaced(
    quickstart: Path, outside: Path, command: str
) -> None:
    # issue #25: a link at --out is the user's to look at: neither written through nor replaced
    target = outside / "precious.txt"
    target.write_text("precious\n")
    out = quickstart.parent / ("new.yaml" if command == "import" else "out.json")
    written = out.with_suffix(".leads.csv") if command == "import" else out  # import's CSV beside the new spec
    written.symlink_to(target)
    force = ["--force"] if command == "import" else []
    code, _, err = leadsync(command, "quickstart.yaml", "--out", out.name, *force)
    assert code == 1 and "it is a symbolic link" in one_error(err), err
    assert target.read_text() == "precious\n"
    assert written.is_symlink()


def test_an_imported_spec_that_is_a_link_out_of_the_folder_is_refused(quickstart: Path, outside: Path) -> None:
    target = outside / "precious.yaml"
    target.write_text("precious\n")
    (quickstart.parent / "new.yaml").symlink_to(target)
    code, _, err = leadsync("import", "quickstart.yaml", "--out", "new.yaml")
    assert code == 1 and "write the imported spec beside" in one_error(err)
    assert snapshot_of(outside) == {"precious.yaml": b"precious\n"}


def test_every_link_case_leaves_the_spec_folder_usable_once_removed(quickstart: Path, outside: Path) -> None:
    folder = quickstart.parent / ".leadsync"
    folder.symlink_to(outside, target_is_directory=True)
    assert leadsync("apply", "quickstart.yaml", "--auto-approve")[0] == 1
    folder.unlink()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    assert list(outside.iterdir()) == []


# -- NUL bytes in paths -----------------------------------------------------------------------------------------


def spec_with(quickstart: Path, old: str, new: str) -> None:
    text = quickstart.read_text()
    assert old in text
    quickstart.write_text(text.replace(old, new))


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_nul_in_a_source_path_is_one_line(quickstart: Path, command: str) -> None:
    spec_with(quickstart, "path: quickstart.leads.csv", 'path: "quick\\u0000start.leads.csv"')
    code, _, err = leadsync(command, "quickstart.yaml")
    assert code == 1
    assert "Traceback" not in err
    assert "NUL" in err, err


@pytest.mark.parametrize("command", ["validate", "plan", "sandbox reset"])
def test_a_nul_in_the_seed_path_is_one_line(quickstart: Path, command: str) -> None:
    spec_with(quickstart, "seed: quickstart.remote.json", 'seed: "quick\\u0000start.remote.json"')
    code, _, err = leadsync(*command.split(), "quickstart.yaml")
    assert code == 1
    assert "Traceback" not in err
    assert "NUL" in err, err


def test_a_nul_in_a_source_path_is_located(quickstart: Path) -> None:
    spec_with(quickstart, "path: quickstart.leads.csv", 'path: "quick\\u0000start.leads.csv"')
    code, _, err = leadsync("validate", "quickstart.yaml")
    assert code == 1
    assert re.search(r"quickstart\.yaml:\d+:\d+: source .*NUL", err), err


NUL_ARGUMENTS = {
    "validate-spec": ["validate", "quick\0start.yaml"],
    "plan-spec": ["plan", "quick\0start.yaml"],
    "plan-remote": ["plan", "quickstart.yaml", "--remote", "quick\0start.remote.json"],
    "plan-out": ["plan", "quickstart.yaml", "--out", "plan\0.json"],
    "snapshot-out": ["snapshot", "quickstart.yaml", "--out", "snap\0.json"],
    "import-out": ["import", "quickstart.yaml", "--out", "new\0.yaml"],
    "apply-planfile": ["apply", "plan\0.json", "--auto-approve"],
    "explain-spec": ["explain", "quick\0start.yaml", "a@b.test"],
    "serve-state": ["sandbox", "serve", "--port", "0", "--state", "s\0.sqlite"],
}


@pytest.mark.parametrize("args", NUL_ARGUMENTS.values(), ids=NUL_ARGUMENTS.keys())
def test_a_nul_in_a_command_line_path_is_one_line(quickstart: Path, args: list[str]) -> None:
    code, _, err = leadsync(*args)
    assert code == 1
    one_error(err)


def test_a_saved_plan_whose_spec_path_has_a_nul_is_one_line(quickstart: Path) -> None:
    assert leadsync("plan", "quickstart.yaml", "--out", "plan.json")[0] == 0
    document = json.loads(Path("plan.json").read_text())
    document["spec"]["path"] = "quick\0start.yaml"
    Path("plan.json").write_text(json.dumps(document))
    code, _, err = leadsync("apply", "plan.json", "--auto-approve")
    assert code == 1
    one_error(err)


def test_the_sandbox_store_refuses_a_nul_in_its_state_path(tmp_path: Path) -> None:

    from leadsync.sandbox._store import open_store

    with pytest.raises(SandboxError, match="NUL"):
        open_store(tmp_path / "a\0b.sqlite", EXAMPLES / "quickstart.remote.json", None)


# -- a full disk, a read-only folder: the journal ---------------------------------------------------------------


def journal_fd_failing(
    monkeypatch: pytest.MonkeyPatch, fail: int, code: int, *, partial: bool = False, call: str = "write"
) -> list[int]:
    """Make the OS refuse the `fail`-th write (or fsync) to a journal with `code` (ENOSPC, EROFS), as a disk
    that fills during the apply would; `partial`: that write first puts half its bytes down, as a write cut short
    by a full disk does. Returns the counter of calls seen."""
    real_write, real_fsync = os.write, os.fsync
    seen = [0]

    def is_journal(fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").endswith(".journal.jsonl")
        except OSError:
            return False

    def write(fd: int, data: Any) -> int:
        if call == "write" and is_journal(fd):
            seen[0] += 1
            if seen[0] >= fail:
                if partial and seen[0] == fail:
                    real_write(fd, bytes(data)[: len(data) // 2])
                raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        if call == "fsync" and is_journal(fd):
            seen[0] += 1
            if seen[0] >= fail:
                raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def journal_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the journal, each whole JSON (asserting none is cut)."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), text[-200:]
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("partial", [False, True], ids=["refused", "cut-short"])
@pytest.mark.parametrize("fail", [2, 5, 9])
def test_a_full_disk_during_apply_stops_with_one_line_and_the_journal_intact(
    vendor: sandbox.RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: int, partial: bool
) -> None:
    vendor.reset_stats()
    with monkeypatch.context() as patch:
        journal_fd_failing(patch, fail, errno.ENOSPC, partial=partial)
        started = time.monotonic()
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and time.monotonic() - started < 20
    path = vendor_journal(tmp_path)
    line = one_error(err)
    assert line == f"Error: cannot write the journal {path}: No space left on device", line
    events = journal_lines(path)  # whole lines only: the cut one was taken back
    assert vendor_writes(vendor) <= sum(e["event"] == "send" for e in events)  # nothing sent unrecorded
    assert Journal(path).unfinished() is not None  # the run did not end: the next apply settles it
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err, err
    assert "Resuming an interrupted apply" in err


def test_a_journal_fsync_that_fails_stops_the_apply(
    vendor: sandbox.RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor.reset_stats()
    with monkeypatch.context() as patch:
        journal_fd_failing(patch, 3, errno.ENOSPC, call="fsync")
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    path = vendor_journal(tmp_path)
    assert one_error(err) == f"Error: cannot write the journal {path}: No space left on device"
    events = journal_lines(path)
    assert vendor_writes(vendor) <= sum(e["event"] == "send" for e in events)


def test_a_read_only_journal_folder_sends_nothing(
    vendor: sandbox.RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".journal.jsonl") and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    vendor.reset_stats()
    with monkeypatch.context() as patch:
        patch.setattr(os, "open", read_only)
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    line = one_error(err)
    assert line.startswith("Error: cannot write the journal ") and line.endswith(": Read-only file system"), line
    assert vendor_writes(vendor) == 0


def test_a_read_only_file_system_mid_apply_is_one_line(
    quickstart: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the embedded sandbox, as a user hits it: the journal's folder goes read-only after the run began."""
    with monkeypatch.context() as patch:
        journal_fd_failing(patch, 4, errno.EROFS)
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1
    path = Path(".leadsync") / names["journal"]
    assert one_error(err) == f"Error: cannot write the journal {path}: Read-only file system"
    journal_lines(path)
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 0 and "Converged" in err, err


@pytest.mark.skipif(AS_ROOT, reason="root writes into a chmod 0o500 folder")
def test_a_chmod_read_only_state_folder_is_one_line(quickstart: Path) -> None:
    assert leadsync("plan", "quickstart.yaml")[0] == 0  # the state exists
    folder = quickstart.parent / ".leadsync"
    folder.chmod(0o500)
    try:
        code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    finally:
        folder.chmod(0o700)
    assert code == 1
    assert ".leadsync" in one_error(err)


@given(st.binary(max_size=400))
def test_a_hostile_journal_never_breaks_the_next_apply(tmp_path_factory: pytest.TempPathFactory, junk: bytes) -> None:
    path = tmp_path_factory.mktemp("journal") / "w.journal.jsonl"
    path.write_bytes(b'{"event": "run", "run": "r1", "at": 1.0}\n' + junk)
    found = Journal(path).unfinished()  # never raises
    assert found is None or found.run
    journal = Journal(path)
    journal.start(plan="p")
    journal.end(converged=True)
    assert Journal(path).unfinished() is None  # the run just ended is the last, whatever came before


@pytest.mark.parametrize(
    "line",
    [
        b'{"event": "run"}',
        b'{"event": "run", "run": 7, "at": "noon"}',
        b'{"event": "sent", "run": "r1", "job": {}}',
        b'{"event": "sent", "run": "r1", "job": "j", "at": "x"}',
        b'{"event": "carried", "run": "r1", "jobs": {"j": "x"}}',
        b'\xff\xfe{"event": "end"}',
        b"[1, 2]",
        b'{"event": "end", "run": "r1", "open_jobs": [1]}',
    ],
)
def test_a_journal_line_of_the_wrong_shape_is_skipped(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "w.journal.jsonl"
    path.write_bytes(b'{"event": "run", "run": "r1", "at": 1.0}\n' + line + b"\n")
    found = Journal(path).unfinished()
    assert found is None or isinstance(found.run, str)


# -- a full disk, a read-only folder: the sandbox's state and the files the commands write -----------------------


@pytest.fixture
def full_sandbox_state(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """From when it is called, a sandbox state opened cannot grow by a page: SQLite then fails every write with
    SQLITE_FULL ("database or disk is full"), as on a full disk."""
    real = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real(database, *args, **kwargs)
        if str(database).endswith(".sandbox.sqlite"):
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return db

    return lambda: monkeypatch.setattr(sqlite3, "connect", connect)


def test_a_full_disk_under_the_sandbox_state_is_one_line(
    quickstart: Path, names: dict[str, str], full_sandbox_state: Callable[[], None]
) -> None:
    assert leadsync("plan", "quickstart.yaml")[0] == 0  # the state exists
    full_sandbox_state()
    started = time.monotonic()
    code, _, err = leadsync("apply", "quickstart.yaml", "--auto-approve")
    assert code == 1 and time.monotonic() - started < 15
    line = one_error(err)
    assert names["state"] in line and "database or disk is full" in line, line


def test_a_full_disk_under_the_sandbox_state_logs_no_traceback(
    quickstart: Path, full_sandbox_state: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    """A terminal shows what the sandbox logs (Python's last-resort handler prints it, traceback and all)."""
    assert leadsync("plan", "quickstart.yaml")[0] == 0
    full_sandbox_state()
    assert leadsync("apply", "quickstart.yaml", "--auto-approve")[0] == 1
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []


def test_a_full_disk_when_the_sandbox_state_is_created_is_one_line(
    quickstart: Path, names: dict[str, str], full_sandbox_state: Callable[[], None]
) -> None:
    full_sandbox_state()
    code, _, err = leadsync("plan", "quickstart.yaml")
    assert code == 1
    line = one_error(err)
    assert names["state"] in line and "database or disk is full" in line, line
    assert not (quickstart.parent / ".leadsync" / names["state"]).exists()  # no half-made state left


def out_folder_failing(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int, call: str) -> None:
    """The OS refuses to create (`open`) or to sync (`fsync`) a file in `folder` with `code`."""
    real_open, real_fsync = os.open, os.fsync
    inside = str(folder.resolve())

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if call == "open" and str(Path(os.fspath(path)).resolve().parent) == inside and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_fsync(fd: int) -> None:
        if call == "fsync" and os.readlink(f"/proc/self/fd/{fd}").startswith(inside + "/"):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "fsync", fake_fsync)


@pytest.mark.parametrize(("code", "call"), [(errno.EROFS, "open"), (errno.ENOSPC, "fsync"), (errno.EACCES, "open")])
def test_plan_out_that_cannot_be_written_is_one_line_and_no_partial_file(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch, code: int, call: str
) -> None:
    out = quickstart.parent / "plans"
    out.mkdir()
    (out / "plan.json").write_text("the plan before\n")
    with monkeypatch.context() as patch:
        out_folder_failing(patch, out, code, call)
        status, _, err = leadsync("plan", "quickstart.yaml", "--out", "plans/plan.json")
    assert status == 1
    assert one_error(err) == f"Error: cannot write plans/plan.json: {os.strerror(code)}"
    assert (out / "plan.json").read_text() == "the plan before\n"
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]  # no temporary file left


@pytest.mark.skipif(AS_ROOT, reason="root writes into a chmod 0o500 folder")
def test_plan_out_into_a_chmod_read_only_folder_is_one_line(quickstart: Path) -> None:
    out = quickstart.parent / "plans"
    out.mkdir(mode=0o500)
    try:
        code, _, err = leadsync("plan", "quickstart.yaml", "--out", "plans/plan.json")
    finally:
        out.chmod(0o700)
    assert code == 1
    assert one_error(err) == "Error: cannot write plans/plan.json: Permission denied"
    assert list(out.iterdir()) == []
