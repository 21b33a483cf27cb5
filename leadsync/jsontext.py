"""JSON text parsed within a nesting budget.

`json.loads` recurses once per `[`/`{`: a hostile document 100,000 levels deep ends in a RecursionError (a
traceback, not a located error). `loads_bounded` scans the text once, linearly and outside string literals,
and refuses a document nested deeper than the budget before `json` ever sees it.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from itertools import accumulate
from typing import Any

from leadsync.errors import DocumentTooLarge, JsonTooDeep

#: the largest JSON file read (a --remote snapshot, a plan, a seed): a million-lead snapshot is some 330 MB and
#: the largest plan of a million leads 124 MB; past this, a file is refused before it is read into memory
MAX_DOCUMENT_BYTES = 512 * 2**20

#: a string literal (its escapes included, possibly unterminated), or one bracket; everything else is skipped.
#: The unrolled form `"[^"\\]*(?:\\.[^"\\]*)*` matches in linear time, without backtracking.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
#: every byte but brackets and quotes; in UTF-8 no byte of a multi-byte character is ASCII, so this is safe
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STEP = [0] * 256
for _byte in b"[{":
    _STEP[_byte] = 1
for _byte in b"]}":
    _STEP[_byte] = -1

_OPENERS = frozenset("[{")
_CLOSERS = frozenset("]}")


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of the file at `path`, never more than `limit` of them in memory: DocumentTooLarge past it.

    A regular file is measured before it is read; anything else (a FIFO, /dev/zero) is read in chunks until
    it ends or passes the limit. OSError as `open` raises it.
    """
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        regular = stat.S_ISREG(info.st_mode)
        if regular and info.st_size > limit:
            raise DocumentTooLarge(limit)
        # a regular file in one read of its size (one more byte tells if it grew); anything else in chunks, since
        # read(limit + 1) would allocate the whole budget up front however little comes
        chunks: list[bytes] = []
        size = 0
        want = info.st_size + 1 if regular else _CHUNK
        while chunk := handle.read(want):
            want = _CHUNK
            size += len(chunk)
            if size > limit:
                raise DocumentTooLarge(limit)
            chunks.append(chunk)
    return b"".join(chunks)


_CHUNK = 4 * 2**20


def decode(raw: bytes) -> str:
    """JSON bytes as text, in the encoding `json.loads` would detect (UTF-8, -16 or -32); UnicodeDecodeError."""
    return raw.decode(json.detect_encoding(raw), "surrogatepass")


def nesting_error(text: str, *, max_depth: int = 100) -> JsonTooDeep | None:
    """The error for the first bracket that nests deeper than `max_depth`, or None when the text stays within it.

    The depth is measured in C-speed passes over the bytes (escapes dropped, then all but brackets and quotes,
    then what lies between quotes); only a text found too deep is scanned token by token, to locate the bracket.
    A closer without an opener counts too: json stops there, before anything after it could nest.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return None
    raw = text.encode("utf-8", "surrogatepass")
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    structure = raw.translate(None, _NOT_STRUCTURE)
    del raw
    outside = structure.replace(b'""', b"")  # strings without brackets: the common case, one pass
    if b'"' in outside:
        outside = b"".join(structure.split(b'"')[0::2])
    if max(accumulate(map(_STEP.__getitem__, outside)), default=0) <= max_depth:
        return None
    return _locate(text, max_depth)


def _locate(text: str, max_depth: int) -> JsonTooDeep | None:
    """The token scan of `nesting_error`. It disagrees with the byte passes only after a backslash outside a
    string, where json stops before anything can nest deeper: then None, and json reports the backslash."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()[0]
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                return JsonTooDeep(f"JSON nested deeper than {max_depth} levels", text, match.start())
        elif token in _CLOSERS:
            depth -= 1
    return None


def loads_bounded(text: str, *, max_depth: int = 100) -> Any:
    """`json.loads(text)`, but a text nested deeper than `max_depth` raises JsonTooDeep instead of recursing, and
    an integer too long for Python to convert is a located json.JSONDecodeError instead of a bare ValueError."""
    error = nesting_error(text, max_depth=max_depth)
    if error is not None:
        raise error
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # an integer longer than Python converts (sys.get_int_max_str_digits): json says neither what nor where
        pos = _long_integer(text)
        if pos is None:
            raise
        message = f"a number with more than {sys.get_int_max_str_digits()} digits"
        raise json.JSONDecodeError(message, text, pos) from None


def _long_integer(text: str) -> int | None:
    """Where the first integer (outside strings; not a fraction's or an exponent's digits) too long to convert
    begins."""
    longest = sys.get_int_max_str_digits()
    pattern = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|(?<![0-9.eE+-])(-?[0-9]{' + str(longest + 1) + ",})", re.DOTALL)
    for match in pattern.finditer(text):
        if match.group(1):
            return match.start(1)
    return None
