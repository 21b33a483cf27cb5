"""The hazard of re-sending a write whose answer was lost after it was committed, shown on the sandbox.

What a naive retry actually does against Instantly's semantics (found here, not assumed):

- re-sent AT ONCE, a lost move is harmless: `ids` only select within the source (`campaign`/`list_id`) and the
  leads are selected when the job runs, so the second job finds nothing left in the source (`moved_leads: 0`);
  a lost add re-sent at once is harmless too: the vendor never adds an email twice to one campaign
  (`duplicated_leads`). The naive client just cannot tell what happened (its second job says 0 were moved).
- re-sent LATER (a retry queue, a job runner's countdown, the next cron run), the same requests are writes from
  the past: by then the next sync has moved the lead on, and the old move takes it back out of its new place
  (misplaced), and the old add creates the person a second time in a campaign they have left (duplicated).

leadsync never holds a request to send again: after an ambiguous failure it re-reads the workspace and re-plans,
so what it sends later is decided by what is there then. On the same timeline it ends where the spec says.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadsync import sandbox
from leadsync.providers.instantly import InstantlyProvider
from leadsync.spec import load_spec
from leadsync.workflow import ApplySession

KEY = "hazard-key"
ALICE, BOB = "7d0c6d2e-0000-4000-8000-00000000a11c", "7d0c6d2e-0000-4000-8000-000000000b0b"
ENTERPRISE, SMB, MID = (f"c0000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
X_ID = "1ead0000-0000-4000-8000-000000000001"
X, Y = "xena@bigco.test", "yuri@smallco.test"
SEED = {
    "api_keys": [{"key": KEY, "scopes": ["all:*"]}],
    "members": [{"user_id": ALICE, "email": "alice@acme.test"}, {"user_id": BOB, "email": "bob@acme.test"}],
    "campaigns": [{"id": ENTERPRISE, "name": "Enterprise"}, {"id": SMB, "name": "SMB"}, {"id": MID, "name": "Mid"}],
    "lists": [],
    "leads": [{"id": X_ID, "email": X, "campaign": ENTERPRISE, "assigned_to": ALICE}],
}
#: the first move and the first add are committed, and their answers lost
LOST_AFTER_COMMIT = (
    "seed=1,job_ms=30,drop=1:when=after:path=*/leads/move:count=1,drop=1:when=after:path=*/leads/add:count=1"
)


def spec(x_to: str, x_owner: str, y_to: str, y_owner: str) -> str:
    return f"""version: 1
workspace: {{provider: instantly, api_key_env: HAZARD_KEY}}
destinations:
  enterprise: {{campaign: Enterprise}}
  smb: {{campaign: SMB}}
  mid: {{campaign: Mid}}
owners:
  alice: {{email: alice@acme.test}}
  bob: {{email: bob@acme.test}}
leads:
  - {{email: {X}, target: {x_to}, owner: {x_owner}}}
  - {{email: {Y}, target: {y_to}, owner: {y_owner}}}
routes:
  - {{name: x-smb, when: {{target: smb, owner: bob}}, to: smb, owner: bob}}
  - {{name: x-enterprise, when: {{target: enterprise, owner: alice}}, to: enterprise, owner: alice}}
  - {{name: y-smb, when: {{target: smb, owner: alice}}, to: smb, owner: alice}}
  - {{name: y-mid, when: {{target: mid, owner: alice}}, to: mid, owner: alice}}
policy: {{max_change_ratio: 1.0}}
"""


#: this week X belongs in SMB with bob, and the new Y in SMB with alice; next week X is back in Enterprise with
#: alice and Y has moved up to Mid
THIS_WEEK = spec("smb", "bob", "smb", "alice")
NEXT_WEEK = spec("enterprise", "alice", "mid", "alice")


def records(running: sandbox.RunningSandbox) -> dict[str, list[tuple[str, str | None]]]:
    """Email -> [(campaign, owner)] of every record."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for lead in running.state()["leads"]:
        found.setdefault(lead["email"], []).append((lead["campaign"], lead.get("assigned_to")))
    return found


class NaiveSync:
    """A sync as written by hand: one move job per moved lead, one add per new lead, and a retry of whatever
    failed to answer: at once (`later=False`), or from a queue, later (`later=True`)."""

    def __init__(self, running: sandbox.RunningSandbox, *, later: bool) -> None:
        self.http = httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        self.later = later
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[dict[str, Any]] = []

    def post(self, path: str, body: dict[str, Any]) -> None:
        try:
            answer = self.http.post(path, json=body)
        except httpx.TransportError:
            if self.later:
                self.queue.append((path, body))
                return
            answer = self.http.post(path, json=body)  # the same request, once more
        answer.raise_for_status()
        self.answers.append(answer.json())
        if path.endswith("/move"):
            self.wait(answer.json()["id"])

    def wait(self, job: str) -> None:
        for _ in range(100):
            status = self.http.get(f"/api/v2/background-jobs/{job}").json()
            if status["status"] in ("success", "failed"):
                self.answers[-1] = status
                return
            time.sleep(0.05)

    def move(self, lead_id: str, source: str, target: str, owner: str) -> None:
        self.post(
            "/api/v2/leads/move", {"ids": [lead_id], "campaign": source, "to_campaign_id": target, "assigned_to": owner}
        )

    def add(self, email: str, campaign: str, owner: str) -> None:
        self.post("/api/v2/leads/add", {"campaign_id": campaign, "leads": [{"email": email, "assigned_to": owner}]})

    def lead_id(self, email: str) -> str:
        return str(self.http.post("/api/v2/leads/list", json={"contacts": [email]}).json()["items"][0]["id"])

    def flush(self) -> None:
        queued, self.queue, self.later = self.queue, [], False
        for path, body in queued:
            self.post(path, body)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HAZARD_KEY", KEY)
    return tmp_path


def leadsync_apply(running: sandbox.RunningSandbox, folder: Path, text: str) -> Any:
    (folder / "spec.yaml").write_text(text)
    provider = InstantlyProvider.connect(running.url, KEY, "$HAZARD_KEY")
    provider.poll = (0.02, 0.1)
    try:
        session = ApplySession(load_spec(folder / "spec.yaml"), provider, folder / ".leadsync")
        try:
            return session.apply()
        finally:
            session.journal.close()
    finally:
        provider.close()


@pytest.fixture
def vendor() -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(SEED, faults=LOST_AFTER_COMMIT, rate_limit=False) as running:
        yield running


def test_a_lost_move_and_add_resent_at_once_are_harmless_against_this_vendor(vendor: sandbox.RunningSandbox) -> None:
    naive = NaiveSync(vendor, later=False)
    naive.move(X_ID, ENTERPRISE, SMB, BOB)
    naive.add(Y, SMB, ALICE)
    assert records(vendor) == {X: [(SMB, BOB)], Y: [(SMB, ALICE)]}  # right, and once each
    assert vendor.stats()["calls"]["POST /api/v2/leads/move"] == 2 and naive.answers[0]["data"]["moved_leads"] == 0
    assert naive.answers[1]["duplicated_leads"] == 1 and naive.answers[1]["leads_uploaded"] == 0


def test_a_lost_move_and_add_resent_later_misplace_and_duplicate_leads(vendor: sandbox.RunningSandbox) -> None:
    naive = NaiveSync(vendor, later=True)
    naive.move(X_ID, ENTERPRISE, SMB, BOB)  # committed, answer lost: queued
    naive.add(Y, SMB, ALICE)  # committed, answer lost: queued
    time.sleep(0.2)  # the lost move's job runs
    assert records(vendor) == {X: [(SMB, BOB)], Y: [(SMB, ALICE)]}  # this week's sync did, in fact, happen

    next_week = NaiveSync(vendor, later=False)
    next_week.move(X_ID, SMB, ENTERPRISE, ALICE)
    next_week.move(next_week.lead_id(Y), SMB, MID, ALICE)
    assert records(vendor) == {X: [(ENTERPRISE, ALICE)], Y: [(MID, ALICE)]}  # next week's is right, for now

    naive.flush()  # the retries of last week arrive
    after = records(vendor)
    assert after[X] == [(SMB, BOB)]  # misplaced: taken out of Enterprise, given back to bob
    assert Counter(place for place, _ in after[Y]) == Counter([SMB, MID])  # duplicated: Y is a second time in SMB


def test_leadsync_on_the_same_timeline_ends_where_the_spec_says(vendor: sandbox.RunningSandbox, folder: Path) -> None:
    report = leadsync_apply(vendor, folder, THIS_WEEK)
    assert report.converged and report.open_outcomes == 2  # the two lost answers, settled by reading back
    assert records(vendor) == {X: [(SMB, BOB)], Y: [(SMB, ALICE)]}
    calls = vendor.stats()["calls"]
    assert calls["POST /api/v2/leads/move"] == 1 and calls["POST /api/v2/leads/add"] == 1  # nothing re-sent

    report = leadsync_apply(vendor, folder, NEXT_WEEK)
    assert report.converged and report.rounds == 1
    time.sleep(0.2)  # whatever might still arrive from last week, would have by now
    assert records(vendor) == {X: [(ENTERPRISE, ALICE)], Y: [(MID, ALICE)]}
