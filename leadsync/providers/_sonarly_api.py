"""Sonarly API v1 on the wire: the envelope `{success, data, error: {code, message, details}, traceId}` and its
error answers as leadsync errors, in the vendor's words (message, details, code, traceId), never with the key.

    VendorRefusal (ProviderError)            every error answer: status, code, the vendor's message, traceId
    ├── KeyRefused             401 (also a CredentialsError)
    ├── AccessRefused                  402, 403 (also an AccessError)
    ├── NotFound                     404 (also an AccessError)
    ├── DestinationNotReady                    409 AUDIENCE_NOT_READY: an audience is being populated (also OutcomeOpen)
    └── WriteRejected                        422: the vendor refused the move
        └── MovedMeanwhile                  ... because prospects left the source meanwhile (also OutcomeOpen)

The two OutcomeOpen kinds are settled by the applier re-reading and re-planning; a WriteRejected that the state
does not explain (every prospect still in the source) is a refusal a re-read cannot change, and fails clearly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from leadsync.errors import (
    AccessRefused,
    DestinationNotReady,
    KeyRefused,
    NotFound,
    ProviderError,
    VendorRefusal,
    WriteRejected,
)
from leadsync.providers._http import VendorClient, error_body

_KINDS: Mapping[int, tuple[type[VendorRefusal], str]] = {
    400: (VendorRefusal, "the request was refused as invalid (400)"),
    401: (KeyRefused, "the key in {key} was refused (401)"),
    402: (AccessRefused, "the account's plan or credits do not allow this (402)"),
    403: (AccessRefused, "the key in {key} lacks a permission (403)"),
    404: (NotFound, "not found (404)"),
    422: (WriteRejected, "the move was rejected (422)"),
}


def _error_fields(response: httpx.Response) -> tuple[str, str, str, str | None]:
    """(code, message, details, traceId) of an error answer, whatever its shape (an edge's HTML page too)."""
    body = error_body(response)
    fallback = response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "", fallback, "", None
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code, message, details = error.get("code"), error.get("message"), error.get("details")
    trace = body.get("traceId")
    return (
        code if isinstance(code, str) else "",
        message if isinstance(message, str) and message else fallback,
        details if isinstance(details, str) else "" if details is None else str(details),
        trace if isinstance(trace, str) and trace else None,
    )


def sonarly_message(response: httpx.Response) -> str:
    """The vendor's words from the envelope: `message (details) [CODE, traceId ...]`."""
    code, message, details, trace = _error_fields(response)
    text = message + (f" ({details})" if details else "")  # cut, if need be, once scrubbed (VendorClient.said)
    tags = [t for t in (code, f"traceId {trace}" if trace else "") if t]
    return text + (f" [{', '.join(tags)}]" if tags else "")


class SonarlyClient(VendorClient):
    """The shared client, reading Sonarly's envelope: a success answers its whole envelope, an error raises the
    VendorRefusal for its status and code. A key the vendor might echo back is blanked (the shared client's scrub)."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, vendor="sonarly", message_of=sonarly_message, **options)

    def _json(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        if status < 400:
            body = super()._json(response, endpoint)  # a redirect raises there
            if not isinstance(body, dict) or "success" not in body:
                raise ProviderError(f"sonarly: {endpoint}: the answer is not Sonarly's envelope (HTTP {status})")
            if body["success"] is True:
                return body
        raise self.error(response, endpoint)

    def error(self, response: httpx.Response, endpoint: str) -> VendorRefusal:
        status = response.status_code
        code, message, _, trace = _error_fields(response)
        kind, what = _KINDS.get(status, (VendorRefusal, f"HTTP {status}"))
        if status == 409:
            kind = DestinationNotReady if code == "AUDIENCE_NOT_READY" else VendorRefusal
            what = "an audience is being populated (409)" if code == "AUDIENCE_NOT_READY" else "conflict (409)"
        text = f"sonarly: {endpoint}: {what.format(key=self.key_source)}: {self.said(sonarly_message(response))}"
        return kind(text, status=status, code=self.said(code)[:100], message=self.said(message),
                    trace_id=self.said(trace)[:100] if trace else None)  # fmt: skip


def envelope_data(envelope: Any) -> Any:
    """The `data` of a success envelope (what SonarlyClient's reads and writes answer)."""
    return envelope.get("data") if isinstance(envelope, dict) else None
