"""What the renderers share: the one-line summary, masking of lead keys, number formatting, the read and pools."""

from __future__ import annotations

import json
import re
from collections import Counter

from leadsync.plan import Plan, PoolLoad, PoolMember
from leadsync.state import ReadCost


def count(n: int, one: str, many: str | None = None) -> str:
    """`1 conflict`, `2,000 conflicts`."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def percent(ratio: float) -> str:
    """A ratio as a percentage, unrounded to 4 significant digits: 0.035 -> `3.5%` (never `4%`)."""
    return f"{ratio * 100:.4g}%"


def change_ratio(ratio: float, limit: float) -> str:
    """A destination's change ratio next to a limit: one decimal, unless that would hide that it is over."""
    text = f"{ratio:.1%}"
    return text if ratio <= limit or round(ratio * 100, 1) > limit * 100 else percent(ratio)


def exempt(plan: Plan) -> list[str]:
    """`name 50.0% of 8 leads` for each destination over the limit that is exempt because it is small: the plan
    says so, so that a limit that did not apply is never taken for one that held."""
    limit, smallest = plan.safety.max_change_ratio, plan.safety.min_destination_size
    return [
        f"{d.name} {change_ratio(d.changed / max(d.before, 1), limit)} of {count(d.before, 'lead')}"
        for d in plan.destinations
        if not d.unsafe and d.before < smallest and d.changed / max(d.before, 1) > limit
    ]


def unresolved_names(plan: Plan) -> list[str]:
    """The spec names (destinations, owners) the workspace could not resolve, sorted, each once."""
    return sorted({c.subject or "-" for c in plan.conflicts if c.key is None})


def summary_line(plan: Plan) -> str:
    """`Plan: 12 to add, 3 to move, 5 to reassign, 2 held.`, or `No changes.` when there is nothing to write.

    add, move and reassign always show; remove, held, conflicts, unresolved spec names and unsupported only
    when non-zero, in that order. People are counted (a moved and re-owned person is one move); spec names
    the workspace could not resolve are not people, and are named apart from the conflicts.
    """
    if not plan.operations:
        return "No changes."
    s = plan.summary
    parts = [f"{s.add:,} to add", f"{s.move:,} to move", f"{s.assign:,} to reassign"]
    if s.remove:
        parts.append(f"{s.remove:,} to remove")
    if s.held:
        parts.append(f"{s.held:,} held")
    if s.conflicts:
        parts.append(count(s.conflicts, "conflict"))
    names = unresolved_names(plan)
    if names:
        parts.append(count(len(names), "unresolved spec name"))
    if s.unsupported:
        parts.append(f"{s.unsupported:,} unsupported")
    return "Plan: " + ", ".join(parts) + "."


def owner_change(previous: str | None, owner: str, known: bool = True) -> str:
    """`owner alice -> bob`; `owner (unassigned) -> bob`; `owner -> bob` when the old owner is not known."""
    if not known:
        return f"owner -> {owner}"
    return f"owner {previous or '(unassigned)'} -> {owner}"


def mask_email(email: str) -> str:
    """`jane.doe@bigco.example.test` -> `j***@b***.test`: first character of the local part and of the
    domain, and the top-level domain. Idempotent, so masking masked text changes nothing."""
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    tld = "." + labels[-1] if len(labels) > 1 else ""
    return f"{local[:1]}***@{domain[:1]}***{tld}"


def mask_key(key: str | None) -> str:
    """A lead key as it may appear in shared output: emails as above, other keys (LinkedIn) `j***`."""
    if key is None:
        return "-"
    if "@" in key:
        return mask_email(key)
    return key[:1] + "***"


# anything email-shaped, masked again as a last line of defence over free text (conflict details, ...)
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"'`|]+@[^\s@<>()\[\],;:\"'`|]+\.[^\s@<>()\[\],;:\"'`|.]+")


def mask_text(text: str) -> str:
    """`text` with every email-shaped substring masked."""
    return _EMAIL.sub(lambda m: mask_email(m.group()), text)


NAME_WIDTH = 60  # characters of a vendor's name shown, at most
#: a spec's own name (an owner, a destination): what the spec language allows, shown as it is
_SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def _quoted(name: str) -> str:
    """A vendor's name as a quoted string: control characters escaped, at most NAME_WIDTH characters."""
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 1].rstrip() + "…"
    return json.dumps(name, ensure_ascii=False)


def code_span(text: object) -> str:
    """Text leadsync did not write, as a markdown inline code span: nothing in it renders (no link, image,
    mention, emphasis or HTML), whatever it holds; its fence is longer than any run of backticks in it (a table
    cell escapes its `|` as for any cell: GFM unescapes it inside code there)."""
    shown = visible(str(text)).replace("\n", " ").replace("\r", " ") or " "
    run = max((len(found) for found in re.findall("`+", shown)), default=0)
    fence = "`" * (run + 1)
    pad = " " if shown[0] == "`" or shown[-1] == "`" or (shown[0] == " " and shown[-1] == " ") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


#: what can begin markup inline: code, emphasis, links and images, HTML and autolinks, entities, table cells
_MARKUP = re.compile(r"([\\`*_\[\]<>!|~&])")
#: what GFM links without brackets: a scheme's `://` and `www.`
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=\bwww)(\.)", re.IGNORECASE)
_MENTION = re.compile(r"@(?=[\w-])")


def markdown_text(text: str) -> str:
    """Free text as markdown that renders as the same text: what can begin markup inline escaped (no link, image,
    autolink, emphasis or HTML can form), and an `@` before a name kept from mentioning anyone (a word joiner)."""
    escaped = _MARKUP.sub(r"\\\1", visible(text).replace("\n", " "))
    return _MENTION.sub("@\u2060", _AUTOLINK.sub(lambda m: "\\" + m.group(), escaped))


class Labels:
    """How a rendering names what the plan names by vendor id (`Plan.names`): a place outside the managed
    destinations as `campaign "Old Outbound"` instead of `campaign:<id>`, a member the spec does not name by
    their email (masked with `mask`) instead of a user id. Anything it has no name for is shown as it is."""

    def __init__(self, plan: Plan, *, mask: bool, markdown: bool = False) -> None:
        places = plan.names.places
        seen = Counter((ref.partition(":")[0], name) for ref, name in places.items())
        self.places: dict[str, str] = {}
        for ref, name in places.items():
            kind, _, ident = ref.partition(":")
            label = f"{kind} {code_span(_quoted(name)) if markdown else _quoted(name)}"  # no markup in a comment
            # two places of one kind and name: the id tells them apart
            self.places[ref] = f"{label} ({ident})" if seen[(kind, name)] > 1 else label
        show = mask_email if mask else str
        self.markdown = markdown
        self.members = {user: self._outside(show(email)) for user, email in plan.names.members.items()}
        self._refs = (
            re.compile("(?:" + "|".join(map(re.escape, sorted(self.places, key=len, reverse=True))) + r")(?![\w-])")
            if self.places
            else None
        )

    def place(self, where: str) -> str:
        """A destination as the plan names it (a spec name, or `campaign:<id>` outside the managed ones)."""
        return self.places.get(where, where)

    def _outside(self, text: str) -> str:
        return code_span(text) if self.markdown else text

    def owner(self, owner: str | None) -> str | None:
        """An owner as the plan names it (a spec owner, a user id of a member the spec does not name, None)."""
        if owner is None:
            return None
        found = self.members.get(owner)
        return found if found is not None else owner if _SPEC_NAME.fullmatch(owner) else self._outside(owner)

    def text(self, text: str) -> str:
        """Free text (a conflict's detail, a warning) with the place references in it named; for markdown, the
        rest of it escaped (`markdown_text`)."""
        if self._refs is None:
            return markdown_text(text) if self.markdown else text
        if not self.markdown:
            return self._refs.sub(lambda m: self.places[m.group()], text)
        parts, at = [], 0
        for found in self._refs.finditer(text):
            parts += [markdown_text(text[at : found.start()]), self.places[found.group()]]
            at = found.end()
        return "".join([*parts, markdown_text(text[at:])])


def read_line(read: ReadCost) -> str:
    """How the live read went, in one sentence without the leading `Read:`: the calls, and how the routed
    people missing from the managed destinations were looked for."""
    text = count(read.calls, "call")
    if read.outside == "none" and not read.missing:
        return text + "; every routed person was in a managed destination"
    people = f"{count(read.missing, 'routed person', 'routed people')} not in managed destinations"
    if read.outside == "contacts":
        how = f"looked up by email ({count(read.outside_calls, 'call')})"
    elif read.outside == "workspace":
        how = (
            f"found by paging the workspace ({count(read.outside_calls, 'call')}, "
            f"look-ups by email would take {count(read.lookup_calls, 'call')})"
        )
    elif read.outside == "workspace+contacts":
        how = (
            f"searched by paging the workspace up to half the price of look-ups, then looking up the rest "
            f"by email ({count(read.outside_calls, 'call')}; look-ups alone: {count(read.lookup_calls, 'call')})"
        )
    else:
        how = f"searched for ({read.outside}: {count(read.outside_calls, 'call')})"
    return f"{text}; {people}, {how}"


def points(deviation: float) -> str:
    """A deviation in percentage points, signed, one decimal: `+0.8 pts`, `-12.5 pts` (never `-0.0`)."""
    return f"{round(deviation, 1) + 0.0:+.1f} pts"


def share_text(share: float | None) -> str:
    """A share (0..1) as `34.1%`; `-` when there is none (nobody owned)."""
    return "-" if share is None else f"{share * 100:.1f}%"


def member_share(pool: PoolLoad, member: PoolMember) -> str:
    """`34.1% (weight 33.3%, +0.8 pts)`: the member's share after the plan next to its weight's share."""
    weight = share_text(pool.weight_share(member))
    deviation = pool.deviation(member)
    if deviation is None:
        return f"- (weight {weight})"
    return f"{share_text(pool.share(member))} (weight {weight}, {points(deviation)})"


def largest_deviation(pool: PoolLoad) -> str:
    """`bob -0.8 pts (before: bob +5.0 pts)`; `none: ...` when the members own nobody after the plan."""
    after, before = pool.largest_deviation(), pool.largest_deviation(after=False)
    if after is None:
        return "none: its members own no leads"
    text = f"{after[0].owner} {points(after[1])}"
    if before is not None:
        text += f" (before: {before[0].owner} {points(before[1])})"
    return text


#: what the pool figures mean, once per rendering
POOL_DEFINITION = (
    "A pool's leads are the people routed down its routes. Before: who owns their record in a managed destination "
    "now; after: the owner the plan gives them, or the one they keep if the plan leaves them alone (held, conflicts, "
    "unsupported). Shares are of the leads the members own; deviation = share - weight share, in percentage points."
)


#: what a terminal would act on or hide rather than show: C0 controls but the line break, DEL, C1 controls (U+009B
#: is a CSI on some terminals), and the bidirectional embeddings, overrides and isolates that reorder what follows
_UNSEEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every control character made visible as its escape (`\\x1b`, `\\u202e`): text leadsync did not
    write (vendor names, lead keys and values, file names) cannot clear a screen, write the clipboard (OSC 52),
    move the cursor back over a character, or reorder a line, wherever it is shown."""
    if text.isprintable() or not _UNSEEN.search(text):
        return text
    return _UNSEEN.sub(_escape, text)


def json_visible(text: str) -> str:
    """JSON text with what `json.dumps(ensure_ascii=False)` leaves raw (C1 controls, bidirectional controls) as
    `\\uXXXX` escapes: the same JSON (such characters occur only inside its strings), safe on a terminal."""
    if text.isascii() or not _UNSEEN.search(text):
        return text
    return _UNSEEN.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
