"""The plan as its canonical JSON document (the same bytes `plan --out FILE` writes)."""

from __future__ import annotations

from leadsync.plan import Plan


def render_json(plan: Plan) -> str:
    """The canonical plan document: sorted keys, compact, UTF-8 text, one trailing newline."""
    return plan.to_json()
