"""The routing tree: its wire schema, validation and how an alert finds its routes.

Alertmanager semantics: the root matches every alert; children are tried in order and the
first match wins unless it sets ``continue``; a node none of whose children match is the
result itself. Unset settings (receiver, grouping, timings, escalation) inherit from the parent.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentdeck.alerting.routing.matchers import LABEL_NAME, Matcher, MatcherModel, matches_all

DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
MAX_DEPTH = 10
MAX_NODES = 500
# `group_by: ["..."]` groups by every label (one group per alert), as in Alertmanager.
GROUP_BY_ALL = "..."
_DAY = 86400.0


class RouteNode(BaseModel):
    """One node of the routing tree. Unset fields inherit from the parent node."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    receiver_id: uuid.UUID | None = Field(
        None, description="Receiver notified for alerts ending at this node (inherited)."
    )
    matchers: list[MatcherModel] = Field(
        default_factory=list, max_length=50, description="All must match (not on the root)."
    )
    group_by: list[str] | None = Field(
        None, max_length=50, description='Label names to group by; ["..."] groups by all.'
    )
    group_wait_seconds: float | None = Field(None, ge=0, le=_DAY)
    group_interval_seconds: float | None = Field(None, ge=1, le=7 * _DAY)
    repeat_interval_seconds: float | None = Field(None, ge=60, le=30 * _DAY)
    continue_: bool = Field(
        False, alias="continue", description="Keep trying the next siblings after a match."
    )
    escalation_policy_id: uuid.UUID | None = Field(None, description="Inherited when unset.")
    routes: list[RouteNode] = Field(default_factory=list, max_length=100)

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for name in value:
            if name != GROUP_BY_ALL and not LABEL_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a label name")
        if GROUP_BY_ALL in value and len(value) > 1:
            raise ValueError('"..." groups by every label and cannot be combined with names')
        if len(set(value)) != len(value):
            raise ValueError("label names must be unique")
        return value


class RoutingTree(RouteNode):
    """The root: it matches every alert, so it takes no matchers and no ``continue``."""

    @model_validator(mode="after")
    def _root_rules(self) -> RoutingTree:
        if self.matchers:
            raise ValueError("the root route matches every alert; it takes no matchers")
        if self.continue_:
            raise ValueError("the root route cannot set continue")
        depth, nodes = _measure(self, 1)
        if depth > MAX_DEPTH:
            raise ValueError(f"the tree is {depth} levels deep; at most {MAX_DEPTH} are allowed")
        if nodes > MAX_NODES:
            raise ValueError(f"the tree has {nodes} routes; at most {MAX_NODES} are allowed")
        return self


def _measure(node: RouteNode, depth: int) -> tuple[int, int]:
    deepest, count = depth, 1
    for child in node.routes:
        d, c = _measure(child, depth + 1)
        deepest, count = max(deepest, d), count + c
    return deepest, count


def default_tree() -> RoutingTree:
    return RoutingTree()


def referenced_ids(node: RouteNode, path: str = "root") -> list[tuple[str, str, uuid.UUID]]:
    """(path, field, id) of every receiver and escalation policy the tree names."""
    out: list[tuple[str, str, uuid.UUID]] = []
    if node.receiver_id is not None:
        out.append((path, "receiver_id", node.receiver_id))
    if node.escalation_policy_id is not None:
        out.append((path, "escalation_policy_id", node.escalation_policy_id))
    for index, child in enumerate(node.routes):
        out.extend(referenced_ids(child, f"{path}.{index}"))
    return out


# --- matching --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A route an alert ends at, with every inherited setting filled in."""

    path: str
    receiver_id: uuid.UUID | None
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    escalation_policy_id: uuid.UUID | None

    def group_labels(self, labels: Mapping[str, Any]) -> dict[str, str]:
        if self.group_by == (GROUP_BY_ALL,):
            return {str(k): str(v) for k, v in labels.items()}
        return {name: str(labels.get(name, "")) for name in self.group_by}

    def group_key(self, labels: Mapping[str, Any]) -> str:
        pairs = ",".join(
            f"{k}={json.dumps(v)}" for k, v in sorted(self.group_labels(labels).items())
        )
        return f"{self.path}:{self.receiver_id or '-'}:{{{pairs}}}"


def key_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


class CompiledNode:
    """A route node with parsed matchers and inherited settings, ready for matching."""

    __slots__ = ("children", "continue_", "matchers", "route")

    def __init__(self, node: RouteNode, parent: ResolvedRoute | None, path: str) -> None:
        self.matchers: list[Matcher] = [m.to_matcher() for m in node.matchers]
        self.continue_ = node.continue_

        def pick(own: Any, inherited: Any, default: Any) -> Any:
            if own is not None:
                return own
            return inherited if parent is not None else default

        self.route = ResolvedRoute(
            path=path,
            receiver_id=pick(node.receiver_id, parent and parent.receiver_id, None),
            group_by=tuple(pick(node.group_by, parent and parent.group_by, ())),
            group_wait=pick(
                node.group_wait_seconds, parent and parent.group_wait, DEFAULT_GROUP_WAIT
            ),
            group_interval=pick(
                node.group_interval_seconds,
                parent and parent.group_interval,
                DEFAULT_GROUP_INTERVAL,
            ),
            repeat_interval=pick(
                node.repeat_interval_seconds,
                parent and parent.repeat_interval,
                DEFAULT_REPEAT_INTERVAL,
            ),
            escalation_policy_id=pick(
                node.escalation_policy_id, parent and parent.escalation_policy_id, None
            ),
        )
        self.children = [
            CompiledNode(child, self.route, f"{path}.{i}") for i, child in enumerate(node.routes)
        ]

    def match(self, labels: Mapping[str, Any]) -> list[ResolvedRoute]:
        if not matches_all(self.matchers, labels):
            return []
        found: list[ResolvedRoute] = []
        for child in self.children:
            routes = child.match(labels)
            if routes:
                found.extend(routes)
                if not child.continue_:
                    break
        return found or [self.route]


def compile_tree(tree: RouteNode | Mapping[str, Any]) -> CompiledNode:
    node = tree if isinstance(tree, RouteNode) else RoutingTree.model_validate(dict(tree))
    return CompiledNode(node, None, "root")


def match_routes(
    tree: RouteNode | Mapping[str, Any], labels: Mapping[str, Any]
) -> list[ResolvedRoute]:
    """The routes an alert with these labels ends at, in tree order."""
    return compile_tree(tree).match(labels)
