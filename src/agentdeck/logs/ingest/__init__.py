"""Log ingest: decoders for each wire format, normalisation, and the write path."""
