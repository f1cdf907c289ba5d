"""The contract between a closed log batch and whatever analyses it.

A stream cuts ingested lines into batches; when a batch closes, every rule detector and, when
one is configured, the LLM analyser look at the same :class:`BatchContext` and return
:class:`AnomalyDraft` values. The batch processor turns drafts into stored anomalies (and high
or critical ones into alerts). Detectors are pure and synchronous; an analyser that calls out
(the LLM) is asynchronous and never raises for an endpoint's failure: it reports the failure in
its :class:`AnalysisResult` and returns no drafts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol
from uuid import UUID


class AnomalyType(StrEnum):
    """What kind of abnormality (the seed's vocabulary)."""

    ERROR_SPIKE = "error_spike"
    LATENCY_INCREASE = "latency_increase"
    UNUSUAL_PATTERN = "unusual_pattern"
    RESOURCE_EXHAUSTION = "resource_exhaustion"
    SECURITY_INCIDENT = "security_incident"
    PERFORMANCE_DEGRADATION = "performance_degradation"


class AnomalySeverity(StrEnum):
    """How bad (the seed's vocabulary, lower-case on the wire)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class BatchLine(NamedTuple):
    """One line of a closed batch, as analysers see it (a named tuple: a batch's rows become
    lines without Python work per field)."""

    id: str  # the log store's line id
    ts_ns: int
    service: str
    severity: str  # DEBUG, INFO, WARNING, ERROR, CRITICAL
    message: str
    agent: str = ""
    template_id: int | None = None


@dataclass(frozen=True, slots=True)
class BatchContext:
    """A closed batch: its lines in time order, plus where it came from."""

    tenant_id: UUID
    stream_id: UUID
    stream_name: str
    batch_id: UUID
    lines: Sequence[BatchLine]
    #: Template id -> template text, for the templates its lines carry (may be partial).
    templates: Mapping[int, str] = field(default_factory=dict)
    _by_template: dict[int, list[BatchLine]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def by_template(self) -> Mapping[int, list[BatchLine]]:
        """The lines with a template id, by template, in order: grouped once per batch for
        every detector that asks (read-only for callers)."""
        groups = self._by_template
        if not groups:
            for line in self.lines:
                tid = line.template_id
                if tid is not None:
                    group = groups.get(tid)
                    if group is None:
                        groups[tid] = [line]
                    else:
                        group.append(line)
        return groups


@dataclass(frozen=True, slots=True)
class AnomalyDraft:
    """An anomaly an analyser found, before it is stored."""

    anomaly_type: AnomalyType
    severity: AnomalySeverity
    service: str
    description: str
    confidence: float  # in [0, 1]
    detector: str  # which detector or analyser found it ("error_spike", "llm", ...)
    recommended_actions: tuple[str, ...] = ()
    evidence_line_ids: tuple[str, ...] = ()  # at most 50 are stored
    evidence_template_ids: tuple[int, ...] = ()
    evidence_count: int = 0
    explanation: str = ""  # the LLM's explanation; empty for rule detectors


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What an asynchronous analyser returns for one batch."""

    drafts: tuple[AnomalyDraft, ...] = ()
    #: Empty when the call succeeded; otherwise a short reason ("timeout", "http 500", ...).
    error: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Detector(Protocol):
    """A synchronous rule over one batch (cheap: a batch of 1,000 lines in well under 50 ms)."""

    name: str

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]: ...


class Analyzer(Protocol):
    """An asynchronous analysis of one batch (the LLM). Never raises for an endpoint failure."""

    name: str

    async def analyze(self, batch: BatchContext) -> AnalysisResult: ...
