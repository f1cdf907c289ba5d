"""Prometheus rule files (YAML ``groups``) in and out.

Import reads ``groups[].{name, interval, rules[].{alert, expr, for, keep_firing_for, labels,
annotations}}``; the ``severity`` label becomes the rule's severity (``warning`` when absent)
and the group's ``interval`` its evaluation interval (60 s when absent). Recording rules and
rules with bad fields are reported one by one; the good rules are kept. Export writes the same
shape, one group per rule group, with ``severity`` back among the labels, so an exported file
loads in Prometheus (``promtool check rules``) and imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from agentdeck.alerting.models import AlertRule, Severity
from agentdeck.alerting.rules.compile import DurationError, format_duration, parse_duration
from agentdeck.alerting.rules.schemas import AlertRuleCreate, ImportError_

DEFAULT_INTERVAL_SECONDS = 60.0


class RuleFileError(ValueError):
    """The file is not YAML or has no ``groups`` list (nothing can be imported)."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    rules: list[AlertRuleCreate]
    errors: list[ImportError_]


def _error(
    group: str | None, index: int | None, name: str | None, field: str | None, message: str
) -> ImportError_:
    return ImportError_(group=group, index=index, name=name, field=field, message=message)


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise DurationError(f"{field} must be a duration string such as '5m', not a number")
    return parse_duration(str(value))


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{field} must be a mapping of names to strings")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _rule(raw: Any, *, group: str, index: int, interval: float) -> AlertRuleCreate | ImportError_:
    if not isinstance(raw, dict):
        return _error(group, index, None, None, "a rule must be a mapping")
    if "record" in raw:
        return _error(
            group, index, str(raw["record"]), "record", "recording rules are not supported"
        )
    name = raw.get("alert")
    if not isinstance(name, str) or not name.strip():
        return _error(group, index, None, "alert", "an alerting rule needs an 'alert' name")
    unknown = set(raw) - {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
    if unknown:
        return _error(group, index, name, sorted(unknown)[0], "unknown field")
    try:
        labels = _string_map(raw.get("labels"), "labels")
        annotations = _string_map(raw.get("annotations"), "annotations")
        severity_text = labels.pop("severity", Severity.warning.value)
        try:
            severity = Severity(severity_text)
        except ValueError:
            return _error(
                group,
                index,
                name,
                "labels.severity",
                f"severity {severity_text!r} must be one of info, warning, error, critical",
            )
        for_seconds = _seconds(raw.get("for", "0s"), "for")
        keep = _seconds(raw.get("keep_firing_for", "0s"), "keep_firing_for")
    except (DurationError, ValueError) as exc:
        return _error(group, index, name, None, str(exc))
    expr = raw.get("expr")
    if not isinstance(expr, str | int | float) or isinstance(expr, bool):
        return _error(group, index, name, "expr", "expr must be a PromQL string")
    try:
        return AlertRuleCreate(
            name=name,
            group=group,
            expr=str(expr),
            for_seconds=for_seconds,
            keep_firing_for_seconds=keep,
            severity=severity,
            labels=labels,
            annotations=annotations,
            interval_seconds=interval,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        return _error(group, index, name, field, str(first["msg"]))


def parse_rule_file(content: str) -> ParsedFile:
    """The alerting rules of a rule file and the problems of the ones that could not be read.

    Expressions are checked by the caller (with the PromQL parser), not here.
    """
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise RuleFileError("a rule file is a mapping with a 'groups' list")
    rules: list[AlertRuleCreate] = []
    errors: list[ImportError_] = []
    seen: set[str] = set()
    for group_index, group in enumerate(document["groups"]):
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            errors.append(
                _error(None, group_index, None, "name", "each group needs a 'name' string")
            )
            continue
        group_name = group["name"]
        try:
            interval = (
                _seconds(group["interval"], "interval")
                if group.get("interval") is not None
                else DEFAULT_INTERVAL_SECONDS
            )
        except DurationError as exc:
            errors.append(_error(group_name, None, None, "interval", str(exc)))
            continue
        raw_rules = group.get("rules") or []
        if not isinstance(raw_rules, list):
            errors.append(_error(group_name, None, None, "rules", "rules must be a list"))
            continue
        for index, raw in enumerate(raw_rules):
            parsed = _rule(raw, group=group_name, index=index, interval=max(interval, 1.0))
            if isinstance(parsed, ImportError_):
                errors.append(parsed)
            elif parsed.name in seen:
                errors.append(
                    _error(group_name, index, parsed.name, "alert", "duplicate rule name in file")
                )
            else:
                seen.add(parsed.name)
                rules.append(parsed)
    return ParsedFile(rules, errors)


class _Literal(str):
    """A string YAML writes as a block when it spans lines."""


def _represent(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _represent)


def export_rule_file(rules: Sequence[AlertRule]) -> str:
    """A Prometheus rule file with the given rules, grouped by their rule group.

    A group's ``interval`` is the shortest interval of its rules.
    """
    groups: dict[str, list[AlertRule]] = {}
    for rule in rules:
        groups.setdefault(rule.group_name, []).append(rule)
    out: list[dict[str, Any]] = []
    for name, members in groups.items():
        interval = min(r.interval_seconds for r in members)
        entries = []
        for rule in members:
            entry: dict[str, Any] = {"alert": rule.name, "expr": _Literal(rule.expr)}
            if rule.for_seconds:
                entry["for"] = format_duration(rule.for_seconds)
            if rule.keep_firing_for_seconds:
                entry["keep_firing_for"] = format_duration(rule.keep_firing_for_seconds)
            entry["labels"] = {**{str(k): str(v) for k, v in rule.labels.items()}}
            entry["labels"]["severity"] = rule.severity.value
            if rule.annotations:
                entry["annotations"] = {
                    str(k): _Literal(str(v)) for k, v in rule.annotations.items()
                }
            entries.append(entry)
        out.append({"name": name, "interval": format_duration(interval), "rules": entries})
    text: str = yaml.dump(
        {"groups": out}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return text
