"""One apply per workspace at a time on a machine: an exclusive lock file.

A vendor workspace's lock (and its journal) lives in a per-user folder of the machine (`state_dir()`), not
beside the spec, so two checkouts of one spec, or two specs of one workspace, cannot apply at once, and the one
that comes second sees what the first left running. A sandbox workspace's state is a file beside its spec, and
so are its lock and journal."""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from types import TracebackType

from leadsync.errors import LeadsyncError, WorkspaceBusy
from leadsync.safefs import ensure_real_dir, open_no_follow

STATE_DIR_SETTING = "LEADSYNC_STATE_DIR"


def state_dir() -> Path:
    """Where this machine keeps the locks and journals of vendor workspaces: $LEADSYNC_STATE_DIR, else
    $XDG_STATE_HOME/leadsync, else ~/.local/state/leadsync. Never a shared temporary folder: a name another
    user can predict there is a name they can plant a link at."""
    chosen = os.environ.get(STATE_DIR_SETTING)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "leadsync"


def private_dir(path: Path) -> Path:
    """`path`, created if need be, checked to be a real directory of this user that nobody else can write to."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise LeadsyncError(
            f"refusing {path} for leadsync's locks and journals: it must be a directory of yours "
            f"that nobody else can write to (set {STATE_DIR_SETTING} to choose another)"
        )
    return path


class WorkspaceLock:
    """An exclusive, non-blocking flock: released by the OS even when the holder is killed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> WorkspaceLock:
        ensure_real_dir(self.path.parent, mode=0o700, what="the lock's folder")
        try:  # never through a link: the pid written below would land in whatever file it points at
            fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT, what="the lock")
        except OSError as error:
            raise LeadsyncError(f"cannot open the lock {self.path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkspaceBusy(
                f"another apply is running on this workspace (pid {holder}; lock {self.path})"
            ) from None
        try:  # the pid is for the message of an apply that comes second; the flock is what holds
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as error:
            os.close(fd)
            raise LeadsyncError(f"cannot write the lock {self.path}: {error.strerror}") from None
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
