"""Reading what a model answered: a JSON object somewhere in the text, a label among many.

Models wrap JSON in code fences, add a sentence before it, or answer a bare word; these
functions take the answer as it comes and find what was asked for, or say it is not there.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (whole text, a fenced block, or embedded), or None."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _norm(text: str) -> str:
    return " ".join(text.strip().strip("\"'`.").casefold().split())


def match_label(answer: str, labels: list[str]) -> tuple[str | None, float | None]:
    """The label the answer names, and a confidence when the model gave one.

    In order: a JSON object's ``label`` (or ``category``/``class``) equal to a label up to case
    and spaces; the whole answer equal to a label; exactly one label occurring in the answer
    as a whole word. Anything else (no label, or several) is ``(None, None)``.
    """
    by_norm = {_norm(label): label for label in labels}
    data = json_object(answer)
    if data is not None:
        for key in ("label", "category", "class"):
            value = data.get(key)
            if isinstance(value, str) and _norm(value) in by_norm:
                return by_norm[_norm(value)], _confidence(data.get("confidence"))
    whole = by_norm.get(_norm(answer))
    if whole is not None:
        return whole, None
    folded = answer.casefold()
    found = {
        label
        for norm, label in by_norm.items()
        if re.search(rf"(?<!\w){re.escape(norm)}(?!\w)", folded)
    }
    if len(found) == 1:
        return found.pop(), None
    return None, None


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if 0.0 <= number <= 1.0 else None


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind in {"integer", "number"} and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    types = _JSON_TYPES.get(kind)
    return types is None or isinstance(value, types)


def check_object(data: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The ways ``data`` breaks an object schema's ``required`` and top-level ``type``s.

    A light check of what extraction needs (the keys asked for, their JSON types), not a
    full JSON Schema validator.
    """
    problems = []
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and data.get(name) is None:
            problems.append(f"{name!r} is missing")
    for name, spec in properties.items():
        if name not in data or data[name] is None or not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
        if kinds and not any(_is_type(data[name], str(k)) for k in kinds):
            problems.append(f"{name!r} is not of type {' or '.join(map(str, kinds))}")
    return problems
