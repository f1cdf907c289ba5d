"""Pod output into agentdeck's logs pipeline: one follower per pod of a managed Deployment.

Each follower reads ``GET pods/{name}/log?follow=true&timestamps=true`` (the same ``pods/log``
get the RBAC Role grants for the output tail) and hands every line to the driver's line sinks,
labelled with the agent, its id, the pod (``replica``) and the version the pod runs. The pod
log API gives the container's stdout and stderr as one stream (splitting them needs an alpha
feature gate), so every line is filed as ``stdout``.

A stream ends when the container exits or the API server closes it; the follower reconnects
(backed off while the pod's container is not running yet) asking for the last seconds again
(``sinceSeconds``) and skips what it already delivered by the lines' timestamps, so a restarted
container's output follows on without repeats. A pod that was already there when the driver
started is followed from that moment (``tailLines=0``): what it printed while agentdeck was
down is not fetched (the cluster's own log collector keeps it). A line longer than
``MAX_LINE_BYTES`` is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from agentdeck.fleet.driver import LogLine
from agentdeck.fleet.journal import LineSinks
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.api import Kube, KubeError

log = structlog.get_logger(__name__)

MAX_LINE_BYTES = 16 * 1024
RETRY_INITIAL_SECONDS = 0.2
RETRY_MAX_SECONDS = 10.0


def parse_stamp(stamp: str) -> datetime | None:
    """An RFC 3339 time with nanoseconds (as the kubelet writes them), to microseconds."""
    head, dot, fraction = stamp.rstrip("Z").partition(".")
    try:
        return datetime.fromisoformat(head + (dot + fraction[:6] if dot else "")).replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def _env_of(pod: dict[str, Any], name: str) -> str | None:
    """A variable of the pod's container environment (the agent's exact name is there; its
    label is the name made DNS-safe)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for item in container.get("env") or []:
            if item.get("name") == name and isinstance(item.get("value"), str):
                return str(item["value"])
    return None


@dataclass(slots=True)
class _Position:
    """What was delivered: the newest line time (to the microsecond) and how many lines
    carried it."""

    at: datetime | None = None
    same: int = 0


class PodFollower:
    """Streams one pod's log into ``sinks`` until cancelled."""

    def __init__(
        self, kube: Kube, sinks: LineSinks, pod: dict[str, Any], *, from_now: bool
    ) -> None:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        self.kube = kube
        self.sinks = sinks
        self.name = str(meta.get("name"))
        self.agent_id = uuid.UUID(str(labels[manifests.AGENT_ID]))
        self.tenant_id = uuid.UUID(str(labels[manifests.TENANT_ID]))
        self.agent = _env_of(pod, "AGENTDECK_AGENT_NAME") or str(labels.get(manifests.NAME) or "")
        annotations = meta.get("annotations") or {}
        self.version = str(
            annotations.get(manifests.VERSION_ANNOTATION) or labels.get(manifests.VERSION) or ""
        )
        self.from_now = from_now
        self.position = _Position()
        self.skip = 0
        self.delivered = 0

    def _since(self) -> dict[str, int]:
        if self.position.at is None:
            return {"tail_lines": 0} if self.from_now else {}
        behind = (datetime.now(UTC) - self.position.at).total_seconds()
        return {"since_seconds": max(1, math.ceil(behind) + 1)}

    def _take(self, raw: bytes) -> LogLine | None:
        """One line of the stream, unless it was delivered before a reconnect."""
        text = raw[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")
        stamp, _, line = text.partition(" ")
        at = parse_stamp(stamp)
        position = self.position
        if at is None:  # not stamped (should not happen with timestamps=true): keep it whole
            at, line = datetime.now(UTC), text
        elif position.at is not None and at < position.at:
            return None  # before what was delivered
        elif at == position.at:
            if self.skip > 0:  # delivered before the reconnect
                self.skip -= 1
                return None
            position.same += 1
        else:
            position.at, position.same = at, 1
            self.skip = 0
        return LogLine(
            tenant_id=self.tenant_id,
            agent_id=self.agent_id,
            agent=self.agent,
            replica=self.name,
            stream="stdout",
            line=line,
            at=at,
            version=self.version,
        )

    def _deliver(self, complete: list[bytes]) -> None:
        lines = [line for line in map(self._take, complete) if line is not None]
        if lines:
            self.delivered += len(lines)
            self.sinks.deliver(lines)

    async def _follow_once(self) -> None:
        self.skip = self.position.same  # the stream repeats the lines at the newest stamp
        partial = b""
        try:
            async for chunk in self.kube.follow_pod_log(self.name, **self._since()):
                *complete, partial = (partial + chunk).split(b"\n")
                if len(partial) > MAX_LINE_BYTES:
                    complete.append(partial)
                    partial = b""
                self._deliver(complete)
        finally:
            if partial:
                self._deliver([partial])
            self.from_now = False  # a reconnect reads on from the position

    async def run(self) -> None:
        delay = RETRY_INITIAL_SECONDS
        while True:
            try:
                await self._follow_once()
                delay = RETRY_INITIAL_SECONDS
            except KubeError as exc:  # not running yet, gone, or the API server away
                if exc.status not in (400, 404):
                    log.info("fleet: following a pod's log failed", pod=self.name, error=str(exc))
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed answer must not end the following for good
                log.exception("fleet: following a pod's log failed", pod=self.name)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)


class PodLogs:
    """A follower per pod the mirror knows; started and stopped as pods come and go."""

    def __init__(self, kube: Kube, sinks: LineSinks) -> None:
        self.kube = kube
        self.sinks = sinks
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._followers: dict[str, PodFollower] = {}
        #: While the driver starts: the pods listed then were there before it, and are
        #: followed from now on rather than from their start.
        self.initial = True

    def sync(self, agent_id: uuid.UUID, pods: dict[str, dict[str, Any]]) -> None:
        """Follow the agent's ``pods`` (by name); stop following its pods that are gone."""
        for name, pod in pods.items():
            if name in self._tasks:
                continue
            try:
                follower = PodFollower(self.kube, self.sinks, pod, from_now=self.initial)
            except (KeyError, ValueError):
                continue  # not one of ours (no agent or tenant label)
            self._followers[name] = follower
            self._tasks[name] = asyncio.create_task(follower.run(), name=f"pod-log:{name}")
        gone = [
            name
            for name, follower in self._followers.items()
            if follower.agent_id == agent_id and name not in pods
        ]
        for name in gone:
            self._stop(name)

    def _stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        self._followers.pop(name, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._followers.clear()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
