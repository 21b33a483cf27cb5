"""Write the trimmed copy of the vendor's OpenAPI document that the sandbox's conformance tests read.

    python scripts/trim_openapi.py [SOURCE] [--out TARGET]

SOURCE defaults to ../shared/reference/instantly-v2-leads-subset.openapi.json (beside the repository), TARGET to
schemas/vendor/instantly-v2-leads-subset.openapi.json. The copy keeps the structure (paths, methods, parameters,
request bodies, response schemas, components, enums, formats, defaults) and drops the prose (descriptions,
summaries, examples, tags). The one fact the prose carries that the tests need, the scopes an operation requires,
is kept as data: `x-scopes`. The repository must stand alone, so nothing reads SOURCE at run time; the copy is
committed and this script only refreshes it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "reference" / "instantly-v2-leads-subset.openapi.json"
DEFAULT_TARGET = REPO / "schemas" / "vendor" / "instantly-v2-leads-subset.openapi.json"

#: keywords that hold prose or presentation only
PROSE = frozenset(
    {"description", "summary", "example", "examples", "x-enumDescriptions", "x-displayName", "tags", "x-tags"}
)
#: keywords whose value maps names (of properties, paths, statuses, ...) to things: their keys are data, never prose
NAME_MAPS = frozenset(
    {"properties", "patternProperties", "paths", "responses", "schemas", "content", "securitySchemes", "$defs"}
)
_SCOPES = re.compile(r"Requires one of the following scopes:(.*)", re.S)
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _strip(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not names and key in PROSE:
            continue
        out[key] = _strip(value, names=not names and key in NAME_MAPS)
    return out


def scopes_of(operation: dict[str, Any]) -> list[str]:
    """The scopes an operation's description says it requires (any one of them suffices)."""
    match = _SCOPES.search(operation.get("description") or "")
    return re.findall(r"`([^`]+)`", match.group(1)) if match else []


def trim(document: dict[str, Any]) -> dict[str, Any]:
    """The document without its prose; idempotent, so trimming the copy again gives the copy."""
    trimmed: dict[str, Any] = _strip(document)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            scopes = scopes_of(operation)
            if scopes:
                trimmed["paths"][path][method]["x-scopes"] = scopes
    return trimmed


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_TARGET)
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Error: cannot read {args.source}: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(trim(document)), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
