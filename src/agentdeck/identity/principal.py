"""Who is calling: a user (via JWT) or an API key, acting inside one tenant with one role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from agentdeck.identity.roles import Role

PrincipalKind = Literal["user", "api_key", "system"]


def principal_key(kind: PrincipalKind, id: uuid.UUID | None) -> str:
    """The key of a principal across tenants (rate limits, connection caps, invalidations)."""
    return f"{kind}:{id}"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: uuid.UUID | None
    name: str
    tenant_id: uuid.UUID
    role: Role
    #: An agent's telemetry key (minted by the fleet): the agent it may send metrics and logs
    #: for, and nothing else. None for every other principal.
    agent_id: uuid.UUID | None = None
    #: That agent's name (the ``agent`` label its series and log lines must carry).
    agent: str | None = None

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.id if self.kind == "user" else None

    @property
    def rate_key(self) -> str:
        return principal_key(self.kind, self.id)
