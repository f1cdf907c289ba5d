"""Prometheus-compatible query API and metric summaries (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["query"])
