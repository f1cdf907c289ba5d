"""OTLP/HTTP metrics and Prometheus remote-write receivers (being built)."""

from fastapi import APIRouter

router = APIRouter(tags=["telemetry"])
