"""The request for one batch: masked lines as short references, the answer's JSON schema.

Lines are shown as ``L<n>`` (their position in the batch), not by their store ids: shorter, and
the model can only cite lines it was shown. The prompt is kept within the batch's token share
(estimated at :data:`CHARS_PER_TOKEN` characters a token): when the batch does not fit, error
and warning lines are kept first, and the prompt says how many lines were left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentdeck.logintel.analysis import AnomalySeverity, AnomalyType, BatchContext, BatchLine
from agentdeck.logintel.llm.pii import Masker

CHARS_PER_TOKEN = 4
MAX_MESSAGE_CHARS = 400
MAX_TEMPLATES = 50
_RANK = {"CRITICAL": 0, "FATAL": 0, "ERROR": 1, "WARNING": 2, "WARN": 2}

SYSTEM = (
    "You are a site-reliability engineer reviewing one batch of application log lines. Find "
    "abnormal behaviour: error spikes, latency increases, unusual patterns, resource "
    "exhaustion, security incidents, performance degradation. Report only what the lines "
    "support; an empty list is a good answer for a healthy batch. Values such as <EMAIL_1> or "
    "<IP_2> are masked personal data or secrets: refer to them exactly as written. Cite lines "
    "by their reference (L1, L2, ...). Answer with one JSON object only, no prose:\n"
    '{"anomalies": [{"anomaly_type": one of '
    + ", ".join(t.value for t in AnomalyType)
    + ', "severity": one of '
    + ", ".join(s.value for s in AnomalySeverity)
    + ', "service": the service concerned, "description": one sentence, "explanation": why '
    'this is abnormal and its likely cause, "confidence": 0 to 1, "recommended_actions": '
    '[short imperative steps], "evidence_lines": ["L3", ...], "evidence_templates": [template '
    "ids]}]}"
)


def schema() -> dict[str, Any]:
    """The answer's JSON schema (strict: every property required, no others)."""
    item = {
        "type": "object",
        "properties": {
            "anomaly_type": {"type": "string", "enum": [t.value for t in AnomalyType]},
            "severity": {"type": "string", "enum": [s.value for s in AnomalySeverity]},
            "service": {"type": "string"},
            "description": {"type": "string"},
            "explanation": {"type": "string"},
            "confidence": {"type": "number"},
            "recommended_actions": {"type": "array", "items": {"type": "string"}},
            "evidence_lines": {"type": "array", "items": {"type": "string"}},
            "evidence_templates": {"type": "array", "items": {"type": "integer"}},
        },
        "required": [
            "anomaly_type",
            "severity",
            "service",
            "description",
            "explanation",
            "confidence",
            "recommended_actions",
            "evidence_lines",
            "evidence_templates",
        ],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"anomalies": {"type": "array", "items": item}},
        "required": ["anomalies"],
        "additionalProperties": False,
    }


def response_format() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "log_anomalies", "strict": True, "schema": schema()},
    }


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, str]]
    #: ``L<n>`` reference -> the line it stands for (only the lines shown).
    refs: dict[str, BatchLine]
    estimated_tokens: int
    omitted: int


def _line_text(ref: str, line: BatchLine, masker: Masker) -> str:
    when = datetime.fromtimestamp(line.ts_ns / 1e9, UTC).strftime("%H:%M:%S.%f")[:-3]
    message = (
        line.message
        if len(line.message) <= MAX_MESSAGE_CHARS
        else (line.message[:MAX_MESSAGE_CHARS] + "…")
    )
    template = f" T{line.template_id}" if line.template_id is not None else ""
    service = masker.mask(line.service)
    return f"{ref} {when} {service} {line.severity}{template}: {masker.mask(message)}"


def build(batch: BatchContext, masker: Masker, *, token_share: int) -> Prompt:
    """The messages for ``batch``, masked, within ``token_share`` estimated prompt tokens."""
    lines = list(batch.lines)
    severities = Counter(line.severity.upper() for line in lines)
    services = Counter(line.service for line in lines)
    errors = severities["ERROR"] + severities["CRITICAL"]
    span = (lines[-1].ts_ns - lines[0].ts_ns) / 1e9 if lines else 0.0
    rate = errors / len(lines) if lines else 0.0
    header = (
        f"Stream: {masker.mask(batch.stream_name)}\n"
        f"Lines: {len(lines)} over {span:.1f} s; error rate {rate:.1%}; by severity: "
        + ", ".join(f"{k} {v}" for k, v in severities.most_common())
        + "; by service: "
        + ", ".join(f"{masker.mask(k)} {v}" for k, v in services.most_common(20))
    )
    used_templates = {line.template_id for line in lines if line.template_id is not None}
    templates = [
        f"T{tid}: {masker.mask(text)}"
        for tid, text in sorted(batch.templates.items())
        if tid in used_templates
    ][:MAX_TEMPLATES]
    budget = token_share * CHARS_PER_TOKEN - len(SYSTEM) - len(header) - 200
    template_block = "\n".join(templates)
    if len(template_block) > budget // 4:
        template_block = ""
    budget -= len(template_block)

    order = sorted(range(len(lines)), key=lambda i: (_RANK.get(lines[i].severity.upper(), 3), i))
    chosen: dict[int, str] = {}
    for i in order:
        text = _line_text(f"L{i + 1}", lines[i], masker)
        if len(text) + 1 > budget:
            continue
        budget -= len(text) + 1
        chosen[i] = text
    omitted = len(lines) - len(chosen)
    body = "\n".join(chosen[i] for i in sorted(chosen))
    user = header
    if template_block:
        user += "\nTemplates (<*> marks a variable):\n" + template_block
    user += "\nLog lines (reference, time UTC, service, severity, template, message):\n" + body
    if omitted:
        user += f"\n({omitted} more lines not shown.)"
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    return Prompt(
        messages=messages,
        refs={f"L{i + 1}": lines[i] for i in chosen},
        estimated_tokens=estimate_tokens(SYSTEM) + estimate_tokens(user) + 8,
        omitted=omitted,
    )
