"""A short-lived cache of the principals of API keys.

Looking a key up costs a database round trip per request (most of a cheap request's time),
and a busy key (an agent, a dashboard, a script polling the API) is presented many times a
second. Entries are keyed by a SHA-256 digest of the presented key (never the key itself),
live at most ``ttl`` seconds and never past the key's own expiry, and the cache holds at most
``size`` of them (the oldest go first). Unknown or refused keys are never cached.

Changes that may withdraw access (revoking a key; changing or deactivating a user, should a
key's access ever depend on its creator) call :meth:`PrincipalCache.invalidate` after their
commit: the whole cache is emptied (such changes are rare) and its generation moves on, so a
lookup that read the database before the change cannot store its stale result afterwards.
:class:`Invalidations` announces the same on the bus (``AUTH_CHANNEL``), so every replica
sharing a Redis bus drops its entries at once. Changes made behind the server's back (directly
in the database) take effect within ``ttl``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from agentdeck.bus.base import Bus
from agentdeck.bus.consumer import BusConsumer
from agentdeck.identity.principal import Principal

log = structlog.get_logger(__name__)

#: Bus channel of invalidations (outside ``tenant:*``: the WebSocket hub never sees it).
AUTH_CHANNEL = "identity:principals:invalidate"


def credential_digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()


class PrincipalCache:
    """Principals by credential digest, each until its deadline (see the module docstring)."""

    def __init__(
        self, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self.generation = 0
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.size > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[digest]
            return None
        return entry[1]

    def put(
        self,
        digest: bytes,
        principal: Principal,
        *,
        generation: int,
        expires_at: datetime | None = None,
    ) -> None:
        """Remember ``principal`` unless access changed since ``generation`` was read (the
        lookup may have seen the state before the change) or the cache is off."""
        if generation != self.generation or not self.enabled:
            return
        now = self.clock()
        deadline = now + self.ttl
        if expires_at is not None:
            left = (expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return
            deadline = min(deadline, now + left)
        entries = self._entries
        entries[digest] = (deadline, principal)
        entries.move_to_end(digest)
        while len(entries) > self.size:
            entries.popitem(last=False)

    def invalidate(self) -> None:
        """Forget every principal: access may have been withdrawn."""
        self.generation += 1
        self._entries.clear()


class Invalidations:
    """Carries :meth:`PrincipalCache.invalidate` to the other replicas over the bus."""

    def __init__(self, cache: PrincipalCache, bus: Bus) -> None:
        self.cache = cache
        self.bus = bus
        # An overflow means some were lost: invalidating once covers them all.
        self._consumer = BusConsumer(
            bus,
            AUTH_CHANNEL,
            on_event=lambda _: cache.invalidate(),
            on_overflow=lambda _: cache.invalidate(),
            name="auth-cache",
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def announce(self) -> None:
        """Invalidate here at once, then on every replica listening on the bus."""
        self.cache.invalidate()
        try:
            await self.bus.publish(AUTH_CHANNEL, {"at": datetime.now(UTC).isoformat()})
        except Exception as exc:  # a bus failure must not fail the committed change
            # the other replicas fall back to the cache's short TTL
            log.warning("principal cache invalidation not announced", error=repr(exc))
