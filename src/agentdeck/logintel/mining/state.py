"""A miner's state as plain JSON-able data (no pickle): ``dump`` and ``load``."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from agentdeck.logintel.mining.matching import Cluster

if TYPE_CHECKING:
    from agentdeck.logintel.mining.miner import TemplateMiner

FORMAT = "agentdeck.logintel.mining/1"


def dump(miner: TemplateMiner) -> dict[str, Any]:
    """The miner's settings, counters and templates (least recently seen first)."""
    return {
        "format": FORMAT,
        "max_templates": miner.max_templates,
        "cache_size": miner.cache_size,
        "max_line": miner.max_line,
        "max_aliases": miner.max_aliases,
        "next_id": miner._next_id,
        "counters": asdict(miner.counters),
        "templates": [
            {
                "id": c.id,
                "tokens": list(c.tokens),
                "shapes": list(c.shapes),
                "count": c.count,
                "aliases": list(c.aliases),
            }
            for c in miner._clusters.values()
        ],
    }


def load(cls: type[TemplateMiner], state: dict[str, Any]) -> TemplateMiner:
    """A miner built from ``dump``'s output; ValueError when ``state`` is not one."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"not a template miner state ({FORMAT})")
    try:
        miner = cls(
            max_templates=int(state["max_templates"]),
            cache_size=int(state["cache_size"]),
            max_line=int(state["max_line"]),
            max_aliases=int(state["max_aliases"]),
        )
        counters = state["counters"]
        for name in asdict(miner.counters):
            setattr(miner.counters, name, int(counters[name]))
        for item in state["templates"]:
            tokens = [str(t) for t in item["tokens"]]
            shapes = [None if s is None else str(s) for s in item["shapes"]]
            if not tokens or len(shapes) != len(tokens):
                raise ValueError("a template needs tokens and one shape per token")
            c = Cluster(int(item["id"]), tokens, shapes, int(item["count"]))
            c.aliases = [int(a) for a in item["aliases"]]
            miner._restore(c)
        miner._next_id = max(miner._next_id, int(state["next_id"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed template miner state: {exc!r}") from exc
    return miner
