"""The write path of the log stores: their threads and their group commit
(:class:`~agentdeck.db.group_commit.GroupCommit`), started and closed together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from agentdeck.db.group_commit import GroupCommit, on_executor
from agentdeck.db.threads import StoreThreads
from agentdeck.logstore.base import LogColumns, LogRecord, LogStoreError

#: What a caller submits: records, or one tenant's lines as columns.
Batch = Sequence[LogRecord] | LogColumns

P = TypeVar("P")
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
        self._group: GroupCommit[Batch, tuple[P, int], None] | None = None
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

        def prepare_group(batches: list[Batch]) -> tuple[P, int]:
            return prepare(batches), len(batches)

        def commit_group(prepared: tuple[P, int]) -> list[None]:
            commit(prepared[0])
            return [None] * prepared[1]

        self._group = GroupCommit(
            prepare_group,
            on_executor(self.threads.writer, commit_group),
            self._preparer,
            empty=None,
            closed=_closed,
            on_failure="retry_each_batch",  # one bad batch fails only its own caller
            linger=self._linger,
            linger_for="company",
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
