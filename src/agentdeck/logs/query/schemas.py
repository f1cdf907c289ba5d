"""Answers of the log query API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agentdeck.logs.schemas import LogLine, LogSeverity


class LogSearchPage(BaseModel):
    items: list[LogLine] = Field(
        description="Matching lines, newest first (backward) or oldest first (forward)."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` (same query, range and direction) for the next page; "
        "null on the last page."
    )
    limit: int
    query: str
    start: str = Field(description="The range searched, RFC 3339 (inclusive).")
    end: str = Field(description="End of the range searched, RFC 3339 (exclusive).")
    direction: Literal["backward", "forward"]


class HistogramBucketPublic(BaseModel):
    ts: str = Field(description="Start of the bucket, RFC 3339.")
    counts: dict[LogSeverity, int] = Field(description="Lines per severity (all five present).")
    total: int


class LogHistogram(BaseModel):
    query: str
    start: str
    end: str
    step_seconds: float = Field(description="Width of each bucket.")
    buckets: list[HistogramBucketPublic] = Field(
        description="Oldest first; buckets without lines are left out."
    )


class LogContextPublic(BaseModel):
    before: list[LogLine] = Field(description="Lines before it, same service, oldest first.")
    line: LogLine
    after: list[LogLine] = Field(description="Lines after it, same service, oldest first.")
    more_before: bool = Field(
        description="Older lines of the service exist beyond `before` (ask with a larger one)."
    )
    more_after: bool = Field(description="Newer lines of the service exist beyond `after`.")


class LabelNames(BaseModel):
    names: list[str] = Field(
        description="Fields (service, severity, agent, ...) that have "
        "values, and every label name seen in the range, sorted."
    )


class LabelValues(BaseModel):
    name: str
    values: list[str] = Field(description="Distinct values in the range, sorted, at most `limit`.")
    limit: int
