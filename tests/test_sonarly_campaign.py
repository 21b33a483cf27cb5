"""The Sonarly fault campaign: a 600-person account group applied through seeded faults, then checked from the
sandbox's state, apart from the planner's verdict: lost, duplicated, misplaced, changed outside the plan,
unconverged.

Besides the vendor's transport faults (429, 5xx, dropped connections) it covers Sonarly's open outcomes:
audiences that start populating, for a moment (waited out by the provider) or for longer than the provider waits
(409 AUDIENCE_NOT_READY left to the applier), and a colleague who moves prospects by hand while leadsync applies
(the vendor's 422 "not in the source audience"). `benchmarks/bench_faults_sonarly.py` runs it for longer.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_apply_faults import fault_kinds
from test_provider_sonarly import (
    GROWTH,
    PARTNERS,
    SEED,
    api_keys,
    apply,
    connect,
    example_seed,
    live,
)

from leadsync import sandbox
from leadsync.apply.applier import ApplyReport
from leadsync.errors import ProviderError, UnavailableError
from leadsync.providers.base import WriteRequest, WriteResult
from leadsync.providers.sonarly import SonarlyProvider, prospect_key
from leadsync.routing import Router
from leadsync.spec import load_leads, load_spec
from leadsync.workflow import plan_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
EXAMPLE = ("sonarly-sandbox.yaml", "sonarly-sandbox.leads.csv", "sonarly-sandbox.remote.json")


@dataclass(frozen=True)
class Kind:
    """One kind of trouble: sandbox faults, how long the provider waits for a populating audience, and how
    often a colleague moves one of a move's prospects by hand just before leadsync sends it."""

    faults: str = ""
    ready_timeout: float = 5.0
    meddle: float = 0.0


#: the fault kinds of the Instantly campaign, with Sonarly's own: populating audiences, short and long, and a
#: colleague moving prospects meanwhile
CAMPAIGN = {
    "429": Kind("429=0.1:burst=3:retry_after=0"),
    "5xx": Kind("5xx=0.3:when=after:on=writes,5xx=0.1:status=503:on=reads,5xx=0.1:status=502:when=before:on=writes"),
    "drop": Kind("drop=0.4:when=after:on=writes,drop=0.1:when=before"),
    "populating": Kind("populating=0.15:requests=4"),
    "populating-long": Kind("populating=0.1:on=writes:requests=40", ready_timeout=0.05),
    "meddling": Kind(meddle=0.4),
    "mixed": Kind(
        "populating=0.1:requests=3,5xx=0.2:when=after:on=writes,drop=0.1:when=after,429=0.1:burst=2,latency=0.1:ms=20"
    ),
    "mixed-open": Kind(
        "populating=0.03:on=writes:requests=30,5xx=0.15:when=after:on=writes,drop=0.05:when=after,429=0.05:burst=2",
        ready_timeout=0.05,
        meddle=0.2,
    ),
}


class Colleague:
    """Someone moving prospects by hand in the same account group: before some of leadsync's moves, one of its
    prospects goes to another ready audience of the group first (sometimes the very target), through a client
    of its own. Failures are the colleague's problem: they give up."""

    def __init__(self, running: sandbox.RunningSandbox, rate: float, seed: int, audiences: list[str]) -> None:
        self.provider = connect(running) if rate else None
        self.rate, self.rng, self.audiences = rate, random.Random(f"colleague/{seed}"), audiences
        self.lock = threading.Lock()
        self.moves = 0

    def before(self, request: WriteRequest) -> None:
        if self.provider is None:
            return
        source = request.path.rsplit("/", 2)[-2]
        with self.lock:  # leadsync sends from several threads: one draw at a time
            if self.rng.random() >= self.rate:
                return
            person = self.rng.choice([str(i) for i in request.body["leadIds"]])
            there = self.rng.choice([a for a in self.audiences if a != source])
        try:
            self.provider.send(
                self.provider.move_request(
                    ids=[person],
                    keys=["colleague"],
                    owner_id=None,
                    source=f"audience:{source}",
                    target=f"audience:{there}",
                )
            )
            with self.lock:
                self.moves += 1
        except ProviderError:
            pass


class WithColleague(SonarlyProvider):
    """The real provider; before each move it sends, the colleague may act."""

    colleague: Colleague

    def send(self, request: WriteRequest) -> WriteResult:
        self.colleague.before(request)
        return super().send(request)


@dataclass
class Run:
    """What one campaign run found (`counts`: all zero when clean) and what it went through."""

    counts: Counter[str]
    report: ApplyReport
    opened: Counter[str] = field(default_factory=Counter)  # open outcomes, by kind, from the journal
    fired: Counter[str] = field(default_factory=Counter)  # faults the sandbox injected, by kind
    colleague_moves: int = 0
    gave_up: int = 0  # applies stopped by a vendor that kept failing, then run again


def large_workspace(folder: Path, people: int = 600) -> tuple[dict[str, Any], Path]:
    """A seed and a spec for the campaign: four managed audiences (several pages each), an Archive (`claim:
    move`), an audience being populated and another group's same-named audience (both never touched); of the
    people, most are in place, some in the wrong audience, some in Archive, some only in the other group or in
    no audience at all (unsupported), and some prospects are nobody the spec names."""
    rng = random.Random(people)
    segments = "ABCD"
    audiences: list[dict[str, Any]] = [
        {"id": f"65b0000000000000000001{i:02x}", "name": f"Segment {s}", "account_group_id": GROWTH}
        for i, s in enumerate(segments)
    ]
    audiences += [
        {"id": "65b000000000000000000201", "name": "Archive", "account_group_id": GROWTH},
        {"id": "65b000000000000000000202", "name": "Import", "account_group_id": GROWTH, "populating": True},
        {"id": "65b000000000000000000203", "name": "Segment A", "account_group_id": PARTNERS},
    ]
    place = {s: a["id"] for s, a in zip(segments, audiences[: len(segments)], strict=True)}
    archive, importing, theirs = (a["id"] for a in audiences[4:])
    prospects: list[dict[str, Any]] = []

    def prospect(ident: str, audience: str) -> None:
        prospects.append(
            {
                "id": f"65c{len(prospects) + 1:021x}",
                "audience_id": audience,
                "publicIdentifier": ident,
                "linkedinUrl": f"https://www.linkedin.com/in/{ident}/",
                "firstName": "F",
                "lastName": ident,
            }
        )

    rows = ["profile,segment"]
    forms = ["https://www.linkedin.com/in/{}/", "linkedin.com/in/{}", "{}", "https://fr.linkedin.com/in/{}?x=1"]
    for n in range(people):
        ident, segment = f"person-{n:05d}", rng.choice(segments)
        rows.append(f"{forms[n % 4].format(ident)},{segment}")
        roll = rng.random()
        if roll < 0.72:
            prospect(ident, place[segment])
        elif roll < 0.87:
            prospect(ident, place[rng.choice([s for s in segments if s != segment])])
        elif roll < 0.93:
            prospect(ident, archive)
        elif roll < 0.96:
            prospect(ident, theirs)
    for n in range(40):
        prospect(f"someone-else-{n:03d}", [*place.values(), importing][n % 5])
    (folder / "large.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    routes = "\n".join(f"  - {{name: seg-{s.lower()}, when: {{segment: {s}}}, to: seg-{s.lower()}}}" for s in segments)
    places = "\n".join(f'  seg-{s.lower()}: {{audience: "Segment {s}"}}' for s in segments)
    (folder / "large.yaml").write_text(
        f"""version: 1
workspace: {{provider: sonarly, api_key_env: SONARLY_API_KEY, account_group: "Growth Team"}}
destinations:
{places}
sources:
  - {{path: large.csv, fields: {{linkedin: profile}}}}
routes:
{routes}
policy: {{claim: move, max_change_ratio: 1}}
""",
        encoding="utf-8",
    )
    seed = {
        "api_keys": api_keys(),
        "account_groups": SEED["account_groups"],
        "prospects": prospects,
        "audiences": [{**a, "populating": a.get("populating", False)} for a in audiences],
    }
    return seed, folder / "large.yaml"


def campaign_run(
    seed: dict[str, Any], spec_path: Path, kind: Kind, fault_seed: int, fired_names: Namer = fault_kinds
) -> Run:
    """Apply `spec_path` through `kind`, then count from the sandbox's state, apart from the planner's verdict:
    lost (a prospect gone), duplicated (a prospect or a person twice in the account group), misplaced (a routed
    person of the group not in their audience), outside (a prospect leadsync must not touch, moved) and
    unconverged (an apply that did not end with an empty plan, or a fresh plan that is not empty)."""
    movable = {a["id"] for a in seed["audiences"] if a["account_group_id"] == GROWTH and not a["populating"]}
    faults = f"seed={fault_seed}" + (f",{kind.faults}" if kind.faults else "")
    with sandbox.start(seed, rate_limit=False, faults=faults) as running:
        provider = connect(running, kind=WithColleague)
        provider.ready_timeout = kind.ready_timeout
        colleague = Colleague(running, kind.meddle, fault_seed, sorted(movable))
        provider.colleague = colleague  # type: ignore[attr-defined]
        gave_up: list[str] = []
        report = None
        # an apply that gave up (a vendor failing past the retry budget) or said "not converged" (audiences
        # still populating when its rounds ran out) is run again, as a user would, up to three applies in all
        for _ in range(3):
            try:
                report, _ = apply(provider, spec_path)
            except UnavailableError as error:
                gave_up.append(str(error))
                continue
            if report.converged:
                break
        if report is None:
            raise UnavailableError(f"three applies in a row gave up: {gave_up[-1]}")
        final = plan_spec(spec_path, live(connect(running))).plan
        after = {p["id"]: p for p in running.state()["prospects"]}
        fired = faults_fired(running, faults, fired_names)
    journal = spec_path.parent / ".leadsync" / "sonarly.journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    journal.unlink()  # the next run in this folder starts a journal of its own
    loaded = load_spec(spec_path)
    ids = {a["name"]: a["id"] for a in seed["audiences"] if a["account_group_id"] == GROWTH}
    routed = Router(loaded).route(load_leads(loaded).leads, {}).desired
    wanted = {d.key: ids[loaded.spec.destinations[d.destination].ref[1]] for d in routed}
    in_group = [(prospect_key(p), p["audience_id"]) for p in after.values() if p["audience_id"] in movable]
    people = Counter(key for key, _ in in_group)
    counts: Counter[str] = Counter()
    counts["lost"] = len({p["id"] for p in seed["prospects"]} - set(after))
    counts["duplicated"] = len(after) - len(seed["prospects"]) + sum(n - 1 for n in people.values())
    counts["misplaced"] = sum(1 for key, audience in in_group if key in wanted and audience != wanted[key])
    untouchable = [p for p in seed["prospects"] if p["audience_id"] not in movable or prospect_key(p) not in wanted]
    counts["outside"] = sum(1 for p in untouchable if after.get(p["id"], p)["audience_id"] != p["audience_id"])
    counts["unconverged"] = int(not report.converged or bool(final.operations))
    opened = Counter(str(e["why"]) for e in events if e["event"] == "open")
    return Run(counts, report, opened, fired, colleague.moves, len(gave_up))


#: names the kinds of a faults spec, one per rule
Namer = Callable[[str], list[str]]


def faults_fired(running: sandbox.RunningSandbox, faults: str, names: Namer = fault_kinds) -> Counter[str]:
    """How many requests each kind of fault hit, read from the sandbox's injector (its internals: for the
    figures only; empty if they moved). As in tests/test_apply_faults.py, with the kinds named by `names`."""
    injector = getattr(getattr(getattr(running, "_assembly", None), "vendor", None), "faults", None)
    states, rules = getattr(injector, "_states", None), getattr(getattr(injector, "spec", None), "rules", None)
    fired: Counter[str] = Counter()
    for kind, rule, state in zip(names(faults), rules or (), states or (), strict=True):
        fired[kind] += state.fired * (rule.burst if rule.kind == "429" else 1)
    return fired


@pytest.fixture
def example(tmp_path: Path) -> Path:
    for name in EXAMPLE:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path / "sonarly-sandbox.yaml"


@pytest.mark.parametrize("kind", sorted(CAMPAIGN))
def test_the_fault_campaign_on_the_example(example: Path, kind: str) -> None:
    run = campaign_run(example_seed(), example, CAMPAIGN[kind], 1)
    assert +run.counts == Counter()


@pytest.mark.slow  # every kind of fault, two seeds each
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", sorted(CAMPAIGN))
def test_the_fault_campaign_loses_nothing_duplicates_nothing_and_converges(
    tmp_path: Path, kind: str, seed: int
) -> None:
    workspace, spec_path = large_workspace(tmp_path)
    run = campaign_run(workspace, spec_path, CAMPAIGN[kind], seed)
    assert +run.counts == Counter()  # lost, duplicated, misplaced, outside, unconverged: all 0
    # ... and the kinds meant to reach the applier's open outcomes did reach them
    if kind == "populating-long":
        assert run.opened["DestinationNotReady"] > 0
    if CAMPAIGN[kind].meddle:
        assert run.colleague_moves > 0
    if kind == "meddling":
        assert run.opened["MovedMeanwhile"] > 0
