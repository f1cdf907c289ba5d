"""Annotation templates of alert rules: ``{{ $labels.name }}`` and ``{{ $value }}``.

The subset of Prometheus' Go templates that rule annotations use in practice:

* ``{{ $labels.<name> }}`` (also ``{{ .Labels.<name> }}``): a label of the alerting series,
  empty when the series lacks it;
* ``{{ $value }}`` (also ``{{ .Value }}``): the value of the expression for that series;
* pipelines into ``humanize``, ``humanizePercentage``, ``humanizeDuration``, ``printf "%.2f"``
  (one ``printf`` verb: ``%d``, ``%f``, ``%.Nf``, ``%g``, ``%s``, ``%v``).

:func:`validate` refuses anything else with a message naming the problem, so a rule is
refused when saved rather than rendering nonsense when it fires. :func:`render` never fails
on a template that validated. The evaluator renders annotations with it when it creates an
alert; the rule editor and the backtest use it for previews.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_LABEL_REF = re.compile(r"^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$")
_VALUE_REF = re.compile(r"^(?:\$value|\.Value)$")
_PRINTF = re.compile(r'^printf\s+"(%(?:\.(\d{1,2}))?([dfgsv]))"$')
_FUNCTIONS = ("humanize", "humanizePercentage", "humanizeDuration")


class TemplateError(ValueError):
    """The template uses syntax outside the supported subset (the message says where)."""


@dataclass(frozen=True, slots=True)
class _Action:
    label: str | None  # None: the value
    pipeline: tuple[str, ...]


def _parse_action(text: str, position: int) -> _Action:
    parts = [p.strip() for p in text.split("|")]
    head, pipeline = parts[0], tuple(parts[1:])
    label_match = _LABEL_REF.match(head)
    if label_match:
        label: str | None = label_match[1]
    elif _VALUE_REF.match(head):
        label = None
    else:
        raise TemplateError(
            f"unsupported template action {{{{ {text} }}}} at character {position}: use "
            "{{ $labels.<name> }} or {{ $value }}, optionally piped into humanize, "
            'humanizePercentage, humanizeDuration or printf "%.2f"'
        )
    for step in pipeline:
        if step not in _FUNCTIONS and not _PRINTF.match(step):
            raise TemplateError(
                f"unsupported template function {step!r} at character {position}: use "
                'humanize, humanizePercentage, humanizeDuration or printf "%.2f"'
            )
    return _Action(label, pipeline)


def _actions(template: str) -> list[tuple[re.Match[str], _Action]]:
    found = [(m, _parse_action(m[1], m.start())) for m in _ACTION.finditer(template)]
    # Braces that do not form a complete action are a typo, not literal text.
    rest = _ACTION.sub("", template)
    if "{{" in rest or "}}" in rest:
        index = template.find("{{") if "{{" in rest else template.find("}}")
        raise TemplateError(f"unbalanced '{{{{' or '}}}}' near character {max(index, 0)}")
    return found


def validate(template: str) -> None:
    """Raise :class:`TemplateError` unless ``template`` renders with :func:`render`."""
    _actions(template)


def format_value(value: float | None) -> str:
    """``{{ $value }}`` as Prometheus prints it: shortest float, ``NaN``, ``+Inf``."""
    return "" if value is None else format_number(value)


def format_number(value: float) -> str:
    """A number as PromQL and Prometheus write it: ``70``, ``0.5``, ``1e-06``, ``+Inf``,
    ``NaN`` (also the literal of a compiled rule's threshold)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return format_value(value)
    prefixes = (
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1.0, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
    )
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.4g}{prefix}"
    return f"{value:.4g}"


def _humanize_duration(seconds: float) -> str:
    if math.isnan(seconds) or math.isinf(seconds):
        return format_value(seconds)
    if abs(seconds) < 1:
        return f"{seconds * 1000:.4g}ms"
    sign = "-" if seconds < 0 else ""
    total = abs(seconds)
    days, rest = divmod(int(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return sign + " ".join(parts)


def _apply(step: str, current: str, number: float | None) -> tuple[str, float | None]:
    if step == "humanize" and number is not None:
        return _humanize(number), None
    if step == "humanizePercentage" and number is not None:
        return f"{number * 100:.4g}%", None
    if step == "humanizeDuration" and number is not None:
        return _humanize_duration(number), None
    printf = _PRINTF.match(step)
    if printf and number is not None:
        verb, precision = printf[3], printf[2]
        if verb == "d":
            return str(int(number)) if math.isfinite(number) else format_value(number), None
        if verb == "f":
            digits = int(precision) if precision is not None else 6
            return f"{number:.{digits}f}", None
        if verb == "g":
            return f"{number:g}", None
    return current, None  # a function applied to text keeps the text


def render(template: str, *, labels: Mapping[str, str], value: float | None) -> str:
    """``template`` with its actions replaced (raises :class:`TemplateError` if invalid)."""
    out: list[str] = []
    last = 0
    for match, action in _actions(template):
        out.append(template[last : match.start()])
        number: float | None
        if action.label is None:
            text, number = format_value(value), value
        else:
            text = str(labels.get(action.label, ""))
            try:
                number = float(text)
            except ValueError:
                number = None
        for step in action.pipeline:
            text, number = _apply(step, text, number)
        out.append(text)
        last = match.end()
    out.append(template[last:])
    return "".join(out)


def render_annotations(
    annotations: Mapping[str, str], *, labels: Mapping[str, str], value: float | None
) -> dict[str, str]:
    """Every annotation rendered; one that does not validate is kept as written."""
    rendered: dict[str, str] = {}
    for key, template in annotations.items():
        try:
            rendered[key] = render(str(template), labels=labels, value=value)
        except TemplateError:
            rendered[key] = str(template)
    return rendered
