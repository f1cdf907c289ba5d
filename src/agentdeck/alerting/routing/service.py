"""The tenant's routing tree (one document with a revision, for ETag / If-Match)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import EscalationPolicy, NotificationPolicy, Receiver
from agentdeck.alerting.routing.tree import RoutingTree, referenced_ids
from agentdeck.audit.service import record
from agentdeck.db.base import utcnow
from agentdeck.errors import FieldIssue, Invalid, PreconditionFailed
from agentdeck.identity.principal import Principal


class NotificationPolicyPublic(BaseModel):
    tree: RoutingTree
    revision: int
    updated_at: datetime | None
    updated_by: uuid.UUID | None


def public(row: NotificationPolicy | None) -> NotificationPolicyPublic:
    if row is None:
        return NotificationPolicyPublic(
            tree=RoutingTree(), revision=0, updated_at=None, updated_by=None
        )
    return NotificationPolicyPublic(
        tree=RoutingTree.model_validate(row.tree),
        revision=row.revision,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def get_policy(session: AsyncSession, *, tenant_id: uuid.UUID) -> NotificationPolicy | None:
    """The stored tree, or None: then the default (no receiver, default timings) applies."""
    return await session.scalar(
        select(NotificationPolicy)
        .where(NotificationPolicy.tenant_id == tenant_id)
        .execution_options(populate_existing=True)
    )


def _loc(path: str, field: str) -> list[str | int]:
    loc: list[str | int] = ["body"]
    for part in path.split(".")[1:]:
        loc += ["routes", int(part)]
    return [*loc, field]


async def _ensure_references(
    session: AsyncSession, tenant_id: uuid.UUID, tree: RoutingTree
) -> None:
    refs = referenced_ids(tree)
    receivers = set(
        (await session.scalars(select(Receiver.id).where(Receiver.tenant_id == tenant_id))).all()
    )
    policies = set(
        (
            await session.scalars(
                select(EscalationPolicy.id).where(EscalationPolicy.tenant_id == tenant_id)
            )
        ).all()
    )
    errors = []
    for path, field, ident in refs:
        known = receivers if field == "receiver_id" else policies
        if ident not in known:
            kind = "receiver" if field == "receiver_id" else "escalation policy"
            errors.append(
                FieldIssue(
                    loc=_loc(path, field),
                    message=f"{kind} {ident} does not exist",
                    type=f"unknown-{kind.replace(' ', '-')}",
                )
            )
    if errors:
        raise Invalid("the tree names unknown objects", errors=errors)


async def put_policy(
    session: AsyncSession,
    *,
    actor: Principal,
    tree: RoutingTree,
    expected_revisions: set[int] | None,
) -> NotificationPolicy:
    """Replace the tree; with ``expected_revisions`` (from If-Match) a stale one gets 412."""
    row = await get_policy(session, tenant_id=actor.tenant_id)
    current = row.revision if row is not None else 0
    if expected_revisions is not None and current not in expected_revisions:
        raise PreconditionFailed(
            f"the routing tree changed since you read it (now revision {current})",
        )
    await _ensure_references(session, actor.tenant_id, tree)
    document = tree.model_dump(mode="json", by_alias=True, exclude_none=True)
    before = row.tree if row is not None else None
    if row is None:
        row = NotificationPolicy(
            tenant_id=actor.tenant_id, tree=document, revision=1, updated_by=actor.user_id
        )
        session.add(row)
    else:
        row.tree = document
        row.revision = current + 1
        row.updated_at = utcnow()
        row.updated_by = actor.user_id
    await session.flush()
    await record(
        session,
        actor=actor,
        action="notification_policy.update",
        resource_type="notification_policy",
        resource_id=actor.tenant_id,
        before={"tree": before} if before is not None else None,
        after={"tree": document},
    )
    return row


async def receiver_usage(
    session: AsyncSession, *, tenant_id: uuid.UUID, receiver_id: uuid.UUID
) -> list[str]:
    """Where a receiver is named: routes of the tree and escalation policies."""
    out: list[str] = []
    row = await get_policy(session, tenant_id=tenant_id)
    if row is not None:
        tree = RoutingTree.model_validate(row.tree)
        out += [
            f"route {path}"
            for path, field, ident in referenced_ids(tree)
            if field == "receiver_id" and ident == receiver_id
        ]
    policies = await session.scalars(
        select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant_id)
    )
    for policy in policies:
        if any(str(receiver_id) in map(str, lvl.get("receiver_ids", [])) for lvl in policy.levels):
            out.append(f"escalation policy {policy.name!r}")
    return out


async def policy_in_use(
    session: AsyncSession, *, tenant_id: uuid.UUID, policy_id: uuid.UUID
) -> bool:
    row = await get_policy(session, tenant_id=tenant_id)
    if row is None:
        return False
    tree = RoutingTree.model_validate(row.tree)
    return any(
        field == "escalation_policy_id" and ident == policy_id
        for _, field, ident in referenced_ids(tree)
    )
