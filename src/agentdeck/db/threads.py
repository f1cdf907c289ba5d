"""A blocking database client used from asyncio: one writer thread, a pool of reader threads.

The embedded stores (metrics and logs, both DuckDB) and the ClickHouse log store share this
shape: every write runs on one thread that owns the writing connection; reads run on reader
threads, each call borrowing one of the reader connections (DuckDB cursors, ClickHouse clients)
from a queue, so a read never waits for a write. :func:`connect_duckdb` opens a DuckDB file the
way both embedded stores do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

import duckdb

T = TypeVar("T")
R = TypeVar("R")


def connect_duckdb(
    path: str | os.PathLike[str], *, threads: int | None, memory_limit: str | None
) -> duckdb.DuckDBPyConnection:
    """Open (creating it and its directory when missing) the DuckDB file at ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    return duckdb.connect(str(path), config=config)


class StoreThreads(Generic[R]):
    """The writer thread and the reader threads of one store.

    ``read_error(resource, exc)`` turns an exception a read raised into the one its caller
    sees (or returns None to let it through); ``closed()`` is the error of a read after close.
    """

    def __init__(
        self,
        name: str,
        read_threads: int,
        *,
        closed: Callable[[], Exception],
        read_error: Callable[[R, Exception], Exception | None] = lambda _r, _e: None,
    ) -> None:
        self.writer = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-writer")
        self.readers = ThreadPoolExecutor(read_threads, thread_name_prefix=f"{name}-read")
        self.read_threads = read_threads
        self._closed_error = closed
        self._read_error = read_error
        self._free: queue.SimpleQueue[R] = queue.SimpleQueue()
        self.resources: list[R] = []
        self.closed = False

    def add_reader(self, resource: R) -> None:
        """One more reader connection for the pool (call once per reader thread)."""
        self.resources.append(resource)
        self._free.put(resource)

    async def run_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.writer, fn, *args)

    async def run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(resource, *args)`` on a reader thread with a borrowed reader connection."""
        if self.closed:
            raise self._closed_error()

        def call() -> T:
            resource = self._free.get()
            try:
                return fn(resource, *args)
            except Exception as exc:
                translated = self._read_error(resource, exc)
                if translated is None:
                    raise
                raise translated from exc
            finally:
                self._free.put(resource)

        return await asyncio.get_running_loop().run_in_executor(self.readers, call)

    async def in_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a reader thread, without a connection (CPU work off the loop)."""
        if self.closed:
            raise self._closed_error()
        return await asyncio.get_running_loop().run_in_executor(self.readers, fn, *args)

    def abandon(self) -> None:
        """After a failed open: stop the threads without waiting."""
        self.closed = True
        self.writer.shutdown(wait=False)
        self.readers.shutdown(wait=False)

    async def close(self, close_sync: Callable[[], None]) -> None:
        """Let reads in flight finish (waiting off the event loop), run ``close_sync`` on the
        writer thread, then stop it."""
        self.closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.readers.shutdown, True)
        await self.run_writer(close_sync)
        self.writer.shutdown(wait=False)  # nothing is left to run on it


def close_duckdb(
    con: duckdb.DuckDBPyConnection | None, cursors: list[duckdb.DuckDBPyConnection]
) -> None:
    """Close the reader cursors, then the connection."""
    for cursor in cursors:
        cursor.close()
    if con is not None:
        con.close()


def duckdb_disk_bytes(path: str | os.PathLike[str]) -> int:
    """The size of a DuckDB file and its write-ahead log."""
    total = 0
    for suffix in ("", ".wal"):
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(f"{path}{suffix}").st_size
    return total


def checkpoint_copy(
    con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], dest: str | os.PathLike[str]
) -> None:
    """Fold the write-ahead log into the file at ``path``, then copy it to ``dest`` (run on
    the writer thread: an online backup, writes wait for it and reads go on)."""
    con.execute("CHECKPOINT")
    shutil.copyfile(path, dest)
