"""Start a template agent or the echo endpoint in this process (``agentdeck agent …``)."""

from __future__ import annotations

import logging
import socket

import uvicorn

from agentdeck.fleet.templates.app import create_agent_app
from agentdeck.fleet.templates.config import TemplateConfig
from agentdeck.fleet.templates.echo import ECHO_NOTICE, create_echo_app

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # One line per LLM call from httpx is noise beside uvicorn's access log.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def serve_agent(
    template: str,
    *,
    config: TemplateConfig,
    name: str | None,
    host: str,
    port: int,
    log_level: str = "info",
) -> None:
    """Serve a template agent until SIGTERM/SIGINT."""
    _logging(log_level)
    agent = name or template
    app = create_agent_app(template, config, name=agent, replica=f"{socket.gethostname()}:{port}")
    logging.getLogger("agentdeck.agent").info(
        "%s agent %r on http://%s:%d (LLM endpoint: %s)",
        template,
        agent,
        host,
        port,
        config.llm.base_url or "none",
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")


def serve_echo(*, host: str, port: int, log_level: str = "info") -> None:
    """Serve the echo endpoint (not a model) until SIGTERM/SIGINT."""
    _logging(log_level)
    logging.getLogger("agentdeck.echo").warning(
        "%s; OpenAI-compatible base URL http://%s:%d/v1", ECHO_NOTICE, host, port
    )
    uvicorn.run(create_echo_app(), host=host, port=port, log_level=log_level, lifespan="on")
