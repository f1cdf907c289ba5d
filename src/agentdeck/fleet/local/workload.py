"""One agent's workload on the local driver: the controller that keeps its replicas at the
desired spec and count, like a Kubernetes Deployment controller.

Each step compares the live replicas with the target spec:

- ``recreate``: every replica of another spec is stopped; new ones start only once they are
  all gone.
- ``rolling`` (surge one, none unavailable): replicas of another spec that are not ready are
  stopped at once (they serve nothing); while old ones remain, at most one replica above the
  desired count runs, and a ready old replica is stopped only when the ready ones would still
  number the desired count without it — so a new replica is ready before each old one stops.
- then extra replicas (scale down) are stopped, not-ready and newest first.

A rollback is the same thing with the previous spec as the target: the replicas of the failed
spec are the "old" ones and go first when they are not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime

from agentdeck.fleet.driver import ReplicaPhase, Strategy, WorkloadSpec, WorkloadStatus
from agentdeck.fleet.local.replica import Replica

STEP_SECONDS = 1.0
_EPOCH = datetime.min.replace(tzinfo=UTC)
_ALPHABET = string.ascii_lowercase + string.digits


def replica_name(spec: WorkloadSpec) -> str:
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{spec.agent_name}-{spec.spec_hash[:5]}-{suffix}"


class Workload:
    def __init__(
        self,
        spec: WorkloadSpec,
        *,
        desired: int,
        strategy: Strategy,
        new_replica: Callable[[WorkloadSpec], Replica],
        room: Callable[[], int],
    ) -> None:
        self.spec = spec
        self.desired = desired
        self.strategy = strategy
        self.replicas: dict[str, Replica] = {}
        self.capacity_note: str | None = None
        self._new_replica = new_replica
        self._room = room
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def agent_id(self) -> str:
        return str(self.spec.agent_id)

    def adopt(self, replica: Replica) -> None:
        self.replicas[replica.name] = replica
        replica.start()

    def apply(self, spec: WorkloadSpec, desired: int, strategy: Strategy) -> bool:
        changed = (spec.spec_hash, desired, strategy) != (
            self.spec.spec_hash,
            self.desired,
            self.strategy,
        )
        # the name may change without a new hash; keep the newest spec either way
        self.spec, self.desired, self.strategy = spec, desired, strategy
        if changed:
            self.wake()
        return changed

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"workload:{self.spec.agent_name}")

    async def _run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STEP_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            if not self._closed:
                self.step()

    # --- one step ------------------------------------------------------------------------------

    def _live(self) -> list[Replica]:
        return [r for r in self.replicas.values() if not r.stopping and not r.done]

    def step(self) -> None:
        for name in [n for n, r in self.replicas.items() if r.done]:
            del self.replicas[name]
        target = self.spec.spec_hash
        live = self._live()
        current = [r for r in live if r.spec_hash == target]
        old = [r for r in live if r.spec_hash != target]
        if self.desired == 0:
            for replica in live:
                replica.request_stop()
            return
        if self.strategy is Strategy.recreate:
            for replica in old:
                replica.request_stop()
            if any(r.spec_hash != target for r in self.replicas.values()):
                return  # the old ones are still on their way out
            self._start(current, self.desired - len(current))
        else:
            self._roll(current, old)
        self._trim(self._current())

    def _current(self) -> list[Replica]:
        return [r for r in self._live() if r.spec_hash == self.spec.spec_hash]

    def _roll(self, current: list[Replica], old: list[Replica]) -> None:
        for replica in [r for r in old if not r.ready]:
            replica.request_stop()
            old.remove(replica)
        ceiling = self.desired + 1 if old else self.desired
        self._start(current, min(self.desired - len(current), ceiling - len(current) - len(old)))
        ready_current = sum(1 for r in current if r.ready)
        ready_old = [r for r in old if r.ready]
        while ready_old and ready_current + len(ready_old) - 1 >= self.desired:
            ready_old.pop().request_stop()

    def _start(self, current: list[Replica], count: int) -> None:
        room = self._room()
        self.capacity_note = None
        for _ in range(max(0, count)):
            if room <= 0:
                self.capacity_note = (
                    "the local driver runs as many replicas as fleet.max_replicas allows"
                )
                break
            replica = self._new_replica(self.spec)
            self.replicas[replica.name] = replica
            current.append(replica)
            replica.start()
            room -= 1

    def _trim(self, current: list[Replica]) -> None:
        extra = len(current) - self.desired
        if extra <= 0:
            return
        # not ready first, then the newest
        order = sorted(current, key=lambda r: (r.ready, r.started_at is not None, r.started_at))
        for replica in order[:extra]:
            replica.request_stop()

    # --- observing and ending ------------------------------------------------------------------

    def status(self) -> WorkloadStatus:
        statuses = tuple(r.status() for r in self.replicas.values())
        target = self.spec.spec_hash
        failing = [r for r in self.replicas.values() if r.spec_hash == target and r.crash_looping]
        error = None
        if failing:
            newest = max(failing, key=lambda r: r.last_exit_at or r.started_at or _EPOCH)
            error = newest.message
        elif self.capacity_note:
            error = self.capacity_note
        return WorkloadStatus(
            agent_id=self.spec.agent_id,
            spec_hash=target,
            desired=self.desired,
            replicas=statuses,
            error=error,
        )

    def live_count(self) -> int:
        return sum(
            1 for r in self.replicas.values() if not r.done and r.phase is not ReplicaPhase.stopped
        )

    async def stop_all(self) -> None:
        """Stop every replica and wait until they are gone; the controller ends."""
        await self.close()
        for replica in self.replicas.values():
            replica.request_stop()
        await asyncio.gather(*(r.wait() for r in self.replicas.values()))
        self.replicas.clear()

    async def detach_all(self) -> None:
        await self.close()
        await asyncio.gather(*(r.detach() for r in self.replicas.values()))

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
