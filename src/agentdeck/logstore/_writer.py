"""Group commit for the log stores: concurrent writes coalesced into one insert.

Callers of :meth:`GroupCommit.submit` queue their records; one task hands the queued batches,
up to ``max_records`` at a time, to ``commit`` on the store's writer thread, and each caller's
``submit`` returns once the insert holding its records returned (committed). While writers
overlap (a batch arrived during the previous commit), a lone queued batch waits up to
``linger`` seconds for a second one to share its commit, as PostgreSQL's ``commit_delay``
does; a lone writer never waits. A failed group is retried batch by batch, so one bad batch
fails only its own caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from agentdeck.logstore.base import LogRecord, LogStoreError

Commit = Callable[[list[Sequence[LogRecord]]], None]


@dataclass(slots=True)
class _Pending:
    records: Sequence[LogRecord]
    future: asyncio.Future[None]


class GroupCommit:
    def __init__(
        self,
        commit: Commit,
        executor: Executor,
        *,
        linger: float,
        max_records: int,
        name: str,
    ) -> None:
        self._commit = commit
        self._executor = executor
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

    async def submit(self, records: Sequence[LogRecord]) -> None:
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
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if overlapping and len(self._pending) == 1 and not self._closing:
                    await self._linger()
                group = self._take_group()
                arrived = self.calls
                await self._commit_group(group)
                overlapping = self.calls > arrived
            if self._closing and not self._pending:
                return

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

    async def _commit_group(self, group: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._commit, [p.records for p in group])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc)
                return
            for item in group:  # one bad batch must not fail its neighbours
                await self._commit_group([item])
            return
        self.transactions += 1
        self.records += sum(len(p.records) for p in group)
        for item in group:
            _settle(item.future)


def _settle(future: asyncio.Future[None], exc: BaseException | None = None) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(None)
