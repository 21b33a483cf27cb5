"""Reads the people a spec routes: inline `leads`, CSV and JSONL sources.

Keys are normalised (emails trimmed and lower-cased; LinkedIn profiles reduced to their identifier). The same
person twice with different attributes is an error naming both places; exact duplicates merge with a warning.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from leadsync._gc import paused_gc
from leadsync.errors import Location, Problem, SpecError
from leadsync.spec.checks import resolve_inside
from leadsync.spec.loader import LoadedSpec
from leadsync.spec.meaning import Supply, attribute_problems, lead_warnings
from leadsync.spec.models import Source
from leadsync.state import KeyKind, Lead

#: problems kept per source before the rest are only counted (a broken million-row file must not flood)
MAX_PROBLEMS_PER_SOURCE = 200


@dataclass
class LeadSet:
    """The spec's people, in the order first seen, and the warnings met while reading them."""

    leads: list[Lead] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def by_key(self) -> dict[str, Lead]:
        return {lead.key: lead for lead in self.leads}


class _Reader:
    def __init__(self, loaded: LoadedSpec) -> None:
        self.loaded = loaded
        self.kind = loaded.spec.key_kind
        self.normalise = self.kind.normalise_function()
        self.key_attr = self.kind.value  # "email" or "linkedin"
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.seen: dict[str, Lead] = {}
        self.leads: list[Lead] = []
        self.supply = Supply()
        self._budget = MAX_PROBLEMS_PER_SOURCE
        self._hidden = 0

    def problem(self, location: Location, message: str) -> None:
        if self._budget > 0:
            self._budget -= 1
            self.problems.append(Problem(location, message))
        else:
            self._hidden += 1

    def end_source(self, label: str) -> None:
        if self._hidden:
            self.problems.append(Problem(Location(label), f"... and {self._hidden} more problems in this file"))
        self._budget = MAX_PROBLEMS_PER_SOURCE
        self._hidden = 0

    def add(self, key_raw: Any, values: tuple[Any, ...], fields: Mapping[str, int], file: str, line: int, col: int) -> None:
        key = self.normalise(key_raw)
        if key is None:
            what = "email address" if self.kind is KeyKind.EMAIL else "LinkedIn profile URL or identifier"
            shown = "empty" if key_raw in (None, "") else repr(key_raw)
            self.problem(Location(file, line, col), f"invalid {what}: {shown}")
            return
        lead = Lead(key, values, fields, file, line)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = lead
            self.leads.append(lead)
            return
        difference = _difference(first, lead, self.key_attr)
        if difference:
            self.problem(
                Location(file, line),
                f"{key} is listed twice with different attributes: here and at {first.origin} ({difference})",
            )
        else:
            self.warnings.append(
                Problem(Location(file, line), f"{key} repeats {first.origin} exactly; merged")
            )

    def inline(self) -> None:
        spec_file = self.loaded.display
        for i, item in enumerate(self.loaded.spec.leads):  # their shape is checked with the spec's
            where = self.loaded.positions.of(("leads", i))
            names = sorted(str(k) for k in item)
            self.supply.attributes.update(names)
            fields = {name: j for j, name in enumerate(names)}
            self.add(item[self.key_attr], tuple(item[n] for n in names), fields, spec_file, where.line, where.column)
        self.end_source(spec_file)

    def source(self, index: int, source: Source) -> None:
        resolved = resolve_inside(self.loaded.root, source.path)
        where = self.loaded.positions.of(("sources", index, "path"))
        complete, self.supply.complete = self.supply.complete, False  # until its attributes are known
        if isinstance(resolved, str):
            self.problems.append(Problem(where, f"source {source.path!r}: {resolved}"))
            return
        label = str(self.loaded.root / source.path) if str(self.loaded.root) != "." else source.path
        fmt = source.format or _format_of(resolved)
        if fmt is None:
            self.problems.append(Problem(where, f"source {source.path!r}: unknown format; use .csv or .jsonl, or set format"))
            return
        for attr, column in source.fields.items():
            if column != attr:
                self.supply.renamed.setdefault(column, (attr, index))
        try:
            if fmt == "csv":
                known = self.csv(resolved, label, source, index)
            else:
                known = self.jsonl(resolved, label, source)
            self.supply.complete = complete and known
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(Location(label), f"not UTF-8 text (byte {exc.start})"))
        except OSError as exc:
            self.problems.append(Problem(where, f"source {source.path!r}: cannot read: {exc.strerror}"))
        except csv.Error as exc:
            self.problems.append(Problem(Location(label), f"CSV error: {exc}"))
        self.end_source(label)

    def csv(self, path: FsPath, label: str, source: Source, index: int) -> bool:
        """Read a CSV source; whether its header told its attributes."""
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                self.problem(Location(label, 1, 1), "empty CSV file: expected a header row")
                return False
            names = [h.strip() for h in header]
            fields = self._csv_fields(names, label, source, index)
            if fields is None:
                return len(set(names)) == len(names)  # a column twice leaves the attributes unknown
            key_index = fields[self.key_attr]
            width = len(header)
            line = reader.line_num + 1
            add, normalise, seen, append = self.add, self.normalise, self.seen, self.leads.append
            for row in reader:
                start, line = line, reader.line_num + 1
                if len(row) != width:
                    if row:
                        self.problem(Location(label, start), f"expected {width} columns, found {len(row)}")
                    continue
                key = normalise(row[key_index])
                if key is None or key in seen:  # the rare cases: problems and duplicates
                    add(row[key_index], tuple(row), fields, label, start, 1)
                    continue
                lead = seen[key] = Lead(key, tuple(row), fields, label, start)
                append(lead)
        return True

    def _csv_fields(self, header: list[str], label: str, source: Source, index: int) -> dict[str, int] | None:
        columns: dict[str, int] = {}
        for i, name in enumerate(header):
            if name in columns:
                self.problem(Location(label, 1), f"column '{name}' appears twice in the header")
                return None
            columns[name] = i
        renamed = {column: attr for attr, column in source.fields.items()}
        fields = {renamed.get(name, name): i for name, i in columns.items() if name}
        ok = True
        for attr, column in source.fields.items():
            if column not in columns:
                where = self.loaded.positions.of(("sources", index, "fields", attr))
                self.problem(where, f"source {source.path!r} has no column '{column}' (columns: {', '.join(header)})")
                ok = False
            else:
                fields[attr] = columns[column]
        # a mapped column that is missing is reported here, not again where its attribute is used
        self.supply.attributes.update(fields.keys() | source.fields.keys())
        if self.key_attr not in fields:
            self.problem(
                Location(label, 1),
                f"no '{self.key_attr}' column; name one in the header or map it with fields: {{{self.key_attr}: COLUMN}}",
            )
            ok = False
        return fields if ok else None

    def jsonl(self, path: FsPath, label: str, source: Source) -> bool:
        renamed = {column: attr for attr, column in source.fields.items()}
        shapes: dict[tuple[str, ...], dict[str, int]] = {}  # one field index per distinct set of keys
        with path.open(encoding="utf-8-sig") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    item = json.loads(text)
                except json.JSONDecodeError as exc:
                    self.problem(Location(label, number, exc.colno), f"invalid JSON: {exc.msg}")
                    continue
                if not isinstance(item, dict):
                    self.problem(Location(label, number, 1), "each line must be a JSON object")
                    continue
                if any(isinstance(v, (dict, list)) for v in item.values()):
                    self.problem(Location(label, number, 1), "lead attributes must be plain values, not lists or objects")
                    continue
                names = tuple(renamed.get(k, k) for k in item)
                fields = shapes.get(names)
                if fields is None:
                    fields = shapes.setdefault(names, {name: i for i, name in enumerate(names)})
                    self.supply.attributes.update(names)
                values = tuple(item.values())
                if self.key_attr not in fields:
                    self.problem(Location(label, number, 1), f"no '{self.key_attr}' in this lead")
                    continue
                self.add(values[fields[self.key_attr]], values, fields, label, number, 1)
        return bool(shapes)  # a JSONL file has no header: with no record, which attributes it has is unknown


def _format_of(path: FsPath) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    return None


def _canonical(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _difference(first: Lead, second: Lead, key_attr: str) -> str:
    """The first attribute on which two records of one person disagree, as `name: 'a' vs 'b'`."""
    a, b = first.attributes(), second.attributes()
    for name in sorted(set(a) | set(b)):
        if name == key_attr:
            continue
        if _canonical(a.get(name)) != _canonical(b.get(name)):
            return f"{name}: {_canonical(a.get(name))!r} vs {_canonical(b.get(name))!r}"
    return ""


def load_leads(loaded: LoadedSpec) -> LeadSet:
    """Every person of the spec, keyed and de-duplicated; raises SpecError listing every problem."""
    reader = _Reader(loaded)
    with paused_gc(freeze=True):
        reader.inline()
        for index, source in enumerate(loaded.spec.sources):
            reader.source(index, source)
    reader.problems.extend(attribute_problems(loaded, reader.supply))
    if reader.problems:
        raise SpecError(reader.problems)
    return LeadSet(reader.leads, [*reader.warnings, *lead_warnings(loaded, reader.leads)])

