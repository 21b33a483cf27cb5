"""The layering rules of docs/design.md ("Providers: the vendor interface"), checked on the source.

`leadsync/providers/` is the only home of vendor knowledge (and `leadsync/sandbox/`, the vendors' emulation):
no other module names a vendor endpoint or a vendor record field, or branches on a vendor's name; what it needs
to know of a vendor it asks the registry (`leadsync.providers.vendor(name)`). And no module reaches into another
package's private module: a package's underscore modules are its own.

`violations(root)` is what the tests assert empty; it takes the package folder, so that it can be run on an older
tree too (python -c "from tests.test_architecture import violations; ...").
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

from typing_extensions import is_typeddict

import leadsync
import leadsync.providers.answers as answers
from leadsync.providers import VENDORS
from leadsync.spec.models import spec_json_schema

PACKAGE = Path(leadsync.__file__).resolve().parent
ROOT = PACKAGE.parent
#: the vendors' own code, and their emulation
VENDOR_HOMES = ("providers", "sandbox")

ENDPOINT = re.compile(r"/api/v\d|/v1/")


def _properties(node: object, found: set[str]) -> set[str]:
    """Every property name a JSON Schema declares, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            _properties(value, found)
    elif isinstance(node, list):
        for item in node:
            _properties(item, found)
    return found


#: the words of leadsync's own contracts: the spec language (`campaign`, `list_id`, `email`, `name`, ...) and the
#: plan document (`id`, ...). A vendor may spell a field the same way; the word stays the contract's.
CONTRACT_WORDS = _properties(spec_json_schema(), set()) | _properties(
    json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8")), set()
)
#: plain words a vendor's envelope uses that mean nothing vendor-specific anywhere else (a page's `items`, an
#: envelope's `data`, a job's `status` and `progress`)
PLAIN_WORDS = frozenset({"items", "data", "status", "progress"})
#: the snapshot (sandbox seed) format's own record fields that no answer model lists
SEED_FIELDS = frozenset({"account_groups", "account_group_id", "audience_id", "audiences", "prospects"})


def vendor_fields() -> frozenset[str]:
    """The record fields of the vendors' answers (the TypedDicts of `leadsync.providers.answers`, so the list
    cannot go stale), the lead columns each vendor keeps on import, and the seed's own: less the contract words."""
    fields: set[str] = set(SEED_FIELDS)
    for value in vars(answers).values():
        if isinstance(value, type) and is_typeddict(value) and value.__module__ == answers.__name__:
            fields |= set(getattr(value, "__required_keys__", ())) | set(getattr(value, "__optional_keys__", ()))
    for at in VENDORS.values():
        fields |= set(at.lead_columns)
    return frozenset(fields - CONTRACT_WORDS - PLAIN_WORDS)


def _modules(root: Path, *, outside_vendor_homes: bool) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if outside_vendor_homes and parts[0] in VENDOR_HOMES:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _where(root: Path, path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"


def _docstrings(module: ast.Module) -> set[int]:
    """The ids of the docstring nodes: prose may say what a vendor calls a thing; code may not use it."""
    found = set()
    for node in ast.walk(module):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _vendor_knowledge(root: Path) -> Iterator[str]:
    fields = vendor_fields()
    names = set(VENDORS)
    for path, module in _modules(root, outside_vendor_homes=True):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):  # docstrings and comments too: no endpoint anywhere
            if ENDPOINT.search(line):
                yield f"{path.relative_to(root.parent)}:{number}: a vendor endpoint: {line.strip()}"
        prose = _docstrings(module)
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and node.value in fields and id(node) not in prose:
                yield f"{_where(root, path, node)}: the vendor record field {node.value!r}"
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    compared = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                    for item in compared:
                        if isinstance(item, ast.Constant) and item.value in names:
                            yield f"{_where(root, path, node)}: a comparison with the vendor name {item.value!r}"


def _private_imports(root: Path) -> Iterator[str]:
    """`from leadsync.X._y import ...` (or `from leadsync.X import _y`, a module) outside the package X."""
    for path, module in _modules(root, outside_vendor_homes=False):
        here = path.relative_to(root).parts[:-1]  # the package the module is in (() for leadsync itself)
        for node in ast.walk(module):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] != root.name:
                continue
            targets = [parts[1:]] + [[*parts[1:], alias.name] for alias in node.names]
            found = next(
                (
                    f"{'.'.join(target[: depth + 1])}, private to {'.'.join(target[:depth])}"
                    for target in targets
                    for depth, part in enumerate(target)
                    if depth
                    and part.startswith("_")
                    and here[:depth] != tuple(target[:depth])
                    and (depth < len(target) - 1 or _is_module(root, target))
                ),
                None,
            )
            if found:
                yield f"{_where(root, path, node)}: imports {found}"


def _is_module(root: Path, target: list[str]) -> bool:
    where = root.joinpath(*target)
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def violations(root: Path = PACKAGE) -> list[str]:
    """Every breach of the rules in the package at `root`."""
    return sorted(set(_vendor_knowledge(root))) + sorted(set(_private_imports(root)))


def test_vendor_knowledge_lives_in_the_providers_only() -> None:
    found = list(_vendor_knowledge(PACKAGE))
    assert not found, "\n".join(found)


def test_no_module_imports_another_packages_private_module() -> None:
    found = list(_private_imports(PACKAGE))
    assert not found, "\n".join(found)


def test_the_field_list_is_the_answers_and_keeps_what_matters() -> None:
    fields = vendor_fields()
    assert {"assigned_to", "user_id", "publicIdentifier", "firstName", "account_groups", "account_group_id"} <= fields
    assert not fields & {"campaign", "list_id", "audience_id", "email", "name", "id"}  # the spec's, the plan's words


def test_the_spec_language_names_the_registrys_vendors() -> None:
    # `provider:` is the spec's word for a vendor: every vendor the registry lists is one, and nothing else is
    # but the sandbox
    provider = spec_json_schema()["$defs"]["Workspace"]["properties"]["provider"]
    assert set(provider["enum"]) == {*VENDORS, "sandbox"}
