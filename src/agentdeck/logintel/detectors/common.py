"""What the detectors share: which severities are errors, and evidence of bounded size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agentdeck.logintel.analysis import BatchLine

#: Severities that count as errors (the seed: ERROR and CRITICAL).
ERROR_SEVERITIES = frozenset({"ERROR", "CRITICAL"})
#: Line ids an anomaly keeps as evidence.
MAX_EVIDENCE_LINES = 50


def is_error(line: BatchLine) -> bool:
    return line.severity in ERROR_SEVERITIES


def line_ids(lines: Sequence[BatchLine]) -> tuple[str, ...]:
    """The first :data:`MAX_EVIDENCE_LINES` ids of ``lines``."""
    return tuple(line.id for line in lines[:MAX_EVIDENCE_LINES])


def template_ids(lines: Iterable[BatchLine]) -> tuple[int, ...]:
    """The distinct template ids of ``lines``, in order of first appearance."""
    seen: dict[int, None] = {}
    for line in lines:
        if line.template_id is not None:
            seen.setdefault(line.template_id, None)
    return tuple(seen)


def top_service(lines: Iterable[BatchLine]) -> str:
    """The service with the most lines (ties: the first in name order)."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.service] = counts.get(line.service, 0) + 1
    if not counts:
        return ""
    return min(counts, key=lambda s: (-counts[s], s))
