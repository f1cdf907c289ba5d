"""Who is calling: a user (via JWT) or an API key, acting inside one tenant with one role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from agentdeck.identity.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "api_key", "system"]
    id: uuid.UUID | None
    name: str
    tenant_id: uuid.UUID
    role: Role

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.id if self.kind == "user" else None

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.id}"
