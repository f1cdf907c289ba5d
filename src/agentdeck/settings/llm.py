"""Settings of log intelligence beyond mining: streams and batches (``logstreams``) and the LLM
analysis of batches (``llm``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class LLMSettings(BaseModel):
    """LLM analysis of closed log batches (off unless `base_url` is set); data is masked first.

    Any OpenAI-compatible chat-completions endpoint: Ollama, vLLM, llama.cpp's server, OpenAI,
    Gemini's OpenAI endpoint. Personal data and secrets are masked before a batch leaves."""

    base_url: str | None = Field(
        None,
        description="Base URL of the OpenAI-compatible API, up to `/v1` (e.g. "
        "`http://localhost:11434/v1` for Ollama). Unset: no LLM analysis (rules only). The "
        "host is added to the outbound policy's allow list for these calls only.",
    )
    model: str = Field("llama3.1", description="Model name sent with each request.")
    api_key: SecretStr = Field(
        SecretStr(""), description="API key, sent as a bearer token (empty: none)."
    )
    timeout_seconds: float = Field(
        60.0, gt=0, le=600, description="Most time one analysis call may take, all included."
    )
    max_tokens_per_batch: int = Field(
        4000,
        ge=500,
        le=200_000,
        description="Tokens one batch's call may use, prompt and answer together (estimated at "
        "4 characters a token): lines that would not fit are left out of the prompt.",
    )
    max_completion_tokens: int = Field(
        1000,
        ge=100,
        le=50_000,
        description="Most tokens of the model's answer (`max_tokens`); part of the batch's share.",
    )
    tenant_tokens_per_hour: int = Field(
        100_000,
        ge=1000,
        description="Tokens each tenant's batches may use in any hour (per replica). A call "
        "that could pass it is not made; the batch keeps its rule anomalies.",
    )
    structured_output: bool = Field(
        True,
        description="Ask for a JSON-schema answer (`response_format`); servers that refuse it "
        "are asked again without it.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("llm.base_url must be an http(s) URL with a host")
        return value.strip()


class LogStreamSettings(BaseModel):
    """Log intelligence: streams cut ingested lines into batches; detectors and alerts."""

    flush_interval_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Seconds between writes of each replica's buffered stream lines to the "
        "state database (sooner when a stream's buffer reaches its batch size).",
    )
    batch_interval_seconds: float = Field(
        2.0,
        gt=0,
        le=600,
        description="Seconds between rounds of the leased loop that cuts and analyses batches.",
    )
    max_buffered_lines: int = Field(
        100_000,
        ge=1000,
        description="Lines a replica buffers per stream before it drops (counted in "
        "`agentdeck_log_stream_lines_dropped_total`).",
    )
    retention_days: int = Field(
        30, ge=1, le=365, description="Days batches and anomalies are kept."
    )
    cleanup_interval_seconds: float = Field(
        3600.0, gt=0, description="Seconds between rounds of the batch and anomaly cleanup."
    )
    alert_min_severity: Literal["low", "medium", "high", "critical", "none"] = Field(
        "high",
        description="Anomalies of this severity or worse raise an alert (`none`: no alerts).",
    )
