"""``agentdeck agent``: run a built-in agent template, or the demo echo endpoint."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from agentdeck.fleet.templates import ENV_CONFIG, ENV_HOST, ENV_NAME, ENV_PORT

agent_app = typer.Typer(
    help="Run the built-in agent templates (llm, classifier, extractor).", no_args_is_help=True
)

DEFAULT_PORT = 8080


class TemplateName(StrEnum):
    llm = "llm"
    classifier = "classifier"
    extractor = "extractor"


PortOption = Annotated[
    int | None,
    typer.Option(
        envvar=ENV_PORT, min=1, max=65535, help=f"Port to listen on (default {DEFAULT_PORT})."
    ),
]
HostOption = Annotated[str, typer.Option(envvar=ENV_HOST, help="Address to listen on.")]
LogLevelOption = Annotated[str, typer.Option(help="debug, info, warning or error.")]


@agent_app.command("run")
def run(
    template: Annotated[TemplateName, typer.Option(help="Which agent program to run.")],
    port: PortOption = None,
    host: HostOption = "127.0.0.1",
    name: Annotated[
        str | None,
        typer.Option(
            envvar=ENV_NAME,
            help="Agent name: the `agent` label of its metrics (default: the template).",
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            envvar=ENV_CONFIG,
            help="The agent's config: a JSON object, or the path of a JSON file "
            "(keys: llm.base_url, llm.model, llm.api_key_env, …; see docs/agent-templates.md).",
        ),
    ] = None,
    log_level: LogLevelOption = "info",
) -> None:
    """Serve a template agent: GET /healthz, POST /invoke.

    Telemetry goes to agentdeck when AGENTDECK_URL and AGENTDECK_API_KEY are set.
    """
    from agentdeck.errors import Invalid
    from agentdeck.fleet.templates.config import parse_config

    try:
        parsed = parse_config(config)
    except Invalid as exc:  # before the web stack is imported: a bad config fails fast
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc

    from agentdeck.fleet.templates.run import serve_agent

    serve_agent(
        template.value,
        config=parsed,
        name=name,
        host=host,
        port=port or DEFAULT_PORT,
        log_level=log_level,
    )


@agent_app.command("echo-llm")
def echo_llm(
    port: PortOption = None,
    host: HostOption = "127.0.0.1",
    log_level: LogLevelOption = "info",
) -> None:
    """Serve the echo endpoint for demos: OpenAI-compatible /v1/chat/completions that
    repeats the last user message. It is not a model."""
    from agentdeck.fleet.templates.run import serve_echo

    serve_echo(host=host, port=port or DEFAULT_PORT, log_level=log_level)
