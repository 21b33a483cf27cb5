"""Reads the people a spec routes: inline `leads`, CSV and JSONL sources, and SQL sources (`leadsync.sql`).

Keys are normalised (emails trimmed and lower-cased; LinkedIn profiles reduced to their identifier; invisible
characters dropped and NFKC applied). The same person twice with different attributes is an error naming both
places; exact duplicates merge with a warning; a key that mixes Latin with Cyrillic or Greek look-alikes is a
warning at its row and column.

Files are streamed a bounded line at a time, and a lead holds only its own values: a value that repeats across
rows (a country, a title) is held once per source, and an email already in key form is the key itself. So memory
grows with the leads and their distinct values, not with the file; a line or a field too long is a located error.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path as FsPath
from typing import Any, TextIO, cast

from leadsync import sql
from leadsync._gc import paused_gc
from leadsync.errors import RESULT_ROWS, JsonTooDeep, LineTooLong, Location, Problem, QueryFailed, SpecError
from leadsync.jsontext import loads_bounded
from leadsync.spec.checks import resolve_inside, shown_path
from leadsync.spec.loader import LoadedSpec
from leadsync.spec.meaning import Supply, attribute_problems, lead_warnings
from leadsync.spec.models import DEFAULT_MAX_ROWS, DEFAULT_QUERY_TIMEOUT, Source
from leadsync.state import KeyKind, Lead, look_alike

#: problems kept per source before the rest are only counted (a broken million-row file must not flood)
MAX_PROBLEMS_PER_SOURCE = 200
#: characters one line of a source may have: a lead takes a few hundred, so a longer line is a broken or hostile
#: file, refused before it is held whole (a 1 GB line would take gigabytes)
MAX_LINE = 1 << 20
#: data rows read before deciding which columns repeat their values (held once) and which do not
_SAMPLE = 1000
#: a column is held once per distinct value when its sample has at most this share of distinct values
_REPEATING = 0.9
#: brackets on a JSONL line past which it is parsed within the nesting budget (a lead line has one)
_BRACKETS = 64
#: bytes a query file may have: a query is a page of SQL, not data
MAX_QUERY = 1 << 20


@dataclass
class LeadSet:
    """The spec's people, in the order first seen, and the warnings met while reading them; `queries` maps each
    SQL source's query file (as the spec names it) to the sha256 of its bytes, and `unrun` says which queries were
    checked but not run (`load_leads(..., run_queries=False)`)."""

    leads: list[Lead] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)
    unrun: list[str] = field(default_factory=list)

    def by_key(self) -> dict[str, Lead]:
        return {lead.key: lead for lead in self.leads}


class _Reader:
    def __init__(self, loaded: LoadedSpec, environ: Mapping[str, str], run_queries: bool) -> None:
        self.loaded = loaded
        self.environ = environ
        self.run_queries = run_queries
        self.queries: dict[str, str] = {}
        self.unrun: list[str] = []
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
        self._repeats = self._repeats_hidden = 0  # exact repeats warned of, and those only counted

    def problem(self, location: Location, message: str) -> None:
        if self._budget > 0:
            self._budget -= 1
            self.problems.append(Problem(location, message))
        else:
            self._hidden += 1

    def end_source(self, label: str) -> None:
        if self._hidden:
            self.problems.append(Problem(Location(label), f"... and {self._hidden} more problems in this file"))
        if self._repeats_hidden:
            more = f"... and {self._repeats_hidden:,} more exact repeats merged"
            self.warnings.append(Problem(Location(label), more))
        self._budget = MAX_PROBLEMS_PER_SOURCE
        self._hidden = self._repeats = self._repeats_hidden = 0

    def add(
        self, key_raw: Any, values: tuple[Any, ...], fields: Mapping[str, int], file: str, line: int, col: int
    ) -> None:
        key = self.normalise(key_raw)
        if key is None:
            what = "email address" if self.kind is KeyKind.EMAIL else "LinkedIn profile URL or identifier"
            shown = "empty" if key_raw == "" else "NULL" if key_raw is None else repr(key_raw)
            self.problem(Location(file, line, col), f"invalid {what}: {shown}")
            return
        if key == key_raw:
            key = key_raw  # one object for the key and its cell
        lead = Lead(key, values, fields, file, line)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = lead
            self.leads.append(lead)
            if (mixed := look_alike(key)) is not None:
                scripts, latin = mixed
                like = f"; it looks like {latin!r}" if latin is not None else ""
                self.warnings.append(Problem(Location(file, line, col), f"{key!r} mixes {scripts} letters{like}"))
            return
        # a copy with invisible or fullwidth characters is the same person: say how it was written
        written = f" (written {key_raw!r})" if isinstance(key_raw, str) and key_raw.strip().lower() != key else ""
        difference = _difference(first, lead, self.key_attr)
        if difference:
            self.problem(
                Location(file, line),
                f"{key}{written} is listed twice with different attributes: here and at {first.origin} ({difference})",
            )
        elif self._repeats < MAX_PROBLEMS_PER_SOURCE:  # a million copies of one row must not hold a million lines
            self._repeats += 1
            self.warnings.append(
                Problem(Location(file, line), f"{key}{written} repeats {first.origin} exactly; merged")
            )
        else:
            self._repeats_hidden += 1

    def inline(self) -> None:
        spec_file = self.loaded.display
        for i, item in enumerate(self.loaded.spec.leads):  # their shape is checked with the spec's
            where = self.loaded.positions.of(("leads", i))
            names = sorted(str(k) for k in item)
            self.supply.attributes.update(names)
            fields = {name: j for j, name in enumerate(names)}
            self.add(item[self.key_attr], tuple(item[n] for n in names), fields, spec_file, where.line, where.column)
        self.end_source(spec_file)

    def label(self, raw: str) -> str:
        """A file the spec names, as messages name it: relative to where leadsync runs."""
        return str(self.loaded.root / raw) if str(self.loaded.root) != "." else raw

    def source(self, index: int, source: Source) -> None:
        if source.path is None:
            self.sql_source(index, source)
            return
        resolved = resolve_inside(self.loaded.root, source.path)
        where = self.loaded.positions.of(("sources", index, "path"))
        complete, self.supply.complete = self.supply.complete, False  # until its attributes are known
        if isinstance(resolved, str):
            self.problems.append(Problem(where, f"source {shown_path(source.path)}: {resolved}"))
            return
        label = self.label(source.path)
        fmt = source.format or _format_of(resolved)
        if fmt is None:
            self.problems.append(
                Problem(where, f"source {shown_path(source.path)}: unknown format; use .csv or .jsonl, or set format")
            )
            return
        for attr, column in source.fields.items():
            if column != attr:
                self.supply.renamed.setdefault(column, (attr, index))
        try:
            known = self.csv(resolved, label, source, index) if fmt == "csv" else self.jsonl(resolved, label, source)
            self.supply.complete = complete and known
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(Location(label), f"not UTF-8 text (byte {exc.start})"))
        except OSError as exc:
            self.problems.append(Problem(where, f"source {shown_path(source.path)}: cannot read: {exc.strerror}"))
        except csv.Error as exc:
            self.problems.append(Problem(Location(label), f"CSV error: {exc}"))
        self.end_source(label)

    def sql_source(self, index: int, source: Source) -> None:
        """Check a SQL source's query file and, when asked, run it and read its rows as leads."""
        raw = cast(str, source.sql)
        where = self.loaded.positions.of(("sources", index, "sql"))
        complete, self.supply.complete = self.supply.complete, False  # until its columns are known
        resolved = resolve_inside(self.loaded.root, raw)
        if isinstance(resolved, str):
            self.problems.append(Problem(where, f"query {shown_path(raw)}: {resolved}"))
            return
        label = self.label(raw)
        try:
            with resolved.open("rb") as handle:
                data = handle.read(MAX_QUERY + 1)
        except OSError as exc:
            self.problems.append(Problem(where, f"query {shown_path(raw)}: cannot read: {exc.strerror}"))
            return
        self.queries[raw] = hashlib.sha256(data).hexdigest()
        if len(data) > MAX_QUERY:
            self.problems.append(Problem(Location(label), f"a query file is at most {MAX_QUERY:,} bytes"))
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(Location(label), f"not UTF-8 text (byte {exc.start})"))
            return
        query, problems = sql.check(text, label)
        self.problems.extend(problems)
        target = self._target(index, source)
        if query is None or target is None:
            return
        for attr, column in source.fields.items():
            if column != attr:
                self.supply.renamed.setdefault(column, (attr, index))
        if not self.run_queries:
            if source.url_env is None:  # DuckDB's grammar judges DuckDB's queries only
                self.problems.extend(sql.duckdb_problems(query))
            needs = f", with ${source.url_env} set" if source.url_env else ""
            self.unrun.append(f"{label} (sources[{index}]: checked, not run; `validate --sources` runs it{needs})")
            self.supply.attributes.update(source.fields)
            return
        if target.url_env is not None and target.url is None:
            self.problems.append(
                Problem(
                    self.loaded.positions.of(("sources", index, "url_env")),
                    f"the environment variable {source.url_env} is not set (it holds the database URL)",
                )
            )
            return
        timeout = source.timeout if source.timeout is not None else DEFAULT_QUERY_TIMEOUT
        try:
            with sql.open_rows(query, target, timeout=timeout) as result:
                known = self._sql_rows(result, label, source, index)
            self.supply.complete = complete and known
        except QueryFailed as exc:
            self.problems.append(exc.problem)
        self.end_source(label)

    def _target(self, index: int, source: Source) -> sql.Target | None:
        """Where a SQL source's query runs: its database URL's variable, its DuckDB file, or DuckDB on none."""
        root, positions = self.loaded.root, self.loaded.positions
        if source.url_env is not None:
            where = positions.of(("sources", index, "url_env"))
            return sql.Target(root, where, url=self.environ.get(source.url_env) or None, url_env=source.url_env)
        if source.database is None:
            return sql.Target(root, positions.of(("sources", index, "sql")))
        where = positions.of(("sources", index, "database"))
        database = resolve_inside(root, source.database)
        if isinstance(database, str):
            self.problems.append(Problem(where, f"database {shown_path(source.database)}: {database}"))
            return None
        return sql.Target(root, where, database=database)

    def _sql_rows(self, result: sql.Result, label: str, source: Source, index: int) -> bool:
        """The rows of a query as leads, as CSV rows are read (see `_csv_rows`); whether its columns were usable."""
        columns = result.columns
        fields = self._columns(columns, Location(label), source, index)
        if fields is None:
            return False
        limit = source.max_rows if source.max_rows is not None else DEFAULT_MAX_ROWS
        rows_label = label + RESULT_ROWS
        key_index = fields[self.key_attr]
        normalise, seen, append = self.normalise, self.seen, self.leads.append
        layout: _Layout | None = None
        number = 0
        for batch in result.batches():
            if number + len(batch) > limit:
                more = "raise" if source.max_rows is not None else "set"
                self.problem(
                    Location(label),
                    f"the query returns more than {limit:,} rows; narrow it, or {more} sources[{index}].max_rows",
                )
                return True
            rows = sql.plain_rows(batch, columns, rows_label, number + 1)
            if layout is None:
                layout = _Layout(fields, len(columns), key_index, rows[:_SAMPLE])
            cells, lead_fields = layout.cells, layout.fields
            for row in rows:
                number += 1
                raw = row[key_index]
                key = normalise(raw) if type(raw) is str else None
                if key is not None and key.isascii() and key not in seen:
                    if key == raw:
                        key = raw  # one object for the key and its cell
                    lead = seen[key] = Lead(key, cells(row), lead_fields, rows_label, number)
                    append(lead)
                    continue
                self.add(raw, cells(row), lead_fields, rows_label, number, 0)
        return True

    def csv(self, path: FsPath, label: str, source: Source, index: int) -> bool:
        """Read a CSV source; whether its header told its attributes."""
        with path.open(encoding="utf-8-sig", newline="") as handle:
            last = [""]
            reader = csv.reader(_bounded_lines(handle, last))
            known = False
            try:
                header = next(reader, None)
                if header is None:
                    self.problem(Location(label, 1, 1), "empty CSV file: expected a header row")
                    return False
                names = [h.strip() for h in header]
                fields = self._columns(names, Location(label, 1), source, index)
                known = fields is not None or len(set(names)) == len(names)  # a column twice: attributes unknown
                if fields is not None:
                    self._csv_rows(reader, last, len(header), fields, label)
            except LineTooLong as exc:
                self.problem(
                    Location(label, exc.line), f"a line is longer than {MAX_LINE:,} characters; is this a CSV file?"
                )
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    message = f"a field is longer than {csv.field_size_limit():,} characters"
                else:
                    message = f"CSV error: {exc}"
                self.problem(Location(label, reader.line_num), message)
            return known

    def _csv_rows(self, reader: Any, last: list[str], width: int, header: dict[str, int], label: str) -> None:
        """The data rows: each lead keeps the named columns, values that repeat held once (see `_Layout`)."""
        sample: list[tuple[int, list[str], str | None]] = []
        line = reader.line_num + 1
        for row in reader:  # a record is one line (its text kept for a column in a message) or several
            sample.append((line, row, last[0] if line == reader.line_num else None))
            line = reader.line_num + 1
            if len(sample) == _SAMPLE:
                break
        layout = _Layout(header, width, header[self.key_attr], [row for _, row, _ in sample])
        fields, cells, key_index = layout.fields, layout.cells, header[self.key_attr]
        normalise, seen, append = self.normalise, self.seen, self.leads.append

        def slow(start: int, row: list[str], text: str | None) -> None:  # the rare cases: problems, duplicates
            if len(row) != width:
                if row:
                    self.problem(Location(label, start), f"expected {width} columns, found {len(row)}")
                return
            column = _field_column(text, key_index) if text is not None else 1
            self.add(row[key_index], cells(row), fields, label, start, column)

        for start, row, text in sample:
            slow(start, row, text)
        for row in reader:
            start, line = line, reader.line_num + 1
            if len(row) == width:
                raw = row[key_index]
                key = normalise(raw)
                if key is not None and key.isascii() and key not in seen:
                    if key == raw:
                        key = raw  # one object for the key and its cell
                    lead = seen[key] = Lead(key, cells(row), fields, label, start)
                    append(lead)
                    continue
            slow(start, row, last[0] if start == reader.line_num else None)

    def _columns(self, header: list[str], head: Location, source: Source, index: int) -> dict[str, int] | None:
        """attribute -> column index, from a header (a CSV file's, a query's columns) and the source's `fields`."""
        query = source.sql is not None
        names = ", ".join(header)  # the CLI shows every line with its control characters made visible
        columns: dict[str, int] = {}
        for i, name in enumerate(header):
            if name in columns:
                twice = "the query returns column {} twice" if query else "column {} appears twice in the header"
                self.problem(head, twice.format(sql.shown_name(name)))
                return None
            columns[name] = i
        renamed = {column: attr for attr, column in source.fields.items()}
        fields = {renamed.get(name, name): i for name, i in columns.items() if name}
        ok = True
        for attr, column in source.fields.items():
            where = self.loaded.positions.of(("sources", index, "fields", attr))
            if column not in columns:
                returns = "returns no column" if query else "has no column"
                self.problem(where, f"source {source.file!r} {returns} {sql.shown_name(column)} (columns: {names})")
                ok = False
            elif attr in columns and attr != column and attr not in source.fields.values():
                # another column already has the name this one is read as: one of the two would be lost
                self.problem(
                    where,
                    f"fields reads column {sql.shown_name(column)} as {sql.shown_name(attr)}, and source "
                    f"{source.file!r} has a column {sql.shown_name(attr)} too; rename one of them",
                )
                ok = False
            else:
                fields[attr] = columns[column]
        # a mapped column that is missing is reported here, not again where its attribute is used
        self.supply.attributes.update(fields.keys() | source.fields.keys())
        if self.key_attr not in fields:
            fix = f" (columns: {names}); select one AS {self.key_attr}" if query else "; name one in the header"
            self.problem(head, f"no '{self.key_attr}' column{fix} or map it with fields: {{{self.key_attr}: COLUMN}}")
            ok = False
        return fields if ok else None

    def jsonl(self, path: FsPath, label: str, source: Source) -> bool:
        renamed = {column: attr for attr, column in source.fields.items()}
        shapes: dict[tuple[str, ...], dict[str, int]] = {}  # one field index per distinct set of keys
        values_seen: dict[Any, Any] = {}  # each repeated text held once (see `_Layout`)
        intern = values_seen.setdefault
        with path.open(encoding="utf-8-sig") as handle:
            try:
                for number, text in enumerate(_bounded_lines(handle, [""]), start=1):
                    self._jsonl_line(text, number, label, renamed, shapes, intern)
            except LineTooLong as exc:
                self.problem(
                    Location(label, exc.line), f"a line is longer than {MAX_LINE:,} characters; is this a JSONL file?"
                )
        return bool(shapes)  # a JSONL file has no header: with no record, which attributes it has is unknown

    def _jsonl_line(
        self,
        text: str,
        number: int,
        label: str,
        renamed: dict[str, str],
        shapes: dict[tuple[str, ...], dict[str, int]],
        intern: Callable[[Any, Any], Any],
    ) -> None:
        if not text.strip():
            return
        try:
            item = loads_bounded(text) if text.count("[") + text.count("{") > _BRACKETS else json.loads(text)
        except (json.JSONDecodeError, JsonTooDeep) as exc:
            self.problem(Location(label, number, exc.colno), f"invalid JSON: {exc.msg}")
            return
        except (ValueError, RecursionError) as exc:  # an integer of more than 4,300 digits, say
            self.problem(Location(label, number, 1), f"invalid JSON: {str(exc).split(';')[0]}")
            return
        if not isinstance(item, dict):
            self.problem(Location(label, number, 1), "each line must be a JSON object")
            return
        if any(isinstance(v, (dict, list)) for v in item.values()):
            self.problem(Location(label, number, 1), "lead attributes must be plain values, not lists or objects")
            return
        names = cast(tuple[str, ...], tuple(renamed.get(k, k) for k in item))  # JSON object keys are text
        fields = shapes.get(names)
        if fields is None:
            fields = shapes.setdefault(names, {name: i for i, name in enumerate(names)})
            self.supply.attributes.update(names)
        if self.key_attr not in fields:
            self.problem(Location(label, number, 1), f"no '{self.key_attr}' in this lead")
            return
        key_index = fields[self.key_attr]
        values = tuple(v if i == key_index or type(v) is not str else intern(v, v) for i, v in enumerate(item.values()))
        raw = values[key_index]
        key = self.normalise(raw)
        if key is not None and key.isascii() and key not in self.seen:  # the common case, as for CSV
            self.seen[key] = lead = Lead(raw if key == raw else key, values, fields, label, number)
            self.leads.append(lead)
            return
        column = text.find(json.dumps(raw, ensure_ascii=False)) + 1 if isinstance(raw, str) else 0
        self.add(raw, values, fields, label, number, column if column > 0 else 1)


def _bounded_lines(handle: TextIO, last: list[str]) -> Iterator[str]:
    """The lines of a text file, each read with a bound: a longer one raises LineTooLong before it is held whole.
    `last[0]` is the line read last, for a column in a message (a generator: a class's __next__ costs more)."""
    readline = handle.readline
    number = 0
    while line := readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and line[-1] != "\n":
            raise LineTooLong(number)
        last[0] = line
        yield line


def _field_column(line: str, index: int) -> int:
    """The 1-based column where field `index` of a one-line CSV record starts (its opening quote, if quoted)."""
    pos = 0
    for _ in range(index):
        if line.startswith('"', pos):
            pos += 1
            while True:  # a quoted field ends at a quote not doubled
                quote = line.find('"', pos)
                if quote < 0:
                    return 1
                pos = quote + 1
                if not line.startswith('"', pos):
                    break
                pos += 1
        comma = line.find(",", pos)
        if comma < 0:
            return 1
        pos = comma + 1
    return pos + 1


class _Layout:
    """How the leads of one CSV source hold their cells: the named columns only, those whose values repeat first.

    A value of a repeating column (most of a lead list: country, title, industry, size, often first names) is
    held once per source, not once per row; a column whose sample is nearly all distinct (phone numbers, the
    key) is not worth a look-up per row. `fields` maps each attribute to its position in the cells."""

    def __init__(self, header: dict[str, int], width: int, key_column: int, sample: Sequence[Sequence[Any]]) -> None:
        rows = [row for row in sample if len(row) == width]
        kept = sorted(set(header.values()))
        limit = _REPEATING * len(rows)
        repeating = [c for c in kept if c != key_column and rows and len({row[c] for row in rows}) <= limit]
        own = [c for c in kept if c not in repeating]
        position = {column: i for i, column in enumerate(repeating + own)}
        self.fields = {attr: position[column] for attr, column in header.items()}
        # a table of values per column: a SQL source's true and 1 (or 1.0) are equal keys, and one table for all
        # columns would give a boolean column the 1 of a number column
        tables = [{"": ""} for _ in repeating]
        setdefault = dict.setdefault
        shared, single = _picker(repeating), _picker(own)

        def cells(row: Sequence[Any]) -> tuple[Any, ...]:
            values = shared(row)
            return (*map(setdefault, tables, values, values), *single(row))

        self.cells: Callable[[Sequence[Any]], tuple[Any, ...]] = cells


def _picker(columns: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if len(columns) > 1:
        return itemgetter(*columns)
    if columns:
        only = columns[0]
        return lambda row: (row[only],)
    return lambda row: ()


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


def load_leads(loaded: LoadedSpec, environ: Mapping[str, str] | None = None, *, run_queries: bool = True) -> LeadSet:
    """Every person of the spec, keyed and de-duplicated; raises SpecError listing every problem.

    `environ` holds the variables SQL sources name (`url_env`; none given: none set). With `run_queries` False, a
    SQL source's query is checked (its file, its one statement, DuckDB's parse) but not run: no credentials, no
    database, and its leads are not read (`LeadSet.unrun` says so)."""
    reader = _Reader(loaded, environ or {}, run_queries)
    with paused_gc(freeze=True):
        reader.inline()
        for index, source in enumerate(loaded.spec.sources):
            reader.source(index, source)
    reader.problems.extend(attribute_problems(loaded, reader.supply))
    if reader.problems:
        raise SpecError(reader.problems)
    # with queries not run, which routes match none of the leads is not known: no warning says it is
    warnings = [*reader.warnings, *(lead_warnings(loaded, reader.leads) if not reader.unrun else [])]
    return LeadSet(reader.leads, warnings, reader.queries, reader.unrun)
