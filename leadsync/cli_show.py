"""`leadsync show PLANFILE`: a saved plan rendered as `plan` renders it, with no spec, no key and no network (as
`terraform show` does), so that a reviewer reads what `apply PLANFILE` will carry out. Registered by cli.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leadsync.cli_common import CliPath, errors, fail, set_masking, use_color
from leadsync.jsontext import decode, loads_bounded, read_bounded
from leadsync.plan import dump_plan, load_plan
from leadsync.render import FORMATS, json_visible, render, visible

#: how many bytes of a file tell whether it may be JSON (an object) rather than YAML
_HEAD = 64


def is_saved_plan(path: str) -> bool:
    """Whether `path` holds a plan document (a JSON object with `format_version` and `fingerprint`), not a spec.
    Anything unreadable, or not JSON, is not: the spec loader then says what is wrong with it."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{"):
            return False
        doc = loads_bounded(decode(read_bounded(path)))
    except (OSError, ValueError):  # unreadable, too large, too deep, not UTF-8, not JSON
        return False
    return isinstance(doc, dict) and "format_version" in doc and "fingerprint" in doc


def refuse_a_saved_plan(path: str) -> None:
    """`plan` given a saved plan: one line saying what to do with it instead."""
    if is_saved_plan(path):
        fail(f"{path} is a saved plan; use 'leadsync apply {path}' or 'leadsync show {path}'")


@click.command()
@click.argument("planfile", type=CliPath(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the plan on stdout (json: the document as saved, in its canonical form).",
)
@click.option("--mask", is_flag=True, help="Mask emails in the text plan (for CI logs); markdown is always masked.")
def show(planfile: str, fmt: str, mask: bool) -> None:
    """Print a plan saved with `plan --out`, without reading the workspace: what `apply PLANFILE` would do.

    \b
    Examples:
      leadsync plan routing.yaml --out plan.json
      leadsync show plan.json                       # the text plan, as plan printed it
      leadsync show plan.json --format markdown     # for a pull-request comment (emails masked)
      leadsync show plan.json --format json         # the canonical plan document

    \b
    Exit codes: 0; 1 the file is no plan document (or an unreadable one).
    """
    set_masking(mask or fmt == "markdown")
    with errors():
        if not Path(planfile).is_file():
            fail(f"{planfile}: no such file")
        saved = load_plan(Path(planfile))
        color = fmt == "text" and use_color() is not False and sys.stdout.isatty()
        shown = dump_plan(saved) if fmt == "json" else render(saved, fmt, color=color, mask=mask)
        # text: its renderer made it visible; markdown and JSON are made so here
        click.echo(visible(shown) if fmt == "markdown" else json_visible(shown) if fmt == "json" else shown, nl=False)
