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

An announcement names the principal whose access changed (its ``subject``, the
:attr:`Principal.rate_key` such as ``api_key:<id>`` or ``user:<id>``) when there is one, and
every listener (:meth:`Invalidations.listen`; the WebSocket hub re-checks its open connections)
hears it on every replica; ``None`` means anyone's access may have changed.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from agentdeck.bus.base import Bus, Event
from agentdeck.bus.consumer import BusConsumer
from agentdeck.identity.principal import Principal

log = structlog.get_logger(__name__)

#: Bus channel of invalidations (outside ``tenant:*``: the hub's event consumer never sees it).
AUTH_CHANNEL = "identity:principals:invalidate"

#: Hears that access changed: the subject (a principal's ``rate_key``), None for anyone.
AccessListener = Callable[[str | None], None]


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
    """Carries :meth:`PrincipalCache.invalidate` to the other replicas over the bus, and tells
    the listeners of every replica whose access changed."""

    def __init__(self, cache: PrincipalCache, bus: Bus) -> None:
        self.cache = cache
        self.bus = bus
        self._listeners: list[AccessListener] = []
        # An overflow means some were lost: invalidating once (for anyone) covers them all.
        self._consumer = BusConsumer(
            bus,
            AUTH_CHANNEL,
            on_event=self._heard,
            on_overflow=lambda _: self._changed(None),
            name="auth-cache",
        )

    def listen(self, listener: AccessListener) -> None:
        """Call ``listener`` on every change of access announced on any replica."""
        self._listeners.append(listener)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def announce(self, subject: str | None = None) -> None:
        """Invalidate here at once, then on every replica listening on the bus. ``subject``
        is the ``rate_key`` of the principal whose access changed (None: anyone's)."""
        self.cache.invalidate()
        data: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "subject": subject}
        try:
            await self.bus.publish(AUTH_CHANNEL, data)
        except Exception as exc:  # a bus failure must not fail the committed change
            # the other replicas fall back to the cache's short TTL
            log.warning("principal cache invalidation not announced", error=repr(exc))
            self._notify(subject)  # this replica's listeners still hear it

    def _heard(self, event: Event) -> None:
        subject = event.data.get("subject")
        self._changed(subject if isinstance(subject, str) else None)

    def _changed(self, subject: str | None) -> None:
        self.cache.invalidate()
        self._notify(subject)

    def _notify(self, subject: str | None) -> None:
        for listener in self._listeners:
            try:
                listener(subject)
            except Exception as exc:  # one listener's failure must not silence the others
                log.error("access listener failed", error=repr(exc))
