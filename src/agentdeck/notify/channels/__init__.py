"""Channel kinds, one module each; :func:`spec` finds a kind's models and sender."""

from __future__ import annotations

from importlib import import_module

from agentdeck.notify.channels.base import ChannelKindSpec

KINDS = ("email", "slack", "webhook", "pagerduty", "teams", "discord", "telegram", "ntfy")


def spec(kind: str) -> ChannelKindSpec:
    if kind not in KINDS:
        raise KeyError(kind)
    found: ChannelKindSpec = import_module(f"agentdeck.notify.channels.{kind}").SPEC
    return found


def all_specs() -> list[ChannelKindSpec]:
    return [spec(kind) for kind in KINDS]
