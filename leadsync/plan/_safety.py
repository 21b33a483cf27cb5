"""Per-destination change ratios and the rule that makes a plan need `--force`.

As octoDNS's threshold: the ratio is the share of a destination's *existing* records the plan changes. For a
managed destination with `before` records (every record in it, keyless and held ones included):
changed = leaving (moved out, removed) + re-owned in place (reassigned without a move); ratio =
changed / max(before, 1), so never above 1. Arrivals (moved in, added) are growth: reported per destination
(`add`, `move_in`), never counted, so a routine import of new leads needs no `--force`. The destination is
unsafe when ratio > max_change_ratio and before >= min_destination_size: small destinations are exempt, as a
handful of leads is easy to review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leadsync.plan._model import DestinationStats, Safety
from leadsync.state import Policy

# positions in the per-destination tallies the planner keeps (a list per destination: cheap to bump)
ADD, MOVE_IN, MOVE_OUT, REASSIGN, REMOVE, HELD = range(6)
TALLY_SIZE = 6


def destination_stats(
    managed: Iterable[str], sizes: Mapping[str, int], tallies: Mapping[str, list[int]], policy: Policy
) -> tuple[tuple[DestinationStats, ...], Safety]:
    """Stats for every managed destination (sorted by name), and the safety verdict."""
    stats: list[DestinationStats] = []
    empty = [0] * TALLY_SIZE
    for name in sorted(managed):
        t = tallies.get(name, empty)
        before = sizes.get(name, 0)
        changed = t[MOVE_OUT] + t[REASSIGN] + t[REMOVE]  # existing records only: arrivals are growth
        ratio = changed / max(before, 1)
        unsafe = before >= policy.min_destination_size and ratio > policy.max_change_ratio
        stats.append(
            DestinationStats(
                name=name,
                before=before,
                after=before - t[MOVE_OUT] - t[REMOVE] + t[MOVE_IN] + t[ADD],
                add=t[ADD],
                move_in=t[MOVE_IN],
                move_out=t[MOVE_OUT],
                reassign=t[REASSIGN],
                remove=t[REMOVE],
                held=t[HELD],
                changed=changed,
                ratio=round(ratio, 4),
                unsafe=unsafe,
            )
        )
    safety = Safety(
        max_change_ratio=policy.max_change_ratio,
        min_destination_size=policy.min_destination_size,
        unsafe=tuple(s.name for s in stats if s.unsafe),
    )
    return tuple(stats), safety


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"  # unrounded: a limit of 0.035 is 3.5%, never "4%"


def unsafe_message(stats: Iterable[DestinationStats], safety: Safety) -> str:
    """One line naming every unsafe destination with its ratio, and how to go on."""
    parts = [
        f"{s.name} ({s.changed:,} of {s.before:,} leads, {_ratio(s, safety.max_change_ratio)})"
        for s in stats
        if s.name in safety.unsafe
    ]
    return (
        f"refusing to apply: the plan changes more than {_percent(safety.max_change_ratio)} of "
        f"{'destination' if len(parts) == 1 else 'destinations'} {', '.join(parts)}, counting the leads it "
        "moves out, re-owns or removes (arrivals are growth, not counted); "
        "review the plan and re-run with --force to apply it anyway"
    )


def _ratio(s: DestinationStats, limit: float) -> str:
    """One decimal, unless rounding would make it look no bigger than the limit."""
    ratio = s.changed / max(s.before, 1)
    text = f"{ratio:.1%}"
    return text if round(ratio * 100, 1) > limit * 100 else _percent(ratio)
