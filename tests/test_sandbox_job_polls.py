"""Waiting for the sandbox's move jobs: the provider polls by the job's reported progress, not blindly."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sandbox.support import ENTERPRISE, KEY, NURTURE, lead_id

from leadsync.providers.instantly import InstantlyProvider, _next_poll
from leadsync.sandbox import RunningSandbox

Sandboxes = Callable[..., RunningSandbox]
POLL = "GET /api/v2/background-jobs/{id}"


def test_a_half_second_job_is_polled_twice_and_seen_done_soon_after_it_is(sandboxes: Sandboxes) -> None:
    running = sandboxes(faults="job_ms=500")
    provider = InstantlyProvider.connect(running.url, KEY, "$TEST_KEY")
    try:
        request = provider.move_request(
            ids=[lead_id(1)],
            keys=["person1@company1.test"],
            source=f"campaign:{ENTERPRISE}",
            target=f"list:{NURTURE}",
            owner_id=None,
        )
        started = time.monotonic()
        result = provider.send(request)
        provider.wait(result)
        waited = time.monotonic() - started
    finally:
        provider.close()
    # first look after 0.1 s (in progress, 20%), then when the pace says it is done: 0.5 s, not 0.7 s
    assert running.stats()["calls"][POLL] == 2
    assert 0.5 <= waited < 0.9


def test_the_next_poll_follows_progress_within_the_backoff_and_the_bounds() -> None:
    poll = (0.1, 2.0)
    # 20% in 0.1 s: 0.4 s to go, asked a tenth later (a poll that comes a hair early costs a third call)
    assert _next_poll({"status": "in-progress", "progress": 20}, 0.1, 0.2, poll) == pytest.approx(0.44)
    assert _next_poll({"status": "pending", "progress": 0}, 0.1, 0.2, poll) == 0.2  # no pace yet: the backoff
    assert _next_poll({"status": "in-progress", "progress": 99}, 30.0, 2.0, poll) == 1.0  # at least half the backoff
    assert _next_poll({"status": "in-progress", "progress": 1}, 1.0, 0.4, poll) == 2.0  # at most the longest pause
    assert _next_poll(None, 0.1, 0.2, poll) == 0.2
    assert _next_poll({"progress": True}, 0.1, 0.2, poll) == 0.2
