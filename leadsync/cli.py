"""The `leadsync` command: the only place that prints or exits."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from leadsync import __version__
from leadsync.errors import LeadsyncError, ProblemsError, Problem
from leadsync.plan import dump_plan
from leadsync.render import FORMATS, render
from leadsync.routing import Explanation, Router
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.workflow import live_source, plan_spec, sandbox_paths, snapshot_source

F = TypeVar("F", bound=Callable[..., Any])


def _color() -> bool | None:
    """None lets click decide (a terminal gets colour); NO_COLOR (any value) turns it off."""
    return False if os.environ.get("NO_COLOR") else None


def _err(message: str) -> None:
    click.echo(message, err=True, color=_color())


def _fail(message: str) -> NoReturn:
    _err(click.style("Error: ", fg="red", bold=True) + message)
    sys.exit(1)


@contextmanager
def _errors() -> Iterator[None]:
    """Expected failures become `Error: ...` lines and exit 1; never a traceback."""
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


def _warn(problems: list[Problem]) -> None:
    for problem in problems[:20]:
        _err(click.style("Warning: ", fg="yellow") + str(problem))
    if len(problems) > 20:
        _err(click.style("Warning: ", fg="yellow") + f"... and {len(problems) - 20} more warnings")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadsync")
def main() -> None:
    """leadsync: lead routing as code.

    A YAML spec says which leads belong in which campaign or list and who owns each one;
    leadsync plans the smallest set of changes that makes the workspace match, and applies it.
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
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
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("keys", nargs=-1, required=True)
@click.option("--current-owner", metavar="OWNER", help="Explain as if each lead were owned by OWNER now (sticky pools).")
def explain(spec: str, keys: tuple[str, ...], current_owner: str | None) -> None:
    """Show which route and owner each lead KEY gets, and why."""
    with _errors():
        loaded = load_spec(spec)
        by_key = load_leads(loaded).by_key()
        router = Router(loaded)
        missing = []
        for raw in keys:
            key = loaded.spec.key_kind.normalise(raw)
            lead = by_key.get(key) if key else None
            if lead is None:
                missing.append(raw)
                continue
            click.echo(_render_explanation(loaded, router.explain(lead, current_owner), str(lead.origin)))
        if missing:
            _fail(f"not among the leads of {spec}: {', '.join(missing)}")


def _render_explanation(loaded: LoadedSpec, explanation: Explanation, origin: str) -> str:
    color = _color() is not False and sys.stdout.isatty()

    def style(text: str, **kwargs: Any) -> str:
        return click.style(text, **kwargs) if color else text

    lines = [style(explanation.key, bold=True) + f"  ({origin})"]
    for check in explanation.checks:
        mark = style("✓", fg="green") if check.matched else style("✗", fg="red")
        lines.append(f"  {mark} route {check.route}")
        lines.extend(f"      {reason}" for reason in check.reasons)
    if explanation.destination is None:
        lines.append("  -> unrouted: no route matched; leadsync reports this lead and never touches it")
    else:
        field, value = loaded.spec.destinations[explanation.destination].ref
        lines.append(f"  -> {style(explanation.destination, bold=True)} ({field} {value!r}) via route {explanation.route}")
        lines.append(f"     owner: {explanation.owner or '(unchanged)'} — {explanation.owner_reason}")
    return "\n".join(lines)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--remote", "remote", type=click.Path(dir_okay=False), metavar="FILE",
              help="Plan against a snapshot (the sandbox seed format) instead of the live workspace: no key, no network.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How to print the plan on stdout.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE", help="Also save the plan document (JSON).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes (0: none, 1: error).")
def plan(spec: str, remote: str | None, fmt: str, out: str | None, detailed_exitcode: bool) -> None:
    """Compare SPEC with its workspace and print the smallest set of changes."""
    with _errors():
        planned = plan_spec(spec, snapshot_source(remote) if remote else live_source)
        _warn(list(planned.warnings))
        if out is not None:
            _write_atomically(Path(out), dump_plan(planned.plan))
        color = fmt == "text" and _color() is not False and sys.stdout.isatty()
        click.echo(render(planned.plan, fmt, color=color), nl=False)
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)


@main.group()
def sandbox() -> None:
    """The embedded emulator of the Instantly and Sonarly APIs (docs/sandbox.md)."""


@sandbox.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True, help="0 picks a free port.")
@click.option("--state", type=click.Path(dir_okay=False), help="SQLite file to keep the state in (default: memory).")
@click.option("--seed", type=click.Path(dir_okay=False), help="Seed file (JSON) for a new state.")
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
@click.argument("spec", type=click.Path(dir_okay=False))
def sandbox_reset(spec: str) -> None:
    """Start the sandbox workspace of SPEC over from its seed."""
    from leadsync import sandbox as emulator

    with _errors():
        seed, state = sandbox_paths(load_spec(spec))
        state.parent.mkdir(parents=True, exist_ok=True)
        emulator.reset(state, seed)
        click.echo(f"{spec}: sandbox state {state} reset from {seed}")


def _write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a crash never leaves half a plan behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
