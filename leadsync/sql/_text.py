"""A query file's text: its one statement, what that statement begins with, and positions as LINE:COL.

Checked before any database sees it, so that `validate` can say offline what is wrong, and so that a query that
writes is refused whatever the database would do with it. The lexer knows what every dialect leadsync runs shares:
`--` and `/* */` comments (nested, as PostgreSQL and DuckDB read them), '...' strings ('' inside), E'...' strings
(backslash escapes), "..." identifiers and $tag$...$tag$ bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

#: what a query that only reads may begin with; anything else (INSERT, COPY, SET, ATTACH, CALL...) is refused
READS = frozenset({"select", "with", "values", "table", "from", "("})


@dataclass(frozen=True, slots=True)
class Statement:
    """The statement of a query file: its text as sent (the file's text up to the `;` that ends it, so offsets
    in it are offsets in the file), the offset of its first word, that word (lower-cased), and the offset where
    a second statement begins (None: there is none)."""

    text: str
    start: int
    first: str
    second: int | None


def statement(text: str) -> Statement:
    """The first statement of `text`, and whether another follows."""
    end: int | None = None
    start: int | None = None
    second: int | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("--", i):  # to the end of the line, which a CR ends as well as a LF
            ends = [found for found in (text.find("\n", i), text.find("\r", i)) if found >= 0]
            i = min(ends) + 1 if ends else n
            continue
        if text.startswith("/*", i):
            i = _block_comment_end(text, i)
            continue
        if end is not None:  # something other than space or comments after the first statement's `;`
            second = i
            break
        if c == ";":
            end = i
            i += 1
            continue
        if start is None:
            start = i
        i = _token_end(text, i)
    if start is None:
        return Statement("", 0, "", None)
    body = text[: end if end is not None else n].rstrip()
    return Statement(body, start, _first_word(text, start), second)


def _block_comment_end(text: str, i: int) -> int:
    depth, i = 0, i
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _token_end(text: str, i: int) -> int:
    """Where the token at `i` ends: past a quoted string, identifier or dollar-quoted body, or one character."""
    c = text[i]
    if c in "eE" and text.startswith("'", i + 1) and (i == 0 or not _word_char(text[i - 1])):
        return _quoted_end(text, i + 1, "'", backslash=True)
    if c in "'\"":
        return _quoted_end(text, i, c, backslash=False)
    if c == "$" and (i == 0 or not _word_char(text[i - 1])):
        close = text.find("$", i + 1)
        tag = text[i : close + 1] if close > 0 else ""
        if tag and all(_word_char(ch) and ch != "$" for ch in tag[1:-1]) and not tag[1:2].isdigit():
            body_end = text.find(tag, close + 1)
            return len(text) if body_end < 0 else body_end + len(tag)
    return i + 1


def _quoted_end(text: str, i: int, quote: str, *, backslash: bool) -> int:
    i += 1
    while i < len(text):
        c = text[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if text.startswith(quote, i + 1):  # a doubled quote stands for itself
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def _word_char(c: str) -> bool:
    """A character of an identifier as PostgreSQL reads one: letters, digits, `_`, `$`, anything not ASCII."""
    return c.isalnum() or c in "_$" or ord(c) > 127


def _first_word(text: str, start: int) -> str:
    if text[start] == "(":
        return "("
    end = start
    while end < len(text) and _word_char(text[end]):
        end += 1
    return text[start:end].lower() or text[start]


def line_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of the character at 0-based `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
