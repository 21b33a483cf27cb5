"""Checks a spec's meaning once its shape is valid: references, routes, conditions, owners and file paths.

Every check appends located problems; nothing stops at the first one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path as FsPath
from typing import get_args

from leadsync import state
from leadsync.errors import Problem, closest
from leadsync.providers import DEFAULT, VENDORS, Vendor, vendor
from leadsync.spec.conditions import Condition, parse_condition
from leadsync.spec.models import OutreachStatus, PoolRef, RoutingCase, Spec
from leadsync.spec.regexshape import ExpansionBudget
from leadsync.spec.yamlpos import Path, Positions

#: Outreach status names a lead record can carry (the models refuse others; see leadsync.providers).
KNOWN_STATUSES = frozenset(get_args(OutreachStatus))

SECRET_KEY_NAMES = frozenset({"api_key", "apikey", "key", "token", "api_token", "secret", "password", "bearer"})


def looks_like_api_key(value: str) -> bool:
    """A heuristic for a literal key where the NAME of an environment variable belongs."""
    lowered = value.lower()
    if lowered.startswith(("sk_", "sk-", "pk_", "key_", "bearer ")):
        return True
    return len(value) >= 20 and any(c.islower() for c in value) and any(c.isdigit() for c in value)


def _kinds(kinds: Iterable[str]) -> str:
    """`campaigns and lists`, `audiences`."""
    return " and ".join(f"{kind}s" for kind in kinds)


def _has_kinds(at: Vendor, kind: str) -> str:
    """Why a destination of `kind` cannot be at `at`: `a Sonarly workspace has audiences only`."""
    article = "an" if at.title[:1].lower() in "aeiou" else "a"
    if len(at.destination_kinds) == 1:
        return f"{article} {at.title} workspace has {_kinds(at.destination_kinds)} only"
    return f"{article} {at.title} workspace has {_kinds(at.destination_kinds)}, not {kind}s"


class SpecChecker:
    """Runs the meaning checks on a shape-valid spec.

    `shape` holds the rules `schemas/leadsync.schema.json` expresses too (tests/test_spec_schema.py keeps the
    two in agreement); the rest need cross-references, uniqueness, order or files, which a schema cannot see.
    """

    def __init__(self, spec: Spec, positions: Positions, root: FsPath) -> None:
        self.spec = spec
        self.positions = positions
        self.root = root
        self.problems: list[Problem] = []
        self.conditions: list[Condition | None] = []
        self.patterns = ExpansionBudget()  # what all `matches` patterns may expand to, together

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.positions.of(path, key=key), message))

    def run(self) -> list[Problem]:
        self.shape()
        self.destination_names()
        self.owner_references()
        self.routes()
        if self.spec.workspace.seed is not None and self.spec.workspace.provider == "sandbox":
            self.file_path(self.spec.workspace.seed, ("workspace", "seed"), what="seed")
        for i, source in enumerate(self.spec.sources):
            what = "source" if source.path is not None else "query"
            self.file_path(source.file, ("sources", i, source.file_key), what=what)
            if source.database is not None:
                self.file_path(source.database, ("sources", i, "database"), what="database")
        self.routing_tests()
        return self.problems

    def shape(self) -> list[Problem]:
        """The cross-field rules of the schema: the provider's keys, kinds and owners; conditions; inline leads."""
        self.workspace()
        self.destination_kinds()
        self.owners()
        for i, route in enumerate(self.spec.routes):
            self.route_owner_allowed(i)
            condition: Condition | None = None
            if route.when is not None:
                condition, problems = parse_condition(route.when, ("routes", i, "when"), self.positions, self.patterns)
                self.problems.extend(problems)
            self.conditions.append(condition)
        self.inline_leads()
        return self.problems

    def workspace(self) -> None:
        ws = self.spec.workspace
        speaks = vendor(self.spec.vendor)
        at = VENDORS.get(ws.provider)  # None: the sandbox
        if at is not None and ws.api_key_env is None:
            example = at.key_env_example
            self.problem(("workspace",), f"a {ws.provider} workspace needs api_key_env (for example {example})")
        if speaks.needs_account and not ws.account_group:
            self.problem(("workspace",), f"a {speaks.title} workspace needs account_group (its name or id)")
        if at is not None and not at.needs_account and ws.account_group:
            grouped = " or ".join(v.title for v in VENDORS.values() if v.needs_account)
            self.problem(("workspace", "account_group"), f"account_group is for {grouped} workspaces only", key=True)
        if ws.seed is not None and ws.provider != "sandbox":
            self.problem(("workspace", "seed"), "seed is for sandbox workspaces only", key=True)
        vendor_rate = speaks.capabilities.requests_per_second
        if ws.max_rate is not None and ws.max_rate > vendor_rate:
            self.problem(("workspace", "max_rate"), f"max_rate {ws.max_rate:g} is above the vendor's limit of "
                                                    f"{vendor_rate:g} requests per second")  # fmt: skip

    def destination_kinds(self) -> None:
        provider = self.spec.workspace.provider
        at = VENDORS.get(provider)  # None: the sandbox, which plays whichever vendor its destinations are at
        kinds: set[str] = set()
        for name, dest in self.spec.destinations.items():
            kinds.add(dest.kind)
            if at is not None and not at.allows(dest.kind):
                self.problem(("destinations", name), f"destination '{name}': {_has_kinds(at, dest.kind)}")
        if at is None and kinds and not any(kinds <= set(v.destination_kinds) for v in VENDORS.values()):
            # the default vendor's kinds last and unnamed: "audiences (Sonarly) or campaigns and lists"
            others = [f"{_kinds(v.destination_kinds)} ({v.title})" for v in VENDORS.values() if v is not DEFAULT]
            either = " or ".join([*others, _kinds(DEFAULT.destination_kinds)])
            self.problem(("destinations",), f"a workspace has either {either}")

    def destination_names(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        for name, dest in self.spec.destinations.items():
            field, value = dest.ref
            ref = (field, value.strip().lower() if not field.endswith("_id") else value)
            if ref in seen:
                message = f"destination '{name}' names the same {dest.kind} as '{seen[ref]}'"
                self.problem(("destinations", name), message)
            seen.setdefault(ref, name)

    def inline_leads(self) -> None:
        key_attr = self.spec.key_kind.value
        for i, item in enumerate(self.spec.leads):
            bad = [k for k, v in item.items() if isinstance(v, (dict, list))]
            if bad:
                self.problem(("leads", i), f"lead attribute '{bad[0]}' must be a plain value, not a list or mapping")
            if key_attr not in item:
                self.problem(("leads", i), f"an inline lead needs '{key_attr}'")

    def owners(self) -> None:
        spec = self.spec
        speaks = vendor(spec.vendor)
        if not speaks.has_owners:
            if spec.owners:
                self.problem(("owners",), f"a {speaks.title} workspace has no owners: remove owners", key=True)
            if spec.pools:
                self.problem(("pools",), f"a {speaks.title} workspace has no owners: remove pools", key=True)
        for pool_name, pool in spec.pools.items():
            for i, member in enumerate(pool.members):
                if member in pool.members[:i]:
                    self.problem(("pools", pool_name, "members", i), f"pool '{pool_name}' lists '{member}' twice")

    def owner_references(self) -> None:
        spec = self.spec
        emails: dict[str, str] = {}
        for name, owner in spec.owners.items():
            email = state.normalise_email(owner.email)
            if email is None:
                self.problem(("owners", name, "email"), f"owner '{name}': invalid email address {owner.email!r}")
            elif email in emails:
                self.problem(("owners", name, "email"), f"owner '{name}' has the same email as '{emails[email]}'")
            else:
                emails[email] = name
        for pool_name, pool in spec.pools.items():
            if pool_name in spec.owners:
                self.problem(("pools", pool_name), f"'{pool_name}' is both an owner and a pool", key=True)
            for i, member in enumerate(pool.members):
                if member not in spec.owners and member not in pool.members[:i]:
                    self.problem(
                        ("pools", pool_name, "members", i),
                        f"pool '{pool_name}': unknown owner '{member}'{_close(member, spec.owners)}",
                    )
            self.pool_fallback(pool_name)
        for name, owner in spec.owners.items():
            for i, away in enumerate(owner.away):
                if away.until < away.start:
                    self.problem(
                        ("owners", name, "away", i, "until"),
                        f"owner '{name}': away until {away.until} is before its start {away.start}",
                    )

    def pool_fallback(self, pool_name: str) -> None:
        """A fallback names an owner or another pool, and following fallbacks never comes back to a pool."""
        spec, fallback = self.spec, self.spec.pools[pool_name].fallback
        path: Path = ("pools", pool_name, "fallback")
        if isinstance(fallback, str) and fallback not in spec.owners:
            hint = " (to fall back to a pool, write fallback: {pool: NAME})" if fallback in spec.pools else ""
            self.problem(path, f"pool '{pool_name}': unknown fallback owner '{fallback}'"
                               f"{hint or _close(fallback, spec.owners)}")  # fmt: skip
        elif isinstance(fallback, PoolRef):
            seen = [pool_name]
            while isinstance(fallback, PoolRef):
                if fallback.pool not in spec.pools:
                    self.problem((*path, "pool"), f"pool '{pool_name}': unknown fallback pool "
                                                  f"'{fallback.pool}'{_close(fallback.pool, spec.pools)}")  # fmt: skip
                    return
                if fallback.pool in seen:
                    chain = " -> ".join([*seen, fallback.pool])
                    self.problem((*path, "pool"), f"pool '{pool_name}': fallbacks go round in a circle ({chain})")
                    return
                seen.append(fallback.pool)
                fallback = spec.pools[fallback.pool].fallback

    def routes(self) -> None:
        spec = self.spec
        names: dict[str, int] = {}
        catch_all: tuple[str, int] | None = None
        conditions_seen: dict[str, str] = {}
        for i, route in enumerate(spec.routes):
            path: Path = ("routes", i)
            if route.name in names:
                line = self.positions.of(("routes", names[route.name], "name")).line
                self.problem((*path, "name"), f"duplicate route name '{route.name}' (first used at line {line})")
            names.setdefault(route.name, i)
            if route.to not in spec.destinations:
                self.problem(
                    (*path, "to"),
                    f"route '{route.name}': unknown destination '{route.to}'{_close(route.to, spec.destinations)}",
                )
            self.route_owner_known(i)
            if catch_all is not None:
                self.problem(
                    path,
                    f"route '{route.name}' can never match: catch-all route '{catch_all[0]}' "
                    f"(line {catch_all[1]}) comes before it",
                )
            elif route.when is not None:
                canonical = json.dumps(route.when, sort_keys=True, default=str)
                if canonical in conditions_seen:
                    self.problem(
                        (*path, "when"),
                        f"route '{route.name}' can never match: route '{conditions_seen[canonical]}' "
                        "has the same condition and comes before it",
                    )
                conditions_seen.setdefault(canonical, route.name)
            if route.when is None and catch_all is None:
                catch_all = (route.name, self.positions.of(path).line)

    def routing_tests(self, cases: Sequence[RoutingCase] | None = None, base: Path = ("tests",)) -> None:
        """Routing tests that could never pass are mistakes in the test: a lead without its key, an `expect`
        naming an unknown or contradictory route, destination or owner. `cases` at `base`: a case file's
        (leadsync.routetests), checked against this spec; by default the spec's own `tests:`."""
        spec, kind = self.spec, self.spec.key_kind
        routes = {route.name: route for route in spec.routes}
        for i, case in enumerate(spec.tests if cases is None else cases):
            path: Path = (*base, i)
            label = f"case {i + 1}"
            raw = case.lead.get(kind.value)
            if raw is None:
                self.problem((*path, "lead"), f"{label}: the lead needs '{kind.value}' (the key routing tests use)")
            elif kind.normalise(raw) is None:
                what = "email address" if kind is state.KeyKind.EMAIL else "LinkedIn profile URL or identifier"
                self.problem((*path, "lead", kind.value), f"{label}: invalid {what}: {raw!r}")
            nested = [name for name, value in case.lead.items() if isinstance(value, (dict, list))]
            if nested:
                self.problem(
                    (*path, "lead", nested[0]),
                    f"{label}: lead attribute '{nested[0]}' must be a plain value, not a list or mapping",
                )
            expect, where = case.expect, (*path, "expect")
            if expect.route is not None and expect.route not in routes:
                self.problem(
                    (*where, "route"), f"{label}: unknown route '{expect.route}'{_close(expect.route, routes)}"
                )
            if expect.to is not None and expect.to not in spec.destinations:
                self.problem(
                    (*where, "to"), f"{label}: unknown destination '{expect.to}'{_close(expect.to, spec.destinations)}"
                )
            elif expect.to is not None and expect.route in routes and routes[expect.route].to != expect.to:
                self.problem((*where, "to"), f"{label}: route '{expect.route}' goes to "
                                             f"'{routes[expect.route].to}', not '{expect.to}'")  # fmt: skip
            if expect.owner is not None and not vendor(spec.vendor).has_owners:
                title = vendor(spec.vendor).title
                self.problem((*where, "owner"), f"{label}: a {title} workspace has no owners", key=True)
            elif expect.owner is not None and expect.owner not in spec.owners:
                hint = (" (expect names the owner a pool picks, not the pool)" if expect.owner in spec.pools
                        else _close(expect.owner, spec.owners))  # fmt: skip
                self.problem((*where, "owner"), f"{label}: unknown owner '{expect.owner}'{hint}")
            given = [name for name in ("route", "to", "owner") if getattr(expect, name) is not None]
            if expect.unrouted and given:
                self.problem(where, f"{label}: expect says unrouted: true and gives {given[0]} too: it can never pass")
            elif expect.unrouted is None and not given:
                self.problem(where, f"{label}: expect checks nothing: give route, to, owner or unrouted")

    def route_owner_allowed(self, i: int) -> None:
        route = self.spec.routes[i]
        speaks = vendor(self.spec.vendor)
        if route.owner is not None and not speaks.has_owners:
            self.problem(("routes", i, "owner"), f"route '{route.name}': a {speaks.title} workspace has no owners",
                         key=True)  # fmt: skip

    def route_owner_known(self, i: int) -> None:
        route = self.spec.routes[i]
        path: Path = ("routes", i, "owner")
        if route.owner is None or not vendor(self.spec.vendor).has_owners:
            return
        if isinstance(route.owner, PoolRef):
            if route.owner.pool not in self.spec.pools:
                hint = _close(route.owner.pool, self.spec.pools)
                self.problem((*path, "pool"), f"route '{route.name}': unknown pool '{route.owner.pool}'{hint}")
        elif route.owner not in self.spec.owners:
            hint = (" (to use a pool, write owner: {pool: NAME})" if route.owner in self.spec.pools
                    else _close(route.owner, self.spec.owners))  # fmt: skip
            self.problem(path, f"route '{route.name}': unknown owner '{route.owner}'{hint}")

    def file_path(self, raw: str, path: Path, *, what: str) -> FsPath | None:
        """Resolve a file the spec names; it must stay inside the spec's folder tree and be readable."""
        resolved = resolve_inside(self.root, raw)
        if isinstance(resolved, str):
            self.problem(path, f"{what} {shown_path(raw)}: {resolved}")
            return None
        return resolved


def shown_path(raw: str) -> str:
    """A path the spec gives, as a message shows it: never a URL, which may hold a password."""
    return "(a URL, not shown)" if "://" in raw else repr(raw)


def resolve_inside(root: FsPath, raw: str) -> FsPath | str:
    """The file `raw` names under `root`, or a reason why it may not be used."""
    if not raw.strip():
        return "empty path"
    if "://" in raw:
        return "a URL, not a file in the spec's folder; a database URL goes in an environment variable named by url_env"
    if "\0" in raw:
        return "contains a NUL byte, which no file name can hold"
    candidate = FsPath(raw)
    if candidate.is_absolute() or raw.startswith(("~", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        return "must be a path relative to the spec's folder, not an absolute path"
    root_real = root.resolve()
    if not FsPath(os.path.normpath(root.absolute() / candidate)).is_relative_to(root.absolute()):
        return "leaves the spec's folder tree"
    real = (root / candidate).resolve()
    if not real.is_relative_to(root_real):
        return "is a symlink that leads out of the spec's folder tree"
    if not real.exists():
        return "file not found"
    if not real.is_file():
        return "is not a file"
    if not os.access(real, os.R_OK):
        return "file is not readable"
    return real


def _close(name: str, names: Iterable[str]) -> str:
    """` (did you mean 'X'?)` for the spec's closest name, or nothing."""
    close = closest(name, names)
    return f" (did you mean '{close}'?)" if close else ""
