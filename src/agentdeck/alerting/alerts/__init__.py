"""Alerts: their lifecycle, the API, the Alertmanager-compatible receiver, traces."""
