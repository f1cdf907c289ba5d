"""What the local driver writes to its state file, and what it does with it at the next start:
re-adopt the replicas still running as recorded, end every process of this fleet that nobody
wants any more, and drop the output files of replicas that are gone."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import structlog

from agentdeck.db.base import utcnow
from agentdeck.fleet.driver import WorkloadSpec
from agentdeck.fleet.local import procs
from agentdeck.fleet.local.logs import LogTailer
from agentdeck.fleet.local.replica import Replica, Runtime
from agentdeck.fleet.local.state import FleetState, ReplicaRecord, WorkloadRecord
from agentdeck.fleet.local.workload import Workload

log = structlog.get_logger(__name__)

FLEET_ID_VARIABLE = "AGENTDECK_FLEET_ID"


def snapshot(workloads: Mapping[uuid.UUID, Workload], tailer: LogTailer) -> FleetState:
    """Every workload, and every replica that has a process, as the state file keeps them."""
    state = FleetState()
    for agent_id, workload in workloads.items():
        state.workloads[str(agent_id)] = WorkloadRecord(
            spec=workload.spec.to_json(),
            replicas=workload.desired,
            strategy=workload.strategy.value,
        )
    for replica in (r for w in workloads.values() for r in w.replicas.values()):
        handle = replica.handle
        if handle is None:
            continue
        output = tailer.get(replica.name)
        state.replicas.append(
            ReplicaRecord(
                name=replica.name,
                agent_id=str(replica.spec.agent_id),
                tenant_id=str(replica.spec.tenant_id),
                agent_name=replica.spec.agent_name,
                spec_hash=replica.spec_hash,
                version=replica.spec.version,
                pid=handle.pid,
                pgid=handle.pgid,
                start_ticks=handle.start_ticks,
                started_at=(replica.started_at or utcnow()).isoformat(),
                port=replica.port,
                restarts=replica.restarts,
                offsets=output.offsets if output is not None else {},
                spec=replica.spec.to_json(),
            )
        )
    return state


def adopt(record: ReplicaRecord, runtime: Runtime) -> Replica | None:
    """The recorded replica, supervised again, if its process still runs as recorded."""
    handle = procs.adopt(record.pid, record.pgid, record.start_ticks)
    if handle is None or not record.spec:
        return None
    spec = WorkloadSpec.from_json(record.spec)
    runtime.tailer.track(
        tenant_id=spec.tenant_id,
        agent_id=spec.agent_id,
        agent=spec.agent_name,
        replica=record.name,
        version=spec.version,
        offsets=record.offsets,
    )
    return Replica(
        name=record.name,
        spec=spec,
        runtime=runtime,
        handle=handle,
        port=record.port,
        started_at=datetime.fromisoformat(record.started_at),
        restarts=record.restarts,
    )


def end_orphans(fleet_id: str, kept_groups: Iterable[int]) -> int:
    """SIGKILL every process group of this fleet (found by its id in their environment) that
    was not re-adopted; how many processes were found."""
    kept = set(kept_groups)
    ended = 0
    for pid, pgid, name in procs.marked_processes(FLEET_ID_VARIABLE, fleet_id):
        if pgid in kept:
            continue
        log.warning("fleet: ending an orphaned replica process", pid=pid, replica=name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        ended += 1
    return ended


def drop_stale_output(directory: Path, tracked: set[str]) -> None:
    for path in directory.glob("*.log"):
        if path.name.split(".")[0] not in tracked:
            with contextlib.suppress(OSError):
                path.unlink()
