"""`leadsync explain`'s output: the routes tried for one lead, and the owner and why."""

from __future__ import annotations

from typing import Any

import click

from leadsync.routing import Explanation
from leadsync.spec.models import Spec


def render_explanation(spec: Spec, explanation: Explanation, origin: str, *, color: bool = False) -> str:
    """The lines `leadsync explain` prints for one lead (`origin`: where the lead was read)."""

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
        field, value = spec.destinations[explanation.destination].ref
        lines.append(f"  -> {style(explanation.destination, bold=True)} ({field} {value!r}) via route {explanation.route}")
        lines.append(f"     owner: {explanation.owner or '(unchanged)'} — {explanation.owner_reason}")
    return "\n".join(lines)


__all__ = ["render_explanation"]
