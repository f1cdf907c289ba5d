"""Open WebSockets live no longer than their access: re-checked when a change of access is
announced (a revoked key, a deactivated user, a changed role or membership)."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.identity.service import Access, current_access
from agentdeck.realtime.connection import Connection
from agentdeck.realtime.protocol import CHANNEL_ROLES, CLOSE_ACCESS_ENDED

log = structlog.get_logger(__name__)


class AccessWatch:
    """Re-checks of connections' access, each in its own task (stopped with the hub)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._rechecks: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        for task in list(self._rechecks):
            task.cancel()
        await asyncio.gather(*self._rechecks, return_exceptions=True)

    def recheck_soon(self, connections: list[Connection]) -> None:
        """Re-check the access of ``connections`` in the background."""
        task = asyncio.create_task(self._recheck(connections), name="ws-access-recheck")
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)

    async def _recheck(self, connections: list[Connection]) -> None:
        try:
            async with self.sessions() as session:
                access = await current_access(session, {c.principal for c in connections})
        except Exception as exc:
            # access may be gone and cannot be confirmed: reconnecting authenticates afresh
            log.warning("websocket access re-check failed", error=repr(exc))
            for connection in connections:
                connection.request_close(CLOSE_ACCESS_ENDED, "access could not be re-checked")
            return
        for connection in connections:
            found = access.get(connection.principal)
            if found is not None:
                apply_access(connection, found)


def apply_access(connection: Connection, access: Access) -> None:
    """Close a connection whose access ended, or whose new role no longer reads one of its
    channels; otherwise it goes on with the new role."""
    principal = access.principal
    if principal is None:
        connection.request_close(CLOSE_ACCESS_ENDED, f"access withdrawn: {access.reason}")
        return
    if principal.role == connection.principal.role:
        return
    connection.principal = principal  # later subscriptions are checked against the new role
    for subscription in connection.subscriptions.values():
        needed = CHANNEL_ROLES[subscription.ref.kind]
        if not principal.role.allows(needed):
            connection.request_close(
                CLOSE_ACCESS_ENDED,
                f"the role changed to {principal.role.value}: "
                f"{subscription.ref.name} needs {needed.value}",
            )
            return
