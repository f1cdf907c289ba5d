"""HTTP routes: the routing tree (`/notification-policy`, ETag / If-Match), receivers,
escalation policies and inhibition rules. Viewers read; admins change routing, receivers and
escalation; developers change inhibition rules (like silences)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.routing import escalation, inhibition, receivers
from agentdeck.alerting.routing import service as routing_service
from agentdeck.alerting.routing.escalation import (
    EscalationPolicyCreate,
    EscalationPolicyPublic,
    EscalationPolicyUpdate,
)
from agentdeck.alerting.routing.inhibition import (
    InhibitionRuleCreate,
    InhibitionRulePublic,
    InhibitionRuleUpdate,
)
from agentdeck.alerting.routing.receivers import ReceiverCreate, ReceiverPublic, ReceiverUpdate
from agentdeck.alerting.routing.service import NotificationPolicyPublic
from agentdeck.alerting.routing.tree import RoutingTree
from agentdeck.identity.principal import Principal
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Admin, Developer, SessionDep, Viewer, parse_uuid
from agentdeck.server.etags import expected_revisions, tag
from agentdeck.server.named_routes import NamedRoutes, add_named_routes

router = APIRouter(prefix="/api/v1", tags=["routing"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Q = Annotated[str | None, Query(max_length=200, description="Name contains.")]
_ETAG: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": 'The tree\'s revision, e.g. "3".'}}}
}


# --- routing tree ----------------------------------------------------------------------------


@router.get("/notification-policy", response_model=NotificationPolicyPublic, responses=_ETAG)
async def get_notification_policy(
    principal: Viewer, session: SessionDep, response: Response
) -> NotificationPolicyPublic:
    """The routing tree (revision 0 and the defaults until one is saved), with its ETag."""
    row = await routing_service.get_policy(session, tenant_id=principal.tenant_id)
    out = routing_service.public(row)
    tag(response, out.revision)
    return out


@router.put("/notification-policy", response_model=NotificationPolicyPublic, responses=_ETAG)
async def put_notification_policy(
    principal: Admin,
    session: SessionDep,
    body: RoutingTree,
    response: Response,
    if_match: Annotated[
        str | None, Header(description="The ETag you read; 412 if the tree changed since.")
    ] = None,
) -> NotificationPolicyPublic:
    """Replace the routing tree. Receivers and escalation policies it names must exist."""
    row = await routing_service.put_policy(
        session, actor=principal, tree=body, expected_revisions=expected_revisions(if_match)
    )
    await session.commit()
    out = routing_service.public(row)
    tag(response, out.revision)
    return out


# --- receivers -------------------------------------------------------------------------------


@router.get("/receivers", response_model=Page[ReceiverPublic])
async def list_receivers(
    principal: Viewer,
    session: SessionDep,
    q: Q = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ReceiverPublic]:
    """The tenant's receivers by name."""
    rows, next_cursor = await receivers.list_receivers(
        session, tenant_id=principal.tenant_id, q=q, limit=limit, cursor=cursor
    )
    return Page[ReceiverPublic](
        items=[ReceiverPublic.of(r) for r in rows], next_cursor=next_cursor, limit=limit
    )


@router.post("/receivers", response_model=ReceiverPublic, status_code=status.HTTP_201_CREATED)
async def create_receiver(
    principal: Admin, session: SessionDep, body: ReceiverCreate
) -> ReceiverPublic:
    """Create a receiver: a named set of notification channels."""
    row = await receivers.create_receiver(session, actor=principal, data=body)
    await session.commit()
    return ReceiverPublic.of(row)


@router.get("/receivers/{receiver_id}", response_model=ReceiverPublic)
async def get_receiver(principal: Viewer, session: SessionDep, receiver_id: str) -> ReceiverPublic:
    """One receiver."""
    row = await receivers.get_receiver(
        session, tenant_id=principal.tenant_id, receiver_id=parse_uuid(receiver_id, "receiver")
    )
    return ReceiverPublic.of(row)


@router.patch("/receivers/{receiver_id}", response_model=ReceiverPublic)
async def update_receiver(
    principal: Admin, session: SessionDep, receiver_id: str, body: ReceiverUpdate
) -> ReceiverPublic:
    """Rename a receiver or change its channels."""
    row = await receivers.update_receiver(
        session, actor=principal, receiver_id=parse_uuid(receiver_id, "receiver"), data=body
    )
    await session.commit()
    return ReceiverPublic.of(row)


@router.delete("/receivers/{receiver_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_receiver(principal: Admin, session: SessionDep, receiver_id: str) -> None:
    """Delete a receiver; 409 while a route or escalation policy still names it."""
    ident = parse_uuid(receiver_id, "receiver")
    in_use = await routing_service.receiver_usage(
        session, tenant_id=principal.tenant_id, receiver_id=ident
    )
    await receivers.delete_receiver(session, actor=principal, receiver_id=ident, in_use=in_use)
    await session.commit()


# --- escalation policies and inhibition rules -------------------------------------------------


async def _delete_escalation_policy(
    session: AsyncSession, actor: Principal, ident: uuid.UUID
) -> None:
    in_use = await routing_service.policy_in_use(
        session, tenant_id=actor.tenant_id, policy_id=ident
    )
    await escalation.delete_policy(session, actor=actor, policy_id=ident, in_use=in_use)


add_named_routes(
    router,
    NamedRoutes(
        path="/escalation-policies",
        ident="policy_id",
        label="policy",
        named=escalation.POLICIES,
        public=EscalationPolicyPublic,
        create_model=EscalationPolicyCreate,
        update_model=EscalationPolicyUpdate,
        writer=Admin,
        noun=("escalation_policy", "escalation_policies"),
        docs={
            "list": "The tenant's escalation policies by name.",
            "create": "Create an escalation policy (levels in increasing `after_seconds`).",
            "get": "One escalation policy.",
            "update": "Change an escalation policy.",
            "delete": "Delete an escalation policy; 409 while the routing tree names it.",
        },
        list_rows=escalation.POLICIES.page,
        create_row=lambda session, actor, data: escalation.create_policy(
            session, actor=actor, data=data
        ),
        update_row=lambda session, actor, ident, data: escalation.update_policy(
            session, actor=actor, policy_id=ident, data=data
        ),
        delete_row=_delete_escalation_policy,
    ),
)

add_named_routes(
    router,
    NamedRoutes(
        path="/inhibition-rules",
        ident="rule_id",
        label="rule",
        named=inhibition.RULES,
        public=InhibitionRulePublic,
        create_model=InhibitionRuleCreate,
        update_model=InhibitionRuleUpdate,
        writer=Developer,
        noun=("inhibition_rule", "inhibition_rules"),
        docs={
            "list": "The tenant's inhibition rules by name.",
            "create": "Create an inhibition rule.",
            "get": "One inhibition rule.",
            "update": "Change an inhibition rule.",
            "delete": "Delete an inhibition rule.",
        },
        list_rows=inhibition.RULES.page,
        create_row=lambda session, actor, data: inhibition.create_rule(
            session, actor=actor, data=data
        ),
        update_row=lambda session, actor, ident, data: inhibition.update_rule(
            session, actor=actor, rule_id=ident, data=data
        ),
        delete_row=lambda session, actor, ident: inhibition.delete_rule(
            session, actor=actor, rule_id=ident
        ),
    ),
)
