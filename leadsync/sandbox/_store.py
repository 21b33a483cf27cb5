"""The sandbox's state in SQLite (the stdlib module): a file that persists between runs, or memory for tests.

Small collections (keys, members, campaigns, lists, account groups, audiences) are JSON documents in one table;
leads and prospects have their own tables with the columns the vendors filter and page on, each row keeping the
record itself as JSON (`doc`). Rows keep insertion order (`seq`), so a dump lists records as the seed did.

The state file and SQLite's side files (`-journal`, `-wal`, `-shm`) are refused when they are links, symbolic or
hard (a link count above 1): SQLite would follow one, and create or change its target, wherever it is; as
`leadsync.safefs` does for the client side, which the sandbox does not import. A state that cannot be written (a full
disk, a read-only one, an I/O error) fails the request that met it with a 507 naming the file: the transaction
rolled back, nothing of the request happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leadsync.errors import ApiError, Location, Problem, SandboxError, SeedError

from ._ids import derived_uuid
from ._seed import read_seed

FORMAT = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (kind, id));
CREATE TABLE IF NOT EXISTS leads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, email_norm TEXT, campaign TEXT, list_id TEXT,
    assigned_to TEXT, status INTEGER, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS leads_by_campaign ON leads (campaign, id);
CREATE INDEX IF NOT EXISTS leads_by_list ON leads (list_id, id);
CREATE INDEX IF NOT EXISTS leads_by_email ON leads (email_norm);
CREATE TABLE IF NOT EXISTS prospects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, audience_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS prospects_by_audience ON prospects (audience_id, id);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL, request TEXT NOT NULL,
    fate TEXT NOT NULL, created REAL NOT NULL, due REAL NOT NULL, polls INTEGER NOT NULL DEFAULT 0,
    need_polls INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS assigns (seq INTEGER PRIMARY KEY AUTOINCREMENT, request TEXT NOT NULL, due REAL NOT NULL);
"""
#: top-level seed keys, per vendor, in the order a dump writes them, and the object kind each holds
COLLECTIONS = {
    "instantly": [("api_keys", "api_key"), ("members", "member"), ("campaigns", "campaign"), ("lists", "list")],
    "sonarly": [("api_keys", "api_key"), ("account_groups", "account_group"), ("audiences", "audience")],
}
_KEY_FIELD = {"api_key": "key", "member": "user_id"}
_EXTRAS = ("workspace_id", "blocklist")
#: the files SQLite keeps beside a database (rollback journal, write-ahead log, its index)
SIDE_FILES = ("-journal", "-wal", "-shm")
#: SQLite's primary result codes that say the state cannot be written: SQLITE_PERM, _READONLY, _IOERR, _FULL,
#: _CANTOPEN (a full disk is SQLITE_FULL; a read-only file system SQLITE_READONLY or _CANTOPEN)
_UNWRITABLE = {3, 8, 10, 13, 14}


def state_files(path: str) -> list[Path]:
    """The state file and the side files SQLite may make beside it."""
    return [Path(path), *(Path(path + suffix) for suffix in SIDE_FILES)]


def refuse_unsafe_state(path: str) -> None:
    """Refuse a state path with a NUL, or whose file or side files are links (dangling or not, symbolic or hard)
    or exist and are not regular files. SQLite opens the files itself, so this looks before it does (`lstat`)."""
    if "\0" in path:
        raise SandboxError(f"the sandbox state {path!r}: contains a NUL byte, which no file name can hold")
    for file in state_files(path):
        what = "the sandbox state" if file.name == Path(path).name else "the sandbox state's side file"
        try:
            info = os.lstat(file)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise SandboxError(f"cannot open {what} {file}: {error.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise SandboxError(
                f"cannot open {what} {file}: it is a symbolic link, and leadsync writes nothing "
                "through links (remove the link)"
            )
        if not stat.S_ISREG(info.st_mode):
            raise SandboxError(f"cannot open {what} {file}: it is not a regular file")
        if info.st_nlink > 1:  # a hard link: SQLite would write to the file wherever its other names are
            raise SandboxError(
                f"cannot open {what} {file}: it has {info.st_nlink} hard links (other names for the "
                "same file, maybe outside this folder), and leadsync writes nothing through links "
                "(replace it with a copy of itself)"
            )


def unwritable(error: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of a writable disk, not for a bug."""
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _UNWRITABLE


def lead_columns(doc: dict[str, Any]) -> tuple[Any, ...]:
    email = doc.get("email")
    norm = email.strip().lower() if isinstance(email, str) and email.strip() else None
    return (norm, doc.get("campaign"), doc.get("list_id"), doc.get("assigned_to"), doc.get("status", 1))


class Store:
    def __init__(self, path: str | None) -> None:
        self.path = path
        if path:
            refuse_unsafe_state(path)
        # one connection, used only from the server's event-loop thread once it runs (hence no thread check)
        try:
            self.db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise SandboxError(f"cannot open the sandbox state {path}: {exc}") from None
        self._depth = 0
        try:
            if path:
                # write-ahead logging: a commit appends to the log instead of syncing a rollback journal and the
                # database each time (tens of ms a write on some disks); with synchronous = NORMAL a crash of the
                # process loses nothing, a power cut at most the last commits, never the file's consistency
                self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if unwritable(exc):
                raise SandboxError(f"cannot write the sandbox state {path}: {exc}") from None
            raise SeedError([Problem(Location(path or ":memory:"), f"not a sandbox state file: {exc}")]) from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN")
        self._depth = 1
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:  # SQLite has already rolled back after some errors (a full disk's)
                with contextlib.suppress(sqlite3.Error):  # the error that made us roll back is the one to tell
                    self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and unwritable(exc):
                raise self._unwritable(exc) from None
            raise
        finally:
            self._depth = 0

    def _unwritable(self, error: sqlite3.Error) -> Exception:
        """A write that the disk refused: the vendor's 507 Insufficient Storage, naming the file."""
        return ApiError(
            507, f"the sandbox cannot write its state {self.path or ':memory:'}: {error}", code="INSUFFICIENT_STORAGE"
        )

    # meta ----------------------------------------------------------------------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def vendor(self) -> str:
        return self.meta("vendor") or "instantly"

    # small collections ---------------------------------------------------------------------------------------------

    def put_object(self, kind: str, doc: dict[str, Any]) -> None:
        ident = doc[_KEY_FIELD.get(kind, "id")]
        text = json.dumps(doc, ensure_ascii=False)
        updated = self.db.execute("UPDATE objects SET doc = ? WHERE kind = ? AND id = ?", (text, kind, ident))
        if not updated.rowcount:
            self.db.execute("INSERT INTO objects (kind, id, doc) VALUES (?, ?, ?)", (kind, ident, text))

    def get_object(self, kind: str, ident: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT doc FROM objects WHERE kind = ? AND id = ?", (kind, ident)).fetchone()
        return json.loads(row[0]) if row else None

    def objects(self, kind: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT doc FROM objects WHERE kind = ? ORDER BY seq", (kind,))
        return [json.loads(doc) for (doc,) in rows]

    # leads ---------------------------------------------------------------------------------------------------------

    def insert_leads(self, docs: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO leads (id, email_norm, campaign, list_id, assigned_to, status, doc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(d["id"], *lead_columns(d), json.dumps(d, ensure_ascii=False)) for d in docs],
        )

    def update_leads(self, docs: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "UPDATE leads SET email_norm = ?, campaign = ?, list_id = ?, assigned_to = ?, status = ?, doc = ?"
            " WHERE id = ?",
            [(*lead_columns(d), json.dumps(d, ensure_ascii=False), d["id"]) for d in docs],
        )

    def insert_prospects(self, docs: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO prospects (id, audience_id, doc) VALUES (?, ?, ?)",
            [(d["id"], d["audience_id"], json.dumps(d, ensure_ascii=False)) for d in docs],
        )

    # seed in, state out --------------------------------------------------------------------------------------------

    def load(self, data: dict[str, Any], vendor: str) -> None:
        with self.transaction():
            self.set_meta("format", FORMAT)
            self.set_meta("vendor", vendor)
            self.set_meta("extras", json.dumps({k: data[k] for k in _EXTRAS if k in data}))
            keys = data.get("api_keys") or [{"key": "sandbox"}]
            self.set_meta("workspace_id", data.get("workspace_id") or derived_uuid("workspace", keys[0]["key"]))
            for name, kind in COLLECTIONS[vendor]:
                for doc in data.get(name, []):
                    self.put_object(kind, doc)
            leads = []
            for doc in data.get("leads", []):
                doc = dict(doc)
                if "custom_variables" in doc:  # the vendor keeps custom variables in the lead's payload
                    doc["payload"] = {**(doc.get("payload") or {}), **doc.pop("custom_variables")}
                leads.append(doc)
            self.insert_leads(leads)
            self.insert_prospects(data.get("prospects", []))

    def dump(self) -> dict[str, Any]:
        vendor = self.vendor
        out: dict[str, Any] = {}
        extras = json.loads(self.meta("extras") or "{}")
        for name, kind in COLLECTIONS[vendor]:
            out[name] = self.objects(kind)
            if name == "api_keys" and "workspace_id" in extras:
                out["workspace_id"] = extras["workspace_id"]
        if vendor == "instantly":
            out["leads"] = [json.loads(doc) for (doc,) in self.db.execute("SELECT doc FROM leads ORDER BY seq")]
            if "blocklist" in extras:
                out["blocklist"] = extras["blocklist"]
        else:
            out["prospects"] = [json.loads(doc) for (doc,) in self.db.execute("SELECT doc FROM prospects ORDER BY seq")]
        return out


def open_store(state: str | os.PathLike[str] | None, seed: Any, vendor: str | None) -> Store:
    """The store of `state` as it is if the file exists (the seed is then ignored), else a new one from the seed."""
    path = os.fspath(state) if state is not None else None
    if path is not None:
        refuse_unsafe_state(path)  # before `exists()`, which follows a link (and a dangling one is "absent")
    if path is not None and Path(path).exists():
        saved = Store(path)
        if saved.meta("format") is None:
            saved.close()
            raise SeedError([Problem(Location(path), "not a sandbox state file (no sandbox data in it)")])
        if vendor is not None and saved.vendor != vendor:
            serves = saved.vendor
            saved.close()
            raise SandboxError(f"{path}: this state serves {serves.title()}, not {vendor.title()}")
        return saved
    data, chosen = read_seed(seed, vendor)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    store: Store | None = None
    try:
        store = Store(path)
        store.load(data, chosen)
    except BaseException as exc:
        if store is not None:
            store.close()
        if path is not None:
            for file in state_files(path):  # no half-made state (or its log) left to be taken for a state
                file.unlink(missing_ok=True)
        if getattr(exc, "status", None) == 507:  # a full disk while the seed was written: not in a request
            raise SandboxError(str(exc)) from None
        raise
    return store
