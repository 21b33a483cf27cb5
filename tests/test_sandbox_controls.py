"""The sandbox is not a web target (issue #25): it answers only requests whose Host names the loopback (a page
on a DNS name rebound to 127.0.0.1 read a sandbox's state and keys), and its controls (`/_sandbox/...`) need one
of its keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from leadsync import sandbox

SEED = json.loads(
    (Path(__file__).resolve().parent.parent / "specs" / "examples" / "quickstart.remote.json").read_text()
)


@pytest.fixture(scope="module")
def running() -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(SEED, rate_limit=False) as served:
        yield served


def ask(served: sandbox.RunningSandbox, path: str, **headers: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.get(served.url + path, headers=headers)


@pytest.mark.parametrize("path", ["/_sandbox/state", "/_sandbox/stats", "/api/v2/campaigns"])
@pytest.mark.parametrize("host", ["evil.test", "evil.test:8700", "127.0.0.1.evil.test", "localhost.evil.test:1"])
def test_a_foreign_host_is_refused(running: sandbox.RunningSandbox, path: str, host: str) -> None:
    key = running.api_key or ""
    answer = ask(running, path, Host=host, Authorization=f"Bearer {key}")
    assert answer.status_code == 421
    assert key not in answer.text and "leads" not in answer.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]:8700", "LOCALHOST:9"])
def test_the_loopback_is_answered(running: sandbox.RunningSandbox, host: str) -> None:
    answer = ask(running, "/_sandbox/stats", Host=host, Authorization=f"Bearer {running.api_key}")
    assert answer.status_code == 200 and "calls" in answer.json()


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-key", "Basic eDp5"])
def test_the_controls_need_a_key(running: sandbox.RunningSandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for path in ("/_sandbox/state", "/_sandbox/stats"):
        answer = ask(running, path, **headers)
        assert answer.status_code == 401 and "api_keys" not in answer.text


def test_the_running_sandbox_uses_its_key(running: sandbox.RunningSandbox) -> None:
    assert "campaigns" in running.state()
    running.reset_stats()
    assert running.stats() == {"calls": {}}
