"""Writing delivery outcomes: the outbox row's new state and one delivery-log row per attempt.

Every send of the worker runs on its own, so outcomes arrive one at a time; :class:`Recorder`
writes them in batches (group commit): the first outcome starts a write, and whatever finishes
while a write runs goes into the next one. A caller's :meth:`Recorder.write` returns once its
outcome is committed. A row is updated only where ``locked_by`` is still this worker, so a claim
another worker took over is never overwritten.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.notify.models import NotificationDelivery, NotificationOutbox, OutboxStatus

log = structlog.get_logger(__name__)

OUTBOX: Table = NotificationOutbox.__table__  # type: ignore[assignment]
DELIVERIES: Table = NotificationDelivery.__table__  # type: ignore[assignment]
MAX_ERROR = 2000
MAX_DETAIL = 1000


class DeliveryMetrics:
    """Delivery attempts by channel kind and status, send latency, sends in flight and claims
    put back unsent (on the app registry)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "agentdeck_notification_attempts_total",
            "Notification delivery attempts by channel kind and status "
            "(success, failure, dead, rate_limited, skipped).",
            ["kind", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "agentdeck_notification_send_seconds",
            "Time to send one notification, by channel kind.",
            ["kind"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self.in_flight = Gauge(
            "agentdeck_notification_sends_in_flight",
            "Notification sends in progress in this process, by channel kind.",
            ["kind"],
            registry=registry,
        )
        self.released = Counter(
            "agentdeck_notification_released_total",
            "Claimed notifications put back in the queue unsent, no attempt counted, by reason "
            "(claim_expiring: the claim would end before the send could time out; shutdown).",
            ["reason"],
            registry=registry,
        )


@dataclass(slots=True)
class Outcome:
    row: NotificationOutbox
    status: str  # success, failure, dead, rate_limited, skipped, released
    outbox_status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    response_code: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    detail: str | None = None  # the cause, for admins; ``error`` is the summary everyone sees
    delivery_id: uuid.UUID | None = None
    kind: str = ""


_LOG_COLUMNS = (
    ("id", "uuid"),
    ("tenant_id", "uuid"),
    ("outbox_id", "uuid"),
    ("channel_id", "uuid"),
    ("alert_id", "uuid"),
    ("attempt", "integer"),
    ("status", "varchar"),
    ("response_code", "integer"),
    ("error", "varchar"),
    ("error_detail", "varchar"),
    ("latency_ms", "float8"),
    ("at", "timestamptz"),
)
#: a batch's outcomes and its delivery-log rows as one statement on PostgreSQL (one round
#: trip): ``UPDATE … FROM unnest(arrays)`` in a CTE, ``INSERT … SELECT unnest(arrays)``
_RECORD_PG = text(
    """
    WITH recorded AS (
        UPDATE notification_outbox AS o SET
            status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at,
            delivered_at = v.delivered_at, last_error = v.last_error,
            locked_until = NULL, locked_by = NULL
        FROM unnest(
            CAST(:ids AS uuid[]), CAST(:statuses AS varchar[]), CAST(:attempts AS integer[]),
            CAST(:nexts AS timestamptz[]), CAST(:delivered AS timestamptz[]),
            CAST(:errors AS varchar[])
        ) AS v(id, status, attempts, next_attempt_at, delivered_at, last_error)
        WHERE o.id = v.id AND o.locked_by = :holder
    )
    """
    f"INSERT INTO notification_deliveries ({', '.join(name for name, _ in _LOG_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _LOG_COLUMNS)
    + ")"
)


def _log_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name, _ in _LOG_COLUMNS}


def _columns(params: list[dict[str, Any]], holder: str) -> dict[str, Any]:
    """The per-row parameters of :meth:`Recorder.record` as one array per column."""
    return {
        "ids": [p["b_id"] for p in params],
        "statuses": [p["b_status"].name for p in params],
        "attempts": [p["b_attempts"] for p in params],
        "nexts": [p["b_next"] for p in params],
        "delivered": [p["b_delivered"] for p in params],
        "errors": [p["b_error"] for p in params],
        "holder": holder,
    }


class NotRecorded(Exception):
    """The batch holding this outcome could not be written (logged once, by the recorder)."""


class Recorder:
    """Writes outcomes in batches; see the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        holder: str,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.holder = holder
        self.metrics = metrics
        self._queued: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, outcome: Outcome) -> None:
        """Return once ``outcome`` is committed; :class:`NotRecorded` when its batch failed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((outcome, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="notify:record")
        await future

    async def wait(self, seconds: float) -> None:
        """Let the writes under way finish (up to ``seconds``, then cancel them)."""
        writer = self._writer
        if writer is None or writer.done():
            return
        _, pending = await asyncio.wait({writer}, timeout=seconds)
        if pending:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _write_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            outcomes = [outcome for outcome, _ in batch]
            try:
                await self.record(outcomes)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                log.exception("notification outcomes not recorded", count=len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(NotRecorded(str(exc)))
                continue
            for _, future in batch:
                if not future.done():  # its sender may have been cancelled meanwhile
                    future.set_result(None)
            self._observe(outcomes)

    async def record(self, outcomes: list[Outcome]) -> None:
        """Write ``outcomes`` in one transaction (released rows get no delivery-log entry)."""
        if not outcomes:
            return
        now = utcnow()
        params = []
        deliveries = []
        for o in outcomes:
            released = o.status == "released"
            params.append(
                {
                    "b_id": o.row.id,
                    "b_status": o.outbox_status,
                    "b_attempts": o.attempts,
                    "b_next": o.next_attempt_at,
                    "b_delivered": now if o.outbox_status is OutboxStatus.delivered else None,
                    "b_error": o.row.last_error
                    if released
                    else ((o.error or None) and o.error[:MAX_ERROR]),
                }
            )
            if released:
                continue
            o.delivery_id = uuid.uuid4()
            deliveries.append(
                {
                    "id": o.delivery_id,
                    "tenant_id": o.row.tenant_id,
                    "outbox_id": o.row.id,
                    "channel_id": o.row.channel_id,
                    "alert_id": o.row.alert_id,
                    "attempt": o.attempts if o.status != "rate_limited" else o.attempts + 1,
                    "status": o.status,
                    "response_code": o.response_code,
                    "error": o.error[:MAX_ERROR] if o.error else None,
                    "error_detail": (o.detail or o.error or "")[:MAX_DETAIL] or None,
                    "latency_ms": o.latency_ms,
                    "at": now,
                }
            )
        async with self.sessions() as session:
            connection = await session.connection()
            if connection.dialect.name == "postgresql":
                # one statement for the batch (an executemany runs the UPDATE once per row)
                await connection.execute(
                    _RECORD_PG, {**_columns(params, self.holder), **_log_columns(deliveries)}
                )
            else:
                await connection.execute(self._record_stmt(), params)
                if deliveries:
                    await connection.execute(DELIVERIES.insert(), deliveries)
            await session.commit()

    def _record_stmt(self) -> Any:
        return (
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.locked_by == self.holder)
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"),
                delivered_at=bindparam("b_delivered"),
                last_error=bindparam("b_error"),
                locked_until=None,
                locked_by=None,
            )
        )

    def _observe(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if o.status == "released":
                if self.metrics is not None:
                    self.metrics.released.labels(reason="claim_expiring").inc()
                continue
            if self.metrics is not None:
                self.metrics.attempts.labels(kind=o.kind, status=o.status).inc()
                if o.latency_ms is not None:
                    self.metrics.latency.labels(kind=o.kind).observe(o.latency_ms / 1000)
            if o.status in ("failure", "dead"):
                log.warning(
                    "notification not delivered",
                    outbox_id=str(o.row.id),
                    channel_id=str(o.row.channel_id),
                    status=o.status,
                    attempt=o.attempts,
                    error=o.detail or o.error,
                )
