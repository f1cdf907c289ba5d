"""Imports every table so the metadata is complete (Alembic, tests)."""

from agentdeck.agents.models import Agent, AgentLabel
from agentdeck.audit.models import AuditEntry
from agentdeck.db.base import Base
from agentdeck.identity.models import ApiKey, Membership, RefreshToken, Tenant, User

__all__ = [
    "Agent",
    "AgentLabel",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Membership",
    "RefreshToken",
    "Tenant",
    "User",
]
