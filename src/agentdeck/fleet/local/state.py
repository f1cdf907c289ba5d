"""The local driver's state file: what it runs, so that the next agentdeck process finds it.

``state.json`` in the fleet directory holds every workload (spec, replica count, strategy) and
every replica process (pid, process group, start time, port, spec hash, restarts, log offsets).
It is rewritten whole (a temporary file renamed over it) right after every process starts, so
a crash of agentdeck, even ``kill -9``, leaves a file naming every process that may still run.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

VERSION = 1


@dataclass(slots=True)
class ReplicaRecord:
    name: str
    agent_id: str
    tenant_id: str
    agent_name: str
    spec_hash: str
    version: str
    pid: int
    pgid: int
    start_ticks: int
    started_at: str
    port: int | None
    restarts: int = 0
    offsets: dict[str, int] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class WorkloadRecord:
    spec: dict[str, Any]
    replicas: int
    strategy: str


@dataclass(slots=True)
class FleetState:
    workloads: dict[str, WorkloadRecord] = field(default_factory=dict)
    replicas: list[ReplicaRecord] = field(default_factory=list)


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> FleetState:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return FleetState()
        except (OSError, ValueError) as exc:
            log.error(
                "fleet state file unreadable; starting empty", path=str(self.path), error=str(exc)
            )
            return FleetState()
        state = FleetState()
        for agent_id, item in (raw.get("workloads") or {}).items():
            try:
                uuid.UUID(agent_id)
                state.workloads[agent_id] = WorkloadRecord(
                    spec=dict(item["spec"]),
                    replicas=int(item["replicas"]),
                    strategy=str(item["strategy"]),
                )
            except (KeyError, TypeError, ValueError):
                log.warning("fleet state: skipped an unreadable workload", agent_id=agent_id)
        for item in raw.get("replicas") or []:
            try:
                state.replicas.append(ReplicaRecord(**item))
            except TypeError:
                log.warning("fleet state: skipped an unreadable replica", record=item)
        return state

    def save(self, state: FleetState) -> None:
        data = {
            "version": VERSION,
            "workloads": {k: asdict(v) for k, v in state.workloads.items()},
            "replicas": [asdict(r) for r in state.replicas],
        }
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.error("fleet state file not written", path=str(self.path), error=str(exc))
            with contextlib.suppress(OSError):
                tmp.unlink()
