"""Publishers: push ingested samples, log lines and agent changes to the WebSocket channels.

Publishing is fire-and-forget: the caller schedules a task and returns at once, so a slow bus
never slows ingest or an API call down, and a bus failure is logged, never raised. At most
``MAX_PENDING`` publishes wait at any time; beyond that new ones are dropped (the ``metrics``
channel is lossy by design, and the bus itself keeps the durable channels' replay).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.bus.base import Bus
from agentdeck.ingest.core import Ingestor
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logs.schemas import columns_rows, line_row
from agentdeck.logstore.base import LogColumns, LogRecord
from agentdeck.realtime.hub import publish_event
from agentdeck.tsdb.base import SampleBatch

log = structlog.get_logger(__name__)

#: Samples carried by one metrics event (one event per ingest request, latest per series).
MAX_SAMPLES_PER_EVENT = 200
#: Publishes allowed in flight at once; more are dropped.
MAX_PENDING = 256

_pending: set[asyncio.Task[None]] = set()


def spawn(bus: Bus, tenant_id: uuid.UUID, channel: str, data: dict[str, Any]) -> bool:
    """Publish in the background; False when dropped (too many publishes in flight)."""
    if len(_pending) >= MAX_PENDING:
        log.warning("publish_dropped", channel=channel, pending=len(_pending))
        return False
    task = asyncio.get_running_loop().create_task(_publish(bus, tenant_id, channel, data))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return True


async def _publish(bus: Bus, tenant_id: uuid.UUID, channel: str, data: dict[str, Any]) -> None:
    try:
        await publish_event(bus, tenant_id, channel, data)
    except Exception as exc:  # a bus failure must never reach the writer
        log.warning("publish_failed", channel=channel, error=str(exc))


# --- metrics ---------------------------------------------------------------------------------


def latest_samples(batch: SampleBatch, limit: int = MAX_SAMPLES_PER_EVENT) -> list[dict[str, Any]]:
    """The newest sample of each of the batch's first ``limit`` series, as event samples."""
    index = batch.series_index
    wanted = index < limit
    if not wanted.all():
        positions = np.flatnonzero(wanted)
        index = index[positions]
        timestamps = batch.timestamps[positions]
        values = batch.values[positions]
    else:
        timestamps, values = batch.timestamps, batch.values
    if not len(index):
        return []
    order = np.lexsort((timestamps, index))  # by series, then time: the last of a run wins
    sorted_index = index[order]
    last = np.flatnonzero(np.append(sorted_index[1:] != sorted_index[:-1], True))
    samples = []
    stamps: dict[int, str] = {}  # a batch's samples mostly share a few timestamps
    for position in order[last].tolist():
        key = batch.series[int(index[position])]
        labels = dict(key.labels)
        ms = int(timestamps[position])
        ts = stamps.get(ms)
        if ts is None:
            ts = stamps[ms] = datetime.fromtimestamp(ms / 1000, UTC).isoformat()
        samples.append(
            {
                "metric": key.name,
                "labels": labels,
                "value": float(values[position]),
                "ts": ts,
                "agent_id": labels.get("agent_id"),
            }
        )
    return samples


def publish_metrics(bus: Bus, tenant_id: uuid.UUID, batch: SampleBatch) -> None:
    """One ``metrics`` event with the latest sample per series of a written batch."""
    samples = latest_samples(batch)
    if samples:
        spawn(bus, tenant_id, "metrics", {"samples": samples})


def attach(ingestor: Ingestor, bus: Bus) -> None:
    """Publish every batch ``ingestor`` writes on the tenant's ``metrics`` channel."""

    def on_write(tenant_id: uuid.UUID, batch: SampleBatch, agents: AbstractSet[str]) -> None:
        publish_metrics(bus, tenant_id, batch)

    ingestor.add_write_listener(on_write)


# --- logs ------------------------------------------------------------------------------------

#: Lines carried by one ``logs`` event (an ingest request's lines go in as few as fit).
MAX_LINES_PER_EVENT = 1000


def publish_logs(bus: Bus, tenant_id: uuid.UUID, records: Sequence[LogRecord] | LogColumns) -> None:
    """Every written line on the tenant's ``logs`` channel, as rows (``logs.schemas``)."""
    if isinstance(records, LogColumns):
        rows = columns_rows(records)
    else:
        rows = [line_row(record) for record in records]
    for start in range(0, len(rows), MAX_LINES_PER_EVENT):
        lines = rows[start : start + MAX_LINES_PER_EVENT]
        spawn(bus, tenant_id, "logs", {"lines": lines})


def attach_logs(ingestor: LogIngestor, bus: Bus) -> None:
    """Publish every batch of lines ``ingestor`` writes on the tenant's ``logs`` channel."""
    ingestor.add_listener(lambda tenant_id, records: publish_logs(bus, tenant_id, records))


# --- agents ----------------------------------------------------------------------------------


def publish_agent_change(
    bus: Bus,
    agent: Agent,
    *,
    action: str,
    previous_status: AgentStatus | None = None,
) -> None:
    """An agent was created, updated or deleted: tell ``agent:<id>``, and ``fleet`` when its
    status changed (created and deleted count as changes)."""
    status = None if action == "deleted" else agent.status
    data: dict[str, Any] = {
        "action": action,
        "agent_id": str(agent.id),
        "name": agent.name,
        "status": status,
        "previous_status": previous_status,
        "revision": agent.revision,
    }
    spawn(bus, agent.tenant_id, f"agent:{agent.id}", data)
    if action != "updated" or status != previous_status:
        spawn(bus, agent.tenant_id, "fleet", data)
