"""Label matchers as Prometheus and Alertmanager write them: ``name="v"``, ``!=``, ``=~``, ``!~``.

A missing label reads as the empty string, and regular expressions are anchored at both ends,
exactly as in Prometheus (``job=~"api|web"`` does not match ``api-2``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

Op = Literal["=", "!=", "=~", "!~"]
OPS: tuple[Op, ...] = ("=", "!=", "=~", "!~")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

# name, operator, then a double-quoted value (with \" \\ \n escapes) or a bare token.
_MATCHER = re.compile(
    r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"""
    r"""(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^,"{}\s]*))\s*"""
)
_ESCAPE = re.compile(r"\\(.)")


class MatcherError(ValueError):
    """A matcher that cannot be parsed or whose regular expression is invalid."""


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not LABEL_NAME.fullmatch(self.name):
            raise MatcherError(f"invalid label name {self.name!r}")
        if self.op not in OPS:
            raise MatcherError(f"invalid operator {self.op!r}; use one of {', '.join(OPS)}")
        if self.op in ("=~", "!~"):
            try:
                compiled = re.compile(f"^(?:{self.value})$")
            except re.error as exc:
                raise MatcherError(f"invalid regular expression {self.value!r}: {exc}") from exc
            object.__setattr__(self, "_regex", compiled)

    def matches(self, labels: Mapping[str, Any]) -> bool:
        actual = str(labels.get(self.name, "") or "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.match(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}


def parse_matcher(text: str) -> Matcher:
    """One matcher such as ``severity=~"warning|critical"``."""
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise MatcherError(f'cannot parse matcher {text!r}; expected name="value" (=, !=, =~, !~)')
    quoted = found.group("quoted")
    value = _unescape(quoted) if quoted is not None else found.group("bare") or ""
    return Matcher(found.group("name"), found.group("op"), value)  # type: ignore[arg-type]


def parse_matchers(text: str) -> list[Matcher]:
    """A selector ``{a="1", b!~"x.*"}`` (braces optional; an empty one gives no matchers)."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise MatcherError(f"unbalanced braces in {text!r}")
        body = body[1:-1]
    matchers: list[Matcher] = []
    position = 0
    while position < len(body):
        if not body[position:].strip():
            break
        found = _MATCHER.match(body, position)
        if found is None:
            raise MatcherError(f"cannot parse matchers at {body[position:]!r}")
        matchers.append(parse_matcher(found.group(0)))
        position = found.end()
        if position < len(body):
            if body[position] != ",":
                raise MatcherError(f"expected ',' at {body[position:]!r}")
            position += 1
    return matchers


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, Any]) -> bool:
    """True when every matcher matches (so no matchers match everything)."""
    return all(m.matches(labels) for m in matchers)


class MatcherModel(BaseModel):
    """A matcher on the wire and in JSON columns."""

    name: str = Field(min_length=1, max_length=255, description="Label name")
    op: Op = Field(default="=", description="One of =, !=, =~, !~")
    value: str = Field(default="", max_length=4096)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not LABEL_NAME.fullmatch(value):
            raise ValueError("must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        return value

    @model_validator(mode="after")
    def _regex(self) -> MatcherModel:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression in value: {exc}") from exc
        return self

    def to_matcher(self) -> Matcher:
        return Matcher(self.name, self.op, self.value)


def from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Matcher]:
    """Matchers stored as ``[{"name", "op", "value"}]`` (JSON columns)."""
    return [Matcher(str(i["name"]), i.get("op", "="), str(i.get("value", ""))) for i in items]
