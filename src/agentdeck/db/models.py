"""Imports every table so the metadata is complete (Alembic, tests)."""

from agentdeck.agents.models import Agent, AgentLabel
from agentdeck.alerting.dispatch.models import AlertDispatch, NotificationGroup
from agentdeck.alerting.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    EscalationPolicy,
    InhibitionRule,
    NotificationPolicy,
    Receiver,
    Silence,
)
from agentdeck.audit.models import AuditEntry
from agentdeck.db.base import Base
from agentdeck.fleet.autoscaler.models import AutoscalerDecision
from agentdeck.fleet.github.models import GitHubDelivery, GitHubWebhookSecret
from agentdeck.fleet.models import Deployment, ReplicaRow, Workload
from agentdeck.identity.models import ApiKey, Membership, RefreshToken, Tenant, User
from agentdeck.ingest.models import MetricMetadata
from agentdeck.logintel.anomalies.models import Anomaly
from agentdeck.logintel.streams.models import LogBatch, LogStream, LogStreamChunk
from agentdeck.logintel.templates.models import TemplateMinerState
from agentdeck.loops.models import Lease
from agentdeck.notify.models import NotificationChannel, NotificationDelivery, NotificationOutbox
from agentdeck.scrape.models import ScrapeTarget

__all__ = [
    "Agent",
    "AgentLabel",
    "Alert",
    "AlertDispatch",
    "AlertEvent",
    "AlertRule",
    "AlertRuleState",
    "Anomaly",
    "ApiKey",
    "AuditEntry",
    "AutoscalerDecision",
    "Base",
    "Deployment",
    "EscalationPolicy",
    "GitHubDelivery",
    "GitHubWebhookSecret",
    "InhibitionRule",
    "Lease",
    "LogBatch",
    "LogStream",
    "LogStreamChunk",
    "Membership",
    "MetricMetadata",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationGroup",
    "NotificationOutbox",
    "NotificationPolicy",
    "Receiver",
    "ScrapeTarget",
    "RefreshToken",
    "ReplicaRow",
    "Silence",
    "TemplateMinerState",
    "Tenant",
    "User",
    "Workload",
]
