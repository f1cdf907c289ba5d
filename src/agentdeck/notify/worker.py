"""The delivery worker: claims due outbox rows, sends them, logs every attempt.

Claims are row locks in the state database, not a lease: every replica runs the worker, and one
``UPDATE ... RETURNING`` moves due rows to ``sending`` with ``locked_until`` = now +
``claim_seconds`` and ``locked_by`` = this worker, so no two replicas send the same row. A
worker that dies mid-send leaves its rows ``sending``; when ``locked_until`` passes any worker
claims them again (at-least-once; ``claim_seconds`` is longer than the send timeout, so a live
worker never loses a claim it is still using). Outcomes are written only where ``locked_by`` is
still this worker.

A failed attempt is retried after a full-jitter exponential backoff (``uniform(0, min(max,
base * 2**(attempt-1)))``, at least what a ``Retry-After`` asked for); a rejection (4xx other than
408/425/429) or the last allowed attempt dead-letters the row. Rows over a channel's rate limit
are put back with a later ``next_attempt_at`` and no attempt counted.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck import __version__
from agentdeck.db.base import utcnow
from agentdeck.loops.base import Loop
from agentdeck.loops.lease import new_holder_id
from agentdeck.notify.channels import spec
from agentdeck.notify.channels.base import SendContext, SendResult, describe
from agentdeck.notify.channels.urls import unpack
from agentdeck.notify.crypto import SecretBox
from agentdeck.notify.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationOutbox,
    OutboxStatus,
)
from agentdeck.notify.ratelimit import ChannelLimits, RedisChannelLimits
from agentdeck.outbound import OutboundPolicy, connector
from agentdeck.settings import NotifySettings, Settings

log = structlog.get_logger(__name__)

OUTBOX: Table = NotificationOutbox.__table__  # type: ignore[assignment]
DELIVERIES: Table = NotificationDelivery.__table__  # type: ignore[assignment]
MAX_ERROR = 2000
MAX_DETAIL = 1000
#: Longest a tick keeps draining the outbox before yielding to the runner.
TICK_BUDGET_SECONDS = 20.0


class DeliveryMetrics:
    """Delivery attempts by channel kind and status, and send latency (on the app registry)."""

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


@dataclass(slots=True)
class Outcome:
    row: NotificationOutbox
    status: str  # success, failure, dead, rate_limited, skipped
    outbox_status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    response_code: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    detail: str | None = None
    delivery_id: uuid.UUID | None = None


def backoff_seconds(
    attempt: int, settings: NotifySettings, rng: random.Random, retry_after: float | None = None
) -> float:
    """Full jitter: uniform(0, min(max, base * 2**(attempt-1))), at least ``retry_after``."""
    cap = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    delay = rng.uniform(0.0, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_max_seconds))
    return delay


def _due(now: datetime) -> Any:
    return or_(
        and_(
            NotificationOutbox.status == OutboxStatus.pending,
            NotificationOutbox.next_attempt_at <= now,
        ),
        and_(
            NotificationOutbox.status == OutboxStatus.sending,
            NotificationOutbox.locked_until < now,
        ),
    )


def _limits(settings: Settings) -> ChannelLimits:
    """Channel rate limits shared by all replicas through Redis when it is configured."""
    default = settings.notify.default_rate_per_minute
    if settings.redis_url:
        return RedisChannelLimits(default, Redis.from_url(settings.redis_url))
    return ChannelLimits(default)


class Deliverer:
    """Claims, sends and records; used by the loop and by "send test"."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        holder: str | None = None,
        rng: random.Random | None = None,
        limits: ChannelLimits | None = None,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.config = settings.notify
        self.box = SecretBox.from_settings(settings)
        self.policy = OutboundPolicy.from_settings(settings.outbound)
        self.holder = holder or f"notify:{new_holder_id()}"
        self.rng = rng or random.Random()
        self.limits = limits or _limits(settings)
        self._http: aiohttp.ClientSession | None = None
        self._secrets: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
        self._semaphore = asyncio.Semaphore(self.config.concurrency)

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            n = self.config.concurrency
            self._http = aiohttp.ClientSession(
                connector=connector(self.policy, limit=n),
                headers={"User-Agent": f"agentdeck/{__version__}"},
                # HTTP(S)_PROXY / NO_PROXY, as before: a proxy's own address must be allowed
                # by the outbound policy, and it resolves the destination's name itself
                trust_env=True,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.limits.close()

    # --- claim -----------------------------------------------------------------------------

    async def claim(
        self, *, only: Sequence[uuid.UUID] | None = None, any_channel: bool = False
    ) -> list[uuid.UUID]:
        """Lock due rows of enabled channels to this worker; their ids."""
        now = utcnow()
        candidates = (
            select(NotificationOutbox.id)
            .join(NotificationChannel, NotificationChannel.id == NotificationOutbox.channel_id)
            .where(_due(now))
        )
        if not any_channel:
            candidates = candidates.where(NotificationChannel.enabled.is_(True))
        if only is not None:
            candidates = candidates.where(NotificationOutbox.id.in_(list(only)))
        else:
            exhausted = self.limits.exhausted()
            if exhausted:
                candidates = candidates.where(NotificationOutbox.channel_id.not_in(exhausted))
        candidates = (
            candidates.order_by(NotificationOutbox.next_attempt_at)
            .limit(self.config.batch_size)
            .with_for_update(skip_locked=True, of=NotificationOutbox)
        )
        stmt = (
            update(NotificationOutbox)
            .where(NotificationOutbox.id.in_(candidates.scalar_subquery()), _due(now))
            .values(
                status=OutboxStatus.sending,
                locked_until=now + timedelta(seconds=self.config.claim_seconds),
                locked_by=self.holder,
            )
            .returning(NotificationOutbox.id)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions() as session:
            ids = list((await session.scalars(stmt)).all())
            await session.commit()
        return ids

    # --- send ------------------------------------------------------------------------------

    def _secrets_of(self, channel: NotificationChannel) -> dict[str, Any]:
        key = (channel.id, channel.revision)
        found = self._secrets.get(key)
        if found is None:
            found = self._secrets[key] = self.box.decrypt(channel.secrets_encrypted)
        return found

    async def _send(self, row: NotificationOutbox, channel: NotificationChannel) -> SendResult:
        kind = spec(channel.kind.value)
        try:
            stored, hidden = unpack(self._secrets_of(channel))
            config = kind.config_model.model_validate({**channel.config, **hidden})
            secrets = kind.secrets_model.model_validate(stored)
        except ValidationError as exc:  # never the values: they may be secrets
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            error = "channel settings unusable"
            return SendResult(ok=False, error=error, detail=f"{error}: invalid {fields}")
        except Exception as exc:
            error = "channel settings unusable"
            return SendResult(ok=False, error=error, detail=f"{error}: {describe(exc)}")
        ctx = SendContext(
            http=self.http,
            timeout=self.config.timeout_seconds,
            channel_name=channel.name,
            dedup_key=row.dedup_key,
            event=row.event,
            group_key=row.group_key,
            policy=self.policy,
        )
        async with self._semaphore:
            try:
                return await kind.send(ctx, row.payload, config, secrets)
            except Exception as exc:  # a bug in a renderer must not stop the worker
                log.exception("channel send raised", channel_id=str(channel.id), kind=kind.kind)
                return SendResult(ok=False, error="internal error", detail=describe(exc))

    def _outcome(self, row: NotificationOutbox, result: SendResult, latency_ms: float) -> Outcome:
        now = utcnow()
        attempts = row.attempts + 1
        if result.ok:
            return Outcome(
                row, "success", OutboxStatus.delivered, attempts, now,
                result.status_code, None, latency_ms,
            )  # fmt: skip
        if result.permanent or attempts >= row.max_attempts:
            return Outcome(
                row, "dead", OutboxStatus.dead, attempts, now,
                result.status_code, result.error, latency_ms, result.detail,
            )  # fmt: skip
        delay = backoff_seconds(attempts, self.config, self.rng, result.retry_after)
        return Outcome(
            row, "failure", OutboxStatus.pending, attempts, now + timedelta(seconds=delay),
            result.status_code, result.error, latency_ms, result.detail,
        )  # fmt: skip

    async def _one(
        self, row: NotificationOutbox, channel: NotificationChannel, limited: bool
    ) -> Outcome:
        if row.event == "resolved" and not channel.send_resolved:
            return Outcome(row, "skipped", OutboxStatus.delivered, row.attempts, utcnow())
        if limited:
            wait = await self.limits.take(channel.id, channel.rate_limit_per_minute)
            if wait > 0:
                wait += self.rng.uniform(0.0, 0.25)
                return Outcome(
                    row, "rate_limited", OutboxStatus.pending, row.attempts,
                    utcnow() + timedelta(seconds=wait), error="channel rate limit; deferred",
                )  # fmt: skip
        started = time.perf_counter()
        result = await self._send(row, channel)
        return self._outcome(row, result, (time.perf_counter() - started) * 1000.0)

    # --- record ----------------------------------------------------------------------------

    async def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = utcnow()
        params = []
        deliveries = []
        for o in outcomes:
            params.append(
                {
                    "b_id": o.row.id,
                    "b_status": o.outbox_status,
                    "b_attempts": o.attempts,
                    "b_next": o.next_attempt_at,
                    "b_delivered": now if o.outbox_status is OutboxStatus.delivered else None,
                    "b_error": (o.error or None) and o.error[:MAX_ERROR],
                }
            )
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
        stmt = (
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
        async with self.sessions() as session:
            connection = await session.connection()
            await connection.execute(stmt, params)
            await connection.execute(DELIVERIES.insert(), deliveries)
            await session.commit()

    # --- one round -------------------------------------------------------------------------

    async def deliver(self, ids: Sequence[uuid.UUID], *, limited: bool = True) -> list[Outcome]:
        """Send claimed rows and record the outcomes."""
        if not ids:
            return []
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(NotificationOutbox, NotificationChannel)
                    .join(
                        NotificationChannel,
                        NotificationChannel.id == NotificationOutbox.channel_id,
                    )
                    .where(
                        NotificationOutbox.id.in_(list(ids)),
                        NotificationOutbox.locked_by == self.holder,
                    )
                )
            ).all()
            session.expunge_all()
        outcomes = await asyncio.gather(*(self._one(r, c, limited) for r, c in rows))
        await self._record(list(outcomes))
        if self.metrics is not None:
            kinds = {r.id: c.kind.value for r, c in rows}
            for o in outcomes:
                self.metrics.attempts.labels(kind=kinds[o.row.id], status=o.status).inc()
                if o.latency_ms is not None:
                    self.metrics.latency.labels(kind=kinds[o.row.id]).observe(o.latency_ms / 1000)
        for o in outcomes:
            if o.status in ("failure", "dead"):
                log.warning(
                    "notification not delivered",
                    outbox_id=str(o.row.id),
                    channel_id=str(o.row.channel_id),
                    status=o.status,
                    attempt=o.attempts,
                    error=o.detail or o.error,
                )
        return list(outcomes)

    async def run_once(self) -> int:
        """Claim one batch of due rows and deliver it; the number of rows handled."""
        ids = await self.claim()
        await self.deliver(ids)
        return len(ids)

    async def drain(self, budget_seconds: float = TICK_BUDGET_SECONDS) -> int:
        """Rounds until nothing is due (or the budget is spent)."""
        deadline = time.monotonic() + budget_seconds
        total = 0
        while time.monotonic() < deadline:
            handled = await self.run_once()
            total += handled
            if handled == 0:
                break
        return total


class DeliveryLoop(Loop):
    """Delivers due notifications. Not leased: every replica delivers, row claims keep them
    apart."""

    name = "notify-delivery"
    lease = False
    jitter = 0.2
    initial_delay = 0.0

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.interval = settings.notify.worker_interval_seconds
        metrics = DeliveryMetrics(registry) if registry is not None else None
        self.deliverer = Deliverer(sessions=sessions, settings=settings, metrics=metrics)

    async def tick(self) -> None:
        await self.deliverer.drain()

    async def close(self) -> None:
        await self.deliverer.close()
