"""The event bus: publish events on named channels, subscribe by glob pattern, replay.

Two implementations behind one protocol: ``MemoryBus`` (one process, the default) and
``RedisBus`` (several replicas; pub/sub for fan-out, a capped stream per durable channel).
"""

from agentdeck.bus.base import Bus, BusClosed, BusOverflow, Event, Subscription

__all__ = ["Bus", "BusClosed", "BusOverflow", "Event", "Subscription"]
