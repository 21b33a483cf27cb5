"""Sonarly API v1: the audiences of one account group, read into remote state; prospects moved between them.

The live account group is read into the snapshot shape (the sandbox seed format) and decoded by the vendor's own
decoder (`leadsync.providers.sonarly_records`), as the Instantly provider does, so a live plan and a plan from a
saved snapshot agree.
Prospects are keyed by LinkedIn public identifier (`publicIdentifier`, else `linkedinUrl`, normalised).

The base URL is the vendor's `https://api.sonarly.io/v1`; a URL without the `/v1` suffix (the sandbox's
`http://127.0.0.1:PORT`) means the same API, so requests always go to `/v1/...`, the paths the vendor documents
and the sandbox serves and counts.

Being populated: an audience a prospecting job is filling is left out of the audience list and answers 409
`AUDIENCE_NOT_READY` everywhere else. Reads and moves wait for such an audience (polling it with backoff, up to
`ready_timeout`); one still busy after that is reported (a DESTINATION_NOT_READY conflict on read,
`DestinationNotReady` on a move), for the caller to re-read and re-plan later.

A move is not idempotent and there are no idempotency keys: after an ambiguous failure (the answer lost, a
5xx), after waiting out a 409, and after a 422, `send` re-reads both audiences and re-sends only the prospects
still in the source, a few rounds at most; then it raises, and a re-read and re-plan settles the rest.
Being populated past `ready_timeout` (DestinationNotReady) and prospects moved by someone else meanwhile
(MovedMeanwhile, the vendor's 422 "not in the source audience") are open outcomes (`OutcomeOpen`): the applier
re-reads and re-plans. A 422 with every prospect still in the source is not explained by the state: the request
itself is refused (WriteRejected), and apply stops with the vendor's words rather than loop.

Errors are the `VendorRefusal`s of `leadsync.providers._sonarly_api` (re-exported here), carrying the vendor's
message, code and traceId: 401 KeyRefused, 402/403 AccessRefused, 404 NotFound,
409 DestinationNotReady, 422 WriteRejected or MovedMeanwhile.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

import httpx

from leadsync.errors import (
    AccessError,
    AccessRefused,
    AmbiguousWrite,
    CredentialsError,
    DestinationNotReady,
    KeyRefused,
    MovedMeanwhile,
    NotFound,
    ProviderError,
    VendorRefusal,
    WriteRejected,
)
from leadsync.progress import SILENT, Progress
from leadsync.providers._http import CallStats, check_base_url
from leadsync.providers._limiter import RateLimiter
from leadsync.providers._paging import OnPage, PageBudget, page_counter, paginate_items
from leadsync.providers._sonarly_api import SonarlyClient, sonarly_message
from leadsync.providers.answers import sonarly_audience, sonarly_moved, sonarly_page, trace_id
from leadsync.providers.base import NewLead, WriteRequest, WriteResult
from leadsync.providers.sonarly_records import (
    AUDIENCE,
    AUDIENCES,
    BASE_URL_SETTING,
    CAPABILITIES,
    GROUPS,
    MOVE,
    MOVE_ENDPOINT,
    PROSPECTS,
    VENDOR,
    decode,
    prospect_key,
)
from leadsync.snapshot import resolve_destinations
from leadsync.state import Capabilities, ConflictReason, DestinationRef, ResolvedWorkspace

__all__ = [
    "BASE_URL",
    "BASE_URL_SETTING",
    "MOVE_ENDPOINT",
    "AccessRefused",
    "DestinationNotReady",
    "KeyRefused",
    "MovedMeanwhile",
    "NotFound",
    "SonarlyProvider",
    "VendorRefusal",
    "WriteRejected",
    "prospect_key",
    "sonarly_message",
]

BASE_URL = "https://api.sonarly.io/v1"
READ_THREADS = 4
#: what each listing holds, for the check of its pages (leadsync.providers.answers)
LISTINGS = {GROUPS: "account groups", AUDIENCES: "audiences", PROSPECTS: "prospects"}
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def _api_root(url: str) -> str:
    """The URL the `/v1/...` paths hang from: the vendor's `https://api.sonarly.io/v1` and the sandbox's
    `http://127.0.0.1:PORT` both name the same API."""
    return url[: -len("/v1")] if urlsplit(url).path.endswith("/v1") else url


def _audience_id(ref: str) -> str:
    kind, _, ident = ref.partition(":")
    if kind != "audience" or not ident:
        raise ProviderError(f"sonarly: {ref!r} is not an audience")
    return ident


# -- the provider --------------------------------------------------------------------------------------------


class SonarlyProvider:
    """Sonarly API v1 behind leadsync's provider interface: one account group; moves only."""

    name = "sonarly"
    capabilities: Capabilities = CAPABILITIES

    def __init__(
        self,
        client: SonarlyClient,
        *,
        account_group: str | None,
        ready_timeout: float = 30.0,
        unlisted_wait: float = 8.0,
        poll: tuple[float, float] = (0.25, 2.0),
        resend_rounds: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.account_group = account_group  # as the spec names it: a name or an id
        self.group_id: str | None = None  # resolved by the first read (or the first write request)
        self.ready_timeout = ready_timeout  # how long to wait for an audience being populated
        self.unlisted_wait = unlisted_wait  # how long to re-list for a managed audience missing from the list
        self.poll = poll  # first and longest pause between polls
        self.resend_rounds = resend_rounds  # re-reads and re-sends of one move after a 409 or a lost answer
        self.sleep, self.clock = sleep, clock
        self._pages = PageBudget()  # renewed by each read of the account group
        self._seen: dict[str, str] = {}  # audience name -> id, from every listing: finds one that starts populating

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    @property
    def origin(self) -> str:
        return self.client.origin

    @classmethod
    def from_environment(
        cls,
        api_key_env: str,
        *,
        account_group: str | None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> SonarlyProvider:
        """The key from `$api_key_env`; the base URL from LEADSYNC_SONARLY_BASE_URL or the vendor's."""
        key = os.environ.get(api_key_env, "").strip()
        if not key:
            raise CredentialsError(f"no API key: set the environment variable {api_key_env} (named by the spec)")
        url = check_base_url(base_url or os.environ.get(BASE_URL_SETTING) or BASE_URL, setting=BASE_URL_SETTING)
        return cls.connect(url, key, f"${api_key_env}", account_group=account_group, transport=transport,
                           max_rate=max_rate, progress=progress)  # fmt: skip

    @classmethod
    def connect(
        cls,
        base_url: str,
        api_key: str,
        key_source: str,
        *,
        account_group: str | None,
        transport: httpx.BaseTransport | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> SonarlyProvider:
        caps = VENDOR.capped(max_rate)
        limiter = RateLimiter(caps.requests_per_second, caps.requests_per_minute)
        client = SonarlyClient(_api_root(base_url.rstrip("/")), api_key, key_source=key_source, limiter=limiter,
                               transport=transport, progress=progress)  # fmt: skip
        return cls(client, account_group=account_group)

    def close(self) -> None:
        self.client.close()

    # -- reading ------------------------------------------------------------------------------------------

    def _listing(self, path: str, template: str, on_page: OnPage | None = None) -> list[dict[str, Any]]:
        endpoint, size = f"GET {template}", self.capabilities.page_size

        def fetch(cursor: str | None) -> Mapping[str, Any]:
            params: dict[str, Any] = {"limit": size}
            if cursor:
                params["cursor"] = cursor
            return sonarly_page(self.client.read("GET", path, endpoint=endpoint, params=params), endpoint,
                                LISTINGS[template])  # fmt: skip

        return paginate_items(fetch, cursor_field="nextCursor", limit=size, endpoint=f"sonarly: {endpoint}",
                              budget=self._pages, on_page=on_page)  # fmt: skip

    def identity(self) -> str:
        """`sonarly:<account group id>`: the group the spec names, resolved as every request resolves it (by id
        or by name, among the groups the key sees), so that its name and its id are one workspace."""
        return f"sonarly:{self._group()}"

    def _groups(self) -> list[dict[str, Any]]:
        groups = self._listing(GROUPS, GROUPS)
        self.group_id = self._pick_group(groups)
        return groups

    def _group(self) -> str:
        if self.group_id is None:
            self._groups()
        assert self.group_id is not None
        return self.group_id

    def _pick_group(self, groups: list[dict[str, Any]]) -> str:
        """The account group the spec names, by id or by name; exactly one, or a clear error."""
        wanted = self.account_group
        ids = sorted(str(g.get("id")) for g in groups)
        if wanted is None:
            if len(ids) == 1:
                return ids[0]
            raise ProviderError(f"sonarly: the key in {self.client.key_source} sees {len(ids)} account groups; "
                                "the spec must name one (workspace.account_group)")  # fmt: skip
        if wanted in ids:
            return wanted
        named = sorted({str(g.get("id")) for g in groups if g.get("name") == wanted})
        if len(named) == 1:
            return named[0]
        if named:
            raise ProviderError(f"sonarly: {len(named)} account groups are named {wanted!r} ({', '.join(named)}): "
                                "name it by id")  # fmt: skip
        visible = ", ".join(repr(g.get("name")) for g in groups[:10]) or "none"
        raise AccessError(f"sonarly: no account group {wanted!r} is visible to the key in "
                          f"{self.client.key_source} (it sees: {visible})")  # fmt: skip

    def _path(self, template: str, audience_id: str = "") -> str:
        return template.replace("{accountGroupId}", self._group()).replace("{audienceId}", audience_id)

    def _audiences(self) -> dict[str, dict[str, Any]]:
        """The ready audiences of the group (the list leaves out those being populated), by id."""
        found = {str(a.get("id")): a for a in self._listing(self._path(AUDIENCES), AUDIENCES)}
        self._seen.update({str(a.get("name")): ident for ident, a in found.items()})
        return found

    def _pauses(self, deadline: float) -> Iterator[None]:
        """Sleeps between polls, growing from `poll[0]` to `poll[1]`, as long as the next ends before `deadline`."""
        pause = self.poll[0]
        while self.clock() + pause <= deadline:
            self.sleep(pause)
            yield
            pause = min(self.poll[1], pause * 2)

    def _await_ready(self, audience_id: str, deadline: float) -> dict[str, Any]:
        """The audience once it is no longer being populated; DestinationNotReady when the deadline comes first."""
        busy: DestinationNotReady | None = None
        for _ in chain([None], self._pauses(deadline)):
            try:
                found = self.client.read("GET", self._path(AUDIENCE, audience_id), endpoint=f"GET {AUDIENCE}")
            except DestinationNotReady as error:
                busy = error
                continue
            return sonarly_audience(found, f"GET {AUDIENCE}")
        assert busy is not None
        raise busy.after(f"still so after waiting {self.ready_timeout:g} s")

    def _prospects(self, audience_id: str, part: str | None = None) -> list[dict[str, Any]] | None:
        """Every prospect of an audience; None when it is being populated past `ready_timeout`. `part`: a managed
        audience's spec names, under which its pages and prospects are counted (`leadsync.progress`)."""
        deadline, progress = self.clock() + self.ready_timeout, self.client.progress
        while True:
            try:
                found = self._listing(self._path(PROSPECTS, audience_id), PROSPECTS,
                                      page_counter(progress, part) if part else None)  # fmt: skip
                if part:
                    progress.advanced("destinations", part=part)
                return found
            except DestinationNotReady:
                if self.clock() > deadline:
                    return None
                try:
                    self._await_ready(audience_id, deadline)
                except DestinationNotReady:
                    return None

    def _find_unlisted(
        self, destinations: Mapping[str, DestinationRef], audiences: dict[str, dict[str, Any]]
    ) -> dict[str, str]:
        """Look for the managed audiences the list left out, adding them to `audiences` (`populating` when still
        busy after `ready_timeout`). Answers the names that stayed missing, with what was done to find them."""
        _, conflicts = resolve_destinations(destinations, {"audience": audiences.values()})
        unknown = {c.subject: destinations[c.subject] for c in conflicts
                   if c.reason is ConflictReason.UNKNOWN_DESTINATION and c.subject is not None}  # fmt: skip
        names = {ref.value for ref in unknown.values() if not ref.by_id and ref.value not in self._seen}
        ids = {ref.value if ref.by_id else self._seen[ref.value] for ref in unknown.values()
               if ref.by_id or ref.value in self._seen}  # fmt: skip
        for ident in sorted(i for i in ids if _OBJECT_ID.fullmatch(i)):
            try:
                audiences[ident] = self._await_ready(ident, self.clock() + self.ready_timeout)
            except DestinationNotReady:
                name = next((n for n, i in self._seen.items() if i == ident), None)
                audiences[ident] = {"id": ident, "name": name, "populating": True}
            except NotFound:
                pass  # gone, or another group's: unknown, as the resolution says
        for _ in self._pauses(self.clock() + self.unlisted_wait):
            if not names - {str(a.get("name")) for a in audiences.values()}:
                break
            audiences.update({i: a for i, a in self._audiences().items() if i not in audiences})
        found = {str(a.get("name")) for a in audiences.values()}
        return {  # the spec names that stayed missing, and what was done to find them
            name: f"not listed after {self.unlisted_wait:g} s: absent, or being populated by a prospecting job"
            for name, ref in unknown.items()
            if not ref.by_id and ref.value in names and ref.value not in found
        }

    def _others(
        self, audiences: dict[str, dict[str, Any]], destinations: Mapping[str, DestinationRef], managed: Collection[str]
    ) -> list[str]:
        """The group's unmanaged audiences, to look for people in. Listed again (one being populated a moment ago
        may be back) and any seen before but missing now waited for, so that a person is not missed for the sake
        of a short prospecting job; one a destination names is left as the resolution left it."""
        found = {i: a for i, a in self._audiences().items() if i not in audiences}
        for ident in sorted(set(self._seen.values()) - set(audiences) - set(found)):
            try:
                found[ident] = self._await_ready(ident, self.clock() + self.ready_timeout)
            except DestinationNotReady:  # unreadable: whoever is in it cannot be seen, and the read says so
                name = next((n for n, i in self._seen.items() if i == ident), None)
                found[ident] = {"id": ident, "name": name, "populating": True}
            except NotFound:
                pass  # gone: nobody can be found there
        named = {(ref.by_id, ref.value) for ref in destinations.values()}
        for ident, audience in found.items():
            if (True, ident) not in named and (False, audience.get("name")) not in named:
                audiences[ident] = audience
        return sorted(i for i, a in audiences.items() if i not in managed and not a.get("populating"))

    def read(
        self,
        *,
        destinations: Mapping[str, DestinationRef],
        owners: Mapping[str, str],
        wanted: Iterable[str] = (),
    ) -> ResolvedWorkspace:
        """The managed audiences' prospects, and those of `wanted` people found in the group's other audiences."""
        data, missing = self._read(destinations, wanted)
        resolved = decode(data, destinations=destinations, owners=owners, account_group=self._group(),
                          source="the Sonarly account group")  # fmt: skip
        if not missing:
            return resolved
        conflicts = tuple(
            replace(c, detail=f"{c.detail} ({missing[c.subject]})") if c.subject in missing else c
            for c in resolved.conflicts
        )
        return replace(resolved, conflicts=conflicts)

    def read_data(self, *, destinations: Mapping[str, DestinationRef], wanted: Iterable[str] = ()) -> dict[str, Any]:
        """What `read` sees, in the snapshot (sandbox seed) format, with no keys: for `leadsync snapshot`."""
        return {"api_keys": [], **self._read(destinations, wanted)[0]}

    def _read(
        self, destinations: Mapping[str, DestinationRef], wanted: Iterable[str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        self._pages = PageBudget()  # one budget for every listing of this read
        groups = self._groups()
        audiences = self._audiences()
        missing = self._find_unlisted(destinations, audiences)
        ready = [a for a in audiences.values() if not a.get("populating")]
        refs, _ = resolve_destinations(destinations, {"audience": ready})
        managed = sorted({_audience_id(ref) for ref in refs.values()})
        records: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(READ_THREADS) as pool:
            names = {i: ", ".join(sorted(n for n, r in refs.items() if _audience_id(r) == i)) for i in managed}
            for ident, batch in zip(managed, pool.map(lambda i: self._prospects(i, names[i]), managed), strict=True):
                if batch is None:
                    audiences[ident] = {**audiences[ident], "populating": True}
                for prospect in batch or ():
                    records.setdefault(str(prospect.get("id")), {**prospect, "audience_id": ident})
            # no search by person exists: people found in no managed audience are looked for in the others
            lost = set(wanted) - {prospect_key(p) for p in records.values()}
            others = self._others(audiences, destinations, managed) if lost else []
            for ident, batch in zip(others, pool.map(self._prospects, others), strict=True):
                for prospect in batch or ():
                    if prospect_key(prospect) in lost:
                        records.setdefault(str(prospect.get("id")), {**prospect, "audience_id": ident})
        group = self._group()
        data = {
            "account_groups": [{"id": str(g.get("id")), "name": g.get("name")} for g in groups],
            "audiences": [
                {"id": i, "name": a.get("name"), "account_group_id": group, "populating": bool(a.get("populating"))}
                for i, a in audiences.items()
            ],
            "prospects": list(records.values()),
        }
        return data, missing

    # -- writing ------------------------------------------------------------------------------------------

    def move_request(
        self, *, ids: Sequence[str], keys: Sequence[str], source: str, target: str, owner_id: str | None = None
    ) -> WriteRequest:
        """`POST .../audiences/{source}/move-leads` with `targetAudienceId` and `leadIds` (the vendor's fields)."""
        if owner_id is not None:
            raise ProviderError("sonarly: a move cannot set an owner: Sonarly has no owners")
        if not ids or any(not isinstance(i, str) or not i for i in ids):
            raise ProviderError("sonarly: refusing to send a move without prospect ids")
        origin, destination = _audience_id(source), _audience_id(target)
        if origin == destination:
            raise ProviderError(f"sonarly: a move from {source} to itself")
        body = {"targetAudienceId": destination, "leadIds": list(ids)}
        summary = f"move {len(ids)} prospect{'s' if len(ids) != 1 else ''} {source} -> {target}"
        return WriteRequest("POST", self._path(MOVE, origin), MOVE_ENDPOINT, body, summary, tuple(keys))

    def add_request(self, *, target: str, leads: Sequence[NewLead]) -> WriteRequest:
        raise ProviderError("sonarly: the API cannot add people to an audience (prospects arrive only through "
                            "paid prospecting jobs)")  # fmt: skip

    def assign_request(
        self, *, ids: Sequence[str], keys: Sequence[str], destination: str, owner_id: str
    ) -> WriteRequest:
        raise ProviderError("sonarly: prospects have no owners to assign")

    def remove_request(self, *, ids: Sequence[str], keys: Sequence[str], destination: str) -> WriteRequest:
        raise ProviderError("sonarly: the API cannot remove prospects from an audience")

    def send(self, request: WriteRequest) -> WriteResult:
        """Send a move. A 429 is waited out (the client); a 409 AUDIENCE_NOT_READY is waited out here, and a lost
        answer or a 422 settled by reading both audiences back: only the prospects still in the source are sent
        again. Prospects found in neither audience were moved by someone else: MovedMeanwhile, once the rest is
        moved. A 422 with every prospect still in the source is a refusal re-sending cannot change: WriteRejected."""
        if request.endpoint != MOVE_ENDPOINT:
            raise ProviderError(f"sonarly: cannot send {request.endpoint}")
        source, target = request.path.rsplit("/", 2)[-2], str(request.body["targetAudienceId"])
        current, moved, rounds, elsewhere = request, 0, 0, 0
        while True:
            refused: WriteRejected | None = None
            try:
                envelope = self.client.write("POST", current.path, endpoint=MOVE_ENDPOINT, json=dict(current.body))
            except DestinationNotReady:
                if rounds >= self.resend_rounds:
                    raise
                deadline = self.clock() + self.ready_timeout
                self._await_ready(source, deadline)
                self._await_ready(target, deadline)
            except AmbiguousWrite:
                if rounds >= self.resend_rounds:
                    raise
            except WriteRejected as error:
                refused = error
            else:
                moved += sonarly_moved(envelope, MOVE_ENDPOINT)
                return self._moved(request, moved, rounds, elsewhere, trace_id(envelope))
            ids = [str(i) for i in current.body["leadIds"]]
            remaining, arrived = self._settle(current, source, target)
            if refused is not None and len(remaining) == len(ids):
                raise refused  # every prospect is where the request says: the refusal is about the request
            moved += arrived
            elsewhere += len(ids) - len(remaining) - arrived
            if not remaining:
                return self._moved(request, moved, rounds + 1, elsewhere, None)
            if rounds >= self.resend_rounds:  # only after a 422: the other failures re-raise above
                raise MovedMeanwhile(f"{refused}; {len(remaining)} still in the source after {rounds + 1} "
                                     "attempts", cause=refused)  # fmt: skip
            rounds += 1
            current = replace(current, body={**current.body, "leadIds": remaining})

    def _moved(self, request: WriteRequest, moved: int, rounds: int, elsewhere: int, trace: Any) -> WriteResult:
        """The result of a move that is done; MovedMeanwhile when some of its prospects went elsewhere (someone
        else moved them), for the re-read and re-plan to see where they are now."""
        if elsewhere:
            raise MovedMeanwhile(f"sonarly: {MOVE_ENDPOINT}: {elsewhere} of {len(request.body['leadIds'])} prospects "
                                 f"left the source meanwhile, for another audience or deleted ({request.summary}; "
                                 f"{moved} moved)")  # fmt: skip
        return WriteResult(request, answer={"movedCount": moved, "traceId": trace, "resent": rounds})

    def _settle(self, request: WriteRequest, source: str, target: str) -> tuple[list[str], int]:
        """(ids of the request still in the source, how many are in the target) from reading both audiences;
        an id in neither was moved or deleted by someone else and is not sent again."""
        with ThreadPoolExecutor(2) as pool:
            here, there = pool.map(self._prospects, [source, target])
        if here is None or there is None:
            raise DestinationNotReady(f"sonarly: a move from audience:{source} to audience:{target} cannot be checked: "
                                   f"an audience is still being populated after {self.ready_timeout:g} s",
                                   status=409, code="AUDIENCE_NOT_READY", message="", trace_id=None)  # fmt: skip
        in_source = {str(p.get("id")) for p in here}
        in_target = {str(p.get("id")) for p in there}
        ids = [str(i) for i in request.body["leadIds"]]
        return [i for i in ids if i in in_source], sum(1 for i in ids if i in in_target)

    def wait(self, result: WriteResult) -> None:
        """Nothing: move-leads answers once the prospects are moved."""
