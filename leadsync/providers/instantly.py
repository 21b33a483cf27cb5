"""Instantly API v2: reads the workspace a spec manages into remote state.

The live workspace is read into the same shape as a snapshot (the sandbox seed format) and resolved by
`leadsync.snapshot`, so a plan from a live read and a plan from a saved snapshot agree by construction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from leadsync.errors import CredentialsError
from leadsync.providers._http import RateLimiter, VendorClient, check_base_url, paginate_items
from leadsync.providers.capabilities import INSTANTLY
from leadsync.snapshot import DestinationRef, ResolvedWorkspace, resolve_destinations, resolve_snapshot
from leadsync.state import Capabilities, KeyKind

BASE_URL = "https://api.instantly.ai"
BASE_URL_SETTING = "LEADSYNC_INSTANTLY_BASE_URL"
PAGE = 100
CONTACTS_PER_LOOKUP = 100  # emails per `contacts` look-up; the API documents no maximum
READ_THREADS = 4


def instantly_message(response: httpx.Response) -> str:
    """The vendor's own words: `message` of `{statusCode, error, message}` (bulk-assign's 400 is `{message}`)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return response.reason_phrase or f"HTTP {response.status_code}"


class InstantlyProvider:
    """Instantly API v2 behind leadsync's provider interface (reads, for now)."""

    name = "instantly"
    capabilities: Capabilities = INSTANTLY

    def __init__(self, client: VendorClient) -> None:
        self.client = client

    @classmethod
    def from_environment(
        cls, api_key_env: str, *, base_url: str | None = None, transport: httpx.BaseTransport | None = None
    ) -> InstantlyProvider:
        """The key from `$api_key_env`; the base URL from LEADSYNC_INSTANTLY_BASE_URL or the vendor's."""
        key = os.environ.get(api_key_env, "").strip()
        if not key:
            raise CredentialsError(f"no API key: set the environment variable {api_key_env} (named by the spec)")
        url = base_url or os.environ.get(BASE_URL_SETTING) or BASE_URL
        return cls.connect(check_base_url(url, setting=BASE_URL_SETTING), key, f"${api_key_env}", transport=transport)

    @classmethod
    def connect(
        cls, base_url: str, api_key: str, key_source: str, *, transport: httpx.BaseTransport | None = None
    ) -> InstantlyProvider:
        caps = cls.capabilities
        limiter = RateLimiter(caps.requests_per_second, caps.requests_per_minute)
        client = VendorClient(
            base_url, api_key, vendor="instantly", key_source=key_source, limiter=limiter,
            message_of=instantly_message, transport=transport,
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
            return self.client.read("GET", path, endpoint=endpoint, params=params)  # type: ignore[no-any-return]

        return paginate_items(fetch, cursor_field="next_starting_after")

    def _leads(self, selector: Mapping[str, Any]) -> list[dict[str, Any]]:
        def fetch(cursor: str | None) -> Mapping[str, Any]:
            body = {**selector, "limit": PAGE}
            if cursor:
                body["starting_after"] = cursor
            return self.client.read(  # type: ignore[no-any-return]
                "POST", "/api/v2/leads/list", endpoint="POST /api/v2/leads/list", json=body
            )

        return paginate_items(fetch, cursor_field="next_starting_after")

    def read(
        self,
        *,
        destinations: Mapping[str, DestinationRef],
        owners: Mapping[str, str],
        wanted: Iterable[str] = (),
    ) -> ResolvedWorkspace:
        """The managed destinations' leads, and the records of `wanted` people found anywhere else."""
        with ThreadPoolExecutor(READ_THREADS) as pool:
            campaigns, lists, members = pool.map(
                self._listing, ["/api/v2/campaigns", "/api/v2/lead-lists", "/api/v2/workspace-members"]
            )
            refs, _ = resolve_destinations(destinations, {"campaign": campaigns, "list": lists})
            selectors = [
                {"campaign": ref.split(":", 1)[1]} if ref.startswith("campaign:") else {"list_id": ref.split(":", 1)[1]}
                for ref in sorted(set(refs.values()))
            ]
            records: dict[str, dict[str, Any]] = {}
            for batch in pool.map(self._leads, selectors):
                for lead in batch:
                    records.setdefault(str(lead["id"]), lead)
            found = {str(lead.get("email") or "").strip().lower() for lead in records.values()}
            missing = sorted(set(wanted) - found)
            lookups = [
                {"contacts": missing[i : i + CONTACTS_PER_LOOKUP]} for i in range(0, len(missing), CONTACTS_PER_LOOKUP)
            ]
            for batch in pool.map(self._leads, lookups):
                for lead in batch:
                    records.setdefault(str(lead["id"]), lead)
        data = {
            "members": [{"user_id": m.get("user_id"), "email": m.get("email")} for m in members],
            "campaigns": [{"id": c.get("id"), "name": c.get("name")} for c in campaigns],
            "lists": [{"id": item.get("id"), "name": item.get("name")} for item in lists],
            "leads": list(records.values()),
        }
        return resolve_snapshot(data, destinations=destinations, owners=owners, key_kind=KeyKind.EMAIL,
                                source="the Instantly workspace")  # fmt: skip
