"""The demo fleet in the registry, and the API key the simulator sends its samples with.

`agents.demo` seeds twelve agents into an empty tenant; this module tops the default tenant
up to about thirty simulated agents (unowned, so no user's quota is used) and creates a fresh
developer API key for the simulator on every start. Only the key's hash is stored; the
plaintext stays in the simulator's memory, and the previous simulator key is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.demo import add_audited, demo_actor, seed_demo_agents, simulated_ready
from agentdeck.agents.models import Agent, AgentStatus, AgentType
from agentdeck.agents.schemas import AgentCreate
from agentdeck.agents.service import RESOURCE, new_agent, snapshot
from agentdeck.audit.service import record
from agentdeck.db.base import utcnow
from agentdeck.demo.simulate import SimAgent, Template
from agentdeck.identity import keys_service
from agentdeck.identity.bootstrap import default_tenant, first_admin_id
from agentdeck.identity.models import ApiKey
from agentdeck.identity.roles import Role
from agentdeck.identity.schemas import ApiKeyCreate
from agentdeck.identity.service import system_principal

KEY_NAME = "demo fleet simulator"
ACTOR = "demo"

# name, type, model, team, env, replicas
_EXTRA: tuple[tuple[str, AgentType, str | None, str, str, int], ...] = (
    ("faq-answerer", AgentType.llm, "gpt-4o-mini", "support", "prod", 2),
    ("email-drafter", AgentType.llm, "gpt-4o", "sales", "prod", 1),
    ("meeting-summarizer", AgentType.llm, "llama3.1:8b", "platform", "prod", 2),
    ("code-review-assistant", AgentType.llm, "gpt-4o", "platform", "staging", 1),
    ("onboarding-guide", AgentType.llm, "gemini-1.5-flash", "people", "prod", 1),
    ("sql-copilot", AgentType.llm, "qwen2.5:14b", "data", "prod", 1),
    ("incident-summarizer", AgentType.llm, "llama3.1:70b", "sre", "prod", 1),
    ("translation-agent", AgentType.llm, "gpt-4o-mini", "support", "prod", 3),
    ("spam-filter", AgentType.classifier, None, "trust-safety", "prod", 3),
    ("sentiment-scorer", AgentType.classifier, None, "support", "prod", 2),
    ("language-detector", AgentType.classifier, None, "platform", "prod", 2),
    ("ticket-priority-classifier", AgentType.classifier, None, "support", "prod", 1),
    ("fraud-signal-classifier", AgentType.classifier, None, "finance", "prod", 2),
    ("topic-tagger", AgentType.classifier, None, "data", "staging", 1),
    ("churn-risk-scorer", AgentType.classifier, None, "sales", "prod", 1),
    ("receipt-extractor", AgentType.extractor, "llama3.1:8b", "finance", "prod", 2),
    ("shipping-label-reader", AgentType.extractor, "mistral-small", "ops", "prod", 1),
    ("kyc-document-extractor", AgentType.extractor, "gpt-4o-mini", "finance", "prod", 2),
    ("product-spec-extractor", AgentType.extractor, "qwen2.5:14b", "data", "prod", 1),
    ("entity-linker", AgentType.extractor, "llama3.1:8b", "data", "staging", 1),
    ("table-extractor", AgentType.extractor, "mistral-small", "finance", "prod", 1),
    ("address-normalizer", AgentType.extractor, "gpt-4o-mini", "ops", "prod", 1),
)

# Who calls whom in the demo fleet (agents of the fleet and external services), for the
# topology; set on demo agents that declare no dependencies of their own.
DEMO_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "intent-router": ("support-triage", "sales-assistant", "faq-answerer"),
    "support-triage": ("toxicity-classifier", "ticket-priority-classifier", "openai-api"),
    "support-triage-canary": ("toxicity-classifier", "openai-api"),
    "sales-assistant": ("churn-risk-scorer", "openai-api"),
    "faq-answerer": ("language-detector", "openai-api"),
    "email-drafter": ("sentiment-scorer", "openai-api"),
    "translation-agent": ("language-detector", "openai-api"),
    "ticket-priority-classifier": ("sentiment-scorer",),
    "invoice-extractor": ("table-extractor", "ollama"),
    "receipt-extractor": ("table-extractor", "ollama"),
    "kyc-document-extractor": ("address-normalizer", "fraud-signal-classifier", "openai-api"),
    "product-spec-extractor": ("entity-linker", "ollama"),
    "meeting-summarizer": ("ollama",),
    "sql-copilot": ("postgres-warehouse", "ollama"),
    "code-review-assistant": ("github-api", "openai-api"),
    "incident-summarizer": ("pagerduty-api", "ollama"),
    "onboarding-guide": ("gemini-api",),
    "log-anomaly-explainer": ("ollama",),
    "pii-redactor": ("entity-linker",),
}

_TEMPLATE: dict[AgentType, Template] = {
    AgentType.llm: Template.llm,
    AgentType.classifier: Template.classifier,
    AgentType.extractor: Template.extractor,
    AgentType.custom: Template.classifier,  # the demo's custom agents are small and fast
}

# Agents in `error` are down: they send nothing (the overview shows them unhealthy).
_SIMULATED = (AgentStatus.running, AgentStatus.scaling, AgentStatus.deploying)
_LABELS = ("team", "env")


@dataclass(frozen=True, slots=True)
class PreparedFleet:
    tenant_id: uuid.UUID
    agents: tuple[SimAgent, ...]
    api_key: str  # plaintext, in memory only


async def register_extra_agents(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Add the demo agents the tenant does not have yet (by name); returns how many.

    Idempotent, unowned (no quota is used), running; flushes only.
    """
    names = {a for a, *_ in _EXTRA}
    existing = set(
        (
            await session.scalars(
                select(Agent.name).where(Agent.tenant_id == tenant_id, Agent.name.in_(names))
            )
        ).all()
    )
    now = utcnow()
    created = 0
    for name, kind, model, team, env, replicas in _EXTRA:
        if name in existing:
            continue
        data = AgentCreate(
            name=name,
            type=kind,
            description=f"Simulated {kind.value} agent of the demo fleet.",
            model=model,
            version="1.0.0",
            metadata={"source": "demo", "repository": f"example/{name}"},
            labels={"team": team, "env": env},
            replica_count=replicas,
        )
        agent, _ = new_agent(data, tenant_id=tenant_id, owner_id=None)
        agent.status = AgentStatus.running
        agent.ready_replicas = simulated_ready(agent.status, replicas)
        agent.last_health_check = now - timedelta(seconds=15)
        agent.last_seen_at = now - timedelta(seconds=5)
        await add_audited(session, agent)
        created += 1
    return created


async def declare_dependencies(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Give demo agents without declared dependencies the demo's call graph; returns how many
    changed (flushes only; each change is audited as ``agent.update``)."""
    rows = (
        await session.scalars(
            select(Agent).where(
                Agent.tenant_id == tenant_id, Agent.name.in_(list(DEMO_DEPENDENCIES))
            )
        )
    ).all()
    changed = 0
    for row in rows:
        if (row.metadata_ or {}).get("source") == "demo" and not row.dependencies:
            before = snapshot(row)
            row.dependencies = list(DEMO_DEPENDENCIES[row.name])
            await record(
                session,
                actor=demo_actor(tenant_id),
                action="agent.update",
                resource_type=RESOURCE,
                resource_id=row.id,
                before=before,
                after=snapshot(row),
            )
            changed += 1
    await session.flush()
    return changed


async def simulated_agents(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[SimAgent, ...]:
    """The tenant's demo agents that are up (running, scaling or deploying)."""
    rows = (
        await session.scalars(
            select(Agent).where(Agent.tenant_id == tenant_id, Agent.status.in_(_SIMULATED))
        )
    ).all()
    out = []
    for row in rows:
        if (row.metadata_ or {}).get("source") != "demo":
            continue
        labels = {k: v for k, v in row.labels.items() if k in _LABELS}
        out.append(
            SimAgent(
                name=row.name,
                template=_TEMPLATE[row.type],
                model=row.model,
                replicas=max(row.replica_count, 1),
                labels=labels,
                degraded=row.status is AgentStatus.error,
                calls=tuple(str(name) for name in row.dependencies or []),
            )
        )
    return tuple(sorted(out, key=lambda a: a.name))


async def new_simulator_key(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    """Revoke earlier simulator keys and create a new developer key; returns its plaintext."""
    actor = system_principal(tenant_id, ACTOR)
    old = (
        await session.scalars(
            select(ApiKey.id).where(
                ApiKey.tenant_id == tenant_id,
                ApiKey.name == KEY_NAME,
                ApiKey.revoked_at.is_(None),
            )
        )
    ).all()
    for key_id in old:
        await keys_service.revoke_key(session, actor=actor, tenant_id=tenant_id, key_id=key_id)
    _, plaintext = await keys_service.create_key(
        session,
        actor=actor,
        tenant_id=tenant_id,
        data=ApiKeyCreate(name=KEY_NAME, role=Role.developer),
    )
    return plaintext


async def prepare_fleet(session: AsyncSession) -> PreparedFleet:
    """Register the fleet in the default tenant and create the simulator's key; commits."""
    tenant = await default_tenant(session)
    owner = await first_admin_id(session, tenant.id)
    await seed_demo_agents(session, tenant.id, owner)
    await register_extra_agents(session, tenant.id)
    await declare_dependencies(session, tenant.id)
    plaintext = await new_simulator_key(session, tenant.id)
    agents = await simulated_agents(session, tenant.id)
    await session.commit()
    return PreparedFleet(tenant_id=tenant.id, agents=agents, api_key=plaintext)
