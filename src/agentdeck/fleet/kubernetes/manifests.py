"""From a workload spec to the Deployment and Service that run it (plain JSON documents).

One Deployment and one ClusterIP Service per agent, in the configured namespace, named
``ad-<agent name>-<10 hex digits of a hash of the agent id>`` (a DNS-1035 label of at most 63
characters, so it is valid for both). Every object carries:

- ``app.kubernetes.io/managed-by: agentdeck`` (how the driver finds its objects),
- ``app.kubernetes.io/name`` (the agent's name, made a valid label value),
- ``app.kubernetes.io/instance`` (the object name), ``app.kubernetes.io/version``,
- ``agentdeck.io/agent-id`` and ``agentdeck.io/tenant-id``.

The pod template adds ``agentdeck.io/spec-hash``: which spec a pod runs, so a rollout's
progress is counted per spec, as the local driver counts it. The selector is the managed-by
label and the agent id (immutable once created; both are stable).

Resources: requests and limits both the agent's ``cpu_limit`` and ``memory_limit`` (the
Guaranteed QoS class: what the agent asks for is reserved). Strategy ``rolling`` is a
RollingUpdate with ``maxSurge: 1, maxUnavailable: 0`` (one new pod ready before an old one
goes); ``recreate`` is Recreate.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from agentdeck.fleet.driver import Strategy, WorkloadSpec
from agentdeck.fleet.local.limits import memory_bytes
from agentdeck.fleet.templates import ENV_HOST, ENV_MEMORY_LIMIT
from agentdeck.settings import FleetKubernetesSettings

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "agentdeck"
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
AGENT_ID = "agentdeck.io/agent-id"
TENANT_ID = "agentdeck.io/tenant-id"
SPEC_HASH = "agentdeck.io/spec-hash"
#: Annotations: the whole spec (to re-read what a Deployment runs) and its version.
SPEC_ANNOTATION = "agentdeck.io/spec"
VERSION_ANNOTATION = "agentdeck.io/version"
CONTAINER = "agent"
PORT_NAME = "http"
#: ``agentdeck agent run --template <name>`` inside the configured image.
TEMPLATE_COMMAND = ("agentdeck", "agent", "run", "--template")

_NOT_LABEL = re.compile(r"[^a-z0-9-]+")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def object_name(agent_name: str, agent_id: uuid.UUID) -> str:
    """``ad-<name>-<id>``: a DNS-1035 label (lower case, starts with a letter, ≤ 63)."""
    slug = _NOT_LABEL.sub("-", agent_name.lower()).strip("-")[:40].strip("-")
    middle = f"{slug}-" if slug else ""
    return f"ad-{middle}{hashlib.sha256(agent_id.bytes).hexdigest()[:10]}"


def label_value(text: str) -> str:
    """``text`` made a valid label value (≤ 63, alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("-_.")
    return value if _LABEL_VALUE.match(value) else ""


def selector(agent_id: uuid.UUID) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, AGENT_ID: str(agent_id)}


def selector_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def labels_of(spec: WorkloadSpec) -> dict[str, str]:
    labels = {
        MANAGED_BY: MANAGER,
        NAME: label_value(spec.agent_name) or "agent",
        INSTANCE: object_name(spec.agent_name, spec.agent_id),
        AGENT_ID: str(spec.agent_id),
        TENANT_ID: str(spec.tenant_id),
    }
    version = label_value(spec.version)
    if version:
        labels[VERSION] = version
    return labels


def image_of(spec: WorkloadSpec, settings: FleetKubernetesSettings) -> str | None:
    return spec.image or (settings.image if spec.template else None)


def container_port(spec: WorkloadSpec, settings: FleetKubernetesSettings) -> int:
    return spec.port or settings.default_port


def _command(spec: WorkloadSpec) -> tuple[list[str] | None, list[str] | None]:
    """``command`` and ``args`` of the container: the spec's own command when it names one
    with its own image; a template's program otherwise; the image's entrypoint when neither."""
    if spec.image is not None:
        if spec.command is not None:
            return [spec.command], list(spec.args)
        return None, list(spec.args) or None
    if spec.template is not None:
        return [*TEMPLATE_COMMAND, spec.template], None
    return None, None


def _env(spec: WorkloadSpec, port: int) -> list[dict[str, Any]]:
    env: dict[str, str] = dict(spec.env)
    env.update(
        {
            "PORT": str(port),
            "AGENTDECK_AGENT_ID": str(spec.agent_id),
            "AGENTDECK_AGENT_NAME": spec.agent_name,
            "AGENTDECK_AGENT_VERSION": spec.version,
        }
    )
    if spec.config:
        env["AGENTDECK_AGENT_CONFIG"] = json.dumps(dict(spec.config), default=str, sort_keys=True)
    if spec.template is not None and spec.image is None:
        env[ENV_HOST] = "0.0.0.0"  # the probes and the Service reach the pod's address
    memory = memory_bytes(spec.memory_limit)
    if memory is not None:  # what the templates report agent_memory_percent against
        env[ENV_MEMORY_LIMIT] = str(memory)
    items: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    items.append(
        {"name": "AGENTDECK_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    )
    return items


def deployment(
    spec: WorkloadSpec, *, replicas: int, strategy: Strategy, settings: FleetKubernetesSettings
) -> dict[str, Any]:
    """The Deployment running ``spec`` × ``replicas``."""
    name = object_name(spec.agent_name, spec.agent_id)
    labels = labels_of(spec)
    port = container_port(spec, settings)
    command, args = _command(spec)
    resources: dict[str, Any] = {}
    limits = {
        k: v for k, v in (("cpu", spec.cpu_limit), ("memory", spec.memory_limit)) if v is not None
    }
    if limits:
        resources = {"limits": dict(limits), "requests": dict(limits)}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image_of(spec, settings),
        "imagePullPolicy": settings.image_pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "env": _env(spec, port),
        "resources": resources,
    }
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    if spec.working_dir is not None:
        container["workingDir"] = spec.working_dir
    if spec.health_path is not None:
        probe = {"httpGet": {"path": spec.health_path, "port": PORT_NAME}}
        container["readinessProbe"] = {**probe, "periodSeconds": 5, "failureThreshold": 3}
        container["livenessProbe"] = {
            **probe,
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 6,
        }
    rollout: dict[str, Any]
    if strategy is Strategy.rolling:
        rollout = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    else:
        rollout = {"type": "Recreate"}
    spec_json = json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"), default=str)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            "annotations": {
                SPEC_HASH: spec.spec_hash,
                VERSION_ANNOTATION: spec.version,
                SPEC_ANNOTATION: spec_json,
            },
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector(spec.agent_id)},
            "strategy": rollout,
            "progressDeadlineSeconds": settings.progress_deadline_seconds,
            "revisionHistoryLimit": 10,
            "template": {
                "metadata": {
                    "labels": {**labels, SPEC_HASH: spec.spec_hash},
                    "annotations": {VERSION_ANNOTATION: spec.version},
                },
                "spec": {
                    "containers": [container],
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
    }


def service(spec: WorkloadSpec, *, settings: FleetKubernetesSettings) -> dict[str, Any]:
    """The ClusterIP Service in front of the agent's pods (port ``service_port`` → ``http``)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": object_name(spec.agent_name, spec.agent_id),
            "namespace": settings.namespace,
            "labels": labels_of(spec),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector(spec.agent_id),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": settings.service_port,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def spec_of(deployment_doc: Mapping[str, Any]) -> WorkloadSpec | None:
    """The workload spec a Deployment of ours was made from (its annotation)."""
    raw = (deployment_doc.get("metadata") or {}).get("annotations", {}).get(SPEC_ANNOTATION)
    if not raw:
        return None
    try:
        return WorkloadSpec.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None


def agent_id_of(doc: Mapping[str, Any]) -> uuid.UUID | None:
    value = ((doc.get("metadata") or {}).get("labels") or {}).get(AGENT_ID)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
