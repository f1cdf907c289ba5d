"""The fleet runtime: the local and Kubernetes drivers and the autoscaler."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class FleetDriverKind(StrEnum):
    local = "local"
    kubernetes = "kubernetes"


class FleetKubernetesSettings(BaseModel):
    """The Kubernetes driver (``fleet.driver=kubernetes``): where and how agents run as
    Deployments."""

    namespace: str = Field(
        "agentdeck-agents",
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Namespace the agents' Deployments and Services are created in.",
    )
    in_cluster: bool | None = Field(
        None,
        description="Use the pod's service account (in-cluster config). Unset: in-cluster when "
        "KUBERNETES_SERVICE_HOST is set and no kubeconfig is configured, else the kubeconfig.",
    )
    kubeconfig: Path | None = Field(
        None,
        description="A kubeconfig file (unset: KUBECONFIG, else ~/.kube/config) when not "
        "in-cluster.",
    )
    context: str | None = Field(
        None, description="The kubeconfig context to use (unset: its current context)."
    )
    image: str | None = Field(
        None,
        max_length=512,
        description="Container image of the built-in templates (llm, classifier, extractor): an "
        "image with agentdeck installed. Agents that name their own `image` do not need it.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="imagePullPolicy of the agents' containers."
    )
    default_port: int = Field(
        8080,
        ge=1,
        le=65535,
        description="Container port of agents that name none (given to them in PORT).",
    )
    progress_deadline_seconds: int = Field(
        600,
        ge=10,
        le=86_400,
        description="progressDeadlineSeconds of the Deployments: a rollout without progress "
        "this long is ProgressDeadlineExceeded, and the fleet's deployment of it fails (and "
        "is rolled back to the previous revision).",
    )
    service_port: int = Field(
        80, ge=1, le=65535, description="Port of each agent's ClusterIP Service."
    )
    request_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Timeout of one request to the API server."
    )
    watch_timeout_seconds: int = Field(
        300,
        ge=5,
        le=3600,
        description="A watch is closed by the server after this long and resumed from its "
        "last resourceVersion.",
    )
    log_tail_lines: int = Field(
        200, ge=1, le=10_000, description="Most lines read per pod for GET …/output."
    )


class AutoscalerSettings(BaseModel):
    """The autoscaler loop: agents with ``config.auto_scaling.enabled`` gain or lose one replica
    on their average CPU over the last 10 minutes (> 70 %: one more; < 30 %: one fewer)."""

    enabled: bool = Field(True, description="Run the autoscaler loop.")
    interval_seconds: float = Field(
        30.0, gt=0, le=3600, description="How often every autoscaled agent is evaluated."
    )
    cooldown_seconds: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="After a scale by the autoscaler, no other scale of that agent for this "
        "long (decisions in between are recorded as `cooldown`), so it never flaps.",
    )
    query_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one agent's CPU query."
    )
    decisions_kept_per_agent: int = Field(
        1000,
        ge=10,
        le=1_000_000,
        description="Most recorded decisions kept per agent (older ones are removed).",
    )


class FleetSettings(BaseModel):
    """The fleet runtime: which driver runs the agents, and how the local supervisor behaves."""

    driver: FleetDriverKind = Field(
        FleetDriverKind.local,
        description="local (supervised subprocesses on this host) or kubernetes.",
    )
    dir: Path | None = Field(
        None,
        description="Where the local driver keeps replica logs and its state file (unset: "
        "`fleet/` under the data directory).",
    )
    reconcile_interval_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often the fleet loop drives desired state to the driver and records "
        "what it observes (changes in the driver wake it sooner).",
    )
    grace_period_seconds: float = Field(
        10.0,
        ge=0,
        le=600,
        description="How long a replica has to exit after SIGTERM before its process group "
        "gets SIGKILL.",
    )
    backoff_initial_seconds: float = Field(
        1.0, gt=0, description="First restart delay of a replica that exited; doubles per exit."
    )
    backoff_max_seconds: float = Field(300.0, gt=0, description="Longest restart delay (seconds).")
    backoff_reset_seconds: float = Field(
        60.0,
        gt=0,
        description="A replica that ran this long before exiting starts its backoff over.",
    )
    crash_loop_restarts: int = Field(
        5,
        ge=1,
        le=100,
        description="Quick exits in a row after which a replica is in a crash loop: the agent's "
        "status becomes `error` with its last stderr lines (restarts go on, backed off).",
    )
    readiness_deadline_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="How long a deployment's new replicas have to become ready before it is "
        "rolled back automatically (a deployment may ask for its own).",
    )
    max_replicas: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most replica processes the local driver runs on this host at once; a "
        "start, scale or deployment that needs more is refused (409).",
    )
    probe_interval_seconds: float = Field(
        5.0, gt=0, le=300, description="How often a ready replica's health path is probed."
    )
    startup_probe_interval_seconds: float = Field(
        0.25,
        gt=0,
        le=60,
        description="How often a replica that is not ready yet is probed.",
    )
    probe_timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="Timeout of one health probe."
    )
    failure_threshold: int = Field(
        3, ge=1, le=100, description="Failed probes in a row before a ready replica is unready."
    )
    min_ready_seconds: float = Field(
        1.0,
        ge=0,
        le=600,
        description="A replica without a health path is ready once it has run this long.",
    )
    log_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=10,
        description="How often the replicas' output files are read for new lines.",
    )
    log_buffer_lines: int = Field(
        1000, ge=10, le=100_000, description="Output lines kept in memory per replica."
    )
    log_file_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=64 * 1024,
        description="A replica's output file is emptied once read past this size.",
    )
    log_lines_per_second: float = Field(
        1000.0,
        gt=0,
        le=1_000_000,
        description="Output lines per second each replica (process or pod) may send into the "
        "logs on average; lines beyond are dropped, counted in "
        'agentdeck_log_lines_rejected_total{reason="fleet_rate_limit"} and reported by a '
        "WARNING line of that replica.",
    )
    log_lines_burst: int = Field(
        2000, ge=1, le=10_000_000, description="Lines a replica may send at once above the rate."
    )
    log_line_max_bytes: int = Field(
        16 * 1024,
        ge=256,
        le=1024 * 1024,
        description="Replica output lines longer than this (UTF-8 bytes) are cut there.",
    )
    keep_replicas_on_shutdown: bool = Field(
        False,
        description="On a graceful shutdown leave the replicas running for the next start to "
        "re-adopt (zero-downtime upgrades); false stops them. After a crash (kill -9) they "
        "keep running either way and are re-adopted or restarted on the next start.",
    )
    cgroup_root: Path | None = Field(
        None,
        description="A cgroup v2 directory delegated to agentdeck (writable, with the cpu and "
        "memory controllers) under which each replica gets its own cgroup; unset: this "
        "process's own cgroup when it allows it. Without one, limits fall back to rlimits.",
    )
    agent_keys: bool = Field(
        True,
        description="Give each agent the fleet runs its own telemetry key (in its replicas' "
        "environment as AGENTDECK_API_KEY, beside AGENTDECK_URL): it may only send that "
        "agent's metrics and logs, and is revoked when the agent is deleted. Local driver.",
    )
    agent_telemetry_url: str = Field(
        "",
        max_length=2048,
        description="The URL the agents send their telemetry to (AGENTDECK_URL); unset: this "
        "server's own address on the loopback interface (server.host and server.port).",
    )
    kubernetes: FleetKubernetesSettings = Field(default_factory=FleetKubernetesSettings)
    autoscaler: AutoscalerSettings = Field(default_factory=AutoscalerSettings)
