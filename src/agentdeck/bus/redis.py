"""The Redis bus: pub/sub for fan-out across replicas, a capped stream per durable channel.

One Lua script per publish increments the channel's sequence number, appends the event to the
channel's stream when the channel is durable (``MAXLEN`` = ``replay_size``) and publishes it,
atomically, so every replica sees the same seq and the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from agentdeck.bus.base import (
    DEFAULT_SUBSCRIBER_QUEUE,
    BusClosed,
    Event,
    Subscription,
    is_durable,
)

log = structlog.get_logger(__name__)

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[3], seq .. '-0', 'e', ARGV[1])
end
redis.call('PUBLISH', KEYS[2], seq .. '|' .. ARGV[1])
return seq
"""

_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")
_RECONNECT_MAX_SECONDS = 5.0


def _encode(data: dict[str, Any], at: datetime) -> bytes:
    # orjson: a metrics event of 200 samples, 20 a second, is the bus's hot path
    return orjson.dumps({"at": at.isoformat(), "data": data}, default=str)


def _decode(channel: str, seq: int, payload: bytes | str) -> Event:
    body = orjson.loads(payload)
    return Event(channel=channel, seq=seq, data=body["data"], at=datetime.fromisoformat(body["at"]))


class RedisBus:
    """Several replicas share one Redis. Keys and channels live under ``prefix``."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "agentdeck:bus:",
        replay_size: int = 100,
        durable: Sequence[str] = (),
    ) -> None:
        self._redis = client
        self.prefix = prefix
        self.replay_size = replay_size
        self.durable = tuple(durable)
        self._script = client.register_script(_PUBLISH)
        self._subscriptions: set[_RedisSubscription] = set()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisBus:
        return cls(Redis.from_url(url), **kwargs)

    def _pubsub_channel(self, channel: str) -> str:
        return f"{self.prefix}ch:{channel}"

    def _stream_key(self, channel: str) -> str:
        return f"{self.prefix}stream:{channel}"

    async def publish(self, channel: str, data: dict[str, Any]) -> int:
        if self._closed:
            raise BusClosed("the bus is closed")
        durable = is_durable(channel, self.durable)
        seq = await self._script(
            keys=[
                f"{self.prefix}seq:{channel}",
                self._pubsub_channel(channel),
                self._stream_key(channel),
            ],
            args=[_encode(data, datetime.now(UTC)), "1" if durable else "0", self.replay_size],
        )
        return int(seq)

    async def subscribe(
        self, pattern: str, *, maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> Subscription:
        if self._closed:
            raise BusClosed("the bus is closed")
        escaped_prefix = _GLOB_SPECIAL.sub(r"\\\1", f"{self.prefix}ch:")
        subscription = _RedisSubscription(
            self, pattern, maxsize, self._redis.pubsub(), escaped_prefix + pattern
        )
        await subscription._start()
        self._subscriptions.add(subscription)
        return subscription

    async def replay(self, channel: str, after_seq: int) -> list[Event]:
        if not is_durable(channel, self.durable):
            return []
        entries: list[tuple[bytes, dict[bytes, bytes]]] = cast(
            Any, await self._redis.xrange(self._stream_key(channel), f"{after_seq + 1}-0", "+")
        )
        events = []
        for entry_id, fields in entries:
            seq = int(entry_id.split(b"-", 1)[0])
            events.append(_decode(channel, seq, fields[b"e"]))
        return events

    async def ping(self) -> None:
        """Fail early (at startup) when Redis is unreachable."""
        await self._redis.ping()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        await self._redis.aclose()

    def _forget(self, subscription: _RedisSubscription) -> None:
        self._subscriptions.discard(subscription)


class _RedisSubscription(Subscription):
    def __init__(
        self, bus: RedisBus, pattern: str, maxsize: int, pubsub: PubSub, redis_pattern: str
    ) -> None:
        super().__init__(pattern, maxsize)
        self._bus = bus
        self._pubsub = pubsub
        self._redis_pattern = redis_pattern
        self._strip = len(bus._pubsub_channel(""))
        self._task: asyncio.Task[None] | None = None

    async def _start(self) -> None:
        await self._pubsub.psubscribe(self._redis_pattern)
        # wait for the confirmation, so events published after subscribe() returns arrive
        while True:
            message = await self._pubsub.get_message(timeout=5.0)
            if message is None:
                raise BusClosed("Redis did not confirm the subscription")
            if message["type"] == "psubscribe":
                break
        self._task = asyncio.create_task(self._read(), name=f"bus-sub:{self.pattern}")

    async def _read(self) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
                backoff = 0.1
            except (RedisError, OSError) as exc:
                # redis-py resubscribes on reconnect; what was published meanwhile is lost
                log.warning("bus subscription interrupted", error=str(exc))
                self._dropped += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _RECONNECT_MAX_SECONDS)
                continue
            if message is None or message["type"] != "pmessage":
                continue
            raw: bytes = message["data"]
            seq, _, payload = raw.partition(b"|")
            channel = message["channel"].decode()[self._strip :]
            self._deliver(_decode(channel, int(seq), payload))

    async def aclose(self) -> None:
        self._bus._forget(self)
        self._end()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
