"""Safe YAML loading that remembers where every value came from and refuses duplicate keys.

PyYAML's safe composer gives a node tree with marks; we build plain Python values from it ourselves so that
each value's (line, column) can be looked up by its path, e.g. ("routes", 2, "owner").

Composing is budgeted, because both PyYAML's composer and our builder recurse once per level and build every
alias out in full: a document nested deeper than MAX_DEPTH, or whose aliases would add more than MAX_ALIAS_NODES
nodes (a "billion laughs" bomb: 500 bytes that expand to billions of values), is refused at the offending mark
while composing, before anything is built.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, cast

import yaml

from leadsync.errors import Location, Problem

Path = tuple[str | int | float, ...]  # mapping keys are plain scalars: a YAML key may be 1.5


@dataclass
class Positions:
    """Locations by path: of each value, and of each mapping key."""

    file: str
    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> Location:
        """The location of `path` (its key when `key`), or of its nearest known ancestor."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return found
        return Location(self.file, 1, 1)


#: how deeply collections may nest, aliases expanded; a spec needs about 8
MAX_DEPTH = 64
#: how many nodes aliases may add to the document, all together: about what a spec at the size budget writes out
MAX_ALIAS_NODES = 250_000


class YamlBudgetError(yaml.MarkedYAMLError):
    """A document nested too deeply or expanded too far by aliases; `problem_mark` says where."""


class _BudgetedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer counts, per anchor, the nodes and levels an alias to it brings in."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0  # collections open around the node being composed
        self._deepest = 0  # deepest level reached (aliases expanded) in the collection being composed
        self._nodes = 0  # nodes of the document so far, aliases expanded
        self._alias_nodes = 0  # of which aliases added
        self._anchored: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, levels) an alias to it brings in

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # pyyaml's stubs leave it untyped
        if isinstance(event, yaml.AliasEvent):
            self._count_alias(event)
            return self._composed(parent, index)
        collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if collection and self._depth >= MAX_DEPTH:
            raise YamlBudgetError(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=event.start_mark)
        nodes_before, deepest_before = self._nodes, self._deepest
        self._nodes += 1
        self._depth += collection
        self._deepest = self._depth
        try:
            node = self._composed(parent, index)
        finally:
            self._depth -= collection
        if event.anchor is not None:
            self._anchored[event.anchor] = (self._nodes - nodes_before, self._deepest - self._depth)
        self._deepest = max(self._deepest, deepest_before)
        return node

    def _composed(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        node = super().compose_node(parent, index)
        assert node is not None  # None only at the end of the stream, which compose_document never asks for
        return node

    def _count_alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor is None or event.anchor not in self.anchors:
            return  # the composer reports an undefined alias
        mark = cast(yaml.Mark, event.start_mark)  # the pure-Python loader's: never libyaml's
        cost = self._anchored.get(event.anchor)
        if cost is None:  # the anchor is still open: the value would contain itself, endlessly when built
            raise YamlBudgetError(
                problem=f"alias *{event.anchor} refers to a value that contains it", problem_mark=mark
            )
        nodes, levels = cost
        if self._depth + levels > MAX_DEPTH:
            raise YamlBudgetError(
                problem=f"alias *{event.anchor} nests the document deeper than {MAX_DEPTH} levels",
                problem_mark=mark,
            )
        self._alias_nodes += nodes
        if self._alias_nodes > MAX_ALIAS_NODES:
            raise YamlBudgetError(
                problem=f"aliases expand the document by more than {MAX_ALIAS_NODES:,} values (an alias bomb?); "
                "write the repeated values out, or repeat them less",
                problem_mark=mark,
            )
        self._nodes += nodes
        self._deepest = max(self._deepest, self._depth + levels)


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _loc(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, positions: Positions) -> None:
        self.loader = loader
        self.positions = positions
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.values.setdefault(path, _loc(self.positions.file, node))
        if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode):
            # scalars go through the safe constructor, which refuses unknown tags; collections are built here
            self.problems.append(Problem(_loc(self.positions.file, node), f"YAML error: unsupported tag {node.tag!r}"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._construct(node)

    def _construct(self, node: yaml.Node) -> Any:
        """The safe constructor's value for `node`; what Python itself refuses to build is a located error too."""
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            if node.tag == "tag:yaml.org,2002:int":
                problem = f"a number with more than {sys.get_int_max_str_digits()} digits"
            elif node.tag == "tag:yaml.org,2002:timestamp":
                problem = f"not a date: {exc}"
            else:
                problem = f"cannot read this {node.tag.rsplit(':', 1)[-1]} value: {exc}"
            raise yaml.constructor.ConstructorError(problem=problem, problem_mark=node.start_mark) from None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        written = {id(key_node) for key_node, _ in node.value}
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys the way safe_load does
        result: dict[Any, Any] = {}
        seen: dict[Any, Location] = {}
        for key_node, value_node in node.value:
            key = self._construct(key_node)
            where = _loc(self.positions.file, key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self.problems.append(Problem(where, "mapping keys must be plain scalars"))
                continue
            if id(key_node) not in written:  # merged in by `<<`: keys written here override it
                if key not in result:
                    result[key] = self.build(value_node, (*path, key))
                continue
            if key in seen:
                first = seen[key]
                self.problems.append(
                    Problem(where, f"duplicate key {key!r} (first defined at line {first.line}, column {first.column})")
                )
                continue
            seen[key] = where
            child = (*path, key)
            self.positions.keys[child] = where
            result[key] = self.build(value_node, child)
        return result


def load_yaml(text: str, file: str) -> tuple[Any, Positions, list[Problem]]:
    """Parse `text` safely. Returns the value, its positions and every problem (syntax or duplicate keys)."""
    positions = Positions(file)
    loader = _BudgetedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, positions, []
        builder = _Builder(loader, positions)
        value = builder.build(node, ())
        return value, positions, builder.problems
    except YamlBudgetError as exc:
        mark = exc.problem_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        return None, positions, [Problem(where, f"YAML error: {exc.problem}")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        return None, positions, [Problem(where, f"{kind}: {message}")]
    except yaml.YAMLError as exc:
        return None, positions, [Problem(Location(file), f"YAML error: {exc}")]
    finally:
        loader.dispose()
