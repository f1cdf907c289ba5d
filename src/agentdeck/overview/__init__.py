"""The consolidated live overview: `/api/v1/real-time-metrics`."""
