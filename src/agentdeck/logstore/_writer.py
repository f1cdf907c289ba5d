"""Group commit for the log stores: concurrent writes coalesced into one insert.

Callers of :meth:`GroupCommit.submit` queue their records; one task hands the queued batches,
up to ``max_records`` at a time, to ``prepare`` (building the insert's columns, on its own
thread) and then to ``commit`` on the store's writer thread; each caller's ``submit`` returns
once the insert holding its records returned (committed). The two stages overlap: the next
group is prepared while the previous one commits (the database works without the GIL, the
column building needs it). While writers overlap (a batch arrived during the previous round),
a lone queued batch waits up to ``linger`` seconds for a second one to share its commit, as
PostgreSQL's ``commit_delay`` does; a lone writer never waits. A failed group is retried batch
by batch, so one bad batch fails only its own caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from agentdeck.db.threads import StoreThreads
from agentdeck.logstore.base import LogColumns, LogRecord, LogStoreError

#: What a caller submits: records, or one tenant's lines as columns.
Batch = Sequence[LogRecord] | LogColumns

P = TypeVar("P")


@dataclass(slots=True)
class _Pending:
    records: Batch
    future: asyncio.Future[None]


class GroupCommit(Generic[P]):
    """``prepare(batches) -> P`` runs on ``prepare_executor``, ``commit(P)`` on ``executor``."""

    def __init__(
        self,
        prepare: Callable[[list[Batch]], P],
        commit: Callable[[P], None],
        executor: Executor,
        prepare_executor: Executor,
        *,
        linger: float,
        max_records: int,
        name: str,
    ) -> None:
        self._prepare = prepare
        self._commit = commit
        self._executor = executor
        self._prepare_executor = prepare_executor
        self._linger_s = linger
        self._max_records = max_records
        self._name = name
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.calls = 0
        self.transactions = 0
        self.records = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closing

    async def submit(self, records: Batch) -> None:
        if not self.running:
            raise LogStoreError("the log store is closed")
        self.calls += 1
        if not records:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(records, future))
        self._wake.set()
        await future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        overlapping = False
        committing: asyncio.Task[None] | None = None  # the previous group's commit
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    if overlapping and len(self._pending) == 1 and not self._closing:
                        await self._linger()
                    group = self._take_group()
                    arrived = self.calls
                    prepared = await self._run_prepare(group)
                    if committing is not None:
                        await committing
                    if prepared is None:  # preparing failed: each batch on its own
                        committing = None
                        await self._one_by_one(group)
                    else:
                        committing = asyncio.create_task(self._commit_prepared(group, prepared))
                    overlapping = self.calls > arrived
                if self._closing and not self._pending:
                    return
        finally:
            if committing is not None:
                await committing

    async def _run_prepare(self, group: list[_Pending]) -> tuple[P] | None:
        loop = asyncio.get_running_loop()
        batches = [p.records for p in group]
        try:
            return (await loop.run_in_executor(self._prepare_executor, self._prepare, batches),)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc)
            return None

    async def _commit_prepared(self, group: list[_Pending], prepared: tuple[P]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._commit, prepared[0])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc)
            else:
                await self._one_by_one(group)
            return
        self.transactions += 1
        self.records += sum(len(p.records) for p in group)
        for item in group:
            _settle(item.future)

    async def _one_by_one(self, group: list[_Pending]) -> None:
        """After a failure: each batch alone, so a bad one fails only its own caller."""
        for item in group:
            if item.future.done():
                continue
            prepared = await self._run_prepare([item])
            if prepared is not None:
                await self._commit_prepared([item], prepared)

    async def _linger(self) -> None:
        if self._linger_s <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._linger_s):
                await self._wake.wait()

    def _take_group(self) -> list[_Pending]:
        taken = count = 0
        for item in self._pending:
            if count and taken + len(item.records) > self._max_records:
                break
            taken += len(item.records)
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group


def _settle(future: asyncio.Future[None], exc: BaseException | None = None) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(None)


R = TypeVar("R")


class WritePath(Generic[R, P]):
    """The threads and the group commit of one log store, started and closed together.

    Owns the writer thread, the reader threads (each call borrowing a reader connection of
    type ``R``), the prepare thread and the :class:`GroupCommit`. A store supplies
    ``open_sync`` (on the writer thread; adds the reader connections with
    ``threads.add_reader``), ``prepare`` (batches → ``P``), ``commit`` (``P`` → the insert)
    and ``close_sync``.
    """

    def __init__(
        self,
        name: str,
        read_threads: int,
        *,
        read_error: Callable[[R, Exception], Exception | None],
        linger: float,
        max_records: int,
    ) -> None:
        self.name = name
        self.threads: StoreThreads[R] = StoreThreads(
            name, read_threads, closed=_closed, read_error=read_error
        )
        self._preparer = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-prepare")
        self._linger = linger
        self._max_records = max_records
        self._group: GroupCommit[P] | None = None
        self.opened = False
        self.closing = False

    async def start(
        self,
        open_sync: Callable[[], None],
        prepare: Callable[[list[Batch]], P],
        commit: Callable[[P], None],
    ) -> None:
        if self.opened or self.closing:
            return
        try:
            await self.threads.run_writer(open_sync)
        except BaseException:
            self.closing = True
            self.threads.abandon()
            self._preparer.shutdown(wait=False)
            raise
        self.opened = True
        self._group = GroupCommit(
            prepare,
            commit,
            self.threads.writer,
            self._preparer,
            linger=self._linger,
            max_records=self._max_records,
            name=f"{self.name}-writer",
        )
        self._group.start()

    async def close(self, close_sync: Callable[[], None]) -> None:
        """Commit what is queued, let reads in flight finish, then ``close_sync``."""
        if not self.opened or self.threads.closed:
            self.closing = True
            self.threads.closed = True
            return
        self.closing = True
        if self._group is not None:
            await self._group.close()
        await self.threads.close(close_sync)
        self._preparer.shutdown(wait=False)

    async def submit(self, batch: Batch) -> None:
        if self.closing or self._group is None:
            raise _closed()
        await self._group.submit(batch)

    def check_running(self) -> None:
        """Raise :class:`LogStoreError` unless writes can be committed."""
        if self.closing or self._group is None:
            raise _closed()
        if not self._group.running:
            raise LogStoreError("the log store's writer has stopped")

    @property
    def stats(self) -> dict[str, int]:
        """Write calls, transactions (inserts) and records written since start."""
        group = self._group
        if group is None:
            return {"write_calls": 0, "transactions": 0, "records": 0}
        return {
            "write_calls": group.calls,
            "transactions": group.transactions,
            "records": group.records,
        }


def _closed() -> LogStoreError:
    return LogStoreError("the log store is closed")
