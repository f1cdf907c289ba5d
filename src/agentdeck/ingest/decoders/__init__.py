"""Wire formats turned into samples for the ingest core: the JSON batch (:mod:`.json`, its
columnar fast path :mod:`.json_fast` / :mod:`.json_columns` and worker processes :mod:`.pool`),
the per-agent report (:mod:`.report`), OTLP (:mod:`.otlp`, :mod:`.otlp_fast`) and Prometheus
remote write (:mod:`.remote_write`). Bodies that cannot be read raise domain errors."""
