"""What each template does with an ``/invoke`` request: ``llm``, ``classifier``, ``extractor``.

Each template is a request model, a response model and one coroutine that builds the
messages, calls the endpoint and reads the answer. They raise domain errors only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentdeck.errors import invalid
from agentdeck.fleet.templates.config import Label, TemplateConfig
from agentdeck.fleet.templates.llm_client import BadAnswer, Completion, chat
from agentdeck.fleet.templates.parsing import check_object, json_object, match_label

MAX_TEXT = 200_000


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated: bool = Field(
        False, description="True when the endpoint reported no usage and it was estimated."
    )


class _Answer(BaseModel):
    model: str = Field(description="The model that answered, as the endpoint named it.")
    usage: UsageOut


def _usage(done: Completion) -> UsageOut:
    u = done.usage
    return UsageOut(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.total_tokens,
        estimated=u.estimated,
    )


# --- llm ---------------------------------------------------------------------------------------


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_TEXT)


class LLMRequest(BaseModel):
    """A prompt, or a whole conversation."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    messages: list[Message] | None = Field(None, min_length=1, max_length=200)
    system: str | None = Field(
        None, max_length=20_000, description="System message; default config.system_prompt."
    )
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    temperature: float | None = Field(None, ge=0, le=2)

    @model_validator(mode="after")
    def _one_input(self) -> LLMRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt and messages")
        return self


class LLMResponse(_Answer):
    completion: str
    finish_reason: str | None = None


async def run_llm(
    http: httpx.AsyncClient, config: TemplateConfig, request: LLMRequest
) -> tuple[LLMResponse, Completion]:
    messages: list[dict[str, str]] = []
    system = request.system if request.system is not None else config.system_prompt
    if system:
        messages.append({"role": "system", "content": system})
    if request.messages is not None:
        messages += [m.model_dump() for m in request.messages]
    else:
        messages.append({"role": "user", "content": request.prompt or ""})
    done = await chat(
        http,
        config.llm,
        messages,
        max_tokens=request.max_tokens,
        temperature=request.temperature
        if request.temperature is not None
        else config.llm.temperature,
    )
    answer = LLMResponse(
        completion=done.content,
        finish_reason=done.finish_reason,
        model=done.model,
        usage=_usage(done),
    )
    return answer, done


# --- classifier --------------------------------------------------------------------------------


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    labels: list[Label] | None = Field(
        None, min_length=2, max_length=200, description="The labels; default config.labels."
    )


class ClassifyResponse(_Answer):
    label: str = Field(description="One of the labels.")
    confidence: float | None = Field(None, description="The model's own 0–1 confidence, if any.")


def _deterministic(config: TemplateConfig) -> float:
    return config.llm.temperature if config.llm.temperature is not None else 0.0


async def _ask_json(
    http: httpx.AsyncClient, config: TemplateConfig, system: str, text: str
) -> Completion:
    """One deterministic chat turn that must answer JSON: ``system`` (plus the agent's own
    system prompt, if any), then the user's ``text``."""
    if config.system_prompt:
        system += "\n\n" + config.system_prompt
    return await chat(
        http,
        config.llm,
        [{"role": "system", "content": system}, {"role": "user", "content": text}],
        temperature=_deterministic(config),
        json_answer=True,
    )


async def run_classifier(
    http: httpx.AsyncClient, config: TemplateConfig, request: ClassifyRequest
) -> tuple[ClassifyResponse, Completion]:
    labels = request.labels or config.labels
    if len(labels) < 2:
        raise invalid(
            "labels-missing",
            ["body", "labels"],
            "give at least two labels in the request or in config.labels",
        )
    system = (
        "You classify text. Choose exactly one label for the user's text from this list: "
        f"{json.dumps(labels, ensure_ascii=False)}. Answer with a JSON object "
        '{"label": "<one of the labels, verbatim>", "confidence": <number from 0 to 1>} '
        "and nothing else."
    )
    done = await _ask_json(http, config, system, request.text)
    label, confidence = match_label(done.content, labels)
    if label is None:
        raise BadAnswer(
            f"the model's answer names none (or several) of the labels {labels}: "
            f"{done.content[:300]!r}",
            title="The model's answer is not one of the labels",
            completion=done,
        )
    answer = ClassifyResponse(
        label=label, confidence=confidence, model=done.model, usage=_usage(done)
    )
    return answer, done


# --- extractor ---------------------------------------------------------------------------------


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    schema_: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema of an object; default config.schema."
    )
    fields: list[str] | dict[str, str] | None = Field(
        None,
        description="Field names, or name → description (instead of a schema); "
        "default config.fields.",
    )


class ExtractResponse(_Answer):
    data: dict[str, Any] = Field(description="The extracted object.")


def object_schema(
    schema: dict[str, Any] | None, fields: list[str] | dict[str, str] | None, where: str
) -> dict[str, Any]:
    """The object schema to extract: the given one, or one made from field names."""
    if schema is not None:
        if schema.get("type", "object") != "object" or not isinstance(
            schema.get("properties", {}), dict
        ):
            raise invalid(
                "schema-not-object",
                [where, "schema"],
                'the schema must describe an object ("type": "object" with "properties")',
            )
        return schema
    if fields:
        if isinstance(fields, dict):
            properties: dict[str, Any] = {k: {"description": v} for k, v in fields.items()}
        else:
            properties = {name: {} for name in fields}
        return {"type": "object", "properties": properties}
    raise invalid(
        "schema-missing",
        [where, "schema"],
        "give a schema or fields in the request, or config.schema or config.fields",
    )


async def run_extractor(
    http: httpx.AsyncClient, config: TemplateConfig, request: ExtractRequest
) -> tuple[ExtractResponse, Completion]:
    if request.schema_ is not None or request.fields:
        schema = object_schema(request.schema_, request.fields, "body")
    else:
        schema = object_schema(config.schema_, config.fields, "config")
    system = (
        "You extract information from the user's text. Answer with one JSON object that "
        f"follows this JSON Schema: {json.dumps(schema, ensure_ascii=False)}. Use null for a "
        "value the text does not give. Answer with the JSON object only."
    )
    done = await _ask_json(http, config, system, request.text)
    data = json_object(done.content)
    if data is None:
        raise BadAnswer(
            f"the model's answer holds no JSON object: {done.content[:300]!r}",
            title="The model's answer is not a JSON object",
            completion=done,
        )
    properties = schema.get("properties") or {}
    if properties:
        data = {name: data.get(name) for name in properties}
    problems = check_object(data, schema)
    if problems:
        raise BadAnswer(
            "the model's answer does not fit the schema: " + "; ".join(problems),
            title="The model's answer does not fit the schema",
            completion=done,
        )
    return ExtractResponse(data=data, model=done.model, usage=_usage(done)), done


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    summary: str
    request: type[BaseModel]
    response: type[_Answer]
    run: Callable[..., Awaitable[tuple[Any, Completion]]]


TEMPLATES: dict[str, Template] = {
    "llm": Template(
        "llm", "Prompt (or conversation) in, completion out.", LLMRequest, LLMResponse, run_llm
    ),
    "classifier": Template(
        "classifier",
        "Text and labels in, one label out.",
        ClassifyRequest,
        ClassifyResponse,
        run_classifier,
    ),
    "extractor": Template(
        "extractor",
        "Text and a JSON Schema (or field names) in, the extracted JSON object out.",
        ExtractRequest,
        ExtractResponse,
        run_extractor,
    ),
}
