"""Telemetry HTTP routes: JSON batch and per-agent ingest (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["telemetry"])
