"""A vendor that cannot be reached (issue #16): named (host and port, and why), given up on after two quick retries
when it never answered; once it has answered, a failed connection is a blip and gets the usual backoff. The calls
a progress display counts are the calls made. With httpx's MockTransport: no network, no sleeping."""

from __future__ import annotations

import httpx
import pytest

from leadsync.errors import UnavailableError
from leadsync.progress import SILENT
from leadsync.providers._http import RateLimiter, unreachable_reason
from leadsync.providers.instantly import InstantlyProvider

CAMPAIGNS = "GET /api/v2/campaigns"


class Counted:
    """A progress that counts what it is told (only calls matter here)."""

    def __init__(self) -> None:
        self.calls = 0

    def started(self, phase: str, **_: object) -> None:
        pass

    def advanced(self, counter: str, amount: int = 1, *, part: str | None = None) -> None:
        self.calls += amount if counter == "calls" else 0

    def ended(self, summary: str = "", *, failed: bool = False) -> None:
        pass


def provider(
    failures: list[Exception | None], progress: Counted | None = None
) -> tuple[InstantlyProvider, list[float]]:
    """A provider whose vendor raises the next of `failures` for each request (None: answers an empty page)."""

    def vendor(request: httpx.Request) -> httpx.Response:
        failure = failures.pop(0) if failures else None
        if failure is not None:
            raise failure
        return httpx.Response(200, json={"items": []})

    made = InstantlyProvider.connect(
        "https://api.instantly.test", "k", "$K", transport=httpx.MockTransport(vendor), progress=progress or SILENT
    )
    sleeps: list[float] = []
    made.client.sleep = sleeps.append
    made.client.limiter = RateLimiter(100_000, 6_000_000)
    return made, sleeps


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def test_a_vendor_never_reached_is_named_after_two_quick_retries() -> None:
    made, sleeps = provider([refused()] * 10)
    with pytest.raises(UnavailableError) as error:
        made.client.read("GET", "/api/v2/campaigns", endpoint=CAMPAIGNS)
    assert str(error.value).startswith(
        "instantly: cannot reach the vendor at api.instantly.test:443 (connection "
        "refused); GET /api/v2/campaigns failed 3 times in "
    )
    assert sleeps == [0.25, 0.75]  # a second in all, where six attempts backing off took 13 s


def test_a_write_that_could_not_connect_was_never_sent_and_is_no_open_outcome() -> None:
    made, sleeps = provider([refused()] * 10)
    with pytest.raises(UnavailableError, match=r"cannot reach the vendor at api\.instantly\.test:443"):
        made.client.write("POST", "/api/v2/leads/add", endpoint="POST /api/v2/leads/add", json={})
    assert len(sleeps) == 2


def test_a_vendor_that_answered_before_gets_the_usual_backoff_for_a_refused_connection() -> None:
    made, sleeps = provider([None, refused(), refused(), refused(), None])
    made.client.read("GET", "/api/v2/campaigns", endpoint=CAMPAIGNS)  # reached
    assert made.client.read("GET", "/api/v2/campaigns", endpoint=CAMPAIGNS) == {"items": []}
    assert len(sleeps) == 3 and sleeps[2] >= 1.0  # jittered, doubling: a restart gets its time


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host not found"),
        (httpx.ConnectError("[Errno 8] nodename nor servname provided, or not known"), "host not found"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "host not found"),
        (httpx.ConnectError("[Errno 113] No route to host"), "no route to host"),
        (httpx.ConnectError("[Errno 101] Network is unreachable"), "network unreachable"),
        (httpx.ConnectTimeout("timed out"), "no answer to the connection"),
        (httpx.ConnectError(""), "ConnectError"),
    ],
)
def test_why_a_connection_failed_in_a_few_words(error: httpx.TransportError, reason: str) -> None:
    assert unreachable_reason(error) == reason


def test_progress_is_told_of_each_call_made_retries_included() -> None:
    counted = Counted()
    made, _ = provider([refused(), None, None], counted)
    made.client.read("GET", "/api/v2/campaigns", endpoint=CAMPAIGNS)
    made.client.read("GET", "/api/v2/campaigns", endpoint=CAMPAIGNS)
    assert counted.calls == 3 == sum(made.stats.calls.values())
