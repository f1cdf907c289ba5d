"""The delivery worker: claims due outbox rows, sends each channel's rows in its own lane, logs
every attempt.

Claims are row locks in the state database, not a lease: every replica runs the worker, and one
``UPDATE ... RETURNING`` moves due rows to ``sending`` with ``locked_until`` = now +
``claim_seconds`` and ``locked_by`` = this worker, so no two replicas send the same row. A
worker that dies mid-send leaves its rows ``sending``; when ``locked_until`` passes any worker
claims them again (at-least-once). Outcomes are written only where ``locked_by`` is still this
worker (:mod:`agentdeck.notify.recorder`).

**Lanes.** Every claimed row is sent by a task of its own in its channel's lane
(:mod:`agentdeck.notify.lanes`): at most ``notify.channel_concurrency`` sends in flight per
channel, ``notify.concurrency`` in all; the loop's tick only claims and starts sends and never
waits for them. So an endpoint that hangs until the timeout holds its own lane and nothing else:
other channels' rows are claimed and sent at the next tick (at once when the dispatcher wakes
the loop). A claim takes per channel only its lane's room, and a lane holds only as many rows as
it can start before their claim ends even if every send takes the whole timeout; a row whose
claim would end before its send could time out is put back unsent (``released``, no attempt
counted), so no claim expires under a send and no two replicas send one row at once.

**Stop.** Sends in flight get ``notify.shutdown_grace_seconds`` to finish; the rest are
cancelled and their rows put back to ``pending``, due at once and with no attempt counted, so the
next worker sends them without waiting for the claim to expire.

A failed attempt is retried after a full-jitter exponential backoff (``uniform(0, min(max,
base * 2**(attempt-1)))``, at least what a ``Retry-After`` asked for); a rejection (4xx other than
408/425/429) or the last allowed attempt dead-letters the row. Rows over a channel's rate limit
are put back with a later ``next_attempt_at`` and no attempt counted. Sending and judging one row:
:mod:`agentdeck.notify.sending`; writing outcomes: :mod:`agentdeck.notify.recorder`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.db.base import utcnow
from agentdeck.loops.base import Loop
from agentdeck.loops.lease import new_holder_id
from agentdeck.notify.channels.base import describe
from agentdeck.notify.lanes import Lanes
from agentdeck.notify.models import NotificationChannel, NotificationOutbox, OutboxStatus
from agentdeck.notify.ratelimit import ChannelLimits, RedisChannelLimits
from agentdeck.notify.recorder import DeliveryMetrics, NotRecorded, Outcome, Recorder
from agentdeck.notify.sending import Sender, backoff_seconds
from agentdeck.settings import Settings

__all__ = ["DeliveryLoop", "DeliveryMetrics", "Deliverer", "Outcome", "backoff_seconds"]

log = structlog.get_logger(__name__)

#: Longest a tick keeps claiming before yielding to the runner.
TICK_BUDGET_SECONDS = 20.0
#: a claimed outbox row with its channel, ready to send
Loaded = tuple[NotificationOutbox, NotificationChannel]


def _due(now: Any) -> Any:
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
        on_room: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.config = config = settings.notify
        self.holder = holder or f"notify:{new_holder_id()}"
        self.rng = rng or random.Random()
        self.sender = Sender(settings, rng=self.rng, metrics=metrics)
        self.limits = limits or _limits(settings)
        self.recorder = Recorder(sessions=sessions, holder=self.holder, metrics=metrics)
        #: ``on_room`` is called when a lane (or the worker) that was full has room again
        self.lanes = Lanes(config, on_room)
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._closed = False

    # --- claim -----------------------------------------------------------------------------

    async def claim(
        self, *, only: Sequence[uuid.UUID] | None = None, any_channel: bool = False
    ) -> list[uuid.UUID]:
        """Lock due rows of enabled channels to this worker, within the lanes' room; their ids."""
        ids, _, _ = await self._claim(only=only, any_channel=any_channel)
        return ids

    async def _claim(
        self,
        *,
        only: Sequence[uuid.UUID] | None = None,
        any_channel: bool = False,
        load: bool = False,
    ) -> tuple[list[uuid.UUID], int, list[Loaded] | None]:
        """The claimed ids, how many were asked for, and with ``load`` on PostgreSQL the claimed
        rows with their channels, returned by the claiming ``UPDATE … FROM`` itself (SQLite's
        ``RETURNING`` cannot name the joined table: ``None``, :meth:`_start` loads them)."""
        if self.lanes.stopping:
            return [], 0, None
        now = utcnow()
        until = time.monotonic() + self.config.claim_seconds
        candidates = (
            select(NotificationOutbox.id)
            .join(NotificationChannel, NotificationChannel.id == NotificationOutbox.channel_id)
            .where(_due(now))
        )
        if not any_channel:
            candidates = candidates.where(NotificationChannel.enabled.is_(True))
        room = None
        if only is not None:
            limit = self.config.batch_size
            candidates = candidates.where(NotificationOutbox.id.in_(list(only)))
        else:
            limit = self.lanes.limit(self.config.batch_size)
            if limit == 0:
                return [], 0, None
            exhausted = self.limits.exhausted()
            if exhausted:
                candidates = candidates.where(NotificationOutbox.channel_id.not_in(exhausted))
            room = self.lanes.room()
            candidates = self.lanes.restrict(candidates, room)
        candidates = (
            candidates.order_by(NotificationOutbox.next_attempt_at)
            .limit(limit)
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
            .execution_options(synchronize_session=False)
        )
        loaded: list[Loaded] | None = None
        async with self.sessions() as session:
            if load and session.get_bind().dialect.name == "postgresql":
                # one round trip: claim, and return the rows with their channels to send
                joined = stmt.where(NotificationChannel.id == NotificationOutbox.channel_id)
                result = await session.execute(
                    joined.returning(NotificationOutbox, NotificationChannel)
                )
                loaded = [(row, channel) for row, channel in result]
                session.expunge_all()
                claimed = [(row.id, row.channel_id) for row, _ in loaded]
            else:
                returned = await session.execute(
                    stmt.returning(NotificationOutbox.id, NotificationOutbox.channel_id)
                )
                claimed = [(row[0], row[1]) for row in returned]
            await session.commit()
        self.lanes.hold(
            claimed, until=until, room=room, limit=limit, batch_size=self.config.batch_size
        )
        return [outbox_id for outbox_id, _ in claimed], limit, loaded

    # --- send ------------------------------------------------------------------------------

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
        result = await self.sender.send(row, channel)
        took = time.perf_counter() - started
        self.lanes.paced(channel.id, took)
        return self.sender.outcome(row, result, took * 1000.0)

    async def _run(
        self, row: NotificationOutbox, channel: NotificationChannel, limited: bool
    ) -> Outcome:
        """Send one claimed row in its channel's lane and record the outcome."""
        try:
            async with self.lanes.slots(row.id), self._semaphore:
                if self.lanes.may_start(row.id):
                    outcome = await self._one(row, channel, limited)
                else:  # sent now, it could outlast its claim: back to the queue unsent
                    outcome = Outcome(row, "released", OutboxStatus.pending, row.attempts, utcnow())
        finally:
            self.lanes.sent(row.id)
        outcome.kind = channel.kind.value
        try:
            await self.recorder.write(outcome)  # cancelled (at stop): put back by stop()
        except NotRecorded:
            self.lanes.recorded(row.id)  # the claim expires and the row is sent again
            raise
        self.lanes.recorded(row.id)
        return outcome

    def _finished(self, task: asyncio.Task[Outcome]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, NotRecorded):  # the recorder logged those
            log.error("notification delivery failed", error=describe(exc), exc_info=exc)

    async def _start(
        self, ids: Sequence[uuid.UUID], *, limited: bool = True, loaded: list[Loaded] | None = None
    ) -> list[asyncio.Task[Outcome]]:
        """Load claimed rows (unless the claim returned them: ``loaded``) and start a task per
        row (they run on their own)."""
        if not ids:
            return []
        if loaded is not None:
            return self._spawn(loaded, limited)
        try:
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
        except BaseException:
            for outbox_id in ids:  # the claims expire and the rows are sent again
                self.lanes.recorded(outbox_id)
            raise
        found = {row.id for row, _ in rows}
        for outbox_id in ids:
            if outbox_id not in found:  # another worker took it over
                self.lanes.recorded(outbox_id)
        return self._spawn([(row, channel) for row, channel in rows], limited)

    def _spawn(self, rows: list[Loaded], limited: bool) -> list[asyncio.Task[Outcome]]:
        tasks = []
        for row, channel in rows:
            task = asyncio.create_task(self._run(row, channel, limited), name=f"notify:{row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
            tasks.append(task)
        return tasks

    # --- rounds ----------------------------------------------------------------------------

    async def pump(self, budget_seconds: float = TICK_BUDGET_SECONDS) -> int:
        """Claim due rows while the lanes have room and start sending them; does not wait for
        the sends. The number of rows started."""
        deadline = time.monotonic() + budget_seconds
        total = 0
        while time.monotonic() < deadline:
            ids, asked, loaded = await self._claim(load=True)
            await self._start(ids, loaded=loaded)
            total += len(ids)
            if len(ids) < asked or not ids:
                break  # nothing more is due for the lanes with room
        return total

    async def deliver(self, ids: Sequence[uuid.UUID], *, limited: bool = True) -> list[Outcome]:
        """Send claimed rows and wait until their outcomes are recorded."""
        tasks = await self._start(ids, limited=limited)
        return list(await asyncio.gather(*tasks))

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

    # --- stop ------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Claim no more; let sends in flight finish within the grace period, then cancel the
        rest and put their rows back in the queue, due now, with no attempt counted."""
        self.lanes.stopping = True
        grace = self.config.shutdown_grace_seconds
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace) if grace > 0 else ((), tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.recorder.wait(max(grace, 1.0))
        await self._put_back()

    async def _put_back(self) -> None:
        ids = self.lanes.take_unrecorded()
        if not ids:
            return
        try:
            async with self.sessions() as session:
                result = await session.execute(
                    update(NotificationOutbox)
                    .where(
                        NotificationOutbox.id.in_(ids),
                        NotificationOutbox.locked_by == self.holder,
                        NotificationOutbox.status == OutboxStatus.sending,
                    )
                    .values(
                        status=OutboxStatus.pending,
                        next_attempt_at=utcnow(),
                        locked_until=None,
                        locked_by=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                await session.commit()
        except Exception:
            log.exception("claimed notifications not put back; retried when the claims expire")
            return
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.info("notifications put back in the queue at stop", count=count)
            if self.metrics is not None:
                self.metrics.released.labels(reason="shutdown").inc(count)

    async def close(self) -> None:
        """:meth:`stop`, then close the HTTP client and the rate limits."""
        if self._closed:
            return
        self._closed = True
        await self.stop()
        await self.sender.close()
        await self.limits.close()


class DeliveryLoop(Loop):
    """Delivers due notifications. Not leased: every replica delivers, row claims keep them
    apart. A tick claims and starts sends without waiting for them (see the module docstring)."""

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
        self.deliverer = Deliverer(
            sessions=sessions, settings=settings, metrics=metrics, on_room=self.wake
        )

    async def tick(self) -> None:
        await self.deliverer.pump()

    async def close(self) -> None:
        await self.deliverer.close()
