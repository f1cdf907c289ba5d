"""Log streams: filters that cut a tenant's ingested lines into batches for analysis."""
