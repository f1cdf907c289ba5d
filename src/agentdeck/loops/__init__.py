"""Background loops (interval, jitter, lease, metrics, graceful stop) and their runner."""
