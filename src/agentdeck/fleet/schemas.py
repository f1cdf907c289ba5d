"""Fleet wire models: what an agent runs (its runtime spec), lifecycle requests, replicas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from agentdeck.agents.schemas import MAX_REPLICAS
from agentdeck.fleet.models import ReplicaRow

TEMPLATES = ("llm", "classifier", "extractor")
MAX_ARGS = 256
MAX_ENV = 200
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Set by the fleet for every replica; a spec may not override them.
RESERVED_ENV = frozenset(
    {
        "PORT",
        "AGENTDECK_AGENT_ID",
        "AGENTDECK_AGENT_NAME",
        "AGENTDECK_AGENT_VERSION",
        "AGENTDECK_AGENT_CONFIG",
        "AGENTDECK_REPLICA",
        "AGENTDECK_FLEET_ID",
        "AGENTDECK_MEMORY_LIMIT_BYTES",
    }
)

Template = Literal["llm", "classifier", "extractor"]
HealthPath = Annotated[
    str,
    Field(
        max_length=1024,
        pattern=r"^/[\x21-\x7e]*$",
        description="Path answered 2xx/3xx when the replica is ready, e.g. `/healthz`.",
    ),
]


class RuntimeSpec(BaseModel):
    """What an agent runs. `custom` agents give a command (with args, env, working directory,
    port and health path) in their config; the built-in types run their template program."""

    model_config = ConfigDict(extra="forbid")

    template: Template | None = Field(
        None, description="A built-in agent program (default: the agent's type, unless custom)."
    )
    command: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Executable to run: a name found on PATH or a path (relative to "
        "`working_dir`). Runs as the server's user on the local driver.",
        examples=["python"],
    )
    args: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=MAX_ARGS, examples=[["-m", "my_agent"]]
    )
    env: dict[str, Annotated[str, Field(max_length=32_768)]] = Field(
        default_factory=dict,
        description="Environment variables (the fleet sets PORT and the AGENTDECK_AGENT_*, "
        "AGENTDECK_REPLICA, AGENTDECK_FLEET_ID and AGENTDECK_MEMORY_LIMIT_BYTES ones).",
    )
    working_dir: str | None = Field(None, min_length=1, max_length=4096)
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="A fixed port; leave it out and each local replica gets its own in PORT "
        "(on Kubernetes: the container port).",
    )
    health_path: HealthPath | None = None
    image: str | None = Field(
        None, min_length=1, max_length=512, description="Container image (Kubernetes driver)."
    )

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ENV:
            raise ValueError(f"at most {MAX_ENV} environment variables")
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a variable name (letters, digits, '_')")
            if name in RESERVED_ENV:
                raise ValueError(f"{name} is set by the fleet; leave it out")
        return value


RUNTIME_KEYS = frozenset(RuntimeSpec.model_fields)


def _replica_count(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REPLICAS:
        raise PydanticCustomError(
            "replica_count", f"Replica count must be between 0 and {MAX_REPLICAS}"
        )
    return value


class ScaleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replicas: int = Field(
        description=f"Desired replicas, 0 to {MAX_REPLICAS} (0 stops the agent).",
        json_schema_extra={"minimum": 0, "maximum": MAX_REPLICAS},
    )

    _range = field_validator("replicas", mode="before")(_replica_count)


class ReplicaExit(BaseModel):
    code: int | None = Field(description="Exit code; negative: killed by that signal.")
    at: datetime
    reason: str | None


class ReplicaPublic(BaseModel):
    """One replica: a process on the local driver, a pod on Kubernetes."""

    name: str
    version: str
    spec_hash: str
    phase: str = Field(
        description="pending, starting, ready, unready, backoff, crash_loop, terminating."
    )
    ready: bool
    health: Literal["healthy", "unhealthy", "starting"]
    pid: int | None
    pod: str | None
    port: int | None
    started_at: datetime | None
    restarts: int
    last_exit: ReplicaExit | None
    message: str | None
    adopted: bool = Field(description="Re-adopted after agentdeck restarted.")
    observed_at: datetime

    @classmethod
    def of(cls, row: ReplicaRow) -> ReplicaPublic:
        if row.ready:
            health: Literal["healthy", "unhealthy", "starting"] = "healthy"
        elif row.phase in ("pending", "starting"):
            health = "starting"
        else:
            health = "unhealthy"
        last_exit = (
            ReplicaExit(code=row.last_exit_code, at=row.last_exit_at, reason=row.last_exit_reason)
            if row.last_exit_at is not None
            else None
        )
        return cls(
            name=row.name,
            version=row.version,
            spec_hash=row.spec_hash,
            phase=row.phase,
            ready=row.ready,
            health=health,
            pid=row.pid,
            pod=row.pod,
            port=row.port,
            started_at=row.started_at,
            restarts=row.restarts,
            last_exit=last_exit,
            message=row.message,
            adopted=row.adopted,
            observed_at=row.observed_at,
        )


class LogLinePublic(BaseModel):
    at: datetime
    replica: str
    stream: Literal["stdout", "stderr"]
    line: str


class ReplicaLogs(BaseModel):
    items: list[LogLinePublic]
    limit: int


class DriverInfo(BaseModel):
    """The fleet driver of this server and what it can do here."""

    driver: str
    active: bool = Field(description="False: another process supervises this host's replicas.")
    limits: str = Field(description="How limits are enforced: cgroup-v2, rlimit, kubernetes.")
    cpu_limit: bool
    memory_limit: bool
    detail: str
    replicas: int
