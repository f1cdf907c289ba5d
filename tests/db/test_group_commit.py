"""The group commit both stores write through: each caller gets its own result, and a bad
batch fails only its own caller, with and without a separate prepare thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentdeck.db.group_commit import GroupCommit


class Refused(Exception):
    pass


def _commit_sums(groups: list[list[list[int]]]):  # noqa: ANN202 - a test double's factory
    def commit(batches: list[list[int]]) -> list[int]:
        if any(-1 in batch for batch in batches):
            raise Refused("a batch holds -1")
        groups.append(batches)
        return [sum(batch) for batch in batches]

    return commit


@pytest.mark.parametrize("pipelined", [False, True])
async def test_each_caller_gets_its_own_result_and_a_bad_batch_fails_alone(
    pipelined: bool,
) -> None:
    writer = ThreadPoolExecutor(1)
    preparer = ThreadPoolExecutor(1) if pipelined else None
    groups: list[list[list[int]]] = []
    gate = threading.Event()
    group: GroupCommit[list[int], list[list[int]], int] = GroupCommit(
        list,
        _commit_sums(groups),
        writer,
        preparer,
        empty=0,
        closed=lambda: RuntimeError("closed"),
        linger=0.0,
        max_records=1000,
        name="test-group",
    )
    group.start()
    try:
        writer.submit(gate.wait)  # the writer is busy: the batches below queue up together
        calls = [[1, 2], [10], [-1, 5], [100, 200], []]
        tasks = [asyncio.create_task(group.submit(batch)) for batch in calls]
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] == 3 and results[1] == 10 and results[3] == 300
        assert isinstance(results[2], Refused)
        assert results[4] == 0  # an empty batch is answered without a commit
        committed = sorted(b for g in groups for b in g)
        assert committed == [[1, 2], [10], [100, 200]]
        assert group.calls == 5 and group.records == 5
    finally:
        gate.set()
        await group.close()
        writer.shutdown()
        if preparer is not None:
            preparer.shutdown()
    with pytest.raises(RuntimeError, match="closed"):
        await group.submit([1])


async def test_a_group_holds_at_most_max_records_but_a_large_batch_still_commits() -> None:
    writer = ThreadPoolExecutor(1)
    groups: list[list[list[int]]] = []
    gate = threading.Event()
    group: GroupCommit[list[int], list[list[int]], int] = GroupCommit(
        list,
        _commit_sums(groups),
        writer,
        None,
        empty=0,
        closed=lambda: RuntimeError("closed"),
        linger=0.0,
        max_records=3,
        name="test-group",
    )
    group.start()
    try:
        writer.submit(gate.wait)
        first = asyncio.create_task(group.submit([1]))
        await asyncio.sleep(0)  # taken alone, waiting for the busy writer
        rest = [asyncio.create_task(group.submit(b)) for b in ([1, 1], [1], [1, 1, 1, 1])]
        await asyncio.sleep(0)
        gate.set()
        assert await first == 1
        assert await asyncio.gather(*rest) == [2, 1, 4]
        assert [[len(b) for b in g] for g in groups] == [[1], [2, 1], [4]]
    finally:
        gate.set()
        await group.close()
        writer.shutdown()
