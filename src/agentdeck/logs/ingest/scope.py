"""An agent's telemetry key writes its own agent's log lines only.

A request made with the key the fleet minted for an agent (``Principal.agent``) is refused
whole (403 ``agent-key-scope``) when any line is not that agent's: its ``agent`` (or, for
Loki and OTLP bodies, its ``agent`` label) must name the key's agent.
"""

from __future__ import annotations

from agentdeck.errors import Forbidden
from agentdeck.logs.ingest.entry import Decoded

KIND = "agent-key-scope"


def check_agent_scope(agent: str | None, decoded: Decoded) -> None:
    """Raise ``Forbidden`` unless every entry is ``agent``'s (None: no restriction)."""
    if agent is None:
        return
    for entry in decoded.entries:
        if entry is None:
            continue
        label = (entry.labels or {}).get("agent")
        named = {v for v in (entry.agent, label) if v is not None}
        if named != {agent}:
            found = next(iter(named - {agent}), None)
            raise Forbidden(
                f"this key may only send the logs of agent {agent!r}; a line names {found!r}",
                kind=KIND,
            )
