"""Reading the model's answer: JSON wherever it is, then only the items that make sense.

The answer may be plain JSON, JSON in a fenced block (```json or a bare ```), or JSON with
prose around it; the first JSON object or array found is used. An object's ``anomalies`` list
(or a bare list) holds the items. An item with an unknown type or severity is dropped; a
missing or unreadable confidence is 0.5 (clamped into [0, 1]); evidence is kept only for lines
and templates the batch has. Texts are unmasked for the UI.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from agentdeck.logintel.analysis import AnomalyDraft, AnomalySeverity, AnomalyType, BatchLine
from agentdeck.logintel.llm.pii import Masker

DEFAULT_CONFIDENCE = 0.5
MAX_EVIDENCE = 50
MAX_ACTIONS = 10
MAX_TEXT = 2000
DETECTOR = "llm"

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()
_E = TypeVar("_E", AnomalyType, AnomalySeverity)


class NoJSON(ValueError):
    """The answer holds no JSON object or array."""


def extract_json(content: str) -> Any:
    """The first JSON value (object or array) in ``content``."""
    text = content.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for match in _FENCE.finditer(text):
        try:
            return json.loads(match.group(1).strip())
        except ValueError:
            continue
    for i, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = _DECODER.raw_decode(text, i)
            except ValueError:
                continue
            if isinstance(value, dict | list):
                return value
    raise NoJSON("no JSON object in the answer")


def items_of(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("anomalies", "items", "results"):
            inner = value.get(key)
            if isinstance(inner, list):
                return inner
        if "anomaly_type" in value or "type" in value:
            return [value]
    return []


@dataclass(frozen=True, slots=True)
class Parsed:
    drafts: tuple[AnomalyDraft, ...]
    dropped: int


def _enum(kind: type[_E], raw: Any) -> _E | None:
    if not isinstance(raw, str):
        return None
    try:
        return kind(raw.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        return None


def _confidence(raw: Any) -> float:
    if isinstance(raw, bool):
        return DEFAULT_CONFIDENCE
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().rstrip("%")) / (100 if raw.strip().endswith("%") else 1)
        except ValueError:
            return DEFAULT_CONFIDENCE
    if not isinstance(raw, int | float) or raw != raw:  # NaN
        return DEFAULT_CONFIDENCE
    return min(1.0, max(0.0, float(raw)))


def _text(raw: Any, masker: Masker) -> str:
    return masker.unmask(raw.strip()[:MAX_TEXT]) if isinstance(raw, str) else ""


def _strings(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [str(x) for x in raw if isinstance(x, str | int) and not isinstance(x, bool)]
    return []


def _line_ids(raw: Any, refs: Mapping[str, BatchLine], by_id: Mapping[str, BatchLine]) -> list[str]:
    out: dict[str, None] = {}
    for value in _strings(raw):
        key = value.strip()
        line = refs.get(key) or refs.get(f"L{key}") or refs.get(key.upper()) or by_id.get(key)
        if line is not None:
            out[line.id] = None
    return list(out)[:MAX_EVIDENCE]


def _template_ids(raw: Any, known: set[int]) -> list[int]:
    out: dict[int, None] = {}
    for value in _strings(raw):
        text = value.strip().lstrip("Tt")
        if text.isdigit() and int(text) in known:
            out[int(text)] = None
    return list(out)


def drafts(
    value: Any, *, refs: Mapping[str, BatchLine], lines: list[BatchLine], masker: Masker
) -> Parsed:
    """The valid items of a decoded answer as drafts (texts unmasked)."""
    by_id = {line.id: line for line in lines}
    known_templates = {line.template_id for line in lines if line.template_id is not None}
    kept: list[AnomalyDraft] = []
    dropped = 0
    for item in items_of(value):
        if not isinstance(item, dict):
            dropped += 1
            continue
        kind = _enum(AnomalyType, item.get("anomaly_type", item.get("type")))
        severity = _enum(AnomalySeverity, item.get("severity"))
        if kind is None or severity is None:
            dropped += 1
            continue
        line_ids = _line_ids(item.get("evidence_lines", item.get("evidence")), refs, by_id)
        template_ids = _template_ids(item.get("evidence_templates"), known_templates)
        evidence = [by_id[i] for i in line_ids]
        service = _text(item.get("service"), masker)
        if not service:
            counted = Counter(line.service for line in (evidence or lines))
            service = counted.most_common(1)[0][0] if counted else ""
        count = len(line_ids)
        if template_ids:
            count = max(count, sum(1 for line in lines if line.template_id in template_ids))
        actions = [
            _text(a, masker) for a in _strings(item.get("recommended_actions", item.get("actions")))
        ]
        kept.append(
            AnomalyDraft(
                anomaly_type=kind,
                severity=severity,
                service=service,
                description=_text(item.get("description"), masker) or kind.value.replace("_", " "),
                confidence=_confidence(item.get("confidence", item.get("confidence_score"))),
                detector=DETECTOR,
                recommended_actions=tuple(a for a in actions if a)[:MAX_ACTIONS],
                evidence_line_ids=tuple(line_ids),
                evidence_template_ids=tuple(template_ids),
                evidence_count=count,
                explanation=_text(item.get("explanation", item.get("analysis")), masker),
            )
        )
    return Parsed(tuple(kept), dropped)
