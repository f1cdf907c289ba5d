"""Log intelligence: template mining over log lines (and, later, streams, detectors, analysis)."""
