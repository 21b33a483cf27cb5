"""The `leadsync` command: the only place that prints or exits. Commands too long to sit here live in cli_*.py
modules (apply, show, test) that import nothing of this one; what they share is in cli_common.py."""

from __future__ import annotations

import inspect
import json
import os
import sys
from contextlib import suppress
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click

from leadsync import __version__
from leadsync.cli_apply import apply
from leadsync.cli_common import (
    CliPath,
    at_option,
    err,
    errors,
    fail,
    max_rate_option,
    quiet_option,
    set_masking,
    tell,
    use_color,
    warn,
    write_atomically,
)  # fmt: skip
from leadsync.cli_progress import progress_shown
from leadsync.cli_show import refuse_a_saved_plan, show
from leadsync.cli_test import markdown_plan, test_command
from leadsync.plan import dump_plan
from leadsync.providers import vendor, vendor_names
from leadsync.render import FORMATS, count, json_visible, render
from leadsync.render.explanation import plain as render_plain
from leadsync.render.explanation import render_explanation
from leadsync.routing import Router
from leadsync.spec import load_leads, load_spec
from leadsync.workflow import (
    default_at,
    observed_source,
    plan_spec,
    read_workspace_data,
    sandbox_paths,
    snapshot_source,
)


class _Leadsync(click.Group):
    """Usage errors exit 1 like every other error (click's default 2 is `plan --detailed-exitcode`'s "changes")."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        set_masking(False)  # per invocation (tests run many in one process)
        _usable_streams()
        try:
            # click's overloads of main() cannot be matched by forwarded *args: the call is click's own
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.exceptions.Abort:
            fail("aborted")
        except click.ClickException as error:
            error.show()
            sys.exit(1)


def _usable_streams() -> None:
    """A terminal that cannot encode a character (LANG=C, latin-1) shows its escape, never a traceback; a closed
    stdout or stderr is one line and exit 1 (a plan written nowhere is no success)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            with suppress(ValueError, OSError):  # a stream already closed, or of a kind that takes no new errors=
                reconfigure(errors="backslashreplace")
    closed = [name for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)) if stream is None]
    if closed:
        if sys.stderr is not None:
            sys.stderr.write(f"Error: {' and '.join(closed)} closed: leadsync has nowhere to write\n")
        sys.exit(1)


@click.group(cls=_Leadsync, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadsync")
def main() -> None:
    """leadsync: lead routing as code.

    A YAML spec says which leads belong in which campaign or list and who owns each one;
    leadsync plans the smallest set of changes that makes the workspace match, and applies it.
    Progress of long work goes to stderr (--quiet turns it off); stdout holds only what was asked for.

    \b
    Examples:
      leadsync validate routing.yaml
      leadsync plan routing.yaml --out plan.json
      leadsync show plan.json --format markdown
      leadsync apply plan.json --auto-approve

    \b
    Exit codes:
      0  success (apply: converged; plan: with --detailed-exitcode, no changes)
      1  an error, an invalid spec, a refused or unconverged apply, a usage error
      2  plan --detailed-exitcode: the plan has changes

    \b
    Shell completion (bash; zsh and fish likewise):
      eval "$(_LEADSYNC_COMPLETE=bash_source leadsync)"
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=CliPath(dir_okay=False))
@click.option(
    "--sources",
    "run_queries",
    is_flag=True,
    help="Also run the SQL sources' queries (their databases and credentials needed) and check their rows.",
)
def validate(specs: tuple[str, ...], run_queries: bool = False) -> None:
    """Check SPECS and their sources offline (exit 0 valid, 1 invalid).

    A SQL source's query file is checked (one statement that only reads; DuckDB's parse) but not run, so no
    credentials are needed: the output says which queries were not run. --sources runs them.

    \b
    Examples:
      leadsync validate routing.yaml
      leadsync validate specs/*.yaml         # every problem of every spec, each with its place
      leadsync validate routing.yaml --sources   # run the SQL sources' queries too

    \b
    Exit codes: 0 every spec valid; 1 one is invalid.
    """
    failed = 0
    for path in specs:
        try:
            with errors():
                loaded = load_spec(path)
                leads = load_leads(loaded, os.environ, run_queries=run_queries)
                routing = Router(loaded).route(leads.leads, at=default_at(loaded))
                warn(leads.warnings)
                spec = loaded.spec
                read = f"{len(leads.leads)} leads" + (" from files and the spec" if leads.unrun else "")
                tell(
                    f"{path}: valid ({len(spec.destinations)} destinations, {len(spec.owners)} owners, "
                    f"{len(spec.routes)} routes, {read}: {len(routing.desired)} routed, "
                    f"{len(routing.unrouted)} unrouted)"
                )
                for query in leads.unrun:
                    tell(f"  not run: {query}")
        except SystemExit:
            failed += 1
    if failed:
        sys.exit(1)


@main.command()
@click.argument("spec", type=CliPath(dir_okay=False))
@click.argument("keys", nargs=-1, required=True)
@click.option(
    "--current-owner", metavar="OWNER", help="Explain as if each lead were owned by OWNER now (sticky pools)."
)
@at_option("Explain")
def explain(spec: str, keys: tuple[str, ...], current_owner: str | None, at: date | None) -> None:
    """Show which route and owner each lead KEY gets, and why.

    \b
    Examples:
      leadsync explain routing.yaml jane@bigco.test
      leadsync explain routing.yaml jane@bigco.test --current-owner bob --at 2026-12-22

    \b
    Exit codes: 0; 1 a KEY is not among the spec's leads, or an invalid spec.
    """
    with errors():
        loaded = load_spec(spec)
        leads = load_leads(loaded, os.environ)
        by_key, day = leads.by_key(), at if at is not None else default_at(loaded)
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
                offline = (
                    f" (offline: placed with the spec's {len(leads.leads):,} leads, as if none had an owner yet; "
                    "`leadsync plan` counts the workspace's current owners, so its answer can differ)"
                )
                explanation = replace(explanation, owner=owner, owner_reason=among.reasons[key] + offline)
            style = click.style if use_color() is not False and sys.stdout.isatty() else render_plain
            places = {name: d.ref for name, d in loaded.spec.destinations.items()}
            click.echo(render_explanation(explanation, str(lead.origin), places, style=style))
        if missing:
            fail(f"not among the leads of {spec}: {', '.join(missing)}")


@main.command()
@click.argument("spec", type=CliPath(dir_okay=False))
@click.option(
    "--remote",
    "remote",
    type=CliPath(dir_okay=False),
    metavar="FILE",
    help="Plan against a snapshot (the sandbox seed format) instead of the live workspace: no key, no network.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the plan on stdout.",
)
@click.option("--out", type=CliPath(dir_okay=False), metavar="FILE", help="Also save the plan document (JSON).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes (0: none, 1: error).")
@click.option("--mask", is_flag=True, help="Mask emails in the text plan (for CI logs); markdown is always masked.")
@at_option("Plan")
@max_rate_option
@quiet_option
def plan(
    spec: str,
    remote: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    mask: bool,
    at: date | None = None,
    max_rate: float | None = None,
    quiet: bool = False,
) -> None:
    """Compare SPEC with its workspace and print the smallest set of changes.

    Progress of the read goes to stderr: live on a terminal, a line every 10 s and at each phase in a log.

    \b
    Examples:
      leadsync plan routing.yaml
      leadsync plan routing.yaml --out plan.json --format markdown > comment.md
      leadsync plan routing.yaml --detailed-exitcode --quiet   # drift check: 2 means changes
      leadsync plan routing.yaml --remote snapshot.json        # no key, no network
      leadsync plan routing.yaml --max-rate 20                 # leave the rest of the rate limit to others

    \b
    Exit codes: 0; 1 an error (an unmet spec name included); 2 with --detailed-exitcode when there are changes.
    """
    set_masking(mask or fmt == "markdown")  # a markdown plan goes where a masked one must: its messages too
    with errors():
        refuse_a_saved_plan(spec)
        with progress_shown(quiet) as progress:
            source = snapshot_source(remote) if remote else observed_source(progress)
            planned = plan_spec(spec, source, at=at, max_rate=max_rate, progress=progress)
        warn(list(planned.warnings))
        if out is not None:
            write_atomically(Path(out), dump_plan(planned.plan))
        color = fmt == "text" and use_color() is not False and sys.stdout.isatty()
        if fmt == "markdown":
            tell(markdown_plan(planned), nl=False)  # no control character reaches a terminal or a comment
        else:  # text is made visible by its renderer (its colours are its own); JSON keeps no raw control either
            shown = render(planned.plan, fmt, color=color, mask=mask)
            click.echo(json_visible(shown) if fmt == "json" else shown, nl=False)
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)


@main.command()
@click.argument("spec", type=CliPath(dir_okay=False))
@click.option("--out", required=True, type=CliPath(dir_okay=False), metavar="FILE", help="Where to save it (JSON).")
@quiet_option
def snapshot(spec: str, out: str, quiet: bool = False) -> None:
    """Save the workspace of SPEC in the sandbox seed format, for `plan --remote` (no key needed there).

    \b
    Examples:
      leadsync snapshot routing.yaml --out snapshot.json
      leadsync plan routing.yaml --remote snapshot.json

    \b
    Exit codes: 0; 1 an error.
    """
    with errors():
        loaded = load_spec(spec)
        wanted = frozenset(lead.key for lead in load_leads(loaded, os.environ).leads)
        with progress_shown(quiet) as progress:
            data = read_workspace_data(loaded, wanted, progress)
        write_atomically(Path(out), json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        records = len(vendor(loaded.spec.vendor).lead_records(data))
        err(
            f"Saved {records} lead records of {spec}'s workspace to {out} (those in its managed destinations, and "
            "of the people it routes, wherever they are)."
        )


@main.command("import")
@click.argument("spec", type=CliPath(dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=CliPath(dir_okay=False),
    metavar="NEW.yaml",
    help="The spec to write (its leads go to a CSV beside it).",
)
@click.option("--force", is_flag=True, help="Replace NEW.yaml and its CSV when they exist.")
@quiet_option
def import_(spec: str, out: str, quiet: bool = False, force: bool = False) -> None:
    """Write a spec that reproduces SPEC's destinations as they are now: its first plan shows `No changes.`

    \b
    Examples:
      leadsync import routing.yaml --out adopted.yaml    # writes adopted.yaml and adopted.leads.csv
      leadsync plan adopted.yaml                         # No changes.
      leadsync import routing.yaml --out adopted.yaml --force   # again, replacing both

    \b
    Exit codes: 0; 1 an error.
    """
    from leadsync.adopt import import_workspace

    with errors():
        loaded = load_spec(spec)
        target = Path(out)
        if target.resolve().parent != loaded.root.resolve():
            fail(f"write the imported spec beside {spec} (in {loaded.root}), so the paths it names still hold")
        csv_path = target.with_suffix(".leads.csv")
        there = [path for path in (target, csv_path) if path.exists() or path.is_symlink()]
        if there and not force:  # a hand-written spec, or the one being read, is work import must not destroy
            fail(f"{there[0]} exists; import replaces a file only with --force")
        with progress_shown(quiet) as progress:
            data = read_workspace_data(loaded, progress=progress)
        imported = import_workspace(loaded, data, csv_path.name)
        write_atomically(csv_path, imported.csv_text)
        write_atomically(target, imported.spec_text)
        for why, skipped in sorted(imported.skipped.items()):
            err(f"{count(skipped, 'lead record')} left out: {why}", label="Warning: ", fg="yellow")
        err(f"Wrote {out} and {csv_path} ({imported.leads} leads). Check it: leadsync plan {out}")


@main.group()
def sandbox() -> None:
    """The embedded emulator of the Instantly and Sonarly APIs (docs/sandbox.md)."""


@sandbox.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True, help="0 picks a free port.")
@click.option("--state", type=CliPath(dir_okay=False), help="SQLite file to keep the state in (default: memory).")
@click.option("--seed", type=CliPath(dir_okay=False), help="Seed file (JSON) for a new state.")
@click.option("--vendor", type=click.Choice(vendor_names()), help="Which API to serve (default: from the seed).")
@click.option(
    "--faults", metavar="SPEC", help="Seeded fault injection, e.g. 'seed=7,429=0.05:burst=3' (docs/sandbox.md)."
)
@click.option(
    "--rate-limit", default="100/s,6000/min", show_default=True, help="'off', or limits like '100/s,6000/min'."
)
def sandbox_serve(
    port: int, state: str | None, seed: str | None, vendor: str | None, faults: str | None, rate_limit: str
) -> None:
    """Serve the sandbox on 127.0.0.1 until interrupted.

    \b
    Examples:
      leadsync sandbox serve --seed specs/examples/quickstart.remote.json --port 8700
      leadsync sandbox serve --faults 'seed=7,429=0.05:burst=3' --rate-limit off
    """
    from leadsync import (
        sandbox as emulator,  # late: only this command needs the server stack
    )

    def ready(url: str) -> None:
        err(f"leadsync sandbox listening on {url} (Ctrl-C to stop)")

    with errors():
        emulator.serve(
            port=port, state=state, seed=seed, vendor=vendor, faults=faults, rate_limit=rate_limit, on_ready=ready
        )


@sandbox.command("reset")
@click.argument("spec", type=CliPath(dir_okay=False))
def sandbox_reset(spec: str) -> None:
    """Start the sandbox workspace of SPEC over from its seed.

    \b
    Examples:
      leadsync sandbox reset specs/examples/quickstart.yaml
    """
    from leadsync import sandbox as emulator

    with errors():
        seed, state = sandbox_paths(load_spec(spec))
        state.parent.mkdir(parents=True, exist_ok=True)
        emulator.reset(state, seed)
        tell(f"{spec}: sandbox state {state} reset from {seed}")


main.add_command(apply)
main.add_command(show)
_test = test_command(CliPath, errors)
_test.help = (
    inspect.cleandoc(_test.help or "")
    + """

\b
Examples:
  leadsync test routing.yaml
  leadsync test routing.yaml cases/*.yaml --at 2026-12-22

\b
Exit codes: 0 every case passed (or there are none); 1 a case failed, or an invalid spec or case file.
"""
)  # the examples are the CLI's: cli_test.py holds what the command does
main.add_command(_test)


if __name__ == "__main__":  # pragma: no cover
    main()
