"""The vendors' answers as leadsync reads them: typed shapes, checked at the provider's edge.

Every 2xx answer a provider reads goes through one of the checks below before any of it is used, so that a vendor
answering the wrong shape (a list for a page, a lead without an id, a cursor that is an object) is one line naming
the vendor, the endpoint and what was wrong, not an AttributeError three calls later:

    instantly: POST /api/v2/leads/list: the answer is not a page of leads: items[3].id: missing

Strict where leadsync relies on a field (an id is a non-empty string; an email, an owner, a cursor a string or
null: never coerced), lenient where the vendor is (fields leadsync does not read may be anything, and optional
ones null or absent). The shapes are TypedDicts validated by pydantic and only *checked*: the vendor's own dict is
passed on, whole, so the snapshot keeps every field it sent, and a page of 100 records costs a few microseconds
(validating 100,000 leads takes ~45 ms, a tenth of parsing their JSON; the model alternatives measured 3 to 5
times that). The types follow the vendor's OpenAPI document (schemas/vendor/instantly-v2-leads-subset.openapi.json)
and Sonarly's documented envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, NotRequired, TypeVar, cast

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from leadsync.errors import WrongAnswer

#: strict: a number is no string and 1 is no `true`; extra fields are ignored by the check (and kept by the caller)
_STRICT = ConfigDict(strict=True)
Id = Annotated[str, Field(min_length=1)]
#: an id leadsync puts in a URL path (a job, an account group, an audience) or a lock's name (a workspace):
#: the vendors' are hex or UUIDs; one with a slash or a dot could make a request to another path
PLAIN_ID = r"^[A-Za-z0-9_-]{1,100}$"
PathId = Annotated[str, Field(pattern=PLAIN_ID)]
Count = Annotated[int, Field(ge=0)]
T = TypeVar("T")


# -- Instantly API v2 -------------------------------------------------------------------------------------------


class InstantlyLead(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: Id
    email: NotRequired[str | None]
    assigned_to: NotRequired[str | None]  # a user id
    campaign: NotRequired[str | None]
    list_id: NotRequired[str | None]


class InstantlyPlace(TypedDict):
    """A campaign or a lead list."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: Id
    name: NotRequired[str | None]


class InstantlyMember(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    user_id: Id  # what a lead's assigned_to names (the membership's own `id` is not read)
    email: NotRequired[str | None]
    workspace_id: NotRequired[str | None]  # the vendor's schema; organization(_id) as other records spell it
    organization_id: NotRequired[str | None]
    organization: NotRequired[str | None]


class InstantlyPage(TypedDict, Generic[T]):
    """`{items, next_starting_after}`: every listing of the API."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    items: list[T]
    next_starting_after: NotRequired[str | None]


class InstantlyMove(TypedDict):
    """`POST /leads/move` answers the background job it started: its id is what leadsync waits on."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: PathId  # polled at /api/v2/background-jobs/{id}


class InstantlyJob(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: Id
    status: PathId  # pending, in-progress, success, failed (newer: draining, paused, cancelled): a plain word
    progress: NotRequired[Any]  # only paces the polls: anything but a number in 0..100 is ignored there
    data: NotRequired[Any]


# -- Sonarly API v1 ---------------------------------------------------------------------------------------------


class SonarlyGroup(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: PathId  # in every path: /v1/accounts/{accountGroupId}/...
    name: NotRequired[str | None]


class SonarlyAudience(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: PathId
    name: NotRequired[str | None]
    populating: NotRequired[bool | None]


class SonarlyProspect(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    id: Id
    publicIdentifier: NotRequired[str | None]  # the lead key, else the one in linkedinUrl
    linkedinUrl: NotRequired[str | None]


class SonarlyPage(TypedDict, Generic[T]):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    items: list[T]
    nextCursor: NotRequired[str | None]
    hasMore: NotRequired[bool | None]


class SonarlyMoved(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]
    movedCount: Count


class SonarlyEnvelope(TypedDict, Generic[T]):
    """`{success, data, error, traceId}`; the client has already refused an envelope that is not one, or not
    `success: true`."""

    __pydantic_config__ = _STRICT  # type: ignore[misc]
    data: T


# -- the checks -------------------------------------------------------------------------------------------------

_INSTANTLY_PAGES: dict[str, TypeAdapter[Any]] = {
    "leads": TypeAdapter(InstantlyPage[InstantlyLead]),
    "campaigns": TypeAdapter(InstantlyPage[InstantlyPlace]),
    "lists": TypeAdapter(InstantlyPage[InstantlyPlace]),
    "workspace members": TypeAdapter(InstantlyPage[InstantlyMember]),
}
_SONARLY_PAGES: dict[str, TypeAdapter[Any]] = {
    "account groups": TypeAdapter(SonarlyEnvelope[SonarlyPage[SonarlyGroup]]),
    "audiences": TypeAdapter(SonarlyEnvelope[SonarlyPage[SonarlyAudience]]),
    "prospects": TypeAdapter(SonarlyEnvelope[SonarlyPage[SonarlyProspect]]),
}
_MOVE = TypeAdapter(InstantlyMove)
_JOB = TypeAdapter(InstantlyJob)
_OBJECT: TypeAdapter[Any] = TypeAdapter(dict[str, Any])
_AUDIENCE = TypeAdapter(SonarlyEnvelope[SonarlyAudience])
_MOVED = TypeAdapter(SonarlyEnvelope[SonarlyMoved])


def instantly_page(answer: Any, endpoint: str, what: str) -> InstantlyPage[dict[str, Any]]:
    """A page of `what` (leads, campaigns, lists, workspace members), as the vendor sent it."""
    return cast("InstantlyPage[dict[str, Any]]", _checked(_INSTANTLY_PAGES[what], answer, "instantly", endpoint,
                                                          f"a page of {what}"))  # fmt: skip


def instantly_move_job(answer: Any, endpoint: str) -> str:
    """The id of the background job a move started."""
    return cast(InstantlyMove, _checked(_MOVE, answer, "instantly", endpoint, "a background job"))["id"]


def instantly_job(answer: Any, endpoint: str) -> InstantlyJob:
    """A background job, polled."""
    return cast(InstantlyJob, _checked(_JOB, answer, "instantly", endpoint, "a background job"))


def instantly_write(answer: Any, endpoint: str) -> dict[str, Any]:
    """The answer of an add, a delete or a bulk-assign: an object (none at all is taken as an empty one). What it
    holds (an add's counts, bulk-assign's `status`) is kept, not checked: nothing is decided on it, and the
    write has happened, so a count spelt `1.0` must not stop the apply."""
    if answer is None:
        return {}
    return cast("dict[str, Any]", _checked(_OBJECT, answer, "instantly", endpoint, "an object"))


def sonarly_page(envelope: Any, endpoint: str, what: str) -> SonarlyPage[dict[str, Any]]:
    """The page of `what` (account groups, audiences, prospects) in a success envelope."""
    checked = _checked(_SONARLY_PAGES[what], envelope, "sonarly", endpoint, f"a page of {what}")
    return cast("SonarlyPage[dict[str, Any]]", checked["data"])


def sonarly_audience(envelope: Any, endpoint: str) -> dict[str, Any]:
    """One audience, asked for by id."""
    return cast("dict[str, Any]", _checked(_AUDIENCE, envelope, "sonarly", endpoint, "an audience")["data"])


def sonarly_moved(envelope: Any, endpoint: str) -> int:
    """How many prospects a move-leads moved."""
    return cast(int, _checked(_MOVED, envelope, "sonarly", endpoint, "the count of a move")["data"]["movedCount"])


def trace_id(envelope: Any) -> str | None:
    """The envelope's traceId, for messages and results, when it is a short string (it is not relied on)."""
    trace = envelope.get("traceId") if isinstance(envelope, Mapping) else None
    return trace[:100] if isinstance(trace, str) and trace else None


def _checked(adapter: TypeAdapter[Any], answer: Any, vendor: str, endpoint: str, what: str) -> Any:
    """`answer` itself (not pydantic's copy: the fields leadsync does not read are kept), once it has the shape."""
    if answer is None:  # the client's reading of an empty body (and of a JSON null)
        raise WrongAnswer(f"{vendor}: {endpoint}: the answer is not {what}: it is empty (or null)")
    try:
        adapter.validate_python(answer)
    except ValidationError as error:
        raise WrongAnswer(f"{vendor}: {endpoint}: the answer is not {what}: {describe(error)}") from None
    return answer


# -- saying what was wrong, in one line and without the values (a vendor's text is never echoed) -----------------

_PROBLEMS: Mapping[str, str] = {
    "missing": "missing",
    "string_type": "not a string",
    "string_too_short": "empty",
    "string_pattern_mismatch": "not a plain id (letters, digits, - and _, at most 100)",
    "list_type": "not a list",
    "dict_type": "not an object",
    "model_type": "not an object",
    "typed_dict_type": "not an object",
    "bool_type": "not true or false",
    "int_type": "not a whole number",
    "greater_than_equal": "negative",
}

_SAID = frozenset({"missing", "string_too_short", "string_pattern_mismatch", "greater_than_equal"})


def describe(error: ValidationError) -> str:
    """The first problem as `where: what (what was found)`, and how many more there are."""
    problems = error.errors(include_url=False, include_context=False)
    first = problems[0]
    where = _where(first["loc"])
    what = _PROBLEMS.get(first["type"], first["msg"].lower())
    found = "" if first["type"] in _SAID else kind(first["input"])
    text = f"{where}: {what} ({found})" if where and found else f"{where}: {what}" if where else f"it is {found}"
    more = len(problems) - 1
    return text + (f" (and {more} more problem{'s' if more != 1 else ''})" if more else "")


def _where(loc: tuple[int | str, ...]) -> str:
    """`items[3].id` from pydantic's ('items', 3, 'id')."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def kind(value: Any) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
