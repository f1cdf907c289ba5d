"""The check shared by the routing services that store ids of other rows: escalation levels
name receivers, receivers name notification channels. Each id must be one of the tenant's."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from agentdeck.errors import FieldIssue, Invalid

#: An id and its place in the request body (``["body", "channel_ids", 0]``).
Reference = tuple[uuid.UUID, list[str | int]]


async def ensure_known(
    session: AsyncSession,
    *,
    id_column: InstrumentedAttribute[Any],
    tenant_column: InstrumentedAttribute[Any],
    tenant_id: uuid.UUID,
    refs: Iterable[Reference],
    what: str,
    detail: str,
) -> None:
    """422 (``detail``) with an issue (type ``unknown-<what>``) at each reference whose id is not
    one of the tenant's rows; one query for them all."""
    refs = list(refs)
    wanted = {ident for ident, _ in refs}
    if not wanted:
        return
    found = set(
        (
            await session.scalars(
                select(id_column).where(tenant_column == tenant_id, id_column.in_(wanted))
            )
        ).all()
    )
    errors = [
        FieldIssue(loc=loc, message=f"{what} {ident} does not exist", type=f"unknown-{what}")
        for ident, loc in refs
        if ident not in found
    ]
    if errors:
        raise Invalid(detail, errors=errors)
