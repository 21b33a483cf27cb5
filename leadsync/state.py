"""Values shared by every layer: lead keys, leads, desired and remote state, policy, capabilities.

Remote state has its one home here: `ResolvedWorkspace` (a workspace's records resolved against a spec's names)
and `DestinationRef` (how a spec names a place), whichever vendor or snapshot they came from.

Nothing here does I/O. Lead keys are normalised in one place so that the spec side and the remote side
agree on who a person is (an email that differs only in case or spaces, in invisible characters or in Unicode
compatibility forms such as fullwidth letters is the same person).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from leadsync.errors import place


class KeyKind(str, Enum):
    """What identifies a person at a vendor."""

    EMAIL = "email"  # Instantly
    LINKEDIN = "linkedin"  # Sonarly

    def normalise(self, raw: object) -> str | None:
        """The lead key for `raw`, or None when `raw` is not a valid key of this kind."""
        return self.normalise_function()(raw)

    def normalise_function(self) -> Callable[[object], str | None]:
        """The normaliser itself, for hot loops (an Enum method call per lead is measurably slow)."""
        return normalise_email if self is KeyKind.EMAIL else normalise_linkedin


#: no control character (C0, DEL, C1) anywhere: one in a key would act on the terminal that shows it
_EMAIL = re.compile(
    r"[^@\s<>(),;:\"\[\]\x00-\x1f\x7f-\x9f]+@[^@\s<>(),;:\"\[\]\x00-\x1f\x7f-\x9f]+"
    r"\.[^@\s<>(),;:\"\[\].\x00-\x1f\x7f-\x9f]+"
)

#: characters that show as nothing: zero-width space, joiners, word joiner, BOM, soft hyphen, direction marks and
#: embeddings, invisible operators. Pasted into a key they made a second record for the same person.
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x061C,
        0x180E,
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2065),
        *range(0x2066, 0x206A),
        0xFEFF,
    ],
    None,
)


def plain_text(raw: str) -> str:
    """`raw` without invisible characters and in NFKC form (fullwidth `ａ` is `a`, the ligature `ﬁ` is `fi`).

    Look-alikes from other scripts (Cyrillic `а`) are different letters under NFKC and stay: see `look_alike`."""
    if raw.isascii():  # the common case, once per lead: ASCII has no invisible or compatibility characters
        return raw
    return unicodedata.normalize("NFKC", raw.translate(_INVISIBLE)).translate(_INVISIBLE)


def normalise_email(raw: object) -> str | None:
    """The trimmed, lower-cased email in plain text (`plain_text`), or None when it is not an email address."""
    if not isinstance(raw, str):
        return None
    email = (raw if raw.isascii() else plain_text(raw)).strip().lower()  # the test inlined: once per lead
    if not _EMAIL.fullmatch(email) or ".." in email:
        return None
    return email


_LINKEDIN_ID = re.compile(r"[\w\-%.]{3,100}", re.UNICODE)
_LINKEDIN_HOST = re.compile(r"(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com")


def normalise_linkedin(raw: object) -> str | None:
    """The LinkedIn public identifier of a profile URL or identifier, or None.

    Accepts `jane-doe-4711`, `linkedin.com/in/jane-doe-4711`, `https://www.linkedin.com/in/Jane-Doe-4711/?trk=x`,
    country subdomains and percent-encoding; identifiers compare case-insensitively, as LinkedIn's do.
    """
    if not isinstance(raw, str):
        return None
    text = plain_text(raw).strip()
    if not text:
        return None
    if "/" in text or "linkedin.com" in text.lower():
        if "://" not in text:
            text = "https://" + text
        parts = urlsplit(text)
        if not _LINKEDIN_HOST.fullmatch((parts.hostname or "").lower()):
            return None
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 2 or segments[0].lower() != "in":
            return None
        text = segments[1]
    ident = plain_text(unquote(text)).strip().lower()  # percent-encoding can hide invisible characters too
    if not _LINKEDIN_ID.fullmatch(ident):
        return None
    return ident


#: lower-case Cyrillic and Greek letters that look like a Latin one (after Unicode's confusables.txt): a key
#: mixing them with Latin letters is most likely a spoof or a mistyped copy of another person's key.
_LOOK_ALIKES = {
    # Cyrillic
    "а": "a",
    "с": "c",
    "ԁ": "d",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "ӏ": "l",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "ѕ": "s",
    "ԝ": "w",
    "х": "x",
    "у": "y",
    "ү": "y",
    "ь": "b",
    # Greek
    "α": "a",
    "ϲ": "c",
    "ι": "i",
    "κ": "k",
    "η": "n",
    "ο": "o",
    "ρ": "p",
    "ν": "v",
    "υ": "u",
    "χ": "x",
    "γ": "y",
}
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    return next((script for script in _SCRIPTS if name.startswith(script)), None)


def look_alike(key: str) -> tuple[str, str | None] | None:
    """Whether a key mixes Latin letters with Cyrillic or Greek ones in one part (the local part, or one label of
    the domain or identifier): (the scripts, as "Cyrillic and Latin", and the all-Latin key it looks like, or None
    when some letter has no Latin look-alike); None for a key in one script per part, as `иван@почта.рф` is."""
    if key.isascii():
        return None
    mixed: set[str] = set()
    for part in re.split(r"[@.\-_]", key):
        scripts = {_script(c) for c in part if c.isalpha()} - {None}
        if len(scripts) > 1:
            mixed |= {s for s in scripts if s is not None}
    if not mixed:
        return None
    names = " and ".join(sorted(s.title() for s in mixed))
    skeleton = "".join(_LOOK_ALIKES.get(c, c) for c in key)
    return names, skeleton if skeleton.isascii() else None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a lead was read: a source file (or the spec, for inline leads) and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return place(self.file, self.line)


class Lead(Mapping[str, Any]):
    """One person from the spec's sources: a key and attributes (a read-only mapping of them).

    Attributes are stored as a tuple of cells aligned with a `fields` index shared by every lead of a source, which
    keeps a million leads well under a gigabyte. An empty CSV cell counts as absent.
    """

    __slots__ = ("cells", "fields", "file", "key", "line")

    def __init__(self, key: str, cells: tuple[Any, ...], fields: Mapping[str, int], file: str, line: int) -> None:
        self.key = key
        self.cells = cells  # not `values`: that is Mapping.values()
        self.fields = fields
        self.file = file  # kept apart from `line`: one Origin object per lead would cost a million allocations
        self.line = line

    @property
    def origin(self) -> Origin:
        return Origin(self.file, self.line)

    def value(self, name: str) -> Any:
        """The attribute `name`, or None when absent; `domain` is derived from the email when not given."""
        index = self.fields.get(name)
        if index is not None:
            value = self.cells[index]
            return None if value == "" else value
        if name == "domain" and "@" in self.key:
            return self.key.rpartition("@")[2]
        return None

    def __getitem__(self, name: str) -> Any:
        index = self.fields[name]
        value = self.cells[index]
        if value is None or value == "":
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in sorted(self.fields) if self.cells[self.fields[name]] not in (None, ""))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def attributes(self) -> dict[str, Any]:
        """Every attribute that has a value, sorted by name."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lead) and self.key == other.key and self.attributes() == other.attributes()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lead({self.key!r}, {self.attributes()!r}, {self.origin})"


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Routing's outcome, what the planner plans towards: where each person should be (`leads`), who no route
    matches (`unrouted`: reported, never touched), and whom routing could not place (`conflicts`: a full pool).
    Any iterables: the planner reads each once."""

    leads: Iterable[DesiredLead]
    unrouted: Iterable[str] = ()
    conflicts: Iterable[Conflict] = ()


# not frozen: a frozen dataclass sets each field through object.__setattr__, which costs a second per
# million leads; nothing mutates these, and unsafe_hash keeps them usable in sets.
@dataclass(slots=True, unsafe_hash=True)
class DesiredLead:
    """Where routing wants a person: a destination name, an owner name (None: owner not managed), the route."""

    key: str
    destination: str
    owner: str | None
    route: str
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class RemoteLead:
    """One lead record found in the workspace.

    `destination` is a spec destination name when the record sits in a managed destination, otherwise an
    outside reference such as `campaign:<id>` or `list:<id>`. `owner` is a spec owner name when the
    assigned user is one of the spec's owners, otherwise the vendor's user id (or None when unassigned).
    `key` is None for a record that has no usable key (a list lead with only a name): never touched.
    `statuses` are outreach status names (replied, interested, meeting_booked, won, unsubscribed, bounced, ...).
    """

    id: str
    key: str | None
    destination: str
    owner: str | None = None
    statuses: frozenset[str] = frozenset()


class Unmanaged(str, Enum):
    KEEP = "keep"
    REPORT = "report"
    REMOVE = "remove"


class Claim(str, Enum):
    SKIP = "skip"
    MOVE = "move"
    ADD = "add"


DEFAULT_PROTECT: tuple[str, ...] = ("replied", "interested", "meeting_booked", "won", "unsubscribed", "bounced")


@dataclass(frozen=True, slots=True)
class Policy:
    """What the planner may do beyond the plain routing (docs/design.md section 2, `policy`)."""

    unmanaged: Unmanaged = Unmanaged.KEEP
    claim: Claim = Claim.SKIP
    protect: frozenset[str] = frozenset(DEFAULT_PROTECT)
    max_change_ratio: float = 0.3
    min_destination_size: int = 10


@dataclass(frozen=True, slots=True)
class CallModel:
    """What a plan's calls are named and cost at one vendor: data the planner counts by, never vendor code.

    `writes`: operation kind (move, add, assign, remove) -> the endpoints one write call of it costs, the write
    first (an Instantly move is the move and at least one poll of the background job it starts). `list_leads`:
    the endpoint paged through for a destination's records; `catalogue`: the listings read once per plan (places,
    members). Empty (the default): operations are counted under their own names and the catalogue is not counted.
    """

    writes: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    list_leads: str = "list leads"
    catalogue: tuple[str, ...] = ()

    def write_calls(self, op: str) -> tuple[str, ...]:
        """The endpoints one write call of `op` costs (its own name when the model does not say)."""
        return self.writes.get(op) or (op,)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, and how much per call: data the planner reads, never vendor code.

    `calls` names the endpoints and per-call costs the plan predicts (None: the vendor's default, by name)."""

    add: bool = True
    move: bool = True
    assign: bool = True
    remove: bool = True
    move_sets_owner: bool = True  # a move can carry `assigned_to`
    add_chunk: int = 1000
    move_chunk: int = 1000
    assign_chunk: int = 1000
    remove_chunk: int = 1000
    requests_per_second: float = 100.0
    requests_per_minute: float = 6000.0
    page_size: int = 100
    calls: CallModel | None = None


class ConflictReason(str, Enum):
    """Why the planner refuses to guess about a person or a spec name."""

    MULTIPLE_RECORDS = "multiple_records"  # a person with several records where only one may be
    OUTSIDE_ONLY = "outside_only"  # a desired person found only outside managed destinations, `claim: skip`
    DUPLICATE_KEY = "duplicate_key"  # routing produced two different wishes for one person
    UNKNOWN_DESTINATION = "unknown_destination"  # a spec destination that names no campaign/list/audience
    AMBIGUOUS_DESTINATION = "ambiguous_destination"  # ... that names several, or one another name also names
    DESTINATION_NOT_READY = "destination_not_ready"  # a Sonarly audience still being populated
    UNKNOWN_OWNER = "unknown_owner"  # a spec owner whose email is no workspace member
    AMBIGUOUS_OWNER = "ambiguous_owner"  # ... whose email several members (or owners) share
    POOL_FULL = "pool_full"  # no member of a pool has room (capacity) or is present (away), nor its fallback

    @property
    def blocks_destination(self) -> bool:
        """True when a conflict with this reason and a `subject` makes that destination unusable."""
        return self in _DESTINATION_REASONS

    @property
    def blocks_owner(self) -> bool:
        """True when a conflict with this reason and a `subject` makes that owner unusable."""
        return self in _OWNER_REASONS


_DESTINATION_REASONS = frozenset(
    {ConflictReason.UNKNOWN_DESTINATION, ConflictReason.AMBIGUOUS_DESTINATION, ConflictReason.DESTINATION_NOT_READY}
)
_OWNER_REASONS = frozenset({ConflictReason.UNKNOWN_OWNER, ConflictReason.AMBIGUOUS_OWNER})


@dataclass(frozen=True, slots=True)
class Conflict:
    """Something shown to the user, never guessed: about one person (`key`), or about a spec name.

    Resolving a workspace (providers, snapshots) yields conflicts with `key` None and `subject` the spec
    destination or owner name; the planner then turns every person routed to that name into a conflict too.
    It lives here, not in the planner, because providers create it and must not import the planner.
    `refs` are, for a spec destination that did not resolve, the places it may name ("campaign:<id>", ...):
    records found there belong to a destination the spec names, so the planner leaves their people alone.
    """

    key: str | None
    reason: ConflictReason
    detail: str
    subject: str | None = None
    refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadCost:
    """How a live read found the workspace, and what it cost: shown in the plan so a reviewer sees the price.

    `outside` is how people the spec routes were found outside the managed destinations: "none" (nobody was
    missing), "contacts" (batched look-ups by email), "workspace" (the whole workspace paged: cheaper when it
    is smaller than the look-ups), or "workspace+contacts" (paging stopped at the look-ups' price, then the
    rest looked up). `calls` counts every read call; `outside_calls` those spent finding people outside;
    `lookup_calls` what look-ups alone would have cost."""

    outside: str = "none"
    calls: int = 0
    outside_calls: int = 0
    lookup_calls: int = 0
    missing: int = 0  # routed people not in any managed destination: the ones searched for outside


DestinationKind = Literal["campaign", "list", "audience"]


@dataclass(frozen=True, slots=True)
class DestinationRef:
    """How the spec names a destination: its kind and a name (or, with `by_id`, an id)."""

    kind: DestinationKind
    value: str
    by_id: bool = False

    def __str__(self) -> str:
        return f"{self.kind}{'_id' if self.by_id else ''} {self.value!r}"


@dataclass(frozen=True, slots=True)
class ResolvedWorkspace:
    """A workspace's records as remote state for one spec, with what resolving the spec's names found: the same
    value from a live read and from a snapshot, whatever the vendor."""

    remote: tuple[RemoteLead, ...]
    managed: frozenset[str]  # destination names that resolved to exactly one place
    conflicts: tuple[Conflict, ...] = ()  # key None, `subject` the spec name (`refs`: where it may point)
    #: managed name -> "campaign:<id>" / "list:<id>" / "audience:<id>"
    destination_refs: Mapping[str, str] = field(default_factory=dict)
    owner_ids: Mapping[str, str] = field(default_factory=dict)  # owner name -> user id
    workspace_id: str = ""  # the account (group) the read was scoped to, where the vendor has one; else ""
    read: ReadCost | None = None  # a live read's strategy and price; None for a snapshot
    unseen: frozenset[str] = frozenset()  # places outside the managed ones the read could not see into (busy)
    #: for display only (never for resolving or planning): the vendor's name of every place the read saw,
    #: "campaign:<id>" / "list:<id>" / "audience:<id>" -> name, and the email of every workspace member, by user id
    place_names: Mapping[str, str] = field(default_factory=dict)
    member_emails: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocked_refs(self) -> frozenset[str]:
        """Places a spec destination that did not resolve may name (ambiguous, a by-id reference that is not
        in the catalogue, an audience still populating): their records are no one's to move. The planner reads
        them from the conflicts' `refs`."""
        return frozenset(ref for c in self.conflicts if c.reason.blocks_destination for ref in c.refs)
