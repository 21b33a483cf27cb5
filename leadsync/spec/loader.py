"""Reads a spec file into a validated `LoadedSpec`, reporting every problem at once as FILE:LINE:COL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from leadsync.errors import Location, Problem, SpecError, closest
from leadsync.spec import models
from leadsync.spec.checks import KNOWN_STATUSES, SECRET_KEY_NAMES, SpecChecker, looks_like_api_key
from leadsync.spec.conditions import Condition
from leadsync.spec.yamlpos import Path, Positions, load_yaml

#: the largest spec read: PyYAML with positions takes about 4 s and 100 MB per MiB, and a spec this size already
#: holds some 20,000 inline leads; more leads belong in a CSV or JSONL source, which is streamed
MAX_SPEC_BYTES = 2 * 2**20


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with what was learnt while loading it."""

    spec: models.Spec
    path: FsPath  # as given by the user (shown in messages)
    root: FsPath  # the folder the spec's relative paths start from
    sha256: str
    positions: Positions
    conditions: tuple[Condition | None, ...]  # one per route; None for a catch-all

    @property
    def display(self) -> str:
        return str(self.path)


def load_spec(path: str | FsPath) -> LoadedSpec:
    """Load and check the spec at `path`; raises SpecError listing every problem."""
    path = FsPath(path)
    display = str(path)
    try:
        with path.open("rb") as handle:
            # never more than the budget in memory, whatever the file is (a FIFO, /dev/zero, a sparse 3 GB file)
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError([Problem(Location(display), "spec file not found")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(Location(display), "is a directory, not a spec file")]) from None
    except OSError as exc:
        raise SpecError([Problem(Location(display), f"cannot read spec: {exc.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            [
                Problem(
                    Location(display),
                    f"larger than {MAX_SPEC_BYTES // 2**20} MiB, the most a spec "
                    "may be: put the leads in a CSV or JSONL source (sources:)",
                )
            ]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(Location(display), f"not UTF-8 text (byte {exc.start})")]) from None

    data, positions, problems = load_yaml(text, display)
    if problems and data is None:
        raise SpecError(problems)
    if not isinstance(data, dict):
        raise SpecError([*problems, Problem(Location(display, 1, 1), "a spec must be a YAML mapping")])

    problems.extend(_secret_keys(data, positions))
    spec = _validate(data, positions, problems)
    if spec is None:
        raise SpecError(problems)
    checker = SpecChecker(spec, positions, path.parent)
    problems.extend(checker.run())
    if problems:
        raise SpecError(problems)
    return LoadedSpec(
        spec=spec,
        path=path,
        root=path.parent,
        sha256=hashlib.sha256(raw).hexdigest(),
        positions=positions,
        conditions=tuple(checker.conditions),
    )


def _secret_keys(data: dict[str, Any], positions: Positions) -> list[Problem]:
    """A literal API key in the spec is refused before anything else, without repeating it."""
    found: list[Problem] = []

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                child = (*path, key)
                if isinstance(key, str) and key.lower() in SECRET_KEY_NAMES and path[:1] != ("leads",):
                    found.append(
                        Problem(
                            positions.of(child, key=True),
                            f"'{key}': a spec never holds an API key; put the key in an environment variable "
                            "and name that variable with workspace.api_key_env",
                        )
                    )
                else:
                    walk(value, child)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, i))

    walk(data, ())
    workspace = data.get("workspace")
    env = workspace.get("api_key_env") if isinstance(workspace, dict) else None
    if isinstance(env, str) and looks_like_api_key(env):
        found.append(
            Problem(
                positions.of(("workspace", "api_key_env")),
                "api_key_env must be the NAME of an environment variable (like INSTANTLY_API_KEY), "
                "not the key itself; remove the key from this file and rotate it",
            )
        )
    return found


def _validate(data: dict[str, Any], positions: Positions, problems: list[Problem]) -> models.Spec | None:
    try:
        return models.Spec.model_validate(data)
    except ValidationError as exc:
        problems.extend(_translate(exc, data, positions))
        return None


_UNION_HINTS = {"owner": "an owner name or {pool: NAME}"}


def _translate(exc: ValidationError, data: dict[str, Any], positions: Positions) -> list[Problem]:
    """pydantic errors -> located problems; union branches at one place become one message."""
    grouped: dict[tuple[Path, str], list[str]] = {}
    missing: list[Problem] = []  # and other problems told in full, without a path label
    for error in exc.errors(include_url=False, include_input=False):
        path, found = _data_path(error["loc"], data)
        kind = error["type"]
        if kind == "extra_forbidden":
            if str(path[-1]).lower() in SECRET_KEY_NAMES:
                continue  # already reported by _secret_keys, with the reason
            grouped.setdefault((path, "key"), []).append(_unknown_key(path))
            continue
        if path[-1:] == ("api_key_env",) and kind == "string_pattern_mismatch":
            if looks_like_api_key(str(data.get("workspace", {}).get("api_key_env", ""))):
                continue  # already reported by _secret_keys
            message = "api_key_env must be the NAME of an environment variable (like INSTANTLY_API_KEY)"
        elif path[-1:] == ("url_env",) and kind == "string_pattern_mismatch":
            # a URL written here holds a password: say what belongs here, never echo it
            message = (
                "url_env must be the NAME of an environment variable (like LEADS_DATABASE_URL) that holds the "
                "database URL, not the URL itself; if this file held a password, remove it and change it"
            )
        elif path == ("policy", "max_change_ratio") and found:
            value = data["policy"]["max_change_ratio"]
            message = (
                f"a share of a destination's existing leads, from 0 to 1 (0.25 is 25%), not {value!r}: "
                "more than that moved out, re-owned or removed needs --force"
            )
        elif path[:1] == ("destinations",) and kind == "string_pattern_mismatch":
            message = f"a {path[-1]} cannot be blank: it would never name a place in the workspace"
        elif kind == "missing":
            parent = path[:-1]
            label = f"{_dotted(parent)}: " if parent else ""
            missing.append(Problem(positions.of(parent), f"{label}missing required key '{path[-1]}'"))
            continue
        elif kind == "literal_error" and path == ("version",):
            message = "unsupported spec version (this leadsync reads version: 1)"
        elif kind == "literal_error" and path[:2] == ("policy", "protect") and found:
            known = ", ".join(sorted(KNOWN_STATUSES))
            status = data["policy"]["protect"][path[2]]
            missing.append(Problem(positions.of(path), f"unknown outreach status {status!r} (known: {known})"))
            continue
        elif kind.startswith("value_error"):
            message = error["msg"].removeprefix("Value error, ")
        else:
            message = error["msg"]
        if not found:
            path = path[:-1]
        grouped.setdefault((path, "value"), []).append(message)
    problems = missing
    for (path, where), messages in grouped.items():
        field = path[-1] if path else None
        unique = list(dict.fromkeys(messages))
        deeper = any(len(other) > len(path) and other[: len(path)] == path for other, _ in grouped)
        if deeper and all(m.startswith("Input should be a valid") for m in unique):
            continue  # the other branch of a union explains the problem better, one level down
        if len(unique) > 1:
            text = f"expected {_UNION_HINTS[field]}" if field in _UNION_HINTS else " or ".join(unique)
        else:
            text = unique[0]
        label = _dotted(path)
        prefix = f"{label}: " if label and where != "key" else ""
        problems.append(Problem(positions.of(path, key=where == "key"), prefix + text))
    return problems


def _data_path(loc: tuple[str | int, ...], data: Any) -> tuple[Path, bool]:
    """The part of a pydantic location that exists in the data, and whether all of it does.

    Union branch tags (`PoolRef`, `str`, ...) are dropped; a last part that is not in the data is a missing
    or unknown key.
    """
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:  # noqa: SIM114 (one test each: mypy narrows `part` per branch)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif i < len(loc) - 1:
            continue  # a union branch tag
        else:
            path.append(part)
            return tuple(path), False
        path.append(part)
    return tuple(path), True


def _unknown_key(path: Path) -> str:
    key = path[-1]
    model = _model_at(path[:-1])
    allowed = sorted(model.model_fields) if model else []
    close = closest(str(key), allowed)
    hint = f" (did you mean '{close}'?)" if close else (f" (allowed: {', '.join(allowed)})" if allowed else "")
    return f"unknown key '{key}'{hint}"


_MODELS_BY_PATH: dict[tuple[str, ...], type[BaseModel]] = {
    (): models.Spec,
    ("workspace",): models.Workspace,
    ("destinations", "*"): models.Destination,
    ("owners", "*"): models.Owner,
    ("pools", "*"): models.Pool,
    ("sources", "*"): models.Source,
    ("routes", "*"): models.Route,
    ("routes", "*", "owner"): models.PoolRef,
    ("policy",): models.Policy,
}


_COLLECTIONS = frozenset({"destinations", "owners", "pools", "sources", "routes"})


def _model_at(path: Path) -> type[BaseModel] | None:
    shape = tuple("*" if i == 1 and path[0] in _COLLECTIONS else str(part) for i, part in enumerate(path))
    return _MODELS_BY_PATH.get(shape)


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
