"""An agent's telemetry key writes its own agent's series only.

The fleet mints such a key for each agent it runs (``Principal.agent``); a request made with
it is refused whole (403 ``agent-key-scope``) when any of its series lacks the label
``agent="<that agent>"``: a key leaked from one agent cannot forge another's figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentdeck.errors import Forbidden
from agentdeck.ingest.batch import Batch, KeyedColumns, SampleColumns

KIND = "agent-key-scope"


def refuse(agent: str, found: object) -> Forbidden:
    return Forbidden(
        f"this key may only send the telemetry of agent {agent!r}; the request names {found!r}",
        kind=KIND,
    )


def _label_sets(batch: Batch) -> list[Mapping[str, Any] | None]:
    samples = batch.samples
    if isinstance(samples, SampleColumns | KeyedColumns):
        return [s for s in samples.label_sets.values() if not isinstance(s, tuple)]
    return [row[1] for row in samples]


def check_agent_scope(agent: str | None, batch: Batch) -> None:
    """Raise ``Forbidden`` unless every series of ``batch`` is ``agent``'s (None: any key
    that is not an agent's may write anything)."""
    if agent is None:
        return
    for labels in _label_sets(batch):
        found = labels.get("agent") if labels is not None else None
        if found != agent:
            raise refuse(agent, found)
