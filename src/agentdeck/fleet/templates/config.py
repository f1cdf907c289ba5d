"""The configuration a template agent reads: its LLM endpoint, prompts, labels, schema.

It is the agent's ``config`` (the same JSON object stored on the agent), given to
``agentdeck agent run --config`` as a JSON text or a file. Keys the templates do not know
(``auto_scaling``, ``source``, …) belong to other parts of agentdeck and are ignored; inside
``llm`` and ``telemetry`` an unknown key is an error, so a typo fails at start, not later.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentdeck.errors import FieldIssue, Invalid

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Label = Annotated[str, Field(min_length=1, max_length=200)]


class LLMConfig(BaseModel):
    """``config.llm``: an OpenAI-compatible chat-completions endpoint."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API, including its version path: "
        "https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://host:8000/v1 "
        "(vLLM). The agent posts to `{base_url}/chat/completions`.",
    )
    model: str | None = Field(None, max_length=200, description="Model name sent in requests.")
    api_key_env: str | None = Field(
        None,
        description="Name of the environment variable holding the API key (sent as a bearer "
        "token). The key itself never goes into the config.",
    )
    timeout: float = Field(60.0, gt=0, le=600, description="Seconds per LLM call.")
    max_tokens: int = Field(512, ge=1, le=1_000_000, description="Completion token limit.")
    temperature: float | None = Field(
        None,
        ge=0,
        le=2,
        description="Sampling temperature; unset: the endpoint's default for `llm`, 0 for "
        "`classifier` and `extractor`.",
    )
    json_mode: bool = Field(
        True,
        description="Ask for a JSON answer (`response_format: json_object`) in `classifier` "
        "and `extractor`; turn off for endpoints that refuse it.",
    )
    input_cost_per_million: float = Field(
        0.0, ge=0, description="US dollars per million prompt tokens (for the cost metric)."
    )
    output_cost_per_million: float = Field(
        0.0, ge=0, description="US dollars per million completion tokens."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_inline_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError(
                "config.llm.api_key is not accepted: put the key in an environment variable "
                "of the agent and name it in config.llm.api_key_env"
            )
        return data

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"base_url {value!r} is not an http(s) URL")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.fullmatch(value):
            raise ValueError(f"api_key_env {value!r} is not an environment variable name")
        return value

    @property
    def target(self) -> str:
        """The endpoint's name in the call graph (``host:port``)."""
        parts = urlsplit(self.base_url or "")
        return parts.netloc or "llm"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_cost_per_million
            + completion_tokens * self.output_cost_per_million
        ) / 1_000_000


class TelemetryConfig(BaseModel):
    """``config.telemetry``: how often CPU and memory are sampled."""

    model_config = ConfigDict(extra="forbid")

    interval_seconds: float = Field(10.0, ge=0.1, le=3600)


class TemplateConfig(BaseModel):
    """The part of an agent's config the templates read."""

    model_config = ConfigDict(extra="ignore")

    llm: LLMConfig = Field(default_factory=LLMConfig)
    system_prompt: str | None = Field(
        None,
        max_length=20_000,
        description="`llm`: the system message; `classifier`, `extractor`: extra instructions.",
    )
    labels: list[Label] = Field(
        default_factory=list, max_length=200, description="`classifier`: the default labels."
    )
    schema_: dict[str, Any] | None = Field(
        None,
        alias="schema",
        description="`extractor`: the default JSON Schema of what to extract (an object schema).",
    )
    fields: list[str] | dict[str, str] | None = Field(
        None,
        description="`extractor`: the default fields, as names or as name → description.",
    )
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)


def parse_config(text: str | None) -> TemplateConfig:
    """The config from a JSON text, or from the file it names (text not starting with ``{``);
    ``None`` or empty: the defaults.

    Raises :class:`~agentdeck.errors.Invalid` naming the offending keys.
    """
    if text is None or not text.strip():
        return TemplateConfig()
    source = "config"
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise Invalid(f"config file {path}: {exc.strerror or exc}") from exc
        source = str(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Invalid(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Invalid(f"{source} must be a JSON object")
    try:
        return TemplateConfig.model_validate(data)
    except ValidationError as exc:
        issues = [
            FieldIssue(
                loc=["config", *(p if isinstance(p, int) else str(p) for p in err["loc"])],
                message=str(err["msg"]),
                type=str(err["type"]),
            )
            for err in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in issues)
        raise Invalid(f"invalid agent config: {detail}", errors=issues) from exc
