"""From an agent to the spec a driver runs, and the differences between two specs.

An agent's runtime fields live in its ``config`` (``command``, ``args``, ``env``,
``working_dir``, ``port``, ``health_path``, ``image``, ``template``): they are versioned with
the rest of the config by deployments, the Kubernetes driver reads ``image`` from the same
place, and no migration of the agents table was needed for them. Everything else in the config
goes to the replica as ``AGENTDECK_AGENT_CONFIG`` (JSON), so a template program reads its LLM
endpoint from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from agentdeck.agents.models import Agent, AgentType
from agentdeck.errors import FieldIssue, Invalid
from agentdeck.fleet.driver import WorkloadSpec
from agentdeck.fleet.schemas import RUNTIME_KEYS, RuntimeSpec
from agentdeck.fleet.templates import HEALTH_PATH as TEMPLATE_HEALTH_PATH
from agentdeck.fleet.templates import command as template_command


def runtime_of_config(
    config: Mapping[str, Any], *, loc: Sequence[str] = ("config",)
) -> RuntimeSpec:
    """The runtime fields of an agent's config, checked (422 naming the config field)."""
    fields = {k: v for k, v in config.items() if k in RUNTIME_KEYS}
    try:
        return RuntimeSpec.model_validate(fields)
    except ValidationError as exc:
        issues = [
            FieldIssue(loc=[*loc, *err["loc"]], message=err["msg"], type=err["type"])
            for err in exc.errors()
        ]
        raise Invalid(
            "the agent's config has invalid runtime fields", kind="invalid-spec", errors=issues
        ) from exc


def program_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config the agent's program gets (everything but the runtime fields)."""
    return {k: v for k, v in config.items() if k not in RUNTIME_KEYS}


def config_with(config: Mapping[str, Any], runtime: RuntimeSpec) -> dict[str, Any]:
    """``config`` with its runtime fields replaced by ``runtime``'s (unset ones removed)."""
    out = program_config(config)
    out.update(runtime.model_dump(exclude_none=True, exclude_defaults=True))
    return out


def build_spec(
    agent: Agent, runtime: RuntimeSpec, *, restart_generation: int, loc: Sequence[str]
) -> WorkloadSpec:
    """The workload spec of ``agent`` running ``runtime`` (422 when it names nothing to run)."""
    template: str | None = runtime.template
    if template is None and agent.type is not AgentType.custom:
        template = agent.type.value
    command, args = runtime.command, tuple(runtime.args)
    if command is None and template is not None and runtime.image is None:
        command, *rest = template_command(template)  # this Python, `agentdeck agent run`
        args = (*rest, *args)
    if command is None and runtime.image is None:
        raise Invalid(
            "a custom agent needs a command to run",
            kind="command-required",
            errors=[
                FieldIssue(
                    loc=[*loc, "command"],
                    message="a custom agent needs `command` in its config (and optionally "
                    "args, env, working_dir, port, health_path)",
                    type="command-required",
                )
            ],
        )
    health_path = runtime.health_path
    if health_path is None and template is not None and runtime.command is None:
        health_path = TEMPLATE_HEALTH_PATH
    return WorkloadSpec(
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        agent_name=agent.name,
        version=agent.version,
        command=command,
        args=args,
        env=dict(runtime.env),
        working_dir=runtime.working_dir,
        port=runtime.port,
        health_path=health_path,
        image=runtime.image,
        template=template,
        cpu_limit=agent.cpu_limit,
        memory_limit=agent.memory_limit,
        config=program_config(agent.config or {}),
        restart_generation=restart_generation,
    )


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Leaves by dotted path; an empty mapping has none (so ``{}`` and absent compare equal)."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Changed leaves between two JSON documents: ``{path, before, after}`` by path."""
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    _flatten(before, "", left)
    _flatten(after, "", right)
    changes = []
    for path in sorted(set(left) | set(right)):
        old, new = left.get(path), right.get(path)
        if old != new:
            changes.append({"path": path, "before": old, "after": new})
    return changes
