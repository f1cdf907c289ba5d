"""Answers of the templates API."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from agentdeck.logintel.templates.service import TemplateView


class TemplatePublic(BaseModel):
    id: int = Field(description="The template id (stable; lines carry it as `template_id`).")
    template: str = Field(description="The template; variables are `<*>`.")
    count: int = Field(description="Lines of this template since it was created.")
    first_seen: datetime | None = Field(description="Time of its earliest line.")
    last_seen: datetime | None = Field(description="Time of its latest line.")
    services: list[str] = Field(description="Services that wrote it (the first ones seen).")
    samples: list[str] = Field(description="Sample lines (the first ones seen).")
    trend: list[int] = Field(description="Lines per hour, oldest first; the last is this hour.")
    trend_start: datetime = Field(description="Start of the first trend bucket.")
    trend_step_seconds: int = Field(3600, description="Width of each trend bucket.")
    merged_ids: list[int] = Field(
        description="Ids of templates merged into this one (they resolve to it)."
    )
    rising: float = Field(
        description="(lines this hour + 1) / (mean lines per earlier hour + 1): above 1, rising."
    )

    @classmethod
    def of(cls, view: TemplateView) -> TemplatePublic:
        return cls(
            id=view.id,
            template=view.template,
            count=view.count,
            first_seen=_time(view.first_ns),
            last_seen=_time(view.last_ns),
            services=view.services,
            samples=view.samples,
            trend=view.trend,
            trend_start=datetime.fromtimestamp(view.trend_start_ns / 1e9, UTC),
            merged_ids=view.merged_ids,
            rising=round(view.rising, 4),
        )


class TemplatePage(BaseModel):
    items: list[TemplatePublic]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` (same filters and sort) for the next page."
    )
    limit: int


def _time(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC) if ns else None
