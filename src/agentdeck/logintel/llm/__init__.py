"""LLM analysis of closed log batches (optional): masked, budgeted, through the outbound policy.

:func:`build_analyzer` is what the app wires in: an :class:`~agentdeck.logintel.analysis.Analyzer`
named ``"llm"`` when ``llm.base_url`` is set, else ``None`` (rules alone).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from agentdeck.logintel.analysis import Analyzer
from agentdeck.logintel.llm.analyzer import LLMAnalyzer
from agentdeck.logintel.llm.metrics import LLMMetrics
from agentdeck.logintel.llm.pii import Masker
from agentdeck.outbound import OutboundPolicy
from agentdeck.settings import Settings

__all__ = ["LLMAnalyzer", "LLMMetrics", "Masker", "build_analyzer"]


def build_analyzer(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    metrics: LLMMetrics | None = None,
) -> Analyzer | None:
    """The LLM analyser for these settings, or ``None`` when no base URL is configured.

    Its metrics go on ``registry`` (the app's, for ``/metrics``) unless ``metrics`` is given;
    with neither, it keeps none. Outbound calls follow ``settings.outbound`` with the endpoint's
    host allowed.
    """
    if not settings.llm.base_url:
        return None
    if metrics is None and registry is not None:
        metrics = LLMMetrics(registry)
    return LLMAnalyzer(
        settings.llm, policy=OutboundPolicy.from_settings(settings.outbound), metrics=metrics
    )
