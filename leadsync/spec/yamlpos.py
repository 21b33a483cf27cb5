"""Safe YAML loading that remembers where every value came from and refuses duplicate keys.

PyYAML's safe composer gives a node tree with marks; we build plain Python values from it ourselves so that
each value's (line, column) can be looked up by its path, e.g. ("routes", 2, "owner").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from leadsync.errors import Location, Problem

Path = tuple[str | int, ...]


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
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        written = {id(key_node) for key_node, _ in node.value}
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys the way safe_load does
        result: dict[Any, Any] = {}
        seen: dict[Any, Location] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
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
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, positions, []
        builder = _Builder(loader, positions)
        value = builder.build(node, ())
        return value, positions, builder.problems
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
