"""Sonarly API v1 on the wire: the envelope `{success, data, error: {code, message, details}, traceId}` and its
error answers as leadsync errors, in the vendor's words (message, details, code, traceId), never with the key.

    SonarlyError (ProviderError)            every error answer: status, code, the vendor's message, traceId
    ├── SonarlyCredentialsError             401 (also a CredentialsError)
    ├── SonarlyAccessError                  402, 403 (also an AccessError)
    ├── SonarlyNotFound                     404 (also an AccessError)
    ├── AudienceNotReady                    409 AUDIENCE_NOT_READY: an audience is being populated (also OutcomeOpen)
    └── MoveRejected                        422: the vendor refused the move
        └── MovedMeanwhile                  ... because prospects left the source meanwhile (also OutcomeOpen)

The two OutcomeOpen kinds are settled by the applier re-reading and re-planning; a MoveRejected that the state
does not explain (every prospect still in the source) is a refusal a re-read cannot change, and fails clearly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from leadsync.errors import AccessError, CredentialsError, ProviderError
from leadsync.providers._http import VendorClient, error_body
from leadsync.providers.base import OutcomeOpen


class SonarlyError(ProviderError):
    """An error answer of the Sonarly API, with the vendor's own words: HTTP status, code, message, traceId."""

    def __init__(self, text: str, *, status: int, code: str, message: str, trace_id: str | None) -> None:
        super().__init__(text)
        self.status, self.code, self.vendor_message, self.trace_id = status, code, message, trace_id


class SonarlyCredentialsError(SonarlyError, CredentialsError):
    """401: the key was refused."""


class SonarlyAccessError(SonarlyError, AccessError):
    """402 (the account's plan or credits) or 403 (a permission the key lacks)."""


class SonarlyNotFound(SonarlyError, AccessError):
    """404: the account group or an audience is not there (or not in this account group)."""


class AudienceNotReady(SonarlyError, OutcomeOpen):
    """409 AUDIENCE_NOT_READY: an audience is being populated. Nothing was done; re-read and re-plan later."""

    def after(self, waiting: str) -> AudienceNotReady:
        """The same answer, saying how long it was waited out."""
        return AudienceNotReady(f"{self}; {waiting}", status=self.status, code=self.code, message=self.vendor_message,
                                trace_id=self.trace_id)  # fmt: skip


class MoveRejected(SonarlyError):
    """422: the vendor refused the move, and nothing in the audiences explains why (every prospect is still in
    the source): a bad request or a permanent refusal, which re-sending would only repeat. Nothing was moved."""


class MovedMeanwhile(MoveRejected, OutcomeOpen):
    """Prospects of a move left its source meanwhile (someone else moved them: the vendor's 422 "not in the
    source audience"). What could be moved was; the rest is for a re-read and re-plan to settle."""

    def __init__(self, text: str, *, cause: SonarlyError | None = None) -> None:
        super().__init__(text, status=cause.status if cause else 422, code=cause.code if cause else "",
                         message=cause.vendor_message if cause else "",
                         trace_id=cause.trace_id if cause else None)  # fmt: skip


_KINDS: Mapping[int, tuple[type[SonarlyError], str]] = {
    400: (SonarlyError, "the request was refused as invalid (400)"),
    401: (SonarlyCredentialsError, "the key in {key} was refused (401)"),
    402: (SonarlyAccessError, "the account's plan or credits do not allow this (402)"),
    403: (SonarlyAccessError, "the key in {key} lacks a permission (403)"),
    404: (SonarlyNotFound, "not found (404)"),
    422: (MoveRejected, "the move was rejected (422)"),
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
    SonarlyError for its status and code. A key the vendor might echo back is blanked (the shared client's scrub)."""

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

    def error(self, response: httpx.Response, endpoint: str) -> SonarlyError:
        status = response.status_code
        code, message, _, trace = _error_fields(response)
        kind, what = _KINDS.get(status, (SonarlyError, f"HTTP {status}"))
        if status == 409:
            kind = AudienceNotReady if code == "AUDIENCE_NOT_READY" else SonarlyError
            what = "an audience is being populated (409)" if code == "AUDIENCE_NOT_READY" else "conflict (409)"
        text = f"sonarly: {endpoint}: {what.format(key=self.key_source)}: {self.said(sonarly_message(response))}"
        return kind(text, status=status, code=self.said(code)[:100], message=self.said(message),
                    trace_id=self.said(trace)[:100] if trace else None)  # fmt: skip


def envelope_data(envelope: Any) -> Any:
    """The `data` of a success envelope (what SonarlyClient's reads and writes answer)."""
    return envelope.get("data") if isinstance(envelope, dict) else None
