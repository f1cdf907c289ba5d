"""Kubernetes label selectors over the agent_labels rows: parse, then filter in SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, exists

from agentdeck.agents.models import Agent, AgentLabel
from agentdeck.agents.schemas import check_label_key, check_label_value
from agentdeck.errors import DomainError, invalid

MAX_SELECTOR_REQUIREMENTS = 32

SelectorOp = Literal["exists", "not_exists", "eq", "ne", "in", "notin"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause of a Kubernetes label selector."""

    key: str
    op: SelectorOp
    values: tuple[str, ...] = ()


_KEY = r"(?P<key>[^\s=!(),]+)"
_NOT_EXISTS = re.compile(rf"^!\s*{_KEY}$")
_EXISTS = re.compile(rf"^{_KEY}$")
_EQUALITY = re.compile(rf"^{_KEY}\s*(?P<op>==|=|!=)\s*(?P<value>[^\s=!(),]*)$")
_SET = re.compile(rf"^{_KEY}\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")


def _selector_error(message: str) -> DomainError:
    return invalid("validation-error", ["query", "label"], message)


def _split_selector(selector: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _selector_error("unbalanced ')' in the label selector")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise _selector_error("unbalanced '(' in the label selector")
    parts.append("".join(current))
    return parts


def parse_label_selector(selector: str) -> list[Requirement]:
    """Parse `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated."""
    requirements: list[Requirement] = []
    for raw in _split_selector(selector):
        text = raw.strip()
        if not text:
            raise _selector_error(f"empty requirement in label selector {selector!r}")
        try:
            requirements.append(_parse_requirement(text))
        except ValueError as exc:
            raise _selector_error(f"{text!r}: {exc}") from exc
    if len(requirements) > MAX_SELECTOR_REQUIREMENTS:
        raise _selector_error(
            f"a label selector may have at most {MAX_SELECTOR_REQUIREMENTS} requirements"
        )
    return requirements


def _parse_requirement(text: str) -> Requirement:
    if match := _NOT_EXISTS.match(text):
        return Requirement(check_label_key(match["key"]), "not_exists")
    if match := _SET.match(text):
        values = tuple(v.strip() for v in match["values"].split(","))
        if values == ("",):
            raise ValueError(f"'{match['op']}' needs at least one value")
        op: SelectorOp = "in" if match["op"] == "in" else "notin"
        return Requirement(
            check_label_key(match["key"]), op, tuple(check_label_value(v) for v in values)
        )
    if match := _EQUALITY.match(text):
        op = "ne" if match["op"] == "!=" else "eq"
        return Requirement(check_label_key(match["key"]), op, (check_label_value(match["value"]),))
    if match := _EXISTS.match(text):
        return Requirement(check_label_key(match["key"]), "exists")
    raise ValueError("expected k=v, k!=v, k, !k, 'k in (a,b)' or 'k notin (a,b)'")


def label_condition(requirement: Requirement) -> ColumnElement[bool]:
    """Kubernetes semantics: `!=` and `notin` also match agents without the key."""
    has = exists().where(AgentLabel.agent_id == Agent.id, AgentLabel.key == requirement.key)
    if requirement.op in ("eq", "ne", "in", "notin"):
        has = has.where(AgentLabel.value.in_(requirement.values))
    if requirement.op in ("exists", "eq", "in"):
        return has
    return ~has
