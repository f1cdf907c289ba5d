"""The built-in agent templates ``llm``, ``classifier`` and ``extractor``: real agent programs.

Each is an HTTP API (``GET /healthz``, ``POST /invoke``) that calls an OpenAI-compatible
chat-completions endpoint named in the agent's config and reports its telemetry through
``agentdeck_sdk``. The fleet runs one as::

    command("llm")  # [python, "-m", "agentdeck.cli.main", "agent", "run", "--template", "llm"]

with the environment variables below (``PORT`` chosen by the supervisor). ``docs/
agent-templates.md`` describes the config keys; ``echo`` is a stand-in endpoint for demos.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

#: The template names, as in the agent's ``type``.
TEMPLATE_NAMES: tuple[str, ...] = ("llm", "classifier", "extractor")

#: The port to listen on (``--port`` wins).
ENV_PORT = "PORT"
#: The address to listen on (default 127.0.0.1; ``--host`` wins).
ENV_HOST = "AGENTDECK_AGENT_HOST"
#: The agent's name: the ``agent`` label of its metrics (``--name`` wins; default the template).
ENV_NAME = "AGENTDECK_AGENT_NAME"
#: The agent's config as JSON text, or a path to a JSON file (``--config`` wins).
ENV_CONFIG = "AGENTDECK_AGENT_CONFIG"
#: Where telemetry goes: agentdeck's base URL and an API key (developer role) of the tenant.
ENV_URL = "AGENTDECK_URL"
ENV_API_KEY = "AGENTDECK_API_KEY"
#: The ``replica`` label of the metrics (default ``hostname:port``).
ENV_REPLICA = "AGENTDECK_REPLICA"
#: The memory figure ``agent_memory_percent`` is a percentage of (default: the cgroup's
#: ``memory.max``, else the address-space rlimit, else the machine's memory).
ENV_MEMORY_LIMIT = "AGENTDECK_MEMORY_LIMIT_BYTES"

#: The path the supervisor polls for readiness.
HEALTH_PATH = "/healthz"


def command(
    template: str, *, config: Mapping[str, Any] | None = None, python: str | None = None
) -> list[str]:
    """The argv that runs a template agent (add ``PORT`` and the ``AGENTDECK_*`` env)."""
    if template not in TEMPLATE_NAMES:
        raise ValueError(f"unknown template {template!r}; one of {', '.join(TEMPLATE_NAMES)}")
    argv = [python or sys.executable, "-m", "agentdeck.cli.main", "agent", "run"]
    argv += ["--template", template]
    if config is not None:
        argv += ["--config", json.dumps(dict(config), separators=(",", ":"))]
    return argv
