"""Anomalies found in closed log batches, their API, and the alerts they raise."""
