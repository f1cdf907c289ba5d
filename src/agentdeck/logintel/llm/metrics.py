"""The LLM analyser's metrics on the app's registry (``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

CALL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)


class LLMMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.calls = Counter(
            "agentdeck_llm_calls",
            "LLM analysis calls by outcome (ok, error, or skipped: refused by the token budget "
            "or a 429's Retry-After before any request).",
            ["outcome"],
            registry=registry,
        )
        self.tokens = Counter(
            "agentdeck_llm_tokens",
            "Tokens used by LLM analysis calls (as the server reported them, else estimated).",
            ["kind"],  # prompt, completion
            registry=registry,
        )
        self.errors = Counter(
            "agentdeck_llm_errors",
            "LLM analyses without a result, by reason (timeout, http, rate_limited, "
            "connection, refused, invalid_response, budget).",
            ["reason"],
            registry=registry,
        )
        self.drafts = Counter(
            "agentdeck_llm_anomalies",
            "Anomalies the LLM returned that were kept (valid type and severity).",
            registry=registry,
        )
        self.dropped = Counter(
            "agentdeck_llm_items_dropped",
            "Items of the LLM's answers dropped (unknown type or severity, malformed).",
            registry=registry,
        )
        self.seconds = Histogram(
            "agentdeck_llm_call_duration_seconds",
            "Time of one LLM analysis call (requests made).",
            buckets=CALL_BUCKETS,
            registry=registry,
        )
