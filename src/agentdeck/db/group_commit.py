"""Group commit: concurrent writes coalesced into one commit, each caller answered on commit.

The embedded stores (metrics and logs), the ClickHouse log store and the VictoriaMetrics store
write this way. Callers of :meth:`GroupCommit.submit` queue their batches; one task hands the
queued batches, up to ``max_records`` at a time (a larger batch goes alone, never split), to
``prepare`` and then to the async ``commit`` (a database insert on a writer thread, wrapped by
:func:`on_executor`; an HTTP request). ``commit`` returns one result per batch of the group,
and each caller's ``submit`` returns its own once the commit holding its batch returned.

With a ``prepare_executor`` the two stages overlap: the next group is prepared on that thread
while the previous one commits (the database works without the GIL, the column building needs
it). Without one, ``prepare`` runs on the event loop (it must be cheap) and the next group is
taken only after the previous commit returned, so everything queued meanwhile shares the next
commit: one group is in flight at a time.

While writers overlap (a batch arrived during the previous round), the next group lingers, as
PostgreSQL's ``commit_delay`` does; a lone writer never waits. ``linger_for`` says how long:

* ``"company"``: a lone queued batch waits up to ``linger`` seconds for a second one;
* ``"full_group"``: the group waits until its oldest batch is ``linger`` seconds old, or a
  group's worth (``max_records``) is queued.

A failed commit (or prepare), per ``on_failure``:

* ``"retry_each_batch"``: the group is retried batch by batch, so one bad batch fails only its
  own caller (a database refusing one batch's rows);
* ``"fail_group"``: every caller of the group gets the error (a server that is down: a retry
  per batch would only multiply failed requests).

With ``max_queued``, memory is bounded: while that many records are queued or in flight, a
further batch is refused at once with ``backed_up(held)`` instead of being queued.
:meth:`GroupCommit.close` commits what is queued, then stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence, Sized
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

B = TypeVar("B", bound=Sized)  # one caller's batch; len() is its record count
P = TypeVar("P")  # a prepared group
Res = TypeVar("Res")  # one caller's result
T = TypeVar("T")
U = TypeVar("U")

OnFailure = Literal["retry_each_batch", "fail_group"]
LingerFor = Literal["company", "full_group"]


def on_executor(executor: Executor, fn: Callable[[T], U]) -> Callable[[T], Awaitable[U]]:
    """``fn`` (blocking) as an async function that runs it on ``executor``."""

    async def run(arg: T) -> U:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, arg)

    return run


@dataclass(slots=True)
class _Pending(Generic[B, Res]):
    batch: B
    future: asyncio.Future[Res]
    arrived: float  # loop time


class GroupCommit(Generic[B, P, Res]):
    """``prepare(batches) -> P`` (on ``prepare_executor``, or inline when it is None), then
    ``await commit(P) -> results``, one result per batch, in order.

    ``empty`` is the result of an empty batch (answered without a commit); ``closed()`` the
    error of a submit after close; ``housekeeping`` (optional), asked after the callers of a
    committed group were answered, returns the work to await then (such as a compaction that
    is due, on the writer thread), or None (nothing to do, and the loop goes on without
    yielding). The loop starts with :meth:`start` or the first :meth:`submit`.
    """

    def __init__(
        self,
        prepare: Callable[[list[B]], P],
        commit: Callable[[P], Awaitable[Sequence[Res]]],
        prepare_executor: Executor | None,
        *,
        empty: Res,
        closed: Callable[[], Exception],
        on_failure: OnFailure,
        linger: float,
        linger_for: LingerFor,
        max_records: int,
        name: str,
        max_queued: int | None = None,
        backed_up: Callable[[int], Exception] | None = None,
        housekeeping: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        if max_queued is not None and backed_up is None:
            raise ValueError("max_queued needs backed_up, the error of a refused batch")
        self._prepare = prepare
        self._commit = commit
        self._prepare_executor = prepare_executor
        self._empty = empty
        self._closed = closed
        self._retry_each = on_failure == "retry_each_batch"
        self._housekeeping = housekeeping
        self._linger_s = linger
        self._until_full = linger_for == "full_group"
        self._max_records = max_records
        self._max_queued = max_queued
        self._backed_up = backed_up
        self._name = name
        self._pending: list[_Pending[B, Res]] = []
        self._queued_records = 0  # records of the pending batches
        self._held = 0  # records queued or in flight
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._calls_at_answer = 0
        self.calls = 0
        self.transactions = 0
        self.records = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self._name)

    @property
    def running(self) -> bool:
        return not self._closing and (self._task is None or not self._task.done())

    @property
    def queued(self) -> int:
        """Batches submitted and not yet taken into a group."""
        return len(self._pending)

    @property
    def held(self) -> int:
        """Records queued or in flight."""
        return self._held

    async def submit(self, batch: B) -> Res:
        if not self.running:
            raise self._closed()
        size = len(batch)
        if self._max_queued is not None and self._held and self._held + size > self._max_queued:
            assert self._backed_up is not None
            raise self._backed_up(self._held)
        self.calls += 1
        if not size:
            return self._empty
        self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Res] = loop.create_future()
        self._pending.append(_Pending(batch, future, loop.time()))
        self._queued_records += size
        self._held += size
        if len(self._pending) == 1 or self._lingered():
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
                    if overlapping and not self._closing:
                        await self._linger()
                    group, records = self._take_group()
                    arrived = self.calls
                    prepared = await self._run_prepare(group)
                    if committing is not None:
                        await committing
                    if prepared is None:  # preparing failed
                        committing = None
                        await self._finish(group, records, None)
                    elif self._prepare_executor is None:  # no overlap: commit, then go on
                        await self._finish(group, records, prepared)
                        overlapping = self._calls_at_answer > arrived
                        continue
                    else:
                        committing = asyncio.create_task(self._finish(group, records, prepared))
                    overlapping = self.calls > arrived
                if self._closing and not self._pending:
                    return
        finally:
            if committing is not None:
                await committing

    async def _finish(
        self, group: list[_Pending[B, Res]], records: int, prepared: tuple[P] | None
    ) -> None:
        """Commit a taken group (or, when preparing it failed, retry it batch by batch)."""
        try:
            if prepared is not None:
                await self._commit_prepared(group, prepared)
            elif self._retry_each:
                await self._one_by_one(group)
        finally:
            self._held -= records

    async def _run_prepare(self, group: list[_Pending[B, Res]]) -> tuple[P] | None:
        batches = [p.batch for p in group]
        try:
            if self._prepare_executor is None:
                return (self._prepare(batches),)
            loop = asyncio.get_running_loop()
            return (await loop.run_in_executor(self._prepare_executor, self._prepare, batches),)
        except Exception as exc:
            if len(group) == 1 or not self._retry_each:
                _fail(group, exc)
            return None

    async def _commit_prepared(self, group: list[_Pending[B, Res]], prepared: tuple[P]) -> None:
        try:
            results = await self._commit(prepared[0])
        except Exception as exc:
            self._calls_at_answer = self.calls
            if len(group) == 1 or not self._retry_each:
                _fail(group, exc)
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
            await work

    async def _one_by_one(self, group: list[_Pending[B, Res]]) -> None:
        """After a failure: each batch alone, so a bad one fails only its own caller."""
        for item in group:
            if item.future.done():
                continue
            prepared = await self._run_prepare([item])
            if prepared is not None:
                await self._commit_prepared([item], prepared)

    def _lingered(self) -> bool:
        """Enough is queued for the next group not to wait for more."""
        if self._until_full:
            return self._queued_records >= self._max_records
        return len(self._pending) > 1

    async def _linger(self) -> None:
        if self._linger_s <= 0:
            return
        loop = asyncio.get_running_loop()
        if self._until_full:
            deadline = self._pending[0].arrived + self._linger_s
        elif len(self._pending) == 1:
            deadline = loop.time() + self._linger_s
        else:
            return
        self._wake.clear()
        while not self._closing and not self._lingered():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()
            self._wake.clear()

    def _take_group(self) -> tuple[list[_Pending[B, Res]], int]:
        taken = count = 0
        for item in self._pending:
            size = len(item.batch)
            if count and taken + size > self._max_records:
                break
            taken += size
            count += 1
        group, self._pending = self._pending[:count], self._pending[count:]
        self._queued_records -= taken
        return group, taken


def _fail(group: list[_Pending[B, Res]], exc: BaseException) -> None:
    for item in group:
        _settle(item.future, exc=exc)


def _settle(
    future: asyncio.Future[Res], result: Res | None = None, *, exc: BaseException | None = None
) -> None:
    if future.done():  # the caller was cancelled; the write happened (or failed) anyway
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
