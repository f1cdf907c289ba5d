"""The rule detectors: small classes behind :class:`~agentdeck.logintel.analysis.Detector`.

The seed's two rules (:mod:`.seed`) look at one batch alone; the template detectors
(:mod:`.templates`) also remember, per stream, what earlier batches held. Every rule, with
its exact thresholds, is written down in ``docs/log-intelligence.md``.
"""

from __future__ import annotations

from agentdeck.logintel.analysis import Detector
from agentdeck.logintel.detectors.seed import ErrorSpike, UnusualPattern
from agentdeck.logintel.detectors.templates import HiddenErrors, NewTemplateBurst, TemplateRateSpike

__all__ = [
    "ErrorSpike",
    "HiddenErrors",
    "NewTemplateBurst",
    "TemplateRateSpike",
    "UnusualPattern",
    "default_detectors",
]


def default_detectors() -> list[Detector]:
    """One instance of every rule detector (the template ones keep per-stream memory)."""
    return [ErrorSpike(), UnusualPattern(), NewTemplateBurst(), TemplateRateSpike(), HiddenErrors()]
