"""Group commit: concurrent writes coalesced into one insert, each caller answered on commit.

Both embedded stores (metrics and logs) and the ClickHouse log store write this way. Callers
of :meth:`GroupCommit.submit` queue their batches; one task hands the queued batches, up to
``max_records`` at a time, to ``prepare`` and then to ``commit`` on the store's writer thread.
``commit`` returns one result per batch of the group, and each caller's ``submit`` returns its
own once the insert holding its batch returned (committed).

With a ``prepare_executor`` the two stages overlap: the next group is prepared on that thread
while the previous one commits (the database works without the GIL, the column building needs
it). Without one, ``prepare`` runs on the event loop (it must be cheap) and the next group is
taken only after the previous commit returned, so everything queued meanwhile shares the next
commit. While writers overlap (a batch arrived during the previous round), a lone queued batch
waits up to ``linger`` seconds for a second one to share its commit, as PostgreSQL's
``commit_delay`` does; a lone writer never waits. A failed group is retried batch by batch, so
one bad batch fails only its own caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence, Sized
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

B = TypeVar("B", bound=Sized)  # one caller's batch; len() is its record count
P = TypeVar("P")  # a prepared group
Res = TypeVar("Res")  # one caller's result


@dataclass(slots=True)
class _Pending(Generic[B, Res]):
    batch: B
    future: asyncio.Future[Res]


class GroupCommit(Generic[B, P, Res]):
    """``prepare(batches) -> P`` (on ``prepare_executor``, or inline when it is None), then
    ``commit(P) -> results`` on ``executor``, one result per batch, in order.

    ``empty`` is the result of an empty batch (answered without a commit); ``closed()`` the
    error of a submit after close; ``housekeeping`` (optional), asked after the callers of a
    committed group were answered, returns the work to run then on ``executor`` (such as a
    compaction that is due), or None (nothing to do, and the loop goes on without yielding).
    """

    def __init__(
        self,
        prepare: Callable[[list[B]], P],
        commit: Callable[[P], Sequence[Res]],
        executor: Executor,
        prepare_executor: Executor | None,
        *,
        empty: Res,
        closed: Callable[[], Exception],
        linger: float,
        max_records: int,
        name: str,
        housekeeping: Callable[[], Callable[[], None] | None] | None = None,
    ) -> None:
        self._prepare = prepare
        self._commit = commit
        self._executor = executor
        self._prepare_executor = prepare_executor
        self._empty = empty
        self._closed = closed
        self._housekeeping = housekeeping
        self._linger_s = linger
        self._max_records = max_records
        self._name = name
        self._pending: list[_Pending[B, Res]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._calls_at_answer = 0
        self.calls = 0
        self.transactions = 0
        self.records = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closing

    @property
    def queued(self) -> int:
        """Batches submitted and not yet taken into a group."""
        return len(self._pending)

    async def submit(self, batch: B) -> Res:
        if not self.running:
            raise self._closed()
        self.calls += 1
        if not len(batch):
            return self._empty
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(batch, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        overlapping = False  # did a batch arrive during the previous round?
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
                    elif self._prepare_executor is None:  # no overlap: commit, then go on
                        await self._commit_prepared(group, prepared)
                        overlapping = self._calls_at_answer > arrived
                        continue
                    else:
                        committing = asyncio.create_task(self._commit_prepared(group, prepared))
                    overlapping = self.calls > arrived
                if self._closing and not self._pending:
                    return
        finally:
            if committing is not None:
                await committing

    async def _run_prepare(self, group: list[_Pending[B, Res]]) -> tuple[P] | None:
        batches = [p.batch for p in group]
        try:
            if self._prepare_executor is None:
                return (self._prepare(batches),)
            loop = asyncio.get_running_loop()
            return (await loop.run_in_executor(self._prepare_executor, self._prepare, batches),)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0].future, exc=exc)
            return None

    async def _commit_prepared(self, group: list[_Pending[B, Res]], prepared: tuple[P]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._commit, prepared[0])
        except Exception as exc:
            self._calls_at_answer = self.calls
            if len(group) == 1:
                _settle(group[0].future, exc=exc)
            else:
                await self._one_by_one(group)
            return
        self._calls_at_answer = self.calls  # what arrived while this group committed
        self.transactions += 1
        self.records += sum(len(p.batch) for p in group)
        for item, result in zip(group, results, strict=True):
            _settle(item.future, result)
        work = self._housekeeping() if self._housekeeping is not None else None
        if work is not None:
            await loop.run_in_executor(self._executor, work)

    async def _one_by_one(self, group: list[_Pending[B, Res]]) -> None:
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

    def _take_group(self) -> list[_Pending[B, Res]]:
        taken = count = 0
        for item in self._pending:
            size = len(item.batch)
            if count and taken + size > self._max_records:
                break
            taken += size
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group


def _settle(
    future: asyncio.Future[Res], result: Res | None = None, *, exc: BaseException | None = None
) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
