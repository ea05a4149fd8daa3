"""DuckLake: the run log for many writers. Catalog in PostgreSQL (or a local SQLite file), data as Parquet files
under a data path; read and written through DuckDB with the same SQL as the embedded file.

Offline: the extensions come from the pinned `duckdb-ext-*` wheels (requirements.txt), never downloaded.
"""

from __future__ import annotations

import importlib.metadata
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import duckdb

from cascade_core.store.connection import StoreError, StoreReadOnlyError

LAKE = "lake"  # the catalog's name inside every connection
COMMIT_RETRIES = 100  # DuckLake's own retries of a conflicting commit (ducklake_max_retry_count)
T = TypeVar("T")


@dataclass(frozen=True)
class LakeTarget:
    """Where a DuckLake lives. `dsn` may hold a password: it is never shown (see `describe`)."""

    catalog: Literal["postgres", "sqlite"]
    dsn: str  # postgres: libpq DSN; sqlite: the catalog file
    data_path: str
    inline_rows: int = 100
    maintenance_every: float = 60.0
    keep_snapshots: float = 3600.0
    synchronous_commit: bool = True  # postgres: False asks the catalog session for asynchronous commit

    def catalog_dsn(self) -> str:
        """The DSN the catalog is attached with: `dsn`, plus the session's commit mode (see `async_commit_dsn`)."""
        if self.catalog != "postgres" or self.synchronous_commit:
            return self.dsn
        return async_commit_dsn(self.dsn)

    @property
    def inlined_rows(self) -> int:
        """The data-inlining limit the lake is given: `inline_rows`, but 0 on a SQLite catalog. There DuckLake 1.4.4
        loses track of a table's inlined rows after a later schema change (tables v, a, b with inlined rows; one
        transaction alters a and inserts into v; the next creates a table; reopened, reading b fails: 'Cannot open
        file "ducklake_inlined_data_3_4"'), which left audit_items unreadable and every flush an INTERNAL error.
        PostgreSQL catalogs do not have it. Without inlining each commit writes a small Parquet file per table
        instead; maintenance merges them."""
        return 0 if self.catalog == "sqlite" else self.inline_rows

    def describe(self) -> str:
        """For screens and errors: the catalog without its password."""
        commit = "" if self.synchronous_commit or self.catalog != "postgres" else "; asynchronous commit"
        return f"DuckLake ({self.catalog}: {redact(self.dsn)}; data {self.data_path}{commit})"


_ASYNC_COMMIT = "-c synchronous_commit=off"


def async_commit_dsn(dsn: str) -> str:
    """A libpq DSN (keywords or a postgres:// URI) whose session commits asynchronously: COMMIT returns before
    PostgreSQL has flushed its WAL to disk. Only a crash of the PostgreSQL server (or its machine) can then lose
    the last commits (up to 3 x wal_writer_delay, 0.6 s by default); the catalog stays consistent, never corrupt,
    and a writer killed with SIGKILL loses nothing it committed. A DSN that already sets `options` is refused
    rather than silently overridden."""
    if re.search(r"(?i)(^|[\s?&])options\s*=", dsn):
        raise StoreError("the catalog DSN already sets libpq `options`: add "
                         f"'{_ASYNC_COMMIT}' to them, or leave [store] synchronous_commit on")
    if "://" in dsn:
        return dsn + ("&" if "?" in dsn else "?") + "options=-c%20synchronous_commit%3Doff"
    return f"{dsn} options='{_ASYNC_COMMIT}'"


# A failed DuckLake commit on PostgreSQL quotes its whole catalog SQL: thousands of characters, including column
# statistics (the min/max of stored questions and answers), which do not belong in a log line or on a terminal.
_CATALOG_SQL = re.compile(r'(?s)(query\s*")(.{80,}?)(":\s*ERROR:)')


def redact(text: str) -> str:
    """A DSN or message with any password replaced by ***, and a failed commit's catalog SQL left out."""
    text = _CATALOG_SQL.sub(lambda m: f"{m.group(1)}<catalog SQL, {len(m.group(2)):,} characters>{m.group(3)}", text)
    text = re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)
    return re.sub(r"(://[^/:@\s]*:)[^/@\s]*@", r"\1***@", text)


def extension_dir() -> str:
    """DuckDB's extension_directory layout as shipped by the duckdb-ext-* wheels."""
    try:
        dist = importlib.metadata.distribution("duckdb-ext-ducklake")
    except importlib.metadata.PackageNotFoundError:
        raise StoreError("DuckLake needs the duckdb-ext-ducklake package (pip install -r requirements.txt)") from None
    return str(dist.locate_file("duckdb_ext/extensions"))


def offline_config() -> dict[str, str | bool | int | float | list[str]]:
    """Connection config that loads extensions from the wheels and never tries the network."""
    return {"extension_directory": extension_dir(), "autoinstall_known_extensions": False,
            "autoload_known_extensions": True}


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect_lake(target: LakeTarget, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` and made the default catalog."""
    source = f"ducklake:{target.catalog}:{target.catalog_dsn()}"
    try:
        if target.catalog == "sqlite":
            Path(target.dsn).parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(target.dsn) as db:  # WAL: readers don't block writers (measured: 3-4x faster)
                db.execute("PRAGMA journal_mode=WAL")
        if "://" not in target.data_path:
            Path(target.data_path).mkdir(parents=True, exist_ok=True)
    except (OSError, sqlite3.Error) as err:
        raise StoreReadOnlyError(f"{target.describe()}: cannot create the lake's folders ({err}); point the data "
                                 "path ([store] data_path or its variable) and a SQLite catalog_path at a writable "
                                 "place") from None
    con = duckdb.connect(":memory:", config=offline_config())
    try:
        con.execute("LOAD ducklake")
        con.execute("SET enable_progress_bar = false")  # no bars on a server's stderr
        spill = Path(tempfile.gettempdir()) / "cascade-duckdb-spill"  # big sorts (exports) spill here
        con.execute(f"SET temp_directory = {_sql_string(str(spill))}")
        options = [f"DATA_PATH {_sql_string(target.data_path)}"]
        if read_only:
            options.append("READ_ONLY")
        retrying(lambda: con.execute(f"ATTACH {_sql_string(source)} AS {LAKE} ({', '.join(options)})"))
        con.execute(f"USE {LAKE}")
        con.execute(f"SET ducklake_max_retry_count = {COMMIT_RETRIES}")  # conflicts between writers: retried inside
    except duckdb.Error as err:
        con.close()
        raise StoreError(f"{target.describe()}: cannot open the lake: {open_cause(err, target)}") from None
    return con


def open_cause(err: BaseException, target: LakeTarget) -> str:
    """Why an ATTACH failed, short enough to read on /healthz: DuckDB repeats the whole catalog DSN twice before
    the server's own words ("... at "<dsn>": connection to server ... failed: Connection refused"), so the text
    after its last copy is the cause; whitespace is folded to one line and any password redacted."""
    text = str(err)
    moved = re.search(r'DATA_PATH parameter "([^"]*)" does not match existing data path in the catalog "([^"]*)"', text)
    if moved:  # DuckLake's hint (OVERRIDE_DATA_PATH) names an ATTACH option the config does not have
        return (f"this catalog's data files are under {moved.group(2)}, not {moved.group(1)}: point the data path "
                "([store] data_path, or the variable it names such as $CASCADE_LAKE_PATH) at that folder (a lake's "
                "data path is fixed when it is created: every machine must see its files at that path)")
    for dsn in (target.catalog_dsn(), target.dsn):
        at = text.rfind(dsn)
        if at >= 0:
            text = f"{target.catalog} said: {text[at + len(dsn):].lstrip(chr(34) + ': ')}"
            break
    return redact(" ".join(text.split()))


def known_cause(err: BaseException) -> str | None:
    """What to do about a DuckDB error that a known DuckLake 1.4 bug explains, else None."""
    if 'Cannot open file "ducklake_inlined_data_' in str(err):
        return ("this looks like a SQLite-catalog lake made before inlining was turned off there (a DuckLake 1.4.4 "
                "bug lost one of its tables' inlined data): create the lake afresh with `store migrate --to ducklake` "
                "from the DuckDB file, or use a PostgreSQL catalog (README: \"No data inlining on a SQLite catalog\")")
    return None


def set_inlining(con: duckdb.DuckDBPyConnection, rows: int, table: str | None = None) -> None:
    """Persist the data-inlining limit in the catalog (an ATTACH option would last for that attach only), for
    the lake or for one table of it."""
    set_option(con, "data_inlining_row_limit", rows, table)


def set_option(con: duckdb.DuckDBPyConnection, option: str, value: int, table: str | None = None) -> None:
    """Persist a DuckLake option in the catalog, for the lake or for one table of it (only when it differs)."""
    scope = "GLOBAL" if table is None else "TABLE"
    current = con.execute(
        f"SELECT value FROM ducklake_options({_sql_string(LAKE)}) WHERE option_name = ? "
        "AND scope = ? AND (scope_entry IS NULL OR scope_entry = ?)", [option, scope, f"main.{table}"]
    ).fetchall()
    if not current or str(current[0][0]) != str(value):
        on = "" if table is None else f", table_name => {_sql_string(table)}"
        con.execute(f"CALL ducklake_set_option({_sql_string(LAKE)}, {_sql_string(option)}, {int(value)}{on})")


_PK_COLUMN = re.compile(r"\s+PRIMARY KEY", re.IGNORECASE)
_PK_TABLE = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)", re.IGNORECASE)


def lake_ddl(statement: str) -> str:
    """DuckLake has no PRIMARY KEY / UNIQUE constraints: the same table without them (writers keep keys unique
    by construction, and upserts delete first, see Store.enforces_keys)."""
    return _PK_COLUMN.sub("", _PK_TABLE.sub("", statement))


# A commit that failed because the disk did ("Failed to commit: Could not write file ...: No space left on
# device") is not a conflict: retrying it at once only stalls the writer; its caller keeps the rows and retries.
_IO_FAILURES = ("no space left", "could not write", "read-only file system", "permission denied", "file too large",
                "disk quota", "input/output error")


def is_conflict(err: BaseException) -> bool:
    """A commit conflict or a busy catalog: safe to roll back and run the transaction again."""
    text = str(err).lower()
    if any(s in text for s in _IO_FAILURES):
        return False
    if "failed to initialize ducklake" in text and "already exists" in text:
        return True  # two processes creating a new lake's catalog at once: the other one's is there now
    return isinstance(err, duckdb.Error) and any(s in text for s in (
        "conflict", "database is locked", "could not serialize", "duplicate key value", "failed to commit",
        "exceeded the maximum retry count", "current transaction is aborted"))


def retrying(action: Callable[[], T], *, attempts: int = 30, on_retry: Callable[[], None] | None = None) -> T:
    """Run `action`; on a commit conflict, `on_retry` (e.g. ROLLBACK), a jittered back-off, then again."""
    delay = 0.01
    for attempt in range(attempts):
        try:
            return action()
        except duckdb.Error as err:
            if attempt == attempts - 1 or not is_conflict(err):
                raise
            if on_retry is not None:
                on_retry()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)
    raise AssertionError("unreachable")
