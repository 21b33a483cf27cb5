"""Seeded, reproducible fault injection, and the `--faults` syntax.

    SPEC  := ITEM ("," ITEM)*                        (spaces are ignored; an empty spec injects nothing)
    ITEM  := "seed=" INT                             the fault seed (default 0)
           | "job_ms=" INT | "job_polls=" INT        a move job is done after job_ms ms, or at its job_polls-th poll
           | "assign_ms=" INT                        a bulk-assign is applied job_ms ms after its 202
           | KIND "=" PROBABILITY (":" KEY "=" VALUE)*

    KIND        what happens to a request it fires on                    its own keys
    429         answered 429 (the vendor body), for `burst` requests     burst=N, retry_after=SECONDS,
                                                                         retry_format=seconds|date
    5xx         answered `status` (500, 502, 503, 504)                   status=N, when=before|after
    latency     answered `ms` milliseconds late                          ms=N
    drop        the connection is closed with no response                when=before|after
    job_fail    (per move job) the job ends `failed`, nothing moved
    job_stall   (per move job) the job stays `pending` forever
    assign_lost (per bulk-assign) answered 202 `accepted`, never applied
    populating  (Sonarly) an audience starts populating for `requests`   requests=N
                requests (absent from the list, 409 elsewhere)

    Keys every request fault takes: on=all|reads|writes, path=GLOB (matched against the path template, e.g.
    `*/leads/move`), skip=N (the first N matching requests never fire), count=N (fire at most N times).
    `when=after` means the request is carried out and committed first, then the failure is returned: the
    ambiguous write a client must recover from by reading back.

Reproducibility: each rule draws from its own generator, seeded by (seed, rule position), one number per request
the rule matches. The same spec and the same sequence of requests therefore give the same faults, run after run,
whatever the wall clock does; unrelated requests (other paths, reads for a writes-only rule) do not shift a rule.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, replace

from leadsync.errors import FaultSpecError

REQUEST_KINDS = ("429", "5xx", "latency", "drop", "populating")
JOB_KINDS = ("job_fail", "job_stall")
ASSIGN_KINDS = ("assign_lost",)
SETTINGS = ("seed", "job_ms", "job_polls", "assign_ms")
_COMMON_KEYS = {"on", "path", "skip", "count"}
_KEYS = {
    "429": _COMMON_KEYS | {"burst", "retry_after", "retry_format"},
    "5xx": _COMMON_KEYS | {"status", "when"},
    "latency": _COMMON_KEYS | {"ms"},
    "drop": _COMMON_KEYS | {"when"},
    "populating": _COMMON_KEYS | {"requests"},
    "job_fail": {"skip", "count"},
    "job_stall": {"skip", "count"},
    "assign_lost": {"skip", "count"},
}


@dataclass(frozen=True, slots=True)
class FaultRule:
    kind: str
    probability: float
    on: str = "all"
    path: str | None = None
    skip: int = 0
    count: int | None = None
    burst: int = 1
    retry_after: int | None = None
    retry_format: str = "seconds"
    status: int = 500
    when: str = "before"
    ms: int = 200
    requests: int = 5


@dataclass(frozen=True, slots=True)
class FaultSpec:
    seed: int = 0
    rules: tuple[FaultRule, ...] = ()
    job_ms: int = 500
    job_polls: int = 0
    assign_ms: int = 250


@dataclass(slots=True)
class Decision:
    """What the injector decided for one request."""

    latency_ms: int = 0
    drop: str | None = None
    status: int | None = None
    when: str = "before"
    retry_after: int | None = None
    retry_format: str = "seconds"


def _int(item: str, key: str, value: str, low: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise FaultSpecError(f"invalid faults item {item!r}: {key} must be an integer, not {value!r}") from None
    if number < low:
        raise FaultSpecError(f"invalid faults item {item!r}: {key} must be at least {low}")
    return number


def _rule(item: str, kind: str, probability: str, options: list[str]) -> FaultRule:
    try:
        p = float(probability)
    except ValueError:
        raise FaultSpecError(
            f"invalid faults item {item!r}: probability must be a number, not {probability!r}"
        ) from None
    if not 0.0 <= p <= 1.0:
        raise FaultSpecError(f"invalid faults item {item!r}: probability must be within 0..1")
    rule = FaultRule(kind=kind, probability=p)
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not value:
            raise FaultSpecError(f"invalid faults item {item!r}: expected KEY=VALUE, found {option!r}")
        if key not in _KEYS[kind]:
            raise FaultSpecError(
                f"invalid faults item {item!r}: {kind} takes {', '.join(sorted(_KEYS[kind]))}, not {key!r}"
            )
        if key == "on":
            if value not in {"all", "reads", "writes"}:
                raise FaultSpecError(f"invalid faults item {item!r}: on must be all, reads or writes")
            rule = replace(rule, on=value)
        elif key == "path":
            rule = replace(rule, path=value)
        elif key == "when":
            if value not in {"before", "after"}:
                raise FaultSpecError(f"invalid faults item {item!r}: when must be before or after")
            rule = replace(rule, when=value)
        elif key == "status":
            status = _int(item, key, value)
            if status not in {500, 502, 503, 504}:
                raise FaultSpecError(f"invalid faults item {item!r}: status must be 500, 502, 503 or 504")
            rule = replace(rule, status=status)
        elif key == "retry_after":
            rule = replace(rule, retry_after=_int(item, key, value))
        elif key == "retry_format":
            if value not in {"seconds", "date"}:
                raise FaultSpecError(f"invalid faults item {item!r}: retry_format must be seconds or date")
            rule = replace(rule, retry_format=value)
        elif key == "count":
            rule = replace(rule, count=_int(item, key, value))
        elif key == "skip":
            rule = replace(rule, skip=_int(item, key, value))
        elif key == "burst":
            rule = replace(rule, burst=_int(item, key, value, low=1))
        elif key == "ms":
            rule = replace(rule, ms=_int(item, key, value, low=1))
        else:  # requests
            rule = replace(rule, requests=_int(item, key, value, low=1))
    return rule


def parse_faults(text: str | FaultSpec | None) -> FaultSpec:
    """Parse a `--faults` spec (see the module docstring); raise FaultSpecError naming the bad item."""
    if isinstance(text, FaultSpec):
        return text
    spec = FaultSpec()
    rules: list[FaultRule] = []
    for raw in (text or "").split(","):
        item = "".join(raw.split())
        if not item:
            continue
        head, *options = item.split(":")
        name, sep, value = head.partition("=")
        if not sep or not value:
            raise FaultSpecError(f"invalid faults item {item!r}: expected NAME=VALUE")
        if name in SETTINGS:
            if options:
                raise FaultSpecError(f"invalid faults item {item!r}: {name} takes no options")
            number = _int(item, name, value)
            spec = (
                replace(spec, seed=number)
                if name == "seed"
                else replace(spec, job_ms=number)
                if name == "job_ms"
                else replace(spec, job_polls=number)
                if name == "job_polls"
                else replace(spec, assign_ms=number)
            )
        elif name in _KEYS:
            rules.append(_rule(item, name, value, options))
        else:
            known = ", ".join((*SETTINGS, *REQUEST_KINDS, *JOB_KINDS, *ASSIGN_KINDS))
            raise FaultSpecError(f"invalid faults item {item!r}: unknown name {name!r} (known: {known})")
    return replace(spec, rules=tuple(rules))


@dataclass(slots=True)
class _RuleState:
    rng: random.Random
    seen: int = 0
    fired: int = 0
    burst_left: int = 0


class FaultInjector:
    """Decides, request by request and job by job, which faults fire. Used from the server's one event loop."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self._states = [
            _RuleState(random.Random(f"leadsync-faults/{spec.seed}/{i}/{r.kind}")) for i, r in enumerate(spec.rules)
        ]

    def _fires(self, index: int) -> bool:
        rule, state = self.spec.rules[index], self._states[index]
        state.seen += 1
        draw = state.rng.random()  # always drawn, so that a rule's stream depends only on its matching requests
        if state.burst_left > 0:
            state.burst_left -= 1
            return True
        if state.seen <= rule.skip or (rule.count is not None and state.fired >= rule.count):
            return False
        if draw < rule.probability:
            state.fired += 1
            state.burst_left = rule.burst - 1
            return True
        return False

    @staticmethod
    def _matches(rule: FaultRule, template: str, write: bool) -> bool:
        if (rule.on == "reads" and write) or (rule.on == "writes" and not write):
            return False
        return rule.path is None or fnmatch.fnmatchcase(template, rule.path)

    def for_request(self, template: str, write: bool) -> Decision:
        decision = Decision()
        for index, rule in enumerate(self.spec.rules):
            if rule.kind not in ("429", "5xx", "latency", "drop") or not self._matches(rule, template, write):
                continue
            if not self._fires(index):
                continue
            if rule.kind == "latency":
                decision.latency_ms += rule.ms
            elif rule.kind == "drop":
                # a drop before the write wins over everything; a drop after it wins over a 5xx after it
                if decision.drop != "before":
                    decision.drop = rule.when
            elif decision.status is None or (decision.when == "after" and rule.when == "before"):
                decision.status = 429 if rule.kind == "429" else rule.status
                decision.when = "before" if rule.kind == "429" else rule.when
                decision.retry_after, decision.retry_format = rule.retry_after, rule.retry_format
        return decision

    def job_fate(self) -> str:
        """`ok`, `fail` or `stall` for the next move job, in creation order."""
        fate = "ok"
        for index, rule in enumerate(self.spec.rules):
            if rule.kind in JOB_KINDS and self._fires(index) and fate == "ok":
                fate = "fail" if rule.kind == "job_fail" else "stall"
        return fate

    def assign_lost(self) -> bool:
        """Whether the next bulk-assign is accepted and then never applied, in the order they arrive."""
        lost = False
        for index, rule in enumerate(self.spec.rules):
            if rule.kind in ASSIGN_KINDS and self._fires(index):
                lost = True
        return lost

    def populating(self, template: str, write: bool) -> tuple[float, int] | None:
        """When an audience starts populating: (which one, as a fraction of the ready ones; for how many requests)."""
        for index, rule in enumerate(self.spec.rules):
            if rule.kind == "populating" and self._matches(rule, template, write) and self._fires(index):
                return self._states[index].rng.random(), rule.requests
        return None
