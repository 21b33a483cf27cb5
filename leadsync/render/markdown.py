"""The plan as a pull-request comment: counts and tables a reviewer can take in, every lead key masked.

Lists are capped and say how much they leave out; the whole text stays under `limit` characters (GitHub
refuses comments over 65,536) and, if it ever has to be cut, ends saying so. Every email-shaped string is
masked (`j***@b***.test`), including any inside free text. Places outside the managed destinations are named
as the workspace names them (`campaign "Old Outbound"`), members the spec does not name by their masked email.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, assert_never

from leadsync.plan import AddOp, AssignOp, MoveOp, Plan, RemoveOp
from leadsync.render._common import (
    POOL_DEFINITION,
    Labels,
    change_ratio,
    code_span,
    count,
    exempt,
    largest_deviation,
    markdown_text,
    mask_key,
    mask_text,
    owner_change,
    percent,
    points,
    read_line,
    share_text,
    summary_line,
)

if TYPE_CHECKING:  # for the annotation only: a renderer runs nothing, the CLI runs the tests
    from leadsync.routetests import RoutingTestRun

DEFAULT_LIMIT = 60_000
LIST_LIMIT = 20  # entries shown per list (held, conflicts, ...)
TABLE_LIMIT = 50  # rows shown per table
SAMPLE_LIMIT = 10  # masked sample leads per kind of change
MATRIX_WIDTH = 8  # more targets than this: the from -> to matrix becomes a list of pairs


def _key(key: str | None) -> str:
    """A lead key as a comment shows it: masked, in a code span."""
    return code_span(mask_key(key))


def _cell(value: object) -> str:
    """A table cell: its `|` escaped (what is not leadsync's own is already a code span or escaped text)."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], what: str, limit: int = TABLE_LIMIT) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n… {len(rows) - limit:,} more {what} not shown")
    return lines


def _list(items: list[str], total: int, what: str) -> list[str]:
    lines = [f"- {item}" for item in items[:LIST_LIMIT]]
    if total > LIST_LIMIT:
        lines.append(f"- … {total - LIST_LIMIT:,} more {what} not shown")
    return lines


def _signed(n: int, sign: str) -> str:
    return f"{sign}{n:,}" if n else "·"


def _destinations(plan: Plan) -> list[str]:
    rows = [
        [
            d.name,
            f"{d.before:,}",
            _signed(d.add, "+"),
            _signed(d.move_in, "+"),
            _signed(d.move_out, "-"),
            _signed(d.reassign, ""),
            _signed(d.remove, "-"),
            _signed(d.held, ""),
            f"{d.after:,}",
            f"{d.ratio:.1%}" + (" ⚠️" if d.unsafe else ""),
        ]
        for d in plan.destinations
    ]
    header = ["destination", "before", "add", "move in", "move out", "reassign", "remove", "held", "after", "change"]
    return ["#### Destinations", "", *_table(header, rows, "destinations")]


def _owners(plan: Plan, labels: Labels) -> list[str]:
    if not plan.owners:
        return []
    rows = [
        [labels.owner(o.owner) or "(unassigned)", f"{o.before:,}", f"{o.after:,}", f"{o.after - o.before:+,}"]
        for o in plan.owners
    ]
    header = ["owner", "before", "after", "Δ"]
    if any(o.capacity is not None for o in plan.owners):  # against capacity, for owners that have one
        header.append("capacity")
        for row, o in zip(rows, plan.owners, strict=True):
            over = " ⚠️ over" if o.capacity is not None and o.after > o.capacity else ""
            row.append("-" if o.capacity is None else f"{o.capacity:,}{over}")
    return ["", "#### Owner load", "", *_table(header, rows, "owners")]


def _pools(plan: Plan) -> list[str]:
    if not plan.pools:
        return []
    lines = ["", "#### Owner pools: load against the weights", "", f"<sub>{POOL_DEFINITION}</sub>"]
    for pool in plan.pools[:LIST_LIMIT]:
        about = ", ".join(["sticky"] * pool.sticky + [f"routes {', '.join(f'`{r}`' for r in pool.routes) or '-'}"])
        most = largest_deviation(pool)
        heading = f"**{code_span(pool.name)}** ({about}): largest deviation after the plan **{most}**"
        lines += ["", heading, ""]
        rows = []
        for m in pool.members:
            deviation = pool.deviation(m)
            rows.append(
                [
                    m.owner,
                    f"{m.weight:g}",
                    f"{m.before:,}",
                    f"{m.after:,}",
                    f"{m.after - m.before:+,}",
                    share_text(pool.share(m)),
                    share_text(pool.weight_share(m)),
                    "-" if deviation is None else points(deviation),
                ]
            )
        if pool.others_before or pool.others_after:
            change = f"{pool.others_after - pool.others_before:+,}"
            rows.append(["(not members)", "", f"{pool.others_before:,}", f"{pool.others_after:,}", change, "", "", ""])
        header = ["member", "weight", "before", "after", "Δ", "share after", "weight share", "deviation"]
        lines += _table(header, rows, "members")
    if len(plan.pools) > LIST_LIMIT:
        lines += ["", f"… {len(plan.pools) - LIST_LIMIT:,} more pools not shown"]
    return lines


def _matrix(plan: Plan, labels: Labels) -> list[str]:
    pairs: Counter[tuple[str, str]] = Counter()
    for op in plan.operations:
        if isinstance(op, MoveOp):
            pairs[(labels.place(op.source), labels.place(op.target))] += len(op.keys)
    if not pairs:
        return []
    sources = sorted({s for s, _ in pairs})
    targets = sorted({t for _, t in pairs})
    lines = ["", "#### Moves (from → to)", ""]
    if len(targets) > MATRIX_WIDTH:
        rows = [[s, t, f"{n:,}"] for (s, t), n in sorted(pairs.items())]
        return lines + _table(["from", "to", "leads"], rows, "pairs")
    rows = [[s] + [f"{pairs[(s, t)]:,}" if pairs[(s, t)] else "·" for t in targets] for s in sources]
    return lines + _table(["from \\ to", *targets], rows, "sources")


def _lists(plan: Plan, labels: Labels) -> list[str]:
    lines: list[str] = []
    names = [c for c in plan.conflicts if c.key is None]
    people = [c for c in plan.conflicts if c.key is not None]
    sections = [
        (
            "Held (protected status, not touched)",
            len(plan.held),
            "held leads",
            [
                f"{_key(h.key)} in {labels.place(h.destination)}, {', '.join(h.statuses)}: would {h.change}"
                for h in plan.held[:LIST_LIMIT]
            ],
        ),
        (
            "Unresolved spec names (nothing routed to them is changed)",
            len(names),
            "names",
            [
                f"{code_span(c.subject or '-')} {c.reason.value.replace('_', ' ')}: {labels.text(c.detail)}"
                for c in names[:LIST_LIMIT]
            ],
        ),
        (
            f"Conflicts (never guessed, left as they are): {count(plan.summary.conflicts, 'person', 'people')}",
            len(people),
            "conflicts",
            [f"{_key(c.key)} {c.reason.value.replace('_', ' ')}: {labels.text(c.detail)}" for c in people[:LIST_LIMIT]],
        ),
        (
            "Unrouted (matched no route, left as they are)",
            len(plan.unrouted),
            "unrouted leads",
            [f"{_key(k)}" for k in plan.unrouted[:LIST_LIMIT]],
        ),
        (
            "Unsupported (the provider cannot make these changes)",
            len(plan.unsupported),
            "unsupported leads",
            [
                f"{_key(u.key)} → {labels.place(u.destination)}: {markdown_text(u.reason)}"
                for u in plan.unsupported[:LIST_LIMIT]
            ],
        ),
        (
            "Warnings",
            len(plan.warnings),
            "warnings",
            [
                (f"{_key(w.key)} " if w.key is not None else "") + labels.text(w.message)
                for w in plan.warnings[:LIST_LIMIT]
            ],
        ),
    ]
    for title, total, what, items in sections:
        if total:
            heading = title if title.startswith("Conflicts") else f"{title}: {total:,}"
            lines += ["", f"#### {heading}", "", *_list(items, total, what)]
    return lines


def _calls(plan: Plan) -> list[str]:
    c = plan.calls
    minimal = "minimal" if c.writes == c.lower_bound else f"lower bound {c.lower_bound:,}"
    rows = [[endpoint, f"{n:,}"] for endpoint, n in c.by_endpoint.items()]
    read = [] if plan.workspace.read is None else [f"**Read to make this plan:** {read_line(plan.workspace.read)}.", ""]
    return [
        "",
        "#### Predicted API calls",
        "",
        *read,
        (
            f"{c.writes:,} writes ({minimal}) and {c.reads:,} reads: at least **{_duration(c.seconds)}** at the "
            "provider's rate limit."
        ),
        "",
        *_table(["endpoint", "calls"], rows, "endpoints"),
    ]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _samples(plan: Plan, labels: Labels) -> list[str]:
    found: dict[str, list[str]] = {"add": [], "move": [], "reassign": [], "remove": []}
    totals = {
        "add": plan.summary.add,
        "move": plan.summary.move,
        "reassign": plan.summary.assign,
        "remove": plan.summary.remove,
    }
    for op in plan.operations:
        match op:
            case MoveOp():
                if len(found["move"]) < SAMPLE_LIMIT:
                    known = len(op.previous_owners) == len(op.keys)
                    source, target = labels.place(op.source), labels.place(op.target)
                    found["move"] += [
                        f"{_key(k)} {source} → {target}"
                        + (
                            f" ({_owner(op.previous_owners, i, op.owner, known, labels)})"
                            if _reowned(op, i, known)
                            else ""
                        )
                        for i, k in enumerate(op.keys[:SAMPLE_LIMIT])
                    ]
            case AddOp():
                if len(found["add"]) < SAMPLE_LIMIT:
                    found["add"] += [
                        f"{_key(x.key)} → {op.destination}" + (f" (owner {x.owner})" if x.owner else "")
                        for x in op.leads[:SAMPLE_LIMIT]
                    ]
            case AssignOp():
                if len(found["reassign"]) < SAMPLE_LIMIT:
                    known = len(op.previous_owners) == len(op.keys)
                    found["reassign"] += [
                        f"{_key(k)} in {op.destination}: {_owner(op.previous_owners, i, op.owner, known, labels)}"
                        for i, k in enumerate(op.keys[:SAMPLE_LIMIT])
                    ]
            case RemoveOp():
                if len(found["remove"]) < SAMPLE_LIMIT:
                    place = labels.place(op.destination)
                    found["remove"] += [f"{_key(k)} from {place}" for k in op.keys[:SAMPLE_LIMIT]]
            case _:
                assert_never(op)
    lines: list[str] = []
    for kind, items in found.items():
        if items:
            shown = items[:SAMPLE_LIMIT]
            lines += ["", f"**{kind}** ({totals[kind]:,})", "", *[f"- {item}" for item in shown]]
            rest = max(totals[kind], len(items)) - len(shown)
            if rest > 0:
                lines.append(f"- … {rest:,} more not shown")
    if not lines:
        return []
    return ["", "<details><summary>Sample of changes (keys masked)</summary>", *lines, "", "</details>"]


def _reowned(op: MoveOp, i: int, known: bool) -> bool:
    """Whether the move changes this lead's owner (people who keep the owner it sets ride along)."""
    return op.owner is not None and not (known and op.previous_owners[i] == op.owner)


def _owner(previous: tuple[str | None, ...], i: int, owner: str | None, known: bool, labels: Labels) -> str:
    # a move that changes nobody's owner (owner None) is never shown as reowned: "(unassigned)" is for the types
    return owner_change(labels.owner(previous[i]) if known else None, owner or "(unassigned)", known).replace(
        " -> ", " → "
    )


def _safety(plan: Plan) -> str:
    if plan.safety.safe:
        small = exempt(plan)
        return (
            f"**Safety:** ✅ safe: no destination of at least {plan.safety.min_destination_size:,} leads changes "
            f"more than {percent(plan.safety.max_change_ratio)} of its leads (moved out, re-owned or removed; "
            "arrivals are growth)" + (f"; over the limit but exempt as smaller: {', '.join(small)}" if small else "")
        )
    limit = plan.safety.max_change_ratio
    unsafe = sorted((d for d in plan.destinations if d.unsafe), key=lambda d: (-d.ratio, d.name))
    worst = ", ".join(f"`{d.name}` {change_ratio(d.changed / max(d.before, 1), limit)}" for d in unsafe[:LIST_LIMIT])
    if len(unsafe) > LIST_LIMIT:
        worst += f" … and {len(unsafe) - LIST_LIMIT:,} more"
    return (
        f"**Safety:** ⚠️ needs `--force`: {worst} of the existing leads moved out, re-owned or removed "
        f"(limit {percent(limit)} for destinations of at least {plan.safety.min_destination_size:,} leads; "
        "arrivals are growth)"
    )


def _routing_tests(tests: RoutingTestRun) -> list[str]:
    """`Routing tests: 12 of 12 passed`, or which failed, briefly (`leadsync test` shows each in full)."""
    total = len(tests.results)
    if not tests.failures:
        return [f"**Routing tests:** ✅ {tests.passed:,} of {total:,} passed", ""]
    failed = [
        f"{code_span(f.case.where)} case {f.case.number}: {markdown_text('; '.join(f.mismatches))}"
        for f in tests.failures
    ]
    return [
        f"**Routing tests:** ❌ {tests.passed:,} of {total:,} passed; `leadsync test` shows why",
        "",
        *_list(failed, len(failed), "failed cases"),
        "",
    ]


def render_markdown(plan: Plan, *, limit: int = DEFAULT_LIMIT, tests: RoutingTestRun | None = None) -> str:
    """The plan as GitHub-flavoured Markdown, under `limit` characters, every lead key masked; with `tests` (the
    spec's routing tests, run by the caller), how many of them passed."""
    title = "### leadsync plan"
    if plan.spec.path:
        title += f" for {code_span(plan.spec.path)}"
    labels = Labels(plan, mask=True, markdown=True)  # members' emails are people's emails too
    lines = [title, "", _workspace(plan), "", f"**{summary_line(plan)}**", "", _safety(plan), ""]
    if tests is not None and tests.results:
        lines += _routing_tests(tests)
    if plan.operations or plan.held or plan.conflicts:
        lines += _destinations(plan) + _owners(plan, labels) + _pools(plan) + _matrix(plan, labels)
    else:
        lines += _pools(plan)[1:]  # no changes: the pools' balance is still worth a look
    lines += _lists(plan, labels) + _calls(plan) + _samples(plan, labels)
    text = mask_text("\n".join(lines) + "\n")
    return _fit(text, limit)


def _workspace(plan: Plan) -> str:
    """Where the plan's writes go, first: a pull request that quietly switches the workspace, or points a
    vendor's key at another vendor, must not look like a normal plan (issue #25)."""
    ws = plan.workspace
    where = (
        f"the embedded sandbox (emulating the {ws.api} API), no vendor account"
        if ws.provider == "sandbox"
        else f"{ws.provider} ({ws.api} API)"
    )
    account = f", account {code_span(ws.id)}" if ws.id else ""
    return f"**Workspace:** {where}{account}"


def _fit(text: str, limit: int) -> str:
    """`text`, or as many whole lines of it as fit, closing an open <details> and saying what was cut."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    budget = limit - 200  # room for the closing note
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    cut = len(lines) - len(kept)
    if any(line.startswith("<details>") for line in kept) and "</details>" not in kept:
        kept.append("</details>")
    kept += [
        "",
        (
            f"… {count(cut, 'more line')} not shown: the comment is limited to {limit:,} characters; "
            "`leadsync plan --format text` shows everything."
        ),
    ]
    return "\n".join(kept) + "\n"
