"""Renderers: plan -> str. They never print; the CLI decides where text goes and whether it is coloured.

render(plan, "text", color=False)   Terraform-like, full keys, one summary line at the end
render(plan, "text", mask=True)     the same with every lead key and email masked: for CI logs
render(plan, "markdown")            for pull-request comments: tables, masked keys, < 60,000 characters
render(plan, "json")                the canonical plan document
"""

from __future__ import annotations

from leadsync.errors import PlanError
from leadsync.plan import Plan
from leadsync.render._common import count, json_visible, mask_email, mask_key, mask_text, summary_line, visible
from leadsync.render.json import render_json
from leadsync.render.markdown import render_markdown
from leadsync.render.text import render_text

FORMATS = ("text", "markdown", "json")


def render(plan: Plan, fmt: str = "text", *, color: bool = False, mask: bool = False) -> str:
    """`plan` in format `fmt` (text, markdown or json). `color` and `mask` only affect text: markdown is always
    masked, and json is the plan document, which apply reads, so it keeps every key as it is."""
    if fmt == "text":
        return render_text(plan, color=color, mask=mask)
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "json":
        return render_json(plan)
    raise PlanError(f"unknown plan format {fmt!r}: choose one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "count",
    "json_visible",
    "mask_email",
    "mask_key",
    "mask_text",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "summary_line",
    "visible",
]
