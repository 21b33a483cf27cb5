"""Instantly API v2: reads the workspace a spec manages into remote state.

The live workspace is read into the same shape as a snapshot (the sandbox seed format) and decoded by the
vendor's own decoder (`leadsync.providers.instantly_records`), so a plan from a live read and a plan from a
saved snapshot agree by construction.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx

from leadsync.errors import (
    AssignNotVisible,
    CredentialsError,
    JobFailed,
    JobStalled,
    PageBudgetSpent,
    ProviderError,
)
from leadsync.progress import SILENT, Progress
from leadsync.providers._http import CallStats, VendorClient, check_base_url, error_body
from leadsync.providers._limiter import RateLimiter
from leadsync.providers._paging import MAX_PAGES, OnPage, PageBudget, page_counter, paginate_items
from leadsync.providers.answers import PLAIN_ID, instantly_job, instantly_move_job, instantly_page, instantly_write
from leadsync.providers.base import NewLead, WriteRequest, WriteResult
from leadsync.providers.instantly_records import (
    ADD,
    ASSIGN,
    BASE_URL_SETTING,
    CAPABILITIES,
    JOB_POLL,
    LIST_LEADS,
    MOVE,
    REMOVE,
    VENDOR,
    decode,
)
from leadsync.snapshot import resolve_destinations
from leadsync.state import Capabilities, DestinationRef, ReadCost, ResolvedWorkspace, normalise_email

BASE_URL = "https://api.instantly.ai"
PAGE = 100
CONTACTS_PER_LOOKUP = 100  # emails per `contacts` look-up; the API documents no maximum
READ_THREADS = 8  # a destination is read page after page (a cursor): one thread each, so they overlap
MEMBERS = "/api/v2/workspace-members"
#: what each listing holds, for the check of its pages (leadsync.providers.answers)
LISTINGS = {"/api/v2/campaigns": "campaigns", "/api/v2/lead-lists": "lists", MEMBERS: "workspace members"}
#: where a workspace member's record names its workspace: the vendor's schema says workspace_id; other records
#: of the API spell it organization_id (lists) and organization (leads, campaigns)
WORKSPACE_ID_FIELDS = ("workspace_id", "organization_id", "organization")
#: vendor Lead fields an added lead may carry at the top level; any other spec attribute goes to custom_variables
LEAD_FIELDS = frozenset({"first_name", "last_name", "company_name", "job_title", "phone", "website", "personalization"})


def instantly_message(response: httpx.Response) -> str:
    """The vendor's own words: `message` of `{statusCode, error, message}` (bulk-assign's 400 is `{message}`)."""
    body = error_body(response)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str):
        return message
    return response.reason_phrase or f"HTTP {response.status_code}"


class InstantlyProvider:
    """Instantly API v2 behind leadsync's provider interface (reads, for now)."""

    name = "instantly"
    capabilities: Capabilities = CAPABILITIES

    def __init__(
        self,
        client: VendorClient,
        *,
        job_timeout: float = 300.0,
        poll: tuple[float, float] = (0.1, 2.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.job_timeout = job_timeout  # a job not done by then is stalled: its outcome is settled by a re-read
        self.poll = poll  # first and longest pause between polls; small jobs finish well under a second
        self.sleep, self.clock = sleep, clock
        self.read_threads = READ_THREADS  # destinations read at once (1: one request at a time, in one order)
        self._pages = PageBudget()  # renewed by each read of the workspace
        self._identity: str | None = None  # the workspace's id as the vendor reports it, once seen

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
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> InstantlyProvider:
        """The key from `$api_key_env`; the base URL from LEADSYNC_INSTANTLY_BASE_URL or the vendor's."""
        key = os.environ.get(api_key_env, "").strip()
        if not key:
            raise CredentialsError(f"no API key: set the environment variable {api_key_env} (named by the spec)")
        url = base_url or os.environ.get(BASE_URL_SETTING) or BASE_URL
        return cls.connect(check_base_url(url, setting=BASE_URL_SETTING), key, f"${api_key_env}", transport=transport,
                           max_rate=max_rate, progress=progress)  # fmt: skip

    @classmethod
    def connect(
        cls,
        base_url: str,
        api_key: str,
        key_source: str,
        *,
        transport: httpx.BaseTransport | None = None,
        max_rate: float | None = None,
        progress: Progress = SILENT,
    ) -> InstantlyProvider:
        """A provider of the workspace at `base_url`; `max_rate` caps its requests per second below the vendor's;
        `progress` is told of its calls and of the pages and leads its reads find."""
        caps = VENDOR.capped(max_rate)
        limiter = RateLimiter(caps.requests_per_second, caps.requests_per_minute)
        client = VendorClient(
            base_url, api_key, vendor="instantly", key_source=key_source, limiter=limiter,
            message_of=instantly_message, transport=transport, progress=progress,
        )  # fmt: skip
        return cls(client)

    def close(self) -> None:
        self.client.close()

    # -- reading ------------------------------------------------------------------------------------------

    def _listing(self, path: str) -> list[dict[str, Any]]:
        endpoint = f"GET {path}"

        def fetch(cursor: str | None) -> Mapping[str, Any]:
            params: dict[str, Any] = {"limit": PAGE}
            if cursor:
                params["starting_after"] = cursor
            return instantly_page(self.client.read("GET", path, endpoint=endpoint, params=params), endpoint,
                                  LISTINGS[path])  # fmt: skip

        return paginate_items(fetch, cursor_field="next_starting_after", limit=PAGE, endpoint=f"instantly: {endpoint}",
                              budget=self._pages)  # fmt: skip

    def _leads(
        self,
        selector: Mapping[str, Any],
        max_pages: int | None = None,
        most_pages: int = MAX_PAGES,
        bound: str = "",
        on_page: OnPage | None = None,
    ) -> list[dict[str, Any]]:
        endpoint = LIST_LEADS

        def fetch(cursor: str | None) -> Mapping[str, Any]:
            body = {**selector, "limit": PAGE}
            if cursor:
                body["starting_after"] = cursor
            return instantly_page(self.client.read("POST", "/api/v2/leads/list", endpoint=endpoint, json=body),
                                  endpoint, "leads")  # fmt: skip

        return paginate_items(fetch, cursor_field="next_starting_after", max_pages=max_pages, limit=PAGE,
                              endpoint=f"instantly: {endpoint}", most_pages=most_pages, bound=bound,
                              budget=self._pages, on_page=on_page)  # fmt: skip

    def _destination(self, selector: Mapping[str, Any], names: str) -> list[dict[str, Any]]:
        """A managed destination's leads, counted as they come (`leadsync.progress`) under its spec `names`."""
        found = self._leads(selector, on_page=page_counter(self.client.progress, names))
        self.client.progress.advanced("destinations", part=names)
        return found

    def identity(self) -> str:
        """`instantly:<workspace id>`, the id the vendor gives the workspace the key is bound to (a workspace
        member's `workspace_id`): the same for every spelling of the base URL and every copy of the key. Taken
        from the read's member listing when there was one; else one call for a single member."""
        if self._identity is None:
            endpoint = f"GET {MEMBERS}"
            page = instantly_page(self.client.read("GET", MEMBERS, endpoint=endpoint, params={"limit": 1}),
                                  endpoint, "workspace members")  # fmt: skip
            found = _workspace_id(page["items"])
            if found is None:
                what = "lists no workspace members" if not page["items"] else "has no workspace_id"
                raise ProviderError(f"instantly: {endpoint}: no workspace id: the answer {what}, so the workspace "
                                    "cannot be told apart from another (for its apply lock)")  # fmt: skip
            if not re.fullmatch(PLAIN_ID, found):
                raise ProviderError(f"instantly: {endpoint}: the workspace id the answer reports is not a plain id "
                                    "(letters, digits, - and _, at most 100)")  # fmt: skip
            self._identity = found
        return f"instantly:{self._identity}"

    def read(
        self,
        *,
        destinations: Mapping[str, DestinationRef],
        owners: Mapping[str, str],
        wanted: Iterable[str] = (),
    ) -> ResolvedWorkspace:
        """The managed destinations' leads, and the records of `wanted` people found anywhere else."""
        data, cost = self._read(destinations, wanted)
        resolved = decode(data, destinations=destinations, owners=owners, source="the Instantly workspace")
        return replace(resolved, read=cost)

    def read_data(self, *, destinations: Mapping[str, DestinationRef], wanted: Iterable[str] = ()) -> dict[str, Any]:
        """What `read` sees, in the snapshot (sandbox seed) format, with no keys: for `leadsync snapshot`."""
        return {"api_keys": [], **self._read(destinations, wanted)[0]}

    def _calls(self) -> int:
        return sum(self.client.stats.calls.values())

    def _read(
        self, destinations: Mapping[str, DestinationRef], wanted: Iterable[str]
    ) -> tuple[dict[str, Any], ReadCost]:
        calls_before = self._calls()
        self._pages = PageBudget()  # one budget for every listing of this read
        with ThreadPoolExecutor(self.read_threads) as pool:
            campaigns, lists, members = pool.map(self._listing, list(LISTINGS))
            found = _workspace_id(members)
            if self._identity is None and found and re.fullmatch(PLAIN_ID, found):
                self._identity = found  # identity() then costs no call
            refs, _ = resolve_destinations(destinations, {"campaign": campaigns, "list": lists})
            selectors = [
                {"campaign": ref.split(":", 1)[1]} if ref.startswith("campaign:") else {"list_id": ref.split(":", 1)[1]}
                for ref in sorted(set(refs.values()))
            ]
            names = [", ".join(sorted(n for n, r in refs.items() if r == ref)) for ref in sorted(set(refs.values()))]
            records: dict[str, dict[str, Any]] = {}
            for batch in pool.map(self._destination, selectors, names):
                for lead in batch:
                    records.setdefault(str(lead["id"]), lead)
            outside_before = self._calls()
            missing = _missing(wanted, records.values())
            strategy = self._find_outside(pool, missing, records, managed_records=len(records),
                                          places=len(campaigns) + len(lists))  # fmt: skip
        calls = self._calls()
        cost = ReadCost(outside=strategy, calls=calls - calls_before, outside_calls=calls - outside_before,
                        lookup_calls=lookup_price(len(missing)), missing=len(missing))  # fmt: skip
        data = {
            "members": [{"user_id": m.get("user_id"), "email": m.get("email")} for m in members],
            "campaigns": [{"id": c.get("id"), "name": c.get("name")} for c in campaigns],
            "lists": [{"id": item.get("id"), "name": item.get("name")} for item in lists],
            "leads": list(records.values()),
        }
        return data, cost

    def _find_outside(
        self,
        pool: ThreadPoolExecutor,
        missing: list[str],
        records: dict[str, dict[str, Any]],
        *,
        managed_records: int,
        places: int,
    ) -> str:
        """Find the records of `missing` people outside the managed destinations, into `records`, by the
        cheaper way; returns which.

        A look-up of 100 people costs two calls (its page, and the empty page that ends every listing). Paging
        the whole workspace costs a call per 100 leads in it, a number the API does not tell. It is at least
        the managed destinations' pages, so when those alone reach the look-ups' price, look-ups win outright.
        Otherwise the workspace is paged, but only up to half the look-ups' price: a workspace that small is
        found whole and cheaply (a first sync of a big list into a small workspace); a larger one stops there,
        and everyone missing is looked up. A wrong guess costs at most half again the look-ups."""
        price = lookup_price(len(missing))
        if not price:
            return "none"
        budget = price // 2
        strategy = "contacts"
        if budget >= 2 and managed_records // PAGE + 1 <= budget:  # the fewest pages a listing can take
            try:
                everyone = self._leads({}, max_pages=budget)
                strategy = "workspace"
            except PageBudgetSpent as spent:
                everyone = spent.items
                strategy = "workspace+contacts"
            wanted = set(missing)  # the rest of the workspace is not ours to know: both ways read the same
            for lead in everyone:
                if normalise_email(lead.get("email")) in wanted:
                    records.setdefault(str(lead["id"]), lead)
            if strategy == "workspace":
                return strategy
            # pages read so far can add records, never prove that someone has no other one: everyone missing
            # is looked up, as if the workspace had not been paged (a person's protected record may come later)
        batches = [
            {"contacts": missing[i : i + CONTACTS_PER_LOOKUP]} for i in range(0, len(missing), CONTACTS_PER_LOOKUP)
        ]
        # a person has at most one record per campaign or list: a look-up of 100 needs at most `places` pages
        # (and the empty one that ends it); a vendor paging on past that is stopped
        most = places + 3  # + records in no campaign or list, + the empty last page
        bound = (f"a look-up by email holds at most one record per person per campaign or list ({places}), "
                 "and this one is past that")  # fmt: skip
        for batch in pool.map(lambda selector: self._leads(selector, most_pages=most, bound=bound), batches):
            for lead in batch:
                records.setdefault(str(lead["id"]), lead)
        return strategy

    # -- writing ------------------------------------------------------------------------------------------

    def move_request(
        self, *, ids: Sequence[str], keys: Sequence[str], source: str, target: str, owner_id: str | None
    ) -> WriteRequest:
        _require_ids(ids, "move")
        body: dict[str, Any] = {"ids": list(ids), **_place(source, "campaign", "list_id"),
                                **_place(target, "to_campaign_id", "to_list_id")}  # fmt: skip
        if owner_id is not None:
            body["assigned_to"] = owner_id
        owner = f", assigned_to {owner_id}" if owner_id else ""
        return WriteRequest("POST", "/api/v2/leads/move", MOVE, body,
                            f"move {len(ids)} leads {source} -> {target}{owner}", tuple(keys))  # fmt: skip

    def add_request(self, *, target: str, leads: Sequence[NewLead]) -> WriteRequest:
        if not leads:
            raise ProviderError("refusing to send an add with no leads")
        # The vendor never adds an email twice to one campaign or list ("duplicated_leads"), so a repeat of this
        # add cannot make a second record here. When nobody in it has a record anywhere, skip_if_in_workspace also
        # keeps a record made meanwhile elsewhere (by another tool, a lost add) from getting a twin. Not so for
        # `claim: add`: every skip_if_* flag skips a person found in ANY campaign (or list), the very people
        # that claim adds, and the apply would never converge.
        skip = {} if any(lead.elsewhere for lead in leads) else {"skip_if_in_workspace": True}
        body = {**_place(target, "campaign_id", "list_id"), **skip, "leads": [_lead(lead) for lead in leads]}
        return WriteRequest("POST", "/api/v2/leads/add", ADD, body,
                            f"add {len(leads)} leads to {target}", tuple(lead.key for lead in leads))  # fmt: skip

    def assign_request(
        self, *, ids: Sequence[str], keys: Sequence[str], destination: str, owner_id: str
    ) -> WriteRequest:
        _require_ids(ids, "bulk-assign")
        body = {"organization_user_ids": [owner_id], "ids": list(ids), **_place(destination, "campaign", "list_id")}
        return WriteRequest("POST", "/api/v2/leads/bulk-assign", ASSIGN, body,
                            f"assign {len(ids)} leads in {destination} to {owner_id}", tuple(keys))  # fmt: skip

    def remove_request(self, *, ids: Sequence[str], keys: Sequence[str], destination: str) -> WriteRequest:
        _require_ids(ids, "delete")  # without ids the vendor deletes EVERY lead of the campaign or list
        body = {**_place(destination, "campaign_id", "list_id"), "ids": list(ids), "limit": len(ids)}
        return WriteRequest("DELETE", "/api/v2/leads", REMOVE, body,
                            f"delete {len(ids)} leads from {destination}", tuple(keys))  # fmt: skip

    def send(self, request: WriteRequest) -> WriteResult:
        """Send one write. An answer of the wrong shape is a WrongAnswer (a ProviderError, not an open outcome:
        the vendor took the write, and re-planning around it could send a move its job is still carrying out)."""
        answer = self.client.write(request.method, request.path, endpoint=request.endpoint, json=dict(request.body))
        if request.endpoint == MOVE:
            return WriteResult(request, job_id=instantly_move_job(answer, request.endpoint), answer=answer)
        return WriteResult(request, answer=instantly_write(answer, request.endpoint))

    def wait(self, result: WriteResult) -> None:
        """A move: its background job to the end. A bulk-assign (202, no job): until the owners read back."""
        if result.job_id is not None:
            self._wait_job(result.job_id)
        elif result.request.endpoint == ASSIGN:
            self._wait_assigned(result.request)

    def _wait_job(self, job_id: str) -> None:
        endpoint = JOB_POLL
        started = self.clock()
        deadline = started + self.job_timeout
        backoff = self.poll[0]
        self.sleep(backoff)  # a job just started is never done yet: asking at once would only spend a call
        while True:
            answer = self.client.read("GET", f"/api/v2/background-jobs/{job_id}", endpoint=endpoint)
            job = instantly_job(answer, endpoint)
            status = job["status"]
            if status == "success":
                return
            if status in ("failed", "cancelled"):
                raise JobFailed(f"instantly: background job {job_id} ended {status}")
            backoff = min(self.poll[1], backoff * 2)
            pause = _next_poll(job, self.clock() - started, backoff, self.poll)
            if self.clock() + pause > deadline:
                raise JobStalled(f"instantly: background job {job_id} still {status or 'unknown'} after "
                                 f"{self.job_timeout:g} s", waited=self.job_timeout)  # fmt: skip
            self.sleep(pause)

    def _wait_assigned(self, request: WriteRequest) -> None:
        """Read the leads back until they have the new owner. One page (the last ids: a job working in id order
        does them last) is the probe; only once it is done are the others read, so that waiting costs one call
        a poll, not one per hundred leads."""
        owner = request.body["organization_user_ids"][0]
        remaining = [str(i) for i in request.body["ids"]]
        deadline = self.clock() + self.job_timeout
        pause = self.poll[0]
        reads = 0
        self.sleep(pause)  # accepted, not yet applied: the first look waits a little
        while True:
            late = self._unassigned(remaining[-PAGE:], owner)
            rest = remaining[:-PAGE]
            remaining = (self._unassigned(rest, owner) if not late else rest) + late
            reads += 1
            if not remaining:
                return
            if self.clock() + pause > deadline:
                raise AssignNotVisible(f"instantly: bulk-assign accepted, but {len(remaining)} leads not yet assigned "
                                       f"after {reads} re-reads ({self.job_timeout:g} s)", waited=self.job_timeout,
                                       reads=reads, left=len(remaining))  # fmt: skip
            self.sleep(pause)
            pause = min(self.poll[1], pause * 2)

    def _unassigned(self, ids: Sequence[str], owner: str) -> list[str]:
        """Those of `ids` whose lead is not yet owned by `owner`, a page of 100 ids a call (100 ids are at most
        100 records: no cursor to follow). Ids that no longer exist are not waited for: the re-plan sees them."""
        late: list[str] = []
        for start in range(0, len(ids), PAGE):
            chunk = list(ids[start : start + PAGE])
            endpoint = LIST_LEADS
            page = instantly_page(self.client.read("POST", "/api/v2/leads/list", endpoint=endpoint,
                                                   json={"ids": chunk, "limit": PAGE}), endpoint, "leads")  # fmt: skip
            found = {lead["id"]: lead for lead in page["items"]}
            late += [i for i in chunk if i in found and found[i].get("assigned_to") != owner]
        return late


def _workspace_id(members: Iterable[Mapping[str, Any]]) -> str | None:
    """The workspace id the first member that carries one reports (checked pages: a string or null)."""
    for member in members:
        for field in WORKSPACE_ID_FIELDS:
            if member.get(field):
                return str(member[field])
    return None


def lookup_price(people: int) -> int:
    """Calls to look `people` up by email: per 100, a page of records and the empty page that ends it."""
    return 2 * -(-people // CONTACTS_PER_LOOKUP)


def _missing(wanted: Iterable[str], leads: Iterable[Mapping[str, Any]]) -> list[str]:
    """Those of `wanted` (normalised emails) with no record among `leads`, sorted."""
    found = {normalise_email(lead.get("email")) or "" for lead in leads}  # as the snapshot keys records
    return sorted(set(wanted) - found)


def _next_poll(job: Any, elapsed: float, backoff: float, poll: tuple[float, float]) -> float:
    """The pause before the next poll of a job that is not done. A job that reports progress (p% after `elapsed`
    seconds) is asked again when it should be done at that pace, so that the poll that finds it done comes soon
    after it is, instead of up to a whole backoff step later; never sooner than half the backoff (a job stuck at
    99% is not polled ever faster), nor sooner or later than `poll` allows. Otherwise: the exponential backoff."""
    progress = (job or {}).get("progress") if isinstance(job, dict) else None
    if not isinstance(progress, (int, float)) or isinstance(progress, bool) or not 0 < progress < 100:
        return backoff
    due = elapsed * (100 - progress) / progress * 1.1  # a tenth late: a poll a hair early costs a whole extra call
    return min(poll[1], max(poll[0], backoff / 2, due))


def _require_ids(ids: Sequence[str], what: str) -> None:
    if not ids or any(not i for i in ids):
        raise ProviderError(f"refusing to send a {what} without lead ids")


def _place(ref: str, campaign_field: str, list_field: str) -> dict[str, str]:
    kind, _, ident = ref.partition(":")
    if kind == "campaign" and ident:
        return {campaign_field: ident}
    if kind == "list" and ident:
        return {list_field: ident}
    raise ProviderError(f"instantly: {ref!r} is not a campaign or list")


def _lead(lead: NewLead) -> dict[str, Any]:
    body: dict[str, Any] = {"email": lead.key}
    custom: dict[str, Any] = {}
    for name, value in lead.fields.items():
        if name in ("email", "domain") or value is None or value == "":
            continue
        if name in LEAD_FIELDS:
            body[name] = str(value)
        elif isinstance(value, (str, int, float, bool)):
            custom[name] = value
    if custom:
        body["custom_variables"] = custom
    if lead.owner_id is not None:
        body["assigned_to"] = lead.owner_id
    return body
