"""`leadsync apply`: carry out a plan (fresh or saved), showing its progress, then report and verify (kept out of
cli.py, which registers it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, assert_never

import click

from leadsync.apply import ApplyReport
from leadsync.apply.applier import not_ready
from leadsync.cli_common import (
    JOB_TIMEOUT_MAX,
    CliPath,
    err,
    errors,
    fail,
    finite,
    max_rate_option,
    quiet_option,
    set_masking,
    tell,
    use_color,
    warn,
)  # fmt: skip
from leadsync.cli_progress import progress_shown
from leadsync.plan import AddOp, AssignOp, MoveOp, Operation, RemoveOp, load_plan
from leadsync.providers import CallStats
from leadsync.providers.base import WriteRequest
from leadsync.render import count, mask_key, render
from leadsync.spec import load_spec
from leadsync.workflow import apply_session, with_max_rate


@click.command()
@click.argument("target", metavar="SPEC|PLANFILE", type=CliPath(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI). Without it, apply asks on a terminal.")
@click.option("--dry-run", is_flag=True, help="Print every request apply would send, and send none.")
@click.option(
    "--force",
    is_flag=True,
    help="Apply even when more than max_change_ratio of a destination's existing "
    "leads would be moved out, re-owned or removed.",
)
@click.option("--mask", is_flag=True, help="Mask emails in the text plan (for CI logs); markdown is always masked.")
@click.option("--job-timeout", type=click.FloatRange(min=0, max=JOB_TIMEOUT_MAX, min_open=True), default=None,
              metavar="SECONDS", callback=lambda _ctx, _param, value: finite(value, "--job-timeout"),
              help="How long to wait for a move's background job, or for a bulk-assign to show, before leaving it "
                   "open: the apply then ends not converged and the next one settles it. Default: 300.")  # fmt: skip
@max_rate_option
@quiet_option
def apply(
    target: str,
    auto_approve: bool,
    dry_run: bool,
    force: bool,
    mask: bool,
    job_timeout: float | None,
    max_rate: float | None = None,
    quiet: bool = False,
) -> None:
    """Make the workspace match SPEC (or carry out a saved PLANFILE, and nothing else), then verify it converged.

    Progress (reading, planning, writing, waiting for background jobs, re-reading to verify) goes to stderr:
    live on a terminal, a line every 10 s and at each phase in a log; --quiet turns it off.

    \b
    Examples:
      leadsync apply routing.yaml                      # shows the plan, asks, applies, verifies
      leadsync apply routing.yaml --auto-approve       # CI: no question asked
      leadsync apply plan.json --auto-approve          # exactly the saved plan, refused if stale
      leadsync apply routing.yaml --dry-run            # every request it would send, none sent

    \b
    Exit codes: 0 converged; 1 an error, refused, or not converged.
    """
    set_masking(mask)
    with errors(), progress_shown(quiet) as progress:
        saved = load_plan(Path(target)) if target.endswith(".json") else None
        spec = saved.spec.path if saved is not None else target
        if saved is not None and not Path(spec).is_file():
            fail(f"{target} was planned from {spec}, which is not here: apply from the folder plan ran in")
        loaded = with_max_rate(load_spec(spec), max_rate)
        with apply_session(loaded, job_timeout=job_timeout, progress=progress) as session:
            warn(list(session.leads.warnings))  # what plan and validate warn of, before anything is sent
            if session.resumed is not None and session.resumed.ended:
                err(f"The previous apply (run {session.resumed.run}) left background jobs running: they were "
                     "waited for before reading the workspace.")  # fmt: skip
            elif session.resumed is not None:
                err(f"Resuming an interrupted apply (run {session.resumed.run}): its open writes were settled "
                     "by reading the workspace again; only what did not happen will be sent.")  # fmt: skip
            if saved is not None:
                session.use_saved(saved, target)
                for warning in session.warnings:
                    err(warning, label="Warning: ", fg="yellow")
            plan = session.plan
            color = use_color() is not False and sys.stderr.isatty()
            err(render(plan, "text", color=color, mask=mask).rstrip(), shown=True)  # the renderer made it visible
            if not plan.has_changes:
                busy = not_ready(session.workspace)
                if busy:  # nothing to send, but not everything could be seen: that is no "converged"
                    fail(
                        f"not converged: {', '.join(sorted(busy))} could not be read (being populated); "
                        "run apply again once it is ready"
                    )
                return
            plan.raise_if_unsafe(force)
            if dry_run:
                requests = session.requests()
                for op, request in zip(plan.operations, requests, strict=True):
                    tell(_describe_request(op, request))
                err(f"Dry run: {len(requests)} requests shown, none sent.")
                return
            _confirm(auto_approve)
            report = session.apply()
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
    match op:
        case MoveOp():
            owner = f", owner {op.owner}" if op.owner else ""
            return f"move {count(len(op.lead_ids), 'lead')} {op.source} -> {op.target}{owner}"
        case AddOp():
            return f"add {count(len(op.leads), 'lead')} to {op.destination}"
        case AssignOp():
            return f"assign {count(len(op.lead_ids), 'lead')} in {op.destination} to {op.owner}"
        case RemoveOp():
            return f"delete {count(len(op.lead_ids), 'lead')} from {op.destination}"
        case _:
            assert_never(op)


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        fail("refusing to apply without confirmation: no terminal to ask on (use --auto-approve in CI)")
    answer = click.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False, err=True)
    if answer.strip() != "yes":
        fail("apply cancelled; nothing was changed")


def _left(report: ApplyReport) -> str:
    """What a converged apply leaves as it is, by design, said so that "Converged" is never read as "everyone"."""
    plan = report.final
    if plan is None:
        return ""
    shown = [
        text
        for n, text in (
            (len(plan.conflicts), count(len(plan.conflicts), "conflict")),
            (len(plan.held), count(len(plan.held), "held lead")),
            (len(plan.unsupported), f"{len(plan.unsupported):,} unsupported"),
            (len(plan.unrouted), f"{len(plan.unrouted):,} unrouted"),
        )
        if n
    ]
    return f" Left as they are (shown in the plan): {', '.join(shown)}." if shown else ""


def _report(report: ApplyReport, stats: CallStats, mask: bool, saved: str | None = None) -> None:
    rounds = f"{report.rounds} round{'s' if report.rounds != 1 else ''}"
    settled = f", {count(report.open_outcomes, 'open outcome')} settled by re-reading" if report.open_outcomes else ""
    err(f"Applied {count(report.writes, 'write')} in {rounds}{settled}, {report.seconds:.1f} s.")
    total = sum(stats.calls.values())
    retried = f"{stats.retries} retried" if stats.retries else "no retries"
    err(f"Calls: {total} ({report.writes} writes, {total - report.writes} reads and polls), {retried}:")
    width = max((len(endpoint) for endpoint in stats.calls), default=0)
    for endpoint, calls in sorted(stats.calls.items(), key=lambda item: (-item[1], item[0])):
        err(f"  {endpoint:<{width}}  {calls:>6}")
    if report.converged:
        err("a fresh plan of the workspace shows no changes." + _left(report), label="Converged: ", fg="green")
    elif report.diverged is not None:  # a saved plan's apply: the fresh plan is not the saved plan's work
        for item in report.open_items:
            err(f"Still open: {item}")
        err(f"not converged: {report.diverged}", label="Error: ", fg="red", bold=True)
    elif report.residual is not None:
        err(render(report.residual, "text", mask=mask).rstrip(), shown=True)
        why = "the changes above remain"
        if report.busy:
            places = ", ".join(sorted(report.busy))
            why = (
                f"{places} could not be read at the end (being populated), so the writes concerning it are "
                "unverified; run apply again once it is ready"
            ) + ("" if not report.residual.has_changes else ", and the changes above remain")
        if report.open_items:  # accepted writes whose effect never showed: not sent again, settled next time
            rest = why if report.busy else "the other changes above remain" if report.others_open else ""
            why = "; ".join([*report.open_items, *([rest] if rest else [])])
            if saved is not None:  # the workspace changed since that plan: it would be refused as stale
                why += (
                    f"; applying {saved} again waits for it first, and is refused as stale once that work has "
                    "changed the workspace: then run leadsync plan again"
                )
        err(f"not converged: {why}", label="Error: ", fg="red", bold=True)
