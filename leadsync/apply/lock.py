"""One apply per workspace at a time on a machine: an exclusive lock file.

A vendor workspace's lock lives in a per-user folder of the machine (`lock_dir()`), not beside the spec, so two
checkouts of one spec, or two specs of one workspace, cannot apply at once. A sandbox workspace's state is a
file beside its spec, and so is its lock."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from types import TracebackType

from leadsync.errors import LeadsyncError


LOCK_DIR_SETTING = "LEADSYNC_LOCK_DIR"


def lock_dir() -> Path:
    """Where this machine's applies lock vendor workspaces: $LEADSYNC_LOCK_DIR, else the user's runtime folder
    ($XDG_RUNTIME_DIR/leadsync), else a private folder in the system's temporary one."""
    chosen = os.environ.get(LOCK_DIR_SETTING)
    if chosen:
        return Path(chosen)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "leadsync"
    return Path(tempfile.gettempdir()) / f"leadsync-{os.getuid()}"


class WorkspaceBusy(LeadsyncError):
    """Another apply holds the workspace's lock."""


class WorkspaceLock:
    """An exclusive, non-blocking flock: released by the OS even when the holder is killed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> WorkspaceLock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkspaceBusy(f"another apply is running on this workspace (pid {holder}; lock {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
