"""The `leadsync` command: the only place that prints or exits."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

import click

from leadsync import __version__
from leadsync.errors import LeadsyncError, ProblemsError, Problem
from leadsync.apply import ApplyReport
from leadsync.apply.applier import not_ready
from leadsync.cli_test import markdown_plan, test_command
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, RemoveOp, dump_plan, load_plan
from leadsync.providers._http import CallStats
from leadsync.providers.base import WriteRequest
from leadsync.render import FORMATS, mask_key, mask_text, render
from leadsync.render._common import count
from leadsync.render.explanation import plain as render_plain, render_explanation
from leadsync.routing import Router
from leadsync.spec import load_leads, load_spec
from leadsync.spec.models import MIN_RATE
from leadsync.workflow import (
    apply_session,
    live_source,
    plan_spec,
    read_workspace_data,
    sandbox_paths,
    snapshot_source,
    today,
    with_max_rate,
)

F = TypeVar("F", bound=Callable[..., Any])

#: the longest --job-timeout: a day (nan and inf never end a wait, and pass click's range check)
JOB_TIMEOUT_MAX = 86_400.0


def _finite(value: float | None, option: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param_hint=option)
    return value


def _rate(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):  # FloatRange lets nan through; inf is no cap at all
        raise click.BadParameter(f"{value} is not a number of requests per second", param=param)
    return value


def _color() -> bool | None:
    """None lets click decide (a terminal gets colour); NO_COLOR (any value) turns it off."""
    return False if os.environ.get("NO_COLOR") else None


#: set by `plan --mask` (or markdown) and `apply --mask`: every stderr line (warnings, errors too) is masked
_masking = False


def _err(message: str) -> None:
    click.echo(mask_text(message) if _masking else message, err=True, color=_color())


def _fail(message: str) -> NoReturn:
    _err(click.style("Error: ", fg="red", bold=True) + message)
    sys.exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    """Expected failures become `Error: ...` lines and exit 1; never a traceback. Beyond leadsync's own errors,
    the filesystem's: an OSError no library code mapped (its path and the system's words), and the ValueError
    Python raises for a NUL byte in a path (no file name can hold one)."""
    try:
        yield
    except ProblemsError as exc:
        for problem in exc.problems[: exc.shown]:
            _err(str(problem))
        hidden = len(exc.problems) - exc.shown
        if hidden > 0:
            _err(f"... and {hidden} more")
        count = len(exc.problems)
        _fail(f"{count} problem{'s' if count != 1 else ''} found")
    except LeadsyncError as exc:
        _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        _fail(f"{where}{exc.strerror or exc}")
    except ValueError as exc:
        if str(exc) not in ("embedded null byte", "embedded null character"):  # Python's words for a NUL in a path
            raise  # any other ValueError is a bug: its traceback is what finds it
        ctx = click.get_current_context(silent=True)
        given = [f"{name}={value!r}" for name, value in (ctx.params.items() if ctx else ()) if "\0" in str(value)]
        where = f" ({', '.join(given)})" if given else " (in a file it read)"
        _fail(f"a path given to leadsync contains a NUL byte, which no file name can hold{where}")


def _warn(problems: list[Problem]) -> None:
    for problem in problems[:20]:
        _err(click.style("Warning: ", fg="yellow") + str(problem))
    if len(problems) > 20:
        _err(click.style("Warning: ", fg="yellow") + f"... and {len(problems) - 20} more warnings")


class _Leadsync(click.Group):
    """Usage errors exit 1 like every other error (click's default 2 is `plan --detailed-exitcode`'s "changes")."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        global _masking
        _masking = False  # per invocation (tests run many in one process)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.exceptions.Abort:
            _fail("aborted")
        except click.ClickException as error:
            error.show()
            sys.exit(1)


class _Path(click.Path):
    """click.Path, refusing a NUL byte (no file name holds one) before click's own checks stat it and raise."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            self.fail("a path cannot contain a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


@click.group(cls=_Leadsync, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadsync")
def main() -> None:
    """leadsync: lead routing as code.

    A YAML spec says which leads belong in which campaign or list and who owns each one;
    leadsync plans the smallest set of changes that makes the workspace match, and applies it.
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=_Path(dir_okay=False))
def validate(specs: tuple[str, ...]) -> None:
    """Check SPECS and their sources offline (exit 0 valid, 1 invalid)."""
    failed = 0
    for path in specs:
        try:
            with _errors():
                loaded = load_spec(path)
                leads = load_leads(loaded)
                routing = Router(loaded).route(leads.leads)
                _warn(leads.warnings)
                spec = loaded.spec
                click.echo(
                    f"{path}: valid ({len(spec.destinations)} destinations, {len(spec.owners)} owners, "
                    f"{len(spec.routes)} routes, {len(leads.leads)} leads: {len(routing.desired)} routed, "
                    f"{len(routing.unrouted)} unrouted)"
                )
        except SystemExit:
            failed += 1
    if failed:
        sys.exit(1)


@main.command()
@click.argument("spec", type=_Path(dir_okay=False))
@click.argument("keys", nargs=-1, required=True)
@click.option("--current-owner", metavar="OWNER", help="Explain as if each lead were owned by OWNER now (sticky pools).")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Explain as of this day (UTC) for owners' away dates. Default: today.")
def explain(spec: str, keys: tuple[str, ...], current_owner: str | None, at: datetime | None) -> None:
    """Show which route and owner each lead KEY gets, and why."""
    with _errors():
        loaded = load_spec(spec)
        leads = load_leads(loaded)
        by_key, day = leads.by_key(), at.date() if at is not None else today()
        router = Router(loaded)
        # with capacities a lead's owner depends on the others: all the spec's leads are placed together
        # (offline, so as if none had an owner yet), unless --current-owner asks about one lead's own case
        among = router.route(leads.leads, at=day, explain=True) if router.capacity and not current_owner else None
        missing = []
        for raw in keys:
            key = loaded.spec.key_kind.normalise(raw)
            lead = by_key.get(key) if key else None
            if lead is None:
                missing.append(raw)
                continue
            explanation = router.explain(lead, current_owner, at=day)
            if among is not None and key in among.reasons:
                owner = next(d.owner for d in among.desired if d.key == key)
                explanation = replace(explanation, owner=owner, owner_reason=among.reasons[key] + " (offline: placed with the "
                                      f"spec's {len(leads.leads):,} leads, as if none had an owner yet; `leadsync plan` "
                                      "counts the workspace's current owners, so its answer can differ)")  # fmt: skip
            style = click.style if _color() is not False and sys.stdout.isatty() else render_plain
            places = {name: d.ref for name, d in loaded.spec.destinations.items()}
            click.echo(render_explanation(explanation, str(lead.origin), places, style=style))
        if missing:
            _fail(f"not among the leads of {spec}: {', '.join(missing)}")


@main.command()
@click.argument("spec", type=_Path(dir_okay=False))
@click.option("--remote", "remote", type=_Path(dir_okay=False), metavar="FILE",
              help="Plan against a snapshot (the sandbox seed format) instead of the live workspace: no key, no network.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How to print the plan on stdout.")
@click.option("--out", type=_Path(dir_okay=False), metavar="FILE", help="Also save the plan document (JSON).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes (0: none, 1: error).")
@click.option("--mask", is_flag=True, help="Mask emails in the text plan (for CI logs); markdown is always masked.")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Plan as of this day (UTC) for owners' away dates. Default: today.")
@click.option("--max-rate", type=click.FloatRange(min=MIN_RATE), metavar="N", callback=_rate,
              help="Send at most N requests a second (default: the spec's workspace.max_rate, else the vendor's).")
def plan(
    spec: str, remote: str | None, fmt: str, out: str | None, detailed_exitcode: bool, mask: bool,
    at: datetime | None = None, max_rate: float | None = None,
) -> None:
    """Compare SPEC with its workspace and print the smallest set of changes."""
    global _masking
    _masking = mask or fmt == "markdown"  # a markdown plan goes where a masked one must: its messages too
    with _errors():
        planned = plan_spec(spec, snapshot_source(remote) if remote else live_source,
                            at=at.date() if at is not None else None, max_rate=max_rate)
        _warn(list(planned.warnings))
        if out is not None:
            _write_atomically(Path(out), dump_plan(planned.plan))
        color = fmt == "text" and _color() is not False and sys.stdout.isatty()
        shown = markdown_plan(planned) if fmt == "markdown" else render(planned.plan, fmt, color=color, mask=mask)
        click.echo(shown, nl=False)
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)


@main.command()
@click.argument("target", metavar="SPEC|PLANFILE", type=_Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI). Without it, apply asks on a terminal.")
@click.option("--dry-run", is_flag=True, help="Print every request apply would send, and send none.")
@click.option("--force", is_flag=True, help="Apply even when more than max_change_ratio of a destination's existing "
                                            "leads would be moved out, re-owned or removed.")
@click.option("--mask", is_flag=True, help="Mask emails in the text plan (for CI logs); markdown is always masked.")
@click.option("--job-timeout", type=click.FloatRange(min=0, max=JOB_TIMEOUT_MAX, min_open=True), default=None,
              metavar="SECONDS", callback=lambda _ctx, _param, value: _finite(value, "--job-timeout"),
              help="How long to wait for a move's background job, or for a bulk-assign to show, before leaving it "
                   "open: the apply then ends not converged and the next one settles it. Default: 300.")  # fmt: skip
@click.option("--max-rate", type=click.FloatRange(min=MIN_RATE), metavar="N", callback=_rate,
              help="Send at most N requests a second (default: the spec's workspace.max_rate, else the vendor's).")
def apply(
    target: str, auto_approve: bool, dry_run: bool, force: bool, mask: bool, job_timeout: float | None,
    max_rate: float | None = None,
) -> None:
    """Make the workspace match SPEC (or carry out a saved PLANFILE, and nothing else), then verify it converged."""
    global _masking
    _masking = mask
    with _errors():
        saved = load_plan(Path(target)) if target.endswith(".json") else None
        spec = saved.spec.path if saved is not None else target
        if saved is not None and not Path(spec).is_file():
            _fail(f"{target} was planned from {spec}, which is not here: apply from the folder plan ran in")
        with apply_session(with_max_rate(load_spec(spec), max_rate), job_timeout=job_timeout) as session:
            _warn(list(session.leads.warnings))  # what plan and validate warn of, before anything is sent
            if session.resumed is not None and session.resumed.ended:
                _err(f"The previous apply (run {session.resumed.run}) left background jobs running: they were "
                     "waited for before reading the workspace.")  # fmt: skip
            elif session.resumed is not None:
                _err(f"Resuming an interrupted apply (run {session.resumed.run}): its open writes were settled "
                     "by reading the workspace again; only what did not happen will be sent.")  # fmt: skip
            if saved is not None:
                session.use_saved(saved, target)
                for warning in session.warnings:
                    _err(click.style("Warning: ", fg="yellow") + warning)
            plan = session.plan
            _err(render(plan, "text", color=_color() is not False and sys.stderr.isatty(), mask=mask).rstrip())
            if not plan.has_changes:
                busy = not_ready(session.workspace)
                if busy:  # nothing to send, but not everything could be seen: that is no "converged"
                    _fail(f"not converged: {', '.join(sorted(busy))} could not be read (being populated); "
                          "run apply again once it is ready")
                return
            plan.raise_if_unsafe(force)
            if dry_run:
                requests = session.requests()
                for op, request in zip(plan.operations, requests):
                    click.echo(_describe_request(op, request))
                _err(f"Dry run: {len(requests)} requests shown, none sent.")
                return
            _confirm(auto_approve)
            report = _apply_with_progress(session, len(plan.operations))  # one request per operation
            stats = session.provider.stats
        _report(report, stats, mask, target if saved is not None else None)
        if not report.converged:
            sys.exit(1)


def _describe_request(op: Operation, request: WriteRequest) -> str:
    """One line per request: method, path, what it does in the spec's names, the body's fields, whom (masked)."""
    who = ", ".join(mask_key(key) for key in request.keys[:3])
    more = f" and {len(request.keys) - 3} more" if len(request.keys) > 3 else ""
    body = ", ".join(_field(name, value) for name, value in sorted(request.body.items()))
    return f"{request.method} {request.path}  {_describe_op(op)}  {{{body}}}  ({who}{more})"


def _field(name: str, value: Any) -> str:
    """A body field for a log line: scalars in full (ids, flags), lists by their length (ids, leads: emails)."""
    if isinstance(value, (list, tuple)):
        return f"{name}[{len(value)}]"
    return f"{name}={value}" if "@" not in str(value) else f"{name}=***"


def _describe_op(op: Operation) -> str:
    if isinstance(op, MoveOp):
        owner = f", owner {op.owner}" if op.owner else ""
        return f"move {count(len(op.lead_ids), 'lead')} {op.source} -> {op.target}{owner}"
    if isinstance(op, AddOp):
        return f"add {count(len(op.leads), 'lead')} to {op.destination}"
    if isinstance(op, AssignOp):
        return f"assign {count(len(op.lead_ids), 'lead')} in {op.destination} to {op.owner}"
    if isinstance(op, RemoveOp):
        return f"delete {count(len(op.lead_ids), 'lead')} from {op.destination}"
    return op.op


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        _fail("refusing to apply without confirmation: no terminal to ask on (use --auto-approve in CI)")
    answer = click.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False, err=True)
    if answer.strip() != "yes":
        _fail("apply cancelled; nothing was changed")


def _apply_with_progress(session: Any, total: int) -> ApplyReport:
    if not sys.stderr.isatty():
        return session.apply()  # type: ignore[no-any-return]
    lock = threading.Lock()  # writes finish on the applier's waiter threads; click's bar is not thread-safe

    with click.progressbar(length=total, label="Applying", file=sys.stderr) as bar:

        def done(_request: WriteRequest) -> None:
            with lock:
                bar.update(1)

        return session.apply(on_write=done)  # type: ignore[no-any-return]


def _left(report: ApplyReport) -> str:
    """What a converged apply leaves as it is, by design, said so that "Converged" is never read as "everyone"."""
    plan = report.final
    if plan is None:
        return ""
    shown = [text for n, text in (
        (len(plan.conflicts), count(len(plan.conflicts), "conflict")),
        (len(plan.held), count(len(plan.held), "held lead")),
        (len(plan.unsupported), f"{len(plan.unsupported):,} unsupported"),
        (len(plan.unrouted), f"{len(plan.unrouted):,} unrouted"),
    ) if n]
    return f" Left as they are (shown in the plan): {', '.join(shown)}." if shown else ""


def _report(report: ApplyReport, stats: CallStats, mask: bool, saved: str | None = None) -> None:
    rounds = f"{report.rounds} round{'s' if report.rounds != 1 else ''}"
    settled = f", {count(report.open_outcomes, 'open outcome')} settled by re-reading" if report.open_outcomes else ""
    _err(f"Applied {count(report.writes, 'write')} in {rounds}{settled}, {report.seconds:.1f} s.")
    total = sum(stats.calls.values())
    retried = f"{stats.retries} retried" if stats.retries else "no retries"
    _err(f"Calls: {total} ({report.writes} writes, {total - report.writes} reads and polls), {retried}:")
    width = max((len(endpoint) for endpoint in stats.calls), default=0)
    for endpoint, calls in sorted(stats.calls.items(), key=lambda item: (-item[1], item[0])):
        _err(f"  {endpoint:<{width}}  {calls:>6}")
    if report.converged:
        _err(click.style("Converged: ", fg="green") + "a fresh plan of the workspace shows no changes." + _left(report))
    elif report.diverged is not None:  # a saved plan's apply: the fresh plan is not the saved plan's work
        for item in report.open_items:
            _err(f"Still open: {item}")
        _err(click.style("Error: ", fg="red", bold=True) + f"not converged: {report.diverged}")
    elif report.residual is not None:
        _err(render(report.residual, "text", mask=mask).rstrip())
        why = "the changes above remain"
        if report.busy:
            places = ", ".join(sorted(report.busy))
            why = (f"{places} could not be read at the end (being populated), so the writes concerning it are "
                   "unverified; run apply again once it is ready") + ("" if not report.residual.has_changes
                                                                         else ", and the changes above remain")
        if report.open_items:  # accepted writes whose effect never showed: not sent again, settled next time
            rest = why if report.busy else "the other changes above remain" if report.others_open else ""
            why = "; ".join([*report.open_items, *([rest] if rest else [])])
            if saved is not None:  # the workspace changed since that plan: it would be refused as stale
                why += (f"; applying {saved} again waits for it first, and is refused as stale once that work has "
                        "changed the workspace: then run leadsync plan again")
        _err(click.style("Error: ", fg="red", bold=True) + f"not converged: {why}")


@main.command()
@click.argument("spec", type=_Path(dir_okay=False))
@click.option("--out", required=True, type=_Path(dir_okay=False), metavar="FILE", help="Where to save it (JSON).")
def snapshot(spec: str, out: str) -> None:
    """Save the workspace of SPEC in the sandbox seed format, for `plan --remote` (no key needed there)."""
    with _errors():
        loaded = load_spec(spec)
        wanted = frozenset(lead.key for lead in load_leads(loaded).leads)
        data = read_workspace_data(loaded, wanted)
        _write_atomically(Path(out), json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        records = len(data.get("leads", data.get("prospects", [])))
        _err(f"Saved {records} lead records of {spec}'s workspace to {out} (those in its managed destinations, and "
             "of the people it routes, wherever they are).")


@main.command("import")
@click.argument("spec", type=_Path(dir_okay=False))
@click.option("--out", required=True, type=_Path(dir_okay=False), metavar="NEW.yaml",
              help="The spec to write (its leads go to a CSV beside it).")
def import_(spec: str, out: str) -> None:
    """Write a spec that reproduces SPEC's destinations as they are now: its first plan shows `No changes.`"""
    from leadsync.adopt import import_workspace

    with _errors():
        loaded = load_spec(spec)
        target = Path(out)
        if target.resolve().parent != loaded.root.resolve():
            _fail(f"write the imported spec beside {spec} (in {loaded.root}), so the paths it names still hold")
        csv_path = target.with_suffix(".leads.csv")
        imported = import_workspace(loaded, read_workspace_data(loaded), csv_path.name)
        _write_atomically(csv_path, imported.csv_text)
        _write_atomically(target, imported.spec_text)
        for why, skipped in sorted(imported.skipped.items()):
            _err(click.style("Warning: ", fg="yellow") + f"{count(skipped, 'lead record')} left out: {why}")
        _err(f"Wrote {out} and {csv_path} ({imported.leads} leads). Check it: leadsync plan {out}")


@main.group()
def sandbox() -> None:
    """The embedded emulator of the Instantly and Sonarly APIs (docs/sandbox.md)."""


@sandbox.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True, help="0 picks a free port.")
@click.option("--state", type=_Path(dir_okay=False), help="SQLite file to keep the state in (default: memory).")
@click.option("--seed", type=_Path(dir_okay=False), help="Seed file (JSON) for a new state.")
@click.option("--vendor", type=click.Choice(["instantly", "sonarly"]), help="Which API to serve (default: from the seed).")
@click.option("--faults", metavar="SPEC", help="Seeded fault injection, e.g. 'seed=7,429=0.05:burst=3' (docs/sandbox.md).")
@click.option("--rate-limit", default="100/s,6000/min", show_default=True, help="'off', or limits like '100/s,6000/min'.")
def sandbox_serve(
    port: int, state: str | None, seed: str | None, vendor: str | None, faults: str | None, rate_limit: str
) -> None:
    """Serve the sandbox on 127.0.0.1 until interrupted."""
    from leadsync import sandbox as emulator  # late: only this command needs the server stack

    def ready(url: str) -> None:
        _err(f"leadsync sandbox listening on {url} (Ctrl-C to stop)")

    with _errors():
        emulator.serve(
            port=port, state=state, seed=seed, vendor=vendor, faults=faults, rate_limit=rate_limit, on_ready=ready
        )


@sandbox.command("reset")
@click.argument("spec", type=_Path(dir_okay=False))
def sandbox_reset(spec: str) -> None:
    """Start the sandbox workspace of SPEC over from its seed."""
    from leadsync import sandbox as emulator

    with _errors():
        seed, state = sandbox_paths(load_spec(spec))
        state.parent.mkdir(parents=True, exist_ok=True)
        emulator.reset(state, seed)
        click.echo(f"{spec}: sandbox state {state} reset from {seed}")


def _write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a crash, a full disk or a read-only folder never leaves half a file
    behind (nor the one before damaged). `os.replace` replaces a link at `path` rather than write through it, so
    a link planted there never leads the write out of its folder."""
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


main.add_command(test_command(_Path, _errors))


if __name__ == "__main__":  # pragma: no cover
    main()
