"""What a `matches` pattern would cost, or mean, once the `regex` module runs it: judged from Python's parser
before that module sees it.

`matches` takes Python's syntax, but the `regex` module runs it (for its time limit). Three things are read off
Python's parse tree or text here, so that validate refuses them with a located line:

- shapes that backtrack exponentially (`(a+)+`, `(a|a)*`): the time limit of a search is the net for the rest;
- counted repeats that multiply (`(?:a{1000}){1000}`): the `regex` module unrolls them when compiling, so that
  one pattern of 25 characters took 21 GB and still grew; the size is estimated from the tree, never compiled;
- text the two engines read differently: a POSIX class `[[:alpha:]]` (to Python the characters `[`, `:`, `a`...)
  and a fuzzy-match constraint `{e<=1}` (to Python literal text). Nested sets and set operations (`[[a-z]--[aeiou]]`)
  are read alike: the `regex` module's default version (V0) has them only as Python does, and `(?V1)`, which
  would turn them on, is no Python flag.
"""

from __future__ import annotations

import re
import re._constants as sre  # type: ignore[import-not-found]  # typeshed has no stubs for re's parser
import re._parser as sre_parse  # type: ignore[import-not-found]
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: items one pattern may expand to when the `regex` module compiles it (about 250 bytes each there)
PATTERN_BUDGET = 10_000
#: items all patterns of a spec may expand to together: thousands of patterns each within budget add up
SPEC_BUDGET = 200_000

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)  # a possessive repeat never backtracks: not one of them
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_Items = Any  # re._parser.SubPattern: a list of (opcode, argument)

#: a count as Python reads one (`{2}`, `{2,}`, `{,3}`, `{2,3}`); any other `{` is a brace to Python
_COUNT = re.compile(r"\{(?:\d+(?:,\d*)?|,\d*)\}")
#: a POSIX class inside a set, as the `regex` module reads one (leniently: `[: alpha:]` too)
_POSIX = re.compile(r"\[:(\^?)([^\]]*?):\]")
#: what to write for a POSIX class in Python's syntax (ASCII; the `regex` module's classes are Unicode)
_POSIX_INSTEAD = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "xdigit": "0-9a-fA-F",
    "word": r"\w",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
}


@contextmanager
def quiet() -> Iterator[None]:
    """Python's parser warns on stderr of what a future Python may read otherwise (`[[`, `--` in a set): the
    house form is located lines, and what is refused is refused here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def parse(source: str) -> _Items:
    """Python's parse tree of `source` (re.error, RecursionError or OverflowError if invalid), without warnings."""
    with quiet():
        return sre_parse.parse(source)


@dataclass
class ExpansionBudget:
    """What the patterns of one spec have expanded to so far, against `SPEC_BUDGET`."""

    spent: int = 0
    limit: int = SPEC_BUDGET

    def take(self, items: int) -> bool:
        """Count `items` in; False (and nothing counted) if that would cross the limit."""
        if self.spent + items > self.limit:
            return False
        self.spent += items
        return True


def refusal(source: str, tree: _Items | None = None) -> str | None:
    """Why the `regex` module must not be given `source`, a valid Python pattern (its parse tree if at hand):
    a phrase that follows "the pattern 'P' ", or None. The spec-wide budget is the caller's."""
    if tree is None:
        tree = parse(source)
    flags = tree.state.flags
    misread = _misread(source, verbose=bool(flags & sre.SRE_FLAG_VERBOSE))
    if misread is not None:
        return misread
    try:
        items = expansion(tree)
        exponential = _has_exponential_repeat(tree)
    except RecursionError:  # Python parsed it, but nested deeper than a walk of its tree can go
        return "is nested too deeply; simplify it"
    if exponential:
        return (
            "can take exponential time (a repeated group that can match the same text in more than one way); "
            "simplify it"
        )
    if items > PATTERN_BUDGET:
        return (
            f"expands to {items:,} items when compiled (counted repeats multiply), more than "
            f"{PATTERN_BUDGET:,}; use smaller counts"
        )
    return None


# --- the size the regex module unrolls a pattern to ------------------------------------------------------------


def expansion(items: _Items) -> int:
    """How many items the `regex` module builds for this sequence: a counted repeat copies its body as often as
    its upper count says (its lower one when unbounded), a choice holds all its alternatives."""
    total = 0
    for op, av in items:
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            low, high, body = av
            total += expansion(body) * max(1, low if high == sre.MAXREPEAT else high)
        elif op is sre.SUBPATTERN:
            total += expansion(av[3])
        elif op is sre.BRANCH:
            total += sum(expansion(alternative) for alternative in av[1])
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            total += expansion(av[1])
        elif op is sre.ATOMIC_GROUP:
            total += expansion(av)
        elif op is sre.GROUPREF_EXISTS:
            total += sum(expansion(branch) for branch in av[1:] if branch is not None)
        else:
            total += 1
    return total


# --- text the two engines read differently ---------------------------------------------------------------------


def _misread(source: str, *, verbose: bool) -> str | None:
    """The first POSIX class in a set, or `{` that is no count, in `source` (escapes, `(?#...)` comments and, in
    verbose mode, `#` comments skipped, as Python skips them)."""
    i, end = 0, len(source)
    while i < end:
        char = source[i]
        if char == "\\":
            i = _after_escape(source, i)
        elif source.startswith("(?#", i):
            close = source.find(")", i)
            i = end if close < 0 else close + 1
        elif verbose and char == "#":
            newline = source.find("\n", i)
            i = end if newline < 0 else newline + 1
        elif char == "[":
            i, found = _set(source, i)
            if found is not None:
                return found
        elif char == "{":
            count = _COUNT.match(source, i)
            if count is None:
                return (
                    f"has a '{{' at position {i} that is not a count {{m,n}}: Python reads it as a brace, the "
                    r"regex module that runs it as a fuzzy-match constraint; write \{ for a brace"
                )
            i = count.end()
        else:
            i += 1
    return None


def _after_escape(source: str, i: int) -> int:
    if source.startswith("N{", i + 1):  # \N{NAME}: its braces are no count
        close = source.find("}", i)
        return len(source) if close < 0 else close + 1
    return i + 2


def _set(source: str, start: int) -> tuple[int, str | None]:
    """The end of the set that opens at `start` (Python's rules: a `]` first in it is a character), and what a
    POSIX class in it makes of the whole pattern."""
    i = start + 1
    if source.startswith("^", i):
        i += 1
    if source.startswith("]", i):
        i += 1
    while i < len(source):
        if source[i] == "\\":
            i = _after_escape(source, i)
        elif source[i] == "]":
            return i + 1, None
        elif (posix := _POSIX.match(source, i)) is not None:
            return len(source), _posix_refusal(source, posix)
        else:
            i += 1
    return len(source), None


def _posix_refusal(source: str, first: re.Match[str]) -> str:
    said = (
        f"has a POSIX class {first.group()!r} at position {first.start()}: Python reads it as the characters in "
        "it, the regex module that runs it as a class"
    )
    instead = _without_posix(source)
    if instead is None:
        return said + r"; write the characters it stands for (e.g. [a-zA-Z]), or \[ for a '['"
    return f"{said}; write {instead!r} instead"


def _without_posix(source: str) -> str | None:
    """`source` with each POSIX class written as Python's characters, if all are known and none negated."""
    unknown = False

    def written(found: re.Match[str]) -> str:
        nonlocal unknown
        negated, name = found.groups()
        if negated or name not in _POSIX_INSTEAD:
            unknown = True
            return found.group()
        return _POSIX_INSTEAD[name]

    instead = _POSIX.sub(written, source)
    return None if unknown else instead


# --- shapes that backtrack exponentially -----------------------------------------------------------------------


def _children(op: Any, av: Any) -> list[_Items]:
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return [av[2]]
    if op is sre.SUBPATTERN:
        return [av[3]]
    if op is sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.ATOMIC_GROUP:
        return [av]
    if op is sre.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    return []


def _has_exponential_repeat(items: _Items) -> bool:
    """Whether a parsed pattern has the shapes that backtrack exponentially: an unbounded repeat whose body is, but
    for parts that can be empty, itself an unbounded repeat (`(a+)+`, `(a*)*`, `(\\w+\\s?)+`), or whose body chooses
    between two identical alternatives (`(a|a)*`). `[a-z]+(-[a-z]+)*` is fine: the `-` tells the repeats apart.
    Not every slow pattern has these shapes: the time limit of `Pattern` is the net for the rest."""
    for op, av in items:
        if op in _REPEATS and av[1] == sre.MAXREPEAT and (_dominated(av[2]) or _twin_alternatives(av[2])):
            return True
        if any(_has_exponential_repeat(child) for child in _children(op, av)):
            return True
    return False


def _nullable(op: Any, av: Any) -> bool:
    """Whether this item can match the empty string."""
    if op in _ZERO_WIDTH:
        return True
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return av[0] == 0 or all(_nullable(o, a) for o, a in av[2])
    if op is sre.SUBPATTERN:
        return all(_nullable(o, a) for o, a in av[3])
    if op is sre.BRANCH:
        return any(all(_nullable(o, a) for o, a in alternative) for alternative in av[1])
    return False


def _unbounded(op: Any, av: Any) -> bool:
    """Whether this item matches texts of any length in more than one way when repeated: an unbounded repeat, or
    a group or alternative that is one."""
    if op in _REPEATS:
        return av[1] == sre.MAXREPEAT and not all(_nullable(o, a) for o, a in av[2])
    if op is sre.SUBPATTERN:
        return _dominated(av[3])
    if op is sre.BRANCH:
        return any(_dominated(alternative) for alternative in av[1])
    return False


def _dominated(items: _Items) -> bool:
    """Whether a sequence is an unbounded repeat but for parts that can be empty."""
    for i, (op, av) in enumerate(items):
        if _unbounded(op, av) and all(_nullable(o, a) for j, (o, a) in enumerate(items) if j != i):
            return True
    return False


def _twin_alternatives(items: _Items) -> bool:
    """Whether a sequence (through its groups, not into nested repeats) chooses between two equal alternatives."""
    for op, av in items:
        if op is sre.BRANCH:
            shapes = [repr(alternative) for alternative in av[1]]
            if len(set(shapes)) < len(shapes) or any(_twin_alternatives(alt) for alt in av[1]):
                return True
        elif op is sre.SUBPATTERN and _twin_alternatives(av[3]):
            return True
    return False
