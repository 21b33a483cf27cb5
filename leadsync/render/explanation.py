"""`leadsync explain`'s output: the routes tried for one lead, and the owner and why. Pure text: the caller
says what each destination names and how to style (the CLI passes click.style on a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leadsync.render._common import visible
from leadsync.routing import Explanation

Style = Callable[..., str]


def plain(text: str, **_: Any) -> str:
    return text


def render_explanation(
    explanation: Explanation, origin: str, places: Mapping[str, tuple[str, str]], *, style: Style = plain
) -> str:
    """The lines `leadsync explain` prints for one lead (`origin`: where the lead was read; `places`: each
    destination's (field, value), as the spec names it)."""
    # what a lead or a file holds is made visible before it is styled: its control characters cannot act on the
    # terminal, and the styling stays the CLI's own
    lines = [style(visible(explanation.key), bold=True) + f"  ({visible(origin)})"]
    for check in explanation.checks:
        mark = style("✓", fg="green") if check.matched else style("✗", fg="red")
        lines.append(f"  {mark} route {check.route}")
        lines.extend(f"      {visible(reason)}" for reason in check.reasons)
    if explanation.destination is None:
        lines.append("  -> unrouted: no route matched; leadsync reports this lead and never touches it")
    else:
        field, value = places[explanation.destination]
        lines.append(
            f"  -> {style(explanation.destination, bold=True)} ({field} {value!r}) via route {explanation.route}"
        )
        owner = visible(f"{explanation.owner or '(unchanged)'} — {explanation.owner_reason}")
        lines.append(f"     owner: {owner}")
    return "\n".join(lines)


__all__ = ["plain", "render_explanation"]
