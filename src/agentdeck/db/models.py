"""Imports every table so the metadata is complete (Alembic, tests)."""

from agentdeck.agents.models import Agent, AgentLabel
from agentdeck.audit.models import AuditEntry
from agentdeck.db.base import Base
from agentdeck.identity.models import ApiKey, Membership, RefreshToken, Tenant, User
from agentdeck.loops.models import Lease
from agentdeck.telemetry.models import MetricMetadata, ScrapeTarget

__all__ = [
    "Agent",
    "AgentLabel",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Lease",
    "Membership",
    "MetricMetadata",
    "ScrapeTarget",
    "RefreshToken",
    "Tenant",
    "User",
]
