"""The fault campaign: a 2,000-lead workspace applied through seeded faults, then checked from the sandbox's state.

Every run draws its own faults from a fixed master seed (429 bursts with and without Retry-After, 5xx before and
after the write, connections dropped before and after the commit, move jobs that fail or stall, latency), applies
the scenario's spec through the real Instantly provider over HTTP, and checks, from the sandbox's final state
and independently of the planner's own verdict:

- lost: a record that was there before and is gone, or a person who should be in a managed destination and is not;
- duplicated: a person with more records in managed destinations than before (and more than one), or a record
  the plan did not add;
- misplaced: a routed person (not held, conflicted or unsupported) not where the spec says, with the owner it says;
- outside: a record the plan did not touch whose place, owner or status changed;
- unconverged: a workspace a second apply could not bring to an empty plan (nor, while move jobs stalled again or
  the vendor kept failing past the retry budget, the applies after it, at most five in all: a stalled job ends its
  apply unconverged and the next one settles it, issue 11; an apply that gave up is run again, as a user would,
  in a new process with a retry budget of its own).

`benchmarks/bench_faults.py` runs the same campaign for longer and prints the figures.
"""

from __future__ import annotations

import csv
import functools
import io
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leadsync import sandbox
from leadsync.apply import ApplyReport
from leadsync.errors import LeadsyncError, UnavailableError
from leadsync.plan import AddOp, AssignOp, MoveOp, Plan, RemoveOp
from leadsync.providers import ResolvedWorkspace, resolve_snapshot
from leadsync.providers._http import RateLimiter, RetryPolicy
from leadsync.providers.instantly import InstantlyProvider
from leadsync.routing import Router
from leadsync.sandbox import ManualClock
from leadsync.spec import LoadedSpec, load_leads, load_spec
from leadsync.state import DesiredLead, KeyKind
from leadsync.workflow import ApplySession, destination_refs, owner_emails, plan_spec

KEY_ENV = "LEADSYNC_CAMPAIGN_KEY"
KEY = "campaign-key-all"
MASTER_SEED = 20261123
CI_RUNS = 200
MAX_APPLIES = 5  # a second apply, and one more for each that ended with a job stalled or gave up
OWNERS = [f"o{i}" for i in range(6)]
USER = {name: f"7d0c6d2e-0000-4000-8000-{i + 1:012x}" for i, name in enumerate([*OWNERS, "ghost"])}
CAMPAIGNS = {"Enterprise": 1, "Mid-Market": 2, "SMB": 3, "Webinar": 4}  # Webinar is outside the spec
LISTS = {"Nurture": 1, "Partners": 2, "Cold": 3}  # Cold is outside the spec
DESTINATIONS = {
    "enterprise": ("campaign", "Enterprise"),
    "mid": ("campaign", "Mid-Market"),
    "smb": ("campaign", "SMB"),
    "nurture": ("list", "Nurture"),
    "partners": ("list", "Partners"),
}
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "ES", "BR", "JP"]


def campaign_id(name: str) -> str:
    return f"c0000000-0000-4000-8000-{CAMPAIGNS[name]:012x}"


def list_id(name: str) -> str:
    return f"11570000-0000-4000-8000-{LISTS[name]:012x}"


def ref_of(kind: str, name: str) -> str:
    return f"campaign:{campaign_id(name)}" if kind == "campaign" else f"list:{list_id(name)}"


OUTSIDE = [ref_of("campaign", "Webinar"), ref_of("list", "Cold")]
MANAGED = {name: ref_of(kind, place) for name, (kind, place) in DESTINATIONS.items()}


def spec_text(policy: str = "skip") -> str:
    """The spec; `policy` is a claim policy, `+remove` added for `unmanaged: remove` (else keep)."""
    claim, _, unmanaged = policy.partition("+")
    owners = "\n".join(f"  {o}: {{email: {o}@acme.test}}" for o in OWNERS)
    places = "\n".join(f'  {name}: {{{kind}: "{place}"}}' for name, (kind, place) in DESTINATIONS.items())
    return f"""version: 1
workspace: {{provider: instantly, api_key_env: {KEY_ENV}}}
destinations:
{places}
owners:
{owners}
pools:
  ae: {{members: [o0, o1, o2], sticky: true}}
  sdr: {{members: [o3, o4]}}
sources:
  - path: leads.csv
routes:
  - {{name: partners, when: {{segment: partner}}, to: partners, owner: o5}}
  - {{name: enterprise, when: {{company_size: {{gte: 1000}}}}, to: enterprise, owner: {{pool: ae}}}}
  - {{name: mid, when: {{company_size: {{gte: 200}}, country: [US, CA, GB, DE, FR]}}, to: mid, owner: {{pool: sdr}}}}
  - {{name: smb, when: {{company_size: {{gte: 20}}}}, to: smb, owner: o3}}
  - {{name: nurture, when: {{country: {{exists: true}}}}, to: nurture, owner: o4}}
policy:
  unmanaged: {unmanaged or "keep"}
  claim: {claim}
  max_change_ratio: 1.0
"""


@dataclass
class Scenario:
    """A spec folder (spec.yaml + leads.csv), the seed of its workspace, and that seed loaded once into a
    sandbox state file that each run starts from a copy of (loading a seed checks every lead: slow)."""

    folder: Path
    seed: dict[str, Any]
    policy: str

    @property
    def spec(self) -> Path:
        return self.folder / "spec.yaml"

    @property
    def state(self) -> Path:
        path = self.folder / "workspace.sqlite"
        if not path.exists():
            sandbox.reset(path, self.seed)
        return path

    @functools.cached_property
    def first_plan(self) -> Plan:
        """The plan of the workspace as seeded (from the seed itself, as `plan --remote` would make it)."""

        def seeded(loaded: LoadedSpec, wanted: frozenset[str]) -> ResolvedWorkspace:
            spec = loaded.spec
            return resolve_snapshot(
                self.seed, destinations=destination_refs(spec), owners=owner_emails(spec), key_kind=KeyKind.EMAIL
            )

        return plan_spec(self.spec, seeded).plan

    @functools.cached_property
    def loaded(self) -> LoadedSpec:
        return load_spec(self.spec)

    @functools.cached_property
    def desired(self) -> dict[str, DesiredLead]:
        """Where the spec wants each person, seeing the seed's owners (sticky pools keep them)."""
        name_of = {user: name for name, user in USER.items() if name in OWNERS}
        owners_now = {
            lead["email"].lower(): name_of[lead["assigned_to"]]
            for lead in self.seed["leads"]
            if lead.get("email") and lead.get("assigned_to") in name_of and place_of(lead) in MANAGED.values()
        }
        routed = Router(self.loaded).route(load_leads(self.loaded).leads, owners_now).desired
        return {d.key: d for d in routed}

    def fresh_state(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / "workspace.sqlite"
        shutil.copyfile(self.state, copy)
        return copy


def scratch(prefix: str) -> Path:
    """A scratch folder in memory when the machine has one: journals fsync every event, and these tests are
    about what is written, not about how fast a shared disk is."""
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if shm.is_dir() else None))


def build_scenario(folder: Path, *, leads: int = 2000, seed: int = 7, policy: str = "skip") -> Scenario:
    """Write the spec and its leads into `folder`; return them with a workspace seed that needs every kind of
    change: moves (some re-owned), adds, re-owns, held leads, people in two managed places, people only outside,
    unrouted people, records nobody routes (removed under `unmanaged: remove`), name-only list leads."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(leads):
        size = rng.choice([5, 30, 80, 300, 700, 1500, 5000])
        rows.append(
            {
                "email": f"p{i}.{rng.choice(['kim', 'lee', 'ada', 'ivo'])}@co{i % 211}.test",
                "first_name": f"P{i}",
                "company_size": size,
                "country": "" if rng.random() < 0.05 else rng.choice(COUNTRIES),
                "segment": "partner" if rng.random() < 0.06 else "direct",
            }
        )
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (folder / "leads.csv").write_text(text.getvalue())
    (folder / "spec.yaml").write_text(spec_text(policy))
    loaded = load_spec(folder / "spec.yaml")
    desired = {d.key: d for d in Router(loaded).route(load_leads(loaded).leads).desired}

    records: list[dict[str, Any]] = []

    def record(email: str | None, place: str, owner: str | None, **extra: Any) -> None:
        lead: dict[str, Any] = {
            "id": f"1ead0000-0000-4000-8000-{len(records) + 1:012x}",
            "status": 1,
            "lt_interest_status": 0,
            "email_reply_count": 0,
            **extra,
        }
        if email is not None:
            lead["email"] = email
        kind, _, ident = place.partition(":")
        lead["campaign" if kind == "campaign" else "list_id"] = ident
        if owner is not None:
            lead["assigned_to"] = USER[owner]
        records.append(lead)

    places = list(MANAGED.values())
    for row in rows:
        key = row["email"]
        want = desired.get(key)
        draw = rng.random()
        if want is None:  # unrouted: sometimes somewhere, never touched
            if draw < 0.5:
                record(key, rng.choice(places + OUTSIDE), rng.choice([*OWNERS, None]))
            continue
        right, owner = MANAGED[want.destination], want.owner
        wrong = rng.choice([p for p in places if p != right])
        stranger = rng.choice(["ghost", "o5", None] if owner != "o5" else ["ghost", "o0", None])
        if draw < 0.45:
            record(key, right, owner)
        elif draw < 0.57:
            record(key, wrong, owner)  # a move
        elif draw < 0.62:
            record(key, wrong, stranger)  # a move that re-owns
        elif draw < 0.72:
            record(key, right, stranger)  # an assign
        elif draw < 0.86:
            pass  # an add
        elif draw < 0.89:
            record(key, wrong, stranger, email_reply_count=1)  # held: replied
        elif draw < 0.90:
            record(key, right, stranger, lt_interest_status=1)  # held: interested
        elif draw < 0.92:
            record(key, right, owner)
            record(key, wrong, owner)  # a conflict: two managed records
        elif draw < 0.96:
            record(key, rng.choice(OUTSIDE), rng.choice([*OWNERS, "ghost"]))  # only outside: per `claim`
        else:
            record(key, rng.choice(OUTSIDE), "ghost")
            record(key, wrong, owner)  # outside and managed: the managed record moves, the outside one stays
    for i in range(150):  # people nobody routes, in managed places (unmanaged: keep) and outside
        record(f"nobody{i}@elsewhere{i % 17}.test", rng.choice(places + OUTSIDE), rng.choice([*OWNERS, None]))
    for i in range(20):  # list leads with a name and no email: never touched
        record(None, MANAGED["nurture"], None, first_name=f"Nameless{i}")
    workspace = {
        "api_keys": [{"key": KEY, "scopes": ["all:*"]}],
        "members": [{"user_id": USER[name], "email": f"{name}@acme.test"} for name in USER],
        "campaigns": [{"id": campaign_id(name), "name": name} for name in CAMPAIGNS],
        "lists": [{"id": list_id(name), "name": name} for name in LISTS],
        "leads": records,
    }
    return Scenario(folder, workspace, policy)


# -- faults ---------------------------------------------------------------------------------------------------


def draw_faults(run: int, *, master: int = MASTER_SEED, stalls: bool = True) -> str:
    """The faults of run `run`: a seeded mix, at least one kind each run; job timings short for tests."""
    rng = random.Random(f"{master}/{run}")
    items = [f"seed={rng.randrange(1 << 30)}", f"job_ms={rng.randint(10, 60)}", f"assign_ms={rng.randint(5, 40)}"]
    while len(items) == 3:
        if rng.random() < 0.6:
            after = rng.choice(["", ":retry_after=0", ":retry_after=1", ":retry_after=1:retry_format=date"])
            items.append(f"429={rng.uniform(0.02, 0.08):.3f}:burst={rng.randint(1, 4)}{after}")
        if rng.random() < 0.5:
            items.append(
                f"5xx={rng.uniform(0.01, 0.05):.3f}:status={rng.choice([500, 502, 503, 504])}"
                f":when={rng.choice(['before', 'after'])}:on={rng.choice(['all', 'writes', 'reads'])}"
            )
        if rng.random() < 0.5:
            items.append(
                f"drop={rng.uniform(0.01, 0.06):.3f}:when={rng.choice(['before', 'after'])}"
                f":on={rng.choice(['writes', 'all'])}"
            )
        if rng.random() < 0.4:
            items.append(f"job_fail={rng.uniform(0.05, 0.25):.3f}")
        if stalls and rng.random() < 0.3:
            items.append(f"job_stall={rng.uniform(0.02, 0.1):.3f}")
        if rng.random() < 0.15:
            items.append(f"latency={rng.uniform(0.02, 0.1):.3f}:ms={rng.randint(2, 20)}")
    return ",".join(items)


def fault_kinds(faults: str) -> list[str]:
    """The kinds a faults spec injects, named as the benchmark reports them (e.g. `drop:after:writes`)."""
    kinds = []
    for item in faults.split(","):
        head, *options = item.split(":")
        name = head.partition("=")[0]
        if name in ("seed", "job_ms", "job_polls", "assign_ms"):
            continue
        opts = dict(o.split("=", 1) for o in options)
        if name == "429":
            kinds.append("429 " + ("with Retry-After" if "retry_after" in opts else "without Retry-After"))
        elif name in ("5xx", "drop"):
            kinds.append(f"{name} {opts.get('when', 'before')} ({opts.get('on', 'all')})")
        else:
            kinds.append(name)
    return kinds


# -- applying -------------------------------------------------------------------------------------------------


class Naps:
    """Time for one run, shared by the client and the sandbox: the sandbox's clock, which only the client's
    sleeps move. Each sleep the provider and the applier ask for (recorded) advances it at once, and their clocks
    read it, so a job's `job_ms`, an assign's `assign_ms`, the job timeout and the retry budget's seconds are
    all counted in the same seconds, whatever the machine's load: a run's requests, and so its faults, are the
    same run after run (the client also sends one request at a time: see `connect`)."""

    def __init__(self, seed: str = "") -> None:
        self.asked: list[float] = []
        self.clock = ManualClock()
        self.seed = seed

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.clock.advance(max(0.0, seconds))

    def now(self) -> float:
        return self.clock.now()


def connect(url: str, naps: Naps | None = None) -> InstantlyProvider:
    """The real provider, with short job timeouts, on the run's time (RetryPolicy still asks for its backoff),
    reading one destination at a time: requests in parallel would meet the seeded faults in the order the
    threads happen to run, which a busy machine changes."""
    naps = naps or Naps()
    provider = InstantlyProvider.connect(url, KEY, f"${KEY_ENV}")
    provider.job_timeout, provider.poll, provider.sleep, provider.clock = 0.2, (0.02, 0.05), naps, naps.now
    provider.read_threads = 1
    # the backoff's jitter too is drawn from a seed: its pauses move the run's time
    provider.client.retry = RetryPolicy(attempts=8, base=0.001, cap=0.01, rng=random.Random(naps.seed))
    provider.client.sleep, provider.client.clock = naps, naps.now
    provider.client.limiter = RateLimiter(5000, 300_000)  # the sandbox's limiter is off here: so is ours, nearly
    return provider


def apply_once(loaded: LoadedSpec, provider: InstantlyProvider, state_dir: Path, naps: Naps) -> ApplyReport:
    """What `leadsync apply --auto-approve` does, on our provider: lock-free, journalled under `state_dir`, one
    write and one job wait at a time (see `connect`), on the run's time."""
    pace = {"round_pause": (0.01, 0.05), "sleep": naps, "clock": naps.now, "workers": 0, "waiters": 0}
    session = ApplySession(loaded, provider, state_dir, applier_options=pace)
    try:
        return session.apply()
    finally:
        session.journal.close()


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.misplaced or self.outside)

    def __str__(self) -> str:
        return "; ".join(f"{name}: {len(items)} e.g. {items[:3]}" for name, items in vars(self).items() if items)


def place_of(lead: dict[str, Any]) -> str:
    return f"campaign:{lead['campaign']}" if lead.get("campaign") else f"list:{lead['list_id']}"


def check(scenario: Scenario, first: Plan, final: dict[str, Any]) -> Findings:
    """Compare the workspace after the apply with the one before, the spec, and the first plan."""
    before = {lead["id"]: lead for lead in scenario.seed["leads"]}
    after = {lead["id"]: lead for lead in final["leads"]}
    desired = scenario.desired
    excluded = (
        {h.key for h in first.held} | {c.key for c in first.conflicts if c.key} | {u.key for u in first.unsupported}
    )
    touched = {i for op in first.operations if isinstance(op, (MoveOp, AssignOp, RemoveOp)) for i in op.lead_ids}
    removed = {i for op in first.operations if isinstance(op, RemoveOp) for i in op.lead_ids}
    added = Counter(
        (lead.key, MANAGED[op.destination]) for op in first.operations if isinstance(op, AddOp) for lead in op.leads
    )
    found = Findings()

    def managed(leads: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        by_key: dict[str, list[dict[str, Any]]] = {}
        for lead in leads.values():
            if lead.get("email") and place_of(lead) in MANAGED.values():
                by_key.setdefault(lead["email"].strip().lower(), []).append(lead)
        return by_key

    was, now = managed(before), managed(after)
    found.lost += [f"record {i}" for i in before if i not in after and i not in removed]
    found.outside += [f"not removed {i}" for i in removed if i in after]
    for key, records in now.items():
        if len(records) > max(1, len(was.get(key, []))):
            found.duplicated.append(key)
    for ident, lead in after.items():
        if ident in before:
            continue
        made = (str(lead.get("email", "")).lower(), place_of(lead))
        if added[made] > 0:
            added[made] -= 1
        else:
            found.duplicated.append(f"unplanned record {made}")
    for key, want in desired.items():
        if key in excluded:
            continue
        records = now.get(key, [])
        if not records:
            found.lost.append(key)
            continue
        wrong = [
            r
            for r in records
            if place_of(r) != MANAGED[want.destination]
            or (want.owner is not None and r.get("assigned_to") != USER[want.owner])
        ]
        if wrong or len(records) != 1:
            found.misplaced.append(key)
    for ident, lead in before.items():
        if ident in touched or ident not in after:
            continue
        then, later = lead, after[ident]
        if (place_of(then), then.get("assigned_to"), then.get("status"), then.get("email")) != (
            place_of(later),
            later.get("assigned_to"),
            later.get("status"),
            later.get("email"),
        ):
            found.outside.append(ident)
    return found


@dataclass
class RunResult:
    faults: str
    findings: Findings
    converged_first: bool
    converged: bool
    rounds: int
    writes: int
    open_outcomes: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    calls: dict[str, int] = field(default_factory=dict)  # the requests the sandbox answered, by endpoint


def run_campaign_once(scenario: Scenario, faults: str, state_dir: Path) -> RunResult:
    """Apply the scenario through `faults`; when an apply does not converge, another (as a user would: see
    `allowed`); then check the sandbox's state."""
    started = time.monotonic()
    loaded = scenario.loaded
    naps = Naps(seed=faults)
    running = sandbox.start(state=scenario.fresh_state(state_dir), faults=faults, rate_limit=False, clock=naps.clock)
    try:
        errors: list[str] = []
        report = ApplyReport()
        # a second apply, and one more for each apply that ended with a stalled job (the next one settles it) or
        # gave up on a vendor failing past the retry budget (a user runs it again); each apply is a new process,
        # so a new client with its own retry budget
        allowed = 2
        for attempt in range(MAX_APPLIES):
            provider = connect(running.url, naps)
            try:
                again = apply_once(loaded, provider, state_dir, naps)
            except LeadsyncError as exc:  # an apply that gave up: the next one resumes it
                errors.append(f"{type(exc).__name__}: {exc}")
                again = ApplyReport()
                allowed += isinstance(exc, UnavailableError)
            finally:
                provider.close()
            report.rounds += again.rounds
            report.writes += again.writes
            report.open_outcomes += again.open_outcomes
            report.converged = again.converged
            if attempt == 0:
                converged_first = again.converged
            allowed += bool(again.open_items)
            if again.converged or attempt + 1 >= allowed:
                break
        final = running.state()
        fired = faults_fired(running, faults)
        calls = dict(running.stats()["calls"])
    finally:
        running.stop(wait=False)  # it lets go within a tenth of a second; nothing here needs to wait for that
    return RunResult(
        faults,
        check(scenario, scenario.first_plan, final),
        converged_first,
        report.converged,
        report.rounds,
        report.writes,
        report.open_outcomes,
        time.monotonic() - started,
        errors,
        fired,
        calls,
    )


def faults_fired(running: sandbox.RunningSandbox, faults: str) -> Counter[str]:
    """How many requests (or jobs) each kind of fault hit, read from the sandbox's injector (its internals: for
    the figures only; empty if they moved)."""
    injector = getattr(getattr(getattr(running, "_assembly", None), "vendor", None), "faults", None)
    states, rules = getattr(injector, "_states", None), getattr(getattr(injector, "spec", None), "rules", None)
    if not states or not rules:
        return Counter()
    fired: Counter[str] = Counter()
    for kind, rule, state in zip(fault_kinds(faults), rules, states, strict=True):
        fired[kind] += state.fired * (rule.burst if rule.kind == "429" else 1)
    return fired


# -- the tests ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scenario]]:
    root = tmp_path_factory.mktemp("campaign")
    yield {policy: build_scenario(root / policy, policy=policy) for policy in POLICIES}


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    folder = scratch("leadsync-campaign-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_scenario_needs_every_kind_of_change(scenarios: dict[str, Scenario], scratch_dir: Path) -> None:
    """Without faults: one round, writes equal the plan's, every kind of change and refusal present, and the
    checks find nothing (they are the same checks the fault runs rely on)."""
    for policy, scenario in scenarios.items():
        result = run_campaign_once(scenario, "seed=1,job_ms=20,assign_ms=10", scratch_dir / policy)
        assert result.findings.clean, f"{policy}: {result.findings}"
        assert result.converged_first and result.rounds == 1 and result.open_outcomes == 0
    with sandbox.start(scenarios["skip"].seed, rate_limit=False) as running:
        provider = connect(running.url)
        first = ApplySession(load_spec(scenarios["skip"].spec), provider, scratch_dir / "look").plan
        provider.close()
    assert first.operations == scenarios["skip"].first_plan.operations  # the checks' plan is the live one
    s = first.summary
    assert min(s.add, s.move, s.assign, s.held, s.conflicts, s.unchanged) > 20 and s.unrouted > 5, s
    assert {op.op for op in first.operations} == {"move", "add", "assign"}
    assert {op.op for op in scenarios["move+remove"].first_plan.operations} == {"move", "add", "assign", "remove"}
    assert any(isinstance(op, MoveOp) and op.owner is not None for op in first.operations)


@contextmanager
def busy_cores() -> Iterator[None]:
    """Every core kept busy by another process, as on a shared CI runner."""
    spin = "import time\nend = time.time() + 120\nwhile time.time() < end: pass"  # ends by itself if pytest is killed
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_a_run_meets_the_same_faults_on_a_busy_machine(scenarios: dict[str, Scenario], scratch_dir: Path) -> None:
    """A run's requests, and so the faults it meets, depend on its seed alone, not on the machine's speed: the
    same run beside processes that keep every core busy sends the same requests, meets the same faults and
    ends the same way. (Before, the client's waits were wall-clock seconds against a sandbox on wall-clock time,
    and its reads and writes went out in parallel: a busy CI runner once met 8 back-to-back 429s on one request
    that a quiet one never meets, and the apply gave up.)"""
    run = next(
        n
        for n in range(CI_RUNS)
        if all(kind in draw_faults(n) for kind in ("429=", "drop=", "job_fail=", "job_stall="))
    )
    faults, scenario = draw_faults(run), scenarios[POLICIES[run % 3]]
    quiet = run_campaign_once(scenario, faults, scratch_dir / "quiet")
    with busy_cores():
        busy = run_campaign_once(scenario, faults, scratch_dir / "busy")

    def story(result: RunResult) -> tuple[object, ...]:
        return (result.calls, result.fired, result.writes, result.rounds, result.open_outcomes, result.errors)

    assert story(busy) == story(quiet), f"run {run} ({faults})"
    assert quiet.findings.clean and quiet.converged, f"run {run} ({faults}): {quiet.findings}"


def test_the_faults_are_drawn_from_the_master_seed() -> None:
    runs = [draw_faults(run) for run in range(CI_RUNS)]
    assert runs == [draw_faults(run) for run in range(CI_RUNS)]
    kinds = Counter(kind for faults in runs for kind in fault_kinds(faults))
    for wanted in (
        "429 with Retry-After",
        "429 without Retry-After",
        "5xx before (writes)",
        "5xx after (writes)",
        "drop before (writes)",
        "drop after (writes)",
        "job_fail",
        "job_stall",
    ):
        assert kinds[wanted] >= 5, (wanted, kinds)


def _worker_run(
    policy: str, run: int, master: int = MASTER_SEED, leads: int = 2000, root: str | None = None
) -> RunResult:
    """One campaign run in a worker process, in a folder under `root` (the caller removes it): the scenario is
    built there once per process (it is deterministic), each run in a folder of its own, removed after it."""
    base = Path(root) if root is not None else scratch("leadsync-campaign-")
    scenario = _WORKER_SCENARIOS.get((policy, leads, str(base)))
    if scenario is None:
        folder = base / f"{policy}-{leads}-{os.getpid()}"
        scenario = _WORKER_SCENARIOS[(policy, leads, str(base))] = build_scenario(folder, policy=policy, leads=leads)
    folder = base / f"run{run}-{os.getpid()}"
    try:
        return run_campaign_once(scenario, draw_faults(run, master=master), folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_WORKER_SCENARIOS: dict[tuple[str, int, str], Scenario] = {}
#: the policies the runs take in turn: `claim: skip`, `claim: move` with `unmanaged: remove`, `claim: add`
POLICIES = ("skip", "move+remove", "add")


@pytest.fixture(scope="module")
def campaign(request: pytest.FixtureRequest) -> Iterator[dict[int, RunResult]]:
    """The selected runs of the campaign, run up front on every core (each run is a sandbox and an apply in one
    interpreter, CPU-bound: two processes take half the time), then checked one test a run."""
    runs = sorted(
        {
            item.callspec.params["run"]
            for item in request.session.items
            if getattr(item, "originalname", "") == "test_a_faulty_apply_loses_nothing_duplicates_nothing_and_converges"
            and hasattr(item, "callspec")
        }
    )
    workers = int(os.environ.get("LEADSYNC_CAMPAIGN_WORKERS", min(2, os.cpu_count() or 1)))
    root = scratch("leadsync-campaign-")
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            policies = [POLICIES[run % 3] for run in runs]
            done = pool.map(
                _worker_run, policies, runs, [MASTER_SEED] * len(runs), [2000] * len(runs), [str(root)] * len(runs)
            )
            results = dict(zip(runs, done, strict=True))
        yield results
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # 200 runs: about two minutes on two cores
@pytest.mark.parametrize("run", range(CI_RUNS))
def test_a_faulty_apply_loses_nothing_duplicates_nothing_and_converges(
    campaign: dict[int, RunResult], run: int
) -> None:
    result = campaign[run]
    where = f"run {run} ({POLICIES[run % 3]}, {result.faults})"
    assert result.findings.clean, f"{where}: {result.findings}"
    assert result.converged, f"{where}: not converged after a second apply"
