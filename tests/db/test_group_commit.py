"""The group commit both stores write through: each caller gets its own result, and a bad
batch fails only its own caller, with and without a separate prepare thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentdeck.db.group_commit import GroupCommit, on_executor


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
        on_executor(writer, _commit_sums(groups)),
        preparer,
        empty=0,
        closed=lambda: RuntimeError("closed"),
        on_failure="retry_each_batch",
        linger=0.0,
        linger_for="company",
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
        on_executor(writer, _commit_sums(groups)),
        None,
        empty=0,
        closed=lambda: RuntimeError("closed"),
        on_failure="retry_each_batch",
        linger=0.0,
        linger_for="company",
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


class Sender:
    """An async commit (as an HTTP send): each call waits for ``gate``, then commits or fails."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.groups: list[list[list[int]]] = []
        self.calls = 0
        self.down = False

    async def __call__(self, batches: list[list[int]]) -> list[int]:
        self.calls += 1
        await self.gate.wait()
        if self.down or any(-1 in batch for batch in batches):
            raise Refused("the server is down")
        self.groups.append(batches)
        return [sum(batch) for batch in batches]


def _sending(
    sender: Sender, *, max_records: int, linger: float = 0.0, max_queued: int | None = None
) -> GroupCommit[list[int], list[list[int]], int]:
    return GroupCommit(
        list,
        sender,
        None,
        empty=0,
        closed=lambda: RuntimeError("closed"),
        on_failure="fail_group",
        linger=linger,
        linger_for="full_group",
        max_records=max_records,
        max_queued=max_queued,
        backed_up=lambda held: RuntimeError(f"backed up: {held} held"),
        name="test-send",
    )


async def test_a_failed_group_fails_every_caller_once_without_retries() -> None:
    sender = Sender()
    group = _sending(sender, max_records=100)
    first = asyncio.create_task(group.submit([1]))
    await asyncio.sleep(0)  # taken alone: its send waits at the gate
    rest = [asyncio.create_task(group.submit(b)) for b in ([2], [-1], [3, 4])]
    await asyncio.sleep(0)
    assert group.held == 5  # records queued or in flight
    sender.gate.set()
    assert await first == 1
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert all(isinstance(o, Refused) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 1  # the one failed send, not one per batch
    assert sender.calls == 2 and group.transactions == 1 and group.held == 0
    assert await group.submit([5]) == 5  # the group commit goes on after a failure
    await group.close()
    with pytest.raises(RuntimeError, match="closed"):
        await group.submit([1])


async def test_records_queued_or_in_flight_are_capped() -> None:
    sender = Sender()
    group = _sending(sender, max_records=100, max_queued=4)
    first = asyncio.create_task(group.submit([1, 1]))
    await asyncio.sleep(0)  # in flight
    with pytest.raises(RuntimeError, match="backed up: 2 held"):
        await group.submit([1, 1, 1])  # over the cap: refused at once, not queued
    second = asyncio.create_task(group.submit([1, 1]))  # exactly at the cap
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="backed up: 4 held"):
        await group.submit([1])
    assert group.calls == 2  # refused batches are no calls
    sender.gate.set()
    assert (await first, await second) == (2, 2)
    assert group.held == 0
    assert await group.submit([1, 1, 1, 1]) == 4  # room again
    await group.close()
    assert sender.groups == [[[1, 1]], [[1, 1]], [[1, 1, 1, 1]]]


async def test_a_lone_batch_over_the_cap_still_goes_when_nothing_is_held() -> None:
    sender = Sender()
    sender.gate.set()
    group = _sending(sender, max_records=100, max_queued=2)
    assert await group.submit([1, 2, 3]) == 6
    await group.close()


async def test_overlapping_writers_linger_until_a_full_group_is_queued() -> None:
    sender = Sender()
    group = _sending(sender, max_records=4, linger=60.0)  # the clock never ends the wait here
    first = asyncio.create_task(group.submit([1]))
    await asyncio.sleep(0)  # a lone writer never waits: sent at once, held at the gate
    queued = [asyncio.create_task(group.submit([1])) for _ in range(3)]
    await asyncio.sleep(0)
    sender.gate.set()
    assert await first == 1
    for _ in range(5):  # turns of the loop: the three wait for a group's worth
        await asyncio.sleep(0)
    assert sender.calls == 1 and group.queued == 3
    last = asyncio.create_task(group.submit([1]))
    assert await asyncio.gather(*queued, last) == [1, 1, 1, 1]
    assert [len(g) for g in sender.groups] == [1, 4]  # one send for the four
    await group.close()


async def test_close_sends_what_is_queued_without_lingering() -> None:
    sender = Sender()
    group = _sending(sender, max_records=100, linger=60.0)
    first = asyncio.create_task(group.submit([1]))
    await asyncio.sleep(0)
    queued = asyncio.create_task(group.submit([2]))
    await asyncio.sleep(0)
    closing = asyncio.create_task(group.close())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closed"):
        await group.submit([3])
    sender.gate.set()
    await closing
    assert (await first, await queued) == (1, 2)
