"""Apply on Sonarly through its open outcomes, against the sandbox: an audience populated past the provider's
wait (409 AUDIENCE_NOT_READY) and prospects moved by someone else between the plan and the move (422) are
settled by re-reading and re-planning; a 422 the audiences do not explain stops the apply with the vendor's
words, sending nothing more."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_provider_sonarly import INBOX, LATER, QUALIFIED, SMALL_IDS, connect, live, seed_with_later, where

from leadsync import sandbox
from leadsync.apply.applier import Applier, ApplyReport
from leadsync.apply.journal import Journal
from leadsync.errors import WriteRejected
from leadsync.plan import Plan
from leadsync.providers.base import WriteRequest
from leadsync.providers.sonarly import MOVE_ENDPOINT, SonarlyProvider
from leadsync.snapshot import ResolvedWorkspace
from leadsync.spec import load_leads, load_spec
from leadsync.workflow import make_spec_plan

SPEC = """version: 1
workspace: {provider: sonarly, api_key_env: SONARLY_API_KEY, account_group: Solo}
destinations:
  inbox: {audience: Inbox}
  qualified: {audience: Qualified}
sources:
  - {path: people.csv, fields: {linkedin: profile}}
routes:
  - {name: everyone, to: qualified}
policy: {claim: move, max_change_ratio: 1}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """Everyone of the small seed belongs in Qualified: one move of five prospects out of Inbox."""
    (tmp_path / "people.csv").write_text("profile\n" + "".join(f"person-{i}\n" for i in range(1, 6)))
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path / "spec.yaml"


class Apply:
    """What `leadsync apply` does with a provider, in two steps: plan (`plan`), then `run` that plan."""

    def __init__(self, provider: SonarlyProvider, spec_path: Path, *, max_rounds: int = 8) -> None:
        self.provider, self.loaded = provider, load_spec(spec_path)
        self.leads = load_leads(self.loaded)
        self.journal = Journal(spec_path.parent / ".leadsync" / "sonarly.journal.jsonl")
        self.applier = Applier(provider, self.journal, max_rounds=max_rounds, round_pause=(0.02, 0.1))
        self.plan, self.workspace = self.replan()

    def replan(self) -> tuple[Plan, ResolvedWorkspace]:
        resolved = live(self.provider)(self.loaded, frozenset(lead.key for lead in self.leads.leads))
        return make_spec_plan(self.loaded, self.leads, resolved), resolved

    def run(self) -> ApplyReport:
        try:
            return self.applier.run(self.plan, self.workspace, self.replan, ApplyReport())
        finally:
            self.journal.close()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.journal.path.read_text().splitlines()]


def test_409_an_audience_populated_past_the_wait_is_settled_by_re_reading(spec: Path) -> None:
    # the move finds Inbox or Qualified populating for the next 40 requests: longer than the provider waits
    faults = "populating=1:path=*/move-leads:count=1:requests=40"
    with sandbox.start(seed_with_later(), rate_limit=False, faults=faults) as running:
        provider = connect(running, group="Solo")
        provider.ready_timeout = 0.1
        applying = Apply(provider, spec)
        report = applying.run()
        posts = running.stats()["calls"][MOVE_ENDPOINT]
        assert report.converged and report.open_outcomes == 1 and report.rounds >= 2
        assert "AUDIENCE_NOT_READY" in report.notes[0] and "still so after waiting 0.1 s" in report.notes[0]
        assert posts == 2  # refused once (409, nothing done), sent again once the re-read could plan it
        assert {where(running)[i] for i in SMALL_IDS} == {QUALIFIED}
    opened = [e for e in applying.events() if e["event"] == "open"]
    assert [e["why"] for e in opened] == ["DestinationNotReady"]
    assert applying.events()[-1]["event"] == "end" and applying.events()[-1]["converged"] is True


def test_409_an_audience_still_populating_after_every_round_is_not_converged(spec: Path) -> None:
    faults = "populating=1:path=*/move-leads:count=1:requests=100000"  # busy for as long as this test runs
    with sandbox.start(seed_with_later(), rate_limit=False, faults=faults) as running:
        provider = connect(running, group="Solo")
        provider.ready_timeout = 0.05
        applying = Apply(provider, spec, max_rounds=3)
        report = applying.run()
        assert running.stats()["calls"][MOVE_ENDPOINT] == 1  # nothing can be planned for a busy audience
        assert {where(running)[i] for i in SMALL_IDS} == {INBOX}
    # a re-read that cannot see into a destination cannot verify the writes concerning it
    assert not report.converged and report.rounds == 3 and report.open_outcomes == 1
    assert report.residual is not None and not report.residual.operations
    assert "destination_not_ready" in {c.reason.value for c in report.residual.conflicts}


def test_422_prospects_moved_by_someone_else_meanwhile_are_re_planned(spec: Path) -> None:
    with sandbox.start(seed_with_later(), rate_limit=False) as running:
        provider = connect(running, group="Solo")
        applying = Apply(provider, spec)
        assert [len(op.lead_ids) for op in applying.plan.operations] == [5]  # type: ignore[union-attr]
        # between the plan and the move, a colleague moves the first prospect to Later, outside the spec
        colleague = connect(running, group="Solo")
        colleague.send(
            colleague.move_request(
                ids=SMALL_IDS[:1], keys=["x"], source=f"audience:{INBOX}", target=f"audience:{LATER}", owner_id=None
            )
        )
        report = applying.run()
        posts = running.stats()["calls"][MOVE_ENDPOINT]
        assert {where(running)[i] for i in SMALL_IDS} == {QUALIFIED}
    assert report.converged and report.rounds == 2 and report.open_outcomes == 1
    assert "1 of 5 prospects left the source meanwhile" in report.notes[0]
    # the colleague's, ours refused (422), the four still in Inbox, then (round 2, claim: move) Later's one
    assert posts == 4
    assert [e["why"] for e in applying.events() if e["event"] == "open"] == ["MovedMeanwhile"]


def test_422_a_refusal_the_state_does_not_explain_stops_the_apply(spec: Path) -> None:
    class SelfMoving(SonarlyProvider):
        """A bug of ours, which no valid plan produces: every move sent back into its own source."""

        def move_request(self, **kwargs: Any) -> WriteRequest:
            request = super().move_request(**kwargs)
            return replace(request, body={**request.body, "targetAudienceId": request.path.split("/")[-2]})

    with sandbox.start(seed_with_later(), rate_limit=False) as running:
        provider = connect(running, group="Solo")
        provider.__class__ = SelfMoving
        applying = Apply(provider, spec)
        with pytest.raises(WriteRejected, match="Source and target audiences must be distinct"):
            applying.run()
        assert running.stats()["calls"][MOVE_ENDPOINT] == 1  # no loop: one refusal, and the apply stops
    stopped = applying.events()[-1]
    assert stopped["event"] == "stopped" and stopped["why"] == "WriteRejected"
