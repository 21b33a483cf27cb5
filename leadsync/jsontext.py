"""JSON text parsed within a nesting budget.

`json.loads` recurses once per `[`/`{`: a hostile document 100,000 levels deep ends in a RecursionError (a
traceback, not a located error). `loads_bounded` scans the text once, linearly and outside string literals,
and refuses a document nested deeper than the budget before `json` ever sees it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: a string literal (its escapes included, possibly unterminated), or one bracket; everything else is skipped.
#: The unrolled form `"[^"\\]*(?:\\.[^"\\]*)*` matches in linear time, without backtracking.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)

_OPENERS = frozenset("[{")
_CLOSERS = frozenset("]}")


class JsonTooDeep(ValueError):
    """A JSON text nested deeper than its budget; located like `json.JSONDecodeError` (1-based line and column)."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        self.msg = msg
        self.doc = doc
        self.pos = pos
        self.lineno = doc.count("\n", 0, pos) + 1
        self.colno = pos - doc.rfind("\n", 0, pos)
        super().__init__(f"{msg}: line {self.lineno} column {self.colno} (char {pos})")

    def __reduce__(self) -> tuple[type[JsonTooDeep], tuple[str, str, int]]:
        return self.__class__, (self.msg, self.doc, self.pos)


def nesting_error(text: str, *, max_depth: int = 100) -> JsonTooDeep | None:
    """The error for the first bracket that nests deeper than `max_depth`, or None when the text stays within it."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()[0]
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                return JsonTooDeep(f"JSON nested deeper than {max_depth} levels", text, match.start())
        elif token in _CLOSERS:
            # an unbalanced closer is json's to report; the count only must not go below zero
            depth = max(depth - 1, 0)
    return None


def loads_bounded(text: str, *, max_depth: int = 100) -> Any:
    """`json.loads(text)`, but a text nested deeper than `max_depth` raises JsonTooDeep instead of recursing."""
    error = nesting_error(text, max_depth=max_depth)
    if error is not None:
        raise error
    return json.loads(text)
