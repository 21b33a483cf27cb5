"""Helpers for the sandbox tests: seeds, a sandbox fixture, an HTTP client, and the OpenAPI conformance checker.

The tests talk to real sandboxes over loopback HTTP with httpx; nothing of leadsync is mocked. The checker reads
the project's trimmed copy of the vendor's OpenAPI document (schemas/vendor/), never ../shared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from leadsync.sandbox import RunningSandbox, start

REPO = Path(__file__).resolve().parents[2]
VENDOR_DOC = REPO / "schemas" / "vendor" / "instantly-v2-leads-subset.openapi.json"
QUICKSTART_SEED = REPO / "specs" / "examples" / "quickstart.remote.json"
SONARLY_SEED = Path(__file__).with_name("sonarly.seed.json")

KEY = "test-key-all"
READ_KEY = "test-key-read"
NO_SCOPE_KEY = "test-key-none"
ALICE = "7d0c6d2e-0000-4000-8000-00000000a11c"
BOB = "7d0c6d2e-0000-4000-8000-000000000b0b"
CAROL = "7d0c6d2e-0000-4000-8000-0000000ca201"
ENTERPRISE = "c0000000-0000-4000-8000-000000000001"
SMB = "c0000000-0000-4000-8000-000000000002"
WEBINAR = "c0000000-0000-4000-8000-000000000003"
NURTURE = "11570000-0000-4000-8000-000000000001"
COLD = "11570000-0000-4000-8000-000000000002"


def lead_id(n: int) -> str:
    return f"1ead0000-0000-4000-8000-{n:012d}"


def instantly_seed() -> dict[str, Any]:
    """Three campaigns, two lists, three owners; leads 1-5 in Enterprise, 6-8 in SMB, 9-12 in Nurture (lead 9 is
    the same person as lead 1: several records per email), 13 in Nurture with a name but no email; Webinar and
    Cold are empty."""
    places = [ENTERPRISE] * 5 + [SMB] * 3 + [NURTURE] * 5
    owners = [ALICE, BOB, CAROL]
    leads = []
    for n, place in enumerate(places, start=1):
        lead: dict[str, Any] = {"id": lead_id(n), "email": f"person{n}@company{n}.test"}
        lead["campaign" if place.startswith("c") else "list_id"] = place
        lead.update(
            assigned_to=owners[n % 3], first_name=f"First{n}", last_name=f"Last{n}", status=1, lt_interest_status=0
        )
        leads.append(lead)
    leads[8]["email"] = "Person1@Company1.test"
    del leads[12]["email"]
    leads[1]["lt_interest_status"] = 1
    return {
        "api_keys": [
            {"key": KEY, "scopes": ["all:all"]},
            {
                "key": READ_KEY,
                "scopes": [
                    "leads:read",
                    "campaigns:read",
                    "lead_lists:read",
                    "workspace_members:read",
                    "background-jobs:read",
                ],
            },
            {"key": NO_SCOPE_KEY, "scopes": []},
        ],
        "members": [
            {"user_id": ALICE, "email": "alice@acme.test"},
            {"user_id": BOB, "email": "bob@acme.test"},
            {"user_id": CAROL, "email": "carol@acme.test"},
        ],
        "campaigns": [
            {"id": ENTERPRISE, "name": "Enterprise Q4", "owned_by": ALICE},
            {"id": SMB, "name": "SMB Outbound"},
            {"id": WEBINAR, "name": "Webinar Follow-up"},
        ],
        "lists": [{"id": NURTURE, "name": "Nurture"}, {"id": COLD, "name": "Cold"}],
        "leads": leads,
    }


def sonarly_seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SONARLY_SEED.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def sandboxes() -> Iterator[Callable[..., RunningSandbox]]:
    """Start sandboxes (rate limiter off unless asked for) that are stopped when the test ends."""
    started: list[RunningSandbox] = []

    def make(seed: Any = None, **options: Any) -> RunningSandbox:
        options.setdefault("rate_limit", False)
        sandbox = start(instantly_seed() if seed is None else seed, **options)
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop(wait=False)  # each finishes in its own thread while the next test runs


class Api:
    """An httpx client for one sandbox and key; with a checker, every answer is checked against the vendor's doc."""

    def __init__(
        self, sandbox: RunningSandbox, key: str | None = KEY, checker: InstantlyDocument | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        hooks = {"response": [checker.check_response]} if checker else {}
        self.client = httpx.Client(
            base_url=sandbox.url, headers=headers, trust_env=False, timeout=10, event_hooks=hooks
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def delete_with_body(self, url: str, body: Any) -> httpx.Response:
        return self.client.request("DELETE", url, json=body)

    def all_leads(self, **filters: Any) -> list[dict[str, Any]]:
        """Every lead the filters select, paging as a client must: until an empty page."""
        leads: list[dict[str, Any]] = []
        body: dict[str, Any] = {**filters, "limit": filters.get("limit", 100)}
        while True:
            response = self.client.post("/api/v2/leads/list", json=body)
            assert response.status_code == 200, response.text
            page = response.json()
            if not page["items"]:
                return leads
            leads += page["items"]
            body["starting_after"] = page["next_starting_after"]

    def where(self, ident: str) -> str | None:
        """The campaign or list a lead is in, by id (None: gone)."""
        response = self.client.get(f"/api/v2/leads/{ident}")
        if response.status_code == 404:
            return None
        lead = response.json()
        return str(lead["campaign"] or lead["list_id"])


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(_date_time)


class InstantlyDocument:
    """The trimmed vendor document: finds the response schema for a request's path and status and checks bodies.

    `assumed` maps (method template, status), or ("*", status), to the schema used where the document is silent,
    with the reason; `seen` records every (method template, status) checked, and `problems` every failure.
    """

    def __init__(self, assumed: dict[tuple[str, int], tuple[dict[str, Any], str]] | None = None) -> None:
        self.doc: dict[str, Any] = json.loads(VENDOR_DOC.read_text(encoding="utf-8"))
        self.registry: Registry[Any] = Registry().with_resource(
            "urn:instantly", Resource.from_contents(self.doc, default_specification=DRAFT202012)
        )
        self.assumed = assumed or {}
        self.seen: set[tuple[str, int]] = set()
        self.problems: list[str] = []
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in self.doc["paths"]
        ]

    def template(self, method: str, path: str) -> str | None:
        matches = [
            t for pattern, t in self._templates if pattern.match(path) and method.lower() in self.doc["paths"][t]
        ]
        # a literal path wins over a template (/leads/list over /leads/{id})
        return min(matches, key=lambda t: t.count("{"), default=None)

    def schema_for(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        responses = self.doc["paths"][template][method.lower()]["responses"]
        if str(status) not in responses:
            return None
        pointer = "/".join(
            p.replace("~", "~0").replace("/", "~1")
            for p in (
                "paths",
                template,
                method.lower(),
                "responses",
                str(status),
                "content",
                "application/json",
                "schema",
            )
        )
        return {"$ref": "urn:instantly#/" + quote(pointer, safe="/~")}

    def validate(self, method: str, path: str, status: int, body: Any) -> str | None:
        """None if the body conforms (to the document, or to what is assumed where it is silent), else why not."""
        template = self.template(method, path)
        if template is None:
            return f"{method} {path}: not in the vendor's document"
        key = f"{method} {template}"
        self.seen.add((key, status))
        schema = self.schema_for(method, template, status)
        if schema is None:
            found = self.assumed.get((key, status)) or self.assumed.get(("*", status))
            if found is None:
                return f"{key} answered {status}, which the document does not list and no assumption covers"
            schema = found[0]
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            where = "/".join(map(str, errors[0].absolute_path))
            return f"{key} {status}: {where}: {errors[0].message}"
        return None

    def check_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        if response.headers.get("content-type", "").startswith("text/html"):  # an edge's page: no JSON to check
            self.seen.add((f"{request.method} {self.template(request.method, request.url.path)}", response.status_code))
            return
        problem = self.validate(request.method, request.url.path, response.status_code, response.json())
        if problem:
            self.problems.append(problem)
