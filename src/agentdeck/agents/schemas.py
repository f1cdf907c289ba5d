"""Agent registry wire models: what clients send (create, update) and what they get back."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from agentdeck.agents.models import Agent, AgentStatus, AgentType

MAX_REPLICAS = 20
MAX_LABELS = 64
MAX_DEPENDENCIES = 100
DEPENDENCY_NAME_MAX = 253
LABEL_PART_MAX = 63

# A DNS label (RFC 1123): what Kubernetes accepts as an object name segment.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
LABEL_KEY_RE = re.compile(rf"^({_DNS_SUBDOMAIN}/)?{_LABEL_NAME}$")
LABEL_VALUE_RE = re.compile(rf"^({_LABEL_NAME})?$")
_CPU_RE = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def check_label_key(key: str) -> str:
    if len(key) > LABEL_PART_MAX or not LABEL_KEY_RE.match(key):
        raise ValueError(
            f"label key {key!r} is not valid: at most {LABEL_PART_MAX} characters, an optional "
            "'prefix/' (DNS subdomain) and a name of letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return key


def check_label_value(value: str) -> str:
    if len(value) > LABEL_PART_MAX or not LABEL_VALUE_RE.match(value):
        raise ValueError(
            f"label value {value!r} is not valid: empty, or at most {LABEL_PART_MAX} letters, "
            "digits, '-', '_' and '.', starting and ending with a letter or digit"
        )
    return value


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels are allowed; got {len(labels)}")
    for key, value in labels.items():
        check_label_key(key)
        check_label_value(value)
    return labels


def _check_dependencies(names: list[str]) -> list[str]:
    if len(names) > MAX_DEPENDENCIES:
        raise ValueError(f"at most {MAX_DEPENDENCIES} dependencies are allowed; got {len(names)}")
    out: list[str] = []
    for position, raw in enumerate(names):
        name = raw.strip()
        if not name:
            raise ValueError(f"dependency {position} is empty; name an agent or a service")
        if len(name) > DEPENDENCY_NAME_MAX:
            raise ValueError(
                f"dependency {position} is {len(name)} characters; the limit is "
                f"{DEPENDENCY_NAME_MAX}"
            )
        if name not in out:
            out.append(name)
    return out


def _positive(text: str) -> bool:
    try:
        return Decimal(text) > 0
    except InvalidOperation:
        return False


def _check_cpu(value: str) -> str:
    number = value[:-1] if value.endswith("m") else value
    if not _CPU_RE.match(value) or not _positive(number):
        raise ValueError(
            f"{value!r} is not a CPU quantity: use millicores like '250m' or cores like '1' "
            "or '2.5' (greater than zero)"
        )
    return value


def _check_memory(value: str) -> str:
    match = _MEMORY_RE.match(value)
    number = value.rstrip("KMGTPEikm") if match else ""
    if not match or not _positive(number):
        raise ValueError(
            f"{value!r} is not a memory quantity: use a number with a unit such as "
            "'256Mi' or '1Gi' (greater than zero)"
        )
    return value


AgentName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=NAME_PATTERN),
    Field(
        description="DNS label: lowercase letters, digits and '-', starting and ending with a "
        "letter or digit, at most 63 characters; unique in the tenant.",
        examples=["support-triage"],
    ),
]
Labels = Annotated[
    dict[str, str],
    AfterValidator(_check_labels),
    Field(
        description=f"Kubernetes-style labels (at most {MAX_LABELS}); filter with `label`.",
        examples=[{"team": "support", "env": "prod"}],
    ),
]
CpuQuantity = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_check_cpu),
    Field(description="CPU limit as a Kubernetes quantity: '250m', '1', '2.5'."),
]
MemoryQuantity = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_check_memory),
    Field(description="Memory limit as a Kubernetes quantity: '256Mi', '1Gi'."),
]
Dependencies = Annotated[
    list[str],
    AfterValidator(_check_dependencies),
    Field(
        description=f"Names of the agents or external services this agent calls (at most "
        f"{MAX_DEPENDENCIES}, each non-empty); the topology draws them as edges. Surrounding "
        "spaces are trimmed and repeats dropped.",
        examples=[["intent-router", "openai-api"]],
    ),
]
ReplicaCount = Annotated[int, Field(ge=0, le=MAX_REPLICAS, description="Desired replicas.")]
Description = Annotated[str, StringConstraints(max_length=2000)]
ModelName = Annotated[str, StringConstraints(max_length=200)]
Version = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AutoScaling(BaseModel):
    """Autoscaler bounds (the fleet's autoscaler reads them)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    min_replicas: int = Field(1, ge=0, le=MAX_REPLICAS)
    max_replicas: int = Field(MAX_REPLICAS, ge=0, le=MAX_REPLICAS)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> AutoScaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed "
                f"max_replicas ({self.max_replicas})"
            )
        return self


class AgentConfig(BaseModel):
    """Free-form runtime configuration; `auto_scaling`, when present, is checked."""

    model_config = ConfigDict(extra="allow")

    auto_scaling: AutoScaling | None = None

    def to_json(self) -> dict[str, Any]:
        data = dict(self.model_extra or {})
        if self.auto_scaling is not None:
            data["auto_scaling"] = self.auto_scaling.model_dump()
        return data


class AgentCreate(BaseModel):
    """A new agent. It starts `stopped`; the fleet changes its status."""

    model_config = ConfigDict(extra="forbid")

    name: AgentName
    type: AgentType
    description: Description = ""
    model: ModelName | None = Field(None, examples=["gpt-4o-mini"])
    version: Version = "1.0.0"
    config: AgentConfig = Field(default_factory=AgentConfig)
    metadata: dict[str, Any] = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)
    dependencies: Dependencies = Field(default_factory=list)
    replica_count: ReplicaCount = 1
    cpu_limit: CpuQuantity = "500m"
    memory_limit: MemoryQuantity = "512Mi"


# Fields of AgentUpdate that may be sent as null (the rest must be omitted to keep them).
NULLABLE_UPDATE_FIELDS = frozenset({"model"})


class AgentUpdate(BaseModel):
    """A partial update: fields left out keep their value; `config`, `metadata`, `labels` and
    `dependencies` are replaced as a whole."""

    model_config = ConfigDict(extra="forbid")

    name: AgentName | None = None
    type: AgentType | None = None
    description: Description | None = None
    model: ModelName | None = None
    version: Version | None = None
    config: AgentConfig | None = None
    metadata: dict[str, Any] | None = None
    labels: Labels | None = None
    dependencies: Dependencies | None = None
    replica_count: ReplicaCount | None = None
    cpu_limit: CpuQuantity | None = None
    memory_limit: MemoryQuantity | None = None
    status: AgentStatus | None = None

    @field_validator(
        "name",
        "type",
        "description",
        "version",
        "config",
        "metadata",
        "labels",
        "dependencies",
        "replica_count",
        "cpu_limit",
        "memory_limit",
        "status",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as column values (config as plain JSON)."""
        out: dict[str, Any] = {}
        for field in self.model_fields_set:
            value = getattr(self, field)
            if field not in NULLABLE_UPDATE_FIELDS and value is None:
                continue
            out[field] = value.to_json() if isinstance(value, AgentConfig) else value
        return out


class ReplicaCounts(BaseModel):
    desired: int = Field(description="Replicas wanted: the replica count while not stopped.")
    ready: int = Field(description="Replicas passing their health check now.")


class AgentHealth(BaseModel):
    """The agent's runtime health as the fleet observes it."""

    status: AgentStatus
    healthy: bool = Field(description="True exactly when at least one replica is ready.")
    replicas: ReplicaCounts
    detail: str | None = Field(
        None,
        description="Why the agent is not running as wished, e.g. a crash loop with its last "
        "stderr lines; null otherwise.",
    )

    @classmethod
    def of(cls, agent: Agent) -> AgentHealth:
        desired = 0 if agent.status is AgentStatus.stopped else agent.replica_count
        ready = agent.ready_replicas or 0
        return cls(
            status=agent.status,
            healthy=ready > 0,
            replicas=ReplicaCounts(desired=desired, ready=ready),
            detail=agent.status_detail,
        )


class AgentPublic(BaseModel):
    """An agent as the API returns it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID | None
    name: str
    type: AgentType
    description: str
    model: str | None
    version: str
    config: dict[str, Any]
    metadata: dict[str, Any]
    labels: dict[str, str]
    dependencies: list[str] = Field(
        description="Names of the agents or external services this agent calls."
    )
    replica_count: int
    cpu_limit: str
    memory_limit: str
    status: AgentStatus
    revision: int = Field(description="Bumped on every change; the ETag is its quoted value.")
    created_at: datetime
    updated_at: datetime
    last_health_check: datetime | None
    last_seen_at: datetime | None
    # always sent; not marked required in the schema so clients built before it still type-check
    health: AgentHealth = Field(
        default_factory=lambda: AgentHealth(
            status=AgentStatus.stopped, healthy=False, replicas=ReplicaCounts(desired=0, ready=0)
        ),
        description="Runtime health: status, healthy (ready > 0), replicas desired and ready.",
    )

    @classmethod
    def of(cls, agent: Agent) -> AgentPublic:
        return cls(
            id=agent.id,
            tenant_id=agent.tenant_id,
            owner_id=agent.owner_id,
            name=agent.name,
            type=agent.type,
            description=agent.description,
            model=agent.model,
            version=agent.version,
            config=agent.config,
            metadata=agent.metadata_,
            labels={str(k): str(v) for k, v in agent.labels.items()},
            dependencies=[str(name) for name in agent.dependencies or []],
            replica_count=agent.replica_count,
            cpu_limit=agent.cpu_limit,
            memory_limit=agent.memory_limit,
            status=agent.status,
            revision=agent.revision,
            created_at=agent.created_at,
            updated_at=agent.updated_at,
            last_health_check=agent.last_health_check,
            last_seen_at=agent.last_seen_at,
            health=AgentHealth.of(agent),
        )


class AgentSort(StrEnum):
    name = "name"
    name_desc = "-name"
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"
    status = "status"
    status_desc = "-status"

    @property
    def field(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")
