"""The WebSocket hub: authenticates connections, routes bus events to their subscriptions.

One bus subscription per process (``tenant:*``) feeds every local connection; with the Redis
bus, events published on any replica reach clients connected to any other.

A connection is authenticated once, by its first message, and lives no longer than its
credential: it is closed (``CLOSE_ACCESS_ENDED``) when the token or key expires, and when a
change of access announced on any replica (a revoked key, a deactivated user, a changed role or
membership: see ``identity.principal_cache``) leaves its principal without access, or with a
role that no longer reads one of its channels.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

from agentdeck.agents.models import Agent
from agentdeck.bus.base import Bus, BusOverflow, Event
from agentdeck.bus.consumer import BusConsumer
from agentdeck.errors import DomainError
from agentdeck.identity.principal import Principal
from agentdeck.logs.schemas import Row, row_record
from agentdeck.logstore import logql
from agentdeck.logstore.base import LogQuery, LogQueryError
from agentdeck.realtime.access import AccessWatch
from agentdeck.realtime.connection import ChannelSubscription, Connection
from agentdeck.realtime.log_history import LogHistory, log_snapshot
from agentdeck.realtime.metric_routes import MetricRoutes
from agentdeck.realtime.origins import Origins
from agentdeck.realtime.protocol import (
    CHANNEL_ROLES,
    CLIENT_MESSAGE,
    CLOSE_CONNECTION_LIMIT,
    CLOSE_GOING_AWAY,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHENTICATED,
    TENANT_PATTERN,
    AuthMessage,
    ChannelRef,
    InvalidChannel,
    MetricsFilter,
    PingMessage,
    ResumeMessage,
    SubscribeMessage,
    UnsubscribeMessage,
    close_reason,
    error_frame,
    event_frame,
    parse_channel,
    series_key,
    split_internal,
    validation_text,
)
from agentdeck.settings import RealtimeSettings

log = structlog.get_logger(__name__)

#: The principal of a credential and when the credential expires (None: never); raises a 401
#: DomainError for a bad one.
Authenticator = Callable[[AsyncSession, str], Awaitable[tuple[Principal, datetime | None]]]
SnapshotProvider = Callable[[Principal, ChannelRef], Awaitable[dict[str, Any]]]
METRICS_CACHE_SERIES = 10_000  # latest sample per series kept per tenant, for snapshots
SNAPSHOT_RECENT_EVENTS = 20


async def publish_event(
    bus: Bus, tenant_id: uuid.UUID | str, channel: str, data: dict[str, Any]
) -> int:
    """Publish on a tenant's channel (``metrics``, ``alerts``, ``deployments``, ``fleet``,
    ``agent:<id>``); returns the event's seq. Metric events carry ``{"samples": [{"metric",
    "labels", "value", "ts", "agent_id"}]}``."""
    return await bus.publish(parse_channel(channel).internal(tenant_id), data)


class Hub:
    def __init__(
        self,
        *,
        bus: Bus,
        settings: RealtimeSettings,
        sessions: async_sessionmaker[AsyncSession],
        authenticate: Authenticator,
        cors_origins: list[str],
        clock: Callable[[], float] = time.monotonic,
        tail_lines: int = 1000,
        tail_frame_lines: int = 200,
        on_tail_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.bus = bus
        self.tail_lines = tail_lines  # lines a live-tail subscription buffers at most
        self.tail_frame_lines = tail_frame_lines
        self._on_tail_dropped = on_tail_dropped
        self.clock = clock  # seconds; paces metric frames (tests pass their own)
        self.settings = settings
        self.sessions = sessions
        self.authenticate = authenticate
        self.cors_origins = cors_origins
        self._origins = Origins(cors_origins)
        self.snapshot_providers: dict[str, SnapshotProvider] = {}
        self.log_history: LogHistory | None = None  # replays ``since`` on ``logs``
        self._by_user: dict[str, set[Connection]] = defaultdict(set)
        self._by_channel: dict[str, dict[Connection, ChannelSubscription]] = defaultdict(dict)
        self._latest: dict[str, OrderedDict[str, dict[str, Any]]] = defaultdict(OrderedDict)
        self._last_seq: dict[str, int] = {}
        self._routes: dict[str, MetricRoutes] = {}  # by metrics channel; rebuilt on change
        self._access_changes = 0  # announcements heard (a connection opening checks it)
        self._access = AccessWatch(sessions)
        self._consumer = BusConsumer(
            bus, TENANT_PATTERN, on_event=self.dispatch, on_overflow=self._overflowed, name="ws-hub"
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        connections = [c for group in self._by_user.values() for c in group]
        for connection in connections:
            connection.request_close(CLOSE_GOING_AWAY, "server shutting down")
        await self._access.stop()
        await self._consumer.stop()

    def tail_dropped(self, lines: int) -> None:
        """A live-tail subscription dropped ``lines`` (counted in ``/metrics``)."""
        if self._on_tail_dropped is not None:
            self._on_tail_dropped(lines)

    def register_snapshot(self, kind: str, provider: SnapshotProvider) -> None:
        """Let another module add to the ``snapshot`` of a channel kind (e.g. ``fleet``)."""
        self.snapshot_providers[kind] = provider

    def connection_count(self, principal_key: str | None = None) -> int:
        if principal_key is not None:
            return len(self._by_user.get(principal_key, ()))
        return sum(len(group) for group in self._by_user.values())

    # --- events from the bus -------------------------------------------------------------

    def _overflowed(self, exc: BusOverflow) -> None:
        log.warning("hub fell behind the bus", dropped=exc.dropped)
        self._lost_events()

    def dispatch(self, event: Event) -> None:
        scoped = split_internal(event.channel)
        if scoped is None:
            return
        tenant, name = scoped
        self._last_seq[event.channel] = event.seq
        if name == "metrics":
            self._dispatch_metrics(tenant, event)
            return
        if name == "logs":
            self._dispatch_logs(tenant, event)
            return
        for connection, subscription in list(self._by_channel.get(event.channel, {}).items()):
            connection.deliver(subscription, event)

    def _dispatch_metrics(self, tenant: str, event: Event) -> None:
        """Each sample's series key is computed once, and goes only to the subscriptions whose
        filter takes it: those filtered by agent are found through an index by agent, so an
        event costs O(samples + matches), not O(samples × subscriptions)."""
        samples = event.data.get("samples")
        if not isinstance(samples, list):
            return
        keyed = [(series_key(s), s) for s in samples if isinstance(s, dict)]
        cache = self._latest[tenant]
        for key, sample in keyed:
            cache[key] = sample
            cache.move_to_end(key)
        while len(cache) > METRICS_CACHE_SERIES:
            cache.popitem(last=False)
        subscribers = self._by_channel.get(event.channel)
        if not subscribers:
            return
        routes = self._routes.get(event.channel)
        if routes is None:
            routes = self._routes[event.channel] = MetricRoutes(subscribers)
        matched = routes.match(keyed)
        for subscription, connection in routes.connections.items():
            if subscription.held is not None:
                connection.deliver(subscription, event)  # filtered again on release
            elif subscription in matched:
                connection.deliver_samples(subscription, event, matched[subscription])

    def _dispatch_logs(self, tenant: str, event: Event) -> None:
        """Each subscription gets the lines its query matches; a line is turned into a record
        (for matching) once per event, whatever the number of subscriptions."""
        subscribers = self._by_channel.get(event.channel)
        if not subscribers:
            return
        rows = event.data.get("lines")
        if not isinstance(rows, list):
            return
        records = None
        for connection, subscription in list(subscribers.items()):
            if subscription.held is not None:
                connection.deliver(subscription, event)  # filtered on release
                continue
            query = subscription.log_query
            matched: list[Row]
            if query is None:
                matched = rows
            else:
                if records is None:
                    try:
                        tenant_id = uuid.UUID(tenant)
                        records = [row_record(tenant_id, row) for row in rows]
                    except (ValueError, TypeError, IndexError, KeyError):
                        log.warning("logs event with malformed lines", channel=event.channel)
                        return
                matched = [
                    row
                    for row, record in zip(rows, records, strict=True)
                    if logql.matches(query, record)
                ]
            connection.deliver_lines(subscription, event, matched)

    def _lost_events(self) -> None:
        """Events were dropped before reaching connections: those that must not miss any
        reconnect and resume."""
        for subscriptions in self._by_channel.values():
            for connection, subscription in subscriptions.items():
                if subscription.ref.durable:
                    connection.request_close(
                        CLOSE_SLOW_CONSUMER, "events were lost: reconnect and resume"
                    )

    # --- changes of access ---------------------------------------------------------------

    def access_changed(self, subject: str | None) -> None:
        """A change of access was announced (on any replica): re-check the connections of
        ``subject`` (a principal's ``rate_key``), or all of them for None."""
        self._access_changes += 1
        if subject is None:
            connections = [c for group in self._by_user.values() for c in group]
        else:
            connections = list(self._by_user.get(subject, ()))
        if connections:
            self._access.recheck_soon(connections)

    # --- connections ---------------------------------------------------------------------

    def origin_allowed(self, websocket: WebSocket) -> bool:
        """See :meth:`~.origins.Origins.allow`."""
        return self._origins.allow(websocket)

    async def serve(self, websocket: WebSocket) -> None:
        if not self.origin_allowed(websocket):
            await websocket.close(code=1008)  # before accept: the handshake gets a 403
            return
        await websocket.accept()
        changes = self._access_changes
        authenticated = await self._authenticate(websocket)
        if authenticated is None:
            return
        principal, expires_at = authenticated
        key = principal.rate_key
        cap = self.settings.max_connections_per_user
        if len(self._by_user[key]) >= cap:
            await websocket.close(
                code=CLOSE_CONNECTION_LIMIT,
                reason=f"connection limit reached: at most {cap} per user",
            )
            return
        connection = Connection(
            self, websocket, principal, self.settings.send_queue_size, expires_at
        )
        self._by_user[key].add(connection)
        if changes != self._access_changes:
            # access changed while the credential was being checked: check it again
            self._access.recheck_soon([connection])
        try:
            connection.send(
                {
                    "type": "connected",
                    "tenant_id": str(principal.tenant_id),
                    "role": principal.role.value,
                    "heartbeat_seconds": self.settings.heartbeat_seconds,
                    "at": datetime.now(UTC).isoformat(),
                }
            )
            await connection.run()
        finally:
            self._by_user[key].discard(connection)
            if not self._by_user[key]:
                del self._by_user[key]
            for internal in list(connection.subscriptions):
                self._detach(connection, internal)

    async def _authenticate(self, websocket: WebSocket) -> tuple[Principal, datetime | None] | None:
        async def fail(reason: str) -> None:
            await websocket.close(code=CLOSE_UNAUTHENTICATED, reason=close_reason(reason))

        try:
            message = await asyncio.wait_for(
                websocket.receive(), self.settings.auth_timeout_seconds
            )
        except TimeoutError:
            await fail("authentication timeout: send {type: auth, token} first")
            return None
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        try:
            auth = AuthMessage.model_validate_json(message.get("text") or "")
        except ValidationError:
            await fail("the first message must be {type: auth, token}")
            return None
        try:
            async with self.sessions() as session:
                return await self.authenticate(session, auth.token)
        except DomainError as exc:
            await fail(f"authentication failed: {exc.detail}")
            return None

    # --- client messages -----------------------------------------------------------------

    async def handle(self, connection: Connection, text: str) -> None:
        try:
            message = CLIENT_MESSAGE.validate_json(text)
        except ValidationError as exc:
            connection.enqueue(error_frame("invalid-message", validation_text(exc)))
            return
        if connection.closing:
            return  # its access may have ended: nothing more is done for it
        if isinstance(message, PingMessage):
            connection.send({"type": "pong", "id": message.id})
        elif isinstance(message, SubscribeMessage | ResumeMessage):
            resume = message.last_seq if isinstance(message, ResumeMessage) else None
            since = message.since if isinstance(message, SubscribeMessage) else None
            await self._attach(
                connection,
                message.channel,
                message.filter,
                message.interval,
                resume,
                query=message.query,
                since=since,
            )
        elif isinstance(message, UnsubscribeMessage):
            await self._unsubscribe(connection, message.channel)
        else:
            connection.enqueue(error_frame("invalid-message", "already authenticated"))

    async def _channel(self, connection: Connection, name: str) -> ChannelRef | None:
        try:
            ref = parse_channel(name)
        except InvalidChannel as exc:
            connection.enqueue(error_frame("unknown-channel", str(exc), name))
            return None
        principal = connection.principal
        needed = CHANNEL_ROLES[ref.kind]
        if not principal.role.allows(needed):
            connection.enqueue(
                error_frame("forbidden", f"{name} needs the {needed.value} role", name)
            )
            return None
        if ref.agent_id is not None:
            async with self.sessions() as session:
                found = await session.scalar(
                    select(Agent.id).where(
                        Agent.id == ref.agent_id, Agent.tenant_id == principal.tenant_id
                    )
                )
            if found is None:
                detail = f"agent {ref.agent_id} not found"
                connection.enqueue(error_frame("not-found", detail, name))
                return None
        return ref

    async def _attach(
        self,
        connection: Connection,
        name: str,
        flt: MetricsFilter | None,
        interval: float | None,
        resume_after: int | None = None,
        *,
        query: str | None = None,
        since: int | None = None,
    ) -> None:
        ref = await self._channel(connection, name)
        if ref is None or connection.closing:
            return
        log_query: LogQuery | None = None
        if ref.kind == "logs" and query and query.strip():
            try:
                log_query = logql.parse(query)
            except LogQueryError as exc:
                where = f" at position {exc.position}" if exc.position is not None else ""
                connection.enqueue(error_frame("invalid-query", f"{exc}{where}", ref.name))
                return
        internal = ref.internal(connection.principal.tenant_id)
        if internal in connection.subscriptions:
            self._detach(connection, internal)
        subscription = ChannelSubscription(
            ref=ref,
            internal=internal,
            filter=flt,
            interval=interval or self.settings.metrics_refresh_seconds,
            log_query=log_query,
            since_ns=since if ref.kind == "logs" else None,
        )
        connection.subscriptions[internal] = subscription
        self._by_channel[internal][connection] = subscription  # live events are held
        self._routes.pop(internal, None)
        if resume_after is not None and ref.durable:
            await self._replay(connection, subscription, resume_after)
        else:
            await self._snapshot(connection, subscription)
        connection.release(subscription)

    async def _replay(
        self, connection: Connection, subscription: ChannelSubscription, after: int
    ) -> None:
        events = await self.bus.replay(subscription.internal, after)
        latest = self._last_seq.get(subscription.internal, 0)
        first = events[0].seq if events else latest + 1
        if first > after + 1:
            connection.enqueue(
                error_frame(
                    "replay-incomplete",
                    f"events {after + 1}..{first - 1} are no longer buffered",
                    subscription.ref.name,
                )
            )
        subscription.last_seq = after
        for event in events:
            # the reader waits for room here: a replay is never cut short by the queue bound
            await connection.queue.put(
                event_frame(subscription.ref.name, event.seq, event.data, event.at.isoformat())
            )
            subscription.last_seq = event.seq

    async def _snapshot(self, connection: Connection, subscription: ChannelSubscription) -> None:
        ref, tenant = subscription.ref, str(connection.principal.tenant_id)
        data: dict[str, Any]
        if ref.kind == "metrics":
            flt = subscription.filter
            cache = self._latest.get(tenant)
            latest = list(cache.values()) if cache else []
            data = {"samples": [s for s in latest if flt is None or flt.matches(s)]}
            seq = self._last_seq.get(subscription.internal, 0)
        elif ref.kind == "logs":
            data = await log_snapshot(self.log_history, connection, subscription)
            seq = self._last_seq.get(subscription.internal, 0)
        else:
            recent = (await self.bus.replay(subscription.internal, 0))[-SNAPSHOT_RECENT_EVENTS:]
            data = {
                "recent": [{"seq": e.seq, "data": e.data, "at": e.at.isoformat()} for e in recent]
            }
            seq = max(recent[-1].seq if recent else 0, self._last_seq.get(subscription.internal, 0))
        provider = self.snapshot_providers.get(ref.kind)
        if provider is not None:
            data.update(await provider(connection.principal, ref))
        subscription.last_seq = seq
        connection.send({"type": "snapshot", "channel": ref.name, "seq": seq, "data": data})

    async def _unsubscribe(self, connection: Connection, name: str) -> None:
        try:
            ref = parse_channel(name)
        except InvalidChannel as exc:
            connection.enqueue(error_frame("unknown-channel", str(exc), name))
            return
        internal = ref.internal(connection.principal.tenant_id)
        if internal not in connection.subscriptions:
            connection.enqueue(error_frame("not-subscribed", f"not subscribed to {name}", name))
            return
        self._detach(connection, internal)
        connection.send({"type": "unsubscribed", "channel": ref.name})

    def _detach(self, connection: Connection, internal: str) -> None:
        subscription = connection.subscriptions.pop(internal, None)
        if subscription is not None:
            connection.drop(subscription)
        self._routes.pop(internal, None)
        subscribers = self._by_channel.get(internal)
        if subscribers is not None:
            subscribers.pop(connection, None)
            if not subscribers:
                del self._by_channel[internal]
