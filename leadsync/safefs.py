"""Files leadsync writes beside a spec, never through a link.

A spec's folder is often a checkout, and a checkout can hold symbolic links: a `.leadsync` -> `~/.ssh`, or a
journal -> `~/.bashrc`, planted in a repository, would otherwise have an apply append to, or SQLite create, a file
anywhere the user can write. So the folders leadsync keeps state in are checked to be real folders (`lstat`, at
every level below the spec's root), and its files are opened with `O_NOFOLLOW` and checked to be regular files (a
FIFO would make an open wait for ever) with one name (`O_NOFOLLOW` opens a hard link to a file elsewhere as the
file itself, so a link count above 1 is refused too). The links are refused, not removed: they are the user's
to look at.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from leadsync.errors import UnsafePath


def _link(path: Path, what: str) -> UnsafePath:
    return UnsafePath(
        f"cannot open {what} {path}: it is a symbolic link, and leadsync writes nothing through links (remove the link)"
    )


def _hard_links(path: Path, what: str, count: int) -> UnsafePath:
    return UnsafePath(
        f"cannot open {what} {path}: it has {count} hard links (other names for the same file, maybe "
        "outside this folder), and leadsync writes nothing through links (replace it with a copy "
        "of itself)"
    )


def has_nul(text: str | os.PathLike[str]) -> bool:
    """A NUL byte in a path: no file name can hold one (the OS would refuse it with a ValueError)."""
    return "\0" in os.fspath(text)


def refuse_link(path: Path, what: str) -> None:
    """Refuse `path` if it is a link (dangling or not, symbolic or hard) or exists and is not a regular file;
    absent is fine. A check before opening: `open_no_follow` checks again what it opened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise UnsafePath(f"cannot use {what} {path}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise _link(path, what)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(f"cannot open {what} {path}: it is not a regular file")
    if info.st_nlink > 1:
        raise _hard_links(path, what, info.st_nlink)


def ensure_real_dir(path: Path, root: Path | None = None, *, what: str = "the folder", mode: int = 0o777) -> Path:
    """`path`, created if need be, checked to be a real folder; with `root`, every level between `root`
    (exclusive: the spec's folder is the user's choice) and `path` is checked the same way."""
    levels = [path]
    if root is not None:
        relative = path.relative_to(root)
        levels = [root.joinpath(*relative.parts[: i + 1]) for i in range(len(relative.parts))]
    for level in levels:
        try:
            os.mkdir(level, mode)
        except FileExistsError:
            pass  # checked below: a link (even a dangling one) "exists" for mkdir
        except FileNotFoundError:  # no root given and a parent missing: create them (checked as they are made)
            ensure_real_dir(level.parent, what=what, mode=mode)
            return ensure_real_dir(level, what=what, mode=mode)
        except OSError as error:
            raise UnsafePath(f"cannot create {what} {level}: {error.strerror}") from None
        try:
            info = os.lstat(level)
        except OSError as error:
            raise UnsafePath(f"cannot use {what} {level}: {error.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise _link(level, what)
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafePath(f"cannot open {what} {level}: it is not a folder")
    return path


def open_no_follow(path: Path, flags: int, *, what: str, mode: int = 0o600) -> int:
    """`os.open` of `path` never through a link and only of a regular file with no other name: a file descriptor,
    or UnsafePath (a symbolic or hard link, a FIFO, a device) or OSError as the OS gave it (the caller says what it
    was doing)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _link(path, what) from None
        raise
    try:
        info = os.fstat(fd)  # of what was opened: no window for a swap between the check and the use
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"cannot open {what} {path}: it is not a regular file")
        if info.st_nlink > 1:  # a hard link is no symbolic link: O_NOFOLLOW opens it, wherever its other names are
            raise _hard_links(path, what, info.st_nlink)
        # O_NONBLOCK was only so that opening a FIFO could not wait; a regular file's reads and writes ignore it
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd
