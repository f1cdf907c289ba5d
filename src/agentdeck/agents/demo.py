"""Demo agents for `serve --demo`: a small, realistic fleet for an empty tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus, AgentType
from agentdeck.agents.schemas import AgentConfig, AgentCreate, AutoScaling
from agentdeck.agents.service import add_agent, new_agent
from agentdeck.db.base import utcnow
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role

#: The audit actor of the agents the demo registers.
DEMO_ACTOR = "demo"


def demo_actor(tenant_id: uuid.UUID) -> Principal:
    """The system principal the demo's changes are audited under."""
    return Principal(kind="system", id=None, name=DEMO_ACTOR, tenant_id=tenant_id, role=Role.admin)


async def add_audited(session: AsyncSession, agent: Agent) -> Agent:
    """Insert a demo agent and audit its creation like any other (``agent.create``)."""
    return await add_agent(session, agent, actor=demo_actor(agent.tenant_id))


@dataclass(frozen=True)
class _Spec:
    name: str
    type: AgentType
    status: AgentStatus
    description: str
    model: str | None
    labels: dict[str, str]
    replicas: int = 1
    cpu: str = "500m"
    memory: str = "512Mi"
    version: str = "1.0.0"
    autoscale: tuple[int, int] | None = None
    owned: bool = True  # False: registered by automation, owned by no one
    extra_config: dict[str, Any] = field(default_factory=dict)


_FLEET: tuple[_Spec, ...] = (
    _Spec("support-triage", AgentType.llm, AgentStatus.running,
          "Reads incoming support tickets, tags the product area and drafts a first reply.",
          "gpt-4o-mini", {"team": "support", "env": "prod", "tier": "frontline"},
          replicas=3, cpu="1", memory="1Gi", version="2.3.1", autoscale=(2, 8),
          extra_config={"temperature": 0.2, "max_tokens": 800}),
    _Spec("support-triage-canary", AgentType.llm, AgentStatus.deploying,
          "Canary of the next triage prompt; takes 5% of tickets.",
          "gpt-4o-mini", {"team": "support", "env": "staging", "tier": "frontline"},
          version="2.4.0-rc1", extra_config={"temperature": 0.2, "traffic_percent": 5}),
    _Spec("invoice-extractor", AgentType.extractor, AgentStatus.running,
          "Pulls vendor, totals and line items out of PDF invoices.",
          "llama3.1:8b", {"team": "finance", "env": "prod"},
          replicas=2, cpu="2", memory="4Gi", version="1.8.0", autoscale=(1, 6)),
    _Spec("contract-clause-extractor", AgentType.extractor, AgentStatus.stopped,
          "Finds renewal, termination and liability clauses in contracts.",
          "qwen2.5:14b", {"team": "legal", "env": "staging"},
          replicas=0, cpu="2", memory="8Gi", version="0.9.2"),
    _Spec("toxicity-classifier", AgentType.classifier, AgentStatus.running,
          "Scores user messages for abuse before they reach the chat agents.",
          None, {"team": "trust-safety", "env": "prod"},
          replicas=4, cpu="250m", memory="256Mi", version="3.1.0", autoscale=(2, 12)),
    _Spec("intent-router", AgentType.classifier, AgentStatus.scaling,
          "Routes chat sessions to the billing, support or sales agent.",
          None, {"team": "platform", "env": "prod"},
          replicas=5, cpu="500m", memory="512Mi", version="1.12.4", autoscale=(3, 10)),
    _Spec("sales-assistant", AgentType.llm, AgentStatus.error,
          "Answers pricing questions on the website chat; escalates to a human on request.",
          "gemini-1.5-flash", {"team": "sales", "env": "prod"},
          replicas=2, memory="1Gi", version="1.4.2",
          extra_config={"temperature": 0.5, "escalation_queue": "sales-humans"}),
    _Spec("release-notes-writer", AgentType.llm, AgentStatus.stopped,
          "Turns merged pull requests into weekly release notes.",
          "gpt-4o", {"team": "platform", "env": "dev"}, replicas=0, version="0.3.0"),
    _Spec("pii-redactor", AgentType.custom, AgentStatus.running,
          "Masks names, emails and card numbers in logs before they are stored.",
          None, {"team": "trust-safety", "env": "prod", "compliance": "gdpr"},
          replicas=2, cpu="750m", memory="768Mi", version="2.0.5", owned=False),
    _Spec("log-anomaly-explainer", AgentType.llm, AgentStatus.running,
          "Summarises anomalous log bursts for the on-call engineer.",
          "llama3.1:70b", {"team": "sre", "env": "prod"},
          cpu="4", memory="16Gi", version="1.1.0", owned=False),
    _Spec("resume-parser", AgentType.extractor, AgentStatus.error,
          "Extracts work history and skills from uploaded CVs.",
          "mistral-small", {"team": "people", "env": "staging"},
          memory="2Gi", version="0.7.1"),
    _Spec("nightly-eval-runner", AgentType.custom, AgentStatus.stopped,
          "Runs the regression evaluation suite against every agent each night.",
          None, {"team": "ml", "env": "dev", "schedule": "nightly"},
          replicas=0, version="0.5.0", owned=False),
)  # fmt: skip


async def seed_demo_agents(
    session: AsyncSession, tenant_id: uuid.UUID, owner_id: uuid.UUID | None
) -> int:
    """Create the demo fleet if the tenant has no agents yet; returns how many were created.

    Idempotent: a tenant with any agent is left alone. Most agents are owned by ``owner_id``;
    a few are unowned (as if registered by automation), so the owner stays under the default
    per-user quota. Flushes only: the caller commits.
    """
    existing = await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.tenant_id == tenant_id)
    )
    if existing:
        return 0
    now = utcnow()
    for spec in _FLEET:
        config = AgentConfig(
            auto_scaling=AutoScaling(
                enabled=True, min_replicas=spec.autoscale[0], max_replicas=spec.autoscale[1]
            )
            if spec.autoscale
            else None,
            **spec.extra_config,
        )
        data = AgentCreate(
            name=spec.name,
            type=spec.type,
            description=spec.description,
            model=spec.model,
            version=spec.version,
            config=config,
            metadata={"source": "demo", "repository": f"example/{spec.name}"},
            labels=spec.labels,
            replica_count=spec.replicas,
            cpu_limit=spec.cpu,
            memory_limit=spec.memory,
        )
        agent, _ = new_agent(data, tenant_id=tenant_id, owner_id=owner_id if spec.owned else None)
        agent.status = spec.status
        agent.ready_replicas = simulated_ready(spec.status, spec.replicas)
        if spec.status in (AgentStatus.running, AgentStatus.scaling, AgentStatus.error):
            agent.last_health_check = now - timedelta(seconds=15)
            agent.last_seen_at = now - timedelta(seconds=5)
        await add_audited(session, agent)
    return len(_FLEET)


def simulated_ready(status: AgentStatus, replicas: int) -> int:
    """Ready replicas of a simulated demo agent: all of them while it is up, none otherwise.
    No process runs for it; its health must still agree with the telemetry it reports."""
    return replicas if status in (AgentStatus.running, AgentStatus.scaling) else 0
