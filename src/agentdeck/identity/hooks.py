"""What other domains do when identity creates a tenant, without identity knowing them.

A domain registers a listener from the composition root (``app.hooks.wire_domain_hooks``);
identity calls :func:`tenant_created` in the transaction that created the tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

TenantListener = Callable[[AsyncSession, uuid.UUID], Awaitable[object]]

_tenant_created: list[TenantListener] = []


def on_tenant_created(listener: TenantListener) -> None:
    """Run ``listener(session, tenant_id)`` for every tenant created (registered once)."""
    if listener not in _tenant_created:
        _tenant_created.append(listener)


async def tenant_created(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Tell the listeners; they flush in the caller's transaction, which commits."""
    for listener in list(_tenant_created):
        await listener(session, tenant_id)
