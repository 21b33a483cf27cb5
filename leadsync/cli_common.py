"""What every command of cli.py and its cli_*.py modules shares: stderr lines, errors as one `Error: ...` line,
masking, the path type, atomic writes, the options of long work (`--quiet`, `--max-rate`)."""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from leadsync.errors import LeadsyncError, Problem, ProblemsError
from leadsync.render import mask_text, visible
from leadsync.safefs import refuse_link
from leadsync.spec.models import MIN_RATE

F = TypeVar("F", bound=Callable[..., Any])

#: the longest --job-timeout: a day (nan and inf never end a wait, and pass click's range check)
JOB_TIMEOUT_MAX = 86_400.0


def finite(value: float | None, option: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param_hint=option)
    return value


def check_rate(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):  # FloatRange lets nan through; inf is no cap at all
        raise click.BadParameter(f"{value} is not a number of requests per second", param=param)
    return value


def use_color() -> bool | None:
    """None lets click decide (a terminal gets colour); NO_COLOR (any value) turns it off."""
    return False if os.environ.get("NO_COLOR") else None


#: set by `plan --mask` (or markdown) and `apply --mask`: every stderr line (warnings, errors too) is masked
_masking = False


def set_masking(on: bool) -> None:
    """Mask every stderr line from now on (or not): per invocation, as tests run many in one process."""
    global _masking
    _masking = on


def err(message: str, *, label: str = "", fg: str | None = None, bold: bool = False, shown: bool = False) -> None:
    """A line (or lines) on stderr: `message` with its control characters made visible (`shown`: it already is,
    as a rendered plan is, whose own colours must stay), after `label` styled in `fg`."""
    text = message if shown else visible(message)
    if label:
        text = click.style(label, fg=fg, bold=bold) + text
    click.echo(mask_text(text) if _masking else text, err=True, color=use_color())


def tell(message: str, *, nl: bool = True) -> None:
    """Text on stdout for a person (not JSON), its control characters made visible."""
    click.echo(visible(message), nl=nl)


def fail(message: str) -> NoReturn:
    err(message, label="Error: ", fg="red", bold=True)
    sys.exit(1)


@contextmanager
def errors() -> Iterator[None]:
    """Expected failures become `Error: ...` lines and exit 1; never a traceback. Beyond leadsync's own errors,
    the filesystem's: an OSError no library code mapped (its path and the system's words), and the ValueError
    Python raises for a NUL byte in a path (no file name can hold one)."""
    try:
        yield
    except ProblemsError as exc:
        for problem in exc.problems[: exc.shown]:
            err(str(problem))
        hidden = len(exc.problems) - exc.shown
        if hidden > 0:
            err(f"... and {hidden} more")
        count = len(exc.problems)
        fail(f"{count} problem{'s' if count != 1 else ''} found")
    except LeadsyncError as exc:
        fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        fail(f"{where}{exc.strerror or exc}")
    except ValueError as exc:
        if str(exc) not in ("embedded null byte", "embedded null character"):  # Python's words for a NUL in a path
            raise  # any other ValueError is a bug: its traceback is what finds it
        ctx = click.get_current_context(silent=True)
        given = [f"{name}={value!r}" for name, value in (ctx.params.items() if ctx else ()) if "\0" in str(value)]
        where = f" ({', '.join(given)})" if given else " (in a file it read)"
        fail(f"a path given to leadsync contains a NUL byte, which no file name can hold{where}")


def warn(problems: list[Problem]) -> None:
    for problem in problems[:20]:
        err(str(problem), label="Warning: ", fg="yellow")
    if len(problems) > 20:
        err(f"... and {len(problems) - 20} more warnings", label="Warning: ", fg="yellow")


class CliPath(click.Path):
    """click.Path, refusing a NUL byte (no file name holds one) before click's own checks stat it and raise."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            self.fail("a path cannot contain a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


#: the kernel's and devices' folders: a file there is not a file (as root, `--out /dev/full` replaced the device)
_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def refuse_special(path: Path) -> None:
    """Refuse to write `path` unless it is absent or a regular file with one name: a device, FIFO, socket, a
    link (`safefs.refuse_link`), or anything under /proc, /sys or /dev is refused, not replaced."""
    where = Path(os.path.realpath(path.parent)) / path.name
    system = next((s for s in _SYSTEM if where == s or s in where.parents), None)
    if system is not None:
        raise LeadsyncError(f"refusing to write {path}: it is under {system}, not an ordinary file")
    refuse_link(path, "the output file")


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a crash, a full disk or a read-only folder never leaves half a file
    behind (nor the one before damaged). Only a regular file is replaced (`refuse_special`): a link, a device or
    a FIFO at `path` is refused, not replaced."""
    refuse_special(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise LeadsyncError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise LeadsyncError(f"cannot write {path}: {error.strerror}") from None
        raise


if TYPE_CHECKING:  # click's ParamType is generic for the type checker; older clicks cannot subscript it
    _DateType = click.ParamType[date]
else:
    _DateType = click.ParamType


class When(_DateType):
    """`--at`: a date (YYYY-MM-DD, a UTC day) or a time (ISO 8601; no zone: UTC)."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            found = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is neither a date (2026-12-22) nor a time (2026-12-22T09:30:00Z)", param, ctx)
        return (found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)).replace(microsecond=0)


def at_option(what: str) -> Callable[[F], F]:
    """`--at WHEN`: what a command is as of (`what`: the command's verb phrase, for its help)."""
    return click.option(
        "--at",
        "at",
        type=When(),
        metavar="WHEN",
        help=f"{what} as of this day (YYYY-MM-DD, UTC) or time (2026-12-22T09:30:00Z): owners' away dates are read "
        "on its day, time matchers (older_than, within) measure from it. Default: now (today, for a spec whose "
        "routes have no time matcher).",
    )


def quiet_option(command: F) -> F:
    """`--quiet/-q`: no progress on stderr (warnings, errors and the plan itself are still shown)."""
    return click.option("--quiet", "-q", is_flag=True, help="Show no progress on stderr.")(command)


def max_rate_option(command: F) -> F:
    return click.option("--max-rate", type=click.FloatRange(min=MIN_RATE), metavar="N", callback=check_rate,
                        help="Send at most N requests a second (default: the spec's workspace.max_rate, else the "
                             "vendor's).")(command)  # fmt: skip
