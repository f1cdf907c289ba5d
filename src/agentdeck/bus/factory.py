"""Opens the configured bus: Redis when ``redis_url`` is set, otherwise in-process."""

from __future__ import annotations

from collections.abc import Sequence

from agentdeck.bus.base import Bus
from agentdeck.settings import Settings


async def open_bus(
    settings: Settings, *, durable: Sequence[str] = (), prefix: str = "agentdeck:bus:"
) -> Bus:
    """``durable``: glob patterns of the channels whose last events are kept for replay."""
    replay_size = settings.realtime.replay_buffer
    if settings.redis_url:
        from agentdeck.bus.redis import RedisBus

        bus = RedisBus.from_url(
            settings.redis_url, prefix=prefix, replay_size=replay_size, durable=durable
        )
        try:
            await bus.ping()  # fail at startup, not at the first publish
        except BaseException:
            await bus.close()
            raise
        return bus
    from agentdeck.bus.memory import MemoryBus

    return MemoryBus(replay_size=replay_size, durable=durable)
